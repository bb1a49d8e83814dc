"""Quadratic anchoring (seed 004, "selective synaptic plasticity"):

    L'(theta) = L(theta) + lambda sum_i b_i (theta'_i - theta_i)^2

keeps each parameter near an anchor ``theta'`` (e.g. the weights learned on an earlier task)
with a per-parameter importance ``b_i`` (1 for plain L2 towards the anchor; a Fisher
information estimate gives elastic weight consolidation). Its gradient
``2 lambda b (theta - theta')`` is added by an optax transformation, so it chains with any
optimizer:

Example:
    >>> import jax, jax.numpy as jnp, optax
    >>> anchor_params = {"w": jnp.array([1.0, -1.0])}
    >>> opt = optax.chain(anchor(anchor_params, strength=0.5), optax.sgd(0.1))
    >>> params = {"w": jnp.array([3.0, -1.0])}
    >>> updates, _ = opt.update({"w": jnp.zeros(2)}, opt.init(params), params)
    >>> updates["w"].tolist()  # -0.1 * 2 * 0.5 * (theta - theta')
    [-0.2, -0.0]
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def anchor_penalty(params, anchor_params, *, strength: float, importance=None):
    """``lambda sum_i b_i (theta'_i - theta_i)^2`` over the whole pytree (importance defaults to 1)."""
    importance = importance if importance is not None else jax.tree_util.tree_map(jnp.ones_like, params)
    terms = jax.tree_util.tree_map(lambda p, a, b: jnp.sum(b * (a - p) ** 2), params, anchor_params, importance)
    return strength * sum(jax.tree_util.tree_leaves(terms))


def anchor(anchor_params, *, strength: float, importance=None) -> optax.GradientTransformation:
    """An optax transformation adding ``2 lambda b (theta - theta')`` to the gradient.

    Args:
        anchor_params: the anchor ``theta'``, same tree structure as params.
        strength: ``lambda`` >= 0.
        importance: per-parameter ``b`` (same structure), default all ones.
    """
    if strength < 0:
        raise ValueError(f"anchoring strength must be >= 0, got {strength}")

    def init_fn(params):
        if jax.tree_util.tree_structure(params) != jax.tree_util.tree_structure(anchor_params):
            raise ValueError("anchor params must have the same tree structure as the params being trained")
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("anchor() needs the current params: call optimizer.update(grads, state, params)")
        weights = importance if importance is not None else jax.tree_util.tree_map(jnp.ones_like, params)
        updates = jax.tree_util.tree_map(
            lambda g, p, a, b: g + 2 * strength * b * (p - a), updates, params, anchor_params, weights
        )
        return updates, state

    return optax.GradientTransformation(init_fn, update_fn)
