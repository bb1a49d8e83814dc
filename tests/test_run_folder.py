"""Issue 17, item 3: files named for what they hold. Every folder ``funcmlp train --out`` leaves
(finished, diverged, interrupted, killed) holds a model ``evaluate`` and ``predict`` take, and
they say what they found; ``--resume`` applies the options that may change, says so, and
refuses the others."""

import os

import numpy as np
import pytest

import funcmlp
from funcmlp.cli import main


def lines(text: str) -> list[str]:
    return text.strip().splitlines()


def test_a_diverged_run_leaves_its_last_finite_model_and_says_how_to_go_on(tmp_path, capsys):
    out = str(tmp_path / "run")
    argv = [
        "train",
        "--data",
        "synthetic_regression",
        "--hidden",
        "16",
        "--optimizer",
        "sgd",
        "--lr",
        "1.5",
        "--schedule",
        "constant",
        "--epochs",
        "20",
        "--out",
        out,
        "--quiet",
        "--no-check",
    ]
    assert main(argv) == 2
    err = lines(capsys.readouterr().err)
    assert len(err) == 1 and err[0].startswith("funcmlp: error: training diverged at epoch ")
    assert err[0].endswith(
        f"the last finite model is saved in {out}/model.npz; go on with a lower learning rate: "
        f"funcmlp train --resume {out} --lr 0.15"
    )
    assert sorted(os.listdir(out)) == [
        "history.csv",
        "history.json",
        "manifest.json",
        "model.npz",
        "training_state.npz",
    ]
    assert main(["evaluate", out]) == 0
    first = lines(capsys.readouterr().out)[0]
    assert first.startswith(f"{out}/model.npz is a model (epoch ") and first.endswith(
        " of 20; training diverged), evaluating it"
    )
    # the state is the last whole epoch's, truly: going on at the same rate diverges at the same step again
    assert main(["train", "--resume", out, "--quiet", "--no-check"]) == 2
    again = lines(capsys.readouterr().err)
    assert again[0].split(":")[:3] == err[0].split(":")[:3]  # "training diverged at epoch E, step S: the ..."
    main(["train", "--resume", out, "--lr", "0.01", "--no-check"])
    printed = lines(capsys.readouterr().out)
    assert printed[1] == "resume  --lr 0.01 takes effect (the run had 1.5)"
    assert "sgd lr 0.01 (constant)" in printed[4]


def test_a_diverged_model_is_described_as_such(tmp_path, capsys):
    out = str(tmp_path)
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
        out,
        "--quiet",
    ]
    assert main(argv) == 2
    capsys.readouterr()
    assert main(["evaluate", out]) == 0
    assert (
        lines(capsys.readouterr().out)[0]
        == f"{out}/model.npz is a model (epoch 0 of 3; training diverged), evaluating it"
    )


def test_an_interrupted_run_leaves_the_model_of_its_last_whole_epoch(tmp_path, capsys, monkeypatch):
    fit = funcmlp.fit

    def interrupted_at_epoch_3(*args, callback=None, **kwargs):
        def stop(epoch, history):
            if epoch == 3:
                raise KeyboardInterrupt  # Ctrl-C

        return fit(*args, callback=stop, **kwargs)

    monkeypatch.setattr(funcmlp, "fit", interrupted_at_epoch_3)
    out = str(tmp_path)
    assert main(["train", "--data", "xor", "--epochs", "10", "--out", out, "--quiet"]) == 130
    assert lines(capsys.readouterr().err) == [
        f"funcmlp: interrupted; the model of epoch 3 is saved in {out}/model.npz; "
        f"go on with: funcmlp train --resume {out}"
    ]
    monkeypatch.setattr(funcmlp, "fit", fit)
    assert main(["evaluate", out]) == 0
    assert (
        lines(capsys.readouterr().out)[0]
        == f"{out}/model.npz is a model (epoch 3 of 10; training interrupted), evaluating it"
    )
    with open(os.path.join(out, "history.csv")) as handle:
        assert len(handle.read().splitlines()) == 4  # header and three epochs


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("run")
    assert main(["train", "--data", "xor", "--epochs", "2", "--out", str(folder), "--no-check", "--quiet"]) == 0
    return folder


