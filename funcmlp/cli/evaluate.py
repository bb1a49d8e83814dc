"""``funcmlp evaluate RUN``: a saved model's loss and accuracy on its data set's test split.

RUN is a folder written by ``funcmlp train --out``, its ``model.npz`` or its
``training_state.npz``; the first line says which was found. A model of a table file is evaluated
on the labelled table ``--data-path`` names (``evaluate RUN`` alone names the file the run was tested
on), each row encoded by the model's rules for gaps and unseen values, as train's test step did: the
accuracy is the one train printed for the same rows.

Example:
    >>> import tempfile
    >>> from funcmlp.cli import main
    >>> run = tempfile.mkdtemp()
    >>> main(["train", "--data", "xor", "--epochs", "2", "--no-check", "--quiet", "--out", run])  # doctest: +ELLIPSIS
    test ...
    0
    >>> main(["evaluate", run])  # doctest: +ELLIPSIS
    /.../model.npz is a model (epoch 2 of 2), evaluating it
    MLP 2 -> ... on xor test split (4 examples): loss ...
    0
"""

from __future__ import annotations

from funcmlp.cli import table_data, table_model
from funcmlp.cli.common import add_compile_cache_option, loss_help, loss_name, seed


def add_parser(sub) -> None:
    from funcmlp.data.datasets import DATASETS

    evaluate = sub.add_parser(
        "evaluate", help="evaluate a saved model on its data set's test split (a table's model: on a labelled table)"
    )
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
        help="for mnist: the IDX folder or Kaggle train.csv; for a model of a table: a labelled table of its columns, "
        "evaluated on every row (needed: a path inside a file is never opened)",
    )
    evaluate.add_argument("--loss", type=loss_name, help=loss_help("default: the one it was trained with"))
    evaluate.add_argument("--seed", type=seed, default=None, help="split seed (default: the training seed)")
    evaluate.add_argument("--quiet", action="store_true", help="print only the result lines")
    add_compile_cache_option(evaluate)


def run(args) -> int:
    from funcmlp import evaluate
    from funcmlp.data.datasets import load_dataset
    from funcmlp.io.run_folder import open_model

    found = open_model(args.model)
    if not args.quiet:
        print(f"{found.describe()}, evaluating {'it' if found.kind == 'model' else 'its params'}")
    record = found.record
    data_name = args.data or record["data"]
    if data_name is None:
        raise ValueError(f"{found.path} does not record its data set; pass --data")
    loss = args.loss or record["loss"]
    if loss is None:
        raise ValueError(f"{found.path} does not record its loss; pass --loss")
    preprocessing = table_model.preprocessing_of(found)
    if preprocessing is not None:
        return _evaluate_table(args, found, preprocessing, loss)
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


def _evaluate_table(args, found, preprocessing, loss) -> int:
    """A model of a table on every row of the labelled table ``--data-path``, or on the test rows of
    scikit-learn's set it was trained on (split again with its seed and fractions)."""
    from funcmlp import evaluate
    from funcmlp.data.gaps import usable_rows

    record = found.record
    if args.data_path is not None:
        table = table_data.read(args.data_path, "--data-path")
        if preprocessing.target.name not in table.names:
            raise ValueError(
                f"{args.data_path} has no column {preprocessing.target.name!r}, the target the model predicts: "
                "evaluate needs the true values (for predictions alone: funcmlp predict)"
            )
        rows, what = table, f"{args.data_path} (every row)"
    elif record["data"] in table_data.SKLEARN_TABLES and not isinstance(record["table"].get("test"), str):
        from funcmlp.data.table_split import parse_split, split_table  # its test rows again, with the run's split

        rows = split_table(
            table_data.read(record["data"]),
            preprocessing.target.name,
            task=preprocessing.target.task,
            missing=preprocessing.missing,
            unknown=preprocessing.unknown,
            fractions=parse_split(record["table"].get("split"), with_test=False),
            seed=args.seed if args.seed is not None else record["seed"] or 0,
        ).test_rows
        what = f"{record['data']} test split"
    else:
        raise ValueError(table_model.where_tested(found))
    rows, notes = usable_rows(preprocessing, rows, "model")  # as train's test step: the model's rules
    for note in notes if not args.quiet else ():
        print(note)
    x, y = preprocessing.inputs(rows), preprocessing.targets(rows)
    classification = preprocessing.target.task == "classification"
    x = table_model.as_model_inputs(x, found.params, what)
    result = evaluate(found.mlp, found.params, x, y, loss, classification=classification)
    acc = f", accuracy {result.accuracy:.4f}" if result.accuracy is not None else ""
    print(f"{found.mlp} on {what} ({len(x)} examples): loss {result.loss:.4f}{acc}")
    if not classification:
        print(table_model.error_in_units(preprocessing, found.mlp, found.params, x, y, loss))
    return 0
