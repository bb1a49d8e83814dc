"""The ``funcmlp`` command line: ``train``, ``evaluate``, ``check``, ``derive``.

Bad input prints one line ``funcmlp: error: ...`` on stderr and exits with status 2;
no traceback.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import signal
import sys
import time
from dataclasses import replace

from funcmlp.files import atomic_write

TASK_DEFAULTS = {
    "digits": dict(hidden=[256], activation="relu", output="identity", loss="softmax_cross_entropy", optimizer="adamw",
                   lr=2e-3, schedule="cosine", epochs=80, batch_size=32, dropout=0.3, weight_decay=1e-4),
    "xor": dict(hidden=[8], activation="tanh", output="sigmoid", loss="binary_cross_entropy", optimizer="adam",
                lr=0.05, schedule="constant", epochs=300, batch_size=4, dropout=0.0, weight_decay=0.0),
    "synthetic_regression": dict(hidden=[64, 64], activation="tanh", output="identity", loss="mse", optimizer="adam",
                                 lr=3e-3, schedule="cosine", epochs=100, batch_size=32, dropout=0.0, weight_decay=0.0),
    "house_price": dict(hidden=[2, 2], activation="relu", output="relu", loss="half_sse", optimizer="sgd",
                        lr=1e-7, schedule="constant", epochs=50, batch_size=1, dropout=0.0, weight_decay=0.0),
}
TASK_DEFAULTS["mnist"] = dict(hidden=[512, 256], activation="relu", output="identity", loss="softmax_cross_entropy", optimizer="adamw",
                              lr=1e-3, schedule="cosine", epochs=20, batch_size=128, dropout=0.2, weight_decay=1e-4)
TASK_DEFAULTS["and"] = TASK_DEFAULTS["or"] = TASK_DEFAULTS["xor"]


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        self.exit(2, f"funcmlp: error: {message} (see: {self.prog} --help)\n")


def _int_list(text: str) -> list[int]:
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 64,32, got {text!r}") from None
    return values


def _str_list(text: str) -> list[str]:
    return [v.strip() for v in text.split(",") if v.strip()]


def build_parser() -> argparse.ArgumentParser:
    from funcmlp.activations import ACTIVATION_NAMES
    from funcmlp.data import DATASETS
    from funcmlp.losses import LOSS_NAMES
    from funcmlp.optimizers import OPTIMIZER_NAMES, SCHEDULE_NAMES
    from funcmlp.training import GRADIENT_SOURCES

    parser = _Parser(prog="funcmlp", description="Multi-layer perceptrons as pure JAX functions with a hand-written backprop.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    train = sub.add_parser("train", help="train an MLP (default: the embedded 8x8 digits) and check its gradients",
                           description="Train an MLP, print accuracy and a gradient-check summary. Options left out take the data set's defaults.")
    train.add_argument("--data", default="digits", choices=sorted([*DATASETS, "mnist"]),
                       help="data set (default: digits, bundled with scikit-learn); mnist needs --data-path")
    train.add_argument("--data-path", help="for --data mnist: a folder with the four IDX files (gzip or not) or Kaggle's train.csv")
    train.add_argument("--hidden", type=_int_list, help="hidden layer widths, comma-separated (digits default: 256)")
    train.add_argument("--activation", help=f"hidden activation: {', '.join(ACTIVATION_NAMES)}; 'leaky_relu(0.2)' sets a parameter")
    train.add_argument("--output", help="output layer activation (digits default: identity, i.e. logits)")
    train.add_argument("--loss", choices=LOSS_NAMES, help="loss (digits default: softmax_cross_entropy)")
    train.add_argument("--reduction", choices=("mean", "sum"), default="mean", help="batch reduction of the loss (default: mean)")
    train.add_argument("--optimizer", choices=OPTIMIZER_NAMES, help="optimizer, via optax (digits default: adamw)")
    train.add_argument("--lr", type=float, help="(peak) learning rate")
    train.add_argument("--schedule", choices=SCHEDULE_NAMES, help="learning-rate schedule (digits default: cosine)")
    train.add_argument("--momentum", type=float, default=0.9, help="momentum / Nesterov coefficient (default 0.9)")
    train.add_argument("--weight-decay", type=float, help="decoupled weight decay for adamw")
    train.add_argument("--epochs", type=int, help="passes over the training data")
    train.add_argument("--batch-size", type=int, help="examples per step; ceil(N/B) steps per epoch")
    train.add_argument("--drop-last", action="store_true", help="drop the partial last batch instead of keeping it")
    train.add_argument("--dropout", type=float, help="inverted-dropout rate of the hidden layers (0 = none)")
    train.add_argument("--init", default="he_normal", help="weight initializer, e.g. glorot_uniform, normal(0.1) (default he_normal)")
    train.add_argument("--gradient", choices=GRADIENT_SOURCES, default="manual", help="manual backprop (default) or jax.grad")
    train.add_argument("--seed", type=int, default=0, help="seed of every jax.random key (split, init, shuffling, dropout)")
    train.add_argument("--float64", action="store_true", help="train in float64 (default float32)")
    train.add_argument("--out", help="folder for params.npz, history.csv and history.json")
    train.add_argument("--plots", action="store_true", help="also write curves.png (and confusion.png for classification) to --out")
    train.add_argument("--no-check", action="store_true", help="skip the gradient check after training")
    train.add_argument("--patience", type=int, metavar="N",
                       help="early stopping: stop when the validation loss has not improved for N epochs, keeping the best epoch's params")
    train.add_argument("--min-delta", type=float, default=0.0, help="with --patience: the improvement that counts (default 0)")
    train.add_argument("--on-nonfinite", choices=("stop", "skip"), default="stop",
                       help="a step whose loss or gradient is NaN/inf: stop with the last finite params (default) or skip it and count it")
    train.add_argument("--checkpoint-every", type=int, default=1, metavar="N",
                       help="with --out: write DIR/checkpoint.npz (params, optimizer state, key, history) every N epochs (default 1) and on Ctrl-C")
    train.add_argument("--resume", metavar="DIR", help="go on with a run from DIR/checkpoint.npz, with the options it was saved with "
                                                      "(a larger --epochs extends it); outputs go to DIR")
    train.add_argument("--quiet", action="store_true", help="print only the summary")
    scale = train.add_argument_group("several devices and hosts (data parallel: each batch split over the devices)")
    scale.add_argument("--devices", type=_devices, metavar="N|all",
                       help="train on N local devices (or all), params replicated, gradients summed across them (default: one device)")
    scale.add_argument("--coordinator", metavar="HOST:PORT",
                       help="several processes joined by jax.distributed: process 0's address; give --num-processes and --process-id too")
    scale.add_argument("--num-processes", type=int, metavar="N", help="with --coordinator: how many processes take part")
    scale.add_argument("--process-id", type=int, metavar="I", help="with --coordinator: this process's index, 0 to N-1 (0 writes the outputs)")
    scale.add_argument("--distributed", action="store_true",
                       help="join the other processes of a SLURM job or TPU pod slice, found by jax.distributed itself")

    evaluate = sub.add_parser("evaluate", help="evaluate a saved checkpoint on a data set's test split")
    evaluate.add_argument("checkpoint", help="params.npz written by funcmlp train --out")
    evaluate.add_argument("--data", default=None, choices=sorted([*DATASETS, "mnist"]), help="data set (default: the one it was trained on)")
    evaluate.add_argument("--data-path", help="for mnist: the IDX folder or Kaggle train.csv (default: the one it was trained on)")
    evaluate.add_argument("--loss", choices=LOSS_NAMES, help="loss (default: the one it was trained with)")
    evaluate.add_argument("--seed", type=int, default=None, help="split seed (default: the training seed)")

    predict = sub.add_parser("predict", help="class predictions of a saved model for unlabeled data (Kaggle's test.csv, IDX images, .npy)",
                             description="Write ImageId,Label (Kaggle's submission format) or, with --proba, the class probabilities.")
    predict.add_argument("checkpoint", help="params.npz written by funcmlp train --out")
    predict.add_argument("--data-path", required=True,
                         help="Kaggle's test.csv (pixel0..pixel783), an IDX image file, or a .npy array of inputs as the model saw them in training")
    predict.add_argument("--out", required=True, help="the CSV to write (atomically)")
    predict.add_argument("--proba", action="store_true", help="write the class probabilities instead of the labels")

    check = sub.add_parser("check", help="gradient check: manual backprop vs jax.grad vs finite differences (float64)")
    check.add_argument("--sizes", type=_int_list, default=[4, 8, 8, 3], help="layer sizes including inputs (default 4,8,8,3)")
    check.add_argument("--activations", type=_str_list, default=["sigmoid"], help="one activation for all layers or one per layer (default sigmoid)")
    check.add_argument("--output", default="identity", help="output activation (default identity)")
    check.add_argument("--loss", choices=LOSS_NAMES, default="softmax_cross_entropy", help="loss (default softmax_cross_entropy)")
    check.add_argument("--reduction", choices=("mean", "sum"), default="mean")
    check.add_argument("--batch", type=int, default=8, help="examples in the random batch (default 8)")
    check.add_argument("--init", default="glorot_normal", help="weight initializer (default glorot_normal)")
    check.add_argument("--seed", type=int, default=0)
    check.add_argument("--eps", type=float, default=1e-6, help="finite-difference step, positive (default 1e-6)")

    for command in (train, evaluate, predict, check):
        command.add_argument("--no-compile-cache", action="store_true",
                             help="compile everything afresh instead of using JAX's persistent cache in $XDG_CACHE_HOME/funcmlp "
                                  "or ~/.cache/funcmlp (also: FUNCMLP_NO_COMPILE_CACHE=1)")

    derive = sub.add_parser("derive", help="sympy: proofs of the backprop formulas, the seeds' worked examples with errata, a symbolic check",
                            description="funcmlp derive --list; funcmlp derive NAME [--format]; funcmlp derive --example FILE [--format]; "
                                        "funcmlp derive check --sizes 4,8,8,3 --activations sigmoid --loss sse")
    derive.add_argument("name", nargs="?", help="what to derive (see --list), or 'check' for a symbolic check of an architecture")
    derive.add_argument("--list", action="store_true", help="list the derivations")
    derive.add_argument("--example", metavar="FILE", help="a worked example of your own: a spec file (.toml or .json, see README), replayed exactly with its errata")
    derive.add_argument("--steps", type=int, help="a network example (--example FILE or a seed's): gradient steps to replay (overrides the file's)")
    derive.add_argument("--standalone", action="store_true", help="with --format latex: a complete document for pdflatex")
    derive.add_argument("--format", choices=("text", "latex", "markdown", "mermaid"), default="text",
                        help="output format (default text); mermaid draws a network example as a flowchart")
    derive.add_argument("--chain", metavar="WEIGHT", help="a network example: the chain-rule factors of one dL/dw, e.g. w^2_{1,3} "
                        "(row 1, column 3 of W^2 as the file writes it); networks of up to 20 weights get every dL/dw factored anyway")
    derive.add_argument("--plot", metavar="FILE.png", help="a network example: also draw it to a PNG (values, sensitivities, weight updates)")
    derive.add_argument("--sizes", type=_int_list, default=[2, 2, 1], help="check: layer sizes including inputs (default 2,2,1)")
    derive.add_argument("--activations", type=_str_list, default=["sigmoid"],
                        help=f"check: one activation for all layers or one per layer ({', '.join(ACTIVATION_NAMES)}; 'leaky_relu(0.2)' sets a parameter)")
    derive.add_argument("--loss", default="sse", choices=LOSS_NAMES, help="check: the loss (default sse)")
    derive.add_argument("--convention", choices=("row", "column"), default="row", help="check: weight layout of the printed Jacobians (default row)")
    derive.add_argument("--show", action="store_true", help="check: print every derived expression too (networks up to 100 parameters)")
    derive.add_argument("--method", choices=("auto", "composed", "graph", "local"), default="auto",
                        help="check: sympy.diff of the composed loss (small networks), reverse accumulation over its expression "
                             "graph, or the local definitions; auto = composed up to 40 parameters, graph beyond")
    return parser


def cmd_derive(args) -> int:
    from derivations import catalogue

    entries = catalogue.ENTRIES
    if args.standalone and args.format != "latex":
        raise ValueError("--standalone makes a LaTeX document; add --format latex")
    if args.example and args.name:
        raise ValueError(f"give either a derivation name ({args.name!r}) or --example FILE, not both")
    from derivations.spec import NETWORK_EXAMPLES

    if args.format == "mermaid" or args.plot or args.example or args.chain or (args.steps is not None and args.name in NETWORK_EXAMPLES):
        return _derive_network(args)
    if args.steps is not None:
        raise ValueError(f"--steps replays gradient steps of a network example: give --example FILE or one of {', '.join(NETWORK_EXAMPLES)}")
    if args.list or not args.name:
        print(f"{'check':<26} symbolic check of an architecture: funcmlp derive check --sizes 4,8,8,3 --activations sigmoid --loss sse")
        print("\n".join(f"{name:<26} {title}" for name, (title, _) in entries.items()))
        return 0
    if args.name == "check":
        activations = args.activations * (len(args.sizes) - 1) if len(args.activations) == 1 else args.activations
        text, passed = catalogue.architecture_check(tuple(args.sizes), tuple(activations), args.loss, args.convention, args.method, show=args.show)
        print(text)
        return 0 if passed else 1
    if args.name not in entries:
        raise ValueError(f"unknown derivation {args.name!r}; expected check or one of {', '.join(entries)} (funcmlp derive --list)")
    text, passed = entries[args.name][1](args.format)
    if args.standalone:
        from derivations.render import document

        text = document(text)
    print(text)
    return 0 if passed else 1


def _derive_network(args) -> int:
    """A network worked example (--example FILE or a seed's network): printed, drawn as
    Mermaid, and/or plotted to a PNG."""
    from derivations.picture import mermaid, plot_network
    from derivations.render import render
    from derivations.replay import run
    from derivations.spec import NETWORK_EXAMPLES, read_spec, seed_spec_path

    if args.example:
        source = args.example
    elif args.name in NETWORK_EXAMPLES:
        source = seed_spec_path(args.name)
    else:
        what = "--format mermaid" if args.format == "mermaid" else ("--plot" if args.plot else "--chain")
        raise ValueError(f"{what} draws a network worked example: give --example FILE or one of {', '.join(NETWORK_EXAMPLES)}"
                         + (f"; {args.name!r} is not one" if args.name else ""))
    if args.plot:
        _check_writable_png(args.plot)
    example = read_spec(source, steps=args.steps)
    derivation = run(example)
    if args.chain:
        from derivations.textbook import chain_rule

        line = chain_rule(derivation, example, args.chain)
        derivation.add(line.text_parts[0], f"chain rule: {line.text_parts[1]}", [line.value])
        derivation.steps[-1] = replace(derivation.steps[-1], lines=(line,))
    print(mermaid(example, derivation) if args.format == "mermaid" else render(derivation, args.format, standalone=args.standalone))
    if args.plot:
        print(f"wrote {plot_network(example, derivation, args.plot)}", file=sys.stderr)
    return 0 if not any(e.slip == "unexplained" for e in derivation.errata) or args.example else 1


def _sha256(path: str) -> str:
    import hashlib

    with open(path, "rb") as handle:
        return hashlib.sha256(handle.read()).hexdigest()


def _write_manifest(folder: str, names: list) -> None:
    """``manifest.json``, written last (atomically): the run's files with their SHA-256, so a
    reader can tell that params, history and plots are one run's set (a file that is missing
    or whose hash differs was left by another run, or interrupted)."""
    digests = {name: _sha256(os.path.join(folder, name)) for name in names}
    with atomic_write(os.path.join(folder, "manifest.json")) as handle:
        json.dump({"format": "funcmlp-run-manifest", "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "sha256": digests}, handle, indent=1)


def _check_manifest(checkpoint: str) -> None:
    """Where the checkpoint's folder has a ``manifest.json`` that lists it, its SHA-256 must be
    the one recorded: otherwise the file is from another run (or changed since)."""
    manifest = os.path.join(os.path.dirname(os.path.abspath(checkpoint)), "manifest.json")
    if not os.path.isfile(manifest):
        return
    try:
        with open(manifest) as handle:
            recorded = json.load(handle).get("sha256", {}).get(os.path.basename(checkpoint))
    except (OSError, ValueError, AttributeError):
        return  # not a manifest funcmlp wrote: nothing to compare with
    if recorded is not None and os.path.isfile(checkpoint) and _sha256(checkpoint) != recorded:
        raise ValueError(f"{checkpoint} is not the file {manifest} records (its SHA-256 differs): it is from another run or was "
                         "changed since; retrain into the folder, or remove manifest.json to use the file anyway")


SCALE_OPTIONS = ("devices", "coordinator", "num_processes", "process_id", "distributed")
"""train's options about where it runs: taken from the command that resumes, not the saved run."""


