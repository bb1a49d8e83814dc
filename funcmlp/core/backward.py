"""The backward pass: the sensitivity recursion of seed 003, no ``jax.grad`` inside.

Contract (on a checked batch, see :func:`funcmlp.checks.check_batch`)::

    output_terms(mlp, trace, targets, weights, loss, reduction) -> (L, s^L)
    backward(mlp, params, trace, s^L)                      -> (grads, (s^1, ..., s^L))
    gradient_fn(mlp, loss, reduction, gradient)            -> (params, x, targets, weights, key, masks=None)
                                                               -> (L, grads, a^L)

For a batch with per-example factors ``r_i`` (``w_i / sum w`` for the mean, ``w_i`` for the
sum) the batch loss is ``L = sum_i r_i L_i`` and the sensitivities ``s^k = dL/dn^k`` are
``(batch, d_k)`` arrays, one row per example:

    s^L = r * dL_i/dn^L_i                       output sensitivity (seed 003 eq. 24)
    s^k = (s^{k+1} (W^{k+1})^T * m^k) F'(n^k)   recursion (eq. 33; m^k: dropout factor)
    dL/dW^k = (a^{k-1})^T s^k                   (eq. 19, weight part)
    dL/db^k = sum over the batch of s^k         (eq. 19, bias part)

``F'(n^k)`` is applied as a vector-Jacobian product: an elementwise product for elementwise
activations, ``p * (g - <g, p>)`` for softmax. Where an Explicit mesh axis splits the batch (the
user's ``jit`` over ``jax.make_mesh``'s axes), the sums over it are told their output sharding
(:mod:`funcmlp.core.batch_axis`). Pure and traceable; nothing is checked here.
"""

from __future__ import annotations

from collections.abc import Callable

import jax

from funcmlp.core.batch_axis import explicitly_split, over_batch
from funcmlp.core.model import MLP, Trace
from funcmlp.core.params import Layer, Params
from funcmlp.core.precision import matmul, total
from funcmlp.core.reduction import reduction_weights
from funcmlp.registry.losses import Loss

Array = jax.Array

GRADIENT_SOURCES = ("manual", "autodiff")
"""Where a training step's gradient comes from: the sensitivity recursion or ``jax.grad``."""


def output_terms(
    mlp: MLP, trace: Trace, targets: Array, weights: Array, loss: Loss, reduction: str
) -> tuple[Array, Array]:
    """The batch loss (a scalar) and ``s^L`` ``(batch, d_L)``, the reduction applied, from a
    forward trace and checked targets ``(batch, d_L)`` and example weights ``(batch,)``."""
    per_example, output_sensitivity = loss.output_terms(mlp.activations[-1], trace.n[-1], trace.a[-1], targets)
    r = reduction_weights(weights, reduction)
    return total(r * per_example), output_sensitivity * r[:, None]  # (bfloat16, float16: summed in float32)


def backward(mlp: MLP, params: Params, trace: Trace, output_sensitivity: Array) -> tuple[Params, tuple[Array, ...]]:
    """The sensitivity recursion from a given ``s^L = dL/dn^L`` (batch, d_L): also for custom losses.

    Returns ``(grads, (s^1, ..., s^L))``. ``output_sensitivity`` must already carry the batch
    reduction (e.g. ``/ batch`` for a mean).

    Example (a custom loss L = mean over the batch of sum(a^4) with a linear output, s^L = 4 a^3 / B):
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP((3, 4, 2), "tanh", output="identity")
        >>> params = mlp.init(jax.random.key(0))
        >>> x = jnp.ones((5, 3))
        >>> trace = mlp.trace(params, x)
        >>> grads, _ = backward(mlp, params, trace, 4 * trace.a[-1] ** 3 / 5)
        >>> reference = jax.grad(lambda p: jnp.mean(jnp.sum(mlp.apply(p, x) ** 4, axis=-1)))(params)
        >>> bool(jnp.allclose(grads[0].W, reference[0].W, rtol=1e-5))
        True
    """
    s = output_sensitivity
    grads: list[Layer] = [None] * mlp.depth  # type: ignore[list-item]
    sensitivities: list[Array] = [None] * mlp.depth  # type: ignore[list-item]
    for k in range(mlp.depth, 0, -1):
        a_prev = trace.x if k == 1 else trace.a[k - 2]
        sensitivities[k - 1] = s
        grads[k - 1] = Layer(over_batch(a_prev, s), total(s, axis=0))
        if k > 1:
            s = sensitivity_below(mlp, params, trace, k, s)
    return tuple(grads), tuple(sensitivities)


