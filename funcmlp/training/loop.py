"""The training loop: a :class:`Trainer` runs compiled epochs on checked data; :func:`train_epochs`
is the plain loop over it, for loops of one's own.

Contract::

    Trainer(mlp, params, data, config, validation=, sample_weight=)   checks and places the data once
        .start(params, key, opt_state=None) -> TrainState
        .epoch(state, epoch, validate=) -> (TrainState, EpochRecord)     one compiled epoch (+ validation)
    train_epochs(mlp, params, data, key=, epochs=, ..., **TrainConfig fields) -> iterator of EpochState

Everything is checked when the trainer is built; an epoch then runs without a check. Imports:
core, checks, evaluation, training's own modules.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from typing import NamedTuple

import jax
import numpy as np

from funcmlp.arguments import check_key, check_positive_int
from funcmlp.checks import check_data, check_params
from funcmlp.core.model import MLP
from funcmlp.core.padding import padded_rows
from funcmlp.core.params import Params
from funcmlp.evaluation import class_threshold, loss_and_accuracy, padded_data
from funcmlp.training.batching import epoch_order, iterations_per_epoch
from funcmlp.training.config import CONFIG_DEFAULT, TrainConfig, shows_config_defaults
from funcmlp.training.epoch import TrainData, TrainState, run_epoch
from funcmlp.training.history import EpochState, History, TrainingDiverged
from funcmlp.training.parallel import padded_size, replicate, shard_rows, shards
from funcmlp.training.private import check_dp_weights
from funcmlp.training.reuse import same_optimizer


class EpochRecord(NamedTuple):
    """An epoch's numbers on the host (``None`` where not measured)."""

    train_loss: float
    train_accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    skipped: int | None
    seconds: float
    clipped_fraction: float | None = None  # DP-SGD's: of the epoch's examples, those whose gradient was clipped

    def add_to(self, history: History) -> None:
        """Append this epoch to ``history``."""
        history.epoch_seconds.append(self.seconds)
        history.train_loss.append(self.train_loss)
        pairs = (
            (history.train_accuracy, self.train_accuracy),
            (history.val_loss, self.val_loss),
            (history.val_accuracy, self.val_accuracy),
            (history.skipped_steps, self.skipped),
            (history.clipped_fraction, self.clipped_fraction),
        )
        for values, value in pairs:
            if value is not None:
                values.append(value)


def prepare_data(mlp: MLP, params: Params, data: tuple, config: TrainConfig, sample_weight=None) -> TrainData:
    """``(x, y)`` checked against the network and the loss, in the params' dtype, with the
    target classes when accuracy is recorded and the checked sample weights, padded with
    weight-0 rows to :func:`~funcmlp.core.padding.padded_rows` (a multiple of the mesh's
    devices), on the host: the trainer places them."""
    if not isinstance(data, (tuple, list)) or len(data) != 2:
        raise ValueError(
            f"data must be a pair (x, y), got {type(data).__name__}"
            + (f" of {len(data)}" if isinstance(data, (tuple, list)) else "")
        )
    batch = check_data(mlp, params, *data, config.loss, reduction=config.reduction, weights=sample_weight)
    rows = batch.x.shape[0]
    size = padded_rows(rows) if config.mesh is None else padded_size(padded_rows(rows), shards(config.mesh))
    return TrainData(*padded_data(mlp, batch, size, config.classification), np.asarray(rows, np.int32))


