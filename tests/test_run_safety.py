"""Issue 22, items 1 and 2: outputs written only over regular files, and run folders that cannot
be mixed or clobbered (one run at a time, a run id in every file, a manifest written last)."""

import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys

import numpy as np
import pytest

from funcmlp.cli import main
from funcmlp.io import files as files_module
from funcmlp.io.files import atomic_write
from funcmlp.io.run_lock import LOCK_FILE, lock_folder

XOR = ["train", "--data", "xor", "--hidden", "4", "--epochs", "2", "--quiet", "--no-check", "--no-compile-cache"]


def one_error(capsys, argv, match):
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("funcmlp: error: ") and match in err[0], err
    return err[0]


def certified(folder) -> bool:
    """True when ``folder`` has a manifest; then every file it lists has the recorded SHA-256 and
    every file carrying a run id carries the manifest's (asserted)."""
    path = os.path.join(folder, "manifest.json")
    if not os.path.exists(path):
        return False
    with open(path) as handle:
        manifest = json.load(handle)
    for name, digest in manifest["sha256"].items():
        with open(os.path.join(folder, name), "rb") as handle:
            assert hashlib.sha256(handle.read()).hexdigest() == digest, name
    with np.load(os.path.join(folder, "model.npz")) as model, np.load(os.path.join(folder, "training_state.npz")) as st:
        ids = {json.loads(str(model["meta"]))["extra"]["run_id"], json.loads(str(st["meta"]))["options"]["run_id"]}
    with open(os.path.join(folder, "history.json")) as handle:
        ids.add(json.load(handle)["options"]["run_id"])
    assert ids == {manifest["run_id"]}
    return True


@pytest.fixture(scope="module")
def model_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "run"
    assert main([*XOR, "--out", str(out)]) == 0
    x = out.parent / "x.npy"
    np.save(x, np.array([[0.0, 1.0], [1.0, 1.0]]))
    return out, x


def test_predict_never_writes_through_a_device_a_fifo_a_link_or_a_folder(model_run, tmp_path, capsys):
    run, x = model_run
    predict = ["predict", str(run), "--data-path", str(x), "--out"]
    device = tmp_path / "null"
    if os.geteuid() == 0:  # a copy of /dev/null, as the probe made it
        os.mknod(device, 0o666 | stat.S_IFCHR, os.stat("/dev/null").st_rdev)
    else:
        device = "/dev/null"
    one_error(capsys, [*predict, str(device)], f"--out {device} is a character device, not a regular file")
    assert stat.S_ISCHR(os.lstat(device).st_mode)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    one_error(capsys, [*predict, str(fifo)], "is a FIFO (named pipe), not a regular file")
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    kept = tmp_path / "kept.csv"
    kept.write_text("the user's\n")
    link = tmp_path / "link.csv"
    link.symlink_to(kept)
    one_error(capsys, [*predict, str(link)], f"--out {link} is a symbolic link, not a regular file")
    assert link.is_symlink() and kept.read_text() == "the user's\n"
    dangling = tmp_path / "dangling.csv"
    dangling.symlink_to(tmp_path / "nowhere.csv")
    one_error(capsys, [*predict, str(dangling)], "is a symbolic link")
    assert not (tmp_path / "nowhere.csv").exists()
    assert main([*predict, str(kept)]) == 0 and kept.read_text().startswith("ImageId,Label")  # a regular file: replaced
    assert (
        sorted(p.name for p in tmp_path.iterdir())
        == ["dangling.csv", "fifo", "kept.csv", "link.csv", "null"][: 5 if os.geteuid() == 0 else 4]
    )  # no temporary file left behind


def test_a_link_put_at_the_target_during_a_write_is_not_replaced(tmp_path):
    target, elsewhere = tmp_path / "out.csv", tmp_path / "elsewhere.csv"
    elsewhere.write_text("kept")
    with pytest.raises(ValueError, match="is a symbolic link, not a regular file"):
        with atomic_write(target) as handle:
            handle.write("new")
            target.symlink_to(elsewhere)
    assert target.is_symlink() and elsewhere.read_text() == "kept"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.csv", "out.csv"]


