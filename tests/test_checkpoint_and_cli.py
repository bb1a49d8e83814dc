"""Model files (atomic, no pickle), the gradient-check report, and the command line."""

import dataclasses
import os
import shutil
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import funcmlp
from funcmlp import MLP, check_gradients
from funcmlp.cli import main
from funcmlp.io.model_file import load_model, save_model
from funcmlp.registry import activations as activations_module


def test_model_file_round_trip_is_atomic_and_pickle_free(tmp_path):
    mlp = MLP((3, 5, 2), ["leaky_relu(0.2)", "softmax"], dropout=0.25)
    params = mlp.init(jax.random.key(0))
    path = tmp_path / "model.npz"
    save_model(path, mlp, params, extra={"note": "x"})
    save_model(path, mlp, params)  # overwrite in place
    assert sorted(os.listdir(tmp_path)) == ["model.npz"]  # no temporary file left behind
    loaded_mlp, loaded = load_model(path)
    assert loaded_mlp == mlp
    for a, b in zip(jax.tree_util.tree_leaves(loaded), jax.tree_util.tree_leaves(params), strict=True):
        np.testing.assert_array_equal(a, b)
    with np.load(path, allow_pickle=False) as data:  # readable without pickle
        assert set(data.files) == {"meta", "layer1.W", "layer1.b", "layer2.W", "layer2.b"}
    assert (funcmlp.save_model, funcmlp.load_model) == (save_model, load_model)  # the names README shows


def test_every_function_and_class_funcmlp_exports_has_its_own_name_and_its_example_calls_it():
    """Issue 36: help(funcmlp.save_checkpoint) showed save_model, a name funcmlp did not export. Every public
    function and class is exported under the name help() shows, and no other; the model file's pair's examples
    call them by it (the training state, fit's checkpoint, has names of its own)."""
    import inspect

    exported = {name: getattr(funcmlp, name) for name in funcmlp.__all__}
    for name, value in exported.items():
        if inspect.isfunction(value) or inspect.isclass(value):
            assert value.__name__ == name, f"funcmlp.{name} is {value.__name__}"
    assert not {"save_checkpoint", "load_checkpoint"} & set(dir(funcmlp))
    for function in (funcmlp.save_model, funcmlp.load_model):
        assert ">>> mlp2, params" in function.__doc__ and f"funcmlp.{function.__name__}(path" in function.__doc__


def test_bad_model_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "missing.npz")
    junk = tmp_path / "junk.npz"
    for content in (
        b"not a zip file",
        b"",
        os.urandom(2000),
        b"PK\x03\x04" + os.urandom(100),
    ):  # junk, empty, random, truncated
        junk.write_bytes(content)
        with pytest.raises(ValueError, match="not a funcmlp model file") as error:
            load_model(junk)
        assert "pickle" not in str(error.value)
    np.savez(junk, meta=np.array('{"format": "something else"}'))  # a foreign .npz
    with pytest.raises(
        ValueError, match="not a funcmlp model file.*its header is not an object with a format name and version"
    ):
        load_model(junk)


def test_gradient_check_catches_a_wrong_derivative(monkeypatch):
    """A check that cannot fail proves nothing: break tanh' and the report must say FAIL."""
    mlp = MLP((3, 4, 2), "tanh", output="identity")
    params = mlp.init(jax.random.key(0), init="glorot_normal")
    x, y = jax.random.normal(jax.random.key(1), (6, 3)), jax.random.normal(jax.random.key(2), (6, 2))
    good = check_gradients(mlp, params, x, y, "half_sse")
    assert good.passed and good.max_rel_error("autodiff") < 1e-12 and good.max_rel_error("finite differences") < 1e-6
    broken = dataclasses.replace(activations_module.ACTIVATIONS["tanh"], derivative=lambda n, alpha: 1 - jnp.tanh(n))
    monkeypatch.setitem(activations_module.ACTIVATIONS, "tanh", broken)
    mlp = MLP((3, 4, 2), "tanh", output="identity")  # an Activation carries the registry entry it was made with
    bad = check_gradients(mlp, params, x, y, "half_sse")
    assert not bad.passed
    worst = max(bad.rows, key=lambda r: r.rel_error)
    assert worst.layer == 1 and bad.max_rel_error("autodiff") > 1e-2
    assert "FAIL (manual vs jax.grad" in str(bad) and "layer" in str(bad)


