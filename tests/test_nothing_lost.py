"""Issue 33, items 1 and 2: a run folder has one writer (the library's ``fit(checkpoint_dir=)`` takes
the lock and checks the run as ``funcmlp train`` does), a run's own files are replaced only by that
run's training, and the data a run was trained on is part of the run (``--resume`` refuses a data
file that changed). The cases that could hang or crash are in tests/probe_io.py."""

import os
import re
import shutil
import subprocess
import sys
import textwrap

import jax
import numpy as np
import optax
import pytest

import funcmlp
from funcmlp.cli import main
from funcmlp.io.model_file import read_model, save_model

X = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = np.array([0.0, 1.0, 1.0, 0.0])
MLP = funcmlp.MLP((2, 3, 1), "tanh", output="sigmoid")


def _fit(folder, **options):
    return funcmlp.fit(
        MLP,
        MLP.init(jax.random.key(0)),
        (X, Y),
        loss="binary_cross_entropy",
        optimizer=optax.sgd(0.1),
        batch_size=4,
        key=jax.random.key(1),
        checkpoint_dir=str(folder),
        **{"epochs": 2, **options},
    )


def _digest(path):
    with open(path, "rb") as handle:
        return handle.read()


def test_fit_never_replaces_a_state_it_was_not_told_to_resume(tmp_path):
    params, _ = _fit(tmp_path)
    saved = _digest(tmp_path / "training_state.npz")
    refusal = "already holds a run .*training_state.npz.*resume=True, replace it: overwrite=True, or give another"
    with pytest.raises(ValueError, match=refusal):
        _fit(tmp_path)
    assert _digest(tmp_path / "training_state.npz") == saved
    resumed, history = _fit(tmp_path, epochs=3, resume=True)  # told to: it goes on from epoch 2
    assert history.epochs == 3 and _digest(tmp_path / "training_state.npz") != saved
    assert not os.path.exists(tmp_path / ".funcmlp-lock")  # the lock went with the call
    with pytest.raises(ValueError, match="resume=True goes on with the run .*overwrite=True replaces it: give one"):
        _fit(tmp_path, resume=True, overwrite=True)
    again, history = _fit(tmp_path, overwrite=True)  # told to: a new run of 2 epochs, the first one's params
    assert history.epochs == 2
    pairs = zip(jax.tree_util.tree_leaves(again), jax.tree_util.tree_leaves(params), strict=True)
    assert all(np.array_equal(a, b) for a, b in pairs)