def _resumed(args):
    """The options saved with the run in ``args.resume`` (its --epochs replaced by a given one)."""
    from funcmlp.training_state import read_options, state_path

    if not os.path.exists(state_path(args.resume)):
        raise ValueError(f"--resume {args.resume}: no checkpoint.npz there; start a run with: funcmlp train --out {args.resume}")
    options = read_options(args.resume)
    if not options:
        raise ValueError(f"--resume {args.resume}: the checkpoint has no saved options (written by the library, not the command line)")
    resumed = argparse.Namespace(**options)
    resumed.resume, resumed.out = args.resume, args.resume
    if args.epochs is not None:
        resumed.epochs = args.epochs
    for name in ("quiet", "no_check", "no_compile_cache", "plots", *SCALE_OPTIONS):
        setattr(resumed, name, getattr(args, name))
    return resumed


def _check_writable_folder(folder: str) -> None:
    """A one-line error, before any data is loaded, where --out could not be written."""
    path = os.path.abspath(folder)
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"--out {folder}: {existing} is a file, not a folder; give a folder path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"--out {folder}: {existing} is not writable; give a folder you can write to")


def _check_writable_png(path: str) -> None:
    """A one-line error, before any work, where --plot could not write its picture."""
    if not path.lower().endswith(".png"):
        raise ValueError(f"--plot writes a PNG picture; give a file name ending in .png, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise ValueError(f"--plot {path}: that is a folder; give a file name such as {os.path.join(path, 'network.png')}")
    if not os.path.isdir(folder):
        raise ValueError(f"--plot {path}: the folder {folder} does not exist; create it or give another path")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"--plot {path}: the folder {folder} is not writable; give a path in a folder you can write to")


