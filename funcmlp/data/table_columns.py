"""What a table's columns hold: numbers, numbers written in another notation, text categories, or ids.

A cell is a number when Python's ``float`` reads it as a finite one. A column whose cells are all
numbers is numeric. A column of numbers some of which are written in another notation (a decimal
comma ``1,5``, a thousands separator ``1,234`` or ``1 234``, a percentage ``15%``, ``inf``) is
refused naming the first such cell and how to write it: read as text it would become one category
per number. So is a column of mostly numbers with a few other cells (``?``, a typo), or with more
than :data:`MAX_NUMERIC_CODES` distinct numbers beside its text cells. Any other column is text,
one-hot encoded over its values; a text column of mostly distinct values (an id, a name, free
text) is refused as an id column (:func:`check_categories`), and so are more one-hot features in
all than :data:`MAX_ONE_HOT` (:func:`check_one_hot`).

Example:
    >>> from funcmlp.data.table import Table
    >>> table = Table("t.csv", ("size", "city"), (("1.5", "Oslo"), ("2", "Rome")), (2, 3))
    >>> numeric_columns(table)
    {'size'}
    >>> numeric_columns(Table("t.csv", ("size",), (("1,5",), ("2,25",)), (2, 3)))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    funcmlp.data.table.TableError: t.csv:2: column 'size' holds numbers, but '1,5' is written with a decimal comma ...
"""

from __future__ import annotations

import heapq
import math
import re

from funcmlp.data.table import Table, TableError

MAX_NUMERIC_CODES = 20
"""A column of mostly numbers with text cells beside them is text (categories such as ``1, 2, 3, 4+``)
only while it holds at most this many distinct numbers; more are measurements, and the text cells
are refused."""
ID_FLOOR = 50
"""A text column may hold this many distinct values whatever its number of rows."""
MOSTLY = 0.5
"""A column of at least this share of numbers (in any notation) is a column of numbers."""
ID_SHARE = 0.5
"""Beyond :data:`ID_FLOOR`, a text column of more distinct values than this share of its rows is an
id column (most rows a value of their own: nothing a new row's value could be learnt from)."""
MAX_ONE_HOT = 10_000
"""The most one-hot features the text columns of a table may make in all."""

