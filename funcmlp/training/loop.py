"""Training with optax: ``fit``, ``evaluate``, ``predict``.

One epoch is one compiled call: the shuffled mini-batches of the epoch are run by
``lax.scan``, so the per-batch loop never returns to Python. The gradient comes from the
manual backprop (default) or from ``jax.grad``; in float64 both give the same trajectory.
"""

from __future__ import annotations

import dataclasses
import os
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Callable, Iterator, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcmlp.core.backprop import backprop, forward_and_output
from funcmlp.training.batching import epoch_batches, iterations_per_epoch
from funcmlp.registry.activations import is_concrete
from funcmlp.registry.losses import check_labels, check_reduction, get_loss, prepare_targets, prepare_weights, weight_divisor
from funcmlp.core.model import MLP
from funcmlp.training.parallel import pad_batches, replicate, resolve_mesh, shard_rows, sharded_gradient_fn, shards
from funcmlp.core.params import Params
from funcmlp.io.training_state import TrainingState, load_state, save_state, state_path

GRADIENT_SOURCES = ("manual", "autodiff")
_jit_apply = jax.jit(MLP.apply, static_argnums=0, static_argnames=("train",))


@dataclass
class History:
    """Per-epoch record of training. Accuracy lists are empty for regression.

    ``train_loss`` / ``train_accuracy`` are the epoch's own: over its examples, each as the
    step that used it found it before its update (with dropout, if any), as Keras and
    PyTorch loops report; ``val_*`` are measured after the epoch without dropout.

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
    skipped_steps: list[int] = field(default_factory=list)
    best_epoch: int = 0  # with early stopping: the epoch whose params fit returned

    def rows(self) -> list[dict]:
        """One dict per epoch (for CSV/JSON)."""
        columns = {name: values for name, values in vars(self).items() if isinstance(values, list) and values}
        return [
            {"epoch": i + 1, **{name: values[i] for name, values in columns.items()}}
            for i in range(len(self.train_loss))
        ]


class Evaluation(NamedTuple):
    loss: float
    accuracy: float | None


def decision_threshold(mlp: MLP, loss=None) -> float:
    """The output value above which a one-unit network predicts class 1.

    Logits (the loss takes logits: ``sigmoid_binary_cross_entropy``) threshold at 0, where
    sigmoid(z) = 1/2. Otherwise a bounded output layer thresholds at the midpoint of its range
    (sigmoid, hard limit: 0.5; tanh, symmetric hard limit: 0); an unbounded one (identity,
    relu, ...) needs the loss: a regression loss on 0/1 targets thresholds at 0.5.

    Example:
        >>> decision_threshold(MLP((2, 1), "tanh")), decision_threshold(MLP((2, 1), "identity"), "sigmoid_binary_cross_entropy")
        (0.0, 0.0)
    """
    output = mlp.activations[-1]
    if loss is not None and get_loss(loss).spec.takes == "logits":
        return 0.0
    if output.spec.output_range is not None:
        low, high = output.spec.output_range
        return (low + high) / 2
    if loss is None:
        raise ValueError(
            f"one output unit with the unbounded {output.name!r} activation: the class threshold depends on the loss; "
            "pass loss= (logits of 'sigmoid_binary_cross_entropy' threshold at 0, regression on 0/1 targets at 0.5) or threshold="
        )
    return 0.5


def _classes(mlp: MLP, outputs: jax.Array, threshold: float | None) -> jax.Array:
    """Predicted classes ``(batch,)`` from outputs ``(batch, d_L)``."""
    if mlp.sizes[-1] == 1:
        return (outputs[:, 0] > threshold).astype(jnp.int32)
    return jnp.argmax(outputs, axis=-1)


def predict(mlp: MLP, params: Params, x, *, loss=None, threshold: float | None = None) -> jax.Array:
    """Class predictions ``(batch,)``: argmax of the outputs, or for one output unit, 1 where
    the output is above ``threshold`` (default: :func:`decision_threshold` of the output
    activation and ``loss``).

    Example:
        >>> import jax
        >>> mlp = MLP((2, 3), "identity")
        >>> predict(mlp, mlp.init(jax.random.key(0)), jax.numpy.ones((4, 2))).shape
        (4,)
    """
    if mlp.sizes[-1] == 1 and threshold is None:
        threshold = decision_threshold(mlp, loss)
    mlp.check_params(params)
    return _classes(mlp, _jit_apply(mlp, params, jnp.atleast_2d(mlp.check_inputs(x))), threshold)


def target_classes(mlp: MLP, y, batch: int, *, loss=None) -> jax.Array:
    """The class of each of ``batch`` targets ``(batch,)``, checked: integer labels (in range),
    the argmax of target rows, or for one unit the targets above the middle of the output range
    (0 for the -1/+1 targets of tanh and symmetric hard limits, 0.5 otherwise)."""
    units = mlp.sizes[-1]
    y = jnp.asarray(y)
    if units > 1 and jnp.issubdtype(y.dtype, jnp.integer) and y.shape == (batch,):
        if is_concrete(y):
            check_labels(y, units, None if loss is None else get_loss(loss).name)
        return y
    return _classes_of_targets(mlp, prepare_targets(get_loss(loss if loss is not None else "sse"), y, batch, units, jnp.result_type(float)))


def _classes_of_targets(mlp: MLP, targets: jax.Array) -> jax.Array:
    """Classes ``(N,)`` of targets already checked and shaped ``(N, d_L)``."""
    if mlp.sizes[-1] == 1:
        output_range = mlp.activations[-1].spec.output_range
        midpoint = (output_range[0] + output_range[1]) / 2 if output_range is not None and output_range[0] < 0 else 0.5
        return (targets[:, 0] > midpoint).astype(jnp.int32)
    return jnp.argmax(targets, axis=-1)


def accuracy(mlp: MLP, params: Params, x, y, *, loss=None, threshold: float | None = None) -> float:
    """Fraction of examples whose predicted class equals the target class (both checked)."""
    predicted = predict(mlp, params, x, loss=loss, threshold=threshold)
    return float(jnp.mean(predicted == target_classes(mlp, y, predicted.shape[0], loss=loss)))


def evaluate(mlp: MLP, params: Params, x, y, loss, *, reduction: str = "mean", classification: bool | None = None) -> Evaluation:
    """Loss (no dropout) and, for classification, accuracy on a data set.

    Inputs and targets are checked here, eagerly, then the loss runs compiled.

    Example:
        >>> import jax
        >>> mlp = MLP((2, 2), "identity")
        >>> ev = evaluate(mlp, mlp.init(jax.random.key(0)), jax.numpy.ones((3, 2)), jax.numpy.array([0, 1, 1]), "softmax_cross_entropy")
        >>> ev.accuracy is not None
        True
    """
    loss = get_loss(loss)
    check_reduction(reduction)
    x, targets = _checked_data(mlp, params, loss, x, y)
    if classification is None:
        classification = loss.is_classification
    classes = _classes_of_targets(mlp, targets) if classification else None
    return _evaluate_checked(mlp, params, x, targets, classes, loss, reduction)


def _threshold(mlp: MLP, loss, classification: bool) -> float | None:
    """The one-unit class threshold where accuracy is recorded (None otherwise)."""
    return decision_threshold(mlp, loss) if classification and mlp.sizes[-1] == 1 else None


def _evaluate_checked(mlp: MLP, params: Params, x, targets, classes, loss, reduction: str) -> Evaluation:
    """:func:`evaluate` on data already checked: ``targets`` ``(N, d_L)``, ``classes`` ``(N,)`` or None."""
    threshold = _threshold(mlp, loss, classes is not None)
    value, fraction = jax.device_get(_loss_and_accuracy(params, x, targets, classes, mlp=mlp, loss=loss, reduction=reduction, threshold=threshold))
    return Evaluation(float(value), None if classes is None else float(fraction))


def _checked_data(mlp: MLP, params: Params, loss, x, y) -> tuple[jax.Array, jax.Array]:
    """Inputs ``(N, d_0)`` and targets ``(N, d_L)`` in the params' dtype, checked against the loss."""
    mlp.check_params(params)
    loss.check_output(mlp.activations[-1], mlp.sizes[-1])
    dtype = params[0].W.dtype
    x = mlp.check_inputs(x).astype(dtype)
    if x.ndim != 2:
        raise ValueError(f"data inputs must be a batch (N, {mlp.sizes[0]}), got shape {tuple(x.shape)}")
    return x, prepare_targets(loss, y, x.shape[0], mlp.sizes[-1], dtype)


