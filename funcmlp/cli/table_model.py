"""A model of a table, as its run recorded it: the preprocessing (an earlier funcmlp's record too, its
``--missing`` the run's option), what train records of its table, the file it was tested on (which
``evaluate RUN`` names), and what ``evaluate`` and ``predict`` compute with it: the inputs in the
model's dtype, a regression's error in the target's own units.

Contract::

    preprocessing_of(found) -> Preprocessing or None (a model of another kind of data)
    model_record(args, data) -> the ``table`` entry of train's model record
    where_tested(found) -> one line naming the file to pass to evaluate
    as_model_inputs(x, params, where) -> x in the params' dtype (a value beyond it refused)
    error_in_units(preprocessing, mlp, params, x, y, loss) -> one line
"""

from __future__ import annotations

import shlex

from funcmlp.cli.table_data import table_source


def preprocessing_of(found):
    """The table preprocessing a saved model records, or ``None`` for a model of another kind of data."""
    from funcmlp.data.preprocessing import Preprocessing

    record = found.record
    if record.get("table") is None:
        if table_source(record.get("data"), "?") is not None:
            raise ValueError(
                f"{found.path} holds no table preprocessing (a training state does not): give the run's model.npz"
            )
        return None
    saved = record["table"].get("preprocessing")
    if isinstance(saved, dict) and "missing" not in saved:  # an earlier funcmlp's: its rule was the run's option
        saved = {**saved, "missing": record["table"].get("missing") or "refuse"}
    return Preprocessing.from_record(saved, found.path)


def model_record(args, data) -> dict:
    """What a table run's model records of its table: the fitted preprocessing (with its rules), the
    split, the rules as given, and the test file (``evaluate RUN`` names it)."""
    return {
        "preprocessing": data.preprocessing.to_record(),
        "split": args.split,
        "missing": args.missing,
        "unknown": args.unknown,
        "test": args.test,
    }


def where_tested(found) -> str:
    """Which file ``evaluate`` should be given for a model of a table file: the one line that says it.

    Example:
        >>> from types import SimpleNamespace as Found
        >>> found = Found(path="run/model.npz", record={"table": {"test": "my test.csv"}})
        >>> print(where_tested(found))  # doctest: +ELLIPSIS
        run/model.npz was tested on 'my test.csv', ...: pass --data-path 'my test.csv' (or another labelled table ...)
    """
    record = found.record
    test, data = record["table"].get("test"), record.get("data_path")
    if isinstance(test, str):
        return (
            f"{found.path} was tested on {test[:200]!r}, as its record says; funcmlp reads only files named on its "
            f"command line: pass --data-path {shlex.quote(test[:200])} (or another labelled table of the same columns)"
        )
    split = record["table"].get("split") or "0.8,0.1,0.1"
    source = f"a {split} split of {data[:200]!r}" if isinstance(data, str) else "a split of its table"
    return (
        f"{found.path} was tested on {source} (seed {record.get('seed') or 0}); funcmlp reads only files named on "
        "its command line: pass --data-path with a labelled table of the same columns (the whole table evaluates "
        "its training rows too)"
    )


def as_model_inputs(x, params, where: str):
    """A table's standardised inputs ``(N, d)`` in the model's dtype, refused (naming ``where``, the row
    and the feature, and ``--float64``) where a value is beyond what that dtype holds."""
    import numpy as np

    from funcmlp.checks import check_fits_dtype

    dtype = np.asarray(params[0].W).dtype
    check_fits_dtype(x, dtype, f"{where}: the standardised inputs (row, feature)", "train the model with --float64")
    return x.astype(dtype)


def error_in_units(preprocessing, mlp, params, x, y, loss) -> str:
    """A regression table's test error in the target's own units: the root-mean-square error and the
    mean absolute error of the predictions (``loss``'s prediction of the targets, mapped back)."""
    import numpy as np

    from funcmlp.evaluation import compiled_apply
    from funcmlp.registry.losses import get_loss

    predicted = preprocessing.values(np.asarray(get_loss(loss).mean(compiled_apply(mlp, params, x)), np.float64))
    error = np.abs(predicted - preprocessing.values(np.asarray(y, np.float64)))
    top = float(error.max(initial=0.0)) or 1.0  # divided by the largest first: errors of 1e300 have no square
    rmse = float(np.sqrt(np.mean((error / top) ** 2))) * top
    name = preprocessing.target.name
    return f"{name!r} in its own units: root-mean-square error {rmse:.4g}, mean absolute error {np.mean(error):.4g}"