def _devices(text: str):
    """--devices: a positive count or 'all'."""
    if text == "all":
        return text
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a number of devices (1 or more) or 'all', got {text!r}")
    return count


def _join_processes(args) -> None:
    """jax.distributed.initialize from --coordinator/--num-processes/--process-id, or from the
    cluster's environment with --distributed; nothing without them."""
    import jax

    given = [args.coordinator, args.num_processes, args.process_id]
    if args.distributed and any(v is not None for v in given):
        raise ValueError("--distributed finds the processes itself; leave out --coordinator, --num-processes and --process-id, or --distributed")
    if any(v is not None for v in given) and not all(v is not None for v in given):
        raise ValueError("--coordinator, --num-processes and --process-id go together; e.g. "
                         "--coordinator 10.0.0.1:1234 --num-processes 2 --process-id 0 (and --process-id 1 on the other host)")
    if args.coordinator is not None:
        if ":" not in args.coordinator:
            raise ValueError(f"--coordinator {args.coordinator}: expected HOST:PORT, e.g. 10.0.0.1:1234")
        if args.num_processes < 1 or not 0 <= args.process_id < args.num_processes:
            raise ValueError(f"--process-id {args.process_id} with --num-processes {args.num_processes}: "
                             f"expected 0 <= process id < number of processes")
        options = dict(coordinator_address=args.coordinator, num_processes=args.num_processes, process_id=args.process_id)
    elif args.distributed:
        options = {}
    else:
        return
    try:
        jax.distributed.initialize(**options)
    except Exception as error:  # noqa: BLE001 -- any failure to join is the user's setup: one line
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"could not join the other processes (jax.distributed.initialize): {first}; every process needs the same "
                         "--coordinator and --num-processes and its own --process-id") from error