def make_gradient_fn(mlp: MLP, loss, *, reduction: str = "mean", gradient: str = "manual") -> Callable:
    """``(params, x, y, weights, key) -> (loss, grads, outputs)`` from the manual backprop or
    ``jax.grad``; ``outputs`` ``(batch, d_L)`` are the network's (dropout on: ``train=True``,
    ``key`` draws the masks), returned so that a training step can count its correct
    predictions without a second forward pass.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP((2, 3, 1), "tanh")
        >>> step = make_gradient_fn(mlp, "sse")
        >>> value, grads, outputs = step(mlp.init(jax.random.key(0)), jnp.ones((4, 2)), jnp.zeros(4), None, None)
        >>> outputs.shape, grads[0].W.shape
        ((4, 1), (2, 3))
    """
    loss = get_loss(loss)
    if gradient == "manual":
        def value_and_grad(params, x, y, weights, key):
            result = backprop(mlp, params, x, y, loss, reduction=reduction, weights=weights, key=key, train=True)
            return result.loss, result.grads, result.trace.a[-1]
    elif gradient == "autodiff":
        def value_and_grad(params, x, y, weights, key):
            def value(p):
                trace, batch_loss, _ = forward_and_output(mlp, p, x, y, loss, reduction, weights, key, True)
                return batch_loss, trace.a[-1]

            (batch_loss, outputs), grads = jax.value_and_grad(value, has_aux=True)(params)
            return batch_loss, grads, outputs
    else:
        raise ValueError(f"unknown gradient source {gradient!r}; expected one of {', '.join(GRADIENT_SOURCES)}")
    return value_and_grad


