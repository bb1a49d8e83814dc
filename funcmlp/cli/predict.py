"""``funcmlp predict RUN --data-path FILE --out FILE.csv``: a saved model's classes (or probabilities) for new inputs.

A model trained on a table takes a table file with its columns (the target column may be there or
not), applies the preprocessing saved with it and writes ``row,TARGET``: the class names, or the
target's values in its own units (``--proba``: one column per class name); ``--id COLUMN`` puts that
column's cells in place of the row numbers. A row the model's rules for gaps and unseen values
refuse (``funcmlp train --missing``, ``--unknown``) is left empty and named; the others are scored
(:mod:`funcmlp.cli.table_predict`). Other inputs: Kaggle's
``test.csv`` or an IDX image file (for models trained with ``--data mnist``), or a ``.npy`` array
of inputs as the model saw them in training. The output is Kaggle's submission format
``ImageId,Label`` (or, with ``--proba``, the class probabilities).

Example:
    >>> import jax, os, tempfile, numpy as np
    >>> from funcmlp import MLP
    >>> from funcmlp.cli import main
    >>> from funcmlp.io.model_file import save_model
    >>> folder = tempfile.mkdtemp(); mlp = MLP((2, 3), "identity")
    >>> extra = {"loss": "softmax_cross_entropy"}
    >>> save_model(os.path.join(folder, "model.npz"), mlp, mlp.init(jax.random.key(0)), extra=extra)
    >>> np.save(os.path.join(folder, "x.npy"), np.ones((4, 2)))
    >>> x, out = os.path.join(folder, "x.npy"), os.path.join(folder, "p.csv")
    >>> main(["predict", folder, "--data-path", x, "--out", out])  # doctest: +ELLIPSIS
    /.../model.npz is a model (epoch unknown), predicting with it
    wrote /.../p.csv: 4 predictions (ImageId from 1)
    0
"""

from __future__ import annotations

import csv

from funcmlp.cli import table_model, table_predict
from funcmlp.cli.common import add_compile_cache_option, check_writable_file
from funcmlp.io.files import atomic_write


def add_parser(sub) -> None:
    predict = sub.add_parser(
        "predict",
        help="predictions of a saved model for new data (a table's rows, Kaggle's test.csv, IDX images, .npy)",
        description="Write a model of a table's class names or values (row,TARGET), or ImageId,Label (Kaggle's "
        "submission format); with --proba, the class probabilities. A table's row that the model's rules refuse (a "
        "gap, a value never seen in training: funcmlp train --missing, --unknown) is left empty and named; every "
        "other row is scored.",
    )
    predict.add_argument(
        "model", metavar="RUN", help="a folder written by funcmlp train --out, its model.npz or its training_state.npz"
    )
    predict.add_argument(
        "--data-path",
        required=True,
        help="a table file with the columns the model was trained on (a model of a table), Kaggle's test.csv "
        "(pixel0..pixel783), an IDX image file, or a .npy array of inputs as the model saw them in training",
    )
    predict.add_argument("--out", required=True, help="the CSV to write (atomically)")
    predict.add_argument("--proba", action="store_true", help="write the class probabilities instead of the labels")
    predict.add_argument(
        "--id",
        metavar="COLUMN",
        help="a model of a table: copy this column of --data-path (a key, such as an id) into the predictions, in "
        "place of the row numbers",
    )
    predict.add_argument(
        "--quiet", action="store_true", help="print only the result: what was written, and the rows not scored"
    )
    add_compile_cache_option(predict)


def _inputs(path: str, trained_on, features: int):
    """The inputs of a prediction file ``(N, features)``, scaled as the model's training data were."""
    from funcmlp.data.datasets import scale_pixels
    from funcmlp.data.mnist import PIXELS, load_kaggle_csv, read_idx
    from funcmlp.io.arrays import load_npy
    from funcmlp.memory import available_bytes
    from funcmlp.sources import check_source

    check_source(path, "--data-path")  # a file, not a FIFO, a device or a folder
    if path.endswith(".npy"):
        x = load_npy(path, path, max_bytes=available_bytes())
    else:
        if trained_on != "mnist":
            raise ValueError(
                f"{path}: CSV and IDX files hold MNIST pixels, for a model trained with --data mnist; "
                "this one was trained "
                f"on {trained_on or 'unknown data'!r}: give a .npy of its inputs, scaled as in training"
            )
        if path.endswith(".csv"):
            pixels = load_kaggle_csv(path, labelled=False)[0]
        else:
            images = read_idx(path)
            if images.shape[1:] != (28, 28):
                raise ValueError(
                    f"{path}: IDX images of shape {images.shape}, expected (N, 28, 28) as MNIST's; give MNIST's "
                    "image file (e.g. t10k-images-idx3-ubyte), or a .npy of the inputs"
                )
            pixels = images.reshape(-1, PIXELS)
        x = scale_pixels(pixels)
    if x.ndim != 2 or x.shape[1] != features:
        raise ValueError(f"{path}: inputs of shape {tuple(x.shape)}, the model takes (N, {features})")
    if len(x) == 0:
        raise ValueError(f"{path}: no rows of inputs; give at least one")
    return x


def run(args) -> int:
    import jax
    import numpy as np

    from funcmlp import get_loss, predict
    from funcmlp.checks import check_fits_dtype
    from funcmlp.io.run_folder import open_model

    check_writable_file(args.out, "--out", reads={"--data-path": args.data_path, "model": args.model})
    found = open_model(args.model)
    if not args.quiet:
        print(f"{found.describe()}, predicting with {'it' if found.kind == 'model' else 'its params'}")
    preprocessing = table_model.preprocessing_of(found)
    if preprocessing is not None:  # a table: its own columns in, the class names or values out
        made = table_predict.predictions(found, preprocessing, args.data_path, args.proba, args.id)
        with atomic_write(args.out, newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(made.header)
            writer.writerows(made.rows)
        what = "probability rows" if args.proba else "predictions"
        keys = f"{args.id} from {args.data_path}" if args.id else "row from 1"
        print(f"wrote {args.out}: {made.scored} {what} ({keys})")
        if made.note:
            print(f"not scored: {len(made.rows) - made.scored} of {len(made.rows)} rows, left empty: {made.note}")
        return 0
    if args.id is not None:
        raise ValueError(
            f"--id copies a column of a table; {found.path} was trained on {found.record['data'] or 'arrays'}, not a "
            "table: leave out --id (its rows are numbered: ImageId)"
        )
    mlp, params, loss = found.mlp, found.params, found.record["loss"]
    x, dtype = _inputs(args.data_path, found.record["data"], mlp.sizes[0]), np.asarray(params[0].W).dtype
    check_fits_dtype(x, dtype, f"{args.data_path}: the inputs", "train the model with --float64")
    x = x.astype(dtype)
    ids = np.arange(1, len(x) + 1)
    if args.proba:
        outputs = np.asarray(mlp.apply(params, x))
        if mlp.activations[-1].spec.probabilities:
            probabilities = outputs
        elif loss is not None and get_loss(loss).name == "softmax_cross_entropy":
            probabilities = np.asarray(jax.nn.softmax(outputs, axis=-1))
        else:
            raise ValueError(
                f"--proba needs a classifier with probabilities: a softmax output or softmax_cross_entropy logits; "
                f"this model's output is {mlp.activations[-1]} with loss {loss}"
            )
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