def _optimizer(args, total_steps):
    from funcmlp.optimizers import make_optimizer, make_schedule

    schedule = make_schedule(args.schedule, args.lr, total_steps=total_steps)
    return make_optimizer(args.optimizer, schedule, momentum=args.momentum, weight_decay=args.weight_decay)


def cmd_train(args) -> int:
    """train: in several processes only process 0 prints and writes."""
    import contextlib
    import io

    import jax

    if args.resume:
        args = _resumed(args)
    _join_processes(args)
    follower = jax.process_index() != 0
    args.quiet = args.quiet or follower
    with contextlib.redirect_stdout(io.StringIO()) if follower else contextlib.nullcontext():
        return _train(args)


def _train(args) -> int:
    import jax
    import numpy as np

    from funcmlp.batching import iterations_per_epoch
    from funcmlp.checkpoint import save_checkpoint
    from funcmlp.data import load_dataset
    from funcmlp.gradcheck import check_gradients
    from funcmlp.model import MLP
    from funcmlp.parallel import data_mesh
    from funcmlp.training import evaluate, fit

    defaults = TASK_DEFAULTS.get(args.data, TASK_DEFAULTS["synthetic_regression"])
    for name, value in defaults.items():
        if getattr(args, name, None) is None:
            setattr(args, name, value)
    if args.epochs < 1 or args.batch_size < 1:
        raise ValueError(f"--epochs and --batch-size must be at least 1, got {args.epochs} and {args.batch_size}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        raise ValueError(f"--lr must be a positive finite learning rate, got {args.lr}; e.g. --lr 1e-3")
    if args.data_path and args.data != "mnist":
        raise ValueError(f"--data-path is for --data mnist (IDX files or Kaggle's train.csv); --data {args.data} is built in")
    if args.plots and not args.out:
        raise ValueError("--plots writes into the --out folder; give --out DIR")
    if args.out:
        _check_writable_folder(args.out)
    if args.checkpoint_every < 1:
        raise ValueError(f"--checkpoint-every must be at least 1 epoch, got {args.checkpoint_every}")
    if args.patience is not None and args.patience < 1:
        raise ValueError(f"--patience must be at least 1 epoch, got {args.patience}")
    if args.float64:
        jax.config.update("jax_enable_x64", True)
    dtype = np.float64 if args.float64 else np.float32
    mesh = data_mesh(args.devices) if args.devices is not None or jax.process_count() > 1 else None

    data = load_dataset(args.data, seed=args.seed, path=args.data_path)
    if args.batch_size > len(data.x_train):
        print(f"note    --batch-size {args.batch_size} is more than the {len(data.x_train)} training examples: "
              f"using {len(data.x_train)} (one full batch per epoch)")
        args.batch_size = len(data.x_train)
    from funcmlp.losses import get_loss

    one_per_class = data.num_classes > 2 or get_loss(args.loss).spec.targets == "class"
    d_out = data.num_classes if one_per_class else (1 if data.num_classes == 2 else data.y_train.shape[1])
    mlp = MLP((data.num_features, *args.hidden, d_out), args.activation, output=args.output, dropout=args.dropout)
    key_init, key_fit, key_check = jax.random.split(jax.random.key(args.seed), 3)
    params = mlp.init(key_init, init=args.init, dtype=dtype)
    steps = iterations_per_epoch(len(data.x_train), args.batch_size, drop_last=args.drop_last)
    optimizer = _optimizer(args, args.epochs * steps)
    x_train, x_val, x_test = (a.astype(dtype) for a in (data.x_train, data.x_val, data.x_test))

    print(f"data    {data.describe()}")
    print(f"model   {mlp}; {sum(int(np.prod(l.shape)) for l in jax.tree_util.tree_leaves(params))} parameters")
    print(f"train   loss {args.loss} ({args.reduction}), {args.optimizer} lr {args.lr:g} ({args.schedule}), "
          f"{args.epochs} epochs x {steps} iterations of batch {args.batch_size}, gradient: {args.gradient}")
    if mesh is not None:
        processes = jax.process_count()
        print(f"devices {mesh.size} devices in {processes} process{'es' if processes > 1 else ''} ({mesh.devices.flat[0].platform}), "
              f"each batch split over them, params replicated")

    progress = _progress(args)
    start = time.perf_counter()
    params, history = fit(
        mlp, params, (x_train, data.y_train), loss=args.loss, optimizer=optimizer, epochs=args.epochs,
        batch_size=args.batch_size, key=key_fit, validation=(x_val, data.y_val), reduction=args.reduction,
        gradient=args.gradient, drop_last=args.drop_last, callback=progress,
        checkpoint_dir=args.out, checkpoint_every=args.checkpoint_every, resume=bool(args.resume), on_nonfinite=args.on_nonfinite,
        early_stopping=args.patience, min_delta=args.min_delta,
        checkpoint_options={k: v for k, v in vars(args).items() if k != "func"}, mesh=mesh,
    )
    params = jax.device_get(params)  # from the mesh (replicated) to the host
    seconds = time.perf_counter() - start
    if hasattr(progress, "close"):
        progress.close()
    test = evaluate(mlp, params, x_test, data.y_test, args.loss, reduction=args.reduction,
                    classification=data.num_classes > 0)
    per_epoch = float(np.median(history.epoch_seconds[1:] or history.epoch_seconds))
    acc = f", accuracy {test.accuracy:.4f}" if test.accuracy is not None else ""
    print(f"time    {seconds:.1f} s in all, {per_epoch * 1e3:.1f} ms per epoch (median, compiled)")
    if args.patience is not None:
        print(f"stop    {len(history.train_loss)} of {args.epochs} epochs run; the params of epoch {history.best_epoch} "
              f"(validation loss {history.val_loss[history.best_epoch - 1]:.4f}) kept")
    print(f"test    loss {test.loss:.4f}{acc} on {len(data.x_test)} examples")

    # the trained model is saved before the check: an interrupted or failing check loses nothing
    if args.out and jax.process_index() == 0:
        os.makedirs(args.out, exist_ok=True)
        extra = {"data": args.data, "data_path": args.data_path, "loss": args.loss, "seed": args.seed,
                 "test_loss": test.loss, "test_accuracy": test.accuracy}
        save_checkpoint(os.path.join(args.out, "params.npz"), mlp, params, extra=extra)
        rows = history.rows()
        with atomic_write(os.path.join(args.out, "history.csv"), newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        with atomic_write(os.path.join(args.out, "history.json")) as handle:
            json.dump({"options": {k: v for k, v in vars(args).items() if k != "func"}, "history": rows}, handle, indent=1)
        written = []
        if args.plots:
            from funcmlp.plots import plot_confusion, plot_history
            from funcmlp.training import predict

            written.append(plot_history(history, os.path.join(args.out, "curves.png"), title=f"{args.data}: {mlp}"))
            if data.num_classes > 2:
                predictions = np.asarray(predict(mlp, params, x_test))
                written.append(plot_confusion(data.y_test, predictions, os.path.join(args.out, "confusion.png"), data.num_classes,
                                              title=f"{args.data} test split"))
        _write_manifest(args.out, ["params.npz", "history.csv", "history.json", *(os.path.basename(path) for path in written)])
        print(f"saved   {os.path.join(args.out, 'params.npz')}, history.csv, history.json, manifest.json")
        if written:
            print(f"plots   {', '.join(written)}")
    if not args.no_check and jax.process_index() == 0:
        batch = min(16, len(x_train))
        start = time.perf_counter()
        report = check_gradients(mlp, params, data.x_train[:batch], data.y_train[:batch], args.loss,
                                 reduction=args.reduction, max_fd_entries=400, key=key_check)
        print(f"check   {report.summary()} (float64, {batch} training examples, {time.perf_counter() - start:.1f} s)")

    return 0


def _progress(args):
    if args.quiet:
        return None
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        tqdm = None
    if tqdm is not None and sys.stderr.isatty():
        bar = tqdm(total=args.epochs, unit="epoch", leave=False)

        def update(epoch, history):
            stats = {"loss": f"{history.train_loss[-1]:.4f}"}
            if history.val_accuracy:
                stats["val_acc"] = f"{history.val_accuracy[-1]:.4f}"
            bar.set_postfix(stats)
            bar.update(1)

        update.close = bar.close
        return update
    every = max(args.epochs // 10, 1)

    def report(epoch, history):
        if epoch % every == 0 or epoch == args.epochs:
            val = f", val loss {history.val_loss[-1]:.4f}" if history.val_loss else ""
            acc = f", val accuracy {history.val_accuracy[-1]:.4f}" if history.val_accuracy else ""
            print(f"epoch {epoch:>4}: train loss {history.train_loss[-1]:.4f}{val}{acc}", flush=True)

    return report


def cmd_evaluate(args) -> int:
    from funcmlp.checkpoint import checkpoint_extra, load_checkpoint
    from funcmlp.data import load_dataset
    from funcmlp.training import evaluate

    _check_manifest(args.checkpoint)
    mlp, params = load_checkpoint(args.checkpoint)
    extra = checkpoint_extra(args.checkpoint)
    data_name = args.data or extra.get("data", "digits")
    data_path = args.data_path or extra.get("data_path")
    loss = args.loss or extra.get("loss")
    if loss is None:
        raise ValueError(f"{args.checkpoint} does not record its loss; pass --loss")
    seed = args.seed if args.seed is not None else extra.get("seed", 0)
    data = load_dataset(data_name, seed=seed, path=data_path)
    if data.num_features != mlp.sizes[0]:
        raise ValueError(f"data set {data_name!r} has {data.num_features} features but the checkpoint's network takes {mlp.sizes[0]}")
    result = evaluate(mlp, params, data.x_test, data.y_test, loss, classification=data.num_classes > 0)
    acc = f", accuracy {result.accuracy:.4f}" if result.accuracy is not None else ""
    print(f"{mlp} on {data_name} test split ({len(data.x_test)} examples): loss {result.loss:.4f}{acc}")
    return 0


def _prediction_inputs(path: str, extra: dict, features: int):
    """The inputs of a prediction file, scaled as the model's training data were."""
    import numpy as np

    from funcmlp.data import scale_pixels
    from funcmlp.mnist import PIXELS, load_kaggle_csv, read_idx

    if path.endswith(".npy"):
        x = np.load(path, allow_pickle=False)
    else:
        if extra.get("data") != "mnist":
            raise ValueError(f"{path}: CSV and IDX files hold MNIST pixels, for a model trained with --data mnist; this one was trained on "
                             f"{extra.get('data', 'unknown data')!r}: give a .npy of its inputs, scaled as in training")
        pixels = load_kaggle_csv(path, labelled=False)[0] if path.endswith(".csv") else read_idx(path).reshape(-1, PIXELS)
        x = scale_pixels(pixels)
    x = np.asarray(x)
    if x.ndim != 2 or x.shape[1] != features:
        raise ValueError(f"{path}: inputs of shape {tuple(x.shape)}, the model takes (N, {features})")
    return x


def cmd_predict(args) -> int:
    import jax
    import numpy as np

    from funcmlp.checkpoint import checkpoint_extra, load_checkpoint
    from funcmlp.losses import get_loss
    from funcmlp.training import predict

    _check_manifest(args.checkpoint)
    mlp, params = load_checkpoint(args.checkpoint)
    extra = checkpoint_extra(args.checkpoint)
    x = _prediction_inputs(args.data_path, extra, mlp.sizes[0]).astype(np.asarray(params[0].W).dtype)
    loss = extra.get("loss")
    ids = np.arange(1, len(x) + 1)
    if args.proba:
        outputs = np.asarray(mlp.apply(params, x))
        if mlp.activations[-1].spec.probabilities:
            probabilities = outputs
        elif loss is not None and get_loss(loss).name == "softmax_cross_entropy":
            probabilities = np.asarray(jax.nn.softmax(outputs, axis=-1))
        else:
            raise ValueError(f"--proba needs a classifier with probabilities: a softmax output or softmax_cross_entropy logits; "
                             f"this model's output is {mlp.activations[-1]} with loss {loss}")
        with atomic_write(args.out, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["ImageId", *[f"p{k}" for k in range(probabilities.shape[1])]])
            writer.writerows([[i, *(f"{p:.6g}" for p in row)] for i, row in zip(ids, probabilities, strict=True)])
    else:
        labels = np.asarray(predict(mlp, params, x, loss=loss))
        with atomic_write(args.out, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["ImageId", "Label"])
            writer.writerows(zip(ids.tolist(), labels.tolist(), strict=True))
    print(f"wrote {args.out}: {len(x)} {'probability rows' if args.proba else 'predictions'} (ImageId from 1)")
    return 0


def cmd_check(args) -> int:
    import jax

    from funcmlp.gradcheck import check_gradients
    from funcmlp.losses import get_loss
    from funcmlp.model import MLP

    activations = args.activations[0] if len(args.activations) == 1 else args.activations
    mlp = MLP(tuple(args.sizes), activations, output=args.output)
    if args.batch < 1:
        raise ValueError(f"--batch must be at least 1, got {args.batch}")
    with jax.enable_x64(True):
        kp, kx, ky = jax.random.split(jax.random.key(args.seed), 3)
        params = mlp.init(kp, init=args.init, dtype="float64")
        x = jax.random.normal(kx, (args.batch, mlp.sizes[0]), "float64")
        d_out = mlp.sizes[-1]
        targets = get_loss(args.loss).spec.targets
        if targets == "class":
            y = jax.random.randint(ky, (args.batch,), 0, d_out)
        elif targets == "probability":
            y = jax.random.bernoulli(ky, 0.5, (args.batch, d_out)).astype("float64")
        else:
            y = jax.random.normal(ky, (args.batch, d_out), "float64")
        report = check_gradients(mlp, params, x, y, args.loss, reduction=args.reduction, eps=args.eps, max_fd_entries=None)
    print(f"{mlp}, loss {args.loss} ({args.reduction}), random batch of {args.batch}, seed {args.seed}")
    print(report)
    return 0 if report.passed else 1


COMMANDS = {"train": cmd_train, "evaluate": cmd_evaluate, "predict": cmd_predict, "check": cmd_check, "derive": cmd_derive}
COMPILING = ("train", "evaluate", "predict", "check")
"""Commands that compile JAX programs: they use the persistent compilation cache (funcmlp.compile_cache)."""


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in COMPILING and not args.no_compile_cache:
        from funcmlp.compile_cache import enable_compile_cache

        enable_compile_cache()
    try:
        return COMMANDS[args.command](args)
    except (ValueError, FileNotFoundError, ModuleNotFoundError, FloatingPointError, OSError) as error:
        message = str(error).splitlines()[0] if str(error) else type(error).__name__
        print(f"funcmlp: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("funcmlp: interrupted", file=sys.stderr)
        return 130


def run() -> int:
    """The ``funcmlp`` program: :func:`main`, then a Ctrl-C while the interpreter shuts down
    (JAX's exit handlers) is ignored, so the exit status stays main's (130 after an interrupt)."""
    status = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    return status


if __name__ == "__main__":
    sys.exit(run())