@partial(jax.jit, static_argnames=("mlp", "loss", "reduction", "threshold"))
def _loss_and_accuracy(params: Params, x, targets, classes, *, mlp: MLP, loss, reduction: str, threshold):
    """One compiled pass over a data set: the loss (no dropout) and, when ``classes`` is given,
    the accuracy, as device scalars (accuracy NaN without classes)."""
    trace, value, _ = forward_and_output(mlp, params, x, targets, loss, reduction, None, None, False)
    if classes is None:
        return value, jnp.nan
    return value, jnp.mean(_classes(mlp, trace.a[-1], threshold) == classes)


ON_NONFINITE = ("stop", "skip")


class TrainingDiverged(FloatingPointError):
    """The loss or a gradient became NaN or infinite. ``params`` and ``opt_state`` are the last
    finite ones (before the step that failed), ``history`` the epochs completed before it;
    ``epoch``, ``step`` (1-based, within the epoch) and ``layer`` (the first whose gradient is
    non-finite, 0 when only the loss is) say where."""

    def __init__(self, message, *, params, opt_state, history, epoch, step, layer):
        super().__init__(message)
        self.params, self.opt_state, self.history = params, opt_state, history
        self.epoch, self.step, self.layer = epoch, step, layer


def _finite_layers(grads) -> jax.Array:
    """``(depth,)`` bools: every entry of layer k's dW and db finite."""
    return jnp.stack([jnp.all(jnp.isfinite(layer.W)) & jnp.all(jnp.isfinite(layer.b)) for layer in grads])


@partial(jax.jit, static_argnames=("mlp", "loss", "optimizer", "reduction", "gradient", "batch_size", "drop_last", "threshold", "on_nonfinite",
                                   "mesh", "n_examples", "shuffle"))
