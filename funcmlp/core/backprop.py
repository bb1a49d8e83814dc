"""Manual backpropagation: the sensitivity recursion of seed 003, no ``jax.grad`` inside.

For a batch with per-example weights ``r_i`` (``1/B`` for the mean, ``1`` for the sum)
the batch loss is ``L = sum_i r_i L_i`` and the sensitivities ``s^k = dL/dn^k`` are
``(batch, d_k)`` arrays, one row per example:

    s^L = r * dL_i/dn^L_i                       output sensitivity (seed 003 eq. 24)
    s^k = (s^{k+1} (W^{k+1})^T * m^k) F'(n^k)   recursion (eq. 33; m^k: dropout factor)
    dL/dW^k = (a^{k-1})^T s^k                   (eq. 19, weight part)
    dL/db^k = sum over the batch of s^k         (eq. 19, bias part)

``F'(n^k)`` is applied as a vector-Jacobian product: an elementwise product for
elementwise activations, ``p * (g - <g, p>)`` for softmax.

Every entry point here checks its input first (:func:`forward_and_output`): the loss
against the output layer (:meth:`funcmlp.registry.losses.Loss.check_output`), the targets and
example weights against the loss (:func:`funcmlp.registry.losses.prepare_targets`), the params and
inputs against the network. Values (label ranges, [0, 1] targets, finiteness) are checked
when they are concrete; under a caller's ``jit`` only shapes can be.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp

from funcmlp.registry.losses import check_reduction, get_loss, prepare_targets, prepare_weights, reduction_weights
from funcmlp.core.model import MLP, Trace
from funcmlp.core.params import Layer, Params

Array = jax.Array


class Backprop(NamedTuple):
    """Result of :func:`backprop`.

    Attributes:
        grads: ``dL/dparams``, same tree structure as params.
        sensitivities: ``(s^1, ..., s^L)``, each ``(batch, d_k)`` (``(d_k,)`` for one example).
        loss: the batch loss, a scalar.
        trace: the forward :class:`~funcmlp.core.model.Trace` it used.
    """

    grads: Params
    sensitivities: tuple[Array, ...]
    loss: Array
    trace: Trace


def forward_and_output(mlp: MLP, params: Params, x, y, loss, reduction, weights, key, train) -> tuple[Trace, Array, Array]:
    """The forward trace, the batch loss and ``s^L`` (with the reduction), after checking the
    loss against the output layer and the targets and weights against the loss."""
    loss = get_loss(loss)
    check_reduction(reduction)
    loss.check_output(mlp.activations[-1], mlp.sizes[-1])
    trace = mlp.trace(params, x, key=key, train=train)
    batch, dtype = trace.x.shape[0], trace.x.dtype
    targets = prepare_targets(loss, y, batch, mlp.sizes[-1], dtype)
    per_example, output_sensitivity = loss.output_terms(mlp.activations[-1], trace.n[-1], trace.a[-1], targets)
    r = reduction_weights(prepare_weights(weights, batch, dtype, reduction), reduction)
    return trace, jnp.sum(r * per_example), output_sensitivity * r[:, None]


def objective(mlp: MLP, params: Params, x, y, loss="sse", *, reduction: str = "mean", weights=None, key=None, train: bool = False) -> Array:
    """The scalar batch loss ``L(params)``; the function :func:`autodiff_grad` differentiates.

    Args:
        mlp, params: the network.
        x: ``(batch, d_0)`` or ``(d_0,)``.
        y: targets, see :func:`funcmlp.registry.losses.prepare_targets`.
        loss: a loss name (:mod:`funcmlp.registry.losses`).
        reduction: ``"mean"`` or ``"sum"`` over the batch.
        weights: optional per-example weights ``(batch,)`` (the mean divides by their sum).
        key, train: dropout, as in :meth:`MLP.trace`.

    Example:
        >>> import jax.numpy as jnp
        >>> from funcmlp.core.params import params_from_arrays
        >>> mlp = MLP((2, 2, 1), ["relu", "identity"])
        >>> p = params_from_arrays([([[1, 1], [1, 1]], [0, 0]), ([[1], [1]], [0])])
        >>> float(objective(mlp, p, jnp.array([1.0, 1.0]), 0.0, "sse"))
        16.0
    """
    return forward_and_output(mlp, params, x, y, loss, reduction, weights, key, train)[1]


def backprop(mlp: MLP, params: Params, x, y, loss="sse", *, reduction: str = "mean", weights=None, key=None, train: bool = False) -> Backprop:
    """Gradients of the batch loss by the hand-written sensitivity recursion.

    Same arguments as :func:`objective`. Works under ``jax.jit`` (``mlp`` and ``loss``
    static) and ``jax.vmap`` over single examples (per-example gradients).

    Returns:
        :class:`Backprop` ``(grads, sensitivities, loss, trace)``.

    Example (seed 003, eqs. 39-51):
        >>> import jax.numpy as jnp
        >>> from funcmlp.core.params import params_from_arrays
        >>> mlp = MLP((2, 2, 1), ["relu", "identity"])
        >>> p = params_from_arrays([([[1, 1], [1, 1]], [0, 0]), ([[1], [1]], [0])])
        >>> result = backprop(mlp, p, jnp.array([1.0, 1.0]), 0.0, "sse")
        >>> [s.tolist() for s in result.sensitivities]
        [[8.0, 8.0], [8.0]]
        >>> result.grads[0].W.tolist()
        [[8.0, 8.0], [8.0, 8.0]]
    """
    trace, value, s = forward_and_output(mlp, params, x, y, loss, reduction, weights, key, train)
    grads, sensitivities = backward(mlp, params, trace, s)
    if jnp.ndim(x) == 1:
        sensitivities = tuple(si[0] for si in sensitivities)
    return Backprop(grads, sensitivities, value, trace)


def backward(mlp: MLP, params: Params, trace: Trace, output_sensitivity: Array) -> tuple[Params, tuple[Array, ...]]:
    """The sensitivity recursion from a given ``s^L = dL/dn^L`` (batch, d_L): for custom losses.

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
        grads[k - 1] = Layer(a_prev.T @ s, jnp.sum(s, axis=0))
        if k > 1:
            g = s @ params[k - 1].W.T
            mask = trace.masks[k - 2]
            if mask is not None:
                g = g * mask
            s = mlp.activations[k - 2].backward(trace.n[k - 2], g)
    return tuple(grads), tuple(sensitivities)


def autodiff_grad(mlp: MLP, params: Params, x, y, loss="sse", *, reduction: str = "mean", weights=None, key=None, train: bool = False) -> Params:
    """``jax.grad`` of :func:`objective`: the reference the manual backprop is checked against.

    Example:
        >>> import jax.numpy as jnp
        >>> from funcmlp.core.params import params_from_arrays
        >>> mlp = MLP((2, 2, 1), ["relu", "identity"])
        >>> p = params_from_arrays([([[1, 1], [1, 1]], [0, 0]), ([[1], [1]], [0])])
        >>> autodiff_grad(mlp, p, jnp.array([1.0, 1.0]), 0.0, "sse")[1].W.ravel().tolist()
        [16.0, 16.0]
    """
    return jax.grad(lambda p: objective(mlp, p, x, y, loss, reduction=reduction, weights=weights, key=key, train=train))(params)