def test_one_run_at_a_time_per_folder(tmp_path, capsys):
    folder = tmp_path / "run"
    held = lock_folder(folder)  # another process's run, as far as the lock can tell (its own open file)
    one_error(capsys, [*XOR, "--out", str(folder)], f"--out {folder}: another funcmlp train is writing this folder")
    assert os.listdir(folder) == [LOCK_FILE]
    model = tmp_path / "done"
    assert main([*XOR, "--out", str(model)]) == 0
    shutil.copytree(model, folder, dirs_exist_ok=True)
    (folder / "manifest.json").unlink()  # as a run in progress has it
    one_error(capsys, ["evaluate", str(folder)], "a funcmlp train is writing")  # no manifest yet: being written
    one_error(capsys, [*XOR[:-2], "--resume", str(folder), "--epochs", "4"], "another funcmlp train is writing")
    held.release()
    assert main([*XOR[:-2], "--resume", str(folder), "--epochs", "4"]) == 0
    assert LOCK_FILE not in os.listdir(folder) and certified(folder)


def test_two_runs_started_at_once_into_one_folder_leave_one_certified_run(tmp_path):
    out = tmp_path / "same"
    command = [sys.executable, "-m", "funcmlp.cli", *XOR, "--out", str(out)]  # whichever locks first wins
    environ = {**os.environ, "JAX_PLATFORMS": "cpu"}
    runs = [subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)]
    runs.append(subprocess.Popen(command, env=environ, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    ended = sorted((run.wait(timeout=300), run.stderr.read().strip().splitlines()) for run in runs)
    assert [code for code, _ in ended] == [0, 2], ended
    refusal = ended[1][1]
    assert len(refusal) == 1 and (
        "another funcmlp train is writing this folder" in refusal[0] or "already holds a run" in refusal[0]
    )
    assert certified(out) and LOCK_FILE not in os.listdir(out)


def test_overwrite_replaces_the_run_and_nothing_else(model_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(model_run[0], run)
    (run / "notes.txt").write_text("the user's")
    before = json.loads((run / "manifest.json").read_text())["run_id"]
    one_error(capsys, [*XOR, "--out", str(run)], "replace it: --overwrite")
    one_error(capsys, [*XOR[:-2], "--overwrite", "--out", str(run), "--hidden", "1000000000"], "needs about")
    assert certified(run)  # refused before training: the earlier run is whole
    capsys.readouterr()
    assert main([*XOR[:-2], "--overwrite", "--out", str(run)]) == 0
    assert "--overwrite: removed the earlier run's model.npz, training_state.npz" in capsys.readouterr().out
    assert certified(run) and json.loads((run / "manifest.json").read_text())["run_id"] != before
    assert (run / "notes.txt").read_text() == "the user's"
    one_error(capsys, [*XOR[:-2], "--overwrite", "--resume", str(run)], "--overwrite replaces the run")


def test_resume_refuses_another_runs_training_state(model_run, tmp_path, capsys):
    mine, other = tmp_path / "mine", tmp_path / "other"
    shutil.copytree(model_run[0], mine)
    assert main([*XOR, "--out", str(other)]) == 0
    shutil.copy(other / "training_state.npz", mine / "training_state.npz")
    one_error(capsys, [*XOR[:-2], "--resume", str(mine), "--epochs", "4"], "the folder mixes two runs' files")
    one_error(capsys, ["evaluate", str(mine / "training_state.npz")], "is from another run")
    with np.load(mine / "model.npz") as before:
        assert main(["evaluate", str(mine)]) == 0  # the folder's own model is still whole and certified
        with np.load(model_run[0] / "model.npz") as original:
            assert all(np.array_equal(before[k], original[k]) for k in original.files)


def test_a_runs_model_without_its_manifest_is_refused_with_the_way_on(model_run, tmp_path, capsys):
    run = tmp_path / "run"
    shutil.copytree(model_run[0], run)
    (run / "manifest.json").unlink()
    one_error(capsys, ["evaluate", str(run)], f"{run} has no manifest.json: its run was stopped before it saved")
    assert main(["evaluate", str(run / "training_state.npz")]) == 0  # a checkpoint stands alone
    (run / "manifest.json").write_text('{"format": "funcmlp-run-manifest"}')
    one_error(capsys, ["evaluate", str(run)], "is not a funcmlp run manifest")


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs (not an error funcmlp handles)."""


def test_a_kill_after_any_write_never_leaves_a_certified_mix(model_run, tmp_path, monkeypatch, capsys):
    """A resumed run writes its checkpoints, then model, history, training state and manifest; killed
    right after each of those writes in turn, the folder is never certified unless it is one whole
    run, and what it holds is either refused in one line or read whole."""
    writes = []
    real = files_module._sync_folder
    monkeypatch.setattr(files_module, "_sync_folder", lambda folder: (writes.append(folder), real(folder)))
    run = tmp_path / "counted"
    shutil.copytree(model_run[0], run)
    assert main([*XOR[:-2], "--resume", str(run), "--epochs", "4"]) == 0
    total = len(writes)
    assert total >= 5  # two checkpoints, the model, two history files, the manifest
    for after in range(1, total):
        run = tmp_path / f"killed{after}"
        shutil.copytree(model_run[0], run)
        writes.clear()

        def sync(folder, after=after):
            real(folder)
            writes.append(folder)
            if len(writes) == after:
                raise Killed

        monkeypatch.setattr(files_module, "_sync_folder", sync)
        with pytest.raises(Killed):
            main([*XOR[:-2], "--resume", str(run), "--epochs", "4"])
        monkeypatch.setattr(files_module, "_sync_folder", real)
        assert not certified(run), after  # the manifest is written last: a kill before it leaves none
        capsys.readouterr()
        assert main(["evaluate", str(run)]) == 2 and "--resume" in capsys.readouterr().err
        assert main(["evaluate", str(run / "training_state.npz")]) == 0
        assert main([*XOR[:-2], "--resume", str(run), "--epochs", "4"]) == 0, after  # and it goes on to a whole run
        assert certified(run)


def test_a_full_disk_names_the_file_and_leaves_it_as_it_was(model_run, tmp_path, monkeypatch, capsys):
    run, x = model_run
    out = tmp_path / "p.csv"
    out.write_text("the user's\n")

    def full(handle):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files_module.os, "fsync", full)
    one_error(
        capsys,
        ["predict", str(run), "--data-path", str(x), "--out", str(out)],
        f"error: {out} could not be written (No space left on device); the file there is unchanged: free some space",
    )
    assert out.read_text() == "the user's\n" and sorted(p.name for p in tmp_path.iterdir()) == ["p.csv"]


def test_a_model_copied_out_of_its_run_folder_is_read_on_its_own(model_run, tmp_path, capsys):
    run, x = model_run
    shutil.copy(run / "model.npz", tmp_path / "mine.npz")
    assert main(["evaluate", str(tmp_path / "mine.npz")]) == 0
    assert main(["predict", str(tmp_path / "mine.npz"), "--data-path", str(x), "--out", str(tmp_path / "p.csv")]) == 0


def test_a_lock_released_removes_the_folders_it_made_while_they_are_empty(tmp_path):
    """A run refused after its lock (a memory estimate, a missing peer) leaves no trace: the folders the lock
    created go with it, innermost first, until one holds something; a folder that was there stays."""
    lock_folder(tmp_path / "a" / ".." / "b" / "c", "--out").release()  # normalised: no "a" made on the way
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    lock = lock_folder(tmp_path / "new" / "run", "--out")
    (tmp_path / "new" / "kept.txt").write_text("the user's")
    lock.release()
    assert sorted(p.name for p in (tmp_path / "new").iterdir()) == ["kept.txt"]  # run/ removed, new/ not empty


def test_a_write_refused_by_the_system_keeps_its_kind_of_error(tmp_path, monkeypatch):
    def denied(handle):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files_module.os, "fsync", denied)
    with pytest.raises(PermissionError, match=r"^\S+p\.csv could not be written \(Permission denied\); the file there"):
        with atomic_write(tmp_path / "p.csv") as handle:
            handle.write("x")
    assert list(tmp_path.iterdir()) == []
