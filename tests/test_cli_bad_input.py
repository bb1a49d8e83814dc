"""Issue 17, item 6: every file and option the command line reads is checked before work
starts; each case the probe found ending in a traceback is answered with one line and exit 2."""

import json
import os
import zipfile

import jax
import numpy as np
import pytest

import funcmlp
from funcmlp import MLP
from funcmlp.cli import main
from funcmlp.data.mnist import DataFileError, load_kaggle_csv
from funcmlp.io.model_file import save_model

MODEL = {
    "format": "funcmlp-model",
    "version": 1,
    "sizes": [2, 1],
    "activations": [{"name": "sigmoid", "alpha": None}],
    "dropout": [],
    "extra": {"data": "xor", "loss": "binary_cross_entropy", "seed": 0},
}


def refused(argv, capsys, match):
    """``main(argv)`` returns 2 and prints exactly one line, ``funcmlp: error: ...`` holding ``match``."""
    capsys.readouterr()
    assert main(argv) == 2
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("funcmlp: error: ") and match in lines[0], captured.err
    return lines[0]


def model_file(path, meta: str, arrays=None):
    """A model file whose JSON header text is ``meta`` (written by hand, as an editor would)."""
    arrays = {"layer1.W": np.ones((2, 1)), "layer1.b": np.zeros(1)} if arrays is None else arrays
    np.savez(path, meta=np.array(meta), **arrays)
    return str(path)


def test_a_model_file_with_a_deeply_nested_header(tmp_path, capsys):
    header = json.dumps(MODEL)[:-1] + ', "note": ' + "[" * 100_000 + "]" * 100_000 + "}"
    path = model_file(tmp_path / "model.npz", header)
    refused(["evaluate", path], capsys, f"the header of {path!r} is nested too deeply")


@pytest.mark.parametrize(
    "change, match",
    [
        ({"activations": "sigmoid"}, "the header's activations are sigmoid, expected 1 objects"),
        ({"sizes": "2,1"}, "the header's sizes are 2,1, expected a list of at least two positive integers"),
        ({"extra": "xor"}, "the header's extra is xor, expected an object"),
        ({"extra": {"data": {"name": "xor"}}}, "the recorded data is \"{'name': 'xor'}\", expected text"),
    ],
)
def test_a_model_file_with_a_string_where_a_table_is_expected(tmp_path, capsys, change, match):
    path = model_file(tmp_path / "model.npz", json.dumps({**MODEL, **change}))
    refused(["evaluate", path], capsys, match)


def test_a_model_file_whose_header_is_not_an_object(tmp_path, capsys):
    path = model_file(tmp_path / "model.npz", '"just a string"')
    refused(["evaluate", path], capsys, "its header is not an object with a format name and version")


def test_a_model_file_with_a_non_numeric_seed(tmp_path, capsys):
    path = model_file(tmp_path / "model.npz", json.dumps({**MODEL, "extra": {**MODEL["extra"], "seed": "abc"}}))
    refused(["evaluate", path], capsys, "the recorded seed is 'abc', expected a whole number from 0 to 2**32 - 1")


def test_a_model_file_whose_arrays_lie_about_their_size(tmp_path, capsys):
    """An entry whose .npy header claims 6.4e12 rows is refused before anything is allocated."""
    path = model_file(tmp_path / "model.npz", json.dumps(MODEL), {})
    with zipfile.ZipFile(path, "a") as archive, archive.open("layer1.W.npy", "w") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f8", "fortran_order": False, "shape": (6_400_000_000_000, 1)}
        )
        handle.write(b"\0" * 16)
    refused(
        ["evaluate", path],
        capsys,
        "entry 'layer1.W' claims shape (6400000000000, 1) (51200000000000 bytes) but holds 16",
    )


def test_a_kaggle_csv_cell_of_30_digits(tmp_path, capsys):
    csv_path = tmp_path / "test.csv"
    csv_path.write_text(",".join(f"pixel{i}" for i in range(784)) + "\n" + ",".join(["1" * 30] + ["0"] * 783) + "\n")
    with pytest.raises(
        DataFileError, match=r"test\.csv:2: '111111111111'\.\.\. \(30 characters\) is not an integer of 0\.\.255"
    ):
        load_kaggle_csv(str(csv_path))
    mlp = MLP((784, 3), "identity")
    save_model(
        tmp_path / "model.npz",
        mlp,
        mlp.init(jax.random.key(0)),
        extra={"data": "mnist", "loss": "softmax_cross_entropy"},
    )
    refused(
        ["predict", str(tmp_path / "model.npz"), "--data-path", str(csv_path), "--out", str(tmp_path / "p.csv")],
        capsys,
        "(30 characters) is not an integer of 0..255",
    )


