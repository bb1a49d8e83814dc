"""What was read of a table, said (issue 37, item 3): each column's kind and levels, and the columns that
look like dates or ids, in train's output and with ``--describe``; ``--split 1,0`` with ``--test`` (no
validation rows); ``predict --id COLUMN``; ``--quiet`` printing the result lines alone; and every option
that does not apply refused in one line, never ignored. Every table is written here."""

import contextlib
import io
import json

import jax
import numpy as np
import pytest
from csv_writer import write_csv

from funcmlp import MLP
from funcmlp.cli import main
from funcmlp.data.table import Table
from funcmlp.data.table_report import describe_columns
from funcmlp.io.model_file import save_model

HEADER = ["customer", "size", "city", "month", "kind"]
FAST = ["--hidden", "8", "--epochs", "5", "--batch-size", "16", "--no-check"]


def _write(path, rows, header=HEADER):
    return write_csv(path, rows, header)


def _rows(n, first=1):
    """customer (an id: 1, 2, ...), size (a number, two cells empty), city (text), month (2023-01 ...
    2023-12: dates), kind (the target)."""
    rng = np.random.default_rng(first)
    rows = []
    for i in range(n):
        size, city = rng.uniform(40, 200), ["Oslo", "Rome", "Lima"][i % 3]
        kind = "big" if size + (30 if city == "Oslo" else 0) > 130 else "small"
        rows.append([str(first + i), "" if i in (4, 9) else f"{size:.1f}", city, f"2023-{i % 12 + 1:02d}", kind])
    return rows


@pytest.fixture
def cars(tmp_path):
    return _write(tmp_path / "cars.csv", _rows(48))


DATES = (
    "column 'month' looks like dates (12 levels as text: a category per date, nothing of their order or distance); "
    "write it as numbers (a year, a month, days since a start) in columns of their own, or --ignore month leaves it out"
)
ID = (
    "column 'customer' looks like an id (a whole number of its own in every row, 1 to 48), read as a number to learn "
    "from; --ignore customer leaves it out"
)


