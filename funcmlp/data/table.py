"""A table of named columns, read from a CSV file (a header row, numeric and text columns, empty
or ``NA`` cells) or a ``.npz`` file (arrays ``x`` and ``y``), or made from scikit-learn's bundled
tabular sets (``iris``, ``wine``, ``breast_cancer``, ``diabetes``).

Cells stay text until :mod:`funcmlp.data.preprocessing` decides each column's kind; a missing
cell is ``None``, and each row keeps the line of the file it came from, so that an error names
file, line and column. Read with the standard library's ``csv`` (no pandas needed), through
:func:`funcmlp.sources.open_source` (regular files only), in time linear in the file's size; a NUL
byte is refused. A ``.npz`` table is read entry by entry, each ``.npy`` header (numbers only: no
objects, no complex numbers) checked against the size its zip entry declares before anything is
decompressed. Which columns are numbers: :mod:`funcmlp.data.table_columns`.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("size,city\\n1.5,Oslo\\nNA,Rome\\n")
    >>> table = read_table(path)
    >>> table.names, table.column("size"), table.lines
    (('size', 'city'), ['1.5', None], (2, 3))
"""

from __future__ import annotations

import contextlib
import csv
import gc
import io
import math
import operator
import os
import zipfile
from dataclasses import dataclass, field

import numpy as np

from funcmlp.sources import npy_header, open_source

MISSING = ("", "NA", "N/A", "NaN", "nan", "null")
"""Cells read as missing (after surrounding spaces are stripped)."""
SKLEARN_TABLES = ("iris", "wine", "breast_cancer", "diabetes")
"""scikit-learn's bundled tabular sets, read as tables by name (their target column: ``target``)."""
CSV_BYTES = 40
"""Bytes of memory a byte of a CSV table may take: read, 24 (measured: short cells as Python strings in
tuples), and its columns again while the preprocessing is fitted and applied."""


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
    positions: dict = field(init=False, repr=False, compare=False)
    """Each column's index by its name (a look-up in constant time, also for 100,000 columns)."""

    def __post_init__(self):
        object.__setattr__(self, "positions", {name: j for j, name in enumerate(self.names)})

    def column(self, name: str) -> list:
        """The cells of column ``name``, one per row."""
        return list(map(operator.itemgetter(self.index(name)), self.cells))

    def index(self, name: str) -> int:
        j = self.positions.get(name)
        if j is None:
            shown = ", ".join(repr(n) for n in self.names[:20]) + (", ..." if len(self.names) > 20 else "")
            raise TableError(f"{self.source} has no column {name!r}; its columns: {shown}")
        return j

    def without(self, names) -> Table:
        """The table less the columns ``names`` (each refused unless the table has it).

        Example:
            >>> Table("t", ("a", "b"), (("1", "x"),), (2,)).without(["b"]).names
            ('a',)
        """
        gone = {self.index(name) for name in names}
        keep = [j for j in range(len(self.names)) if j not in gone]
        cells = tuple(tuple(row[j] for j in keep) for row in self.cells)
        return Table(self.source, tuple(self.names[j] for j in keep), cells, self.lines)

    def rows(self, keep) -> Table:
        """The table of the rows ``keep`` (indices or a boolean mask), in that order."""
        keep = np.flatnonzero(keep) if np.asarray(keep).dtype == bool else np.asarray(keep, int)
        keep = keep.tolist()
        return Table(
            self.source, self.names, tuple(map(self.cells.__getitem__, keep)), tuple(map(self.lines.__getitem__, keep))
        )

    def __len__(self) -> int:
        return len(self.cells)


