"""The dtypes data may come in, and the range of the network's: NumPy's and ml_dtypes' floating point
(``bfloat16``'s ``dtype.kind`` is ``"V"``, not ``"f"``: asked of :func:`jax.numpy.issubdtype`), integers
and booleans.

Contract::

    is_floating(dtype), is_real_number(dtype) -> bool         NUMBERS: the accepted dtypes, in words
    check_fits_dtype(values, dtype, what, fix)                a ValueError for a finite value dtype turns into inf
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

FLOAT64_FIX = (
    "use float64 params (jax.config.update('jax_enable_x64', True); mlp.init(key, dtype=jnp.float64); "
    "the command line: --float64)"
)


NUMBERS = "booleans, integers or floating point (float16, bfloat16, float32 or float64)"
"""The dtypes data may come in (the network computes in its params' floating-point dtype)."""


def first_bad(mask: np.ndarray) -> tuple[int, ...]:
    """The index of the first True entry of ``mask``."""
    return tuple(int(i) for i in np.argwhere(mask)[0])


def is_floating(dtype) -> bool:
    """Floating point, NumPy's and JAX's: ``bfloat16`` (ml_dtypes', whose ``dtype.kind`` is ``"V"``) too.

    Example:
        >>> is_floating(jnp.bfloat16), is_floating(np.float16), is_floating(np.int32), is_floating(np.dtype("V2"))
        (True, True, False, False)
    """
    return bool(jnp.issubdtype(np.dtype(dtype), jnp.floating))


def is_real_number(dtype) -> bool:
    """A dtype data may come in: a boolean, an integer or floating point (see :data:`NUMBERS`).

    Example:
        >>> is_real_number(jnp.bfloat16), is_real_number(np.uint8), is_real_number(np.complex64), is_real_number("U3")
        (True, True, False, False)
    """
    return np.dtype(dtype).kind in "biu" or is_floating(dtype)


def check_fits_dtype(values: np.ndarray, dtype, what: str, fix: str = FLOAT64_FIX) -> None:
    """Refuse finite ``values`` (concrete) that the params' floating-point ``dtype`` cannot hold: cast,
    they would be infinite (a float64 of 1e300 in a float32 network, 1e5 in a float16 one), and every
    output NaN. Values of a dtype whose every number fits are not looked at.

    Example:
        >>> check_fits_dtype(np.array([1.0, 1e300]), np.float32, "inputs")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: inputs hold 1e+300 at index (1,), beyond float32's range (at most 3.4e+38): the network ...
        >>> check_fits_dtype(np.array([7, 100_000]), np.float16, "inputs")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: inputs hold 100000 at index (1,), beyond float16's range (at most 6.6e+04): the network ...
    """
    dtype = np.dtype(dtype)
    if not is_floating(dtype) or values.size == 0 or values.dtype.kind == "b":
        return
    limit = float(jnp.finfo(dtype).max)
    if values.dtype.kind not in "iu" and not is_floating(values.dtype):
        return  # not numbers: the caller's check names them
    widest = jnp.finfo(values.dtype).max if is_floating(values.dtype) else np.iinfo(values.dtype).max
    if float(widest) <= limit:
        return  # every value of values' dtype fits (float32 data in a float64 network): no pass over the data
    beyond = np.abs(values.astype(np.float64)) > limit
    if beyond.any():
        where = first_bad(beyond)
        raise ValueError(
            f"{what} hold {float(values[where]):g} at index {where}, beyond {dtype}'s range (at most {limit:.2g}): the "
            f"network computes in {dtype} and would see inf; rescale them, or {fix}"
        )
