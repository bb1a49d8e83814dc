"""Training you can trust: a run interrupted (Ctrl-C, or killed outright) and resumed from its
checkpoint ends with exactly the params of an uninterrupted run (bitwise, on CPU)."""

import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import funcmlp
import funcmlp.training.loop as training
from funcmlp import MLP, fit
from funcmlp.io.arrays import read_npz
from funcmlp.io.training_state import STATE_FORMAT, STATE_VERSION, load_state, state_path


def _problem(dtype):
    x = jax.random.normal(jax.random.key(0), (50, 4)).astype(dtype)
    y = jnp.arange(50) % 3
    mlp = MLP((4, 16, 3), "tanh", output="identity", dropout=0.2)
    return mlp, mlp.init(jax.random.key(1), dtype=dtype), x, y


def _fit(mlp, params, x, y, epochs, **kwargs):
    return fit(
        mlp,
        params,
        (x, y),
        loss="softmax_cross_entropy",
        optimizer=ADAM,
        epochs=epochs,
        batch_size=8,
        key=jax.random.key(2),
        validation=(x[:10], y[:10]),
        **kwargs,
    )


ADAM = optax.adam(0.01)


@pytest.mark.parametrize("dtype", [jnp.float32, jnp.float64])
def test_ctrl_c_and_resume_end_bitwise_where_an_uninterrupted_run_ends(dtype, tmp_path, monkeypatch):
    mlp, params, x, y = _problem(dtype)
    straight, straight_history = _fit(mlp, params, x, y, 7)

    calls = {"n": 0}
    original = training.run_epoch

    def interrupted(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 5:
            raise KeyboardInterrupt  # in the middle of epoch 5
        return original(*args, **kwargs)

    monkeypatch.setattr(training, "run_epoch", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _fit(mlp, params, x, y, 7, checkpoint_dir=tmp_path, checkpoint_every=3)
    monkeypatch.setattr(training, "run_epoch", original)
    saved = load_state(tmp_path, mlp, params, ADAM)
    assert (
        saved.epoch == 4 and len(saved.history.train_loss) == 4
    )  # the state after the last whole epoch, not the last checkpoint (3)

    resumed, history = _fit(mlp, params, x, y, 7, checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(jax.tree_util.tree_leaves(resumed), jax.tree_util.tree_leaves(straight), strict=True):
        assert a.dtype == dtype and np.array_equal(np.asarray(a), np.asarray(b))
    assert history.train_loss == straight_history.train_loss
    assert load_state(tmp_path, mlp, params, ADAM).epoch == 7


def test_resume_refuses_another_network_or_optimizer(tmp_path):
    mlp, params, x, y = _problem(jnp.float32)
    _fit(mlp, params, x, y, 1, checkpoint_dir=tmp_path)
    other = MLP((4, 8, 3), "tanh", output="identity")
    with pytest.raises(ValueError, match="is the state of network"):
        load_state(tmp_path, other, other.init(jax.random.key(0)), ADAM)
    with pytest.raises(ValueError, match="holds the state of another optimizer"):
        load_state(tmp_path, mlp, params, optax.sgd(0.1, momentum=0.9))


def _train(out, *extra):
    environ = {**os.environ, "JAX_PLATFORMS": "cpu"}
    return [
        sys.executable,
        "-m",
        "funcmlp.cli",
        "train",
        "--data",
        "xor",
        "--hidden",
        "16",
        "--dropout",
        "0.2",
        "--epochs",  # about 2 s of training after the first checkpoint: the kill lands within it
        "200",
        "--no-check",
        "--quiet",
        "--out",
        str(out),
        *extra,
    ], environ


@pytest.mark.parametrize("precision", [["--float64"]], ids=["float64"])
def test_a_run_killed_at_any_moment_resumes_to_the_same_params(tmp_path, precision):
    """SIGKILL (no chance to save) at a random moment after the first checkpoint; --resume goes on
    from the last one and ends with the params of a run that was never killed, bit for bit. (float32's
    bitwise resume is the Ctrl-C test's: what a kill adds, no save at all, does not depend on the dtype.)"""
    command, environ = _train(tmp_path / "straight", *precision)
    assert subprocess.run(command, env=environ, capture_output=True, timeout=300).returncode == 0
    command, environ = _train(tmp_path / "killed", *precision)
    process = subprocess.Popen(command, env=environ, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while not os.path.exists(state_path(tmp_path / "killed")) and time.time() < deadline:
        time.sleep(0.05)
    time.sleep(np.random.default_rng().uniform(0.0, 0.5))
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert not (tmp_path / "killed" / "model.npz").exists()  # killed during training, not after it
    header, _ = read_npz(state_path(tmp_path / "killed"), STATE_FORMAT, STATE_VERSION)
    assert 1 <= header["epoch"] < 200
    resume = [
        sys.executable,
        "-m",
        "funcmlp.cli",
        "train",
        "--resume",
        str(tmp_path / "killed"),
        "--no-check",
        "--quiet",
    ]
    lock = tmp_path / "killed" / ".funcmlp-lock"  # the killed run's lock file names it; nobody holds the lock
    assert lock.read_text().startswith(f"{process.pid} on ")
    stale = tmp_path / "killed" / f".tmp-{process.pid}-{'a' * 32}-model.npz"  # as a kill in a write leaves one
    stale.write_bytes(b"half")
    finished = subprocess.run(resume, env=environ, capture_output=True, text=True, timeout=300)
    assert finished.returncode == 0, finished.stderr
    assert f"an earlier run here was killed (process {process.pid} on " in finished.stdout
    assert not [p.name for p in (tmp_path / "killed").iterdir() if p.name.startswith(".")]  # temporaries, lock: gone
    with np.load(tmp_path / "straight" / "model.npz") as a, np.load(tmp_path / "killed" / "model.npz") as b:
        assert [k for k in a.files if k != "meta"] == [k for k in b.files if k != "meta"]
        for name in a.files:
            if name != "meta":
                assert a[name].dtype == (np.float64 if precision else np.float32) and np.array_equal(
                    a[name], b[name]
                ), name


def test_resume_from_a_folder_without_a_checkpoint_says_how_to_start(tmp_path, capsys):
    from funcmlp.cli import main

    assert main(["train", "--resume", str(tmp_path)]) == 2
    assert (
        f"--resume {tmp_path}: no training_state.npz there; start a run with: funcmlp train --out {tmp_path}"
        in capsys.readouterr().err
    )
    assert main(["train", "--data", "xor", "--checkpoint-every", "0", "--out", str(tmp_path)]) == 2
    assert "--checkpoint-every must be at least 1 epoch, got 0" in capsys.readouterr().err


def _diverging(on_nonfinite, **kwargs):
    x = jnp.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [2.0, 2.0]])
    y = jnp.array([[1.0], [0.0], [1.0], [0.0]])
    mlp = MLP((2, 4, 1), "tanh", output="identity")
    params = mlp.init(jax.random.key(0))
    return (
        mlp,
        params,
        fit(
            mlp,
            params,
            (x, y),
            loss="sse",
            optimizer=optax.sgd(1e3),
            epochs=20,
            batch_size=2,
            key=jax.random.key(1),
            on_nonfinite=on_nonfinite,
            **kwargs,
        ),
    )


def test_divergence_stops_with_the_last_finite_params_and_says_where(tmp_path):
    with pytest.raises(
        funcmlp.TrainingDiverged,
        match=r"training diverged at epoch \d+, step [12]: the (gradient of layer \d|loss) is not finite",
    ) as caught:
        _diverging("stop", checkpoint_dir=tmp_path)
    error = caught.value
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree_util.tree_leaves(error.params))
    assert error.epoch >= 1 and error.step in (1, 2) and 0 <= error.layer <= 2
    assert len(error.history.train_loss) == error.epoch - 1 and all(np.isfinite(error.history.train_loss))
    # the params after the last whole epoch, saved as that epoch's state: their loss is finite
    mlp, params = (
        MLP((2, 4, 1), "tanh", output="identity"),
        MLP((2, 4, 1), "tanh", output="identity").init(jax.random.key(0)),
    )
    saved = load_state(tmp_path, mlp, params, optax.sgd(1e3))
    assert saved.epoch == error.epoch - 1
    assert all(
        np.array_equal(a, b)
        for a, b in zip(jax.tree_util.tree_leaves(saved.params), jax.tree_util.tree_leaves(error.params), strict=True)
    )
    x = jnp.array([[1.0, 2.0], [3.0, -1.0], [0.5, 0.5], [2.0, 2.0]])
    assert np.isfinite(float(funcmlp.objective(mlp, error.params, x, jnp.array([1.0, 0.0, 1.0, 0.0]), "sse")))


def test_skipping_nonfinite_steps_counts_them():
    mlp, params, (trained, history) = _diverging("skip")
    assert sum(history.skipped_steps) > 0 and len(history.skipped_steps) == 20
    assert all(np.isfinite(np.asarray(leaf)).all() for leaf in jax.tree_util.tree_leaves(trained))


def test_the_command_line_reports_divergence_in_one_line(tmp_path, capsys):
    from funcmlp.cli import main

    argv = [
        "train",
        "--data",
        "synthetic_regression",
        "--optimizer",
        "sgd",
        "--lr",
        "1e30",
        "--epochs",
        "3",
        "--out",
        str(tmp_path),
        "--quiet",
    ]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        f"funcmlp: error: training diverged at epoch 1, step 2: the gradient of layer 1 is not finite; the last finite "
        f"model is saved in {tmp_path}/model.npz; go on with a lower learning rate: "
        f"funcmlp train --resume {tmp_path} --lr 1e+29"
    )
    assert os.path.exists(state_path(tmp_path)) and os.path.exists(tmp_path / "model.npz")


