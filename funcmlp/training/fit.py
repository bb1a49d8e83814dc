"""``fit``: the training loop of :mod:`funcmlp.training.loop` with checkpoints and early stopping.

Contract::

    fit(mlp, params, (x, y), loss=, optimizer=, batch_size=, epochs=, key=, validation=, ...,
        every other TrainConfig field (its default shown in the signature), or config=) -> (params, History)
"""

from __future__ import annotations

import os
from collections.abc import Callable

import jax
import numpy as np

from funcmlp.arguments import check_positive_int
from funcmlp.core.model import MLP
from funcmlp.core.params import Params
from funcmlp.io.run_claim import claim_checkpoint_dir
from funcmlp.io.training_state import load_state, state_path
from funcmlp.memory import check_fits, parameter_count, training_bytes
from funcmlp.training.callbacks import Checkpoints, EarlyStopping
from funcmlp.training.config import CONFIG_DEFAULT, TrainConfig, shows_config_defaults
from funcmlp.training.history import EpochState, History, TrainingDiverged
from funcmlp.training.loop import Trainer, epoch_loop


@shows_config_defaults
def fit(
    mlp: MLP,
    params: Params,
    data: tuple,
    *,
    loss=CONFIG_DEFAULT,
    optimizer=CONFIG_DEFAULT,
    batch_size=CONFIG_DEFAULT,
    epochs: int,
    key: jax.Array,
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
    callback: Callable[[int, History], None] | None = None,
    checkpoint_dir=None,
    checkpoint_every: int = 1,
    resume: bool = False,
    overwrite: bool = False,
    checkpoint_options: dict | None = None,
    early_stopping: int | None = None,
    min_delta: float = 0.0,
    config: TrainConfig | None = None,
) -> tuple[Params, History]:
    """Train with mini-batch gradient descent driven by an optax optimizer.

    Each epoch is one compiled call (the mini-batches run by ``lax.fori_loop``), compiled once per
    network, configuration and size bucket of the data (:mod:`funcmlp.training.batching`), and
    reused by later calls, also with an optimizer written again with the same hyper-parameters
    (:mod:`funcmlp.training.reuse`) or data of another number of rows in the bucket; the
    training loss and accuracy of an epoch come from its own steps (the mean over the epoch's
    examples of each step's loss before its update), validation is one compiled pass giving
    loss and accuracy together, and each epoch ends with one transfer of its numbers.

    Args:
        mlp, params: the network and its initial parameters.
        data: ``(x, y)`` with ``x`` ``(N, d_0)``; ``y`` as for :func:`funcmlp.backprop`. Both
            are checked once, here, cast to the params' dtype and put on the device once.
        epochs: passes over the data.
        key: ``jax.random`` key for shuffling and dropout.
        validation: optional ``(x_val, y_val)`` evaluated after the first epoch, every
            ``validate_every`` epochs and after the last one.
        sample_weight: per-example weights ``(N,)`` of the training data, finite and >= 0, in
            every batch's loss and gradient and in the epoch's loss and accuracy.
        callback: called as ``callback(epoch, history)`` after each epoch (e.g. a progress bar).
        checkpoint_dir: a folder for the training state (:mod:`funcmlp.io.training_state`:
            params, optimizer state, key, epoch, history), written atomically every
            ``checkpoint_every`` epochs, after the last and on Ctrl-C (``KeyboardInterrupt``).
            The folder is locked while ``fit`` runs (one writer at a time, as ``funcmlp train``);
            a folder already holding a run is refused unless ``resume`` (a run of ``funcmlp
            train``'s, whose files carry its run id, only by ``funcmlp train --resume``) or
            ``overwrite``.
        resume: go on from ``checkpoint_dir``'s state when there is one (``params`` then serve
            as the template of its structure and dtype): the run ends bit for bit where an
            uninterrupted one would; a larger ``epochs`` extends it. A run that had stopped early (its
            ``early_stopping`` rule holds for the saved history) trains nothing more.
        overwrite: remove the run's files in ``checkpoint_dir`` first and train anew (as the command
            line's ``--overwrite``); not with ``resume``.
        checkpoint_options: JSON-serialisable options saved with the state (the command line's).
        early_stopping: stop when the validation loss has not improved by more than
            ``min_delta`` for this many epochs, and return the params of the best epoch
            (``history.best_epoch``); needs ``validation`` and ``validate_every=1``.
        loss, optimizer, batch_size: the loss (a name, or a :class:`~funcmlp.Loss`), an optax optimizer and the
            examples per step: needed, unless ``config`` holds them.
        reduction, gradient, drop_last, shuffle, classification, on_nonfinite, validate_every, mesh, dp_sgd: the
            other fields of :class:`~funcmlp.TrainConfig`, which defines each and its default (the signature shows
            it): ``mesh`` is data parallelism (each batch split over the mesh's ``"data"`` axis, the shards'
            gradients summed with ``psum``; the result is one device's up to the order of the sums; only process 0
            writes checkpoints), ``dp_sgd`` a :class:`~funcmlp.DPSGD` (DP-SGD's clipping and noise).
        config: every one of those as one :class:`~funcmlp.TrainConfig` instead (not with them).

    Returns:
        ``(params, history)``; ``history.epoch_seconds`` counts all of each epoch's work
        (the steps, the validation, the transfer). With a mesh the params are replicated
        over it (``jax.device_get`` brings them to the host).

    Raises:
        TrainingDiverged: with ``on_nonfinite="stop"``, carrying the last finite params (also
            saved to ``checkpoint_dir``).

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
    config = TrainConfig.from_options(TrainConfig.given(locals()), config)  # the options given, or config
    check_positive_int(epochs, "epochs", "passes over the data")
    early = None
    if early_stopping is not None:
        if validation is None or config.validate_every != 1:
            raise ValueError(
                f"early_stopping={early_stopping!r} needs a patience of at least 1 epoch, validation data and "
                "validate_every=1; pass validation=(x_val, y_val)"
            )
        early = EarlyStopping(early_stopping, min_delta, best=params)
    checkpoints = None
    if checkpoint_dir is not None:
        checkpoints = Checkpoints(
            checkpoint_dir,
            mlp,
            config.optimizer,
            every=checkpoint_every,
            last=epochs,
            options=checkpoint_options,
            early=early,
        )
    _check_memory(mlp, params, data, validation, config)
    lock = None
    if checkpoint_dir is not None and jax.process_index() == 0:  # process 0 writes: it holds the folder
        run_id = (checkpoint_options or {}).get("run_id")
        lock = claim_checkpoint_dir(checkpoint_dir, resume=resume, run_id=run_id, overwrite=overwrite)
    try:
        trainer = Trainer(mlp, params, data, config, validation=validation, sample_weight=sample_weight)
        opt_state, history = None, History()
        if resume and checkpoint_dir is not None and os.path.exists(state_path(checkpoint_dir)):
            saved = load_state(checkpoint_dir, mlp, params, config.optimizer)
            params, opt_state, key, history = saved.params, saved.opt_state, saved.key, saved.history
            if early is not None:
                early.best = saved.best_params if saved.best_params is not None else params
                if history.best_epoch and history.epochs - history.best_epoch >= early.patience:
                    epochs = history.epochs  # the run stopped early: going on trains nothing
        state = trainer.start(params, key, opt_state)
        last = EpochState(history.epochs, state.params, state.opt_state, state.key, history)
        try:
            for last in epoch_loop(trainer, state, history, epochs):
                stop = early.update(last) if early is not None else False
                if checkpoints is not None:
                    checkpoints.after(last, stop)
                if callback is not None:
                    callback(last.epoch, history)
                if stop:
                    break
        except KeyboardInterrupt:
            if checkpoints is not None:
                checkpoints.save(last)  # the state after the last whole epoch
            raise
        except TrainingDiverged as diverged:
            if checkpoints is not None:
                checkpoints.save(EpochState(diverged.epoch - 1, diverged.params, diverged.opt_state, last.key, history))
            raise
        return (early.best if early is not None else last.params), history
    finally:
        if lock is not None:
            lock.release()


def _check_memory(mlp: MLP, params: Params, data: tuple, validation, config: TrainConfig) -> None:
    """What ``fit`` allocates beyond the params and data it is given (from below): the gradients,
    update and new params, the optimizer's state, the data's copy on the device and one batch's
    trace; refused before any of it is. Params or data that are not arrays are left to the checks
    of :class:`~funcmlp.training.Trainer`, which name them."""
    try:
        leaves = jax.tree_util.tree_leaves(params)
        itemsize = max(np.dtype(leaf.dtype).itemsize for leaf in leaves)
        state = jax.tree_util.tree_leaves(jax.eval_shape(config.optimizer.init, params))
        rows = sum(int(np.shape(part[0])[0]) for part in (data, validation) if part is not None)
    except (TypeError, ValueError, AttributeError, IndexError, KeyError):
        return
    count = parameter_count(mlp.sizes)
    batch = min(config.batch_size, max(rows, 1))
    needed = training_bytes(mlp.sizes, batch_size=batch, examples=rows, itemsize=itemsize, optimizer_slots=0)
    check_fits(
        needed - itemsize * count + sum(leaf.size * np.dtype(leaf.dtype).itemsize for leaf in state),
        f"fit of {mlp} ({count:,} parameters, {rows:,} examples, batches of {batch})",
        "train a smaller network, on fewer examples at once, or in smaller batches",
    )
