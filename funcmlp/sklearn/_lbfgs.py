"""scikit-learn's ``solver="lbfgs"`` on optax: ``optax.lbfgs`` (memory 10) with its zoom line
search (strong Wolfe conditions), on the full batch, the gradient from funcmlp's manual backprop
(a ``jax.custom_vjp``, so that the line search differentiates through it) or ``jax.grad``.

The objective is scikit-learn's: the mean loss over the samples (weighted), times ``scale``
(``1 / n_outputs`` for the regressor's squared error), plus ``alpha / 2 sum_k ||W^k||^2 / n``
with ``n`` the sum of the sample weights. The stopping rules are scipy's L-BFGS-B's, which
scikit-learn calls: the largest gradient entry at most ``tol`` (its ``gtol``), or a relative
decrease of at most ``FTOL`` (its default ``ftol``): converged; ``max_iter`` iterations or
``max_fun`` evaluations of the loss: stopped, with a ``ConvergenceWarning`` from the caller.

Example:
    >>> import jax, jax.numpy as jnp
    >>> from funcmlp import MLP, get_loss
    >>> mlp = MLP((2, 8, 1), "tanh")
    >>> x = jnp.linspace(-1, 1, 40).reshape(20, 2); y = jnp.sin(3 * x[:, :1])
    >>> result = minimize(mlp, get_loss("half_sse"), "manual", mlp.init(jax.random.key(0)), x, y, jnp.ones(20),
    ...                   alpha=0.0, scale=1.0, max_iter=200, max_fun=15000, tol=1e-6)
    >>> result.status in ("converged", "max_iter"), result.value < 1e-2
    (True, True)
"""

from __future__ import annotations

import math
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from funcmlp.core.backward import batch_loss, gradient_fn
from funcmlp.core.params import Layer

FTOL = 2.220446049250313e-09
"""scipy's L-BFGS-B default ``ftol``: stop when ``(f_k - f_{k+1}) / max(|f_k|, |f_{k+1}|, 1) <= FTOL``."""
MEMORY = 10
"""Pairs of past steps L-BFGS keeps (scipy's default ``maxcor``; optax's default too)."""
LINESEARCH_STEPS = 20
"""At most this many evaluations in one line search (scipy's ``maxls``)."""


class Minimized(NamedTuple):
    """What :func:`minimize` found: the ``params``, the objective's ``value`` there, the
    ``iterations`` and loss ``evaluations`` it took, and its ``status``: ``"converged"``,
    ``"max_iter"``, ``"max_fun"``, ``"no decrease"`` (the line search found none), or ``"not
    finite"`` (the objective became NaN or infinite)."""

    params: tuple
    value: float
    iterations: int
    evaluations: int
    status: str


def _objective(mlp, loss, gradient, scale, alpha, x, targets, weights):
    """``params -> scikit-learn's objective``, differentiable; with ``gradient="manual"`` its
    derivative is the sensitivity recursion's (``jax.custom_vjp``)."""
    divisor = jnp.sum(weights)

    def penalty(params):
        return 0.5 * alpha * sum(jnp.sum(layer.W**2) for layer in params) / divisor

    def value(params):
        return scale * batch_loss(mlp, params, x, targets, weights, loss, "mean", train=False)[0] + penalty(params)

    if gradient != "manual":
        return value

    step = gradient_fn(mlp, loss, "mean", "manual")

    @jax.custom_vjp
    def manual(params):
        return value(params)

    def forward(params):
        loss_value, grads, _ = step(params, x, targets, weights, None)
        grads = tuple(
            Layer(scale * g.W + alpha * p.W / divisor, scale * g.b) for g, p in zip(grads, params, strict=True)
        )
        return scale * loss_value + penalty(params), grads

    manual.defvjp(forward, lambda grads, cotangent: (jax.tree_util.tree_map(lambda g: cotangent * g, grads),))
    return manual


@partial(jax.jit, static_argnums=(0, 1, 2))
def _step(mlp, loss, gradient, scale, alpha, params, state, x, targets, weights):
    """One L-BFGS iteration: ``(params, state, value before, value after, largest gradient entry
    after, evaluations, whether the line search failed to decrease the loss)``."""
    objective = _objective(mlp, loss, gradient, scale, alpha, x, targets, weights)
    optimizer = _optimizer()
    value, grad = optax.value_and_grad_from_state(objective)(params, state=state)
    updates, state = optimizer.update(grad, state, params, value=value, grad=grad, value_fn=objective)
    params = optax.apply_updates(params, updates)
    after, grad_after = optax.tree.get(state, "value"), optax.tree.get(state, "grad")
    largest = jnp.max(jnp.stack([jnp.max(jnp.abs(leaf)) for leaf in jax.tree_util.tree_leaves(grad_after)]))
    info = optax.tree.get(state, "info")
    return params, state, value, after, largest, info.num_linesearch_steps, info.decrease_error > 0