def test_fit_waits_for_no_one_a_folder_another_process_writes_is_refused(tmp_path):
    holder = textwrap.dedent(
        f"""
        import sys, time
        from funcmlp.io.run_lock import lock_folder
        lock = lock_folder({str(tmp_path)!r})
        print("held", flush=True)
        sys.stdin.read()
        """
    )
    child = subprocess.Popen([sys.executable, "-c", holder], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "held\n"
        with pytest.raises(ValueError, match="checkpoint_dir .*another funcmlp train is writing this folder"):
            _fit(tmp_path)
        assert os.listdir(tmp_path) == [".funcmlp-lock"]  # nothing written
    finally:
        child.communicate("")


def test_a_runs_own_files_are_replaced_only_by_its_training(tmp_path, capsys):
    run = tmp_path / "run"
    xor = ["train", "--data", "xor", "--epochs", "2", "--quiet", "--no-check", "--no-compile-cache"]
    assert main([*xor, "--out", str(run)]) == 0
    before = {name: _digest(run / name) for name in os.listdir(run)}
    mlp, params, extra = read_model(run / "model.npz")
    with pytest.raises(ValueError, match="model.npz is the model.npz of the run in .*give another file name"):
        save_model(run / "model.npz", mlp, params, extra=extra)
    save_model(tmp_path / "copy.npz", mlp, params, extra=extra)  # anywhere else: written
    assert {name: _digest(run / name) for name in os.listdir(run)} == before
    # the run's own training replaces them: --resume goes on and writes the folder again
    assert main(["train", "--resume", str(run), "--epochs", "3", "--quiet", "--no-check", "--no-compile-cache"]) == 0
    assert _digest(run / "model.npz") != before["model.npz"]


def _table(path, rows):
    rng = np.random.default_rng(0)
    with open(path, "w") as handle:
        handle.write("size,city,price\n")
        for _ in range(rows):
            city = ("Oslo", "Rome", "Paris")[rng.integers(3)]
            handle.write(f"{rng.uniform(0, 3):.3f},{city},{rng.uniform(1, 9):.3f}\n")


@pytest.mark.parametrize("edit", ["a row added", "a value changed", "the test file changed"])
def test_resume_refuses_data_that_changed_since_the_run_began_naming_the_file(tmp_path, capsys, edit):
    data, test, run = tmp_path / "cars.csv", tmp_path / "test.csv", tmp_path / "run"
    _table(data, 40)
    _table(test, 10)
    common = ["--epochs", "2", "--quiet", "--no-check", "--no-compile-cache"]
    assert (
        main(["train", "--data", str(data), "--target", "price", "--test", str(test), "--out", str(run), *common]) == 0
    )
    state = _digest(run / "training_state.npz")
    resume = ["train", "--resume", str(run), "--data-path", str(data), "--test", str(test), "--epochs", "3"]
    edited = test if edit == "the test file changed" else data
    text = edited.read_text()
    edited.write_text(text + "1.000,Rome,2.000\n" if edit != "a value changed" else text.replace("Rome", "Oslo", 1))
    capsys.readouterr()
    assert main([*resume, "--quiet", "--no-check", "--no-compile-cache"]) == 2
    err = capsys.readouterr().err.strip()
    option = "--test" if edit == "the test file changed" else "--data-path"
    assert err.startswith(f"funcmlp: error: --resume {run}: {option} {edited} changed since the run began (")
    assert "give the file as the run read it" in err and len(err.splitlines()) == 1
    assert _digest(run / "training_state.npz") == state  # the run is as it was: it can go on with its data
    edited.write_text(text)
    assert main([*resume, "--quiet", "--no-check", "--no-compile-cache"]) == 0


def test_resume_of_a_built_in_set_and_of_an_idx_folder_records_what_it_read(tmp_path, capsys):
    """A built-in set records nothing (its name, seed and split are the run's options); an IDX folder
    records each file read in it, and names the one that changed."""
    from funcmlp.data.mnist import IDX_NAMES, write_idx

    folder = tmp_path / "mnist"
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, path in IDX_NAMES.items():
        shape = (40, 28, 28) if "images" in name else (40,)
        write_idx(folder / path, rng.integers(0, 10 if "labels" in name else 256, shape).astype(np.uint8))
    run = tmp_path / "run"
    common = ["--hidden", "4", "--quiet", "--no-check", "--no-compile-cache"]
    first = ["train", "--data", "mnist", "--data-path", str(folder), "--epochs", "1", "--out", str(run), *common]
    assert main(first) == 0
    images = folder / IDX_NAMES["train_images"]
    content = bytearray(images.read_bytes())
    content[-1] ^= 1
    images.write_bytes(bytes(content))
    capsys.readouterr()
    resume = ["train", "--resume", str(run), "--data-path", str(folder), "--epochs", "2", *common]
    assert main(resume) == 2
    assert f"--data-path {images} changed since the run began" in capsys.readouterr().err
    shutil.rmtree(run)
    xor_run = tmp_path / "xor"
    assert main(["train", "--data", "xor", "--epochs", "1", "--out", str(xor_run), *common]) == 0
    assert main(["train", "--resume", str(xor_run), "--epochs", "2", *common]) == 0


@pytest.mark.parametrize(
    "call",
    ["predict", "evaluate", "backprop", "fit inputs", "fit targets", "fit weights"],
)
def test_finite_float64_beyond_float32s_range_is_refused_where_the_network_computes_in_float32(call):
    """Item 3: checked after the cast to the params' dtype (class 0 for every row, a NaN loss or a
    silently infinite step before)."""
    mlp = funcmlp.MLP((2, 3, 2), "tanh", output="identity")
    params = mlp.init(jax.random.key(0), dtype=np.float32)
    x, y, weights = np.ones((4, 2)), np.array([0, 1, 0, 1]), np.ones(4)
    loss = "softmax_cross_entropy"
    where = {"x": "inputs hold 1e+300 at index (2, 1)", "w": "example weights hold 1e+300 at index (2,)"}
    if call == "fit targets":
        mlp, loss, y = funcmlp.MLP((2, 3, 1), "tanh", output="identity"), "mse", np.array([0.0, 1.0, 1e300, 0.0])
        params, expected = mlp.init(jax.random.key(0), dtype=np.float32), "targets hold 1e+300 at index (2, 0)"
    elif call == "fit weights":
        weights[2], expected = 1e300, where["w"]
    else:
        x[2, 1], expected = 1e300, where["x"]
    run = {
        "predict": lambda: funcmlp.predict(mlp, params, x),
        "evaluate": lambda: funcmlp.evaluate(mlp, params, x, y, loss),
        "backprop": lambda: funcmlp.backprop(mlp, params, x, y, loss),
    }.get(
        call,
        lambda: funcmlp.fit(
            mlp,
            params,
            (x, y),
            loss=loss,
            optimizer=optax.sgd(0.1),
            epochs=1,
            batch_size=4,
            key=jax.random.key(1),
            sample_weight=weights,
        ),
    )
    with pytest.raises(
        ValueError, match=rf"{re.escape(expected)}, beyond float32's range \(at most 3\.4e\+38\).*--float64"
    ):
        run()
    as64 = jax.tree_util.tree_map(lambda a: a.astype(np.float64), params)  # in float64 the same numbers are fine
    if call in ("predict", "backprop"):
        out = funcmlp.predict(mlp, as64, x) if call == "predict" else funcmlp.backprop(mlp, as64, x, y, loss).loss
        assert np.isfinite(np.asarray(out, np.float64)).all()


def test_the_estimators_refuse_what_their_float32_network_cannot_hold():
    from funcmlp.sklearn import MLPClassifier, MLPRegressor

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = (X[:, 0] > 0).astype(int)
    model = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, dtype="float32").fit(X, y)
    wide = X.copy()
    wide[3, 1] = -1e300
    fix = r"beyond float32's range .*fit with dtype='float64'"
    with pytest.raises(ValueError, match=r"X hold -1e\+300 at index \(3, 1\), " + fix):
        model.predict(wide)
    with pytest.raises(ValueError, match=r"X hold -1e\+300 at index \(3, 1\), " + fix):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, dtype="float32").fit(wide, y)
    heavy = np.ones(len(X))
    heavy[5] = 1e300
    with pytest.raises(ValueError, match=r"sample_weight hold 1e\+300 at index \(5,\), " + fix):
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, dtype="float32").fit(X, y, sample_weight=heavy)
    targets = X[:, 0].copy()
    targets[7] = 1e300
    with pytest.raises(ValueError, match=r"y hold 1e\+300 at index \(7,\), " + fix):
        MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, dtype="float32").fit(X, targets)


