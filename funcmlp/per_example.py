"""Per-example gradient norms and the clipped gradient (DP-SGD's), from the one backward pass.

Contract::

    per_example_grad_norms(mlp, params, x, y, loss, reduction=, weights=, key=, train=) -> (B,)
    clipped_grad(mlp, params, x, y, loss, max_norm, reduction=, weights=, key=, train=) -> params tree
    grad_moments(mlp, params, x, y, loss, weights=, key=, train=) -> GradMoments(mean, second_moment, variance,
                                                                                noise_scale)

No per-example gradient is held (``jax.vmap(jax.grad)`` holds B copies of the params): the norms
are a contraction of the trace and the sensitivities of :func:`funcmlp.backprop`'s one pass
(:mod:`funcmlp.core.per_example`), the clipped gradient the same contraction as the gradient with
each example's row of sensitivities scaled by ``min(1, max_norm / norm_i)``. Inputs are checked as
:func:`funcmlp.backprop` checks them. Imports: registry, core, checks, arguments.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from funcmlp.arguments import check_number
from funcmlp.checks import check_batch
from funcmlp.core.backward import backward, output_terms
from funcmlp.core.model import MLP
from funcmlp.core.params import Params
from funcmlp.core.per_example import clip_factors, example_norms, row_scaled_grads, second_moments
from funcmlp.core.reduction import reduction_weights
from funcmlp.registry.losses import get_loss

Array = jax.Array


def per_example_grad_norms(
    mlp: MLP, params: Params, x, y, loss="sse", *, reduction: str = "mean", weights=None, key=None, train=False
) -> Array:
    """The L2 norm of each example's gradient of its own loss ``L_i`` (over every weight and bias),
    ``(B,)``, from ``sum_k ||s_i^k||^2 (||a_i^{k-1}||^2 + 1)`` with the reduction's factor ``r_i``
    taken out; a row of weight 0 (padding) gets 0. For gradient clipping, DP-SGD, finding the
    examples that pull hardest, the gradient noise scale.

    Arguments as :func:`funcmlp.backprop` (with ``train=True`` and a ``key``, of the dropped-out network).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP((3, 4, 2), "tanh", output="identity")
        >>> params, x, y = mlp.init(jax.random.key(0)), jnp.ones((5, 3)), jnp.zeros((5, 2))
        >>> norms = per_example_grad_norms(mlp, params, x.at[0].set(2.0), y, "mse")
        >>> one = lambda i: jax.grad(lambda p: jnp.mean((mlp.apply(p, x.at[0].set(2.0)[i]) - y[i]) ** 2))(params)
        >>> reference = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(one(0))))
        >>> norms.shape, bool(jnp.allclose(norms[0], reference, rtol=1e-6))
        ((5,), True)
    """
    loss = get_loss(loss)
    batch = check_batch(mlp, params, x, y, loss, reduction=reduction, weights=weights)
    return _norms(mlp, loss, reduction, bool(train), params, batch.x, batch.targets, batch.weights, key)[0]


def clipped_grad(
    mlp: MLP,
    params: Params,
    x,
    y,
    loss="sse",
    max_norm: float = 1.0,
    *,
    reduction: str = "mean",
    weights=None,
    key=None,
    train=False,
) -> Params:
    """The batch gradient with each example's gradient clipped to ``max_norm``:
    ``sum_i r_i min(1, max_norm / ||grad L_i||) grad L_i`` (``r_i = 1/B`` for the mean of B examples:
    what ``optax.contrib.differentially_private_aggregate`` computes from per-example gradients with
    no noise; with ``weights``, their weighted mean). One backward pass, each example's row of the
    sensitivities scaled.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP((3, 4, 2), "tanh", output="identity")
        >>> params, x, y = mlp.init(jax.random.key(0)), jnp.arange(15.0).reshape(5, 3), jnp.zeros((5, 2))
        >>> clipped = clipped_grad(mlp, params, x, y, "mse", max_norm=1e9)  # nothing clipped: the gradient
        >>> bool(jnp.allclose(clipped[0].W, funcmlp.backprop(mlp, params, x, y, "mse").grads[0].W))
        True
    """
    max_norm = check_number(max_norm, "max_norm", above=0, example="1.0")
    loss = get_loss(loss)
    batch = check_batch(mlp, params, x, y, loss, reduction=reduction, weights=weights)
    return _clipped(mlp, loss, reduction, bool(train), params, batch.x, batch.targets, batch.weights, key, max_norm)


class GradMoments(NamedTuple):
    """What :func:`grad_moments` returns: the first two moments of the per-example gradients ``g_i``
    over the batch (weighted by ``weights``, each example once by default), entry by entry.

    Attributes:
        mean: ``sum_i r_i g_i``, the batch gradient (params' tree).
        second_moment: ``sum_i r_i g_i^2`` (params' tree): e.g. the empirical Fisher's diagonal.
        variance: ``second_moment - mean^2`` (params' tree; the batch's own, not divided by B - 1).
        noise_scale: ``B_simple = sum(variance) / |mean|^2`` (McCandlish et al. 2018), a scalar: the
            batch size above which larger batches stop paying.
    """

    mean: Params
    second_moment: Params
    variance: Params
    noise_scale: Array


def grad_moments(mlp: MLP, params: Params, x, y, loss="sse", *, weights=None, key=None, train=False) -> GradMoments:
    """Mean, second moment and variance of the per-example gradients (``g_i`` the gradient of example
    i's own loss), and the gradient noise scale, from one backward pass (no per-example gradient held):
    ``sum_i r_i g_i^2`` is ``(a^{k-1} * a^{k-1})^T (s^k * s^k / r)`` with ``r_i = w_i / sum w``.

    Arguments as :func:`funcmlp.backprop` (the moments are over the batch: no ``reduction``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP((3, 4, 2), "tanh", output="identity")
        >>> params, x, y = mlp.init(jax.random.key(0)), jnp.arange(15.0).reshape(5, 3) / 10, jnp.ones((5, 2))
        >>> moments = grad_moments(mlp, params, x, y, "mse")
        >>> bool(jnp.allclose(moments.mean[0].W, funcmlp.backprop(mlp, params, x, y, "mse").grads[0].W))
        True
        >>> bool(jnp.all(moments.variance[0].W >= -1e-12)), moments.noise_scale.shape
        (True, ())
    """
    loss = get_loss(loss)
    batch = check_batch(mlp, params, x, y, loss, reduction="mean", weights=weights)
    return _moments(mlp, loss, bool(train), params, batch.x, batch.targets, batch.weights, key)


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _norms(mlp: MLP, loss, reduction: str, train: bool, params, x, targets, weights, key):
    trace = mlp.trace(params, x, key=key, train=train)
    _, s = output_terms(mlp, trace, targets, weights, loss, reduction)
    sensitivities = backward(mlp, params, trace, s)[1]
    return example_norms(trace, sensitivities, reduction_weights(weights, reduction)), trace, sensitivities


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _clipped(mlp: MLP, loss, reduction: str, train: bool, params, x, targets, weights, key, max_norm) -> Params:
    norms, trace, sensitivities = _norms(mlp, loss, reduction, train, params, x, targets, weights, key)
    return row_scaled_grads(trace, sensitivities, clip_factors(norms, max_norm))


@partial(jax.jit, static_argnums=(0, 1, 2))
def _moments(mlp: MLP, loss, train: bool, params, x, targets, weights, key) -> GradMoments:
    trace = mlp.trace(params, x, key=key, train=train)
    _, s = output_terms(mlp, trace, targets, weights, loss, "mean")
    grads, sensitivities = backward(mlp, params, trace, s)
    second = second_moments(trace, sensitivities, reduction_weights(weights, "mean"))
    variance = jax.tree_util.tree_map(lambda m2, m: m2 - m * m, second, grads)
    spread = sum(jnp.sum(v) for v in jax.tree_util.tree_leaves(variance))
    size = sum(jnp.sum(g * g) for g in jax.tree_util.tree_leaves(grads))
    return GradMoments(grads, second, variance, spread / size)
