"""``funcmlp train``: load a data set, train an MLP, write the run folder, check the gradients.

The run folder (``--out DIR``) always ends with a model ``funcmlp evaluate`` takes: after a
finished run, an early stop, a divergence (the last finite params) or a Ctrl-C (the last whole
epoch), ``DIR/model.npz``, beside ``training_state.npz`` for ``--resume``. In several
processes only process 0 prints and writes. ``--quiet`` prints the result lines alone
(:data:`RESULTS`: the test results, the early stop, DP-SGD's clipping, where the model was saved, the
check) and the notes (something done otherwise than asked, a column that looks wrong); ``--describe``
prints how a table's columns were read and stops.

Example:
    >>> from funcmlp.cli import main
    >>> main(["train", "--data", "xor", "--epochs", "300", "--no-check", "--no-compile-cache"])  # doctest: +ELLIPSIS
    data    xor: 2 features, 2 classes; train 4, validation 4, test 4
    ...
    test    loss ..., accuracy 1.0000 on 4 examples
    0
    >>> main(["train", "--data", "xor", "--epochs", "3", "--no-check", "--no-compile-cache", "--quiet"])
    ... # doctest: +ELLIPSIS
    test    loss ..., accuracy ... on 4 examples
    0
"""

from __future__ import annotations

import contextlib
import io
import os
import time

from funcmlp.cli import data_record, processes, run_output, table_data, table_model, train_options
from funcmlp.cli.common import Interrupted
from funcmlp.cli.progress import progress_callback
from funcmlp.io.run_claim import check_folder, claim_folder, start_writing
from funcmlp.memory import OPTIMIZER_SLOTS, check_fits, parameter_count, training_bytes

RESULTS = ("test ", "stop ", "dp-sgd ", "saved ", "check ", "note ", "resume ", "devices ")
"""The lines ``--quiet`` prints (by their first word): results, notes on what was done otherwise than asked, and
(only in a run on several devices) where it ran."""


def _printer(args):
    """``print``, or with ``--quiet`` a print of the :data:`RESULTS` lines alone."""

    def say(line: str) -> None:
        if not args.quiet or line.startswith(RESULTS):
            print(line)

    return say


def add_parser(sub) -> None:
    train = sub.add_parser(
        "train",
        help="train an MLP (default: the embedded 8x8 digits) and check its gradients",
        description="Train an MLP, print accuracy and a gradient-check summary. Options left out take the data "
        "set's defaults (funcmlp.tasks).",
    )
    train_options.add_arguments(train)


def run(args) -> int:
    import jax

    notes = []
    args = train_options.settle(args, notes)
    if args.describe:
        return table_data.describe(args)
    if args.out is not None:
        check_folder(args)  # on every process, before they join: none trains while another refuses
    early = args.out is not None and args.process_id in (None, 0) and not args.distributed  # process 0, known now
    lock = claim_folder(args, notes) if early else None
    try:
        processes.join_processes(args)
        follower = jax.process_index() != 0
        if args.out is not None and args.distributed and not follower:  # process 0, known once joined
            lock = claim_folder(args, notes)
        args.quiet = args.quiet or follower
        with contextlib.redirect_stdout(io.StringIO()) if follower else contextlib.nullcontext():
            for note in notes:
                print(note)
            return _train(args)
    finally:
        if lock is not None:
            lock.release()


def _optimizer(args, total_steps: int):
    from funcmlp import make_optimizer, make_schedule

    schedule = make_schedule(args.schedule, args.lr, total_steps=total_steps)
    return make_optimizer(args.optimizer, schedule, momentum=args.momentum, weight_decay=args.weight_decay)


