"""scikit-learn's optimizers as optax transformations: its SGD (the rate applied before the
momentum trace, kept in the state where the estimator sets it between epochs), its Adam
(``epsilon`` added to sqrt(v) before the bias correction) and its L2 penalty ``alpha W / B``."""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from funcmlp.core.params import Layer
from funcmlp.core.reduction import weight_divisor
from funcmlp.training.optimizers import make_optimizer


@jax.jit
def _squared_weights(params) -> jax.Array:
    """sum_k ||W^k||^2 (the biases left out), for the penalty in ``loss_``."""
    return sum(jnp.sum(layer.W**2) for layer in params)


def _l2_penalty(alpha: float) -> optax.GradientTransformationExtraArgs:
    """scikit-learn's L2 term: ``alpha W / B`` added to each weight's gradient (not the biases'),
    ``B`` the batch's sum of sample weights (its row count without them), which
    :class:`funcmlp.Trainer` passes to the optimizer as ``batch_weight``."""

    def update(updates, state, params, *, batch_weight, **extra_args):
        scale = alpha / weight_divisor(batch_weight)
        return tuple(Layer(u.W + scale * p.W, u.b) for u, p in zip(updates, params, strict=True)), state

    return optax.GradientTransformationExtraArgs(lambda params: optax.EmptyState(), update)


class _AdamState(NamedTuple):
    count: jax.Array
    mu: Any
    nu: Any


def _scikit_learn_adam(rate: float, beta_1: float, beta_2: float, epsilon: float) -> optax.GradientTransformation:
    """scikit-learn's Adam: the bias correction folded into the rate and ``epsilon`` added to
    sqrt(v) before it, ``step = -rate sqrt(1 - beta_2^t) / (1 - beta_1^t) m / (sqrt(v) + epsilon)``
    (``optax.adam`` adds ``epsilon`` to the corrected sqrt(v_hat), which differs by about
    ``epsilon`` relative to sqrt(v)). Moments m, v as in optax."""

    def init(params):
        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        return _AdamState(jnp.zeros((), jnp.int32), zeros, zeros)

    def update(grads, state, params=None):
        count = state.count + 1
        mu = jax.tree_util.tree_map(lambda m, g: beta_1 * m + (1 - beta_1) * g, state.mu, grads)
        nu = jax.tree_util.tree_map(lambda v, g: beta_2 * v + (1 - beta_2) * g * g, state.nu, grads)
        t = count.astype(jax.tree_util.tree_leaves(grads)[0].dtype)
        step = rate * jnp.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        return jax.tree_util.tree_map(lambda m, v: -step * m / (jnp.sqrt(v) + epsilon), mu, nu), _AdamState(
            count, mu, nu
        )

    return optax.GradientTransformation(init, update)


@functools.lru_cache(maxsize=128)
def _optimizer(
    solver: str,
    rate: float,
    momentum: float,
    nesterov: bool,
    beta_1: float,
    beta_2: float,
    epsilon: float,
    alpha: float,
    dtype: str,
) -> optax.GradientTransformation:
    """The optax chain of an estimator's hyper-parameters, every number of them kept in the
    optimizer state (``optax.inject_hyperparams``, in the params' ``dtype``), not in the program:
    estimators that differ only in them (a grid search over ``alpha``, ``learning_rate_init``,
    ``momentum``...) run one compiled epoch. One object per distinct set, so that a refit finds
    that epoch by the object, without tracing it again (:func:`funcmlp.training.reuse.same_optimizer`)."""
    inject = functools.partial(optax.inject_hyperparams, hyperparam_dtype=jnp.dtype(dtype))
    if solver == "sgd":
        # scikit-learn's SGD, v <- momentum v - rate g, the step v (Nesterov: momentum v - rate g): the rate is
        # applied before the momentum trace and kept in the state, where the estimator sets it between epochs
        # (invscaling, adaptive) as scikit-learn does
        parts = [inject(optax.scale_by_learning_rate)(learning_rate=rate)]
        if momentum:
            parts.append(inject(optax.trace, static_args="nesterov")(decay=momentum, nesterov=nesterov))
        base = optax.chain(*parts)
    elif solver == "adam":
        base = inject(_scikit_learn_adam)(rate=rate, beta_1=beta_1, beta_2=beta_2, epsilon=epsilon)
    else:
        base = inject(make_optimizer, static_args="name")(
            name=solver, learning_rate=rate, momentum=momentum, b1=beta_1, b2=beta_2
        )
    return optax.chain(inject(_l2_penalty)(alpha=alpha), base)


def _is_rate_state(node) -> bool:
    """The state of ``optax.inject_hyperparams`` (its class differs between optax versions)."""
    return isinstance(node, tuple) and hasattr(node, "hyperparams") and hasattr(node, "inner_state")


def _is_learning_rate_state(node) -> bool:
    """The state of the SGD rate's ``optax.inject_hyperparams`` (the others hold alpha, the momentum...)."""
    return _is_rate_state(node) and "learning_rate" in node.hyperparams


def _rate(opt_state) -> float:
    """The SGD rate kept in an optimizer state of :func:`_optimizer`."""
    leaves = jax.tree_util.tree_leaves(opt_state, is_leaf=_is_rate_state)
    (node,) = [n for n in leaves if _is_learning_rate_state(n)]
    return float(node.hyperparams["learning_rate"])


def _with_rate(opt_state, rate: float):
    """The optimizer state with the SGD rate set to ``rate`` (same dtype: nothing recompiles)."""

    def set_rate(node):
        if not _is_learning_rate_state(node):
            return node
        old = jnp.asarray(node.hyperparams["learning_rate"])
        return node._replace(hyperparams={**node.hyperparams, "learning_rate": jnp.asarray(rate, old.dtype)})

    return jax.tree_util.tree_map(set_rate, opt_state, is_leaf=_is_rate_state)