def _run_epoch(params: Params, opt_state, key, x, y, classes, sample_weight, *, mlp: MLP, loss, optimizer, reduction: str, gradient: str,
               batch_size: int, drop_last: bool, threshold, on_nonfinite: str = "stop", mesh=None, n_examples: int | None = None,
               shuffle: bool = True):
    """One epoch in one compiled call: the shuffled mini-batches run by ``lax.scan``.

    Returns ``(params, opt_state, key, loss, accuracy, trouble)``: the epoch's training loss is
    the exact mean (or sum) over the epoch's examples of the losses each step computed before
    its update (weighted by the real examples of each batch and by ``sample_weight`` ``(N,)``
    when given), the accuracy the (weighted) fraction of those
    examples the network classified right at that moment (NaN without ``classes``). A step whose
    loss or gradient is not finite changes nothing; with ``on_nonfinite="stop"`` no later step of
    the epoch does either, and ``trouble`` = (first bad step or 0, its first non-finite layer or
    0 when only the loss is, steps skipped). Compiled once per (network, loss, optimizer,
    reduction, gradient, batch layout, data shapes, mesh).

    With a ``mesh`` each batch is split over its data axis (:mod:`funcmlp.training.parallel`); the data
    then carry padding rows beyond ``n_examples``, never drawn."""
    n = x.shape[0] if n_examples is None else n_examples
    steps = iterations_per_epoch(n, batch_size, drop_last=drop_last)
    if mesh is None:
        value_and_grad = make_gradient_fn(mlp, loss, reduction=reduction, gradient=gradient)
    else:
        value_and_grad = sharded_gradient_fn(make_gradient_fn(mlp, loss, reduction="sum", gradient=gradient), mesh, reduction)

    def step(carry, batch):
        params, opt_state, first_bad, bad_layer, skipped = carry
        indices, weights, dropout_key, number = batch
        value, grads, outputs = value_and_grad(params, x[indices], y[indices], weights, dropout_key)
        layers_ok = _finite_layers(grads)
        finite = jnp.isfinite(value) & jnp.all(layers_ok)
        apply = finite & ((first_bad == 0) if on_nonfinite == "stop" else True)
        # extra argument for the optimizers that take one (optax's GradientTransformationExtraArgs): the batch's weight
        updates, new_state = optax.with_extra_args_support(optimizer).update(grads, opt_state, params, batch_weight=jnp.sum(weights))
        keep = lambda new, old: jnp.where(apply, new, old)  # noqa: E731
        params = jax.tree_util.tree_map(keep, optax.apply_updates(params, updates), params)
        opt_state = jax.tree_util.tree_map(keep, new_state, opt_state)
        first_layer = jnp.where(jnp.all(layers_ok), 0, jnp.argmin(layers_ok).astype(jnp.int32) + 1)  # argmin: the first False
        bad_layer = jnp.where((first_bad == 0) & ~finite, first_layer, bad_layer)
        first_bad = jnp.where((first_bad == 0) & ~finite, number, first_bad)
        real = jnp.where(apply, jnp.sum(weights), 0)
        correct = jnp.zeros((), x.dtype) if classes is None else jnp.sum(weights * (_classes(mlp, outputs, threshold) == classes[indices]))
        return (params, opt_state, first_bad, bad_layer, skipped + (~finite).astype(jnp.int32)), \
            (jnp.where(apply, value, 0), real, jnp.where(apply, correct, 0))

    key, epoch_key = jax.random.split(key)
    shuffle_key, dropout_key = jax.random.split(epoch_key)
    indices, weights = epoch_batches(shuffle_key, n, batch_size, drop_last=drop_last, shuffle=shuffle)
    if mesh is not None:
        indices, weights = pad_batches(indices, weights, shards(mesh))
    weights = weights.astype(x.dtype)
    if sample_weight is not None:
        weights = weights * sample_weight[indices]
    zero = jnp.zeros((), jnp.int32)
    batches = (indices, weights, jax.random.split(dropout_key, steps), jnp.arange(1, steps + 1, dtype=jnp.int32))
    (params, opt_state, first_bad, bad_layer, skipped), (values, real, correct) = jax.lax.scan(
        step, (params, opt_state, zero, zero, zero), batches)
    seen = weight_divisor(jnp.sum(real))  # the epoch's example weight
    epoch_loss = jnp.sum(values * real) / seen if reduction == "mean" else jnp.sum(values)
    accuracy = jnp.nan if classes is None else jnp.sum(correct) / seen
    return params, opt_state, key, epoch_loss, accuracy, (first_bad, bad_layer, skipped)


class EpochState(NamedTuple):
    """Where training stands after an epoch of :func:`train_epochs`."""

    epoch: int  # the epoch just finished, from 1
    params: Params
    opt_state: Any
    key: jax.Array  # the key the next epoch starts from
    history: History  # every epoch so far, this one included


