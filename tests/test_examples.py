"""Every script in examples/ runs in its fast mode."""

import runpy
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


# Each script's main(argv) runs in a new Python process, as a user runs it, its return value sent back as JSON: in the
# suite's long-lived xdist workers, after about a thousand tests, XLA's CPU compiler and its executable serialisation
# segfaulted inside libgcc_s's unwinder (jax 0.10.2; five full runs, always in an example run in the worker).
_IN_A_NEW_PROCESS = """
import json, runpy, sys
import numpy as np
result = runpy.run_path(sys.argv[1], run_name=sys.argv[2])["main"](sys.argv[4:])
plain = lambda value: value.tolist() if isinstance(value, (np.ndarray, np.generic)) else str(value)
with open(sys.argv[3], "w") as handle:
    json.dump(result, handle, default=plain)
"""


def run_script(path, *args, x64=True, run_name="example"):
    """``main(args)`` of the script at ``path`` in a new process; (what it returned, its standard output). ``x64``:
    JAX's 64-bit mode on, as in the suite's own processes (conftest.py), or JAX's default configuration."""
    import json
    import os
    import subprocess
    import tempfile

    environment = {key: value for key, value in os.environ.items() if key != "JAX_ENABLE_X64"}
    if x64:
        environment["JAX_ENABLE_X64"] = "1"
    with tempfile.TemporaryDirectory() as folder:
        saved = os.path.join(folder, "result.json")
        finished = subprocess.run(
            [sys.executable, "-c", _IN_A_NEW_PROCESS, str(path), run_name, saved, *args],
            capture_output=True,
            text=True,
            timeout=600,
            env=environment,
        )
        assert finished.returncode == 0, finished.stderr[-5000:]
        with open(saved) as handle:
            return json.load(handle), finished.stdout


def run_example(name, *args):
    """The example's main(args) in a new process: (what it returned, its standard output)."""
    return run_script(EXAMPLES / name, *args)


# The scripts that run in JAX's 64-bit mode share one new process (each Python process and its import of JAX, funcmlp
# and matplotlib costs about 2.5 s of CPU): each script's main(argv) in turn, its standard output (file descriptor 1,
# its subprocesses' output too) in a file of its own, its value or its traceback recorded after it.
_SCRIPTS_IN_ONE_NEW_PROCESS = """
import json, os, runpy, sys, traceback
import numpy as np
plain = lambda value: value.tolist() if isinstance(value, (np.ndarray, np.generic)) else str(value)
folder, results = sys.argv[1], {}
for name, path, run_name, args in json.loads(sys.argv[2]):
    with open(os.path.join(folder, name + ".stdout"), "w") as captured:
        sys.stdout.flush()
        kept = os.dup(1)
        os.dup2(captured.fileno(), 1)
        try:
            results[name] = {"returned": runpy.run_path(path, run_name=run_name)["main"](args)}
        except BaseException:
            results[name] = {"error": traceback.format_exc()}
        finally:
            sys.stdout.flush()
            os.dup2(kept, 1)
            os.close(kept)
    with open(os.path.join(folder, "results.json"), "w") as handle:
        json.dump(results, handle, default=plain)
"""

# the test that reads it: (the script, its arguments; {out} is that test's own folder)
_SHARED = {
    "test_logic_gates": (EXAMPLES / "logic_gates.py", "--fast", "--out", "{out}"),
    "test_house_price": (EXAMPLES / "house_price.py", "--fast", "--out", "{out}"),
    "test_digits": (EXAMPLES / "digits.py", "--fast", "--out", "{out}"),
    "test_optimizers": (EXAMPLES / "optimizers.py", "--fast", "--out", "{out}"),
    "test_gradients": (EXAMPLES / "gradients.py", "--fast", "--out", "{out}"),
    "test_critical_points": (EXAMPLES / "critical_points.py", "--fast"),
    "test_research_script": (EXAMPLES / "research_script.py", "--fast"),
    "test_benchmark_suite_quick": (EXAMPLES.parent / "benchmarks" / "run.py", "--quick", "--out", "{out}/RESULTS.md"),
    "test_estimator_benchmark_quick": (
        EXAMPLES.parent / "benchmarks" / "estimators.py",
        "--quick",
        "--out",
        "{out}/ESTIMATORS.md",
    ),
}


