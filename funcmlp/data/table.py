"""A table of named columns, read from a CSV file (a header row, numeric and text columns, empty
or ``NA`` cells) or a ``.npz`` file (arrays ``x`` and ``y``), or made from scikit-learn's bundled
tabular sets (``iris``, ``wine``, ``breast_cancer``, ``diabetes``).

Cells stay text until :mod:`funcmlp.data.preprocessing` decides each column's kind; a missing
cell is ``None``, and each row keeps the line of the file it came from, so that an error names
file, line and column. Read with the standard library's ``csv`` (no pandas needed).

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("size,city\\n1.5,Oslo\\nNA,Rome\\n")
    >>> table = read_table(path)
    >>> table.names, table.column("size"), table.lines
    (('size', 'city'), ['1.5', None], (2, 3))
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass

import numpy as np

MISSING = ("", "NA", "N/A", "NaN", "nan", "null")
"""Cells read as missing (after surrounding spaces are stripped)."""
SKLEARN_TABLES = ("iris", "wine", "breast_cancer", "diabetes")
"""scikit-learn's bundled tabular sets, read as tables by name (their target column: ``target``)."""


class TableError(ValueError):
    """A table file that cannot be read as a table; the message names the file (and line)."""


@dataclass(frozen=True)
class Table:
    """Columns of cells: ``cells[i][j]`` is row i's cell of column j, text or ``None`` (missing);
    ``lines[i]`` the file line of row i; ``source`` the file (or the set's name)."""

    source: str
    names: tuple[str, ...]
    cells: tuple[tuple, ...]
    lines: tuple[int, ...]

    def column(self, name: str) -> list:
        """The cells of column ``name``, one per row."""
        j = self.index(name)
        return [row[j] for row in self.cells]

    def index(self, name: str) -> int:
        if name not in self.names:
            shown = ", ".join(repr(n) for n in self.names[:20]) + (", ..." if len(self.names) > 20 else "")
            raise TableError(f"{self.source} has no column {name!r}; its columns: {shown}")
        return self.names.index(name)

    def rows(self, keep) -> Table:
        """The table of the rows ``keep`` (indices or a boolean mask), in that order."""
        keep = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, int)
        return Table(self.source, self.names, tuple(self.cells[i] for i in keep), tuple(self.lines[i] for i in keep))

    def __len__(self) -> int:
        return len(self.cells)


