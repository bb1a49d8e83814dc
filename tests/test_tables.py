"""Your own table from the command line: a CSV made here with numeric and text columns, empty and
NA cells and a class-name target (or a numeric one), trained, evaluated and predicted; the
preprocessing fitted on the training rows only (checked with numpy by hand), saved in the model
and applied again; every refusal names file, line, column or value and the fix."""

import csv
import re

import numpy as np
import pytest

from funcmlp.cli import main
from funcmlp.data.preprocessing import Preprocessing, fit_preprocessing, infer_task
from funcmlp.data.table import Table, TableError, read_table
from funcmlp.data.table_split import parse_split, split_table
from funcmlp.io.model_file import read_model


def _write(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _houses(rng, n=240):
    """size (number), city (text), age (number, a few NA and empty cells), kind (class name): big when
    size, plus 30 in Oslo, passes 130."""
    rows = []
    for i in range(n):
        size, city = rng.uniform(40, 200), ["Oslo", "Rome", "Lima"][i % 3]
        age = "NA" if i % 40 == 7 else "" if i % 40 == 19 else str(int(rng.integers(0, 80)))
        rows.append([f"{size:.1f}", city, age, "big" if size + (30 if city == "Oslo" else 0) > 130 else "small"])
    return rows


@pytest.fixture
def houses(tmp_path):
    return _write(tmp_path / "houses.csv", ["size", "city", "age", "kind"], _houses(np.random.default_rng(0)))


def test_a_table_trains_evaluates_and_predicts_from_the_command_line(houses, tmp_path, capsys):
    run = str(tmp_path / "run")
    argv = ["train", "--data", houses, "--target", "kind", "--epochs", "60", "--no-check", "--out", run]
    assert main(argv) == 2  # missing cells are refused, naming file, line and column
    error = capsys.readouterr().err.strip()
    assert error.startswith(f"funcmlp: error: {houses}:9: column 'age' has a missing value (empty or NA)")
    assert error.endswith(
        "fill it in, or give funcmlp train --missing impute (fills it with the training rows' median, or their most "
        "frequent text) or --missing drop (leaves its row out)"
    )
    assert len(error.splitlines()) == 1

    assert main([*argv, "--missing", "drop"]) == 0
    out = capsys.readouterr().out
    assert "table   task classification of 'kind' (2 classes): the target 'kind' holds text" in out
    assert f"table   dropped 12 of 240 rows of {houses} with missing values" in out
    assert "data    houses.csv: 5 features, 2 classes; train 182, validation 23, test 23" in out
    test_accuracy = float(out.split("test    loss ")[1].split("accuracy ")[1].split()[0])
    assert test_accuracy >= 0.9

    new = _write(
        tmp_path / "new.csv", ["size", "city", "age", "kind"], [["150", "Oslo", "3", ""], ["50", "Rome", "9", ""]]
    )
    predictions = tmp_path / "p.csv"
    assert main(["predict", run, "--data-path", new, "--out", str(predictions)]) == 0
    assert predictions.read_text().splitlines() == ["row,kind", "1,big", "2,small"]
    assert main(["predict", run, "--data-path", new, "--out", str(predictions), "--proba"]) == 0
    header, *rows = predictions.read_text().splitlines()
    assert header == "row,big,small" and all(abs(sum(map(float, r.split(",")[1:])) - 1) < 1e-5 for r in rows)

    unseen = _write(tmp_path / "unseen.csv", ["size", "city", "age", "kind"], [["150", "Paris", "3", ""]])
    assert main(["predict", run, "--data-path", unseen, "--out", str(tmp_path / "q.csv")]) == 2
    error = capsys.readouterr().err
    assert (
        f"{unseen}:2: column 'city' holds 'Paris', a value never seen in training (it saw 'Lima', 'Oslo', 'Rome')"
        in error
    )
    assert not (tmp_path / "q.csv").exists()

    assert main(["evaluate", run]) == 2  # the table's path is not read from the model file
    assert "pass --data-path with a labelled table" in capsys.readouterr().err
    assert main(["evaluate", run, "--data-path", houses]) == 0
    out = capsys.readouterr().out
    assert "dropped 12 of 240 rows with missing values (--missing drop)" in out and "(228 examples)" in out


def test_the_preprocessing_is_fitted_on_the_training_rows_only_and_saved(houses, tmp_path):
    run = str(tmp_path / "run")
    argv = ["train", "--data", houses, "--target", "kind", "--missing", "drop", "--epochs", "1", "--seed", "3"]
    assert main([*argv, "--no-check", "--quiet", "--out", run]) == 0
    saved = Preprocessing.from_record(read_model(f"{run}/model.npz")[2]["table"]["preprocessing"], "model")
    # the training rows again, by hand: the rows with no missing cell, numpy's permutation of seed 3, 80 %
    with open(houses) as handle:
        rows = [r for r in list(csv.reader(handle))[1:] if all(r)]
        rows = [r for r in rows if "NA" not in r]
    order = np.random.default_rng(3).permutation(len(rows))
    n_test, n_val = round(len(rows) * 0.1), round(len(rows) * 0.1)
    train = [rows[i] for i in order[n_test + n_val :]]
    size = np.array([float(r[0]) for r in train])
    by_name = {f.name: f for f in saved.features}
    assert by_name["size"].mean == pytest.approx(size.mean(), rel=1e-12)
    assert by_name["size"].std == pytest.approx(size.std(), rel=1e-12)
    assert by_name["city"].categories == ("Lima", "Oslo", "Rome") and saved.target.classes == ("big", "small")


def test_a_regression_table_predicts_in_the_targets_own_units(tmp_path, capsys):
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 10, size=300)
    rows = [[f"{v:.3f}", ["a", "b"][i % 2], f"{1000 + 50 * v + (20 if i % 2 else 0):.3f}"] for i, v in enumerate(x)]
    table = _write(tmp_path / "prices.csv", ["x", "group", "price"], rows)
    run = str(tmp_path / "run")
    assert main(["train", "--data", table, "--target", "price", "--epochs", "150", "--no-check", "--out", run]) == 0
    out = capsys.readouterr().out
    assert "task regression of 'price' (standardised): the target 'price' holds numbers; --task overrides" in out
    rmse = float(out.split("root-mean-square error ")[1].split(",")[0])
    assert rmse < 0.1 * np.std([float(r[2]) for r in rows])  # in price units, not standardised ones
    new = _write(tmp_path / "new.csv", ["x", "group", "price"], [["4", "a", ""], ["4", "b", ""]])
    assert main(["predict", run, "--data-path", new, "--out", str(tmp_path / "p.csv")]) == 0
    values = [float(line.split(",")[1]) for line in (tmp_path / "p.csv").read_text().splitlines()[1:]]
    assert values[0] == pytest.approx(1200, abs=25) and values[1] == pytest.approx(1220, abs=25)


