"""One epoch, compiled: ``run_epoch(mlp, state, data, config) -> (state, metrics)``.

Contract::

    TrainState(params, opt_state, key)        what an epoch changes (a pytree)
    TrainData(x, targets, classes, weights)    checked data: x (N', d_0), targets (N', d_L), classes (N',) or None,
                                               sample weights (N',) or None; rows = N, the real rows
                                               (N' >= N with a mesh)
    EpochMetrics(loss, accuracy, first_bad, bad_layer, skipped)   device scalars

The shuffled mini-batches run by ``lax.scan``: the per-batch loop never returns to Python.
Pure: the data are checked before (:func:`funcmlp.training.loop.prepare_data`), the
configuration when it was built. Compiled once per (network, configuration, data shapes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax

from funcmlp.core.backward import gradient_fn
from funcmlp.core.model import MLP
from funcmlp.core.params import Params
from funcmlp.core.reduction import weight_divisor
from funcmlp.evaluation import class_threshold, classes_of_outputs
from funcmlp.training.batching import epoch_batches, iterations_per_epoch
from funcmlp.training.config import TrainConfig
from funcmlp.training.parallel import pad_batches, sharded_gradient_fn, shards


class TrainState(NamedTuple):
    """What an epoch changes: the params, the optimizer state and the key the next epoch starts from."""

    params: Params
    opt_state: Any
    key: jax.Array


@partial(jax.tree_util.register_dataclass, data_fields=["x", "targets", "classes", "weights"], meta_fields=["rows"])
@dataclass(frozen=True)
class TrainData:
    """Checked training data (a pytree; ``rows``, the number of real examples, is static)."""

    x: jax.Array
    targets: jax.Array
    classes: jax.Array | None
    weights: jax.Array | None
    rows: int


class EpochMetrics(NamedTuple):
    """An epoch's numbers, on the device: the training loss and accuracy (NaN without classes),
    the first step whose loss or gradient was not finite (0: none), its first non-finite layer
    (0: only the loss), and the number of such steps."""

    loss: jax.Array
    accuracy: jax.Array
    first_bad: jax.Array
    bad_layer: jax.Array
    skipped: jax.Array


def _finite_layers(grads) -> jax.Array:
    """``(depth,)`` bools: every entry of layer k's dW and db finite."""
    return jnp.stack([jnp.all(jnp.isfinite(layer.W)) & jnp.all(jnp.isfinite(layer.b)) for layer in grads])


@partial(jax.jit, static_argnums=(0, 3))
def run_epoch(mlp: MLP, state: TrainState, data: TrainData, config: TrainConfig) -> tuple[TrainState, EpochMetrics]:
    """One epoch in one compiled call.

    The epoch's training loss is the exact mean (or sum) over the epoch's examples of the losses
    each step computed before its update (weighted by the real examples of each batch and by
    the sample weights), the accuracy the (weighted) fraction of those examples the network
    classified right at that moment. A step whose loss or gradient is not finite changes
    nothing; with ``on_nonfinite="stop"`` no later step of the epoch does either. With a mesh
    each batch is split over its data axis (:mod:`funcmlp.training.parallel`).

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> mlp = MLP((2, 1), "identity")
        >>> config = TrainConfig(loss="sse", optimizer=optax.sgd(0.1), batch_size=2)
        >>> params = mlp.init(jax.random.key(0))
        >>> state = TrainState(params, config.optimizer.init(params), jax.random.key(1))
        >>> data = TrainData(jnp.ones((4, 2)), jnp.zeros((4, 1)), None, None, rows=4)
        >>> state, metrics = run_epoch(mlp, state, data, config)
        >>> metrics.loss.shape, int(metrics.first_bad)
        ((), 0)
    """
    x, targets, classes = data.x, data.targets, data.classes
    steps = iterations_per_epoch(data.rows, config.batch_size, drop_last=config.drop_last)
    threshold = class_threshold(mlp, config.loss, config.classification)
    if config.mesh is None:
        value_and_grad = gradient_fn(mlp, config.loss, config.reduction, config.gradient)
    else:
        local = gradient_fn(mlp, config.loss, "sum", config.gradient)
        value_and_grad = sharded_gradient_fn(local, config.mesh, config.reduction)
    update = optax.with_extra_args_support(config.optimizer).update
    stop_at_first = config.on_nonfinite == "stop"

    def step(carry, batch):
        params, opt_state, first_bad, bad_layer, skipped = carry
        indices, weights, dropout_key, number = batch
        value, grads, outputs = value_and_grad(params, x[indices], targets[indices], weights, dropout_key)
        layers_ok = _finite_layers(grads)
        finite = jnp.isfinite(value) & jnp.all(layers_ok)
        apply = finite & (first_bad == 0) if stop_at_first else finite
        # extra argument for the optimizers that take one (optax's GradientTransformationExtraArgs): the batch's weight
        updates, new_state = update(grads, opt_state, params, batch_weight=jnp.sum(weights))
        keep = lambda new, old: jnp.where(apply, new, old)
        params = jax.tree_util.tree_map(keep, optax.apply_updates(params, updates), params)
        opt_state = jax.tree_util.tree_map(keep, new_state, opt_state)
        first_layer = jnp.where(jnp.all(layers_ok), 0, jnp.argmin(layers_ok).astype(jnp.int32) + 1)  # the first False
        bad_layer = jnp.where((first_bad == 0) & ~finite, first_layer, bad_layer)
        first_bad = jnp.where((first_bad == 0) & ~finite, number, first_bad)
        real = jnp.where(apply, jnp.sum(weights), 0)
        if classes is None:
            correct = jnp.zeros((), x.dtype)
        else:
            correct = jnp.sum(weights * (classes_of_outputs(mlp, outputs, threshold) == classes[indices]))
        carry = (params, opt_state, first_bad, bad_layer, skipped + (~finite).astype(jnp.int32))
        return carry, (jnp.where(apply, value, 0), real, jnp.where(apply, correct, 0))

    key, epoch_key = jax.random.split(state.key)
    shuffle_key, dropout_key = jax.random.split(epoch_key)
    indices, weights = epoch_batches(
        shuffle_key, data.rows, config.batch_size, drop_last=config.drop_last, shuffle=config.shuffle
    )
    if config.mesh is not None:
        indices, weights = pad_batches(indices, weights, shards(config.mesh))
    weights = weights.astype(x.dtype)
    if data.weights is not None:
        weights = weights * data.weights[indices]
    zero = jnp.zeros((), jnp.int32)
    batches = (indices, weights, jax.random.split(dropout_key, steps), jnp.arange(1, steps + 1, dtype=jnp.int32))
    (params, opt_state, first_bad, bad_layer, skipped), (values, real, correct) = jax.lax.scan(
        step, (state.params, state.opt_state, zero, zero, zero), batches
    )
    seen = weight_divisor(jnp.sum(real))  # the epoch's example weight
    loss = jnp.sum(values * real) / seen if config.reduction == "mean" else jnp.sum(values)
    accuracy = jnp.nan if classes is None else jnp.sum(correct) / seen
    return TrainState(params, opt_state, key), EpochMetrics(loss, accuracy, first_bad, bad_layer, skipped)
