"""Gaps and unknown values in a table's rows, one rule for each wherever rows are encoded.

``missing`` (an empty or ``NA`` cell): ``refuse`` it, naming file, line and column; ``drop`` its row; or
``impute`` it: the training rows' median for a number, their most frequent value for text (a row without
a target value is left out: a target is never made up). ``unknown`` (a text value the training rows do not
hold): ``refuse`` it, or ``ignore`` it, encoded as none of the known values (as scikit-learn's
``OneHotEncoder(handle_unknown="ignore")``). The rules and the values imputed are a fitted
:class:`~funcmlp.data.preprocessing.Preprocessing`'s, saved in the model file, so that train's
validation and test steps, ``evaluate`` and ``predict`` treat every row alike.

Contract::

    fit_fills(train, numeric, target) -> {column: the cell that fills its gaps}   (training rows only)
    filled(table, fills) -> the table with its gaps filled
    find_gaps(preprocessing, table, target=) -> [Gap]      each row's first cell the rules cannot encode
    usable_rows(preprocessing, table, during) -> (rows, notes)   rows to score against their targets
    gap_message(gap, table, preprocessing, during) -> one line: file, line, column, value, the option

Example:
    >>> from funcmlp.data.table import Table
    >>> table = Table("t.csv", ("size", "city"), (("1", "Oslo"), (None, "Rome"), ("5", None)), (2, 3, 4))
    >>> fills = fit_fills(table, {"size"}, "none")
    >>> fills, filled(table, fills).column("size")
    ({'size': '3.0', 'city': 'Oslo'}, ['1', '3.0', '5'])
"""

from __future__ import annotations

import collections
import math
from typing import NamedTuple

import numpy as np

from funcmlp.data.table import Table, TableError
from funcmlp.data.table_columns import is_number, listed, notation, shown

MISSING_RULES = ("refuse", "drop", "impute")
"""What becomes of an empty or NA cell (``--missing``)."""
UNKNOWN_RULES = ("refuse", "ignore")
"""What becomes of a text value the training rows do not hold (``--unknown``)."""
DURING = ("train", "model")
"""Who meets a gap: ``train`` (its options may still change) or a trained ``model`` (evaluate, predict)."""


class Gap(NamedTuple):
    """A cell of row ``row`` (an index of its table) the rules cannot encode, and ``why``: ``missing``
    (``cell`` None), ``unknown`` (a text value the training rows did not hold) or ``not a number`` (in a
    column of numbers: no rule takes it)."""

    row: int
    column: str
    cell: str | None
    why: str = "missing"


def check_rule(value: str, rules: tuple, option: str) -> str:
    """``value`` if it is one of ``rules``, else a ``ValueError`` naming ``option``.

    Example:
        >>> check_rule("impute", MISSING_RULES, "--missing")
        'impute'
    """
    if value not in rules:
        raise ValueError(f"{option} must be one of {', '.join(rules)}, got {value!r}")
    return value


def _median(values: list) -> float:
    """The median, without the overflow of ``(a + b) / 2`` for numbers near float64's largest."""
    ordered = np.sort(np.asarray(values, np.float64))
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return float(ordered[middle])
    return float(ordered[middle - 1] / 2 + ordered[middle] / 2)


def fit_fills(train: Table, numeric, target: str) -> dict[str, str]:
    """The cell that fills each feature column's gaps, from the training rows ``train``: the median of a
    ``numeric`` column (as text), the most frequent value of a text one (the first in sorted order of
    equally frequent ones, as scikit-learn's ``SimpleImputer(strategy="most_frequent")``). A column
    empty in every training row is refused."""
    fills = {}
    for name in train.names:
        if name == target:
            continue
        present = [c for c in train.column(name) if c is not None]
        if not present:
            raise TableError(
                f"{train.source}: column {name!r} is empty in every training row: --missing impute has nothing to "
                f"fill it from; leave it out (funcmlp train --ignore {name})"
            )
        if name in numeric:
            fills[name] = repr(_median([float(c) for c in present]))
        else:
            counts = collections.Counter(present)
            top = max(counts.values())
            fills[name] = min(c for c, n in counts.items() if n == top)
    return fills


def filled(table: Table, fills: dict) -> Table:
    """``table`` with the missing cells of the columns ``fills`` names filled with its cell."""
    at = [(j, fills[name]) for j, name in enumerate(table.names) if name in fills]
    if not any(None in row for row in table.cells):
        return table

    def fill(row):
        if None not in row:
            return row
        row = list(row)
        for j, cell in at:
            if row[j] is None:
                row[j] = cell
        return tuple(row)

    return Table(table.source, table.names, tuple(map(fill, table.cells)), table.lines)