class Trainer:
    """One network trained on one data set with one configuration: the data are checked and put on
    the device(s) once; :meth:`epoch` runs one compiled epoch and, when asked, the validation.

    Example:
        >>> import jax, jax.numpy as jnp, optax
        >>> mlp = MLP((2, 1), "identity")
        >>> params = mlp.init(jax.random.key(0))
        >>> trainer = Trainer(mlp, params, (jnp.ones((4, 2)), jnp.zeros(4)), TrainConfig("sse", optax.sgd(0.1), 2))
        >>> state, record = trainer.epoch(trainer.start(params, jax.random.key(1)), 1)
        >>> record.train_loss > 0, record.val_loss is None
        (True, True)
    """

    def __init__(
        self,
        mlp: MLP,
        params: Params,
        data: tuple,
        config: TrainConfig,
        *,
        validation: tuple | None = None,
        sample_weight=None,
    ):
        # an optimizer whose update computes what one seen before does stands for it in the compiled epoch (reused);
        # the state is still made by the given optimizer's own init
        check_params(mlp, params)  # first: the optimizer's reuse below reads the params' arrays
        self.mlp, self._init = mlp, config.optimizer.init
        self.config = config = dataclasses.replace(config, optimizer=same_optimizer(config.optimizer, params))
        data = prepare_data(mlp, params, data, config, sample_weight)
        if config.dp_sgd is not None and sample_weight is not None:
            check_dp_weights(data.weights)
        self.rows = int(data.rows)  # the real rows, on the host for each epoch's draw
        iterations_per_epoch(self.rows, config.batch_size, drop_last=config.drop_last)  # the batch layout, checked
        validation = None if validation is None else prepare_data(mlp, params, validation, config)
        if config.mesh is None:
            self.data, self.validation = jax.device_put((data, validation))
        else:
            mesh = config.mesh
            self.data = TrainData(
                *(None if a is None else shard_rows(a, mesh) for a in (data.x, data.targets, data.classes)),
                shard_rows(data.weights, mesh),
                rows=replicate(data.rows, mesh),
            )
            self.validation = replicate(validation, mesh)
        self.threshold = class_threshold(mlp, config.loss, config.classification)

    def start(self, params: Params, key: jax.Array, opt_state=None) -> TrainState:
        """The state before the first epoch (``opt_state`` default ``optimizer.init(params)``), on the mesh if any."""
        state = TrainState(params, self._init(params) if opt_state is None else opt_state, check_key(key))
        return state if self.config.mesh is None else replicate(state, self.config.mesh)

    def validate(self, params: Params):
        """The validation loss and accuracy as device scalars."""
        v = self.validation
        return loss_and_accuracy(
            params,
            v.x,
            v.targets,
            v.classes,
            v.weights,
            mlp=self.mlp,
            loss=self.config.loss,
            reduction=self.config.reduction,
            threshold=self.threshold,
        )

    def epoch(self, state: TrainState, epoch: int, *, validate: bool = True) -> tuple[TrainState, EpochRecord]:
        """Epoch number ``epoch`` from ``state``: the new state and the epoch's numbers (one transfer).

        Raises :class:`~funcmlp.TrainingDiverged` (its history left ``None``) when a step's loss
        or updated params are not finite (the step and the layer named: its gradient, or its
        update) and the configuration says stop.
        """
        start = time.perf_counter()
        draw = epoch_order(state.key, self.rows, self.data.x.shape[0], shuffle=self.config.shuffle)
        stop = self.config.on_nonfinite == "stop"
        # "stop": the steps' losses and the final params read (a smaller program); an epoch that went bad runs again
        # with every step's gradient and update checked, to name its step and layer
        new, metrics = run_epoch(self.mlp, state, draw, self.data, self.config, checked=not stop)
        validated = self.validate(new.params) if validate and self.validation is not None else None
        numbers, validated = jax.device_get((metrics, validated))  # the epoch's one transfer
        if stop and int(numbers.first_bad):
            replayed = jax.device_get(run_epoch(self.mlp, state, draw, self.data, self.config, checked=True)[1])
            numbers = replayed if int(replayed.first_bad) else numbers  # (the replay's rounding could differ)
        first_bad, bad_layer, skipped = int(numbers.first_bad), int(numbers.bad_layer), int(numbers.skipped)
        if first_bad and stop:
            cause = "update" if bad_layer < 0 else "gradient" if bad_layer else "loss"
            raise TrainingDiverged(
                f"training diverged at epoch {epoch}, step {first_bad}: "
                f"{TrainingDiverged.describe(cause, abs(bad_layer))}; the params after epoch {epoch - 1} are kept "
                "(lower the learning rate, clip gradients, or check the data)",
                params=state.params,  # the last whole epoch's: a consistent state to go on from with a lower rate
                opt_state=state.opt_state,
                history=None,
                epoch=epoch,
                step=first_bad,
                layer=abs(bad_layer),
                cause=cause,
            )
        classification = self.config.classification
        record = EpochRecord(
            float(numbers.loss),
            float(numbers.accuracy) if classification else None,
            None if validated is None else float(validated[0]),
            None if validated is None or not classification else float(validated[1]),
            None if stop else skipped,
            time.perf_counter() - start,
            None if self.config.dp_sgd is None else float(numbers.clipped),
        )
        return new, record


