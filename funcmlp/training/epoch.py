"""One epoch, compiled: ``run_epoch(mlp, state, draw, data, config) -> (state, metrics)``.

Contract::

    TrainState(params, opt_state, key)        what an epoch changes (a pytree)
    EpochDraw(next_key_data, order, dropout_key_data)   the epoch's randomness, drawn on the host
                                               (:func:`funcmlp.training.batching.epoch_order`)
    TrainData(x, targets, classes, weights, rows)   checked data padded to a size bucket: x (S, d_0),
                                               targets (S, d_L), classes (S,) or None, weights (S,): the
                                               sample weights (1 without), 0 on padding; rows, the real rows
                                               N <= S, a traced number
    EpochMetrics(loss, accuracy, first_bad, bad_layer, skipped, clipped)   device scalars

The ``ceil(N / B)`` mini-batches run in one ``lax.fori_loop``: the per-batch loop never returns to
Python. Pure: the data are checked before (:func:`funcmlp.training.loop.prepare_data`), the
configuration when it was built. Compiled once per (network, configuration, padded data shapes):
data of another number of rows in the same bucket, and another epoch's draw, reuse it.
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
from funcmlp.training.batching import EpochDraw, key_like
from funcmlp.training.config import TrainConfig
from funcmlp.training.parallel import padded_size, sharded_gradient_fn, shards
from funcmlp.training.private import add_noise, clipped_gradient_fn


class TrainState(NamedTuple):
    """What an epoch changes: the params, the optimizer state and the key the next epoch starts from."""

    params: Params
    opt_state: Any
    key: jax.Array


@partial(jax.tree_util.register_dataclass, data_fields=["x", "targets", "classes", "weights", "rows"], meta_fields=[])
@dataclass(frozen=True)
class TrainData:
    """Checked data padded to a size bucket (a pytree): ``rows`` real examples first, then
    padding rows of weight 0 that no batch reads."""

    x: jax.Array
    targets: jax.Array
    classes: jax.Array | None
    weights: jax.Array
    rows: jax.Array


class EpochMetrics(NamedTuple):
    """An epoch's numbers, on the device: the training loss and accuracy (NaN without classes),
    the first step whose loss, gradient or updated params were not finite (0: none), its first
    non-finite layer (``k``: the gradient of layer k, ``-k``: the updated params of layer k while
    every gradient was finite, 0: only the loss), and the number of such steps (skipped; 0 under
    ``on_nonfinite="stop"``, whose epoch with a bad step is discarded, its loss and accuracy too), and with
    DP-SGD the fraction of the epoch's examples whose gradient was clipped (NaN without DP-SGD)."""

    loss: jax.Array
    accuracy: jax.Array
    first_bad: jax.Array
    bad_layer: jax.Array
    skipped: jax.Array
    clipped: jax.Array


def _first_nonfinite_layer(layers) -> jax.Array:
    """The first layer ``k`` (1-based) whose W or b holds a NaN or an infinity, 0 when none does.

    Each array is read by one reduction, ``max |x|`` (NaN or infinite exactly when an entry is,
    never an overflow; XLA's fast-math keeps it, where it would fold ``sum(x * 0)`` to 0).
    ``isfinite`` then ``all`` compiled to three kernels per array (35 of the 84 of a
    one-hidden-layer Adam epoch, about 0.2 s of its compilation)."""
    bad = jnp.stack(
        [~jnp.isfinite(jnp.maximum(jnp.max(jnp.abs(layer.W)), jnp.max(jnp.abs(layer.b)))) for layer in layers]
    )
    return jnp.where(jnp.any(bad), jnp.argmax(bad) + 1, 0).astype(jnp.int32)