def _optimizer():
    return optax.lbfgs(
        memory_size=MEMORY,
        # approx_dec_rtol=None: scipy's strict sufficient decrease (optax's default accepts a rise of 1e-6 |f|)
        linesearch=optax.scale_by_zoom_linesearch(
            max_linesearch_steps=LINESEARCH_STEPS, initial_guess_strategy="one", approx_dec_rtol=None
        ),
    )


def minimize(mlp, loss, gradient, params, x, targets, weights, *, alpha, scale, max_iter, max_fun, tol) -> Minimized:
    """Minimise scikit-learn's objective from ``params`` on the whole of ``x`` ``(N, d_0)``,
    ``targets`` ``(N, d_L)`` (checked), ``weights`` ``(N,)``; see the module's docstring."""
    # the state's scalars strongly typed, as every update returns them: one compilation, not two
    state = jax.tree_util.tree_map(lambda a: jnp.asarray(a, a.dtype), _optimizer().init(params))
    evaluations, value = 1, None  # the first iteration evaluates the loss at the start
    alpha, scale = jnp.asarray(alpha, x.dtype), jnp.asarray(scale, x.dtype)
    for iteration in range(1, max_iter + 1):
        previous = params
        params, state, before, after, largest, steps, failed = _step(
            mlp, loss, gradient, scale, alpha, params, state, x, targets, weights
        )
        evaluations += int(steps)
        before, value, largest = float(before), float(after), float(largest)  # one transfer each, then host numbers
        if not (math.isfinite(value) and math.isfinite(largest)):
            return Minimized(params, value, iteration, evaluations, "not finite")
        if largest <= tol:
            return Minimized(params, value, iteration, evaluations, "converged")
        if bool(failed) and value > before:  # scipy: abnormal termination in the line search; the step is undone
            return Minimized(previous, before, iteration, evaluations, "no decrease")
        if before - value <= FTOL * max(abs(before), abs(value), 1.0):
            return Minimized(params, value, iteration, evaluations, "converged")
        if evaluations >= max_fun:
            return Minimized(params, value, iteration, evaluations, "max_fun")
    return Minimized(params, value, max_iter, evaluations, "max_iter")


def fit_lbfgs(estimator, mlp, params, X, Y, sample_weight):
    """``estimator.fit`` with ``solver="lbfgs"``: scikit-learn's attributes (``n_iter_``, ``loss_``,
    ``coefs_``, ``intercepts_``) from :func:`minimize`; a ``ConvergenceWarning`` where it stopped
    at ``max_iter`` or ``max_fun``, a ``ValueError`` where the loss became NaN or infinite."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning

    from funcmlp.checks import check_data
    from funcmlp.registry.losses import get_loss

    loss = get_loss(estimator.funcmlp_loss_)
    batch = check_data(mlp, params, X, Y, loss, weights=sample_weight)
    result = minimize(
        mlp,
        loss,
        estimator.gradient,
        params,
        batch.x,
        batch.targets,
        batch.weights,
        alpha=float(estimator.alpha),
        scale=estimator._loss_scale(),
        max_iter=int(estimator.max_iter),
        max_fun=int(estimator.max_fun),
        tol=float(estimator.tol),
    )
    if result.status == "not finite":
        raise ValueError(
            f"solver='lbfgs': the loss became {result.value} at iteration {result.iterations}; scale the inputs "
            "(e.g. sklearn.preprocessing.StandardScaler) or raise alpha"
        )
    estimator.n_iter_ = result.iterations
    estimator.loss_ = result.value + estimator._loss_offset
    estimator.coefs_, estimator.intercepts_ = estimator._arrays(result.params)
    estimator.learning_rate_ = None  # no rate: the line search takes each step's length
    estimator._opt_state = None  # a later partial_fit starts a new optimizer state, not one from before this fit
    if result.status != "converged":
        why = {
            "max_iter": f"it reached max_iter={estimator.max_iter}; increase it",
            "max_fun": f"it reached max_fun={estimator.max_fun}; increase it",
            "no decrease": "the line search found no step that decreases the loss; scale the data",
        }[result.status]
        warnings.warn(
            f"lbfgs failed to converge after {result.iterations} iteration(s) and {result.evaluations} evaluations "
            f"of the loss: {why}",
            ConvergenceWarning,
            stacklevel=4,
        )
    return estimator
