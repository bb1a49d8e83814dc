"""What was read of a table, said before anything is learnt from it: each column's kind (a number,
or text with its number of levels, its one-hot features), its missing cells, which is the target,
and the columns that look like dates or ids, which a network reads as categories or as numbers to
learn from (a column of months became 12 text levels, a row number a feature, and nothing said so).

Contract::

    describe_columns(table, target, numeric) -> (ColumnReport, ...)   one per column, in the table's order
    columns_line(reports, limit=20) -> one line: "size (number), city (text, 3 levels), ..."
    warnings(reports) -> a line per column that looks like dates or an id, with the option that leaves it out

Example:
    >>> from funcmlp.data.table import Table
    >>> rows = tuple((str(i), "ab"[i % 2], f"2023-{i % 12 + 1:02d}", "yn"[i % 3 == 0]) for i in range(30))
    >>> table = Table("t.csv", ("id", "kind", "month", "label"), rows, tuple(range(2, 32)))
    >>> report = describe_columns(table, "label", {"id"})
    >>> for column in columns_line(report).split("), "):
    ...     print(column)
    id (number, looks like an id
    kind (text, 2 levels
    month (text, 12 levels, looks like dates
    label (the target: text, 2 levels)
    >>> print(warnings(report)[0])  # doctest: +ELLIPSIS
    column 'id' looks like an id (a whole number of its own in every row, 0 to 29), read as a number ...
"""

from __future__ import annotations

import heapq
import math
import re
from dataclasses import dataclass

from funcmlp.data.table import Table
from funcmlp.data.table_columns import ID_FLOOR, ID_SHARE, looks_like_dates

ID_MIN_ROWS = 20
"""A column of numbers is named as an id only from this many rows on."""
_ID_NAME = re.compile(r"(?:^|[^a-z])(?:id|key|index|idx|no|number|uuid)$|^(?:id|key|index|idx|uuid)", re.IGNORECASE)
"""Column names of ids: ``id``, ``customer_id``, ``CustomerID``, ``row_index``, ``key``."""


@dataclass(frozen=True)
class ColumnReport:
    """One column as read: ``kind`` ``"number"`` or ``"text"``; ``levels`` the distinct text values (0 for
    numbers); ``missing`` its empty or NA cells; ``target`` whether it is the column to predict; ``looks``
    ``"dates"``, ``"an id"`` or ``None``; ``span`` the smallest and largest number of an id column."""

    name: str
    kind: str
    levels: int = 0
    missing: int = 0
    target: bool = False
    looks: str | None = None
    span: tuple = ()

    def summary(self) -> str:
        """``"text, 3 levels, 2 missing, looks like dates"``."""
        parts = [self.kind] + ([f"{self.levels:,} levels"] if self.kind == "text" else [])
        parts += [f"{self.missing:,} missing"] if self.missing else []
        parts += [f"looks like {self.looks}"] if self.looks else []
        return ", ".join(parts)


def describe_columns(table: Table, target: str | None, numeric) -> tuple[ColumnReport, ...]:
    """A :class:`ColumnReport` of each column of ``table`` (``numeric``: the names of its numeric columns,
    :func:`funcmlp.data.table_columns.numeric_columns`; ``target``: the column to predict, or None)."""
    reports = []
    for name in table.names:
        cells = table.column(name)
        present = [c for c in cells if c is not None]
        missing = len(cells) - len(present)
        if name in numeric:
            span = _id_span(name, present)
            reports.append(
                ColumnReport(
                    name, "number", 0, missing, name == target, "an id" if span and name != target else None, span
                )
            )
            continue
        distinct = set(present)
        looks = None
        if name != target and len(distinct) > max(ID_FLOOR, ID_SHARE * len(cells)):
            looks = "an id"
        if name != target and looks_like_dates(heapq.nsmallest(1000, distinct)):  # the same ones in every run
            looks = "dates"
        reports.append(ColumnReport(name, "text", len(distinct), missing, name == target, looks))
    return tuple(reports)


def _id_span(name: str, present: list) -> tuple:
    """``(smallest, largest)`` of a column of numbers that looks like an id: a distinct whole number in
    every row, and a name of ids or numbers one after another; ``()`` otherwise."""
    if len(present) < ID_MIN_ROWS:
        return ()
    values = [float(c) for c in present]
    if not all(v.is_integer() for v in values) or len(set(values)) != len(values):
        return ()
    low, high = min(values), max(values)
    if _ID_NAME.search(name) or high - low + 1 == len(values):
        return (math.floor(low), math.floor(high))
    return ()


def columns_line(reports, limit: int = 20) -> str:
    """The columns in one line, each with its kind; the first ``limit``, then how many more.

    Example:
        >>> print(columns_line([ColumnReport("a", "number"), ColumnReport("b", "text", 2, target=True)]))
        a (number), b (the target: text, 2 levels)
    """
    shown = [f"{r.name} ({'the target: ' if r.target else ''}{r.summary()})" for r in reports[:limit]]
    more = len(reports) - limit
    return ", ".join(shown) + (f" and {more:,} more (funcmlp train --describe lists each)" if more > 0 else "")


def warnings(reports) -> list[str]:
    """A line for each column that looks like dates or an id: what becomes of it, and the option that
    leaves it out.

    Example:
        >>> warnings([ColumnReport("day", "text", 12, looks="dates")])  # doctest: +ELLIPSIS
        ["column 'day' looks like dates (12 levels as text: a category per date, ..., or --ignore day leaves it out"]
    """
    lines = []
    for r in reports:
        if r.looks == "dates":
            lines.append(
                f"column {r.name!r} looks like dates ({r.levels:,} levels as text: a category per date, nothing of "
                "their order or distance); write it as numbers (a year, a month, days since a start) in columns of "
                f"their own, or --ignore {r.name} leaves it out"
            )
        elif r.looks == "an id" and r.kind == "number":
            lines.append(
                f"column {r.name!r} looks like an id (a whole number of its own in every row, {r.span[0]} to "
                f"{r.span[1]}), read as a number to learn from; --ignore {r.name} leaves it out"
            )
        elif r.looks == "an id":
            lines.append(
                f"column {r.name!r} looks like an id ({r.levels:,} distinct values in its rows), which funcmlp train "
                f"refuses as categories; --ignore {r.name} leaves it out"
            )
    return lines
