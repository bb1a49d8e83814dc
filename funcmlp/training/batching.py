"""Mini-batches of an epoch: seeded shuffling, ceil(N / B) iterations (seed 000 eq. 35), over data
padded to a size bucket so that data of other numbers of rows share one compiled epoch.

The data of a training run are padded with weight-0 rows to
:func:`~funcmlp.core.padding.padded_rows` (``64 * 2^k`` or
``64 * 3 * 2^k``: less than twice the rows, at most 1.5 times from 129 on), so that every data
set of the same bucket (a grid search's folds, a second fit on more data) runs the same compiled
program; the number of real rows ``N`` is an argument of that program, not part of its shape.
Each epoch draws an order of the rows with the real rows first (:func:`epoch_order`, on the
host: no program), and the compiled epoch runs its ``ceil(N / B)``
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
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


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
    """An epoch's randomness, drawn on the host: the data of the key the next epoch starts from and
    of the key of the epoch's dropout masks (``uint32``, the shape of the epoch's key's data), and
    the order of the rows ``(size,)`` (the real rows first)."""

    next_key_data: np.ndarray
    order: np.ndarray
    dropout_key_data: np.ndarray


def epoch_order(key: jax.Array, rows: int, size: int, *, shuffle: bool) -> EpochDraw:
    """The draw of an epoch from ``key`` (a typed key or a legacy ``uint32[2]`` one), for ``rows``
    real rows padded to ``size``.

    Drawn with numpy, so no program is compiled for it (a ``jax.random.permutation`` in a
    program of its own took 0.3-0.5 s to compile, more than a small network's whole epoch): the
    key's data are the key of numpy's Philox generator, whose raw 64-bit words (a fixed
    algorithm: the same in every numpy version) give the next key's and the dropout key's data
    (their low 32 bits) and, without ties in practice, the order of the real rows (a stable
    argsort of one word per row: a uniform permutation). Without ``shuffle`` the order is the
    data's; the padding rows follow. The same key gives the same draw.

    Example:
        >>> draw = epoch_order(jax.random.key(0), 5, 64, shuffle=True)
        >>> sorted(draw.order[:5].tolist()), draw.order[5:8].tolist(), draw.next_key_data.shape
        ([0, 1, 2, 3, 4], [5, 6, 7], (2,))
    """
    data = np.asarray(jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key)
    words = data.ravel().astype(np.uint32)
    seed = sum(int(word) << (32 * i) for i, word in enumerate(words)) % 2**128
    rows, keys = int(rows), words.size
    raw = np.random.Philox(key=seed).random_raw(2 * keys + (rows if shuffle else 0))
    low = (raw[: 2 * keys] & 0xFFFFFFFF).astype(np.uint32)
    order = np.arange(size, dtype=np.int32)
    if shuffle:
        order[:rows] = np.argsort(raw[2 * keys :], kind="stable")
    return EpochDraw(low[:keys].reshape(data.shape), order, low[keys:].reshape(data.shape))


def key_like(key: jax.Array, data) -> jax.Array:
    """A key of ``key``'s kind (its implementation, or a legacy ``uint32`` key) from ``data``;
    traceable (the compiled epoch makes the next epoch's and the dropout keys with it)."""
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(key))
    return jnp.asarray(data, jnp.uint32)
