"""The one convention object: each of its maps checked against numpy's own transpose and ravel (the file's ``W``
is the engine's ``W`` transposed in the column convention, itself in the row one)."""

import itertools

import numpy as np
import pytest

from derivations.model.convention import COLUMN, ROW, convention


@pytest.mark.parametrize("inputs, units", [(1, 1), (2, 3), (3, 2), (4, 1)])
@pytest.mark.parametrize("layout", [ROW, COLUMN], ids=["row", "column"])
def test_every_map_agrees_with_numpy(layout, inputs, units):
    W = np.arange(inputs * units).reshape(inputs, units) * 10 + 7  # the engine's W: entry i, j is 10 (i units + j) + 7
    file_W = W.T if layout is COLUMN else W  # what the file writes
    assert layout.written(W.tolist()) == file_W.tolist()
    assert layout.read(file_W.tolist()) == W.tolist()
    assert layout.weight_shape(inputs, units) == file_W.shape
    assert layout.units_of(file_W.tolist()) == units
    values, shape = layout.matrix(W.tolist())
    assert (values, shape) == (file_W.ravel().tolist(), file_W.shape)
    for i, j in itertools.product(range(inputs), range(units)):
        r, c = layout.weight_entry(i, j)
        assert file_W[r - 1, c - 1] == W[i, j]
        assert layout.weight_at(r, c) == (i, j)
        place = layout.flat_entry(i, j, inputs, units)
        assert file_W.ravel()[place] == W[i, j]
        assert layout.engine_entry(place, file_W.shape) == i * units + j


@pytest.mark.parametrize("layout", [ROW, COLUMN], ids=["row", "column"])
def test_a_batch_and_its_first_example(layout):
    per_example = [[1, 2, 3], [4, 5, 6]]  # 2 examples of 3 units
    shown = np.array(per_example).T if layout is COLUMN else np.array(per_example)
    values, shape = layout.batch(per_example)
    assert (values, shape) == (shown.ravel().tolist(), shown.shape)
    assert layout.first_example(values, 3, 2) == [1, 2, 3]
    assert layout.batch([[1, 2, 3]]) == ([1, 2, 3], ())  # one example: a vector


def test_products_read_in_each_order_and_names():
    assert COLUMN.ordered("W", "a") == ("W", "a") and ROW.ordered("W", "a") == ("a", "W")
    assert ROW.ordered("s", "a^T") == ("a^T", "s")  # the transpose of s a^T
    assert COLUMN.on_columns("W") == "W" and ROW.on_columns("W") == "(W)^T"
    assert convention("row") is ROW and convention("column") is COLUMN and convention(COLUMN) is COLUMN
    with pytest.raises(ValueError, match=r"convention is 'diagonal'; expected \"row\" \(n = a W \+ b"):
        convention("diagonal")
