"""``funcmlp train``'s options: their parser, a fresh run's defaults, and ``--resume``'s rules.

A fresh run fills every option left out from :data:`DEFAULTS` and the data set's :func:`funcmlp.tasks.task_preset`.
``--resume DIR`` takes the options saved in ``DIR/training_state.npz`` (parsed again, as if typed: an edited file is
refused in one line); given with it, the options in :data:`MAY_CHANGE` take effect (reported), any other that differs
from the run's is refused, naming each.

Example:
    >>> args = train_parser().parse_args(["--data", "xor", "--lr", "0.1"])
    >>> fresh = settle(args); fresh.hidden, fresh.lr, fresh.reduction
    ([8], 0.1, 'mean')
"""

from __future__ import annotations

import argparse
import math
import os
import re
import uuid

import numpy as np

from funcmlp.arguments import check_number
from funcmlp.cli import processes, table_data
from funcmlp.cli.common import (
    Parser,
    add_compile_cache_option,
    check_writable_folder,
    int_list,
    loss_help,
    loss_name,
    seed,
)

DEFAULTS = dict(
    data="digits",
    reduction="mean",
    momentum=0.9,
    init="he_normal",
    gradient="manual",
    seed=0,
    min_delta=0.0,
    on_nonfinite="stop",
    checkpoint_every=1,
    drop_last=False,
    float64=False,
    data_path=None,
    patience=None,
)
"""A fresh run's values of the options the task presets do not set."""
MAX_HIDDEN_LAYERS = 64
"""The deepest network ``funcmlp train`` compiles (64 layers of 4 units: about 45 s on a CPU)."""
MAY_CHANGE = ("epochs", "lr", "schedule", "patience", "min_delta", "on_nonfinite", "checkpoint_every")
"""Options ``--resume`` takes from the command line; every other saved option is the run's for good."""
SESSION = ("out", "overwrite", "plots", "no_check", "quiet", "describe", "no_compile_cache", "resume")
SESSION += processes.SCALE_OPTIONS
"""Options of one invocation, never saved: where it writes, what it prints, where it runs."""


def add_arguments(train) -> None:
    """train's options; every run option defaults to None here, so that a given one is known."""
    from funcmlp import ACTIVATION_NAMES
    from funcmlp.training.optimizers import OPTIMIZER_NAMES, SCHEDULE_NAMES

    add = train.add_argument
    table_data.add_arguments(add)  # --data, --data-path and the table options
    add("--hidden", type=int_list, help="hidden layer widths, comma-separated (digits default: 256)")
    add("--activation", help=f"hidden activation: {', '.join(ACTIVATION_NAMES)}; 'leaky_relu(0.2)' sets a parameter")
    add("--output", help="output layer activation (digits default: identity, i.e. logits)")
    add("--loss", type=loss_name, help=loss_help("digits default: softmax_cross_entropy"))
    add("--reduction", choices=("mean", "sum"), help="batch reduction of the loss (default: mean)")
    add("--optimizer", choices=OPTIMIZER_NAMES, help="optimizer, via optax (digits default: adamw)")
    add("--lr", type=float, help="(peak) learning rate")
    add("--schedule", choices=SCHEDULE_NAMES, help="learning-rate schedule (digits default: cosine)")
    add("--momentum", type=float, help="momentum / Nesterov coefficient (default 0.9)")
    add("--weight-decay", type=float, help="decoupled weight decay for adamw")
    add("--epochs", type=int, help="passes over the training data")
    add("--batch-size", type=int, help="examples per step; ceil(N/B) steps per epoch")
    add("--drop-last", action="store_true", default=None, help="drop the partial last batch instead of keeping it")
    add("--dropout", type=float, help="inverted-dropout rate of the hidden layers (0 = none)")
    add("--init", help="weight initializer, e.g. glorot_uniform, normal(0.1) (default he_normal)")
    add("--gradient", choices=("manual", "autodiff"), help="manual backprop (default) or jax.grad")
    add("--seed", type=seed, help="seed of every jax.random key (split, init, shuffling, dropout), 0 to 2**32 - 1")
    add("--dp-max-norm", type=float, help="DP-SGD: clip each example's gradient to this L2 norm (see --dp-noise)")
    add(
        "--dp-noise",
        type=float,
        help="DP-SGD's noise multiplier, with --dp-max-norm (default 0); no privacy accounting",
    )
    add("--float64", action="store_true", default=None, help="train in float64 (default float32)")
    add("--out", help="folder for model.npz, training_state.npz, history.csv, history.json and manifest.json")
    add("--plots", action="store_true", help="also write curves.png (and confusion.png for classification) to --out")
    add("--no-check", action="store_true", help="skip the gradient check after training")
    add(
        "--patience",
        type=int,
        metavar="N",
        help="early stopping: stop when the validation loss has not improved for N epochs, "
        "keeping the best epoch's params",
    )
    add("--min-delta", type=float, help="with --patience: the improvement that counts (default 0)")
    add(
        "--on-nonfinite",
        choices=("stop", "skip"),
        help="a step whose loss or gradient is NaN/inf: stop with the last finite params (default) "
        "or skip it and count it",
    )
    add(
        "--checkpoint-every",
        type=int,
        metavar="N",
        help="with --out: write DIR/training_state.npz (params, optimizer state, key, history) every N epochs "
        "(default 1) and on Ctrl-C",
    )
    add(
        "--resume",
        metavar="DIR",
        help="go on with the run in DIR (its training_state.npz): "
        f"{', '.join('--' + n.replace('_', '-') for n in MAY_CHANGE)} "
        "may be given anew; the other options are the run's",
    )
    add(
        "--overwrite",
        action="store_true",
        help="with --out: replace the run already in that folder (its files are removed first; nothing else is)",
    )
    add("--quiet", action="store_true", help="print only the result lines (test, stop, saved, check) and notes")
    processes.add_arguments(train)
    add_compile_cache_option(train)