@partial(jax.jit, static_argnums=(0, 4), static_argnames=("checked",))
def run_epoch(
    mlp: MLP, state: TrainState, draw: EpochDraw, data: TrainData, config: TrainConfig, *, checked: bool = True
) -> tuple[TrainState, EpochMetrics]:
    """One epoch in one compiled call, its batches taken in ``draw.order``.

    The epoch's training loss is the exact mean (or sum) over the epoch's examples of the losses
    each step computed before its update (weighted by the real examples of each batch and by
    the sample weights), the accuracy the (weighted) fraction of those examples the network
    classified right at that moment. ``checked``: the first step whose loss or updated params
    are not finite is recorded (``first_bad``, ``bad_layer``: the gradient's layer, else the
    update's); with ``on_nonfinite="skip"`` such steps change nothing and are counted
    (``skipped``), with ``"stop"`` only ``first_bad`` and ``bad_layer`` of such an epoch mean
    anything (its loss, accuracy and state are discarded: the trainer raises and keeps the state
    the epoch started from).
    Not ``checked`` (``"stop"`` only: the trainer's first run of each epoch): only the steps'
    losses and the epoch's final params are read; ``first_bad`` is then the first step whose
    loss was not finite (``bad_layer`` 0), or the last step when only the final params are not
    (``bad_layer`` minus their first such layer; a non-finite update makes the next loss
    non-finite): the trainer runs such an epoch
    again ``checked`` to name the step and the layer. (The per-step checks are a quarter of a
    small network's compiled step: its compilation and its running time.) With a mesh
    each batch is split over its data axis (:mod:`funcmlp.training.parallel`). With
    ``config.dp_sgd`` each step's gradient is DP-SGD's (:mod:`funcmlp.training.private`), its noise
    drawn from ``state.key`` and the step's number, and ``clipped`` is the fraction of the epoch's
    examples whose gradient was clipped.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> from funcmlp.training.batching import epoch_order
        >>> mlp = MLP((2, 1), "identity")
        >>> config = TrainConfig(loss="sse", optimizer=optax.sgd(0.1), batch_size=2)
        >>> params = mlp.init(jax.random.key(0))
        >>> state = TrainState(params, config.optimizer.init(params), jax.random.key(1))
        >>> data = TrainData(jnp.ones((64, 2)), jnp.zeros((64, 1)), None, jnp.ones(64), jnp.array(4))
        >>> state, metrics = run_epoch(mlp, state, epoch_order(state.key, 4, 64, shuffle=True), data, config)
        >>> metrics.loss.shape, int(metrics.first_bad)
        ((), 0)
    """
    x, targets, classes = data.x, data.targets, data.classes
    # a batch larger than the data (padded to its size bucket) is the whole data: laid out as such, it costs the data
    size = x.shape[0]
    batch_size = min(config.batch_size, size)
    threshold = class_threshold(mlp, config.loss, config.classification)
    private = config.dp_sgd  # DP-SGD (funcmlp.training.private): clipped gradients, their count, noise

    def local_gradient(reduction):
        if private is None:
            return gradient_fn(mlp, config.loss, reduction, config.gradient)
        return clipped_gradient_fn(mlp, config.loss, reduction, private.max_norm)

    if config.mesh is None:
        value_and_grad = local_gradient(config.reduction)
        columns = batch_size
    else:
        value_and_grad = sharded_gradient_fn(
            local_gradient("sum"),
            config.mesh,
            config.reduction,
            sums=int(private is not None),
            dropout_masks=lambda key, dtype: mlp.dropout_masks(key, batch_size, dtype),  # the real rows': one device's
        )
        columns = padded_size(batch_size, shards(config.mesh))  # each batch padded with weight-0 examples to split
    update = optax.with_extra_args_support(config.optimizer).update
    stop_at_first = config.on_nonfinite == "stop"
    if not (checked or stop_at_first):
        raise ValueError("on_nonfinite='skip' needs every step checked: run_epoch(..., checked=True)")
    dropout = any(mlp.dropout)
    dropout_key = key_like(state.key, draw.dropout_key_data)
    rows = data.rows.astype(jnp.int32)
    total = jnp.promote_types(x.dtype, jnp.float32)  # the epoch's sums: float16 would stall or overflow over many steps
    steps = rows // batch_size if config.drop_last else (rows + batch_size - 1) // batch_size
    # the epoch's batches (most, columns) of row numbers, their weights and classes, laid out once before the loop: a
    # partial batch's missing examples (and a sharded batch's padding columns) are row 0 at weight 0
    most = -(-size // batch_size)  # the batches of a full bucket
    position = jnp.arange(most)[:, None] * batch_size + jnp.arange(columns)[None, :]
    real = (jnp.arange(columns) < batch_size)[None, :] & (position < rows)
    batches = jnp.pad(draw.order, (0, most * batch_size - size)).reshape(most, batch_size)
    batches = jnp.where(real, jnp.pad(batches, ((0, 0), (0, columns - batch_size))), 0)
    batch_weights = jnp.where(real, data.weights[batches], 0)
    batch_classes = None if classes is None else classes[batches]

    def step(number, carry):
        params, opt_state, first_bad, bad_layer, skipped, loss_sum, weight_sum, correct_sum, clipped_sum = carry
        indices, weights = batches[number], batch_weights[number]
        key = jax.random.fold_in(dropout_key, number) if dropout else None
        value, grads, outputs, *clipped = value_and_grad(params, x[indices], targets[indices], weights, key)
        batch_weight = jnp.sum(weights)
        if private is not None:  # the noise of step `number`, drawn from the epoch's key; the mean's over B real
            scale = 1 / weight_divisor(batch_weight) if config.reduction == "mean" else 1
            grads = add_noise(grads, private, state.key, number, scale)
        # extra argument for the optimizers that take one (optax's GradientTransformationExtraArgs): the batch's weight
        updates, new_state = update(grads, opt_state, params, batch_weight=batch_weight)
        new_params = optax.apply_updates(params, updates)
        if checked:  # a step goes bad when its loss or its new params do; the gradient names the cause
            bad_new = _first_nonfinite_layer(new_params)
            bad_gradient = _first_nonfinite_layer(grads)  # (one the optimizer dropped leaves the params finite)
            bad_layer_now = jnp.where(bad_new == 0, 0, jnp.where(bad_gradient != 0, bad_gradient, -bad_new))
        else:  # only the loss: an update that is not finite shows in the next step's loss, or in the final params
            bad_new = bad_layer_now = jnp.zeros((), jnp.int32)
        finite = jnp.isfinite(value) & (bad_new == 0)
        if stop_at_first:  # the trainer raises and keeps the epoch's starting state: no loss of a bad epoch is read
            applied = lambda amount: amount
            params, opt_state = new_params, new_state
        else:  # skip: the step changes nothing and counts nothing
            applied = lambda amount: jnp.where(finite, amount, 0)
            keep = lambda new, old: jnp.where(finite, new, old)
            params = jax.tree_util.tree_map(keep, new_params, params)
            opt_state = jax.tree_util.tree_map(keep, new_state, opt_state)
            skipped = skipped + (~finite).astype(jnp.int32)
        if checked:
            bad_layer = jnp.where((first_bad == 0) & ~finite, bad_layer_now, bad_layer)
        first_bad = jnp.where((first_bad == 0) & ~finite, number + 1, first_bad)
        value, batch_weight_sum = value.astype(total), batch_weight.astype(total)
        loss_sum = loss_sum + applied(value * batch_weight_sum if config.reduction == "mean" else value)
        weight_sum = weight_sum + applied(batch_weight_sum)
        if private is not None:
            clipped_sum = clipped_sum + applied(clipped[0].astype(total))
        if classes is not None:
            hits = classes_of_outputs(mlp, outputs, threshold) == batch_classes[number]
            correct_sum = correct_sum + applied(jnp.sum(weights.astype(total) * hits))
        return params, opt_state, first_bad, bad_layer, skipped, loss_sum, weight_sum, correct_sum, clipped_sum

    zero, nothing = jnp.zeros((), jnp.int32), jnp.zeros((), total)
    carry = (state.params, state.opt_state, zero, zero, zero, nothing, nothing, nothing, nothing)
    params, opt_state, first_bad, bad_layer, skipped, loss_sum, weight_sum, correct_sum, clipped_sum = (
        jax.lax.fori_loop(0, steps, step, carry)
    )
    if not checked:  # the last update, no step after it to show it: the final params read once
        bad_end = _first_nonfinite_layer(params)
        bad_layer = jnp.where((first_bad == 0) & (bad_end != 0), -bad_end, bad_layer)
        first_bad = jnp.where((first_bad == 0) & (bad_end != 0), steps, first_bad)
    seen = weight_divisor(weight_sum)  # the epoch's example weight
    loss = loss_sum / seen if config.reduction == "mean" else loss_sum
    accuracy = jnp.nan if classes is None else correct_sum / seen
    clipped = jnp.nan if private is None else clipped_sum / seen  # with 0/1 weights: of the epoch's examples
    if not stop_at_first:  # skip: an epoch whose every step was skipped measured nothing (it read 0 before)
        nothing_applied = (weight_sum == 0) & (skipped > 0)
        loss, accuracy = jnp.where(nothing_applied, jnp.nan, loss), jnp.where(nothing_applied, jnp.nan, accuracy)
        clipped = jnp.where(nothing_applied, jnp.nan, clipped)
    metrics = EpochMetrics(loss, accuracy, first_bad, bad_layer, skipped, clipped)
    return TrainState(params, opt_state, key_like(state.key, draw.next_key_data)), metrics
