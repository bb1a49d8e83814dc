"""The dtype an estimator computes in, and JAX's 64-bit mode around its work: scikit-learn's rule,
whatever JAX's global flag says.

scikit-learn's estimators follow their input: float64 ``X`` gives float64 weights, arithmetic and
outputs, float32 stays float32 (anything else is made float64 by ``validate_data``); funcmlp's
``dtype=`` overrides. JAX computes in float64 only in its 64-bit mode, off by default, so every
piece of an estimator's JAX work (fit, predict, ``to_funcmlp``) runs inside :func:`computing_in`:
``jax.enable_x64(True)`` for float64, ``jax.enable_x64(False)`` for float32, the caller's setting
restored after (a context of the calling thread). A float32 fit is then the same program, and the
same numbers, with the caller's flag on or off. JAX keys its compiled programs by that mode: one
program per dtype (float32 programs are never compiled again in 64-bit mode).

Example:
    >>> import jax, numpy as np
    >>> with computing_in(fitted_dtype(None, np.zeros(3))):
    ...     jax.numpy.ones(2, "float64").dtype.name
    'float64'
    >>> fitted_dtype(None, np.zeros(3, np.float32)), fitted_dtype("float64", np.zeros(3, np.float32))
    ('float32', 'float64')
"""

from __future__ import annotations

import jax
import numpy as np

DTYPES = ("float32", "float64")
"""What ``dtype=`` takes (None: the input's)."""


def check_dtype(dtype) -> None:
    """funcmlp's ``dtype`` parameter: ``"float32"`` or ``"float64"`` (None is checked by the caller).

    Example:
        >>> check_dtype("float16")
        Traceback (most recent call last):
        ValueError: dtype must be 'float32' or 'float64' (or None: the input's), got 'float16'
    """
    if dtype not in DTYPES:
        raise ValueError(f"dtype must be 'float32' or 'float64' (or None: the input's), got {dtype!r}")


def fitted_dtype(dtype, X) -> str:
    """The dtype an estimator trains in: ``dtype``, or for ``None`` the input's as scikit-learn does
    (float64 ``X`` in float64, float32 in float32); JAX's 64-bit flag plays no part.

    Example:
        >>> fitted_dtype(None, np.zeros(2)), fitted_dtype("float32", np.zeros(2))
        ('float64', 'float32')
    """
    if dtype is None:
        return "float64" if np.asarray(X).dtype == np.float64 else "float32"
    check_dtype(dtype)
    return dtype


def computing_in(dtype):
    """A context in which JAX computes in ``dtype``: its 64-bit mode on for float64, off for float32
    (``jax.enable_x64``); the caller's setting comes back when it ends.

    Example:
        >>> import jax
        >>> before = jax.config.jax_enable_x64
        >>> with computing_in("float32"):
        ...     jax.numpy.asarray(1.0).dtype.name
        'float32'
        >>> jax.config.jax_enable_x64 == before
        True
    """
    return jax.enable_x64(bool(np.dtype(dtype) == np.float64))