def test_predict_refuses_inputs_its_float32_model_cannot_hold(tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", "xor", "--epochs", "1", "--out", str(run), "--quiet", "--no-check"]) == 0
    np.save(tmp_path / "x.npy", np.array([[0.0, 1.0], [3e38, 4e38]]))
    capsys.readouterr()
    assert main(["predict", str(run), "--data-path", str(tmp_path / "x.npy"), "--out", str(tmp_path / "p.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        f"funcmlp: error: {tmp_path / 'x.npy'}: the inputs hold 4e+38 at index (1, 1), beyond float32"
    )
    assert err.endswith("train the model with --float64") and not os.path.exists(tmp_path / "p.csv")


def test_an_allocation_no_estimate_foresaw_still_ends_in_one_line(monkeypatch, capsys):
    import funcmlp.cli as cli

    def exhausted(args):
        raise MemoryError

    monkeypatch.setattr(cli.COMMANDS["check"], "run", exhausted)
    assert main(["check"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("funcmlp: error: out of memory (an allocation failed);") and len(err.splitlines()) == 1


@pytest.mark.parametrize(
    "record",
    [[], {"--data-path": "cars.csv"}, {"--data-path": {"path": "c", "files": {"c": {"size": "8", "sha256": "a"}}}}],
)
def test_an_edited_record_of_the_data_is_refused_as_damaged(record):
    import argparse

    from funcmlp.cli.data_record import check_unchanged

    args = argparse.Namespace(data_path=None, test=None)
    with pytest.raises(ValueError, match="the saved record of the data files is not one funcmlp writes"):
        check_unchanged(args, record, "run")