def sensitivity_below(mlp: MLP, params: Params, trace: Trace, k: int, s: Array) -> Array:
    """One step of the recursion: ``s^{k-1} = (s^k (W^k)^T * m^{k-1}) F'(n^{k-1})`` from ``s^k`` ``(..., B, d_k)``,
    any leading axes (columns of virtual sensitivities, :mod:`funcmlp.core.curvature`) kept; the product with
    ``(W^k)^T`` is one matrix product over every row.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP((2, 3, 1), "tanh")
        >>> params = mlp.init(jax.random.key(0))
        >>> trace = mlp.trace(params, jnp.ones((4, 2)))
        >>> columns = jnp.ones((5, 4, 1))  # five columns s^2, one row per example
        >>> below = sensitivity_below(mlp, params, trace, 2, columns)
        >>> below.shape, bool(jnp.allclose(below[0], sensitivity_below(mlp, params, trace, 2, columns[0])))
        ((5, 4, 3), True)
    """
    W = params[k - 1].W
    if explicitly_split(s, -2):  # an Explicit mesh axis splits the batch: the rows stay where they are
        g = matmul(s, W.T)
    else:
        g = matmul(s.reshape(-1, s.shape[-1]), W.T).reshape(*s.shape[:-1], W.shape[0])
    mask = trace.masks[k - 2]
    if mask is not None:
        g = g * mask
    return mlp.activations[k - 2].backward(trace.n[k - 2], g)


def batch_loss(
    mlp: MLP,
    params: Params,
    x: Array,
    targets: Array,
    weights: Array,
    loss: Loss,
    reduction: str,
    *,
    key=None,
    train: bool = False,
    masks=None,
) -> tuple[Array, Trace]:
    """The batch loss (a scalar) and its forward trace: the function ``jax.grad`` differentiates (``key``,
    ``train``, ``masks``: dropout, as :meth:`MLP.trace <funcmlp.core.model.MLP.trace>` takes them)."""
    trace = mlp.trace(params, x, key=key, train=train, masks=masks)
    return output_terms(mlp, trace, targets, weights, loss, reduction)[0], trace


def gradient_fn(mlp: MLP, loss: Loss, reduction: str, gradient: str = "manual") -> Callable:
    """``(params, x, targets, weights, key, masks=None) -> (loss, grads, outputs)`` on checked data, from the
    manual backprop or ``jax.grad``; ``outputs`` ``(batch, d_L)`` are the network's with dropout
    on (``key`` draws the masks, or ``masks`` gives them: :meth:`MLP.dropout_masks
    <funcmlp.core.model.MLP.dropout_masks>`), returned so that a training step can count its correct
    predictions without a second forward pass.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from funcmlp.registry.losses import get_loss
        >>> mlp = MLP((2, 3, 1), "tanh")
        >>> step = gradient_fn(mlp, get_loss("sse"), "mean")
        >>> params = mlp.init(jax.random.key(0))
        >>> value, grads, outputs = step(params, jnp.ones((4, 2)), jnp.zeros((4, 1)), jnp.ones(4), None)
        >>> outputs.shape, grads[0].W.shape
        ((4, 1), (2, 3))
    """
    if gradient == "manual":

        def value_and_grad(params, x, targets, weights, key, masks=None):
            trace = mlp.trace(params, x, key=key, train=True, masks=masks)
            value, s = output_terms(mlp, trace, targets, weights, loss, reduction)
            return value, backward(mlp, params, trace, s)[0], trace.a[-1]
    else:

        def value_and_grad(params, x, targets, weights, key, masks=None):
            def value(p):
                batch_value, trace = batch_loss(
                    mlp, p, x, targets, weights, loss, reduction, key=key, train=True, masks=masks
                )
                return batch_value, trace.a[-1]

            (value, outputs), grads = jax.value_and_grad(value, has_aux=True)(params)
            return value, grads, outputs

    return value_and_grad
