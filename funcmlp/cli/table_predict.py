"""``funcmlp predict`` for a model of a table: the rows of a table file scored by the model's rules
(:mod:`funcmlp.data.gaps`: a gap imputed or not, an unseen text value ignored or not), each row that
cannot be scored left empty and named, the class names (``--proba``: a probability per class name) or
the target's values in its own units, and with ``--id COLUMN`` that column's cells as the rows' keys.

Contract::

    predictions(found, preprocessing, path, proba, id_column) -> Predictions(header, rows, scored, note)
"""

from __future__ import annotations

from typing import NamedTuple

from funcmlp.cli import table_data, table_model


class Predictions(NamedTuple):
    """The CSV's ``header`` and ``rows`` (one per table row, those not scored with empty values),
    how many rows were ``scored``, and a ``note`` naming the others (empty where every row was)."""

    header: list
    rows: list
    scored: int
    note: str


def _keys(table, id_column: str | None, preprocessing, found) -> tuple[str, list]:
    """The first column: ``row`` numbered from 1, or the cells of ``--id`` (an empty cell stays empty)."""
    if id_column is None:
        return "row", list(range(1, len(table) + 1))
    if id_column == preprocessing.target.name:
        raise ValueError(
            f"--id {id_column} is the column {found.path} predicts; give a key column (an id) of the table"
        )
    if id_column not in table.positions:
        shown = ", ".join(repr(n) for n in table.names[:20]) + (", ..." if len(table.names) > 20 else "")
        raise ValueError(f"--id {id_column}: {table.source} has no column {id_column!r}; its columns: {shown}")
    return id_column, ["" if cell is None else cell for cell in table.column(id_column)]


def _probabilities(found, outputs):
    import jax
    import numpy as np

    from funcmlp.registry.losses import get_loss

    mlp, loss = found.mlp, found.record.get("loss")
    if mlp.activations[-1].spec.probabilities:
        p = outputs
    elif loss is not None and get_loss(loss).spec.takes == "logits":
        p = np.asarray(jax.nn.softmax(outputs, axis=-1) if mlp.sizes[-1] > 1 else jax.nn.sigmoid(outputs))
    else:
        raise ValueError(
            f"--proba needs probabilities: {found.path} has a {mlp.activations[-1]} output with loss {loss} "
            "(scores); leave out --proba, or train with --loss softmax_cross_entropy"
        )
    return np.hstack([1 - p, p]) if p.shape[1] == 1 else p  # one unit: the probability of the second class


def predictions(found, preprocessing, path: str, proba: bool, id_column: str | None = None) -> Predictions:
    """The predictions of a table model for the table file ``path``, one row per table row (its number
    from 1, or its ``id_column`` cell): the class names, with ``proba`` one probability column per
    class name, or the target's values. A row the model's rules cannot encode is left empty and named
    in the note; where no row can be, the first is refused (one line: file, line, column, the option)."""
    import numpy as np

    from funcmlp.data.gaps import find_gaps, gap_message, unscored
    from funcmlp.data.table import TableError
    from funcmlp.evaluation import classes_of_outputs, compiled_apply, decision_threshold
    from funcmlp.registry.losses import get_loss

    mlp, params, loss = found.mlp, found.params, found.record.get("loss")
    target = preprocessing.target
    if target.task == "regression" and proba:
        raise ValueError(
            f"--proba: {found.path} predicts numbers (regression of {target.name!r}), not classes; leave out --proba"
        )
    table = table_data.read(path, "--data-path")
    key, keys = _keys(table, id_column, preprocessing, found)
    gaps = find_gaps(preprocessing, table)
    if len(gaps) == len(table):
        raise TableError(gap_message(gaps[0], table, preprocessing, "model"))
    keep = np.ones(len(table), bool)
    keep[[g.row for g in gaps]] = False
    x = table_model.as_model_inputs(preprocessing.inputs(table.rows(keep)), params, path)
    outputs = np.asarray(compiled_apply(mlp, params, x))
    if target.task == "regression":
        header = [key, target.name]
        values = [
            [f"{v:.10g}"] for v in preprocessing.values(np.asarray(get_loss(loss).mean(outputs), np.float64))[:, 0]
        ]
    elif proba:
        header = [key, *target.classes]
        values = [[f"{v:.6g}" for v in row] for row in _probabilities(found, outputs)]
    else:
        threshold = decision_threshold(mlp, loss) if mlp.sizes[-1] == 1 else None
        header = [key, target.name]
        values = [[target.classes[k]] for k in np.asarray(classes_of_outputs(mlp, outputs, threshold)).tolist()]
    scored, empty = iter(values), [""] * (len(header) - 1)
    rows = [[k, *(next(scored) if kept else empty)] for k, kept in zip(keys, keep.tolist(), strict=True)]
    note = "" if not gaps else unscored(gaps, table)
    return Predictions(header, rows, len(values), note)