def test_early_stopping_keeps_the_best_epoch_and_resumes_bitwise(tmp_path):
    """The validation loss checked here: the returned params are the best epoch's (their
    validation loss equals the recorded minimum), training stopped `patience` epochs after it,
    and an interrupted early-stopping run resumes to the same end."""
    from funcmlp import evaluate

    mlp, params, x, y = _problem(jnp.float64)
    overfit = dict(
        validation=(x[:10], (y[:10] + 1) % 3)
    )  # labels the training data contradict: the validation loss rises
    best, history = fit(
        mlp,
        params,
        (x, y),
        loss="softmax_cross_entropy",
        optimizer=ADAM,
        epochs=60,
        batch_size=8,
        key=jax.random.key(2),
        early_stopping=3,
        **overfit,
    )
    assert len(history.train_loss) < 60 and len(history.val_loss) == history.best_epoch + 3
    assert history.val_loss[history.best_epoch - 1] == min(history.val_loss)
    assert evaluate(mlp, best, *overfit["validation"], "softmax_cross_entropy").loss == pytest.approx(
        min(history.val_loss), rel=1e-12
    )

    def run(**kwargs):
        return fit(
            mlp,
            params,
            (x, y),
            loss="softmax_cross_entropy",
            optimizer=ADAM,
            epochs=kwargs.pop("epochs", 60),
            batch_size=8,
            key=jax.random.key(2),
            early_stopping=3,
            checkpoint_dir=tmp_path,
            **overfit,
            **kwargs,
        )

    run(epochs=history.best_epoch + 1)  # stops short of the end, as an interrupted run would
    resumed, resumed_history = run(resume=True)
    assert resumed_history.best_epoch == history.best_epoch
    for a, b in zip(jax.tree_util.tree_leaves(resumed), jax.tree_util.tree_leaves(best), strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    with pytest.raises(ValueError, match="needs a patience of at least 1 epoch, validation data and validate_every=1"):
        fit(
            mlp,
            params,
            (x, y),
            loss="softmax_cross_entropy",
            optimizer=ADAM,
            epochs=2,
            batch_size=8,
            key=jax.random.key(2),
            early_stopping=3,
        )


RUN_FILES = {"model.npz", "training_state.npz", "history.csv", "history.json", "manifest.json"}


@pytest.mark.parametrize(
    "interrupt",
    [
        "raise KeyboardInterrupt",
        # a Ctrl-C landing in a C callback (numpy's dtype lookup) reaches Python as a SystemError caused by it
        "try:\n        raise KeyboardInterrupt\n    except KeyboardInterrupt as error:\n"
        "        raise SystemError('returned a result with an exception set') from error",
    ],
)
def test_ctrl_c_during_the_gradient_check_exits_130_in_one_line_and_keeps_the_run(tmp_path, interrupt):
    """The check runs after the model is saved: a Ctrl-C in it (raised there: deterministic) ends the
    funcmlp program (``funcmlp.cli.run``, in a process of its own) with 130, one line, every output of
    the run in place."""
    command, environ = _train(tmp_path / "run", "--epochs", "5")
    command.remove("--no-check")
    program = (
        "import sys, funcmlp\n"
        "from funcmlp.cli import run\n"
        "def interrupted(*args, **kwargs):\n"
        f"    {interrupt}\n"
        "funcmlp.check_gradients = interrupted\n"
        "sys.exit(run())\n"
    )
    finished = subprocess.run(
        [sys.executable, "-c", program, *command[3:]], env=environ, capture_output=True, text=True, timeout=300
    )
    assert finished.returncode == 130, finished.stderr
    assert finished.stderr.strip().splitlines() == ["funcmlp: interrupted"] and "saved" in finished.stdout
    assert RUN_FILES <= {p.name for p in (tmp_path / "run").iterdir()}


def test_a_late_ctrl_c_never_gives_a_traceback_and_keeps_the_run(tmp_path):
    """Ctrl-C pressed again and again once the model is saved (during the gradient check and while
    the interpreter shuts down), in a real process: exit 130 with one line when the first one lands
    before main returns, 0 and nothing on stderr when it lands after (ignored: the run is complete);
    never a traceback; every output of the run in place. (Which of the two happens depends on how
    fast the check runs: the one-line 130 is tested deterministically above.)"""
    command, environ = _train(tmp_path / "run", "--epochs", "5")
    command.remove("--no-check")
    process = subprocess.Popen(
        command, env={**environ, "PYTHONUNBUFFERED": "1"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    for line in process.stdout:
        if line.startswith("saved"):
            break
    while process.poll() is None:
        process.send_signal(signal.SIGINT)
        time.sleep(0.01)
    stderr = process.stderr.read()
    assert (process.returncode, stderr.strip().splitlines()) in ((130, ["funcmlp: interrupted"]), (0, [])), stderr
    assert RUN_FILES <= {p.name for p in (tmp_path / "run").iterdir()}


def test_an_update_that_overflows_the_params_dtype_stops_at_its_step_with_the_finite_params():
    """sgd at 1e37 in float32: every gradient is finite (~100), the update is not (1e39 > 3.4e38).
    The step is named (epoch 1, step 1, an update) and the params kept are the initial ones; before,
    epoch 1 ended with infinite params, saved as "the last finite" ones. One step an epoch: only the
    final params show it; two: the next step's loss."""
    mlp = MLP((2, 3, 1), "tanh", output="identity")
    params = mlp.init(jax.random.key(0), dtype=jnp.float32)
    x, y = jnp.ones((4, 2), jnp.float32), jnp.full((4, 1), 100.0, jnp.float32)
    with pytest.raises(funcmlp.TrainingDiverged, match="epoch 1, step 1: the update of layer 1 overflowed") as caught:
        fit(mlp, params, (x, y), loss="mse", optimizer=optax.sgd(1e37), epochs=3, batch_size=4, key=jax.random.key(1))
    assert caught.value.cause == "update" and caught.value.layer == 1
    # two steps an epoch: the epoch's first run reads the losses (step 2's is NaN), its checked replay names step 1
    with pytest.raises(funcmlp.TrainingDiverged, match="epoch 1, step 1: the update of layer 1 overflowed"):
        fit(mlp, params, (x, y), loss="mse", optimizer=optax.sgd(1e37), epochs=3, batch_size=2, key=jax.random.key(1))
    leaves = zip(jax.tree_util.tree_leaves(caught.value.params), jax.tree_util.tree_leaves(params), strict=True)
    for kept, initial in leaves:
        assert np.array_equal(np.asarray(kept), np.asarray(initial))
    _, history = fit(
        mlp,
        params,
        (x, y),
        loss="mse",
        optimizer=optax.sgd(1e37),
        epochs=3,
        batch_size=2,
        key=jax.random.key(1),
        on_nonfinite="skip",
    )
    assert history.skipped_steps == [2, 2, 2]  # every step would overflow: each is skipped and counted
    assert all(np.isnan(loss) for loss in history.train_loss)  # nothing trained, nothing measured (was 0.0)


def test_resuming_a_run_that_stopped_early_trains_nothing(tmp_path):
    """At rate 0 the validation loss never improves: patience 1 stops after epoch 2. Resumed (with
    more epochs, twice), the run stays at 2 epochs and returns the best params (was: one epoch more
    at each resume, 34 -> 35 -> 36)."""
    mlp = MLP((2, 3, 1), "tanh")
    params = mlp.init(jax.random.key(0))
    x, y = jnp.ones((8, 2)), jnp.zeros((8, 1))
    options = dict(loss="mse", optimizer=optax.sgd(0.0), batch_size=4, validation=(x, y), early_stopping=1)
    _, history = fit(mlp, params, (x, y), epochs=10, key=jax.random.key(1), checkpoint_dir=tmp_path, **options)
    assert history.epochs == 2 and history.best_epoch == 1
    for _ in range(2):
        kept, history = fit(
            mlp, params, (x, y), epochs=20, key=jax.random.key(1), checkpoint_dir=tmp_path, resume=True, **options
        )
        assert history.epochs == 2 and history.best_epoch == 1
        assert all(
            np.array_equal(a, b)
            for a, b in zip(jax.tree_util.tree_leaves(kept), jax.tree_util.tree_leaves(params), strict=True)
        )


def test_an_overflow_is_caught_under_xlas_fast_math_too():
    """XLA_FLAGS=--xla_cpu_enable_fast_math=true folds x * 0 to 0: the non-finite checks must not rest
    on it (a sum of x * 0 let sgd at 1e37 return infinite params there, silently). In a process of its
    own (XLA reads its flags once): "stop" names the update of layer 1, "skip" skips and counts it."""
    program = """
import jax, jax.numpy as jnp, optax, funcmlp
from funcmlp import MLP, fit
mlp = MLP((2, 3, 1), "tanh", output="identity")
params = mlp.init(jax.random.key(0), dtype=jnp.float32)
x, y = jnp.ones((4, 2), jnp.float32), jnp.full((4, 1), 100.0, jnp.float32)
options = dict(loss="mse", optimizer=optax.sgd(1e37), epochs=1, batch_size=4, key=jax.random.key(1))
try:
    fit(mlp, params, (x, y), **options)
    print("no error")
except funcmlp.TrainingDiverged as diverged:
    print(diverged.cause, diverged.layer, diverged.step)
kept, history = fit(mlp, params, (x, y), on_nonfinite="skip", **options)
print(history.skipped_steps, bool(all(jnp.all(jnp.isfinite(leaf)) for leaf in jax.tree_util.tree_leaves(kept))))
"""
    environ = {**os.environ, "XLA_FLAGS": "--xla_cpu_enable_fast_math=true", "JAX_PLATFORMS": "cpu"}
    finished = subprocess.run([sys.executable, "-c", program], env=environ, capture_output=True, text=True, timeout=300)
    assert finished.stdout.split("\n")[:2] == ["update 1 1", "[1] True"], finished.stdout + finished.stderr