_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NOTATIONS = (  # (kind, pattern), the first that matches the whole cell
    ("a thousands separator", re.compile(r"[+-]?\d{1,3}(?:,\d{3})+\.\d+|[+-]?\d{1,3}(?:,\d{3}){2,}")),
    ("a comma", re.compile(r"[+-]?\d{1,3},\d{3}")),  # 1,234: a thousands separator or a decimal comma
    ("a decimal comma", re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+,\d+|[+-]?\d*,\d+(?:[eE][+-]?\d+)?")),
    ("a thousands separator", re.compile(r"[+-]?\d{1,3}(?:[ \u00a0\u202f']\d{3})+(?:[.,]\d+)?")),
    ("a percent sign", re.compile(rf"[+-]?{_NUMBER}\s*%|[+-]?\d*,\d+\s*%")),
)


def is_number(cell) -> bool:
    """A cell that reads as a finite number.

    Example:
        >>> is_number("1e3"), is_number("inf"), is_number("1,5")
        (True, False, False)
    """
    try:
        return math.isfinite(float(cell))
    except (TypeError, ValueError):
        return False


def shown(cell: str) -> str:
    """A cell as an error message shows it: quoted, at most 60 characters."""
    return repr(cell) if len(cell) <= 60 else f"{cell[:40]!r}... ({len(cell)} characters)"


def listed(values) -> str:
    """Values as an error message lists them: the first 10 shown, then how many more.

    Example:
        >>> listed(("a", "b")), listed(tuple(map(str, range(12))))
        ("'a', 'b'", "'0', '1', '2', '3', '4', '5', '6', '7', '8', '9' and 2 more")
    """
    values = tuple(values)
    return ", ".join(shown(v) for v in values[:10]) + (f" and {len(values) - 10} more" if len(values) > 10 else "")


def notation(cell: str) -> str | None:
    """How ``cell`` is a number funcmlp does not read, with the way to write it; ``None`` for a
    plain number and for text.

    Example:
        >>> notation("1,5"), notation("Oslo"), notation("2.5")
        ('is written with a decimal comma; write numbers with a decimal point: 1.5', None, None)
        >>> notation("-Infinity")
        'is not a finite number: a network cannot learn from it; write a finite number, or leave the cell empty'
    """
    try:
        value = float(cell)
    except ValueError:
        value = None
    if value is not None:
        if math.isfinite(value):
            return None
        if math.isnan(value):
            return "is not a number (NaN); leave the cell empty (or NA) for a missing value"
        return "is not a finite number: a network cannot learn from it; write a finite number, or leave the cell empty"
    kind = next((kind for kind, pattern in _NOTATIONS if pattern.fullmatch(cell)), None)
    if kind is None:
        return None
    if kind == "a percent sign":
        plain = cell.rstrip().removesuffix("%").rstrip().replace(",", ".")
        return f"has a percent sign; write it as a plain number: {plain} (or {float(plain) / 100:g})"
    if kind == "a comma":
        return (
            f"has a comma, a thousands separator or a decimal comma; write it without thousands separators "
            f"({cell.replace(',', '')}) and with a decimal point ({cell.replace(',', '.')})"
        )
    if kind == "a decimal comma":
        return f"is written with a decimal comma; write numbers with a decimal point: {_decimal_point(cell)}"
    written = re.sub(r"[ \u00a0\u202f',](?=\d{3}(?:\D|$))", "", cell).replace(",", ".")
    return f"has a thousands separator; write numbers without one: {written}"


def _decimal_point(cell: str) -> str:
    return cell.replace(".", "").replace(",", ".")


def numeric_columns(table: Table) -> set[str]:
    """The columns whose cells (missing ones aside) are all finite numbers; a column of numbers in
    another notation, or of mostly numbers with other cells, is refused naming the first such cell
    (its file, line and column) and the way to write it."""
    columns = zip(*table.cells, strict=True) if table.cells else [() for _ in table.names]
    return {name for name, column in zip(table.names, columns, strict=True) if _is_numeric(table, name, column)}


_CANDIDATE = re.compile(r"^[+-]?(?:[\d.,]|inf|nan)", re.MULTILINE | re.IGNORECASE)
"""The start of a cell that may be a number in some notation (every other cell is text)."""


def _is_numeric(table: Table, name: str, column) -> bool:
    present = [cell for cell in column if cell is not None]
    try:
        if all(map(math.isfinite, map(float, present))):
            return True  # (the common case, without a loop in Python)
    except ValueError:
        pass
    total = len(present)
    if len(_CANDIDATE.findall("\n".join(present))) < MOSTLY * total:
        return False  # fewer than half the cells can be numbers: text (found without a look at each cell)
    plain, distinct, other, odd = 0, set(), [], []
    for i, cell in enumerate(column):
        if cell is None:
            continue
        try:
            value = float(cell)
        except ValueError:
            value = math.nan
        if math.isfinite(value):
            plain += 1
            if len(distinct) <= MAX_NUMERIC_CODES:
                distinct.add(value)
            continue
        why = notation(cell)
        (other if why is not None else odd).append((i, cell, why))
        if len(odd) > (1 - MOSTLY) * total:  # fewer than half the cells can be numbers: a text column
            return False
    numbers = plain + len(other)
    if odd and (numbers < MOSTLY * total or (len(odd) > 0.05 * total and len(distinct) <= MAX_NUMERIC_CODES)):
        return False  # text (its categories may be a few numbers: 1, 2, 3, 4+)
    i, cell, why = min([*other[:1], *odd[:1]])
    count = len(other) + len(odd)
    problem, fix = (why or "is not a finite one; write the number, or leave the cell empty").split("; ", 1)
    if fix.endswith("leave the cell empty"):
        fix += " (funcmlp train --missing impute fills such cells, --missing drop leaves their rows out)"
    raise TableError(
        f"{table.source}:{table.lines[i]}: column {name!r} holds numbers, but {shown(cell)} {problem} "
        f"({count} such cell{'s' if count > 1 else ''} of {total}); {fix}"
    )


def check_categories(table: Table, name: str, categories, rows: int, *, target: bool = False) -> None:
    """Refuse a text column (or a classification ``target``) of ``rows`` rows whose distinct values
    ``categories`` are more than :data:`ID_FLOOR` and than :data:`ID_SHARE` of its rows: an id column.

    Example:
        >>> names = tuple((f"user{i}",) for i in range(100))
        >>> table = Table("t.csv", ("id",), names, tuple(range(2, 102)))
        >>> check_categories(table, "id", {c for (c,) in names}, 100)  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        funcmlp.data.table.TableError: t.csv: column 'id' holds 100 distinct values in 100 rows ...
    """
    if len(categories) <= max(ID_FLOOR, ID_SHARE * rows):
        return
    some = ", ".join(shown(c) for c in heapq.nsmallest(3, categories))
    if not target and looks_like_dates(categories):
        raise TableError(
            f"{table.source}: column {name!r} holds dates ({len(categories):,} distinct values in {rows:,} rows: "
            f"{some}, ...), each date a category of its own to learn nothing from; write it as numbers (a year, a "
            f"month, days since a start) in columns of their own, or leave it out (funcmlp train --ignore {name})"
        )
    what = f"the target {name!r}" if target else f"column {name!r}"
    fix = (
        "give --target the column to predict, or --task regression for a numeric target"
        if target
        else f"leave it out (funcmlp train --ignore {name})"
    )
    raise TableError(
        f"{table.source}: {what} holds {len(categories):,} distinct values in {rows:,} rows ({some}, ...): an id or "
        f"free-text column, not {'classes' if target else 'categories'} (most rows a value of their own, "
        f"{len(categories):,} one-hot {'outputs' if target else 'features'} to learn nothing from); {fix}"
    )


_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|sep(?:t(?:ember)?)?"
    r"|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)\.?"
)
_DATE = re.compile(
    r"\d{4}[-/.]\d{1,2}(?:[-/.]\d{1,2})?(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    r"|\d{1,2}[-/.]\d{1,2}[-/.]\d{2}(?:\d{2})?(?: \d{1,2}:\d{2}(?::\d{2})?)?"
    rf"|(?:\d{{1,2}}[ -])?{_MONTH}(?:[ -]\d{{1,2}},?)?(?:[ -]\d{{2,4}})?|\d{{4}}[ -]{_MONTH}",
    re.IGNORECASE,
)
DATE_SHARE = 0.9
"""A text column of at least this share of values written as dates (or months) looks like a date column."""


