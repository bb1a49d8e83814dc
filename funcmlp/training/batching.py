"""Mini-batches of an epoch: seeded shuffling, ceil(N / B) iterations (seed 000 eq. 35), over data
padded to a size bucket so that data of other numbers of rows share one compiled epoch.

The data of a training run are padded with weight-0 rows to
:func:`~funcmlp.core.padding.padded_rows` (``64 * 2^k`` or
``64 * 3 * 2^k``: less than twice the rows, at most 1.5 times from 129 on), so that every data
set of the same bucket (a grid search's folds, a second fit on more data) runs the same compiled
program; the number of real rows ``N`` is an argument of that program, not part of its shape.
Each epoch draws an order of the rows with the real rows first (:func:`epoch_order`, one small
program per padded size, whatever the network), and the compiled epoch runs its ``ceil(N / B)``
batches from it: the last one partial (its missing examples are row 0 at weight 0) or, with
``drop_last``, dropped. No batch reads a padding row.

Example:
    >>> import jax
    >>> iterations_per_epoch(10, 4), iterations_per_epoch(10, 4, drop_last=True)
    (3, 2)
    >>> draw = epoch_order(jax.random.key(0), 10, 64, shuffle=True)
    >>> sorted(draw.order[:10].tolist()) == list(range(10)), draw.order.shape
    (True, (64,))
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp


def iterations_per_epoch(n_examples: int, batch_size: int, *, drop_last: bool = False) -> int:
    """ceil(N / B), or floor(N / B) when the partial last batch is dropped."""
    if batch_size < 1:
        raise ValueError(f"batch size must be at least 1, got {batch_size}")
    if n_examples < 1:
        raise ValueError("the data set is empty: need at least one example")
    if drop_last:
        if n_examples < batch_size:
            raise ValueError(
                f"drop_last with batch size {batch_size} > {n_examples} examples leaves no batch; lower the batch size"
            )
        return n_examples // batch_size
    return math.ceil(n_examples / batch_size)


class EpochDraw(NamedTuple):
    """An epoch's randomness: the key the next epoch starts from, the order of the rows
    ``(size,)`` (the real rows first) and the key of the epoch's dropout masks."""

    next_key: jax.Array
    order: jax.Array
    dropout_key: jax.Array


@partial(jax.jit, static_argnums=(2,), static_argnames=("shuffle",))
def epoch_order(key: jax.Array, rows, size: int, *, shuffle: bool) -> EpochDraw:
    """The draw of an epoch from ``key``, for ``rows`` real rows (a traced number) padded to ``size``.

    The order of the real rows is uniform (those of one ``jax.random.permutation`` of the ``size``
    positions, kept in its order) or, without ``shuffle``, the data's; the padding rows follow.
    Compiled once per ``size``: every network and data set of that size shares it.
    """
    key, shuffle_key, dropout_key = jax.random.split(key, 3)
    positions = jnp.arange(size)
    if not shuffle:
        return EpochDraw(key, positions, dropout_key)
    drawn = jax.random.permutation(shuffle_key, size)
    padding = drawn >= rows
    # the real rows where they fall in the permutation, packed to the front in its order; the padding after them
    slot = jnp.where(padding, rows + jnp.cumsum(padding) - 1, jnp.cumsum(~padding) - 1)
    return EpochDraw(key, jnp.zeros(size, drawn.dtype).at[slot].set(drawn, unique_indices=True), dropout_key)