def find_gaps(preprocessing, table: Table, *, target: bool = False) -> list[Gap]:
    """Each row's first cell that ``preprocessing``'s rules cannot encode, in row order: a missing cell
    (unless imputed; the target's, with ``target``, always), else a cell of a column of numbers that is
    no number, else a text value unseen in training (unless ignored). Columns the model does not read
    are not looked at.

    Example:
        >>> from funcmlp.data.preprocessing import fit_preprocessing
        >>> train = Table("t.csv", ("city", "y"), (("Oslo", "a"), ("Rome", "b")), (2, 3))
        >>> prep = fit_preprocessing(train, "y")[0]
        >>> new = Table("new.csv", ("city", "y"), (("Oslo", None), (None, "a"), ("Lima", "b")), (2, 3, 4))
        >>> find_gaps(prep, new)
        [Gap(row=1, column='city', cell=None, why='missing'), Gap(row=2, column='city', cell='Lima', why='unknown')]
        >>> print(gap_message(find_gaps(prep, new)[1], new, prep, "model"))  # doctest: +ELLIPSIS
        new.csv:4: column 'city' holds 'Lima', a value never seen in training (it saw 'Oslo', 'Rome'); ...
    """
    missing, odd, unknown = {}, {}, {}
    columns = [(preprocessing.target.name, None)] if target else []
    columns += [(f.name, f) for f in preprocessing.features]
    for name, feature in columns:
        cells = table.column(name)
        if (feature is None or preprocessing.missing != "impute") and None in cells:
            for i, cell in enumerate(cells):
                if cell is None and i not in missing:
                    missing[i] = Gap(i, name, None, "missing")
        if feature is not None and feature.kind == "numeric" and not _all_numbers(cells):
            for i, cell in enumerate(cells):
                if cell is not None and not is_number(cell) and i not in odd:
                    odd[i] = Gap(i, name, cell, "not a number")
        if feature is not None and feature.kind == "text" and preprocessing.unknown == "refuse":
            known = set(feature.categories)
            if set(cells) - known - {None}:
                for i, cell in enumerate(cells):
                    if cell is not None and cell not in known and i not in unknown:
                        unknown[i] = Gap(i, name, cell, "unknown")
    rows = sorted(missing.keys() | odd.keys() | unknown.keys())
    return [missing.get(i) or odd.get(i) or unknown[i] for i in rows]


def _all_numbers(cells) -> bool:
    """Whether the cells (missing ones aside) are all finite numbers (without a loop in Python, mostly)."""
    try:
        return all(map(math.isfinite, map(float, (c for c in cells if c is not None))))
    except ValueError:
        return False


def gap_message(gap: Gap, table: Table, preprocessing, during: str) -> str:
    """One line on ``gap``: the file and line, the column, the value, and the option that would take it
    (``during`` train: train's options; a trained ``model``'s: train again with another rule)."""
    if gap.why == "missing":
        return missing_message(gap, table, preprocessing.target.name, during, preprocessing.missing)
    if gap.why == "not a number":
        fix = notation(gap.cell) or "write a number, or leave the cell empty"
        return (
            f"{table.source}:{table.lines[gap.row]}: column {gap.column!r} holds {shown(gap.cell)}, not a number as "
            f"the column held in training; {fix.split('; ', 1)[-1]}"
        )
    known = next(f.categories for f in preprocessing.features if f.name == gap.column)
    where = f"{table.source}:{table.lines[gap.row]}: column {gap.column!r} holds {shown(gap.cell)}"
    if during == "train":
        return (
            f"{where}, a value the training rows do not hold (they hold {listed(known)}); funcmlp train --unknown "
            "ignore encodes it as none of them (as scikit-learn's handle_unknown='ignore'), or give the training "
            "rows that value (another --seed or --split)"
        )
    return (
        f"{where}, a value never seen in training (it saw {listed(known)}); the model cannot encode it (trained "
        "with --unknown refuse): give one of those values, or train again with --unknown ignore (encodes it as "
        "none of them)"
    )


