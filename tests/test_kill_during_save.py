"""Issue 22, Done: a kill-during-save loop. A writer saving a run's files as ``funcmlp train`` does
(training state, model, history, manifest last) is killed with SIGKILL at random moments of its
saves (tests/save_writer.py); in every folder a kill left, only the killed writer's temporary
files are left (each writer's lock removed the earlier ones), a folder whose manifest holds
(the SHA-256 of every file as recorded, checked here with hashlib) holds one epoch's whole set
(checked with numpy and json), and any other, ``evaluate`` refuses in one line saying how to go
on."""

import hashlib
import json
import os
import subprocess
import sys

import numpy as np

from funcmlp.cli import main

KILLS = 10
WRITER = os.path.join(os.path.dirname(__file__), "save_writer.py")


def _epoch_of_model(path) -> int:
    """The epoch a model file holds: every entry of its params is that epoch (and so is its record)."""
    with np.load(path) as model:
        values = {float(v) for name in model.files if name != "meta" for v in np.ravel(model[name])}
        record = json.loads(str(model["meta"]))["extra"]
    assert len(values) == 1 and record["epoch"] == values.pop(), record
    return record["epoch"]


def _epoch_of_state(path) -> int:
    with np.load(path) as state:
        header = json.loads(str(state["meta"]))
        values = {float(v) for name in state.files if name.startswith("layer") for v in np.ravel(state[name])}
    assert values == {header["epoch"]} and len(header["history"]["train_loss"]) == header["epoch"]
    return header["epoch"]


def test_no_kill_during_a_save_leaves_a_certified_mix(tmp_path, capsys):
    folder = tmp_path / "run"
    subprocess.run([sys.executable, WRITER, str(folder), str(KILLS), "22"], check=True, timeout=300)
    certified = 0
    for kill in range(KILLS):
        left = tmp_path / f"run-{kill}"
        writers = {name.split("-")[1] for name in os.listdir(left) if name.startswith(".tmp-")}
        assert len(writers) <= 1, (
            writers
        )  # half-written files of the killed writer only: each writer removed older ones
        if not _certified(left):
            capsys.readouterr()
            assert main(["evaluate", str(left)]) == 2, kill
            err = capsys.readouterr().err.strip().splitlines()
            assert len(err) == 1 and "funcmlp train --resume" in err[0], err
            continue
        certified += 1
        epoch = _epoch_of_model(left / "model.npz")
        assert _epoch_of_state(left / "training_state.npz") == epoch, kill
        history = json.loads((left / "history.json").read_text())
        assert len(history["history"]) == epoch and len((left / "history.csv").read_text().splitlines()) == epoch + 1
    assert certified >= 1  # most kills land after a manifest was written; a loop certifying nothing checks nothing


def _certified(folder) -> bool:
    """A manifest is there, lists the run's four files and each has the SHA-256 it records."""
    path = folder / "manifest.json"
    if not path.exists():
        return False
    recorded = json.loads(path.read_text())["sha256"]
    assert set(recorded) == {"model.npz", "history.csv", "history.json", "training_state.npz"}
    return all(hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest for name, digest in recorded.items())