def train_epochs(
    mlp: MLP,
    params: Params,
    data: tuple,
    *,
    loss,
    optimizer: optax.GradientTransformation,
    batch_size: int,
    key: jax.Array,
    epochs: int | None = None,
    opt_state=None,
    history: History | None = None,
    validation: tuple | None = None,
    validate_every: int = 1,
    reduction: str = "mean",
    gradient: str = "manual",
    drop_last: bool = False,
    classification: bool | None = None,
    on_nonfinite: str = "stop",
    sample_weight=None,
    shuffle: bool = True,
    mesh=None,
) -> Iterator[EpochState]:
    """Training epoch by epoch, for loops of one's own (stopping rules, schedules changed
    between epochs, logging): everything is checked now; each step of the returned iterator
    runs one compiled epoch (and the validation when due) and yields an :class:`EpochState`.
    Break out to stop; go on later by passing the last state's params, ``opt_state``, ``key``
    and ``history``. :func:`fit` is this loop with checkpoints and early stopping.

    Args:
        epochs: the number of the last epoch (``None``: no end); with ``history`` the
            numbering goes on from its last epoch.
        opt_state: the optimizer state to start from (default ``optimizer.init(params)``).
        sample_weight: per-example weights ``(N,)``, finite and >= 0: each batch's loss is
            ``sum_i w_i l_i / sum_i w_i`` (``"mean"``) or ``sum_i w_i l_i`` (``"sum"``).
        shuffle: draw each epoch's batches in a new random order (default) or in the data's.
        Others: as for :func:`fit`.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> x = jnp.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = jnp.array([0., 1., 1., 0.])
        >>> mlp = MLP((2, 8, 1), "tanh", output="sigmoid")
        >>> for state in train_epochs(mlp, mlp.init(jax.random.key(0)), (x, y), loss="binary_cross_entropy",
        ...                           optimizer=optax.adam(0.05), batch_size=4, key=jax.random.key(1)):
        ...     if state.history.train_loss[-1] < 0.05:
        ...         break
        >>> state.history.train_accuracy[-1], state.epoch < 300
        (1.0, True)
    """
    loss = get_loss(loss)
    mesh = resolve_mesh(mesh)
    check_reduction(reduction)
    make_gradient_fn(mlp, loss, reduction=reduction, gradient=gradient)  # refuses an unknown gradient source
    if epochs is not None and epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if validate_every < 1:
        raise ValueError(f"validate_every must be at least 1 (epochs between validations), got {validate_every}")
    if on_nonfinite not in ON_NONFINITE:
        raise ValueError(f"on_nonfinite must be one of {', '.join(ON_NONFINITE)}, got {on_nonfinite!r}")
    x, y = _checked_data(mlp, params, loss, *data)
    if sample_weight is not None:
        sample_weight = prepare_weights(sample_weight, x.shape[0], x.dtype, reduction)
    if classification is None:
        classification = loss.is_classification
    threshold = _threshold(mlp, loss, classification)
    classes = _classes_of_targets(mlp, y) if classification else None
    x_val = y_val = classes_val = None
    if validation is not None:
        x_val, y_val = _checked_data(mlp, params, loss, *validation)
        classes_val = _classes_of_targets(mlp, y_val) if classification else None
    iterations_per_epoch(x.shape[0], batch_size, drop_last=drop_last)  # checks the batch layout before compiling
    settings = dict(mlp=mlp, loss=loss, optimizer=optimizer, reduction=reduction, gradient=gradient, batch_size=batch_size,
                    drop_last=drop_last, threshold=threshold, on_nonfinite=on_nonfinite, shuffle=shuffle)
    opt_state = optimizer.init(params) if opt_state is None else opt_state
    if mesh is not None:
        settings.update(mesh=mesh, n_examples=x.shape[0])
        x, y, classes, sample_weight = (None if a is None else shard_rows(a, mesh) for a in (x, y, classes, sample_weight))
        params, opt_state, key, x_val, y_val, classes_val = replicate((params, opt_state, key, x_val, y_val, classes_val), mesh)
    history = History() if history is None else history
    validated = None

    def run():
        nonlocal params, opt_state, key, validated
        first = len(history.train_loss) + 1
        epoch = first
        while epochs is None or epoch <= epochs:
            start = time.perf_counter()
            params, opt_state, key, train_loss, train_accuracy, trouble = _run_epoch(params, opt_state, key, x, y, classes, sample_weight,
                                                                                     **settings)
            if validation is not None and (epoch == first or epoch % validate_every == 0 or epoch == epochs):
                validated = _loss_and_accuracy(params, x_val, y_val, classes_val, mlp=mlp, loss=loss, reduction=reduction, threshold=threshold)
            numbers = jax.device_get((train_loss, train_accuracy, validated, trouble))  # the epoch's one transfer
            first_bad, bad_layer, skipped = (int(v) for v in numbers[3])
            if first_bad and on_nonfinite == "stop":
                where = f"the gradient of layer {bad_layer} is not finite" if bad_layer else "the loss is not finite"
                raise TrainingDiverged(
                    f"training diverged at epoch {epoch}, step {first_bad}: {where}; the last finite params are kept "
                    "(lower the learning rate, clip gradients, or check the data)",
                    params=params, opt_state=opt_state, history=history, epoch=epoch, step=first_bad, layer=bad_layer)
            history.epoch_seconds.append(time.perf_counter() - start)
            history.train_loss.append(float(numbers[0]))
            if classification:
                history.train_accuracy.append(float(numbers[1]))
            if validation is not None:
                history.val_loss.append(float(numbers[2][0]))
                if classification:
                    history.val_accuracy.append(float(numbers[2][1]))
            if on_nonfinite == "skip":
                history.skipped_steps.append(skipped)
            yield EpochState(epoch, params, opt_state, key, history)
            epoch += 1

    return run()


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
    validate_every: int = 1,
    reduction: str = "mean",
    gradient: str = "manual",
    drop_last: bool = False,
    classification: bool | None = None,
    callback: Callable[[int, History], None] | None = None,
    checkpoint_dir=None,
    checkpoint_every: int = 1,
    resume: bool = False,
    checkpoint_options: dict | None = None,
    on_nonfinite: str = "stop",
    early_stopping: int | None = None,
    min_delta: float = 0.0,
    sample_weight=None,
    mesh=None,
) -> tuple[Params, History]:
    """Train with mini-batch gradient descent driven by an optax optimizer.

    Each epoch is one compiled call (the mini-batches run by ``lax.scan``), compiled once per
    network, loss, optimizer object, batch layout and data shapes and reused by later calls;
    the training loss and accuracy of an epoch come from its own steps (the mean over the
    epoch's examples of each step's loss before its update), validation is one compiled pass
    giving loss and accuracy together, and each epoch ends with one transfer of its numbers.
    The loop is :func:`train_epochs`'s, with checkpoints and early stopping.

    Args:
        mlp, params: the network and its initial parameters.
        data: ``(x, y)`` with ``x`` ``(N, d_0)``; ``y`` as for :func:`funcmlp.core.backprop`. Both
            are checked once, here, cast to the params' dtype and put on the device once.
        loss: loss name.
        optimizer: any ``optax.GradientTransformation`` (see :mod:`funcmlp.training.optimizers`); pass
            the same object to later calls to reuse the compiled epoch. Its ``update`` gets the
            extra argument ``batch_weight``, the batch's sum of example weights (its number of
            real examples without ``sample_weight``), which transformations that take no extra
            arguments never see.
        epochs: passes over the data.
        batch_size: examples per step; ``ceil(N / B)`` steps per epoch.
        key: ``jax.random`` key for shuffling and dropout.
        validation: optional ``(x_val, y_val)`` evaluated after the first epoch, every
            ``validate_every`` epochs and after the last one.
        validate_every: epochs between validations (the history repeats the last value between).
        reduction: batch reduction of the loss, ``"mean"`` or ``"sum"``.
        gradient: ``"manual"`` (the sensitivity recursion) or ``"autodiff"`` (``jax.grad``).
        drop_last: drop the partial last batch instead of keeping it.
        classification: record accuracy (default: for the cross-entropy losses).
        callback: called as ``callback(epoch, history)`` after each epoch (e.g. a progress bar).
        checkpoint_dir: a folder for ``checkpoint.npz`` (:mod:`funcmlp.io.training_state`: params,
            optimizer state, key, epoch, history), written atomically every
            ``checkpoint_every`` epochs, after the last and on Ctrl-C (``KeyboardInterrupt``).
        resume: go on from ``checkpoint_dir``'s state when there is one (``params`` then serve
            as the template of its structure and dtype): the run ends bit for bit where an
            uninterrupted one would; a larger ``epochs`` extends it.
        checkpoint_options: JSON-serialisable options saved with the state (the command line's).
        on_nonfinite: ``"stop"`` (default): the first step whose loss or gradient is NaN or
            infinite ends training with :class:`TrainingDiverged`, which carries the last finite
            params (also saved to ``checkpoint_dir``); ``"skip"``: such steps change nothing and
            are counted in ``history.skipped_steps``.
        early_stopping: stop when the validation loss has not improved by more than
            ``min_delta`` for this many epochs, and return the params of the best epoch
            (``history.best_epoch``); needs ``validation`` and ``validate_every=1``.
        sample_weight: per-example weights ``(N,)`` of the training data, finite and >= 0, in
            every batch's loss and gradient and in the epoch's loss and accuracy.
        mesh: data parallelism (:mod:`funcmlp.training.parallel`): a ``jax.sharding.Mesh`` with a
            ``"data"`` axis, or ``"auto"`` for every device (of every process under
            ``jax.distributed``). Each batch is split over the data axis, params and optimizer
            state are replicated, the shards' gradients (manual or autodiff) are summed with
            ``psum``; the result is one device's (the mean over the global batch's real
            examples), up to the order of the sums. With dropout the masks depend on the key and
            the number of devices. Only process 0 writes checkpoints.

    Returns:
        ``(params, history)``; ``history.epoch_seconds`` counts all of each epoch's work
        (the steps, the validation, the transfer). With a mesh the params are replicated
        over it (``jax.device_get`` brings them to the host).

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> x = jnp.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = jnp.array([0., 1., 1., 0.])
        >>> mlp = MLP((2, 8, 1), "tanh", output="sigmoid")
        >>> params, history = fit(mlp, mlp.init(jax.random.key(0)), (x, y), loss="binary_cross_entropy",
        ...                       optimizer=optax.adam(0.05), epochs=300, batch_size=4, key=jax.random.key(1))
        >>> history.train_accuracy[-1]
        1.0

        Data parallel over every device (one CPU device here; ``JAX_NUM_CPU_DEVICES=8`` set
        before JAX starts gives eight), the same params as without a mesh:

        >>> sharded, _ = fit(mlp, mlp.init(jax.random.key(0)), (x, y), loss="binary_cross_entropy",
        ...                  optimizer=optax.adam(0.05), epochs=300, batch_size=4, key=jax.random.key(1), mesh="auto")
        >>> bool(jnp.allclose(sharded[0].W, params[0].W, rtol=1e-10))
        True
    """
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    if checkpoint_every < 1:
        raise ValueError(f"checkpoint_every must be at least 1 (epochs between checkpoints), got {checkpoint_every}")
    if early_stopping is not None and (validation is None or validate_every != 1 or early_stopping < 1):
        raise ValueError(f"early_stopping={early_stopping!r} needs a patience of at least 1 epoch, validation data and validate_every=1")
    opt_state, history, best = None, History(), params
    if resume and checkpoint_dir is not None and os.path.exists(state_path(checkpoint_dir)):
        params, opt_state, key, _, history, _, saved_best = load_state(checkpoint_dir, mlp, params, optimizer)
        best = saved_best if saved_best is not None else params
    states = train_epochs(mlp, params, data, loss=loss, optimizer=optimizer, batch_size=batch_size, key=key, epochs=epochs,
                          opt_state=opt_state, history=history, validation=validation, validate_every=validate_every, reduction=reduction,
                          gradient=gradient, drop_last=drop_last, classification=classification, on_nonfinite=on_nonfinite,
                          sample_weight=sample_weight, mesh=mesh)
    last = EpochState(len(history.train_loss), params, opt_state, key, history)

    def save(state: EpochState):
        if checkpoint_dir is not None and jax.process_index() == 0:
            opt = state.opt_state if state.opt_state is not None else optimizer.init(state.params)
            # the history up to the saved epoch (an interrupt may land after the next epoch's row was added)
            upto = dataclasses.replace(history, **{name: values[:state.epoch] for name, values in vars(history).items() if isinstance(values, list)})
            save_state(checkpoint_dir, mlp, TrainingState(state.params, opt, state.key, state.epoch, upto, checkpoint_options or {},
                                                          best if early_stopping is not None else None))

    try:
        for state in states:
            last = state
            stop = False
            if early_stopping is not None:
                best_loss = history.val_loss[history.best_epoch - 1] if history.best_epoch else np.inf
                if history.val_loss[-1] < best_loss - min_delta:
                    best, history.best_epoch = state.params, state.epoch
                stop = state.epoch - history.best_epoch >= early_stopping
            if state.epoch % checkpoint_every == 0 or state.epoch == epochs or stop:
                save(state)
            if callback is not None:
                callback(state.epoch, history)
            if stop:
                break
    except KeyboardInterrupt:
        save(last)  # the state after the last whole epoch
        raise
    except TrainingDiverged as diverged:
        save(EpochState(diverged.epoch - 1, diverged.params, diverged.opt_state, last.key, history))
        raise
    return (best if early_stopping is not None else last.params), history