def test_evaluate_and_predict_take_a_folder_or_either_file_and_say_which(run, tmp_path, capsys):
    killed = tmp_path / "killed"  # as SIGKILL leaves a run: the training state, no model yet
    killed.mkdir()
    (killed / "training_state.npz").write_bytes((run / "training_state.npz").read_bytes())
    np.save(tmp_path / "x.npy", np.array([[0.0, 1.0], [1.0, 1.0]]))
    capsys.readouterr()
    for path, first in [
        (run, f"{run}/model.npz is a model (epoch 2 of 2), evaluating it"),
        (run / "model.npz", f"{run}/model.npz is a model (epoch 2 of 2), evaluating it"),
        (
            run / "training_state.npz",
            f"{run}/training_state.npz is a training state (epoch 2 of 2), evaluating its params",
        ),
        (killed, f"{killed}/training_state.npz is a training state (epoch 2 of 2), evaluating its params"),
    ]:
        assert main(["evaluate", str(path)]) == 0
        assert lines(capsys.readouterr().out)[0] == first
        assert (
            main(["predict", str(path), "--data-path", str(tmp_path / "x.npy"), "--out", str(tmp_path / "p.csv")]) == 0
        )
        assert lines(capsys.readouterr().out)[0] == first.replace("evaluating", "predicting with")
        assert lines((tmp_path / "p.csv").read_text())[0] == "ImageId,Label"


def test_resume_applies_the_options_that_may_change_and_reports_each(run, tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    (folder / "training_state.npz").write_bytes((run / "training_state.npz").read_bytes())
    capsys.readouterr()
    argv = [
        "train",
        "--resume",
        str(folder),
        "--epochs",
        "4",
        "--lr",
        "0.01",
        "--schedule",
        "cosine",
        "--patience",
        "2",
        "--hidden",
        "8",
        "--no-check",
    ]  # --hidden 8 is the run's own: no change
    assert main(argv) == 0
    printed = lines(capsys.readouterr().out)
    assert printed[:5] == [
        f"resume  {folder}/training_state.npz: epoch 2 of 4 done, going on",
        "resume  --epochs 4 takes effect (the run had 2)",
        "resume  --lr 0.01 takes effect (the run had 0.05)",
        "resume  --schedule cosine takes effect (the run had constant)",
        "resume  --patience 2 takes effect (the run had none)",
    ]
    assert "adam lr 0.01 (cosine), 4 epochs" in printed[7]
    with open(folder / "history.csv") as handle:
        assert len(handle.read().splitlines()) == 5


def test_resume_refuses_options_that_cannot_change_naming_each(run, capsys):
    assert (
        main(["train", "--resume", str(run), "--hidden", "16", "--loss", "mse", "--batch-size", "2", "--float64"]) == 2
    )
    assert lines(capsys.readouterr().err) == [
        f"funcmlp: error: --resume {run}: --batch-size 2 (the run's: 4); --float64 True (the run's: False); "
        "--hidden 16 (the run's: 8); --loss mse (the run's: binary_cross_entropy) cannot change in a run that goes on; "
        "leave them out, or start a new run with --out ANOTHER_DIR"
    ]
    with np.load(run / "model.npz") as before:
        kept = {name: before[name] for name in before.files if name != "meta"}
    assert main(["train", "--resume", str(run), "--no-check"]) == 0  # a finished run: says so, trains nothing
    out = lines(capsys.readouterr().out)
    assert out[0] == (
        f"resume  {run}/training_state.npz: the run has done all its 2 epochs: nothing to train, its files are "
        "written again (to train on: --epochs 4)"
    )
    with np.load(run / "model.npz") as after:
        assert all(np.array_equal(after[name], value) for name, value in kept.items())
    assert main(["train", "--data", "xor", "--out", str(run)]) == 2
    assert lines(capsys.readouterr().err) == [
        f"funcmlp: error: --out {run} already holds a run (model.npz, training_state.npz, history.csv, history.json, "
        f"manifest.json); go on with it: funcmlp train --resume {run}, replace it: --overwrite, or give a new folder"
    ]
    assert main(["train", "--resume", str(run), "--out", str(run / "elsewhere")]) == 2
    assert f"--resume {run} writes into {run}; leave out --out {run}/elsewhere" in capsys.readouterr().err
