"""The checked entry points of the backward pass: :func:`backprop`, :func:`objective`, :func:`autodiff_grad`.

Contract::

    backprop(mlp, params, x, y, loss, reduction=, weights=, key=, train=) -> Backprop(grads, sensitivities, loss, trace)
    objective(...)                                                         -> L, a scalar
    autodiff_grad(...)                                                     -> jax.grad of objective, params' structure

Each checks its input once (:func:`funcmlp.checks.check_batch`: the loss against the output
layer, the targets and weights against the loss, the params and inputs against the network),
then runs the pure core (:mod:`funcmlp.core.backward`) as one compiled program per network,
loss and shapes (called eagerly, its operations would each compile for every new shape: ~40
ms apiece on CPU). Under a caller's ``jit``, ``grad`` or ``vmap`` the program is traced into
the caller's and only shapes can be checked. Imports: registry, core, checks.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp

from funcmlp.checks import check_batch
from funcmlp.core.backward import backward, batch_loss, output_terms
from funcmlp.core.model import MLP, Trace
from funcmlp.core.params import Params
from funcmlp.registry.losses import get_loss

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


def objective(
    mlp: MLP, params: Params, x, y, loss="sse", *, reduction: str = "mean", weights=None, key=None, train: bool = False
) -> Array:
    """The scalar batch loss ``L(params)``; the function :func:`autodiff_grad` differentiates.

    Args:
        mlp, params: the network.
        x: ``(batch, d_0)`` or ``(d_0,)``.
        y: targets, see :func:`funcmlp.checks.check_targets`.
        loss: a loss name (:mod:`funcmlp.registry.losses`) or a function ``(a, y) -> (batch,)`` (:func:`get_loss`).
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
    loss = get_loss(loss)
    batch = check_batch(mlp, params, x, y, loss, reduction=reduction, weights=weights)
    return _objective(mlp, loss, reduction, bool(train), params, batch.x, batch.targets, batch.weights, key)


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _objective(mlp: MLP, loss, reduction: str, train: bool, params, x, targets, weights, key) -> Array:
    return batch_loss(mlp, params, x, targets, weights, loss, reduction, key=key, train=train)[0]


def backprop(
    mlp: MLP, params: Params, x, y, loss="sse", *, reduction: str = "mean", weights=None, key=None, train: bool = False
) -> Backprop:
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
    loss = get_loss(loss)
    batch = check_batch(mlp, params, x, y, loss, reduction=reduction, weights=weights)
    result = _backprop(mlp, loss, reduction, bool(train), params, batch.x, batch.targets, batch.weights, key)
    if jnp.ndim(x) == 1:
        return result._replace(sensitivities=tuple(si[0] for si in result.sensitivities))
    return result


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _backprop(mlp: MLP, loss, reduction: str, train: bool, params, x, targets, weights, key) -> Backprop:
    trace = mlp.trace(params, x, key=key, train=train)
    value, s = output_terms(mlp, trace, targets, weights, loss, reduction)
    grads, sensitivities = backward(mlp, params, trace, s)
    return Backprop(grads, sensitivities, value, trace)


def autodiff_grad(
    mlp: MLP, params: Params, x, y, loss="sse", *, reduction: str = "mean", weights=None, key=None, train: bool = False
) -> Params:
    """``jax.grad`` of :func:`objective`: the reference the manual backprop is checked against.

    Example:
        >>> import jax.numpy as jnp
        >>> from funcmlp.core.params import params_from_arrays
        >>> mlp = MLP((2, 2, 1), ["relu", "identity"])
        >>> p = params_from_arrays([([[1, 1], [1, 1]], [0, 0]), ([[1], [1]], [0])])
        >>> autodiff_grad(mlp, p, jnp.array([1.0, 1.0]), 0.0, "sse")[1].W.ravel().tolist()
        [16.0, 16.0]
    """
    loss = get_loss(loss)
    batch = check_batch(mlp, params, x, y, loss, reduction=reduction, weights=weights)
    return _autodiff_grad(mlp, loss, reduction, bool(train), params, batch.x, batch.targets, batch.weights, key)


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _autodiff_grad(mlp: MLP, loss, reduction: str, train: bool, params, x, targets, weights, key) -> Params:
    return jax.grad(lambda p: _objective(mlp, loss, reduction, train, p, x, targets, weights, key))(params)