def train_parser() -> Parser:
    """A parser of train's options alone (the one ``--resume`` reads saved options with)."""
    parser = Parser(prog="funcmlp train", add_help=False)
    add_arguments(parser)
    return parser


def run_options(args) -> dict:
    """The options that define a run (saved with its state), as JSON values."""
    return {name: value for name, value in vars(args).items() if name not in SESSION and name not in ("command", "run")}


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _shown(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, list) else "none" if value is None else str(value)


def settle(args, notes: list | None = None):
    """The options of the run ``args`` asks for: a fresh run's with defaults and the task preset,
    or with ``--resume`` the saved run's with the allowed changes (one line each in ``notes``)."""
    table_data.name_the_data(args)
    if args.resume:
        args = _resumed(args, notes if notes is not None else [])
    else:
        from funcmlp.tasks import task_preset

        table = table_data.table_source(args.data, args.data_path) is not None
        preset = f"table_{table_data.task_of(args)}" if table else args.data or DEFAULTS["data"]
        for name, value in {**DEFAULTS, **task_preset(preset).options()}.items():
            if getattr(args, name) is None:
                setattr(args, name, value)
        args.run_id = uuid.uuid4().hex
    _check(args)
    return args


def _check(args) -> None:
    """Every option's value, before any data is loaded."""
    if len(args.hidden) > MAX_HIDDEN_LAYERS:
        raise ValueError(
            f"--hidden gives {len(args.hidden)} hidden layers; the command line trains at most {MAX_HIDDEN_LAYERS} "
            "(compiling takes about a second per layer): give fewer, or call funcmlp.fit from Python"
        )
    if args.epochs < 1 or args.batch_size < 1:
        raise ValueError(f"--epochs and --batch-size must be at least 1, got {args.epochs} and {args.batch_size}")
    check_number(args.lr, "--lr", above=0, example="--lr 1e-3")
    dtype = "float64" if args.float64 else "float32"
    for name in ("lr", "weight_decay"):
        value = getattr(args, name)
        if math.isfinite(value) and abs(value) > float(np.finfo(dtype).max):
            raise ValueError(
                f"{_flag(name)} {value:g} is more than {dtype} holds (at most {float(np.finfo(dtype).max):.3g}): every "
                "update would overflow; give a smaller value" + ("" if args.float64 else ", or train with --float64")
            )
    check_number(args.momentum, "--momentum", at_least=0, below=1)
    check_number(args.weight_decay, "--weight-decay", at_least=0)
    check_number(args.min_delta, "--min-delta", at_least=0)
    if args.data_path and args.data not in ("mnist", table_data.TABLE):
        raise ValueError(f"--data-path is for --data mnist (IDX files or train.csv); --data {args.data} is built in")
    table_data.check_options(args)
    if args.plots and not args.out:
        raise ValueError("--plots writes into the --out folder; give --out DIR")
    if args.out:
        check_writable_folder(args.out)
    if args.overwrite and (args.resume or not args.out):
        raise ValueError("--overwrite replaces the run in an --out folder with a new one; give --out DIR, not --resume")
    if args.checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every must be at least 1 epoch, got {args.checkpoint_every}")
    if args.dp_noise is not None and args.dp_max_norm is None:
        raise ValueError("--dp-noise is DP-SGD's noise multiplier and needs --dp-max-norm, the norm it scales")
    if args.dp_max_norm is not None:
        check_number(args.dp_max_norm, "--dp-max-norm", above=0, example="--dp-max-norm 1.0")
        check_number(args.dp_noise or 0.0, "--dp-noise", at_least=0, example="--dp-noise 1.1")
    if args.patience is not None and args.patience < 1:
        raise ValueError(f"--patience must be at least 1 epoch, got {args.patience}")
    processes.check_options(args)  # the distributed options, before any folder is claimed or process waited for


