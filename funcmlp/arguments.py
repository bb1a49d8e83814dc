"""The checks of a single argument of the public API and the command line: a random key, a count,
a number within a range (a learning rate, a momentum, a weight decay, a step size).

Contract::

    check_key(key, name) -> key            a typed or legacy JAX random key, else TypeError
    check_positive_int(value, name, what) -> int       a whole number >= 1
    check_number(value, name, *, above=, at_least=, below=, at_most=, example=) -> float

Each refusal is one line naming the argument (as the caller spells it: ``momentum`` in Python,
``--momentum`` on the command line), the range expected, what was given and, where it helps, an
example of a good value. One place for each, read by :mod:`funcmlp.training`, :mod:`funcmlp.gradcheck`
and :mod:`funcmlp.cli` alike. Imports: nothing of funcmlp.
"""

from __future__ import annotations

import math
import numbers

import jax
import jax.numpy as jnp
import numpy as np


def check_key(key, name: str = "key") -> jax.Array:
    """``key`` if it is a JAX random key: a typed one (``jax.random.key``) or a legacy ``uint32[2]``
    (``jax.random.PRNGKey``).

    Example:
        >>> check_key(0)
        Traceback (most recent call last):
        ...
        TypeError: key must be a JAX random key, got int 0; make one from a seed: jax.random.key(0)
    """
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    if dtype is not None and (jnp.issubdtype(dtype, jax.dtypes.prng_key) or (dtype == np.uint32 and shape == (2,))):
        return key
    seed = key if isinstance(key, numbers.Integral) and not isinstance(key, bool) else 0
    shown = f"{type(key).__name__} {key!r}" if dtype is None else f"an array of dtype {dtype} and shape {tuple(shape)}"
    raise TypeError(f"{name} must be a JAX random key, got {shown[:80]}; make one from a seed: jax.random.key({seed})")


def check_positive_int(value, name: str, what: str) -> int:
    """``value`` if it is an integer >= 1 (``what`` says what it counts, for the message).

    Example:
        >>> check_positive_int(0, "epochs", "passes over the data")
        Traceback (most recent call last):
        ...
        ValueError: epochs must be at least 1 (passes over the data), got 0
    """
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be a whole number ({what}), got {type(value).__name__} {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1 ({what}), got {value!r}")
    return int(value)


def check_number(
    value,
    name: str,
    *,
    above: float | None = None,
    at_least: float | None = None,
    below: float | None = None,
    at_most: float | None = None,
    example: str = "",
) -> float:
    """``value`` as a float if it is a finite real number within the bounds given (``above`` and
    ``below`` exclude the bound, ``at_least`` and ``at_most`` include it); a ``ValueError`` naming
    ``name``, the range and the value otherwise (``example``: a good value, shown as the fix), a
    ``TypeError`` for what is not a real number (a bool is not one; a 0-d integer or float array,
    such as ``jnp.float32(1e-3)``, is).

    Example:
        >>> check_number(0.9, "momentum", at_least=0, below=1)
        0.9
        >>> check_number(float("nan"), "momentum", at_least=0, below=1)
        Traceback (most recent call last):
        ...
        ValueError: momentum must be a finite number from 0 below 1, got nan
        >>> check_number(0, "learning_rate", above=0, example="1e-3")
        Traceback (most recent call last):
        ...
        ValueError: learning_rate must be a finite number above 0, got 0; e.g. 1e-3
    """
    if getattr(value, "shape", None) == () and np.dtype(getattr(value, "dtype", object)).kind in "iuf":
        value = value.item() if hasattr(value, "item") else float(value)  # a 0-d array: jnp.float32(1e-3)
    if not isinstance(value, numbers.Real) or isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r:.40}")
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int beyond float's range
        finite = False
    bounds = [
        (word, bound, passes(value, bound))
        for word, bound, passes in (
            ("above", above, lambda v, b: v > b),
            ("from", at_least, lambda v, b: v >= b),
            ("below", below, lambda v, b: v < b),
            ("up to", at_most, lambda v, b: v <= b),
        )
        if bound is not None
    ]
    given = [f"{word} {bound:g}" for word, bound, _ in bounds]
    if not (finite and all(ok for _, _, ok in bounds)):
        fix = f"; e.g. {example}" if example else ""
        shown = str(value) if len(str(value)) <= 40 else f"{str(value)[:20]}... ({len(str(value))} digits)"
        raise ValueError(f"{name} must be a finite number{' ' if given else ''}{' '.join(given)}, got {shown}{fix}")
    return float(value)