@pytest.mark.parametrize("command", ["train", "check", "evaluate"])
def test_a_seed_beyond_32_bits(command, capsys):
    argv = [command, *(["RUN"] if command == "evaluate" else []), "--seed", "99999999999999999999"]
    refused(argv, capsys, "argument --seed: expected a whole number from 0 to 4294967295, got '99999999999999999999'")


def test_a_network_too_big_for_the_machine_is_refused_before_anything_is_allocated(capsys, monkeypatch):
    monkeypatch.setattr(
        funcmlp.MLP, "init", lambda *a, **k: pytest.fail("params allocated before the size was checked")
    )
    line = refused(
        ["train", "--data", "xor", "--hidden", "1000000,1000000"],
        capsys,
        "training MLP 2 -> 1000000(tanh) -> 1000000(tanh) -> 1(sigmoid) (1,000,005,000,001 parameters, adam, "
        "batches of 4) needs about 24.0 TB of memory, more than the ",
    )
    assert line.endswith("available; use fewer or narrower --hidden layers or a smaller --batch-size")
    refused(["check", "--sizes", "4,1000000,1000000,3"], capsys, "needs about 48.0 TB of memory")


def _predict(tmp_path, data_path):
    mlp = MLP((2, 3), "identity")
    save_model(tmp_path / "model.npz", mlp, mlp.init(jax.random.key(0)), extra={"loss": "softmax_cross_entropy"})
    return ["predict", str(tmp_path), "--data-path", str(data_path), "--out", str(tmp_path / "p.csv")]


def test_predict_on_an_empty_npy(tmp_path, capsys):
    (tmp_path / "x.npy").write_bytes(b"")
    refused(_predict(tmp_path, tmp_path / "x.npy"), capsys, f"{tmp_path / 'x.npy'} is not a NumPy .npy array")
    assert not (tmp_path / "p.csv").exists()


def test_predict_on_an_npy_whose_header_claims_6e12_rows(tmp_path, capsys):
    with open(tmp_path / "x.npy", "wb") as handle:
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f8", "fortran_order": False, "shape": (6_400_000_000_000, 2)}
        )
        handle.write(b"\0" * 32)
    refused(
        _predict(tmp_path, tmp_path / "x.npy"),
        capsys,
        "its header says shape (6400000000000, 2) of float64 (102,400,000,000,000 bytes) but the file holds 32",
    )


