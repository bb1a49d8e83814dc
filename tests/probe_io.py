"""Issue 33's probe cases of the files funcmlp reads and writes (run by tests/test_probe.py): an
output never replaces a file the same command reads, nor a run's own files from outside that run's
training; the library's ``fit(checkpoint_dir=)`` never takes over a folder of ``funcmlp train``'s;
a path to read that is a FIFO or a device is refused at once (it hung, or read gigabytes)."""

import os
import shutil
import stat

import numpy as np
from probe_case import Case


def _kaggle_csv(folder, name="test.csv"):
    path = os.path.join(folder, name)
    with open(path, "w") as handle:
        handle.write(",".join(f"pixel{i}" for i in range(784)) + "\n" + ",".join(["0"] * 784) + "\n")
    return path


def _predict_over_its_own_table(folder, base):
    """The probe's first loss: ``predict --data-path new.csv --out new.csv`` replaced the user's table."""
    table = _kaggle_csv(folder)
    return ["predict", os.path.join(base, "mnist"), "--data-path", table, "--out", table]


def _predict_over_its_own_inputs_through_a_link(folder, base):
    """The same file under another name (a hard link): the file counts, not its name."""
    np.save(os.path.join(folder, "x.npy"), np.zeros((2, 2)))
    os.link(os.path.join(folder, "x.npy"), os.path.join(folder, "same.npy"))
    run = os.path.join(base, "run")
    return ["predict", run, "--data-path", os.path.join(folder, "x.npy"), "--out", os.path.join(folder, "same.npy")]


def _predict_into_the_run(name):
    def make(folder, base):
        run = shutil.copytree(os.path.join(base, "run"), os.path.join(folder, "run"))
        np.save(os.path.join(folder, "x.npy"), np.zeros((2, 2)))
        return ["predict", run, "--data-path", os.path.join(folder, "x.npy"), "--out", os.path.join(run, name)]

    return make


def _fifo(folder, name):
    path = os.path.join(folder, name)
    os.mkfifo(path)
    return path


def _predict_from_a_fifo(folder, base):
    run = os.path.join(base, "run")
    return ["predict", run, "--data-path", _fifo(folder, "x.npy"), "--out", os.path.join(folder, "p.csv")]


def _evaluate_a_fifo(folder, base):
    return ["evaluate", _fifo(folder, "model.npz")]


def _idx_from_a_fifo(folder, base):
    path = _fifo(folder, "t10k-images-idx3-ubyte")
    return ["predict", os.path.join(base, "mnist"), "--data-path", path, "--out", os.path.join(folder, "p.csv")]


def _predict_from_a_device(folder, base):
    """A copy of /dev/zero as the inputs: it never ends (3.8 GB were read before the process died)."""
    path = os.path.join(folder, "zero.npy")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.stat("/dev/zero").st_rdev)
    run = os.path.join(base, "run")
    return ["predict", run, "--data-path", path, "--out", os.path.join(folder, "p.csv")]


def _fit_into_a_command_line_run(folder, base):
    """The library's fit with ``checkpoint_dir`` = a folder of ``funcmlp train``'s: it replaced the
    run's training state, and the run could never be resumed."""
    run = shutil.copytree(os.path.join(base, "run"), os.path.join(folder, "run"))
    return f"""
import jax, numpy as np, optax, funcmlp
mlp = funcmlp.MLP((2, 4, 1), "tanh", output="sigmoid")
x = np.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = np.array([0., 1., 1., 0.])
for resume in (False, True):
    try:
        funcmlp.fit(mlp, mlp.init(jax.random.key(0)), (x, y), loss="binary_cross_entropy", optimizer=optax.sgd(0.1),
                    epochs=1, batch_size=4, key=jax.random.key(1), checkpoint_dir={run!r}, resume=resume)
    except ValueError as error:
        assert "funcmlp train --resume" in str(error), error
        if resume:
            raise
    else:
        raise AssertionError("fit wrote into the run of funcmlp train (resume=%s)" % resume)
"""


CASES = [
    Case(
        "predict over its own table",
        _predict_over_its_own_table,
        ("--out", "test.csv is a file this command reads (--data-path)", "give another file name"),
    ),
    Case(
        "predict over its own inputs under another name",
        _predict_over_its_own_inputs_through_a_link,
        ("same.npy is a file this command reads (--data-path)",),
    ),
    Case(
        "predict over the run's model",
        _predict_into_the_run("model.npz"),
        ("model.npz is the model.npz of the run in", "give another file name"),
    ),
    Case(
        "predict over the run's training state",
        _predict_into_the_run("training_state.npz"),
        ("training_state.npz is the training_state.npz of the run in", "only that run's training"),
    ),
    Case("predict over the run's history", _predict_into_the_run("history.csv"), ("history.csv of the run in",)),
    Case("predict from a FIFO", _predict_from_a_fifo, ("x.npy is a FIFO (named pipe), not a file",), seconds=20),
    Case("evaluate a FIFO", _evaluate_a_fifo, ("model.npz is a FIFO (named pipe), not a file",), seconds=20),
    Case("IDX images from a FIFO", _idx_from_a_fifo, ("is a FIFO (named pipe), not a file",), seconds=20),
    Case(
        "predict from a character device",
        _predict_from_a_device,
        ("zero.npy is a character device, not a file",),
        root_only=True,
        seconds=20,
    ),
    Case(
        "fit into a command line's run",
        _fit_into_a_command_line_run,
        ("holds another run's files", "funcmlp train --resume"),
        kind="python",
    ),
]
