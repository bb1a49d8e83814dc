"""Training with optax: ``fit``, ``evaluate``, ``predict``.

One epoch is one compiled call: the shuffled mini-batches of the epoch are run by
``lax.scan``, so the per-batch loop never returns to Python. The gradient comes from the
manual backprop (default) or from ``jax.grad``; in float64 both give the same trajectory.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcmlp.backprop import backprop, objective, prepare_targets
from funcmlp.batching import epoch_batches, iterations_per_epoch
from funcmlp.losses import BINARY_LOSSES, CLASS_LOSSES, get_loss
from funcmlp.model import MLP
from funcmlp.params import Params

GRADIENT_SOURCES = ("manual", "autodiff")
_SYMMETRIC_OUTPUTS = ("tanh", "symmetric_hardlimit")
_jit_objective = jax.jit(objective, static_argnums=(0, 4), static_argnames=("reduction", "train"))
_jit_apply = jax.jit(MLP.apply, static_argnums=0, static_argnames=("train",))


@dataclass
class History:
    """Per-epoch record of training. Accuracy lists are empty for regression.

    Example:
        >>> h = History()
        >>> h.train_loss.append(0.5); h.epoch_seconds.append(0.1)
        >>> h.rows()[0]["train_loss"]
        0.5
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)

    def rows(self) -> list[dict]:
        """One dict per epoch (for CSV/JSON)."""
        columns = {name: values for name, values in vars(self).items() if values}
        return [
            {"epoch": i + 1, **{name: values[i] for name, values in columns.items()}}
            for i in range(len(self.train_loss))
        ]


class Evaluation(NamedTuple):
    loss: float
    accuracy: float | None


def _thresholds(mlp: MLP, loss_name: str | None) -> tuple[float, float]:
    """(output threshold, target threshold) for one-output classification."""
    symmetric = mlp.activations[-1].name in _SYMMETRIC_OUTPUTS
    target = 0.0 if symmetric else 0.5
    output = 0.0 if symmetric or loss_name == "sigmoid_binary_cross_entropy" else 0.5
    return output, target


def predict(mlp: MLP, params: Params, x, *, loss=None) -> jax.Array:
    """Class predictions ``(batch,)``: argmax of the outputs, or for one output unit,
    1 where the output is above the midpoint (0.5 for outputs in [0, 1], 0 for tanh,
    symmetric hard limit and logits of ``sigmoid_binary_cross_entropy``).

    Example:
        >>> import jax
        >>> mlp = MLP((2, 3), "identity")
        >>> predict(mlp, mlp.init(jax.random.key(0)), jax.numpy.ones((4, 2))).shape
        (4,)
    """
    out = _jit_apply(mlp, params, jnp.atleast_2d(jnp.asarray(x)))
    loss_name = get_loss(loss).name if loss is not None else None
    if mlp.sizes[-1] == 1:
        return (out[:, 0] > _thresholds(mlp, loss_name)[0]).astype(jnp.int32)
    return jnp.argmax(out, axis=-1)


def _labels(mlp: MLP, y) -> jax.Array:
    y = jnp.asarray(y)
    if jnp.issubdtype(y.dtype, jnp.integer) and y.ndim == 1 and mlp.sizes[-1] > 1:
        return y
    if mlp.sizes[-1] == 1:
        return (y.reshape(-1) > _thresholds(mlp, None)[1]).astype(jnp.int32)
    return jnp.argmax(y, axis=-1)


def accuracy(mlp: MLP, params: Params, x, y, *, loss=None) -> float:
    """Fraction of examples whose predicted class equals the target class."""
    return float(jnp.mean(predict(mlp, params, x, loss=loss) == _labels(mlp, y)))


def evaluate(mlp: MLP, params: Params, x, y, loss, *, reduction: str = "mean", classification: bool | None = None) -> Evaluation:
    """Loss (no dropout) and, for classification, accuracy on a data set.

    Example:
        >>> import jax
        >>> mlp = MLP((2, 2), "identity")
        >>> ev = evaluate(mlp, mlp.init(jax.random.key(0)), jax.numpy.ones((3, 2)), jax.numpy.array([0, 1, 1]), "softmax_cross_entropy")
        >>> ev.accuracy is not None
        True
    """
    loss = get_loss(loss)
    value = float(_jit_objective(mlp, params, x, y, loss, reduction=reduction))
    if classification is None:
        classification = loss.name in CLASS_LOSSES | BINARY_LOSSES
    return Evaluation(value, accuracy(mlp, params, x, y, loss=loss) if classification else None)