def missing_message(gap: Gap, table: Table, target: str, during: str, rule: str = "refuse") -> str:
    """One line on the missing cell ``gap`` (the column ``target``'s or a feature's), with the option that
    takes it: train's (``during="train"``), or for a trained ``model`` of the ``rule``, training again."""
    where = f"{table.source}:{table.lines[gap.row]}: column {gap.column!r}"
    if gap.column == target:
        fix = (
            "funcmlp train --missing drop (or impute, which fills inputs only) leaves such rows out"
            if during == "train"
            else "evaluate compares each row with its true value; a model trained with --missing drop or impute "
            "leaves such rows out"
        )
        return f"{where}, the target, has a missing value (empty or NA); fill it in or leave the row out ({fix})"
    if during == "train":
        fix = (
            "fill it in, or give funcmlp train --missing impute (fills it with the training rows' median, or their "
            "most frequent text) or --missing drop (leaves its row out)"
        )
    else:
        fix = f"the model was trained with --missing {rule}: fill it in, or train again with --missing impute"
    return f"{where} has a missing value (empty or NA); {fix}"


def usable_rows(preprocessing, table: Table, during: str) -> tuple[Table, list[str]]:
    """The rows of ``table`` (with their target values) that a model of ``preprocessing`` is scored on,
    by its rules: rows with a missing cell left out under ``drop``, rows without a target under
    ``impute``; any other gap refused (:func:`gap_message`). Notes on what was left out or filled.

    Example:
        >>> from funcmlp.data.preprocessing import fit_preprocessing
        >>> train = Table("t.csv", ("size", "y"), (("1", "a"), ("3", "b"), ("2", "a")), (2, 3, 4))
        >>> prep = fit_preprocessing(train, "y", missing="impute", fills=fit_fills(train, {"size"}, "y"))[0]
        >>> labelled = Table("l.csv", ("size", "y"), ((None, "a"), ("2", None)), (2, 3))
        >>> rows, notes = usable_rows(prep, labelled, "model")
        >>> rows.cells
        ((None, 'a'),)
        >>> for note in notes:
        ...     print(note)
        dropped 1 of 2 rows without a target value (--missing impute)
        filled 1 missing cells (--missing impute): 'size' 1 with '2.0'
    """
    gaps = find_gaps(preprocessing, table, target=True)
    rule = preprocessing.missing
    dropped = [g for g in gaps if g.why == "missing"] if rule in ("drop", "impute") else []  # impute: the target's
    refused = [g for g in gaps if g not in dropped]
    if refused:
        raise TableError(gap_message(refused[0], table, preprocessing, during))
    notes = []
    if dropped:
        why = "with missing values (--missing drop)" if rule == "drop" else "without a target value (--missing impute)"
        notes.append(f"dropped {len(dropped)} of {len(table)} rows {why}")
        keep = np.ones(len(table), bool)
        keep[[g.row for g in dropped]] = False
        table = table.rows(keep)
    if rule == "impute":
        counts = {f.name: table.column(f.name).count(None) for f in preprocessing.features}
        fills = {f.name: f.fill for f in preprocessing.features}
        done = [f"{name!r} {n} with {shown(fills[name])}" for name, n in counts.items() if n]
        if done:
            notes.append(f"filled {sum(counts.values())} missing cells (--missing impute): {', '.join(done)}")
    return table, notes


def unscored(gaps: list[Gap], table: Table, shown_rows: int = 5) -> str:
    """What the rows of ``gaps`` lack, in one line (the first ``shown_rows`` named by line and column),
    and the rule of training that would score them.

    Example:
        >>> table = Table("t.csv", ("age",), ((None,), ("3",)), (2, 3))
        >>> unscored([Gap(0, "age", None, "missing")], table)
        "line 2: column 'age' is missing; a model trained with --missing impute fills such cells"
    """
    named = [
        f"line {table.lines[g.row]}: column {g.column!r} {_SAID[g.why].format(shown(g.cell or ''))}"
        for g in gaps[:shown_rows]
    ]
    more = f" and {len(gaps) - shown_rows:,} more" if len(gaps) > shown_rows else ""
    fixes = "; ".join(fix for why, fix in _FIXES.items() if any(g.why == why for g in gaps))
    return f"{'; '.join(named)}{more}; {fixes}"


_SAID = {
    "missing": "is missing",
    "unknown": "holds {}, never seen in training",
    "not a number": "holds {}, no number",
}
_FIXES = {
    "missing": "a model trained with --missing impute fills such cells",
    "unknown": "a model trained with --unknown ignore encodes unseen values as none of the known ones",
    "not a number": "a column of numbers takes numbers alone",
}
