"""Gaps and unseen values in a table, one rule everywhere (issue 37, item 2): ``--missing refuse|drop|impute``
and ``--unknown refuse|ignore`` saved in the model and applied alike by train's validation and test steps,
``evaluate`` and ``predict``: the test accuracy train prints is the one ``evaluate RUN --data-path test.csv``
prints; imputing and ignoring as scikit-learn's SimpleImputer and OneHotEncoder(handle_unknown="ignore")
(checked against them); ``predict`` scores every row it can and names the others; a model file of an
earlier funcmlp (no rules in its record) still loads. Every table is written here."""

import numpy as np
import pytest
from csv_writer import write_csv

from funcmlp.cli import main
from funcmlp.data.preprocessing import Preprocessing
from funcmlp.data.table import Table
from funcmlp.data.table_split import split_table
from funcmlp.io.model_file import read_model, save_model

HEADER = ["size", "city", "kind"]
FAST = ["--hidden", "8", "--epochs", "15", "--batch-size", "16", "--no-check"]


def _write(path, rows, header=HEADER):
    return write_csv(path, rows, header)


def _rows(n, seed=0, gaps=False):
    """size (a number), city (text), kind: big when size, plus 30 in Oslo, passes 130; with ``gaps``
    an empty size every 7th row and an NA city every 11th."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        size, city = rng.uniform(40, 200), ["Oslo", "Rome", "Lima"][i % 3]
        kind = "big" if size + (30 if city == "Oslo" else 0) > 130 else "small"
        rows.append(["" if gaps and i % 7 == 3 else f"{size:.1f}", "NA" if gaps and i % 11 == 5 else city, kind])
    return rows


TEST_ROWS = [  # a gap in each input column, a city never seen in training, a row without a target
    ["150", "Oslo", "big"],
    ["", "Rome", "small"],
    ["60", "Paris", "small"],
    ["190", "", "big"],
    ["80", "Lima", ""],
    ["45", "Rome", "small"],
]


def _result(out: str, prefix: str) -> tuple[str, str, str]:
    """(loss, accuracy, examples) of the line of ``out`` starting with ``prefix``."""
    line = next(line for line in out.splitlines() if line.startswith(prefix))
    loss, accuracy = line.split("loss ")[1].split(", accuracy ")
    accuracy, examples = accuracy.split()[0], line.split(" examples")[0].rsplit("(", 1)[-1].split()[-1]
    return loss.split()[0].rstrip(","), accuracy.rstrip(","), examples


@pytest.mark.parametrize("missing", ["impute", "drop"])
def test_the_test_accuracy_train_prints_is_the_one_evaluate_prints_on_the_test_file(missing, tmp_path, capsys):
    data = _write(tmp_path / "cars.csv", _rows(60, gaps=True))
    test = _write(tmp_path / "test.csv", TEST_ROWS)
    run = str(tmp_path / "run")
    argv = ["train", "--data", data, "--target", "kind", "--test", test, *FAST, "--out", run]
    assert main([*argv, "--missing", missing, "--unknown", "ignore"]) == 0
    out = capsys.readouterr().out
    assert "test rows hold text values the training rows do not, encoded as none (--unknown ignore): column " in out
    if missing == "impute":
        assert f"dropped 1 of 6 rows of {test} without a value of the target 'kind'" in out
        assert "filled 16 missing cells (--missing impute): 'size' 10 with " in out and "'city' 6 with 'Oslo'" in out
    else:
        assert f"dropped 3 of 6 rows of {test} with missing values" in out
    trained = _result(out, "test    ")
    assert trained[2] == ("5" if missing == "impute" else "3")

    assert main(["evaluate", run]) == 2  # the file it was tested on, named
    assert f"was tested on {test!r}, as its record says; " in capsys.readouterr().err
    assert main(["evaluate", run, "--data-path", test]) == 0
    out = capsys.readouterr().out
    assert _result(out, "MLP ") == trained  # loss, accuracy and rows: those of train's test step
    assert main(["predict", run, "--data-path", test, "--out", str(tmp_path / "p.csv")]) == 0
    written = (tmp_path / "p.csv").read_text().splitlines()
    scored = 6 if missing == "impute" else 4  # drop: the two rows with a gap in an input are not scored
    assert len(written) == 7 and sum(line.endswith(",") for line in written) == 6 - scored
    assert f"{scored} predictions" in capsys.readouterr().out


def test_impute_and_ignore_encode_as_scikit_learns_imputers_and_one_hot_encoder():
    """SimpleImputer(median) then StandardScaler for numbers, SimpleImputer(most_frequent) then
    OneHotEncoder(handle_unknown="ignore") for text, fitted on the same training rows: the same inputs."""
    pandas = pytest.importorskip("pandas")
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    cell = lambda c: None if c in ("", "NA") else c
    rows = [tuple(map(cell, r)) for r in _rows(80, seed=3, gaps=True)]
    table = Table("t.csv", tuple(HEADER), tuple(rows), tuple(range(2, 82)))
    test = Table("test.csv", tuple(HEADER), tuple(tuple(map(cell, r)) for r in TEST_ROWS if r[2]), tuple(range(2, 7)))
    data = split_table(table, "kind", missing="impute", unknown="ignore", fractions=(0.9, 0.1, 0.0), test=test)
    order = np.random.default_rng(0).permutation(80)
    train = [rows[i] for i in order[8:]]  # the training rows by hand: 10 % validation first

    def frame(part):
        return pandas.DataFrame(
            {"size": [np.nan if r[0] is None else float(r[0]) for r in part], "city": [r[1] or np.nan for r in part]}
        )

    reference = ColumnTransformer(
        [
            ("size", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), ["size"]),
            (
                "city",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
                ),
                ["city"],
            ),
        ]
    ).fit(frame(train))
    expected = reference.transform(frame(test.cells))
    np.testing.assert_allclose(data.dataset.x_test, expected, rtol=1e-12, atol=1e-12)
    assert data.dataset.x_test[2, 1:].tolist() == [0.0, 0.0, 0.0]  # Paris: none of the known cities
    saved = Preprocessing.from_record(data.preprocessing.to_record(), "model")
    assert saved == data.preprocessing and (saved.missing, saved.unknown) == ("impute", "ignore")
    damaged = data.preprocessing.to_record()
    damaged["features"][0]["fill"] = "NaN"
    with pytest.raises(ValueError, match="model: its table preprocessing is damaged .*train the model again"):
        Preprocessing.from_record(damaged, "model")
    sizes = [float(r[0]) for r in train if r[0] is not None]
    assert float(saved.features[0].fill) == pytest.approx(np.median(sizes), rel=1e-15)


def test_an_unseen_value_in_the_validation_rows_is_refused_naming_the_option_or_ignored(tmp_path, capsys):
    rows = _rows(40)
    order = np.random.default_rng(0).permutation(40)  # 10 % test rows, then 10 % validation rows
    rows[order[4]][1] = "Paris"  # a validation row's, the only Paris
    data = _write(tmp_path / "cars.csv", rows)
    argv = ["train", "--data", data, "--target", "kind", *FAST, "--epochs", "2"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"funcmlp: error: {data}:{order[4] + 2}: column 'city' holds 'Paris', a value the training rows do not hold "
        "(they hold 'Lima', 'Oslo', 'Rome'); funcmlp train --unknown ignore encodes it as none of them (as "
        "scikit-learn's handle_unknown='ignore'), or give the training rows that value (another --seed or --split)"
    )
    assert main([*argv, "--unknown", "ignore"]) == 0
    assert (
        "table   validation rows hold text values the training rows do not, encoded as none (--unknown ignore): "
        "column 'city': 'Paris'"
    ) in capsys.readouterr().out


@pytest.fixture(scope="module")
def refusing_run(tmp_path_factory):
    """A model trained with the default rules (refuse, refuse) on a table without gaps."""
    folder = tmp_path_factory.mktemp("refusing")
    data = _write(folder / "cars.csv", _rows(60))
    assert main(["train", "--data", data, "--target", "kind", *FAST, "--quiet", "--out", str(folder / "run")]) == 0
    return folder / "run"


def test_predict_scores_every_row_it_can_and_names_the_others(refusing_run, tmp_path, capsys):
    rows = [["150", "Oslo", ""], ["", "Rome", ""], ["60", "Paris", ""], ["45", "Lima", ""], ["abc", "Lima", ""]]
    new, out = _write(tmp_path / "new.csv", rows), tmp_path / "p.csv"
    assert main(["predict", str(refusing_run), "--data-path", new, "--out", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[1:] == [
        f"wrote {out}: 2 predictions (row from 1)",
        "not scored: 3 of 5 rows, left empty: line 3: column 'size' is missing; line 4: column 'city' holds 'Paris', "
        "never seen in training; line 6: column 'size' holds 'abc', no number; a model trained with --missing impute "
        "fills such cells; a model trained with --unknown ignore encodes unseen values as none of the known ones; a "
        "column of numbers takes numbers alone",
    ]
    written = out.read_text().splitlines()
    assert written[0] == "row,kind" and written[2:4] == ["2,", "3,"] and written[5] == "5,"
    assert written[1] in ("1,big", "1,small") and written[4] in ("4,big", "4,small")

    hopeless = _write(tmp_path / "hopeless.csv", [["", "Rome", ""]])
    assert main(["predict", str(refusing_run), "--data-path", hopeless, "--out", str(tmp_path / "q.csv")]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        f"funcmlp: error: {hopeless}:2: column 'size' has a missing value (empty or NA); the model was trained with "
        "--missing refuse: fill it in, or train again with --missing impute"
    ]
    assert not (tmp_path / "q.csv").exists()


@pytest.mark.parametrize(
    "row, says",
    [
        (["", "Rome", "small"], "column 'size' has a missing value (empty or NA); the model was trained with --missing "
         "refuse: fill it in, or train again with --missing impute"),
        (["60", "Paris", "small"], "column 'city' holds 'Paris', a value never seen in training (it saw 'Lima', "
         "'Oslo', 'Rome'); the model cannot encode it (trained with --unknown refuse): give one of those values, or "
         "train again with --unknown ignore (encodes it as none of them)"),
        (["1,5", "Rome", "small"], "column 'size' holds '1,5', not a number as the column held in training; write "
         "numbers with a decimal point: 1.5"),
        (["60", "Rome", ""], "column 'kind', the target, has a missing value (empty or NA); fill it in or leave the "
         "row out (evaluate compares each row with its true value; a model trained with --missing drop or impute "
         "leaves such rows out)"),
    ],
)  # fmt: skip
def test_evaluate_refuses_what_the_models_rules_refuse_in_one_line(refusing_run, row, says, tmp_path, capsys):
    labelled = _write(tmp_path / "labelled.csv", [["150", "Oslo", "big"], row])
    assert main(["evaluate", str(refusing_run), "--data-path", labelled]) == 2
    assert capsys.readouterr().err.splitlines() == [f"funcmlp: error: {labelled}:3: {says}"]


def test_trains_test_step_refuses_an_unseen_value_as_evaluate_would(tmp_path, capsys):
    data = _write(tmp_path / "cars.csv", _rows(40))
    test = _write(tmp_path / "test.csv", [["150", "Oslo", "big"], ["60", "Paris", "small"]])
    argv = ["train", "--data", data, "--target", "kind", "--test", test, *FAST, "--out", str(tmp_path / "run")]
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and err[0].startswith(f"funcmlp: error: {test}:3: column 'city' holds 'Paris', a value the ")
    assert "funcmlp train --unknown ignore encodes it as none of them" in err[0]
    assert not (tmp_path / "run" / "model.npz").exists()


def test_a_model_file_of_an_earlier_funcmlp_still_loads_with_its_rule(refusing_run, tmp_path, capsys):
    """Written before the rules were saved: no missing, unknown or fill in its preprocessing, and the
    run's --missing beside it (here drop); it loads, and evaluate and predict follow that rule."""
    mlp, params, extra = read_model(refusing_run / "model.npz")
    preprocessing = extra["table"]["preprocessing"]
    del preprocessing["missing"], preprocessing["unknown"]
    for feature in preprocessing["features"]:
        del feature["fill"]
    extra["table"] = {"preprocessing": preprocessing, "split": None, "missing": "drop"}
    old = tmp_path / "old" / "model.npz"
    old.parent.mkdir()
    save_model(old, mlp, params, extra=extra)

    labelled = _write(
        tmp_path / "labelled.csv", [["150", "Oslo", "big"], ["", "Rome", "small"], ["45", "Lima", "small"]]
    )
    assert main(["evaluate", str(old), "--data-path", labelled]) == 0
    out = capsys.readouterr().out
    assert "dropped 1 of 3 rows with missing values (--missing drop)" in out and "(2 examples)" in out
    assert main(["predict", str(old), "--data-path", labelled, "--out", str(tmp_path / "p.csv")]) == 0
    assert "not scored: 1 of 3 rows, left empty: line 3: column 'size' is missing" in capsys.readouterr().out