def read_table(path: str) -> Table:
    """A CSV (by its header row) or ``.npz`` file (arrays ``x (N, d)`` and ``y (N,)`` or ``(N, 1)``) as a
    :class:`Table`; ``.npz`` columns are named ``x1..xd`` and ``y``."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"table file {path!r} not found; give the path of a .csv or .npz file")
    if os.path.isdir(path):
        raise TableError(f"{path} is a folder; give a .csv or .npz file")
    if path.lower().endswith(".npz"):
        return _read_npz(path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = next(reader, None)
            if header is None or not any(h.strip() for h in header):
                raise TableError(f"{path}: no header row; the first line names the columns, e.g. size,city,price")
            names = tuple(h.strip() for h in header)
            duplicate = next((n for n in names if names.count(n) > 1 or not n), None)
            if duplicate is not None:
                what = "an empty column name" if not duplicate else f"the column name {duplicate!r} twice"
                raise TableError(f"{path}:1: the header has {what}; give each column its own name")
            cells, lines = [], []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue  # a blank line
                if len(row) != len(names):
                    raise TableError(
                        f"{path}:{reader.line_num}: {len(row)} cells, the header names {len(names)} columns"
                    )
                cells.append(tuple(None if cell.strip() in MISSING else cell.strip() for cell in row))
                lines.append(reader.line_num)
    except UnicodeDecodeError as error:
        raise TableError(
            f"{path}: not a text CSV file ({error.reason} at byte {error.start}); save the table as UTF-8 CSV"
        ) from None
    except csv.Error as error:
        raise TableError(f"{path}: not a CSV table ({error}); save the table as CSV with a header row") from None
    if not cells:
        raise TableError(f"{path}: no data rows after the header")
    return Table(path, names, tuple(cells), tuple(lines))


def _read_npz(path: str) -> Table:
    try:
        with np.load(path, allow_pickle=False) as archive:
            if not {"x", "y"} <= set(archive.files):
                raise TableError(f"{path} holds {', '.join(archive.files) or 'no arrays'}; expected arrays x and y")
            x, y = archive["x"], archive["y"]
    except (OSError, ValueError) as error:
        if isinstance(error, TableError):
            raise
        raise TableError(f"{path}: not a readable .npz file ({error}); save x and y with numpy.savez") from None
    if x.ndim != 2 or y.ndim not in (1, 2) or len(x) != len(y) or len(x) == 0:
        raise TableError(
            f"{path}: x has shape {x.shape} and y {y.shape}; expected x (N, d) and y (N,) or (N, k), N > 0 rows each"
        )
    if y.ndim == 2 and y.shape[1] > 1:
        raise TableError(
            f"{path}: y has {y.shape[1]} columns; a table has one target column (y of shape (N,)): for several "
            "targets train from Python with funcmlp.fit"
        )
    if x.dtype.kind not in "biuf":
        raise TableError(f"{path}: x holds {x.dtype} values; expected numbers (text columns: give a CSV file)")
    y2 = y.reshape(len(y), -1)
    names = (
        *(f"x{j + 1}" for j in range(x.shape[1])),
        "y",
    )
    text = lambda v: None if isinstance(v, float) and np.isnan(v) else str(v)
    cells = tuple(tuple(text(v) for v in (*xi.tolist(), *yi.tolist())) for xi, yi in zip(x, y2, strict=True))
    return Table(path, names, cells, tuple(range(1, len(x) + 1)))


def sklearn_table(name: str) -> Table:
    """One of scikit-learn's bundled tabular sets as a table: its feature columns by their names
    and ``target`` (the class name for iris, wine and breast_cancer; the number for diabetes)."""
    if name not in SKLEARN_TABLES:
        raise ValueError(f"unknown scikit-learn table {name!r}; expected one of {', '.join(SKLEARN_TABLES)}")
    try:
        from sklearn import datasets
    except ModuleNotFoundError:
        raise ModuleNotFoundError(
            f"the {name} data set ships with scikit-learn; install it with: pip install 'funcmlp[examples]'"
        ) from None
    bunch = (
        getattr(datasets, f"load_{name}")(scaled=False) if name == "diabetes" else getattr(datasets, f"load_{name}")()
    )
    names = tuple(str(n) for n in bunch.feature_names)
    classes = getattr(bunch, "target_names", None) if name != "diabetes" else None
    targets = [str(classes[t]) for t in bunch.target] if classes is not None else [repr(float(t)) for t in bunch.target]
    cells = tuple(tuple(repr(float(v)) for v in row) + (t,) for row, t in zip(bunch.data, targets, strict=True))
    return Table(name, (*names, "target"), cells, tuple(range(1, len(cells) + 1)))


def numeric_columns(table: Table) -> set[str]:
    """The columns whose cells (missing ones aside) are all finite numbers. A column of mostly
    numbers with a few other cells (``?``, ``inf``, a typo) is refused, naming the first such cell:
    read as text it would become one category per value."""
    numeric = set()
    for name in table.names:
        cells = [(i, c) for i, c in enumerate(table.column(name)) if c is not None]
        odd = [(i, c) for i, c in cells if not is_number(c)]
        if not odd:
            numeric.add(name)
        elif len(odd) <= 0.05 * len(cells):
            i, cell = odd[0]
            raise TableError(
                f"{table.source}:{table.lines[i]}: column {name!r} holds numbers, but {shown(cell)} is not a finite "
                f"one ({len(odd)} such cell{'s' if len(odd) > 1 else ''} of {len(cells)}); write the number, or leave "
                "the cell empty (funcmlp train --missing drop leaves such rows out)"
            )
    return numeric


def missing_rows(table: Table, columns=None) -> np.ndarray:
    """A boolean mask ``(N,)`` of the rows with a missing cell (in ``columns``, default all)."""
    indices = [table.index(c) for c in columns] if columns is not None else range(len(table.names))
    return np.array([any(row[j] is None for j in indices) for row in table.cells], bool)


def refuse_missing(table: Table) -> None:
    """Refuse the first missing cell of ``table`` (by row, then column), naming file, line and column."""
    rows = np.flatnonzero(missing_rows(table))
    if len(rows):
        first = table.rows(rows[:1])
        refuse_missing_in(first, first.names[first.cells[0].index(None)], [None])


def refuse_missing_in(table: Table, name: str, cells) -> None:
    """Refuse the first missing cell of column ``name`` (its ``cells``)."""
    bad = next((i for i, c in enumerate(cells) if c is None), None)
    if bad is not None:
        raise TableError(
            f"{table.source}:{table.lines[bad]}: column {name!r} has a missing value (empty or NA); fill it in or "
            "leave the row out (funcmlp train --missing drop leaves such rows out)"
        )


def is_number(cell) -> bool:
    """A cell that reads as a finite number."""
    try:
        return math.isfinite(float(cell))
    except (TypeError, ValueError):
        return False


def shown(cell: str) -> str:
    """A cell as an error message shows it: quoted, at most 60 characters."""
    return repr(cell) if len(cell) <= 60 else f"{cell[:40]!r}... ({len(cell)} characters)"
