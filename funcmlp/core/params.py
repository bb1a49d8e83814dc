"""Parameters as a plain pytree: a tuple of per-layer ``Layer(W, b)``.

Row convention (seed 003): ``n^k = a^{k-1} @ W^k + b^k`` with ``W^k`` of shape
``(d_{k-1}, d_k)`` and ``b^k`` of shape ``(d_k,)``. Seeds 000/001/002/004 write the column
convention ``z = W a + b`` with ``W`` of shape ``(d_k, d_{k-1})``; :func:`params_from_arrays`
with ``convention="column"`` and :func:`to_column_convention` convert between the two
(the weight matrix is transposed, nothing else changes).

Example:
    >>> import jax.numpy as jnp
    >>> params = params_from_arrays([([[1.0, 1.0], [1.0, 1.0]], [0.0, 0.0]), ([[1.0], [1.0]], [0.0])])
    >>> [layer.W.shape for layer in params]
    [(2, 2), (2, 1)]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array
Params = tuple["Layer", ...]

CONVENTIONS = ("row", "column")


class Layer(NamedTuple):
    """One dense layer. ``W``: ``(d_in, d_out)`` (row convention), ``b``: ``(d_out,)``."""

    W: Array
    b: Array


def params_from_arrays(layers: Sequence[tuple], *, convention: str = "row", dtype=None) -> Params:
    """Build params from given weights, e.g. a textbook's hand-set network.

    Args:
        layers: one ``(W, b)`` pair per layer. ``b`` may be a scalar for a one-unit layer
            or a column vector ``(d_out, 1)`` as the column-convention texts print it.
        convention: ``"row"`` if ``W`` is ``(d_in, d_out)`` (seed 003), ``"column"`` if it is
            ``(d_out, d_in)`` (seeds 000, 001/002, 004); column weights are transposed.
        dtype: array dtype (default: JAX's default float type).

    Returns:
        A tuple of :class:`Layer` in the row convention.

    Raises:
        ValueError: if consecutive layers do not chain or a bias does not fit its layer.

    Example:
        >>> p = params_from_arrays([([[0.1, 0.2, 0.3], [0.4, 0.5, 0.6]], [[0.1], [0.2]])], convention="column")
        >>> p[0].W.shape, p[0].b.shape
        ((3, 2), (2,))
    """
    if convention not in CONVENTIONS:
        raise ValueError(
            f"unknown convention {convention!r}; expected 'row' (W is d_in x d_out) or 'column' (W is d_out x d_in)"
        )
    dtype = dtype or jnp.result_type(float)
    params = []
    for index, pair in enumerate(layers, start=1):
        if len(pair) != 2:
            raise ValueError(f"layer {index}: expected a (W, b) pair, got {len(pair)} items")
        W = np.asarray(pair[0], dtype=np.float64)
        if W.ndim == 1:
            W = W[:, None] if convention == "row" else W[None, :]
        if W.ndim != 2:
            raise ValueError(f"layer {index}: W must be a matrix, got shape {W.shape}")
        if convention == "column":
            W = W.T
        b = np.asarray(pair[1], dtype=np.float64).reshape(-1)
        if b.shape != (W.shape[1],):
            raise ValueError(
                f"layer {index}: bias has {b.size} entries but "
                f"W{' (after transposing the column convention)' if convention == 'column' else ''} "
                f"has shape {W.shape}, i.e. {W.shape[1]} units; give one bias per unit"
            )
        if params and params[-1].W.shape[1] != W.shape[0]:
            raise ValueError(
                f"layer {index}: W has shape {W.shape} but layer {index - 1} has {params[-1].W.shape[1]} units; "
                f"expected W with {params[-1].W.shape[1]} rows in the {convention} convention"
            )
        params.append(Layer(jnp.asarray(W, dtype=dtype), jnp.asarray(b, dtype=dtype)))
    return tuple(params)


def to_column_convention(params: Params) -> list[tuple[Array, Array]]:
    """Return ``[(W^T, b), ...]``: weights as ``(d_out, d_in)`` for ``z = W a + b``.

    Example:
        >>> p = params_from_arrays([([[1.0, 2.0, 3.0]], [0.0, 0.0, 0.0])])
        >>> to_column_convention(p)[0][0].shape
        (3, 1)
    """
    return [(layer.W.T, layer.b) for layer in params]


def layer_sizes(params: Params) -> tuple[int, ...]:
    """``(d_0, d_1, ..., d_L)`` read off the weight shapes."""
    return (params[0].W.shape[0], *(layer.W.shape[1] for layer in params))


def count_parameters(params: Params) -> int:
    """Number of scalar parameters."""
    return sum(int(np.prod(leaf.shape)) for leaf in jax.tree_util.tree_leaves(params))