@contextlib.contextmanager
def without_gc():
    """Python's cyclic garbage collector paused while the block runs: building a million rows of tuples
    (none of them in a cycle) otherwise starts it thousands of times, each pass over every row made so far."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def read_table(path, what: str = "the table", *, fits=None) -> Table:
    """A CSV (by its header row) or ``.npz`` file (arrays ``x (N, d)`` and ``y (N,)`` or ``(N, 1)``) as a
    :class:`Table`; ``.npz`` columns are named ``x1..xd`` and ``y``. The file is opened with
    :func:`funcmlp.sources.open_source` (a folder, FIFO or device is refused, naming ``what``);
    ``fits(needed_bytes, what_needs_them)``, where given, is called with the memory the table will take
    before it is read (and raises where that is too much)."""
    path = os.fspath(path)
    npz = path.lower().endswith(".npz")
    with open_source(path, what, "rb" if npz else "r", encoding="utf-8-sig", newline="") as handle:
        if npz:
            return _read_npz(handle, path, fits)
        if fits is not None:
            fits(CSV_BYTES * os.fstat(handle.fileno()).st_size, f"reading the table {path}")
        try:
            text = handle.read()
        except UnicodeDecodeError as error:
            raise TableError(
                f"{path}: not a text CSV file ({error.reason} at byte {error.start}); save the table as UTF-8 CSV"
            ) from None
    nul = text.find("\x00")
    if nul >= 0:
        _refuse_nul(path, text, nul)
    try:
        with without_gc():
            return _read_csv(path, text)
    except csv.Error as error:
        raise TableError(f"{path}: not a CSV table ({error}); save the table as CSV with a header row") from None


def _read_csv(path: str, text: str) -> Table:
    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None or not any(h.strip() for h in header):
        raise TableError(f"{path}: no header row; the first line names the columns, e.g. size,city,price")
    names = tuple(h.strip() for h in header)
    seen = set()
    for name in names:
        if not name or name in seen:
            what = "an empty column name" if not name else f"the column name {name!r} twice"
            raise TableError(f"{path}:1: the header has {what}; give each column its own name")
        seen.add(name)
    pairs = [(row, reader.line_num) for row in reader if "".join(row).strip()]  # blank lines left out
    if not pairs:
        raise TableError(f"{path}: no data rows after the header")
    rows, lines = zip(*pairs, strict=True)
    if set(map(len, rows)) != {len(names)}:
        row, line = next((row, line) for row, line in pairs if len(row) != len(names))
        raise TableError(f"{path}:{line}: {len(row)} cells, the header names {len(names)} columns")
    missing = frozenset(MISSING)
    columns = [[None if c in missing else c for c in map(str.strip, column)] for column in zip(*rows, strict=True)]
    cells = tuple(zip(*columns, strict=True))  # by column, then back to rows: no loop per cell
    return Table(path, names, cells, lines)


def _refuse_nul(path: str, text: str, at: int) -> None:
    line = text.count("\n", 0, at) + 1
    start = text.rfind("\n", 0, at) + 1
    end = text.find("\n", at)
    where = ""
    try:
        row = next(csv.reader([text[start : end if end >= 0 else len(text)]]))
        header = next(csv.reader([text[: text.find("\n")]])) if line > 1 else row
        j = next(j for j, cell in enumerate(row) if "\x00" in cell)
        column = header[j].strip() if j < len(header) else f"number {j + 1}"
        where = f", column {column!r}, cell {row[j][:40]!r}"
    except (csv.Error, StopIteration):
        pass
    raise TableError(
        f"{path}:{line}: a NUL byte (\\x00){where}; a CSV table is text, and NUL is no character of it: remove "
        "it, or if the file is binary or UTF-16, save the table as UTF-8 CSV"
    )


def _read_npz(handle, path: str, fits) -> Table:
    try:
        with zipfile.ZipFile(handle) as archive:
            entries = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            if not {"x", "y"} <= set(entries):
                held = ", ".join(sorted(entries)[:10]) or "no arrays"
                raise TableError(f"{path} holds {held}; expected arrays x and y (numpy.savez(path, x=x, y=y))")
            x, y = (_read_npy(archive, entries[name], path, name, fits) for name in ("x", "y"))
    except (OSError, EOFError, zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as error:
        reason = str(error).splitlines()[0] if str(error) else type(error).__name__
        raise TableError(f"{path}: not a readable .npz file ({reason}); save x and y with numpy.savez") from None
    return _npz_table(path, x, y)


NPZ_KINDS = {"x": "biuf", "y": "biufU"}
"""The dtype kinds a table's ``.npz`` arrays may hold: numbers, and class names as text for ``y``."""
NPZ_CELL_BYTES = 100
"""Bytes of memory a number of a table's ``.npz`` takes as a cell (its text, in a tuple), about."""