def test_split_test_file_and_task_options(houses, tmp_path, capsys):
    rows = _houses(np.random.default_rng(5), 40)
    test = _write(tmp_path / "test.csv", ["size", "city", "age", "kind"], [r for r in rows if r[2] not in ("", "NA")])
    argv = ["train", "--data", houses, "--target", "kind", "--missing", "drop", "--epochs", "1", "--no-check"]
    assert main([*argv, "--test", test, "--split", "0.75,0.25"]) == 0
    assert "train 171, validation 57, test 38" in capsys.readouterr().out
    assert main([*argv, "--split", "0.5,0.5"]) == 2
    assert "--split takes 3 fractions train,validation,test summing to 1, e.g. 0.8,0.1,0.1; got '0.5,0.5'" in (
        capsys.readouterr().err
    )
    assert main([*argv[:-3], "--task", "regression", "--epochs", "1", "--no-check"]) == 2
    assert re.search(
        rf"{houses}:\d+: column 'kind' holds '(big|small)', not a finite number; regression needs numbers; give --task cl",
        capsys.readouterr().err,
    )
    assert main(["train", "--data", houses, "--epochs", "1"]) == 2
    assert "give --target COLUMN, the column to predict (its columns: size, city, age, kind)" in capsys.readouterr().err
    assert main(["train", "--data", "xor", "--target", "y"]) == 2
    assert "--target is for a table: --data FILE.csv, FILE.npz, or one of iris" in capsys.readouterr().err


def test_scikit_learns_tables_by_name(tmp_path, capsys):
    run = str(tmp_path / "iris")
    assert main(["train", "--data", "iris", "--no-check", "--out", run]) == 0
    out = capsys.readouterr().out
    accuracy = float(out.split("accuracy ")[-1].split()[0])
    assert accuracy >= 0.9 and "iris: 4 features, 3 classes; train 120, validation 15, test 15" in out
    assert main(["evaluate", run]) == 0
    assert "on iris test split (15 examples): loss " in capsys.readouterr().out
    assert f"accuracy {accuracy:.4f}" in out


