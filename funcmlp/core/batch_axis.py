"""Sums over the batch axis, told where their result lies when an Explicit mesh axis splits the batch.

Contract (``a``, ``b``: arrays whose leading axis is the batch's, of any placement)::

    explicitly_split(array, axis=0) -> bool            an Explicit mesh axis shards ``array``'s ``axis``
    over_batch(a, b)                -> (m, n)          a^T b for a (B, m), b (B, n): sum_i a_i^T b_i
    rows(m)                         -> (C * B, d)      the rows of columns m (C, B, d), every column's examples

Under an Explicit mesh (what ``jax.make_mesh`` makes) a product that contracts a sharded axis is
refused by JAX (``ShardingTypeError``: the sum over the devices could be left split or replicated), as
is a reshape that merges a sharded axis into a minor one. JAX's way is to say it: ``jnp.matmul(...,
out_sharding=...)``. These helpers read the arrays' types at trace time and, only where an Explicit axis
shards the batch, give the contraction the result's sharding (the batch axis summed away, the others'
kept: replicated when only the batch is split) and merge the batch as the major axis; otherwise they are
the plain products and reshapes (no cost). Pure and traceable; nothing is checked here.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from funcmlp.core.precision import matmul

Array = jax.Array


def _spec(array: Array) -> tuple:
    """The array's partition spec, one entry per axis (Explicit axes only: Auto axes are not in its type)."""
    spec = tuple(jax.typeof(array).sharding.spec)
    return spec + (None,) * (jnp.ndim(array) - len(spec))


def explicitly_split(array: Array, axis: int = 0) -> bool:
    """Whether an Explicit mesh axis shards ``array``'s ``axis`` (False outside a mesh, for an Auto axis, in a
    ``shard_map``'s body, and for a NumPy array).

    Example:
        >>> explicitly_split(jnp.ones((4, 2)))
        False
    """
    return jnp.ndim(array) > 0 and _spec(array)[axis] is not None


def over_batch(a: Array, b: Array) -> Array:
    """``a^T b`` ``(m, n)`` for ``a`` ``(B, m)`` and ``b`` ``(B, n)``: the sum over the batch of each example's
    outer product ``a_i^T b_i``, the contraction of every gradient ``(a^{k-1})^T s^k``. Where an Explicit axis
    shards the batch, the result keeps ``a``'s and ``b``'s feature axes' shardings (replicated when only the
    batch is split: every device gets the sum over all of them).

    Example:
        >>> over_batch(jnp.array([[1.0], [2.0]]), jnp.array([[3.0, 1.0], [4.0, 0.0]])).tolist()
        [[11.0, 1.0]]
    """
    if not (explicitly_split(a) or explicitly_split(b)):
        return matmul(a.T, b)  # (bfloat16, float16: accumulated in float32)
    mesh = jax.typeof(a if explicitly_split(a) else b).sharding.mesh
    return matmul(a.T, b, out_sharding=NamedSharding(mesh, P(_spec(a)[1], _spec(b)[1])))


def rows(m: Array) -> Array:
    """``(C * B, d)``: every row of the columns ``m`` ``(C, B, d)`` (each column's examples), for sums over all
    of them. Column-major (``m.reshape(-1, d)``) as a rule; where an Explicit axis shards the batch, the examples
    major (each device's rows stay its own), the same rows in another order.

    Example:
        >>> rows(jnp.arange(12.0).reshape(2, 3, 2)).shape
        (6, 2)
    """
    if explicitly_split(m, 1):
        return jnp.swapaxes(m, 0, 1).reshape(-1, m.shape[-1])
    return m.reshape(-1, m.shape[-1])
