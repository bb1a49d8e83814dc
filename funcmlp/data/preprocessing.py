"""From a :class:`~funcmlp.data.table.Table` to the arrays a network takes, and back: numeric
columns standardised and text columns one-hot, with statistics and categories fitted on the
training rows only; the target's class names kept (classification) or the target standardised
and mapped back (regression); the rules for gaps and unknown values (:mod:`funcmlp.data.gaps`) and
the values imputed. A :class:`Preprocessing` is a value saved in the model file (as JSON, read back
with every field checked), so that train's validation and test steps, ``predict`` and ``evaluate``
apply the same.

Example:
    >>> from funcmlp.data.table import Table
    >>> rows = (("1", "Oslo", "a"), ("3", "Rome", "b"), ("2", "Oslo", "a"))
    >>> table = Table("t", ("size", "city", "kind"), rows, (2, 3, 4))
    >>> prep, reason = fit_preprocessing(table, "kind")
    >>> reason, prep.num_features, prep.target.classes
    ("the target 'kind' holds text", 3, ('a', 'b'))
    >>> prep.inputs(table).round(3).tolist()[0], prep.targets(table).tolist()
    ([-1.225, 1.0, 0.0], [0, 1, 0])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funcmlp.data import record_fields as fields
from funcmlp.data.gaps import MISSING_RULES, UNKNOWN_RULES, check_rule, filled, find_gaps, gap_message
from funcmlp.data.scaling import scale_of_column, standardised
from funcmlp.data.table import Table, TableError, refuse_missing_in
from funcmlp.data.table_columns import check_categories, check_one_hot, is_number, listed, numeric_columns, shown

TABLE_TASKS = ("classification", "regression")
MAX_INFERRED_CLASSES = 20
"""A numeric target of at most this many integer values is read as classes (``--task`` overrides)."""


@dataclass(frozen=True)
class Feature:
    """One input column: ``numeric`` (standardised with ``mean`` and ``std``) or ``text`` (one-hot
    over ``categories``, those of the training rows); ``fill``, the cell its gaps are filled with
    (``--missing impute``; ``None``: none filled)."""

    name: str
    kind: str
    mean: float = 0.0
    std: float = 1.0
    categories: tuple[str, ...] = ()
    fill: str | None = None

    @property
    def width(self) -> int:
        return len(self.categories) if self.kind == "text" else 1


@dataclass(frozen=True)
class Target:
    """The target column: ``classes`` (their names, label k is ``classes[k]``) for classification,
    ``mean``/``std`` for regression (``std`` 1 and ``mean`` 0: not scaled)."""

    name: str
    task: str
    classes: tuple[str, ...] = ()
    mean: float = 0.0
    std: float = 1.0


@dataclass(frozen=True)
class Preprocessing:
    """The fitted preprocessing of a table: its feature columns and its target, and the rules of
    :mod:`funcmlp.data.gaps`: ``missing`` (refuse, drop, impute) and ``unknown`` (refuse, ignore)."""

    features: tuple[Feature, ...]
    target: Target
    missing: str = "refuse"
    unknown: str = "refuse"

    @property
    def num_features(self) -> int:
        return sum(f.width for f in self.features)

    def inputs(self, table: Table, *, during: str = "model") -> np.ndarray:
        """``(N, num_features)`` float64 inputs of ``table``'s rows, by the rules: a gap imputed or
        refused, a text value not seen in training encoded as no category or refused (naming file, line,
        column and the option that takes it: train's while ``during`` is ``"train"``)."""
        gaps = find_gaps(self, table)
        if gaps:
            raise TableError(gap_message(gaps[0], table, self, during))
        blocks = []
        for feature in self.features:
            cells = table.column(feature.name)
            if feature.fill is not None and None in cells:
                cells = [feature.fill if c is None else c for c in cells]
            if feature.kind == "numeric":
                blocks.append(standardised(_numbers(table, feature.name, cells), feature.mean, feature.std)[:, None])
                continue
            index = {c: k for k, c in enumerate(feature.categories)}
            block = np.zeros((len(cells), feature.width))
            for i, c in enumerate(cells):
                if c in index:
                    block[i, index[c]] = 1.0
            blocks.append(block)
        return np.hstack(blocks) if blocks else np.zeros((len(table), 0))

    def unseen(self, table: Table) -> list[str]:
        """Notes on the text values of ``table`` not seen in training, one per column."""
        notes = []
        for feature in self.features:
            if feature.kind == "text":
                new = sorted(set(table.column(feature.name)) - set(feature.categories) - {None})
                if new:
                    notes.append(f"column {feature.name!r}: {listed(new)}")
        return notes

    def targets(self, table: Table) -> np.ndarray:
        """Labels ``(N,)`` int64 (classification) or ``(N, 1)`` float64 targets, scaled (regression)."""
        name = self.target.name
        cells = table.column(name)
        refuse_missing_in(table, name, cells)
        if self.target.task == "regression":
            return standardised(_numbers(table, name, cells), self.target.mean, self.target.std)[:, None]
        names = _class_names(cells)
        index = {c: k for k, c in enumerate(self.target.classes)}
        bad = next((i for i, c in enumerate(names) if c not in index), None)
        if bad is not None:
            many = len(self.target.classes) > MAX_INFERRED_CLASSES
            fix = "--task regression for a numeric target" if many else "more rows, or another --seed or --split"
            raise TableError(
                f"{table.source}:{table.lines[bad]}: target {name!r} is {shown(cells[bad])}, a class the training "
                f"rows do not hold (they hold {listed(self.target.classes)}); give {fix}"
            )
        return np.array([index[c] for c in names], np.int64)

    def values(self, outputs: np.ndarray) -> np.ndarray:
        """Regression outputs ``(N, 1)`` in the target's own units."""
        return outputs * self.target.std + self.target.mean

    def to_record(self) -> dict:
        """A JSON value of the preprocessing (what the model file keeps)."""
        return {
            "features": [
                {
                    "name": f.name,
                    "kind": f.kind,
                    "mean": f.mean,
                    "std": f.std,
                    "categories": list(f.categories),
                    "fill": f.fill,
                }
                for f in self.features
            ],
            "missing": self.missing,
            "unknown": self.unknown,
            "target": {
                "name": self.target.name,
                "task": self.target.task,
                "classes": list(self.target.classes),
                "mean": self.target.mean,
                "std": self.target.std,
            },
        }

    @classmethod
    def from_record(cls, record, where: str) -> Preprocessing:
        """The preprocessing of a model file's record, every field checked (a damaged file is refused).
        A record of an earlier funcmlp has no rules (they were ``refuse``) and no values imputed."""
        try:
            features = tuple(
                Feature(
                    fields.text(f["name"]),
                    fields.one_of(f["kind"], ("numeric", "text"), "column kind"),
                    fields.finite(f["mean"]),
                    fields.scale(f["std"]),
                    fields.texts(f["categories"]),
                    None if f.get("fill") is None else fields.text(f["fill"]),
                )
                for f in record["features"]
            )
            t = record["target"]
            target = Target(
                fields.text(t["name"]),
                fields.one_of(t["task"], TABLE_TASKS, "task"),
                fields.texts(t["classes"]),
                fields.finite(t["mean"]),
                fields.scale(t["std"]),
            )
            missing = fields.one_of(record.get("missing", "refuse"), MISSING_RULES, "--missing rule")
            unknown = fields.one_of(record.get("unknown", "refuse"), UNKNOWN_RULES, "--unknown rule")
            if missing == "impute" and any(f.fill is None for f in features):
                raise ValueError("--missing impute without the values it fills")
            if any(f.kind == "numeric" and f.fill is not None and not is_number(f.fill) for f in features):
                raise ValueError("a number column filled with no number")
        except (KeyError, TypeError, ValueError, AttributeError) as error:
            raise ValueError(f"{where}: its table preprocessing is damaged ({error}); train the model again") from None
        return cls(features, target, missing, unknown)


def fit_preprocessing(
    table: Table,
    target: str,
    *,
    task: str | None = None,
    scale_target: bool = True,
    numeric=None,
    missing: str = "refuse",
    unknown: str = "refuse",
    fills: dict | None = None,
) -> tuple[Preprocessing, str]:
    """The preprocessing fitted on ``table`` (the training rows) with ``target`` the column to
    predict; the task inferred unless given, with the reason in words. ``numeric``: the names of
    the numeric columns (:func:`numeric_columns` of the whole table), default those of ``table``.
    ``missing``, ``unknown``: the rules (:mod:`funcmlp.data.gaps`); with ``missing="impute"``, ``fills``
    (:func:`funcmlp.data.gaps.fit_fills` of these rows) fill the gaps of ``table`` and are kept."""
    check_rule(missing, MISSING_RULES, "--missing")
    check_rule(unknown, UNKNOWN_RULES, "--unknown")
    if missing == "impute":
        table = filled(table, fills)
    fills = fills if missing == "impute" else {}
    numeric = numeric_columns(table) if numeric is None else numeric
    cells = table.column(target)
    refuse_missing_in(table, target, cells)
    inferred, reason = infer_task(table, target)
    task = task or inferred
    if task == "regression":
        values = _numbers(table, target, cells, why="regression needs numbers; give --task classification")
        mean, std = scale_of_column(values) if scale_target else (0.0, 1.0)
        goal = Target(target, task, mean=mean, std=std)
    else:
        names = set(_class_names(cells))
        check_categories(table, target, names, len(cells), target=True)
        goal = Target(target, task, classes=tuple(sorted(names, key=_class_order)))
    features, widths = [], {}
    for name in table.names:
        if name == target:
            continue
        column = table.column(name)
        refuse_missing_in(table, name, column)
        if name in numeric:
            mean, std = scale_of_column(_numbers(table, name, column))
            features.append(Feature(name, "numeric", mean, std, fill=fills.get(name)))
        else:
            categories = set(column)
            check_categories(table, name, categories, len(column))
            widths[name] = len(categories)
            features.append(Feature(name, "text", categories=tuple(sorted(categories)), fill=fills.get(name)))
    check_one_hot(table, widths)
    if not features:
        raise TableError(f"{table.source}: no column besides the target {target!r} to learn from")
    return Preprocessing(tuple(features), goal, missing, unknown), reason


def infer_task(table: Table, target: str) -> tuple[str, str]:
    """``("classification" or "regression", the reason in words)`` from the target's cells."""
    cells = [c for c in table.column(target) if c is not None]
    if not all(is_number(c) for c in cells):
        return "classification", f"the target {target!r} holds text"
    values = {float(c) for c in cells}
    if all(v.is_integer() for v in values) and len(values) <= MAX_INFERRED_CLASSES:
        return "classification", f"the target {target!r} holds {len(values)} integer values"
    return "regression", f"the target {target!r} holds numbers"


def _numbers(table: Table, name: str, cells, why: str = "the column held numbers in training") -> np.ndarray:
    try:
        values = np.array(list(map(float, cells)))
        if np.isfinite(values).all():
            return values
    except (TypeError, ValueError):
        pass
    bad = next(i for i, c in enumerate(cells) if not is_number(c))
    raise TableError(
        f"{table.source}:{table.lines[bad]}: column {name!r} holds {shown(cells[bad])}, not a finite number; {why}"
    )


def _class_names(cells) -> list[str]:
    """Class names: integer-valued numbers as integers (``1.0`` and ``1`` are one class), text as is."""
    names = {c: str(int(float(c))) if is_number(c) and float(c).is_integer() else c for c in set(cells)}
    return [names[c] for c in cells]


def _class_order(name: str):
    return (0, float(name), "") if is_number(name) else (1, 0.0, name)
