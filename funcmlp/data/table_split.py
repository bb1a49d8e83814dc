"""A table as a training run's data: missing values refused, dropped or imputed, a seeded split
into train / validation / test (or a test table of its own; a validation fraction of 0: none), the
preprocessing fitted on the training rows, and the arrays of each split, every split's rows encoded
by the same rules (:mod:`funcmlp.data.gaps`) as ``evaluate`` and ``predict`` encode them.

Example:
    >>> from funcmlp.data.table import Table
    >>> rows = tuple((str(i), "ab"[i % 2], "yn"[i % 3 == 0]) for i in range(20))
    >>> table = Table("t", ("size", "kind", "label"), rows, tuple(range(2, 22)))
    >>> data = split_table(table, "label", fractions=(0.6, 0.2, 0.2))
    >>> data.dataset.describe(), data.preprocessing.target.classes
    ('t: 3 features, 2 classes; train 12, validation 4, test 4', ('n', 'y'))
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from funcmlp.data.datasets import Dataset, split_indices
from funcmlp.data.gaps import MISSING_RULES, UNKNOWN_RULES, Gap, check_rule, fit_fills, missing_message
from funcmlp.data.preprocessing import Preprocessing, fit_preprocessing
from funcmlp.data.table import Table, TableError, missing_rows, without_gc
from funcmlp.data.table_columns import check_categories, numeric_columns, shown
from funcmlp.data.table_report import ColumnReport, describe_columns


@dataclass(frozen=True)
class TableData:
    """A split table's arrays (``dataset``), the ``preprocessing`` fitted on its training rows,
    ``notes`` (the task and why, rows dropped, cells filled, values the training rows did not hold),
    the ``test_rows`` themselves, and each column as read (``columns``, of the table's rows)."""

    dataset: Dataset
    preprocessing: Preprocessing
    notes: tuple[str, ...]
    test_rows: Table
    columns: tuple[ColumnReport, ...] = ()


def parse_split(text: str | None, *, with_test: bool) -> tuple[float, ...]:
    """``"0.8,0.1,0.1"`` (train, validation, test; two numbers with a test table of its own; a
    validation fraction of 0: no validation rows); ``None``: 0.8, 0.1, 0.1 (with a test table: 0.9, 0.1).

    Example:
        >>> parse_split("0.8, 0.1, 0.1", with_test=False), parse_split("1,0", with_test=True)
        ((0.8, 0.1, 0.1), (1.0, 0.0, 0.0))
    """
    if text is None:
        return (0.9, 0.1, 0.0) if with_test else (0.8, 0.1, 0.1)
    wanted = 2 if with_test else 3
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) != wanted or any(not 0 <= v <= 1 for v in values) or abs(sum(values) - 1) > 1e-9:
        form = "train,validation (the test rows are --test's)" if with_test else "train,validation,test"
        example = "0.9,0.1 (or 1,0: no validation)" if with_test else "0.8,0.1,0.1"
        raise ValueError(f"--split takes {wanted} fractions {form} summing to 1, e.g. {example}; got {text!r}")
    return (*values, 0.0) if with_test else values


def split_table(
    table: Table,
    target: str,
    *,
    task: str | None = None,
    missing: str = "refuse",
    unknown: str = "refuse",
    fractions: tuple[float, float, float] = (0.8, 0.1, 0.1),
    seed: int = 0,
    test: Table | None = None,
    scale_target: bool = True,
    dtype=None,
) -> TableData:
    """Split ``table`` (seeded permutation) by ``fractions`` (train, validation, test; the test
    rows are ``test``'s when given), fit the preprocessing on the training rows, return the arrays.
    ``missing`` and ``unknown``: the rules of :mod:`funcmlp.data.gaps`, kept in the preprocessing. With
    ``dtype`` (the params' dtype), a value that the preprocessing leaves beyond its range (a
    target near 1e300 not standardised, in float32) is refused naming its line and column."""
    with without_gc():
        return _split(table, target, task, (missing, unknown), fractions, seed, test, scale_target, dtype)