def _train(args) -> int:
    import jax
    import numpy as np

    from funcmlp import DPSGD, MLP, TrainConfig, TrainingDiverged, check_gradients, evaluate, fit, get_loss
    from funcmlp.data.datasets import load_dataset
    from funcmlp.training.batching import iterations_per_epoch
    from funcmlp.training.parallel import data_mesh

    if args.float64:
        jax.config.update("jax_enable_x64", True)
    dtype = np.float64 if args.float64 else np.float32
    mesh = data_mesh(args.devices) if args.devices is not None or jax.process_count() > 1 else None
    say, table = _printer(args), None
    if table_data.table_source(args.data, args.data_path) is not None:
        # a regression target is standardised for a loss on any real numbers (mapped back when predicting)
        table = table_data.load(args, scale_target=get_loss(args.loss).target_kind.low is None)
        data = table.dataset
        if data.num_classes == 0 and get_loss(args.loss).is_classification:
            raise ValueError(
                f"the loss {args.loss} is for classes, but {table.preprocessing.target.name!r} is a regression target; "
                "give a regression loss (mse, huber, absolute_error, poisson) or --task classification"
            )
        for note in table.notes:
            say(f"table   {note}")
    else:
        data = load_dataset(args.data, seed=args.seed, path=args.data_path)
    if args.resume:
        for note in data_record.check_unchanged(args, args.data_files, args.out):
            print(note)
    args.data_files = data_record.fingerprints(args)  # recorded with the run's options
    if args.batch_size > len(data.x_train):
        say(
            f"note    --batch-size {args.batch_size} is more than the {len(data.x_train)} training examples: "
            f"using {len(data.x_train)} (one full batch per epoch)"
        )
        args.batch_size = len(data.x_train)
    one_per_class = data.num_classes > 2 or get_loss(args.loss).spec.targets == "class"
    d_out = data.num_classes if one_per_class else (1 if data.num_classes == 2 else data.y_train.shape[1])
    mlp = MLP((data.num_features, *args.hidden, d_out), args.activation, output=args.output, dropout=args.dropout)
    check_fits(
        training_bytes(
            mlp.sizes,
            batch_size=args.batch_size,
            examples=len(data.x_train) + len(data.x_val),
            itemsize=np.dtype(dtype).itemsize,
            optimizer_slots=OPTIMIZER_SLOTS.get(args.optimizer, 2),
        ),
        f"training {mlp} ({parameter_count(mlp.sizes):,} parameters, {args.optimizer}, batches of {args.batch_size})",
        "use fewer or narrower --hidden layers or a smaller --batch-size",
    )
    key_init, key_fit, key_check = jax.random.split(jax.random.key(args.seed), 3)
    params = mlp.init(key_init, init=args.init, dtype=dtype)
    steps = iterations_per_epoch(len(data.x_train), args.batch_size, drop_last=args.drop_last)
    optimizer = _optimizer(args, args.epochs * steps)
    x_train, x_val, x_test = (a.astype(dtype) for a in (data.x_train, data.x_val, data.x_test))

    say(f"data    {data.describe()}")
    if table is not None:
        from funcmlp.data.table_report import columns_line, warnings

        left_out = f"; left out: {', '.join(table_data.table_dropped(args))}" if args.ignore else ""
        say(f"columns {columns_line(table.columns)}{left_out}")
        for line in warnings(table.columns):
            say(f"note    {line}")
    say(f"model   {mlp}; {parameter_count(mlp.sizes)} parameters")
    say(
        f"train   loss {args.loss} ({args.reduction}), {args.optimizer} lr {args.lr:g} ({args.schedule}), "
        f"{args.epochs} epochs x {steps} iterations of batch {args.batch_size}, gradient: {args.gradient}"
    )
    if mesh is not None:
        count = jax.process_count()
        say(
            f"devices {mesh.size} devices in {count} process{'es' if count > 1 else ''} "
            f"({mesh.devices.flat[0].platform}), "
            f"each batch split over them, params replicated"
        )

    config = TrainConfig(
        loss=args.loss,
        optimizer=optimizer,
        batch_size=args.batch_size,
        reduction=args.reduction,
        gradient=args.gradient,
        drop_last=args.drop_last,
        on_nonfinite=args.on_nonfinite,
        mesh=mesh,
        dp_sgd=None if args.dp_max_norm is None else DPSGD(args.dp_max_norm, args.dp_noise or 0.0),
    )
    progress = progress_callback(args)
    start = time.perf_counter()
    writes = args.out is not None and jax.process_index() == 0
    removed = start_writing(args) if writes else ""
    if removed:
        say(removed)
    try:
        params, history = fit(
            mlp,
            params,
            (x_train, data.y_train),
            config=config,
            epochs=args.epochs,
            key=key_fit,
            validation=(x_val, data.y_val) if len(x_val) else None,  # --split 1,0: no validation rows
            callback=progress,
            checkpoint_dir=args.out,
            checkpoint_every=args.checkpoint_every,
            resume=bool(args.resume),
            early_stopping=args.patience,
            min_delta=args.min_delta,
            checkpoint_options=train_options.run_options(args),
        )
    except TrainingDiverged as diverged:
        message = f"training diverged at epoch {diverged.epoch}, step {diverged.step}: {diverged.where}; "
        if writes:
            run_output.save(
                args, mlp, jax.device_get(diverged.params), diverged.history, diverged.epoch - 1, "diverged"
            )
        if args.out is not None:  # written by process 0
            raise ValueError(
                message + f"the last finite model is saved in {os.path.join(args.out, 'model.npz')}; go on with a "
                f"lower learning rate: funcmlp train --resume {args.out} --lr {args.lr / 10:g}"
            ) from None
        raise ValueError(
            message + f"nothing saved (no --out); try a lower learning rate, e.g. --lr {args.lr / 10:g}"
        ) from None
    except KeyboardInterrupt:
        if writes:
            raise Interrupted(run_output.save_interrupted(args, mlp, params)) from None
        raise
    finally:
        if hasattr(progress, "close"):
            progress.close()
    params = jax.device_get(params)  # from the mesh (replicated) to the host
    seconds = time.perf_counter() - start
    test = evaluate(
        mlp, params, x_test, data.y_test, args.loss, reduction=args.reduction, classification=data.num_classes > 0
    )
    per_epoch = float(np.median(history.epoch_seconds[1:] or history.epoch_seconds))
    acc = f", accuracy {test.accuracy:.4f}" if test.accuracy is not None else ""
    say(f"time    {seconds:.1f} s in all, {per_epoch * 1e3:.1f} ms per epoch (median, compiled)")
    if history.clipped_fraction:
        say(
            f"dp-sgd  examples clipped to norm {args.dp_max_norm:g}: {history.clipped_fraction[0]:.3f} of epoch 1, "
            f"{history.clipped_fraction[-1]:.3f} of the last; noise multiplier {args.dp_noise or 0:g} (the privacy "
            "budget is not accounted here)"
        )
    if args.patience is not None:
        say(
            f"stop    {len(history.train_loss)} of {args.epochs} epochs run; the params of epoch {history.best_epoch} "
            f"(validation loss {history.val_loss[history.best_epoch - 1]:.4f}) kept"
        )
    say(f"test    loss {test.loss:.4f}{acc} on {len(data.x_test)} examples")
    if table is not None and data.num_classes == 0:
        say(f"test    {table_model.error_in_units(table.preprocessing, mlp, params, x_test, data.y_test, args.loss)}")

    # the trained model is saved before the check: an interrupted or failing check loses nothing
    if writes:
        stopped = args.patience is not None and len(history.train_loss) < args.epochs
        epoch = history.best_epoch if args.patience is not None else len(history.train_loss)
        plots = run_output.plots(args, mlp, params, history, data, x_test)
        written = run_output.save(
            args,
            mlp,
            params,
            history,
            epoch,
            "stopped early" if stopped else "finished",
            {
                "test_loss": test.loss,
                "test_accuracy": test.accuracy,
                "table": None if table is None else table_model.model_record(args, table),
            },
            plots,
        )
        say(f"saved   {os.path.join(args.out, 'model.npz')}, {', '.join(written[1:])}")
    if not args.no_check and jax.process_index() == 0:
        batch = min(16, len(x_train))
        start = time.perf_counter()
        report = check_gradients(
            mlp,
            params,
            data.x_train[:batch],
            data.y_train[:batch],
            args.loss,
            reduction=args.reduction,
            max_fd_entries=400,
            key=key_check,
        )
        say(f"check   {report.summary()} (float64, {batch} training examples, {time.perf_counter() - start:.1f} s)")
    return 0
