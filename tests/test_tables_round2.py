"""Issue 33, tables: numbers in another notation refused with the way to write them (never one-hot),
id columns and too many one-hot features refused, a NUL byte and non-numeric .npz arrays refused,
the .npz entries' sizes checked before they are read, a column near 1e300 scaled without overflow,
and a value beyond float32 refused naming its column. (The hangs and the slow cases: tests/probe_tables.py.)"""

import os
import statistics
import zipfile

import numpy as np
import pytest

from funcmlp.cli import main
from funcmlp.data.preprocessing import fit_preprocessing
from funcmlp.data.scaling import scale_of, scale_of_column, standardised
from funcmlp.data.table import Table, TableError, read_table
from funcmlp.data.table_columns import check_one_hot, notation, numeric_columns
from funcmlp.data.table_split import split_table


def _table(*columns, names=None):
    names = names or tuple(f"c{j}" for j in range(len(columns)))
    rows = tuple(zip(*columns, strict=True))
    return Table("t.csv", tuple(names), rows, tuple(range(2, len(rows) + 2)))


def _write(path, text):
    path.write_text(text)
    return str(path)


@pytest.mark.parametrize(
    ("cell", "says"),
    [
        ("1,5", "is written with a decimal comma; write numbers with a decimal point: 1.5"),
        ("-0,25", "is written with a decimal comma; write numbers with a decimal point: -0.25"),
        ("1.234,5", "is written with a decimal comma; write numbers with a decimal point: 1234.5"),
        ("1,234.5", "has a thousands separator; write numbers without one: 1234.5"),
        ("12,345,678", "has a thousands separator; write numbers without one: 12345678"),
        ("1 234", "has a thousands separator; write numbers without one: 1234"),
        (
            "1,234",
            "has a comma, a thousands separator or a decimal comma; write it without thousands separators (1234)",
        ),
        ("15%", "has a percent sign; write it as a plain number: 15 (or 0.15)"),
        ("inf", "is not a finite number"),
        ("-Infinity", "is not a finite number"),
        ("1e999", "is not a finite number"),
    ],
)
def test_a_number_in_another_notation_is_named_with_the_way_to_write_it(cell, says):
    assert notation(cell).startswith(says)


@pytest.mark.parametrize("cell", ["Oslo", "2.5", "-3", "1e3", "v1.2.3", "12a", "4+"])
def test_plain_numbers_and_text_are_no_other_notation(cell):
    assert notation(cell) is None


def test_a_column_of_decimal_commas_is_refused_not_one_hot():
    """The issue's case: 75 one-hot features instead of 2 numbers, without a word."""
    table = _table([f"{i},5" for i in range(100)], ["ab"[i % 2] for i in range(100)])
    with pytest.raises(TableError, match=r"^t\.csv:2: column 'c0' holds numbers, but '0,5' is written with a decimal"):
        numeric_columns(table)


def test_inf_in_a_tenth_of_the_cells_is_refused_naming_the_first():
    cells = ["inf" if i % 10 == 4 else str(i) for i in range(100)]
    with pytest.raises(
        TableError, match=r"t\.csv:6: column 'c0' .* 'inf' is not a finite number.*10 such cells of 100"
    ):
        numeric_columns(_table(cells))


def test_mostly_numbers_with_text_cells_is_refused_when_the_numbers_are_many_values():
    """10% '?' used to make every number a category (> 5% odd cells was text)."""
    cells = ["?" if i % 10 == 0 else f"{i * 1.5}" for i in range(100)]
    with pytest.raises(TableError, match=r"t\.csv:2: column 'c0' holds numbers, but '\?' is not a finite one"):
        numeric_columns(_table(cells))


def test_text_and_category_codes_stay_text():
    cities = ["Oslo", "Rome", "Infinity Bay", "Lima"] * 25
    codes = ["1", "2", "3", "4+"] * 25  # a few numbers and a text code: categories
    names = ["Ann", "inf", "Bo", "Cy"] * 25  # a name that reads as a number, among names
    assert numeric_columns(_table(cities, codes, names, [str(i) for i in range(100)])) == {"c3"}


def test_an_id_column_is_refused_with_the_option_that_leaves_it_out():
    ids = [f"user{i:04d}" for i in range(200)]
    table = _table(ids, [str(i % 3) for i in range(200)], ["ab"[i % 2] for i in range(200)], names=("id", "x", "y"))
    with pytest.raises(TableError, match=r"column 'id' holds 200 distinct values in 200 rows .*--ignore id\)$"):
        fit_preprocessing(table, "y")
    with pytest.raises(TableError, match=r"column 'id' holds 200 distinct values in 200 rows"):
        split_table(table, "y")


