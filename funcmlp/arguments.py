"""The checks of a single argument of the public API and the command line: a random key, a count,
a number within a range (a learning rate, a momentum, a weight decay, a step size).

Contract::

    check_key(key, name) -> key            one typed or legacy JAX random key; else TypeError (ValueError: a batch)
    check_positive_int(value, name, what, at_most=) -> int       a whole number >= 1 (and <= at_most)
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
    """``key`` if it is one JAX random key: a typed one (``jax.random.key``, shape ``()``) or a legacy
    ``uint32[2]`` (``jax.random.PRNGKey``). A batch of keys (``jax.random.split(key, 4)``) is refused:
    it is not one key, and where it reached JAX it was either an error deep inside or quietly used.

    Example:
        >>> check_key(0)
        Traceback (most recent call last):
        ...
        TypeError: key must be a JAX random key, got int 0; make one from a seed: jax.random.key(0)
        >>> check_key(jax.random.split(jax.random.key(0), 4))  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: key must be one JAX random key, got a batch of 4 keys (shape (4,)); pass one of them
        (key=keys[0]), or map the call over them with jax.vmap
    """
    dtype, shape = getattr(key, "dtype", None), getattr(key, "shape", None)
    typed = dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key)
    legacy = dtype is not None and not typed and dtype == np.uint32 and shape is not None and len(shape) >= 1
    if (typed and tuple(shape) == ()) or (legacy and tuple(shape) == (2,)):
        return key
    if (typed and len(shape) >= 1) or (legacy and shape[-1] == 2):
        batch, argument = tuple(shape) if typed else tuple(shape)[:-1], name.rpartition(" ")[2]
        raise ValueError(
            f"{name} must be one JAX random key, got a batch of {math.prod(batch)} keys (shape {tuple(shape)}); "
            f"pass one of them ({argument}=keys[0]), or map the call over them with jax.vmap"
        )
    seed = key if isinstance(key, numbers.Integral) and not isinstance(key, bool) else 0
    shown = f"{type(key).__name__} {key!r}" if dtype is None else f"an array of dtype {dtype} and shape {tuple(shape)}"
    raise TypeError(f"{name} must be a JAX random key, got {shown[:80]}; make one from a seed: jax.random.key({seed})")


def check_positive_int(value, name: str, what: str, *, at_most: int | None = None, fix: str = "") -> int:
    """``value`` if it is an integer >= 1 (and <= ``at_most`` when given; ``fix`` is the remedy shown
    then); ``what`` says what it counts, for the message.

    Example:
        >>> check_positive_int(0, "epochs", "passes over the data")
        Traceback (most recent call last):
        ...
        ValueError: epochs must be at least 1 (passes over the data), got 0
        >>> check_positive_int(2**62, "batch_size", "examples per step", at_most=2**31 - 1)
        Traceback (most recent call last):
        ...
        ValueError: batch_size must be at most 2147483647 (examples per step), got 4611686018427387904
    """
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{name} must be a whole number ({what}), got {type(value).__name__} {value!r:.40}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1 ({what}), got {value!r}")
    if at_most is not None and value > at_most:
        raise ValueError(f"{name} must be at most {at_most} ({what}), got {value!r}{f'; {fix}' if fix else ''}")
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
        fix = f"; e.g. {example}" if example else ""
        raise TypeError(f"{name} must be a number, got {type(value).__name__} {value!r:.40}{fix}")
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