@shows_config_defaults
def train_epochs(
    mlp: MLP,
    params: Params,
    data: tuple,
    *,
    loss=CONFIG_DEFAULT,
    optimizer=CONFIG_DEFAULT,
    batch_size=CONFIG_DEFAULT,
    key: jax.Array,
    epochs: int | None = None,
    opt_state=None,
    history: History | None = None,
    validation: tuple | None = None,
    sample_weight=None,
    reduction=CONFIG_DEFAULT,
    gradient=CONFIG_DEFAULT,
    drop_last=CONFIG_DEFAULT,
    shuffle=CONFIG_DEFAULT,
    classification=CONFIG_DEFAULT,
    on_nonfinite=CONFIG_DEFAULT,
    validate_every=CONFIG_DEFAULT,
    mesh=CONFIG_DEFAULT,
    dp_sgd=CONFIG_DEFAULT,
    config: TrainConfig | None = None,
) -> Iterator[EpochState]:
    """Training epoch by epoch, for loops of one's own (stopping rules, schedules changed
    between epochs, logging): everything is checked now; each step of the returned iterator
    runs one compiled epoch (and the validation when due) and yields an :class:`EpochState`.
    Break out to stop; go on later by passing the last state's params, ``opt_state``, ``key``
    and ``history``. :func:`funcmlp.fit` is this loop with checkpoints and early stopping.

    Args:
        mlp, params: the network and its initial parameters.
        data: ``(x, y)`` with ``x`` ``(N, d_0)``; ``y`` as for :func:`funcmlp.backprop`.
        key: ``jax.random`` key for shuffling and dropout.
        epochs: the number of the last epoch (``None``: no end); with ``history`` the
            numbering goes on from its last epoch.
        opt_state: the optimizer state to start from (default ``optimizer.init(params)``).
        history: the history to go on from (default a new one).
        validation: optional ``(x_val, y_val)`` evaluated after the first epoch, every
            ``validate_every`` epochs and after the last one.
        sample_weight: per-example weights ``(N,)``, finite and >= 0: each batch's loss is
            ``sum_i w_i l_i / sum_i w_i`` (``"mean"``) or ``sum_i w_i l_i`` (``"sum"``).
        loss, optimizer, batch_size, reduction, ..., dp_sgd: the fields of :class:`~funcmlp.TrainConfig`, which
            defines each and its default (the signature shows it); ``loss``, ``optimizer`` and ``batch_size`` needed.
        config: every one of those as one :class:`~funcmlp.TrainConfig` instead (not with them).

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
    config = TrainConfig.from_options(TrainConfig.given(locals()), config)  # the options given, or config
    if epochs is not None:
        check_positive_int(epochs, "epochs", "the number of the last epoch")
    trainer = Trainer(mlp, params, data, config, validation=validation, sample_weight=sample_weight)
    state = trainer.start(params, key, opt_state)
    history = History() if history is None else history
    return epoch_loop(trainer, state, history, epochs)


def epoch_loop(trainer: Trainer, state: TrainState, history: History, epochs: int | None) -> Iterator[EpochState]:
    """The epochs after ``history``'s last, up to ``epochs`` (no end: None), each recorded in ``history``
    (validation when due, its last values repeated between) and yielded; shared by train_epochs and fit."""
    first = history.epochs + 1
    epoch = first
    every = trainer.config.validate_every
    while epochs is None or epoch <= epochs:
        try:
            state, record = trainer.epoch(
                state, epoch, validate=epoch == first or epoch % every == 0 or epoch == epochs
            )
        except TrainingDiverged as diverged:
            diverged.history = history
            raise
        if record.val_loss is None and trainer.validation is not None:  # between validations: the last values again
            record = record._replace(
                val_loss=history.val_loss[-1],
                val_accuracy=history.val_accuracy[-1] if trainer.config.classification else None,
            )
        record.add_to(history)
        yield EpochState(epoch, state.params, state.opt_state, state.key, history)
        epoch += 1