def test_describe_lists_each_column_as_read_and_trains_nothing(cars, tmp_path, capsys):
    assert main(["train", "--data", cars, "--target", "kind", "--describe"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"table   {cars}: 48 rows, 5 columns",
        "column  'customer': number, looks like an id",
        "column  'size': number, 2 missing",
        "column  'city': text, 3 levels",
        "column  'month': text, 12 levels, looks like dates",
        "column  'kind': the target, text, 2 levels",
        f"note    {ID}",
        f"note    {DATES}",
    ]
    assert main(["train", "--data", cars, "--target", "kind", "--describe", "--ignore", "customer"]) == 0
    assert "column  'customer': left out (--ignore)" in capsys.readouterr().out
    assert main(["train", "--data", cars, "--target", "kind", "--describe", "--out", str(tmp_path / "run")]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "funcmlp: error: --describe only reads the table, it trains and writes nothing: leave out --out"
    ]
    assert main(["train", "--data", "xor", "--describe"]) == 2
    assert "--describe reads a table: --data FILE.csv" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_ids_and_dates_are_named_only_where_they_are():
    rows = tuple((str(10 * i), "ab"[i % 2], f"{i % 28 + 1}/03/2024", str(i % 4)) for i in range(30))
    table = Table("t.csv", ("amount", "code", "day", "y"), rows, tuple(range(2, 32)))
    reports = {r.name: r for r in describe_columns(table, "y", {"amount", "y"})}
    assert reports["amount"].looks is None  # distinct whole numbers, 0 to 290 in tens: not named as an id
    assert reports["code"].looks is None and reports["day"].looks == "dates" and reports["y"].target
    named = Table("t.csv", ("order_id", "y"), tuple((str(7 * i), "a") for i in range(30)), tuple(range(2, 32)))
    assert describe_columns(named, "y", {"order_id"})[0].looks == "an id"  # by its name


def test_train_says_how_each_column_was_read_and_splits_1_0_with_a_test_table(cars, tmp_path, capsys):
    test = _write(tmp_path / "test.csv", _rows(6, first=100))
    run = tmp_path / "run"
    argv = ["train", "--data", cars, "--target", "kind", "--test", test, "--split", "1,0", "--missing", "drop"]
    assert main([*argv, *FAST, "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "data    cars.csv: 17 features, 2 classes; train 46, validation none, test 5" in out
    assert (
        "columns customer (number, looks like an id), size (number, 2 missing), city (text, 3 levels), month "
        "(text, 12 levels, looks like dates), kind (the target: text, 2 levels)\n" in out
    )
    assert f"note    {ID}\n" in out and f"note    {DATES}\n" in out
    assert "val loss" not in out  # no validation rows, none evaluated
    history = json.loads((run / "history.json").read_text())["history"]
    assert len(history) == 5 and all("val_loss" not in epoch for epoch in history)
    assert main([*argv, *FAST, "--patience", "2"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "funcmlp: error: --patience stops on the validation loss, and --split 1,0 leaves no validation rows: give a "
        "validation fraction (e.g. --split 0.9,0.1), or leave out --patience"
    ]
    assert main(["train", "--data", cars, "--target", "kind", "--split", "1,0", *FAST]) == 2  # without --test
    assert "--split takes 3 fractions train,validation,test" in capsys.readouterr().err


@pytest.fixture(scope="module")
def quiet_run(tmp_path_factory):
    """A run of --quiet on a table with an id column left out and a date column, and what it printed."""
    folder = tmp_path_factory.mktemp("quiet")
    data = _write(folder / "cars.csv", _rows(48))
    run = folder / "run"
    argv = ["train", "--data", data, "--target", "kind", "--missing", "impute", "--ignore", "customer"]
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main([*argv, *FAST, "--quiet", "--out", str(run)]) == 0
    return run, data, printed.getvalue().splitlines()


def test_quiet_prints_the_result_lines_and_the_notes_only(quiet_run, capsys):
    run, _, printed = quiet_run
    assert [line.split()[0] for line in printed] == ["note", "test", "saved"] and printed[0] == f"note    {DATES}"
    assert printed[1].startswith("test    loss ") and printed[2].startswith(f"saved   {run}/model.npz, history.csv")
    assert main(["evaluate", str(run), "--quiet"]) == 2  # names the file to pass: its rows are a split of it
    assert "was tested on a 0.8,0.1,0.1 split of " in capsys.readouterr().err


def test_predict_copies_an_id_column_into_the_predictions(quiet_run, tmp_path, capsys):
    run, data, _ = quiet_run
    new = _write(tmp_path / "new.csv", [r[:4] for r in _rows(3, first=501)], header=HEADER[:4])
    out = tmp_path / "p.csv"
    capsys.readouterr()
    assert main(["predict", str(run), "--data-path", new, "--out", str(out), "--id", "customer", "--quiet"]) == 0
    assert capsys.readouterr().out.splitlines() == [f"wrote {out}: 3 predictions (customer from {new})"]
    written = out.read_text().splitlines()
    assert written[0] == "customer,kind" and [line.split(",")[0] for line in written[1:]] == ["501", "502", "503"]
    assert {line.split(",")[1] for line in written[1:]} <= {"big", "small"}
    assert main(["evaluate", str(run), "--data-path", data, "--quiet"]) == 0
    assert [line.split()[0] for line in capsys.readouterr().out.splitlines()] == ["MLP"]  # the result alone

    for option, says in [
        ("kind", f"--id kind is the column {run}/model.npz predicts; give a key column (an id) of the table"),
        ("nope", f"--id nope: {new} has no column 'nope'; its columns: 'customer', 'size', 'city', 'month'"),
    ]:
        assert main(["predict", str(run), "--data-path", new, "--out", str(tmp_path / "q.csv"), "--id", option]) == 2
        assert capsys.readouterr().err.splitlines() == [f"funcmlp: error: {says}"]
    assert not (tmp_path / "q.csv").exists()


def test_an_id_for_a_model_of_arrays_and_a_table_option_without_a_table_are_refused(tmp_path, capsys):
    mlp = MLP((2, 3), "identity")
    save_model(tmp_path / "model.npz", mlp, mlp.init(jax.random.key(0)), extra={"loss": "softmax_cross_entropy"})
    np.save(tmp_path / "x.npy", np.ones((2, 2)))
    argv = ["predict", str(tmp_path), "--data-path", str(tmp_path / "x.npy"), "--out", str(tmp_path / "p.csv")]
    assert main([*argv, "--id", "customer"]) == 2
    assert "--id copies a column of a table; " in capsys.readouterr().err
    assert main(["train", "--data", "xor", "--unknown", "ignore", "--epochs", "1"]) == 2
    assert "--unknown is for a table: --data FILE.csv, FILE.npz" in capsys.readouterr().err
