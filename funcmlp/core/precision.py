"""Sums of narrow floats accumulated in float32, as JAX's ``preferred_element_type`` asks of a matrix product.

Contract::

    accumulation(dtype)        -> float32 for bfloat16 and float16, else None (the dtype's own)
    matmul(a, b, bias=None)    a @ b (+ bias): (..., m, k) x (k, n) -> (..., m, n) in a's dtype, rounded once
    total(values, axis=None)   jnp.sum in float32 for narrow floats, rounded once to values' dtype

bfloat16 keeps 8 significant bits (unit roundoff ``u = 2^-8``), float16 11 (``2^-11``): a sum of
``B`` terms accumulated in them loses about ``B u`` of its terms' scale, and stalls (bfloat16's
``256 + 1`` is ``256``). Accumulated in float32 (``2^-24``) and rounded once, a product or a sum
is within ``u`` of its exact value (plus ``B 2^-24`` of its terms' scale): so every contraction of
the forward and backward passes (``a^{k-1} W^k + b^k``, ``s^k (W^k)^T``, ``(a^{k-1})^T s^k`` over
the batch) and the loss's batch sum. float32 and float64 arrays are summed in their own dtype, as
before. XLA's CPU backend accumulates bfloat16 products in float32 already (a product of 4096 ones
is 4096 with or without it); this says so in the program, for every backend.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def accumulation(dtype):
    """The dtype sums of ``dtype`` accumulate in: float32 for the floats narrower than it, else ``None``.

    Example:
        >>> accumulation(jnp.bfloat16), accumulation(jnp.float16), accumulation(jnp.float32)
        (dtype('float32'), dtype('float32'), None)
    """
    narrow = jnp.issubdtype(dtype, jnp.floating) and jnp.dtype(dtype).itemsize < 4
    return jnp.dtype(jnp.float32) if narrow else None


def matmul(a: Array, b: Array, bias: Array | None = None, **options) -> Array:
    """``a @ b`` (``+ bias``), accumulated in float32 where ``a`` is narrower, rounded once to ``a``'s dtype;
    ``options`` go to :func:`jax.numpy.matmul` (``out_sharding=``).

    Example:
        >>> ones = jnp.ones((1, 300), jnp.bfloat16)
        >>> matmul(ones, ones.T).item()  # summed in bfloat16, it would stall at 256 (256 + 1 rounds to 256)
        300.0
        >>> matmul(ones, ones.T, bias=jnp.full(1, 0.5, jnp.bfloat16)).dtype
        dtype(bfloat16)
    """
    wide = accumulation(a.dtype)
    product = jnp.matmul(a, b, preferred_element_type=wide, **options)
    if bias is not None:
        product = product + (bias if wide is None else bias.astype(wide))
    return product.astype(a.dtype)


def total(values: Array, axis=None) -> Array:
    """``jnp.sum(values, axis)``, accumulated in float32 where ``values`` are narrower, rounded once.

    Example:
        >>> total(jnp.full(300, 1.0, jnp.bfloat16)).item(), total(jnp.ones((2, 3)), axis=0).tolist()
        (300.0, [2.0, 2.0, 2.0])
    """
    return jnp.sum(values, axis=axis, dtype=accumulation(values.dtype)).astype(values.dtype)