def test_a_target_of_mostly_distinct_classes_is_refused():
    table = _table([str(i % 3) for i in range(200)], [f"name{i}" for i in range(200)])
    with pytest.raises(TableError, match=r"the target 'c1' holds 200 distinct values .* give --target the column"):
        fit_preprocessing(table, "c1")


def test_one_hot_features_are_bounded_naming_the_widest_column():
    with pytest.raises(TableError, match=r"make 10,001 one-hot features \('b' 6,000, 'a' 4,001\).*--ignore b\)"):
        check_one_hot(_table(["x"]), {"a": 4001, "b": 6000})


def test_a_nul_byte_is_refused_naming_line_column_and_cell(tmp_path):
    path = _write(tmp_path / "t.csv", "size,city\n1,Oslo\n2,Ro\x00me\n")
    with pytest.raises(TableError, match=r"t\.csv:3: a NUL byte \(\\x00\), column 'city', cell 'Ro\\x00me'"):
        read_table(path)


def test_a_header_of_100000_columns_is_checked_and_looked_up_by_name(tmp_path):
    names = [f"c{j}" for j in range(100_000)]
    path = _write(tmp_path / "t.csv", ",".join(names) + "\n" + ",".join(["1"] * 100_000) + "\n")
    table = read_table(path)
    assert table.index("c99999") == 99_999 and table.column("c5") == ["1"]
    _write(tmp_path / "t.csv", ",".join([*names, "c7"]) + "\n" + ",".join(["1"] * 100_001) + "\n")
    with pytest.raises(TableError, match=r"t\.csv:1: the header has the column name 'c7' twice"):
        read_table(path)


def test_a_folder_as_a_table_is_refused(tmp_path):
    with pytest.raises(ValueError, match=r"--data .* is a folder, not a file"):
        read_table(str(tmp_path), "--data")


@pytest.mark.parametrize(
    ("x", "y", "says"),
    [
        (np.array([[1, "a"]] * 4, dtype=object), np.arange(4), "its array x holds Python objects; expected numbers"),
        (np.ones((4, 2), complex), np.arange(4), "its array x holds complex128 values; expected numbers"),
        (np.ones((4, 2)), np.array([b"a", b"b"] * 2), r"its array y holds \|S1 values"),
        (np.ones((4, 2)), np.array([1 + 1j] * 4), "its array y holds complex128 values"),
    ],
)
def test_non_numeric_npz_arrays_are_refused(tmp_path, x, y, says):
    np.savez(tmp_path / "t.npz", x=x, y=y)
    with pytest.raises(TableError, match=says):
        read_table(str(tmp_path / "t.npz"))


def test_npz_class_names_as_text_are_read(tmp_path):
    np.savez(tmp_path / "t.npz", x=np.arange(4.0).reshape(2, 2), y=np.array(["cat", "dog"]))
    assert read_table(str(tmp_path / "t.npz")).column("y") == ["cat", "dog"]


def test_npz_entries_are_sized_before_they_are_decompressed(tmp_path):
    """fits is told the bytes the compressed x claims (and the cells it becomes) before any is read."""
    path = tmp_path / "t.npz"
    np.savez_compressed(path, x=np.zeros((1000, 2)), y=np.zeros(1000))
    asked = []
    table = read_table(str(path), fits=lambda needed, what: asked.append((needed, what.split(" (")[1])))
    assert len(table) == 1000
    assert asked[0][0] == 16_000 + 100 * 2000 and asked[0][1].startswith("its array x: 16,000 bytes")

    def refuse(needed, what):
        raise ValueError(f"{what} needs {needed}")

    with pytest.raises(ValueError, match=r"its array x: 16,000 bytes, \d+ in the file\) needs 216000"):
        read_table(str(path), fits=refuse)


def test_an_npz_entry_claiming_more_than_it_holds_is_refused(tmp_path):
    path = tmp_path / "t.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("x.npy", "w") as handle:
            np.lib.format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (10**9, 2)})
            handle.write(bytes(16))
        with archive.open("y.npy", "w") as handle:
            np.save(handle, np.zeros(1))
    with pytest.raises(TableError, match=r"claims shape \(1000000000, 2\) of float64 .* but its entry holds 16"):
        read_table(str(path))


