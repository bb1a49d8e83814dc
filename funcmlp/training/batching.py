"""Mini-batches of an epoch: seeded shuffling, ceil(N / B) iterations (seed 000 eq. 35).

An epoch is returned as fixed-shape arrays so it can run inside ``lax.scan``:
``indices`` of shape ``(iterations, batch_size)`` and per-example ``weights`` of the same
shape. When ``N`` is not a multiple of ``B`` the last batch is either kept (padded with
weight-0 entries, so the loss and gradient are those of the real examples only) or
dropped.

Example:
    >>> import jax
    >>> iterations_per_epoch(10, 4), iterations_per_epoch(10, 4, drop_last=True)
    (3, 2)
    >>> idx, w = epoch_batches(jax.random.key(0), 10, 4)
    >>> idx.shape, w.sum().item()
    ((3, 4), 10.0)
"""

from __future__ import annotations

import math

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


def epoch_batches(key, n_examples: int, batch_size: int, *, drop_last: bool = False, shuffle: bool = True):
    """Indices ``(iterations, B)`` into the data and weights ``(iterations, B)`` (1 real, 0 padding)."""
    steps = iterations_per_epoch(n_examples, batch_size, drop_last=drop_last)
    order = jax.random.permutation(key, n_examples) if shuffle else jnp.arange(n_examples)
    used = steps * batch_size
    if used <= n_examples:
        return order[:used].reshape(steps, batch_size), jnp.ones((steps, batch_size))
    padding = used - n_examples
    indices = jnp.concatenate([order, jnp.zeros((padding,), order.dtype)])
    weights = jnp.concatenate([jnp.ones((n_examples,)), jnp.zeros((padding,))])
    return indices.reshape(steps, batch_size), weights.reshape(steps, batch_size)