def _read_npy(archive, info, path: str, name: str, fits) -> np.ndarray:
    """One array of a table's ``.npz``, its ``.npy`` header checked against the size its zip entry
    declares (which the zip reader never reads past) before anything is decompressed or allocated."""
    with archive.open(info) as entry:
        try:
            shape, dtype, _ = npy_header(entry)
        except ValueError as error:
            raise TableError(
                f"{path}: its array {name} is not a NumPy .npy array ({error}); save x and y with numpy.savez"
            ) from None
        if dtype.hasobject or dtype.kind not in NPZ_KINDS[name]:
            held = "Python objects" if dtype.hasobject else f"{dtype} values"
            expected = "numbers (or class names as text)" if name == "y" else "numbers (integer or floating point)"
            fix = "x=np.asarray(x, float)), or give a CSV file" if name == "x" else "y=np.asarray(y, str)) for classes"
            raise TableError(
                f"{path}: its array {name} holds {held}; expected {expected}: save it with numpy.savez(path, {fix}"
            )
        cells = math.prod(shape)
        claimed = cells * dtype.itemsize
        if claimed != info.file_size - entry.tell():
            raise TableError(
                f"{path}: its array {name} claims shape {tuple(shape)} of {dtype} ({claimed:,} bytes) but its entry "
                f"holds {info.file_size - entry.tell():,}; the file is damaged: save x and y with numpy.savez again"
            )
        if fits is not None:
            fits(
                claimed + NPZ_CELL_BYTES * cells,
                f"reading the table {path} (its array {name}: {claimed:,} bytes, {info.compress_size:,} in the file)",
            )
        entry.seek(0)
        try:
            return np.lib.format.read_array(entry, allow_pickle=False)
        except ValueError as error:
            raise TableError(
                f"{path}: its array {name} cannot be read ({error}); save x and y with numpy.savez"
            ) from None


def _npz_table(path: str, x: np.ndarray, y: np.ndarray) -> Table:
    if x.ndim != 2 or y.ndim not in (1, 2) or len(x) != len(y) or len(x) == 0:
        raise TableError(
            f"{path}: x has shape {x.shape} and y {y.shape}; expected x (N, d) and y (N,) or (N, k), N > 0 rows each"
        )
    if y.ndim == 2 and y.shape[1] > 1:
        raise TableError(
            f"{path}: y has {y.shape[1]} columns; a table has one target column (y of shape (N,)): for several "
            "targets train from Python with funcmlp.fit"
        )
    y2 = y.reshape(len(y), -1)
    names = (
        *(f"x{j + 1}" for j in range(x.shape[1])),
        "y",
    )
    text = lambda v: None if isinstance(v, float) and np.isnan(v) else str(v)
    with without_gc():
        cells = tuple(tuple(text(v) for v in (*xi, *yi)) for xi, yi in zip(x.tolist(), y2.tolist(), strict=True))
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


def missing_rows(table: Table, columns=None) -> np.ndarray:
    """A boolean mask ``(N,)`` of the rows with a missing cell (in ``columns``, default all)."""
    if columns is None:
        return np.array([None in row for row in table.cells], bool)
    indices = [table.index(c) for c in columns]
    return np.array([any(row[j] is None for j in indices) for row in table.cells], bool)


def refuse_missing_in(table: Table, name: str, cells) -> None:
    """Refuse the first missing cell of column ``name`` (its ``cells``)."""
    if None in cells:
        bad = cells.index(None)
        raise TableError(
            f"{table.source}:{table.lines[bad]}: column {name!r} has a missing value (empty or NA); fill it in, or "
            "give funcmlp train --missing impute (fills it with the training rows' median, or their most frequent "
            "text) or --missing drop (leaves its row out)"
        )