def test_check_command_prints_the_table(capsys):
    assert main(["check", "--sizes", "3,5,2", "--activations", "tanh", "--loss", "half_sse"]) == 0
    out = capsys.readouterr().out
    assert "finite differences" in out and "gradient check PASS" in out


def test_train_command_on_xor_writes_outputs(tmp_path, capsys):
    assert main(["train", "--data", "xor", "--epochs", "200", "--out", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "accuracy 1.0000" in out and "gradient check PASS" in out
    assert {"model.npz", "training_state.npz", "history.csv", "history.json"} <= set(os.listdir(tmp_path))
    assert main(["evaluate", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert (
        out.startswith(f"{tmp_path / 'model.npz'} is a model (epoch 200 of 200), evaluating it\n")
        and "accuracy 1.0000" in out
    )


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--data", "xor", "--activation", "swoosh"], "unknown activation 'swoosh'"),
        (["train", "--data", "xor", "--epochs", "0"], "--epochs and --batch-size must be at least 1"),
        (["evaluate", "nowhere/params.npz"], "does not exist"),
        (["check", "--sizes", "3,x"], "expected comma-separated integers"),
        (["train", "--optimizer", "lbfgs"], "invalid choice: 'lbfgs'"),
        (["check", "--eps", "0"], "eps must be a finite number above 0, got 0.0"),
        (["check", "--eps", "nan"], "eps must be a finite number above 0, got nan"),
        (
            ["check", "--output", "softmax"],
            "takes logits but the output activation 'softmax' already gives probabilities",
        ),
        (
            ["train", "--data", "xor", "--loss", "softmax_cross_entropy", "--output", "softmax"],
            "would be applied twice",
        ),
    ],
)
def test_bad_input_prints_one_line_and_exits_nonzero(argv, message, capsys):
    assert main(argv) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("funcmlp: error:") and message in lines[0]


def test_the_funcmlp_program_refuses_bad_input_without_a_traceback():
    """python -m funcmlp.cli, as the console script runs it: one line on stderr, exit status 2."""
    argv = ["train", "--data", "xor", "--activation", "swoosh"]
    result = subprocess.run([sys.executable, "-m", "funcmlp.cli", *argv], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2 and result.stdout == ""
    assert (
        result.stderr.startswith("funcmlp: error: unknown activation 'swoosh'") and len(result.stderr.splitlines()) == 1
    )


def test_derive_command_lists_and_prints(capsys):
    assert main(["derive", "--list"]) == 0
    listing = capsys.readouterr().out
    assert "seed003_relu_linear" in listing and "activations" in listing and "check" in listing
    assert main(["derive", "seed000_house_price", "--format", "markdown"]) == 0
    assert "-3.5308" in capsys.readouterr().out
    assert main(["derive", "activations"]) == 0
    assert "FAIL" not in capsys.readouterr().out
    assert main(["derive", "check", "--sizes", "3,4,2", "--activations", "tanh,sigmoid", "--loss", "mse"]) == 0
    out = capsys.readouterr().out
    assert "PASS" in out and "FAIL" not in out
    assert main(["derive", "no_such_thing"]) == 2
    assert main(["derive", "check", "--activations", "tanh", "--loss", "cross_entropy"]) == 2  # needs a softmax output
    assert (
        main(["derive", "check", "--sizes", "3,4,3", "--activations", "relu,softmax", "--loss", "cross_entropy"]) == 0
    )


def test_train_command_on_mnist_files(tmp_path, capsys):
    """The --data mnist plumbing on a small synthetic IDX folder (no MNIST files are shipped)."""
    from funcmlp.data.mnist import IDX_NAMES, write_idx

    rng = np.random.default_rng(0)
    for split, n in (("train", 120), ("test", 30)):
        write_idx(str(tmp_path / IDX_NAMES[f"{split}_images"]), rng.integers(0, 256, (n, 28, 28)), compress=True)
        write_idx(str(tmp_path / IDX_NAMES[f"{split}_labels"]), rng.integers(0, 10, n))
    out_dir = tmp_path / "run"
    assert (
        main(
            [
                "train",
                "--data",
                "mnist",
                "--data-path",
                str(tmp_path),
                "--hidden",
                "16",
                "--epochs",
                "2",
                "--batch-size",
                "32",
                "--no-check",
                "--out",
                str(out_dir),
                "--plots",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "mnist: 784 features, 10 classes; train 110, validation 10, test 30" in out
    assert (out_dir / "confusion.png").exists()
    # a data path inside the run's files is shown, never opened: evaluate and --resume need it given again
    for argv, match in [
        (["evaluate", str(out_dir)], f"was trained on mnist (it records {str(tmp_path)!r}); funcmlp reads only files"),
        (
            ["train", "--resume", str(out_dir), "--epochs", "3", "--quiet", "--no-check"],
            f"the run read its data from {str(tmp_path)!r}, as its training state says",
        ),
    ]:
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and match in err[0], err
        assert main([*argv, "--data-path", str(tmp_path)]) == 0


def _cached_programs(folder) -> int:
    return sum(len(files) for _, _, files in os.walk(folder))


def test_the_command_line_keeps_compiled_programs_in_the_users_cache(tmp_path, monkeypatch):
    """A second run finds every program in $XDG_CACHE_HOME/funcmlp (nothing new is stored);
    --no-compile-cache and FUNCMLP_NO_COMPILE_CACHE=1 leave it alone."""
    import subprocess
    import sys

    check = ["check", "--sizes", "3,4,2", "--batch", "2"]
    folder = tmp_path / "funcmlp"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    saved = jax.config.jax_compilation_cache_dir  # a regression would point this process's cache elsewhere
    try:  # the two ways to turn it off, in this process (conftest sets FUNCMLP_NO_COMPILE_CACHE=1)
        assert main(check) == 0
        assert not folder.exists()
        monkeypatch.delenv("FUNCMLP_NO_COMPILE_CACHE")
        assert main([*check, "--no-compile-cache"]) == 0
        assert not folder.exists()
    finally:
        jax.config.update("jax_compilation_cache_dir", saved)

    def run():  # in new processes: the cache is a process-wide JAX setting
        environ = {  # conftest sets these: the user's cache is what is tested here, not the test run's
            key: value
            for key, value in os.environ.items()
            if not key.startswith("JAX_PERSISTENT_CACHE") and key != "JAX_COMPILATION_CACHE_DIR"
        }
        command = [sys.executable, "-m", "funcmlp.cli", *check]
        environ["JAX_PLATFORMS"] = "cpu"
        assert subprocess.run(command, env=environ, capture_output=True, text=True, timeout=300).returncode == 0

    run()
    stored = _cached_programs(folder)
    assert stored > 5
    run()
    assert _cached_programs(folder) == stored


@pytest.mark.parametrize(
    "argv, match",
    [
        (["train", "--data", "xor", "--lr", "nan"], "--lr must be a finite number above 0, got nan"),
        (["train", "--data", "xor", "--lr", "inf"], "--lr must be a finite number above 0, got inf"),
        (["train", "--data", "xor", "--lr", "0"], "--lr must be a finite number above 0, got 0.0"),
        (["train", "--data", "digits", "--data-path", "somewhere"], "--data-path is for --data mnist"),
    ],
)
def test_bad_training_options_are_refused_before_any_data_loads(argv, match, capsys, monkeypatch):
    import funcmlp.data.datasets

    monkeypatch.setattr(
        funcmlp.data.datasets,
        "load_dataset",
        lambda *a, **k: pytest.fail("data loaded before the options were checked"),
    )
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def test_an_unwritable_out_is_found_before_training(tmp_path, capsys, monkeypatch):
    import funcmlp.data.datasets

    monkeypatch.setattr(
        funcmlp.data.datasets, "load_dataset", lambda *a, **k: pytest.fail("data loaded before --out was checked")
    )
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    assert main(["train", "--data", "xor", "--out", str(a_file / "run")]) == 2
    assert f"{a_file} is a file, not a folder" in capsys.readouterr().err


def test_outputs_are_saved_before_the_check_and_readable_by_the_group(tmp_path, capsys, monkeypatch):
    """A failing post-training check leaves the trained model on disk; files follow the umask (0644)."""

    def failing_check(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(funcmlp, "check_gradients", failing_check)
    old = os.umask(0o022)
    try:
        assert main(["train", "--data", "xor", "--epochs", "3", "--out", str(tmp_path), "--quiet"]) == 130
    finally:
        os.umask(old)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "history.csv",
        "history.json",
        "manifest.json",
        "model.npz",
        "training_state.npz",
    ]
    assert all((p.stat().st_mode & 0o777) == 0o644 for p in tmp_path.iterdir())


def test_a_batch_larger_than_the_data_is_clamped(capsys):
    assert main(["train", "--data", "xor", "--epochs", "2", "--batch-size", "10000000", "--no-check", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "--batch-size 10000000 is more than the 4 training examples: using 4" in out


def _mnist_model(tmp_path, data="mnist"):
    mlp = MLP((784, 8, 10), "relu", output="identity")
    params = mlp.init(jax.random.key(0), dtype=jnp.float32)
    path = tmp_path / "model.npz"
    save_model(path, mlp, params, extra={"data": data, "loss": "softmax_cross_entropy"})
    return mlp, params, path


def test_predict_writes_a_kaggle_submission(tmp_path, capsys):
    """Kaggle's test.csv (a byte-order mark too), IDX images and .npy inputs; labels and
    probabilities computed here with numpy from the saved params."""
    from funcmlp.data.mnist import write_idx

    mlp, params, model = _mnist_model(tmp_path)
    pixels = np.random.default_rng(0).integers(0, 256, size=(5, 784))
    csv_path = tmp_path / "test.csv"
    csv_path.write_text(
        "\ufeff"
        + ",".join(f"pixel{i}" for i in range(784))
        + "\n"
        + "\n".join(",".join(map(str, row)) for row in pixels)
        + "\n",
        encoding="utf-8",
    )
    W1, b1, W2, b2 = (np.asarray(a, np.float64) for layer in params for a in layer)
    logits = np.maximum(pixels / 255.0 @ W1 + b1, 0) @ W2 + b2
    expected = logits.argmax(axis=1)
    write_idx(str(tmp_path / "images-idx3-ubyte"), pixels.reshape(5, 28, 28).astype(np.uint8))
    np.save(tmp_path / "inputs.npy", pixels / 255.0)
    for source in (csv_path, tmp_path / "images-idx3-ubyte", tmp_path / "inputs.npy"):
        out = tmp_path / "submission.csv"
        assert main(["predict", str(model), "--data-path", str(source), "--out", str(out)]) == 0
        rows = out.read_text().splitlines()
        assert rows[0] == "ImageId,Label" and rows[1:] == [f"{i},{label}" for i, label in enumerate(expected, start=1)]
    assert main(["predict", str(model), "--data-path", str(csv_path), "--out", str(tmp_path / "p.csv"), "--proba"]) == 0
    table = np.loadtxt(tmp_path / "p.csv", delimiter=",", skiprows=1)
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    np.testing.assert_allclose(table[:, 1:], shifted / shifted.sum(axis=1, keepdims=True), rtol=1e-4, atol=1e-6)
    assert "wrote" in capsys.readouterr().out


@pytest.mark.parametrize(
    "data, source, match",
    [
        (
            "digits",
            "test.csv",
            "hold MNIST pixels, for a model trained with --data mnist; this one was trained on 'digits'",
        ),
        (
            "mnist",
            "folder",
            "folder.csv is a folder, not a file: funcmlp reads only regular files; give the path of a file",
        ),
        ("mnist", "wide.npy", "inputs of shape (2, 5), the model takes (N, 784)"),
    ],
)
def test_predict_refuses_what_it_cannot_read(tmp_path, capsys, data, source, match):
    _, _, model = _mnist_model(tmp_path, data)
    (tmp_path / "test.csv").write_text(",".join(f"pixel{i}" for i in range(784)) + "\n" + ",".join(["0"] * 784) + "\n")
    (tmp_path / "folder.csv").mkdir()
    np.save(tmp_path / "wide.npy", np.zeros((2, 5)))
    path = {"folder": str(tmp_path / "folder.csv")}.get(source, str(tmp_path / source))
    assert main(["predict", str(model), "--data-path", path, "--out", str(tmp_path / "out.csv")]) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def test_a_runs_outputs_are_listed_with_their_hashes_in_a_manifest_written_last(tmp_path, capsys):
    import hashlib
    import json

    assert (
        main(["train", "--data", "xor", "--epochs", "3", "--out", str(tmp_path), "--plots", "--no-check", "--quiet"])
        == 0
    )
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    assert sorted(manifest["sha256"]) == [
        "curves.png",
        "history.csv",
        "history.json",
        "model.npz",
        "training_state.npz",
    ]
    run_id = manifest["run_id"]  # the run id each file of the set carries too
    assert len(run_id) == 32 and int(run_id, 16) >= 0
    assert json.loads((tmp_path / "history.json").read_text())["options"]["run_id"] == run_id
    with np.load(tmp_path / "model.npz") as model, np.load(tmp_path / "training_state.npz") as state:
        assert json.loads(str(model["meta"]))["extra"]["run_id"] == run_id
        assert json.loads(str(state["meta"]))["options"]["run_id"] == run_id
    for name, digest in manifest["sha256"].items():
        assert hashlib.sha256((tmp_path / name).read_bytes()).hexdigest() == digest
    assert (tmp_path / "manifest.json").stat().st_mtime_ns >= max(
        (tmp_path / name).stat().st_mtime_ns for name in manifest["sha256"]
    )


def test_evaluate_and_predict_refuse_a_model_the_runs_manifest_does_not_record(tmp_path, capsys):
    """A model.npz swapped in from another run (its run id not manifest.json's) or edited (its SHA-256
    not manifest.json's): one line, exit 2."""
    assert (
        main(["train", "--data", "xor", "--epochs", "2", "--out", str(tmp_path / "run"), "--quiet", "--no-check"]) == 0
    )
    assert main(["evaluate", str(tmp_path / "run" / "model.npz")]) == 0
    shutil.copy(tmp_path / "run" / "model.npz", tmp_path / "original.npz")
    assert (
        main(["train", "--data", "xor", "--epochs", "3", "--out", str(tmp_path / "other"), "--quiet", "--no-check"])
        == 0
    )
    os.replace(tmp_path / "other" / "model.npz", tmp_path / "run" / "model.npz")
    capsys.readouterr()
    assert main(["evaluate", str(tmp_path / "run" / "model.npz")]) == 2
    err = capsys.readouterr().err
    assert "is from another run" in err and "the folder mixes two runs' files" in err and len(err.splitlines()) == 1
    # the run's own model edited, its run id kept: the hash tells
    from funcmlp.io.model_file import read_model, save_model

    mlp, params, extra = read_model(tmp_path / "original.npz")
    params = [layer._replace(b=layer.b + 1.0) for layer in params]
    save_model(tmp_path / "edited.npz", mlp, params, extra=extra)  # (save_model refuses a run's own model.npz)
    os.replace(tmp_path / "edited.npz", tmp_path / "run" / "model.npz")
    assert main(["evaluate", str(tmp_path / "run" / "model.npz")]) == 2
    err = capsys.readouterr().err
    assert "manifest.json records (its SHA-256 differs)" in err and len(err.splitlines()) == 1
    np.save(tmp_path / "x.npy", np.zeros((2, 2)))
    assert (
        main(
            [
                "predict",
                str(tmp_path / "run" / "model.npz"),
                "--data-path",
                str(tmp_path / "x.npy"),
                "--out",
                str(tmp_path / "p.csv"),
            ]
        )
        == 2
    )
    assert "SHA-256 differs" in capsys.readouterr().err and not (tmp_path / "p.csv").exists()


def test_a_compile_cache_that_cannot_be_written_is_one_note_and_the_command_goes_on(tmp_path, monkeypatch, capsys):
    """A read-only cache folder (simulated: root may write anywhere): one line on stderr, no cache
    set, the command's own output unchanged (JAX warned once per program it failed to store)."""
    import funcmlp.compile_cache as compile_cache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.delenv("FUNCMLP_NO_COMPILE_CACHE")
    folder = str(tmp_path / "funcmlp")
    real = os.access
    monkeypatch.setattr(compile_cache.os, "access", lambda path, mode: False if path == folder else real(path, mode))
    saved = jax.config.jax_compilation_cache_dir
    try:
        assert main(["check", "--sizes", "3,2", "--batch", "2"]) == 0
        assert jax.config.jax_compilation_cache_dir == saved
    finally:
        jax.config.update("jax_compilation_cache_dir", saved)
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [f"note    the compile cache {folder} cannot be written: compiling afresh"]
    assert "PASS" in captured.out