def _split(table, target, task, rules, fractions, seed, test, scale_target, dtype) -> TableData:
    missing = check_rule(rules[0], MISSING_RULES, "--missing")
    unknown = check_rule(rules[1], UNKNOWN_RULES, "--unknown")
    table.index(target)
    notes = []
    if test is not None:  # its columns by name, in the table's order
        if set(test.names) != set(table.names):
            raise TableError(
                f"{test.source} has the columns {', '.join(test.names)}; {table.source} has "
                f"{', '.join(table.names)}: a test table needs the same columns"
            )
        order = [test.index(name) for name in table.names]
        test = Table(test.source, table.names, tuple(tuple(r[j] for j in order) for r in test.cells), test.lines)
    tables, whole = [table] + ([test] if test is not None else []), table
    if missing == "refuse":  # the first missing cell of the file, before any split
        for t in tables:
            _refuse_missing(t, target)
    else:  # drop: every row with a gap; impute: the rows without a target value (never made up)
        kept = []
        for t in tables:
            dropped = missing_rows(t) if missing == "drop" else missing_rows(t, [target])
            if dropped.any():
                why = "with missing values" if missing == "drop" else f"without a value of the target {target!r}"
                notes.append(f"dropped {int(dropped.sum())} of {len(t)} rows of {t.source} {why}")
            if dropped.all():
                empty = [name for name in t.names if all(cell is None for cell in t.column(name))]
                why = f"column {empty[0]!r} is empty in every row: leave it out" if empty else "fill some rows in"
                raise TableError(f"{t.source}: every row has a missing value, --missing {missing} leaves none; {why}")
            kept.append(t.rows(~dropped))
        tables = kept
    table, test = tables[0], (tables[1] if test is not None else None)
    train, val, held = split_indices(seed, len(table), (fractions[1], 0.0 if test is not None else fractions[2]))
    n_test = len(held) if test is None else len(test)
    if len(train) < 1 or (len(val) < 1 and fractions[1] > 0) or n_test < 1:
        raise ValueError(
            f"{table.source}: {len(table)} rows split {', '.join(f'{f:g}' for f in fractions)} leave "
            f"{len(train)} training, {len(val)} validation and {n_test} test rows; "
            "each split needs at least one (a validation fraction of 0: none): give more rows or other --split "
            "fractions"
        )
    numeric = set.intersection(*(numeric_columns(t) for t in tables))  # a column's kind from all its rows
    columns = describe_columns(whole, target, numeric)  # its missing cells too
    for name in table.names:  # an id column refused by the whole file's numbers, before the split
        if name not in numeric and name != target:
            check_categories(table, name, set(table.column(name)) - {None}, len(table))
    test = test if test is not None else table.rows(held)
    train, val = table.rows(train), table.rows(val)
    fills = fit_fills(train, numeric, target) if missing == "impute" else None
    preprocessing, reason = fit_preprocessing(
        train,
        target,
        task=task,
        scale_target=scale_target,
        numeric=numeric,
        missing=missing,
        unknown=unknown,
        fills=fills,
    )
    kind = preprocessing.target
    if kind.task == "classification" and len(kind.classes) < 2:
        raise TableError(
            f"{table.source}: the training rows hold one class of {target!r} ({kind.classes[0]!r}); classification "
            "needs two or more: give rows of other classes, or --task regression"
        )
    counted = (
        f"{len(kind.classes)} classes"
        if kind.task == "classification"
        else "standardised"
        if kind.std != 1 or kind.mean
        else "as is"
    )
    how = "set by --task (or by a --loss on numbers)" if task else f"{reason}; --task overrides"
    notes.insert(0, f"task {kind.task} of {target!r} ({counted}): {how}")
    if missing == "impute":
        notes += _filled_note((train, val, test), preprocessing)
    arrays = []
    for part, rows in (("training", train), ("validation", val), ("test", test)):
        arrays += [preprocessing.inputs(rows, during="train"), preprocessing.targets(rows)]  # refused by the rules
        unseen = preprocessing.unseen(rows) if part != "training" else []
        if unseen:
            notes.append(
                f"{part} rows hold text values the training rows do not, encoded as none (--unknown ignore): "
                f"{'; '.join(unseen)}"
            )
        if dtype is not None:
            _check_range(rows, preprocessing, *arrays[-2:], np.dtype(dtype))
    classes = len(kind.classes) if kind.task == "classification" else 0
    source = table.source if "/" not in table.source else table.source.rsplit("/", 1)[1]
    return TableData(Dataset(source, *arrays, classes), preprocessing, tuple(notes), test, columns)


def _refuse_missing(table: Table, target: str) -> None:
    """Refuse the first missing cell of ``table`` (by row, then column), naming file, line, column and
    the options that take it."""
    rows = np.flatnonzero(missing_rows(table))
    if len(rows):
        i = int(rows[0])
        gap = Gap(i, table.names[table.cells[i].index(None)], None, "missing")
        raise TableError(missing_message(gap, table, target, "train"))


def _filled_note(parts, preprocessing: Preprocessing) -> list[str]:
    """The note on the cells ``--missing impute`` filled in the rows of ``parts``, column by column."""
    done, total = [], 0
    for feature in preprocessing.features:
        count = sum(rows.column(feature.name).count(None) for rows in parts)
        if count:
            how = "the training rows' median" if feature.kind == "numeric" else "their most frequent value"
            done.append(f"{feature.name!r} {count} with {shown(feature.fill)} ({how})")
            total += count
    return [f"filled {total} missing cells (--missing impute): {', '.join(done)}"] if done else []


def _check_range(rows: Table, preprocessing: Preprocessing, x: np.ndarray, y: np.ndarray, dtype: np.dtype) -> None:
    """Refuse the first value of the arrays ``x`` and ``y`` of ``rows`` beyond the range of ``dtype``
    (floating point), naming its line, its column and ``--float64``."""
    if dtype.kind != "f":
        return
    largest = float(np.finfo(dtype).max)
    for array, target in ((x, False), (y if y.dtype.kind == "f" else None, True)):
        if array is None or not array.size or np.abs(array).max() <= largest:
            continue
        found = np.argwhere(np.abs(array) > largest)
        i, k = (int(n) for n in found[np.argmin(np.asarray(rows.lines)[found[:, 0]])])  # the first in the file
        name = preprocessing.target.name if target else _feature_of(preprocessing, k)
        cell = rows.column(name)[i]
        raise TableError(
            f"{rows.source}:{rows.lines[i]}: column {name!r} holds {shown(cell)}, "
            f"{'a target' if target else 'a value'} of {float(array[i, k]):.3g} as the network takes it, beyond "
            f"{dtype.name}'s range (at most {largest:.3g}); train with --float64, or rescale the column"
        )


def _feature_of(preprocessing: Preprocessing, k: int) -> str:
    """The column of input feature ``k``."""
    for feature in preprocessing.features:
        if k < feature.width:
            return feature.name
        k -= feature.width
    raise IndexError(k)