def test_task_inference_and_table_reading(tmp_path):
    table = Table("t", ("a", "y"), tuple((str(i), str(i % 3)) for i in range(12)), tuple(range(2, 14)))
    assert infer_task(table, "y") == ("classification", "the target 'y' holds 3 integer values")
    assert infer_task(table, "a") == ("classification", "the target 'a' holds 12 integer values")
    floats = Table("t", ("a", "y"), tuple((str(i), f"{i / 7:.3f}") for i in range(12)), tuple(range(2, 14)))
    assert infer_task(floats, "y")[0] == "regression"
    prep, _ = fit_preprocessing(table, "y")
    assert prep.target.classes == ("0", "1", "2") and prep.targets(table).tolist()[:4] == [0, 1, 2, 0]
    assert Preprocessing.from_record(prep.to_record(), "m") == prep
    damaged = prep.to_record()
    damaged["features"][0]["std"] = -1
    with pytest.raises(ValueError, match="m: its table preprocessing is damaged .*train the model again"):
        Preprocessing.from_record(damaged, "m")
    ragged = tmp_path / "ragged.csv"
    ragged.write_text("a,b\n1,2\n3\n")
    with pytest.raises(TableError, match=r"ragged.csv:3: 1 cells, the header names 2 columns"):
        read_table(str(ragged))
    twice = tmp_path / "twice.csv"
    twice.write_text("a,a\n1,2\n")
    with pytest.raises(TableError, match="the header has the column name 'a' twice"):
        read_table(str(twice))
    arrays = tmp_path / "xy.npz"
    np.savez(arrays, x=np.arange(12.0).reshape(6, 2), y=np.array([0, 1, 0, 1, 0, 1]))
    npz = read_table(str(arrays))
    assert npz.names == ("x1", "x2", "y") and npz.column("y") == ["0", "1", "0", "1", "0", "1"]
    assert parse_split("0.6,0.2,0.2", with_test=False) == (0.6, 0.2, 0.2)
    data = split_table(npz, "y", fractions=(4 / 6, 1 / 6, 1 / 6))
    assert data.dataset.num_classes == 2 and len(data.dataset.x_train) == 4


def test_what_a_review_found(houses, tmp_path, capsys):
    """One-unit probabilities under the right class names; a typo in a numeric column refused, not
    read as text; a loss on numbers makes a count target regression; the task of scikit-learn's
    sets follows the target; a test table's columns matched by name; an all-empty column named."""
    run = str(tmp_path / "bce")
    argv = ["train", "--data", houses, "--target", "kind", "--missing", "drop", "--no-check", "--quiet"]
    assert main([*argv, "--loss", "binary_cross_entropy", "--output", "sigmoid", "--epochs", "60", "--out", run]) == 0
    new = _write(
        tmp_path / "new.csv", ["size", "city", "age", "kind"], [["190", "Oslo", "3", ""], ["45", "Rome", "9", ""]]
    )
    assert main(["predict", run, "--data-path", new, "--out", str(tmp_path / "p.csv"), "--proba"]) == 0
    header, first, second = (tmp_path / "p.csv").read_text().splitlines()
    assert header == "row,big,small" and float(first.split(",")[1]) > 0.5 > float(second.split(",")[1])
    capsys.readouterr()

    rows = _houses(np.random.default_rng(0))
    rows[100][0] = "?"
    typo = _write(tmp_path / "typo.csv", ["size", "city", "age", "kind"], rows)
    assert main(["train", "--data", typo, "--target", "kind", "--missing", "drop", "--epochs", "1"]) == 2
    assert f"{typo}:102: column 'size' holds numbers, but '?' is not a finite one (1 such cell of 228)" in (
        capsys.readouterr().err
    )

    counts = _write(tmp_path / "counts.csv", ["x", "n"], [[str(i / 10), str(i % 5)] for i in range(60)])
    assert main(["train", "--data", counts, "--target", "n", "--loss", "poisson", "--epochs", "1", "--no-check"]) == 0
    assert "task regression of 'n' (as is): set by --task (or by a --loss on numbers)" in capsys.readouterr().out
    assert main(["train", "--data", "iris", "--target", "sepal length (cm)", "--epochs", "1", "--no-check"]) == 0
    out = capsys.readouterr().out
    assert "task regression of 'sepal length (cm)' (standardised)" in out and "loss mse" in out
    assert main(["train", "--data", "table", "--epochs", "1"]) == 2
    assert "--data table reads the table file --data-path names; give --data FILE.csv" in capsys.readouterr().err

    shuffled = _write(tmp_path / "test.csv", ["kind", "age", "size", "city"], [["big", "3", "190", "Oslo"]])
    assert main([*argv, "--test", shuffled, "--epochs", "1"]) == 0
    assert " on 1 examples" in capsys.readouterr().out  # the test rows: --test's one
    empty = _write(tmp_path / "empty.csv", ["x", "gone", "y"], [[str(i), "", "ab"[i % 2]] for i in range(20)])
    assert main(["train", "--data", empty, "--target", "y", "--missing", "drop", "--epochs", "1"]) == 2
    assert "every row has a missing value, --missing drop leaves none; column 'gone' is empty in every row" in (
        capsys.readouterr().err
    )


def test_the_default_run_still_takes_the_digits_preset():
    """funcmlp train with no --data: the digits and their preset (a regression slipped in while the
    table presets were added: the preset of no name was the regression one)."""
    from funcmlp.cli import train_options

    args = train_options.settle(train_options.train_parser().parse_args([]))
    assert (args.data, args.loss, args.hidden, args.optimizer) == ("digits", "softmax_cross_entropy", [256], "adamw")
