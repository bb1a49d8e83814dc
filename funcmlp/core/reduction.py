"""The batch reduction: how per-example losses ``(batch,)`` become the batch loss, a scalar.

``"mean"``: ``L = sum_i w_i L_i / sum_i w_i`` (``w_i = 1`` without example weights, so the
plain mean); ``"sum"``: ``L = sum_i w_i L_i``. The factors ``r_i`` with ``L = sum_i r_i L_i``
also scale the output sensitivities of the backward pass.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

REDUCTIONS = ("mean", "sum")


def weight_divisor(total: jax.Array) -> jax.Array:
    """A sum of example weights to divide by, 1 where it is 0: a batch of weight-0 examples only
    (in training) then weighs nothing instead of dividing by 0.

    Example:
        >>> weight_divisor(jnp.array(0.0)).item(), weight_divisor(jnp.array(2.5)).item()
        (1.0, 2.5)
    """
    return jnp.where(total > 0, total, 1)


def reduction_weights(weights: jax.Array, reduction: str) -> jax.Array:
    """The factors ``r_i`` ``(batch,)`` that turn per-example losses into the batch loss.

    Example:
        >>> weights = jnp.array([1.0, 3.0])
        >>> reduction_weights(weights, "mean").tolist(), reduction_weights(weights, "sum").tolist()
        ([0.25, 0.75], [1.0, 3.0])
    """
    if reduction == "sum":
        return weights
    return weights / weight_divisor(jnp.sum(weights))