def looks_like_dates(values) -> bool:
    """Whether the text ``values`` (distinct ones; the first 1,000 are looked at) are mostly dates or
    months: ``2023-01-31``, ``2023-01``, ``31/01/2023``, ``2023-01-31T12:00``, ``Jan 2023``, ``March``.

    Example:
        >>> looks_like_dates(["2023-01", "2023-02", "2023-03"]), looks_like_dates(["Oslo", "Rome", "2023-01"])
        (True, False)
    """
    sample = [v for _, v in zip(range(1000), values, strict=False) if v is not None]
    return bool(sample) and sum(bool(_DATE.fullmatch(v.strip())) for v in sample) >= DATE_SHARE * len(sample)


def check_one_hot(table: Table, widths: dict) -> None:
    """Refuse text columns (``name -> number of categories``) of more than :data:`MAX_ONE_HOT` one-hot
    features in all, naming the widest.

    Example:
        >>> check_one_hot(Table("t.csv", ("a",), (("x",),), (2,)), {"a": 3, "b": 4})
    """
    total = sum(widths.values())
    if total > MAX_ONE_HOT:
        widest = sorted(widths, key=widths.get, reverse=True)[:3]
        named = ", ".join(f"{name!r} {widths[name]:,}" for name in widest)
        raise TableError(
            f"{table.source}: its text columns make {total:,} one-hot features ({named}), more than the "
            f"{MAX_ONE_HOT:,} funcmlp encodes; leave out the widest (funcmlp train --ignore {widest[0]}), or group "
            "their rare values into one"
        )