@pytest.fixture(scope="session")
def shared_run(request, tmp_path_factory, worker_id):
    """``result(name)``: (what the script of ``_SHARED[name]`` returned, its standard output, its folder): the scripts
    of this run's selected tests (all of them in a whole run) run once per test run in one new process in JAX's
    64-bit mode (as ``run_script(..., x64=True)`` runs one): the first xdist worker to need them runs the process
    under a lock in the folder the workers share, the others wait and read what it wrote."""
    import fcntl
    import json
    import os
    import subprocess

    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    folder = shared / "examples_in_one_process"
    with open(shared / "examples_in_one_process.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "finished.json").exists():
            folder.mkdir(exist_ok=True)
            jobs = []
            selected = {item.originalname for item in request.session.items if item.path == Path(__file__)}
            for name, (path, *args) in _SHARED.items():
                if name not in selected:
                    continue
                (folder / name).mkdir()
                jobs.append((name, str(path), "example", [arg.format(out=folder / name) for arg in args]))
            environment = {key: value for key, value in os.environ.items() if key != "JAX_ENABLE_X64"}
            environment["JAX_ENABLE_X64"] = "1"
            finished = subprocess.run(
                [sys.executable, "-c", _SCRIPTS_IN_ONE_NEW_PROCESS, str(folder), json.dumps(jobs)],
                capture_output=True,
                text=True,
                timeout=1800,
                env=environment,
            )
            (folder / "finished.json").write_text(json.dumps([finished.returncode, finished.stderr[-5000:]]))
    returncode, stderr = json.loads((folder / "finished.json").read_text())
    results = json.loads((folder / "results.json").read_text()) if (folder / "results.json").exists() else {}

    def result(name):
        assert name in results, f"the process ended (exit {returncode}) before {name} finished: {stderr}"
        assert "error" not in results[name], results[name]["error"][-5000:]
        return results[name]["returned"], (folder / f"{name}.stdout").read_text(), folder / name

    return result


def test_benchmark_symbolic_quick(monkeypatch, capsys):
    script = EXAMPLES.parent / "benchmarks" / "symbolic.py"
    monkeypatch.setattr(sys, "argv", [str(script), "--quick"])
    runpy.run_path(str(script), run_name="benchmarks")["main"](["--quick"])
    out = capsys.readouterr().out
    assert "| 3-4-2 | 26 |" in out and "jacobian / graph" in out


def test_logic_gates(shared_run):
    _, out, tmp_path = shared_run("test_logic_gates")
    assert "perceptron rule on AND: converged" in out and "perceptron rule on XOR: no convergence" in out
    assert "hand-set hard-limit XOR network: [0, 1, 1, 0]" in out
    assert "predictions [0, 1, 1, 0]" in out
    assert (tmp_path / "decision_boundaries.png").stat().st_size > 10_000


def test_house_price(shared_run):
    _, out, tmp_path = shared_run("test_house_price")
    assert "n^2 = [-3.5208, 5.989]" in out and out.count("matches the exact update") == 3
    assert (tmp_path / "house_price_loss.png").exists()


def test_digits(shared_run):
    _, out, tmp_path = shared_run("test_digits")
    accuracy = float(out.split("test accuracy ")[1].split()[0])
    assert accuracy > 0.9  # 3 epochs
    assert {"model.npz", "curves.png", "confusion.png"} <= {p.name for p in tmp_path.iterdir()}


def test_optimizers(shared_run):
    _, out, tmp_path = shared_run("test_optimizers")
    for name in ("sgd", "momentum", "adagrad", "rmsprop", "adam", "radam", "momentum + warmup", "momentum + cosine"):
        assert f" {name} " in out
    assert (tmp_path / "optimizers.png").exists()


def test_gradients(shared_run):
    norms, _, tmp_path = shared_run("test_gradients")
    sigmoid = norms["sigmoid, glorot"]
    assert sigmoid[0] / sigmoid[-1] < 1e-3  # vanishing: each sigmoid layer scales the sensitivity by at most 1/4
    assert min(norms["relu, normal(0.5) (too large)"]) > 100 * max(norms["relu, he"])  # exploding
    assert (tmp_path / "gradient_norms.png").exists()


def test_critical_points(shared_run):
    _, out, _ = shared_run("test_critical_points")
    assert "a^2 - b^2     at (0, 0): eigenvalues [-2.0, 2.0] -> saddle point" in out
    assert "-> local minimum" in out and "-> local maximum" in out
    assert out.count("saddle point") == 2  # the quadratic and the zero-weight network on OR


def test_research_script(shared_run):
    _, out, _ = shared_run("test_research_script")
    worst = float(out.split("worst relative error ")[1].split()[0])
    assert worst < 1e-5  # float32
    assert float(out.split("of a mesh vs one: relative difference ")[1].split()[0]) < 1e-5
    start, final = (float(v) for v in out.split("Huber loss ")[-1].split(" -> "))
    assert final < start


def test_benchmark_suite_quick(shared_run):
    """benchmarks/run.py in its quick mode: the table with its machine line, written atomically (no timing asserted)."""
    returned, out, tmp_path = shared_run("test_benchmark_suite_quick")
    out_file = tmp_path / "RESULTS.md"
    assert returned == 0
    assert (
        out.startswith("Machine: ")
        and "| step 16-8-4, batch 8 | manual backprop step |" in out
        and "| second fit call, its optimizer written again |" in out
    )
    assert "| symbolic: derive check 3-4-2 tanh sse | time per parameter |" in out
    assert (
        "| worked example: 100 steps of Mazur's 2-2-2 sigmoid network (50 digits) | derivations.examples.iterate |"
        in out
    )
    assert "| 16-8-4 ReLU, batch 8 | clipped-gradient SGD step (one pass) |" in out
    assert "| 16-8-4 ReLU, batch 8 | diag_hessian (exact) | " in out and "temporary memory of the compiled" in out
    assert out_file.read_text().count("| ") > 20 and sorted(p.name for p in tmp_path.iterdir()) == ["RESULTS.md"]


def test_digits_writes_a_kaggle_submission_from_a_saved_model(tmp_path):
    """--model with --kaggle-test predicts with a model trained before (no training): funcmlp predict."""
    import jax
    import numpy as np

    from funcmlp import MLP, save_model

    mlp = MLP((784, 8, 10), "relu", output="identity")
    save_model(
        tmp_path / "model.npz",
        mlp,
        mlp.init(jax.random.key(0)),
        extra={"data": "mnist", "loss": "softmax_cross_entropy"},
    )
    pixels = np.random.default_rng(1).integers(0, 256, size=(3, 784))
    (tmp_path / "test.csv").write_text(
        ",".join(f"pixel{i}" for i in range(784)) + "\n" + "\n".join(",".join(map(str, r)) for r in pixels) + "\n"
    )
    out = tmp_path / "run"
    returned, printed = run_example(
        "digits.py",
        "--model",
        str(tmp_path / "model.npz"),
        "--kaggle-test",
        str(tmp_path / "test.csv"),
        "--out",
        str(out),
    )
    assert returned == 0
    rows = (out / "submission.csv").read_text().splitlines()
    assert rows[0] == "ImageId,Label" and [r.split(",")[0] for r in rows[1:]] == ["1", "2", "3"]
    assert "test accuracy" not in printed  # nothing was trained


def test_estimator_benchmark_quick(shared_run):
    """benchmarks/estimators.py in its quick mode: funcmlp.sklearn against scikit-learn, a table (no timing asserted)."""
    returned, out, tmp_path = shared_run("test_estimator_benchmark_quick")
    out_file = tmp_path / "ESTIMATORS.md"
    assert returned == 0
    assert out.startswith("Machine: ") and "| digits: Perceptron (one-vs-rest) | second fit |" in out
    assert "| digits: GridSearchCV of MLPClassifier (8,), 2 x 2 grid, cv=3, then the refit | the whole search" in out
    assert out_file.read_text().count("\n| digits") == 9


def test_first_call_benchmark_measures_in_a_new_process():
    """benchmarks/first_call.py: a case's code runs in a new process and reports its seconds and test
    accuracy (the quick fit of funcmlp, and the compile case, which has no accuracy; no timing asserted)."""
    module = runpy.run_path(str(EXAMPLES.parent / "benchmarks" / "first_call.py"), run_name="benchmarks")
    seconds, accuracy = module["in_new_process"](module["FIT"], True)
    assert seconds > 0 and 0.0 <= accuracy <= 1.0
    seconds, accuracy = module["in_new_process"](module["COMPILE"], True)
    assert seconds > 0 and accuracy != accuracy


def test_beyond_gradient():
    """examples/beyond_gradient.py --fast: DP-SGD clips (max_norm is half the median norm at initialisation) and its
    noise costs accuracy; EWC prints both task-A accuracies; the gradient noise scale is positive, finite and grows;
    the Monte-Carlo GGN diagonal is near the exact one and its error falls about as 1/sqrt(draws)."""
    import math

    import numpy as np

    # JAX's default configuration (float32, no 64-bit mode), as a user runs it
    result, out = run_script(EXAMPLES / "beyond_gradient.py", "--fast", x64=False)
    private = result["dp_sgd"]
    assert private["max_norm"] == 0.5 * private["median_norm"] > 0
    fractions = private["clipped_fraction"]
    assert len(fractions) == 3 and all(0 <= f <= 1 for f in fractions)
    assert fractions[0] > 0.25  # its first steps clip more than half the examples, by the choice of max_norm
    assert f"{fractions[0]:16.3f}" in out.split("clipped fraction")[1].splitlines()[1]
    assert private["plain_test_accuracy"] > 0.9 and 0.5 < private["dp_test_accuracy"] < private["plain_test_accuracy"]
    assert "privacy budget: not computed here" in out
    ewc = result["ewc"]
    assert f"task-A test accuracy: plain {ewc['plain_a']:.4f}, EWC {ewc['ewc_a']:.4f}" in out
    assert all(0 <= ewc[k] <= 1 for k in ("plain_a", "ewc_a", "plain_b", "ewc_b"))
    scales = result["noise_scale"]
    assert len(scales) == 3 and all(math.isfinite(s) and s > 0 for s in scales) and scales[-1] > scales[0]
    assert result["replayed_accuracy"] == private["plain_test_accuracy"]  # train_epochs replays fit's run
    curvature = result["curvature"]
    assert set(curvature["mc_relative_difference"]) == {"W1", "b1", "W2", "b2"}
    # 8 label draws per example over 1,079 examples: 0.21 here, 0.17-0.23 with other keys (measured); an
    # estimate 0.5 away would be biased, not noisy
    few, many = curvature["mc_whole"]
    assert 0 < few < 0.5 and all(0 < d < 1 for d in curvature["mc_relative_difference"].values())
    assert 0.2 < many / few < 0.55  # 8 times the draws: 1/sqrt(8) = 0.354 expected
    assert curvature["kflr_shapes"] == [[[65, 65], [64, 64]], [[65, 65], [10, 10]]]
    norms = np.asarray(curvature["norms"])
    assert norms.shape == (1079,) and (norms >= 0).all() and norms.max() > 10 * np.median(norms)
    assert "pulling hardest (row: label -> predicted, norm): " in out
