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
        importance: per-parameter ``b`` >= 0 (same structure), default all ones; for elastic weight
            consolidation, the diagonal of the Fisher of the earlier task: :func:`funcmlp.diag_ggn` of
            its data at ``anchor_params`` (exact, or ``samples=`` labels drawn from the model).

    Example (EWC: anchored where the first task's curvature is large):
        >>> import jax, jax.numpy as jnp, optax
        >>> mlp = funcmlp.MLP((2, 3, 2), "tanh", output="identity")
        >>> first = mlp.init(jax.random.key(0))
        >>> x, labels = jnp.array([[1.0, 0.0], [0.0, 1.0]]), jnp.array([0, 1])
        >>> fisher = funcmlp.diag_ggn(mlp, first, x, labels, "softmax_cross_entropy")
        >>> ewc = optax.chain(anchor(first, strength=10.0, importance=fisher), optax.sgd(0.1))
        >>> moved = jax.tree_util.tree_map(lambda p: p + 0.5, first)
        >>> zero = jax.tree_util.tree_map(jnp.zeros_like, first)
        >>> updates, _ = ewc.update(zero, ewc.init(moved), moved)
        >>> bool(jnp.allclose(updates[0].W, -0.1 * 2 * 10.0 * fisher[0].W * 0.5))
        True
    """
    if strength < 0:
        raise ValueError(f"anchoring strength must be >= 0, got {strength}")
    if importance is not None:
        _check_importance(importance, anchor_params)

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


def _check_importance(importance, anchor_params) -> None:
    """The importance has the anchor's tree and shapes, and is finite and >= 0 (a Fisher or GGN diagonal is)."""
    if jax.tree_util.tree_structure(importance) != jax.tree_util.tree_structure(anchor_params):
        raise ValueError(
            "importance must have the tree structure of the anchor params (one number per parameter); "
            "e.g. importance=funcmlp.diag_ggn(mlp, anchor_params, x, y, loss), not its per_example=True form"
        )
    for b, a in zip(jax.tree_util.tree_leaves(importance), jax.tree_util.tree_leaves(anchor_params), strict=True):
        if jnp.shape(b) != jnp.shape(a):
            raise ValueError(f"importance has a leaf of shape {jnp.shape(b)} where the anchor has {jnp.shape(a)}")
        if not isinstance(b, jax.core.Tracer) and not bool(jnp.all(jnp.isfinite(b) & (b >= 0))):
            raise ValueError(
                "importance must be finite and >= 0 (a diagonal of the Fisher or the GGN is); "
                "a Hessian's diagonal can be negative: use funcmlp.diag_ggn"
            )