def test_a_column_near_1e300_has_a_finite_scale():
    values = np.array([1e300, -2e300, 3e300, 5e299])
    scaled = [v / 1e300 for v in values]
    mean, std = scale_of_column(values)
    assert mean == pytest.approx(statistics.fmean(scaled) * 1e300, rel=1e-14)
    assert std == pytest.approx(statistics.pstdev(scaled) * 1e300, rel=1e-14)
    assert np.allclose(
        standardised(values, mean, std), [(s - statistics.fmean(scaled)) / statistics.pstdev(scaled) for s in scaled]
    )


def test_the_built_in_sets_standardise_features_near_1e300_to_finite_numbers():
    """The same scale for a data set's features (funcmlp.data.datasets.standardize reads it), per column;
    ordinary columns exactly as numpy's mean and std along axis 0."""
    from funcmlp.data.datasets import standardize

    train = np.array([[1e300, 1.0, 4.0], [-2e300, 3.0, 4.0], [3e300, 8.0, 4.0]])
    mean, std = scale_of(train)
    scaled = [v / 3e300 for v in train[:, 0]]
    assert mean[0] == pytest.approx(statistics.fmean(scaled) * 3e300, rel=1e-14)
    assert std[0] == pytest.approx(statistics.pstdev(scaled) * 3e300, rel=1e-14)
    assert mean[1] == train[:, 1].mean() and std[1] == train[:, 1].std() and (mean[2], std[2]) == (4.0, 1.0)
    (standardized,) = standardize(train)
    assert np.isfinite(standardized).all() and np.allclose(standardized.mean(axis=0), 0.0)


def test_a_table_near_1e300_trains_and_its_model_is_evaluated_and_predicts(tmp_path, capsys):
    """It trained and saved a model that predict and evaluate called damaged (a std of inf)."""
    rng = np.random.default_rng(0)
    rows = [f"{float(v) * 1e300!r},{float(w)!r},{'ab'[i % 2]}" for i, (v, w) in enumerate(rng.normal(size=(60, 2)))]
    table = _write(tmp_path / "big.csv", "a,b,label\n" + "\n".join(rows) + "\n")
    run = str(tmp_path / "run")
    assert (
        main(["train", "--data", table, "--target", "label", "--epochs", "2", "--no-check", "--quiet", "--out", run])
        == 0
    )
    capsys.readouterr()
    assert main(["evaluate", run, "--data-path", table]) == 0
    loss = float(capsys.readouterr().out.split("loss ")[1].split(",")[0])
    assert np.isfinite(loss) and 0 < loss < 10  # a finite cross-entropy of 2 classes after 2 epochs
    assert main(["predict", run, "--data-path", table, "--out", str(tmp_path / "p.csv")]) == 0
    predicted = (tmp_path / "p.csv").read_text().splitlines()
    assert predicted[0] == "row,label" and len(predicted) == 61
    assert {line.split(",")[1] for line in predicted[1:]} <= {"a", "b"}
    assert "damaged" not in capsys.readouterr().err


def test_a_target_beyond_float32_is_refused_naming_its_column_and_float64():
    table = _table([str(i) for i in range(40)], [f"{(i + 1) * 1e299}" for i in range(40)], names=("a", "y"))
    with pytest.raises(TableError, match=r"t\.csv:2: column 'y' holds '1e\+299'.*float32's range.*--float64"):
        split_table(table, "y", scale_target=False, dtype="float32")
    data = split_table(table, "y", scale_target=False, dtype="float64")
    assert data.dataset.y_train.max() <= 4e300


def test_ignore_leaves_a_column_out_of_training_and_of_predict(tmp_path, capsys):
    rows = [f"user{i:03d},{i % 5},{'ab'[i % 5 > 1]}" for i in range(120)]
    table = _write(tmp_path / "t.csv", "id,x,label\n" + "\n".join(rows) + "\n")
    run = str(tmp_path / "run")
    train = ["train", "--data", table, "--target", "label", "--epochs", "1", "--no-check", "--quiet", "--out", run]
    assert main(train) == 2
    assert "column 'id' holds 120 distinct values in 120 rows" in capsys.readouterr().err
    assert main([*train, "--ignore", "id"]) == 0
    new = _write(tmp_path / "new.csv", "x\n1\n4\n")  # no id column: the model never read it
    assert main(["predict", run, "--data-path", new, "--out", str(tmp_path / "p.csv")]) == 0
    assert (tmp_path / "p.csv").read_text().splitlines()[0] == "row,label"
    assert main([*train[:-1], str(tmp_path / "r2"), "--ignore", "nope"]) == 2
    assert "--ignore nope: " in capsys.readouterr().err and os.path.exists(run)
    assert main([*train[:-1], str(tmp_path / "r3"), "--ignore", "label"]) == 2
    assert "--ignore label names the target 'label'" in capsys.readouterr().err
