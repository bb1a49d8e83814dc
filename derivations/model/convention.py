"""How a text lays out a layer, decided here once: the row convention (``n = b + a W``: ``W`` is (inputs,
units), a vector is a row, one example per row) or the column one (``n = W a + b``: ``W`` is (units, inputs), a
vector is a column, one example per column). The engine works in the row convention; a :class:`Convention`
turns what the file writes into it and back, names a weight's entry as the file does and orders a product.

Contract: nested lists and indices in, nested lists and indices out; the one reader of a file's
``convention`` string (:func:`convention`).

Example:
    >>> W = [[1, 2, 3], [4, 5, 6]]  # the engine's W: 2 inputs, 3 units
    >>> COLUMN.written(W), COLUMN.weight_entry(0, 2), ROW.weight_entry(0, 2)
    ([[1, 4], [2, 5], [3, 6]], (3, 1), (1, 3))
    >>> COLUMN.ordered("W", "a"), ROW.ordered("W", "a")
    (('W', 'a'), ('a', 'W'))
"""

from __future__ import annotations

from dataclasses import dataclass


def _transpose(rows) -> list:
    return [list(column) for column in zip(*rows, strict=True)]


@dataclass(frozen=True)
class Convention:
    """One of the two layouts (:data:`ROW`, :data:`COLUMN`); ``name`` as a spec file writes it."""

    name: str

    @property
    def column(self) -> bool:
        """Whether a vector is a column (units down the page, one example per column)."""
        return self.name == "column"

    @property
    def axes(self) -> tuple[str, str]:
        """What the rows and the columns of ``W`` are, as the file writes it."""
        return ("units", "inputs") if self.column else ("inputs", "units")

    @property
    def unit_axis(self) -> int:
        """The axis of a (batch of) layer values along which the units go: 0 (column) or 1 (row)."""
        return 0 if self.column else 1

    def written(self, rows) -> list:
        """A matrix kept in the engine's layout (``W`` (inputs, units), or a batch (examples, units)) as the
        file writes it."""
        return _transpose(rows) if self.column else [list(row) for row in rows]

    def read(self, rows) -> list:
        """A matrix as the file writes it, in the engine's layout (the inverse of :meth:`written`)."""
        return self.written(rows)

    def matrix(self, rows) -> tuple[list, tuple]:
        """An engine-layout matrix as the file shows it: (its entries row by row, its shape)."""
        shown = self.written(rows)
        return [v for row in shown for v in row], (len(shown), len(shown[0]))

    def batch(self, per_example: list) -> tuple[list, tuple]:
        """One step's values for a batch (one list of units per example) as the file shows them: a
        vector and shape ``()`` for one example, else :meth:`matrix` ((batch, units) or (units, batch))."""
        if len(per_example) == 1:
            return list(per_example[0]), ()
        return self.matrix(per_example)

    def first_example(self, values: list, units: int, batch: int) -> list:
        """The first example's ``units`` values out of a batch's entries shown by :meth:`batch` (all of them
        where they are one example's: a batch of one, an online step)."""
        if batch == 1 or len(values) == units:
            return list(values)
        return [values[u * batch] for u in range(units)] if self.column else list(values[:units])

    def weight_shape(self, inputs: int, units: int) -> tuple[int, int]:
        """(rows, columns) of ``W`` as the file writes it."""
        return (units, inputs) if self.column else (inputs, units)

    def units_of(self, W) -> int:
        """The units of a layer whose ``W`` is given as the file writes it."""
        return len(W) if self.column else len(W[0])

    def in_file_order(self, input, unit) -> tuple:
        """A weight's two indices (numbers or names) in the order the file's ``W`` writes them: (row, column)."""
        return (unit, input) if self.column else (input, unit)

    def weight_entry(self, i: int, j: int) -> tuple[int, int]:
        """(row, column), from 1, of the weight from input ``i`` to unit ``j`` (from 0) in the file's ``W``."""
        return self.in_file_order(i + 1, j + 1)

    def weight_at(self, r: int, c: int) -> tuple[int, int]:
        """(input, unit), from 0, of the entry in row ``r`` and column ``c`` (from 1) of the file's ``W``."""
        return (c - 1, r - 1) if self.column else (r - 1, c - 1)

    def flat_entry(self, i: int, j: int, inputs: int, units: int) -> int:
        """The place of the weight from input ``i`` to unit ``j`` among the file's ``W`` entries row by row."""
        r, c = self.weight_entry(i, j)
        return (r - 1) * self.weight_shape(inputs, units)[1] + c - 1

    def engine_entry(self, index: int, shape: tuple[int, int]) -> int:
        """The place in the engine's ``W`` (row by row) of entry ``index`` of the file's ``W`` of ``shape``."""
        i, j = self.weight_at(*(n + 1 for n in divmod(index, shape[1])))
        return i * self.in_file_order(*shape)[1] + j  # in_file_order of (rows, cols) is (inputs, units)

    def on_columns(self, matrix: str) -> str:
        """The matrix (its text) that maps an input column vector to the layer's: ``W`` as a column text writes it,
        ``(W)^T`` as a row one (``n^T = W^T a^T``)."""
        return matrix if self.column else f"({matrix})^T"

    def ordered(self, *factors):
        """``factors`` of a product as the column convention writes it, in this convention's order: the row
        convention writes the transpose, its factors in reverse (``W a`` is ``a W``, ``s a^T`` is ``a^T s``)."""
        return factors if self.column else factors[::-1]


ROW = Convention("row")
COLUMN = Convention("column")
CONVENTIONS = {c.name: c for c in (ROW, COLUMN)}


def convention(name) -> Convention:
    """The convention a spec file names; a ``ValueError`` naming both otherwise.

    Example:
        >>> convention("column").axes
        ('units', 'inputs')
    """
    if isinstance(name, Convention):
        return name
    if name not in CONVENTIONS:
        raise ValueError(
            f'convention is {name!r}; expected "row" (n = a W + b, W is (in, out)) or "column" (z = W a + '
            "b, W is (out, in))"
        )
    return CONVENTIONS[name]
