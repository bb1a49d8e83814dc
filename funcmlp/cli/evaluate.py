"""``funcmlp evaluate RUN``: a saved model's loss and accuracy on its data set's test split.

RUN is a folder written by ``funcmlp train --out``, its ``model.npz`` or its
``training_state.npz``; the first line says which was found.

Example:
    >>> import tempfile
    >>> from funcmlp.cli import main
    >>> run = tempfile.mkdtemp()
    >>> main(["train", "--data", "xor", "--epochs", "2", "--no-check", "--quiet", "--out", run])  # doctest: +ELLIPSIS
    data ...
    0
    >>> main(["evaluate", run])  # doctest: +ELLIPSIS
    /.../model.npz is a model (epoch 2 of 2), evaluating it
    MLP 2 -> ... on xor test split (4 examples): loss ...
    0
"""

from __future__ import annotations

from funcmlp.cli.common import add_compile_cache_option, loss_help, loss_name, seed


def add_parser(sub) -> None:
    from funcmlp.data.datasets import DATASETS

    evaluate = sub.add_parser("evaluate", help="evaluate a saved model on its data set's test split")
    evaluate.add_argument(
        "model", metavar="RUN", help="a folder written by funcmlp train --out, its model.npz or its training_state.npz"
    )
    evaluate.add_argument(
        "--data",
        default=None,
        choices=sorted([*DATASETS, "mnist"]),
        help="data set (default: the one it was trained on)",
    )
    evaluate.add_argument(
        "--data-path",
        help="for mnist: the IDX folder or Kaggle train.csv (needed: a path inside a file is never opened)",
    )
    evaluate.add_argument("--loss", type=loss_name, help=loss_help("default: the one it was trained with"))
    evaluate.add_argument("--seed", type=seed, default=None, help="split seed (default: the training seed)")
    add_compile_cache_option(evaluate)


def run(args) -> int:
    from funcmlp import evaluate
    from funcmlp.data.datasets import load_dataset
    from funcmlp.io.run_folder import open_model

    found = open_model(args.model)
    print(f"{found.describe()}, evaluating {'it' if found.kind == 'model' else 'its params'}")
    record = found.record
    data_name = args.data or record["data"]
    if data_name is None:
        raise ValueError(f"{found.path} does not record its data set; pass --data")
    loss = args.loss or record["loss"]
    if loss is None:
        raise ValueError(f"{found.path} does not record its loss; pass --loss")
    if data_name == "mnist" and args.data_path is None:  # a path inside a file is shown, never opened
        recorded = f" (it records {record['data_path'][:200]!r})" if record["data_path"] else ""
        raise ValueError(
            f"{found.path} was trained on mnist{recorded}; funcmlp reads only files named on its command line: "
            "pass --data-path with the IDX folder or Kaggle train.csv"
        )
    seed = args.seed if args.seed is not None else record["seed"] or 0
    data = load_dataset(data_name, seed=seed, path=args.data_path)
    if data.num_features != found.mlp.sizes[0]:
        raise ValueError(
            f"data set {data_name!r} has {data.num_features} features but the saved network takes {found.mlp.sizes[0]}"
        )
    result = evaluate(found.mlp, found.params, data.x_test, data.y_test, loss, classification=data.num_classes > 0)
    acc = f", accuracy {result.accuracy:.4f}" if result.accuracy is not None else ""
    print(f"{found.mlp} on {data_name} test split ({len(data.x_test)} examples): loss {result.loss:.4f}{acc}")
    return 0