def test_predict_on_an_npy_of_objects_or_no_rows(tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    refused(_predict(tmp_path, tmp_path / "x.npy"), capsys, "holds object values; expected numbers")
    np.save(tmp_path / "x.npy", np.zeros((0, 2)))
    refused(_predict(tmp_path, tmp_path / "x.npy"), capsys, "no rows of inputs; give at least one")


def _edit_state(folder, edit):
    """Rewrite the header of ``folder/training_state.npz`` with ``edit(header)`` (as an editor would)."""
    path = os.path.join(folder, "training_state.npz")
    with np.load(path) as data:
        arrays = {name: data[name] for name in data.files}
    header = json.loads(str(arrays.pop("meta")))
    np.savez(path, meta=np.array(edit(header) if callable(edit) else edit), **arrays)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    assert main(["train", "--data", "xor", "--epochs", "2", "--out", str(folder), "--no-check", "--quiet"]) == 0
    return folder


@pytest.mark.parametrize(
    "edit, match",
    [
        (
            lambda h: json.dumps({**h, "options": {**h["options"], "epochs": "ten"}}),
            "the saved options are not what funcmlp train takes (argument --epochs: invalid int value: 'ten')",
        ),
        (
            lambda h: json.dumps({**h, "options": {**h["options"], "hidden": "8"}}),
            "the saved option hidden = '8' is not one funcmlp train takes",
        ),
        (
            lambda h: json.dumps({**h, "options": {**h["options"], "colour": "red"}}),
            "the saved option colour = 'red' is not one funcmlp train takes",
        ),
        (lambda h: json.dumps({**h, "options": "all of them"}), "the header's options is all of them"),
        (lambda h: json.dumps({**h, "epoch": "2"}), "the header's epoch is 2"),
        (lambda h: json.dumps({**h, "history": {"train_loss": "low"}}), "the header's history 'train_loss' is low"),
        (
            lambda h: json.dumps(h)[:-1] + ', "x": ' + '{"a": ' * 50_000 + "1" + "}" * 50_000 + "}",
            "is nested too deeply",
        ),
    ],
)
def test_resume_of_a_state_whose_saved_options_were_edited(run_folder, tmp_path, capsys, edit, match):
    folder = tmp_path / "run"
    folder.mkdir()
    for name in ("training_state.npz", "model.npz"):
        (folder / name).write_bytes((run_folder / name).read_bytes())
    _edit_state(folder, edit)
    refused(["train", "--resume", str(folder)], capsys, match)


def test_a_manifest_funcmlp_cannot_read_is_refused(run_folder, tmp_path, capsys):
    for name in ("model.npz", "manifest.json"):
        (tmp_path / name).write_bytes((run_folder / name).read_bytes())
    for text in ("not json", "[" * 100_000, '{"format": "funcmlp-run-manifest", "sha256": "abc"}'):
        (tmp_path / "manifest.json").write_text(text)
        refused(["evaluate", str(tmp_path)], capsys, f"{tmp_path / 'manifest.json'} ")


def test_files_and_folders_of_an_earlier_funcmlp_are_named(tmp_path, capsys):
    old = {**MODEL, "format": "funcmlp-checkpoint"}
    model_file(tmp_path / "params.npz", json.dumps(old))
    refused(
        ["evaluate", str(tmp_path)],
        capsys,
        f"{tmp_path} holds params.npz of an earlier funcmlp, which this one reads no more",
    )
    refused(
        ["evaluate", str(tmp_path / "params.npz")],
        capsys,
        "is a params.npz of an earlier funcmlp, which this one reads no more; train again: funcmlp train --out DIR",
    )
    (tmp_path / "checkpoint.npz").write_bytes(b"")
    refused(
        ["train", "--resume", str(tmp_path)],
        capsys,
        f"--resume {tmp_path}: no training_state.npz there (params.npz and checkpoint.npz: an earlier funcmlp's files",
    )
    empty = tmp_path / "empty"
    empty.mkdir()
    refused(["evaluate", str(empty)], capsys, f"{empty} holds neither model.npz nor training_state.npz")


@pytest.mark.parametrize(
    "name, content, match",
    [
        ("test.csv", b"\xff\xfe\x00binary" * 50, "test.csv: not a text CSV file (invalid start byte at byte 0)"),
        (
            "images-idx3-ubyte",
            bytes([0, 0, 8, 4]) + (2**32 - 1).to_bytes(4, "big") * 4,
            "images-idx3-ubyte: header says shape (4294967295, 4294967295, 4294967295, 4294967295) = "
            "340282366604025813516997721482669850625 bytes, file has 20 bytes",
        ),
    ],
)
def test_data_files_that_are_not_what_they_claim(tmp_path, capsys, name, content, match):
    (tmp_path / name).write_bytes(content)
    mlp = MLP((784, 3), "identity")
    save_model(
        tmp_path / "model.npz",
        mlp,
        mlp.init(jax.random.key(0)),
        extra={"data": "mnist", "loss": "softmax_cross_entropy"},
    )
    refused(
        ["predict", str(tmp_path), "--data-path", str(tmp_path / name), "--out", str(tmp_path / "p.csv")], capsys, match
    )


@pytest.mark.parametrize(
    "option, match",
    [
        (["--lr", "1e308"], "--lr 1e+308 is more than float32 holds (at most 3.4e+38): every update would overflow"),
        (["--lr", "nan"], "--lr must be a finite number above 0, got nan; e.g. --lr 1e-3"),
        (["--weight-decay", "1e39"], "--weight-decay 1e+39 is more than float32 holds"),
        (["--momentum", "nan"], "--momentum must be a finite number from 0 below 1, got nan"),
        (["--patience", "2", "--min-delta", "nan"], "--min-delta must be a finite number from 0, got nan"),
    ],
)
def test_numbers_that_are_not_finite_or_overflow_the_params_dtype_are_refused_up_front(tmp_path, capsys, option, match):
    refused(["train", "--data", "xor", "--out", str(tmp_path / "run"), *option], capsys, match)
    assert not (tmp_path / "run").exists()  # refused before anything was written


@pytest.mark.parametrize(
    "argv, match",
    [
        (["check", "--sizes", "3000,3000,10"], "finite differences at 9,033,010 entries take about 1.3e+15 multiply"),
        (["check", "--sizes", "3000,3000,10", "--fd-entries", "0"], "--fd-entries must be at least 1, got 0"),
        (
            ["derive", "check", "--sizes", "2000,2000"],
            "has 4,002,000 parameters; the symbolic check proves at most 25,000",
        ),
        (["train", "--data", "xor", "--hidden", ",".join(["4"] * 2000)], "--hidden gives 2000 hidden layers"),
    ],
)
def test_work_beyond_the_commands_bounds_is_refused_naming_the_bound_and_the_way_out(argv, match, capsys):
    line = refused(argv, capsys, match)
    assert any(way in line for way in ("--fd-entries", "narrower network", "funcmlp.fit from Python", "at least 1"))


def test_check_takes_a_sample_of_entries_for_a_large_network(capsys):
    assert main(["check", "--sizes", "300,300,10", "--fd-entries", "50", "--batch", "2", "--no-compile-cache"]) == 0
    assert "finite differences" in capsys.readouterr().out