def make_gradient_fn(mlp: MLP, loss, *, reduction: str = "mean", gradient: str = "manual") -> Callable:
    """``(params, x, y, weights, key) -> (loss, grads)`` from the manual backprop or ``jax.grad``.

    Dropout is on (``train=True``); ``key`` draws the masks.
    """
    loss = get_loss(loss)
    if gradient == "manual":
        def value_and_grad(params, x, y, weights, key):
            result = backprop(mlp, params, x, y, loss, reduction=reduction, weights=weights, key=key, train=True)
            return result.loss, result.grads
    elif gradient == "autodiff":
        def value_and_grad(params, x, y, weights, key):
            return jax.value_and_grad(lambda p: objective(mlp, p, x, y, loss, reduction=reduction, weights=weights, key=key, train=True))(params)
    else:
        raise ValueError(f"unknown gradient source {gradient!r}; expected one of {', '.join(GRADIENT_SOURCES)}")
    return value_and_grad


def fit(
    mlp: MLP,
    params: Params,
    data: tuple,
    *,
    loss,
    optimizer: optax.GradientTransformation,
    epochs: int,
    batch_size: int,
    key: jax.Array,
    validation: tuple | None = None,
    reduction: str = "mean",
    gradient: str = "manual",
    drop_last: bool = False,
    classification: bool | None = None,
    callback: Callable[[int, History], None] | None = None,
) -> tuple[Params, History]:
    """Train with mini-batch gradient descent driven by an optax optimizer.

    Args:
        mlp, params: the network and its initial parameters.
        data: ``(x, y)`` with ``x`` ``(N, d_0)``; ``y`` as for :func:`funcmlp.backprop`.
        loss: loss name.
        optimizer: any ``optax.GradientTransformation`` (see :mod:`funcmlp.optimizers`).
        epochs: passes over the data.
        batch_size: examples per step; ``ceil(N / B)`` steps per epoch.
        key: ``jax.random`` key for shuffling and dropout.
        validation: optional ``(x_val, y_val)`` evaluated after each epoch.
        reduction: batch reduction of the loss, ``"mean"`` or ``"sum"``.
        gradient: ``"manual"`` (the sensitivity recursion) or ``"autodiff"`` (``jax.grad``).
        drop_last: drop the partial last batch instead of keeping it.
        classification: record accuracy (default: for the cross-entropy losses).
        callback: called as ``callback(epoch, history)`` after each epoch (e.g. a progress bar).

    Returns:
        ``(params, history)``.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> x = jnp.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = jnp.array([0., 1., 1., 0.])
        >>> mlp = MLP((2, 8, 1), "tanh", output="sigmoid")
        >>> params, history = fit(mlp, mlp.init(jax.random.key(0)), (x, y), loss="binary_cross_entropy",
        ...                       optimizer=optax.adam(0.05), epochs=300, batch_size=4, key=jax.random.key(1))
        >>> history.train_accuracy[-1]
        1.0
    """
    loss = get_loss(loss)
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    x = mlp.check_inputs(data[0])
    if x.ndim != 2:
        raise ValueError(f"training inputs must be a batch (N, {mlp.sizes[0]}), got shape {tuple(x.shape)}")
    n = x.shape[0]
    y = prepare_targets(mlp, loss, data[1], n, x.dtype)
    mlp.check_params(params)
    steps = iterations_per_epoch(n, batch_size, drop_last=drop_last)
    if classification is None:
        classification = loss.name in CLASS_LOSSES | BINARY_LOSSES
    value_and_grad = make_gradient_fn(mlp, loss, reduction=reduction, gradient=gradient)

    @jax.jit
    def run_epoch(params, opt_state, x_all, y_all, epoch_key):
        def step(carry, batch):
            params, opt_state = carry
            indices, weights, dropout_key = batch
            value, grads = value_and_grad(params, x_all[indices], y_all[indices], weights, dropout_key)
            updates, opt_state = optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), value

        shuffle_key, dropout_key = jax.random.split(epoch_key)
        indices, weights = epoch_batches(shuffle_key, n, batch_size, drop_last=drop_last)
        batches = (indices, weights, jax.random.split(dropout_key, steps))
        (params, opt_state), values = jax.lax.scan(step, (params, opt_state), batches)
        return params, opt_state, values

    opt_state = optimizer.init(params)
    history = History()
    for epoch in range(1, epochs + 1):
        key, epoch_key = jax.random.split(key)
        start = time.perf_counter()
        params, opt_state, _ = run_epoch(params, opt_state, x, y, epoch_key)
        jax.block_until_ready(params)
        history.epoch_seconds.append(time.perf_counter() - start)
        train = evaluate(mlp, params, x, y, loss, reduction=reduction, classification=classification)
        history.train_loss.append(train.loss)
        if classification:
            history.train_accuracy.append(train.accuracy)
        if validation is not None:
            val = evaluate(mlp, params, validation[0], validation[1], loss, reduction=reduction, classification=classification)
            history.val_loss.append(val.loss)
            if classification:
                history.val_accuracy.append(val.accuracy)
        if not np.isfinite(train.loss):
            raise FloatingPointError(
                f"training diverged at epoch {epoch}: loss is {train.loss}; lower the learning rate or check the data"
            )
        if callback is not None:
            callback(epoch, history)
    return params, history