def _saved(folder: str) -> tuple[dict, int, dict]:
    """The run options saved in ``folder``'s training state, parsed again as if typed (with the
    run id), its epoch and its history."""
    from funcmlp.io.run_names import OLD_NAMES
    from funcmlp.io.training_state import read_state_header, state_path

    path = state_path(folder)
    if not os.path.exists(path):
        old = [name for name in OLD_NAMES if os.path.exists(os.path.join(folder, name))]
        hint = f" ({' and '.join(old)}: an earlier funcmlp's files, read no more)" if old else ""
        raise ValueError(
            f"--resume {folder}: no training_state.npz there{hint}; start a run with: funcmlp train --out {folder}"
        )
    header = read_state_header(path)
    options = dict(header["options"])
    run_id = options.pop("run_id", None)
    data_files = options.pop("data_files", None)  # checked where it is read (data_record.check_unchanged)
    if run_id is not None and not (isinstance(run_id, str) and re.fullmatch(r"[0-9a-f]{32}", run_id)):
        raise ValueError(
            f"--resume {folder}: the saved run id {str(run_id)[:40]!r} is not one funcmlp writes; the training state "
            "was edited or damaged: start a new run with --out ANOTHER_DIR"
        )
    if not options:
        raise ValueError(
            f"--resume {folder}: the training state has no saved options (written by the library, not the command line)"
        )
    known = set(run_options(train_parser().parse_args([])))
    argv = []
    for name, value in options.items():
        kind = bool if name in ("drop_last", "float64") else list if name == "hidden" else (str, int, float)
        if name not in known or (
            value is not None and (not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)))
        ):
            raise ValueError(
                f"--resume {folder}: the saved option {name} = {str(value)[:60]!r} is not one funcmlp train takes; "
                f"the training state was edited or damaged: start a new run with --out ANOTHER_DIR"
            )
        if value is not None and value is not False:
            argv.append(_flag(name) if value is True else f"{_flag(name)}={_shown(value)}")
    missing = sorted(known - set(options) - {"data_path", "patience", *table_data.TABLE_OPTIONS})
    try:
        if missing:
            raise ValueError(f"{', '.join(map(_flag, missing))} missing")
        parsed = vars(train_parser().parse_args(argv))
    except ValueError as error:
        raise ValueError(
            f"--resume {folder}: the saved options are not what funcmlp train takes ({str(error).split(' (see:')[0]}); "
            "the training state was edited or damaged: start a new run with --out ANOTHER_DIR"
        ) from None
    parsed.update({name: False for name in ("drop_last", "float64") if not parsed[name]})
    options = {**{name: parsed[name] for name in known}, "run_id": run_id or uuid.uuid4().hex, "data_files": data_files}
    return options, header["epoch"], header["history"]


def _resumed(args, notes: list):
    folder = args.resume
    if args.out is not None and os.path.abspath(args.out) != os.path.abspath(folder):
        raise ValueError(
            f"--resume {folder} writes into {folder}; leave out --out {args.out}, or start a new run there"
        )
    saved, epoch, history = _saved(folder)
    given = {name for name in saved if getattr(args, name, None) is not None}
    refused = [
        f"{_flag(name)} {_shown(getattr(args, name))} (the run's: {_shown(saved[name])})"
        for name in sorted(given - set(MAY_CHANGE))
        if getattr(args, name) != saved[name]
    ]
    paths = " (a file's path: give the run's)" if any(r.startswith(("--data-path", "--test")) for r in refused) else ""
    if refused:
        raise ValueError(
            f"--resume {folder}: {'; '.join(refused)} cannot change in a run that goes on; leave "
            f"{'it' if len(refused) == 1 else 'them'} out{paths}, or start a new run with --out ANOTHER_DIR"
        )
    if saved["data_path"] is not None and args.data_path is None:  # a path inside a file is shown, never opened
        raise ValueError(
            f"--resume {folder}: the run read its data from {saved['data_path'][:200]!r}, as its training state says; "
            "funcmlp reads only files named on its command line: give --data-path again"
        )
    if saved.get("test") is not None and args.test is None:  # the same: a path inside a file is never opened
        raise ValueError(
            f"--resume {folder}: the run read its test rows from {saved['test'][:200]!r}, as its training state says; "
            "funcmlp reads only files named on its command line: give --test again"
        )
    resumed = argparse.Namespace(**{**vars(args), **saved, "out": folder})
    for name in MAY_CHANGE:
        if name in given and getattr(args, name) != saved[name]:
            setattr(resumed, name, getattr(args, name))
            notes.append(
                f"resume  {_flag(name)} {_shown(getattr(args, name))} takes effect (the run had {_shown(saved[name])})"
            )
    if resumed.epochs < epoch:
        raise ValueError(
            f"--resume {folder}: --epochs {resumed.epochs}, but the run has done {epoch} epochs; "
            "give more, or leave it out"
        )
    best = history.get("best_epoch")
    if resumed.epochs == epoch or (resumed.patience is not None and best and epoch - best >= resumed.patience):
        why = f"done all its {epoch} epochs" if resumed.epochs == epoch else f"stopped early (best epoch {best})"
        notes.insert(
            0,
            f"resume  {folder}/training_state.npz: the run has {why}: nothing to train, its files are written "
            "again" + (f" (to train on: --epochs {2 * epoch})" if resumed.epochs == epoch else ""),
        )
    else:
        notes.insert(0, f"resume  {folder}/training_state.npz: epoch {epoch} of {resumed.epochs} done, going on")
    return resumed
