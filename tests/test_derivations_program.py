"""`funcmlp derive --format python`: every shipped example's NumPy program, run as a script of its
own, prints the replay's exact numbers and funcmlp.backprop's float64 ones to 1e-12 (of each
quantity's largest entry); the same for networks of every activation and loss kind."""

import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from replayed import EXAMPLES, replayed

from derivations.program import program
from derivations.replay import run
from derivations.spec import OUTPUT, read_spec
from funcmlp import MLP, backprop, params_from_arrays
from funcmlp.cli import main


def run_script(source: str, tmp_path: Path) -> dict:
    """The script run by Python in a process of its own: ``{name: float64 array}`` of what it printed."""
    path = tmp_path / "example.py"
    path.write_text(source)
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    printed = {}
    for line in done.stdout.splitlines():
        name, values = line.split(": ")
        assert name not in printed, f"{name} printed twice"
        printed[name] = np.array([float(v) for v in values.split()])
    return printed


def assert_close(printed: np.ndarray, exact: np.ndarray, what: str) -> None:
    """Within 1e-12 of the quantity's largest entry (1e-300 for an all-zero quantity)."""
    assert printed.shape == exact.shape, f"{what}: {printed.shape} vs {exact.shape}"
    scale = max(np.max(np.abs(exact)), 1e-300)
    assert np.max(np.abs(printed - exact)) <= 1e-12 * scale, f"{what}: {printed} vs {exact}"


def assert_equals_the_replay(printed: dict, derivation) -> None:
    shared = [name for name in derivation.values if name in printed]
    for name in shared:
        exact = np.array([float(sp.N(v, 30)) for v in derivation.values[name]])
        assert_close(printed[name], exact, name)
    core = {name for name in derivation.values if name.split(" ")[0] in ("L", "W^1", "dL/dW^1") or "^" in name[:3]}
    missing = sorted(name for name in core if name not in printed and not name.startswith("delta"))
    assert not missing, f"the script does not print {missing}"
    assert {"L", "s^1", "dL/dW^1"} <= set(shared)


def assert_equals_backprop(printed: dict, ex) -> None:
    """funcmlp's manual backprop (JAX, float64) at the example's numbers: n^k, a^k, L, s^k and dL/dW^k."""
    column, depth = ex.convention == "column", len(ex.weights)
    arrays = [
        (np.array(W, float), np.zeros(len(W[0])) if b is None else np.array(b, float))
        for W, b in zip(ex.weights, ex.biases, strict=True)
    ]
    mlp = MLP((len(ex.x[0]), *(W.shape[1] for W, _ in arrays)), [str(a) for a in ex.activations])
    result = backprop(
        mlp, params_from_arrays(arrays, dtype=jnp.float64), np.array(ex.x, float), np.array(ex.y, float), ex.loss
    )
    shown = lambda rows: np.asarray(rows).T.ravel() if column else np.asarray(rows).ravel()
    assert_close(printed["L"], np.array([float(result.loss)]), "L")
    for k in range(1, depth + 1):
        assert_close(printed[f"n^{k}"], shown(result.trace.n[k - 1]), f"n^{k}")
        assert_close(printed[f"a^{k}"], shown(result.trace.a[k - 1]), f"a^{k}")
        assert_close(printed[f"s^{k}"], shown(result.sensitivities[k - 1]), f"s^{k}")
        assert_close(printed[f"dL/dW^{k}"], shown(result.grads[k - 1].W), f"dL/dW^{k}")


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_shipped_examples_program_prints_the_replay_and_backprop(path, tmp_path):
    ex, derivation = replayed(path)
    printed = run_script(program(ex, derivation), tmp_path)
    assert_equals_the_replay(printed, derivation)
    if ex.loss != OUTPUT and ex.l2 is None:
        assert_equals_backprop(printed, ex)
    if ex.steps > 1:
        assert f"L after step {ex.steps}" in printed and f"W^1 after {ex.steps} steps" in printed


NETWORKS = {
    "softmax output, cross-entropy, a batch in columns": dict(
        convention="column",
        activations=["tanh", "softmax"],
        loss="cross_entropy",
        x=[["0.5", "-1"], ["1.5", "0.25"]],
        y=[["1", "0", "0"], ["0", "0.3", "0.7"]],
        layers=[
            {"W": [["0.1", "-0.2"], ["0.3", "0.4"]], "b": ["0.05", "-0.1"]},
            {"W": [["0.2", "-0.5"], ["0.6", "0.1"], ["-0.3", "0.25"]], "b": ["0", "0.1", "-0.1"]},
        ],
    ),
    "sigmoid with binary cross-entropy, paired on the net input": dict(
        activations=["relu", "sigmoid"],
        loss="binary_cross_entropy",
        x=[["1", "2"], ["-1", "0.5"]],
        y=[["1"], ["0"]],
        layers=[{"W": [["0.5", "-1"], ["0.25", "0.75"]], "b": ["0.1", "0"]}, {"W": [["1.5"], ["-0.5"]], "b": ["0.2"]}],
    ),
    "gelu, elu and huber": dict(
        activations=["gelu", "elu(0.5)", "identity"],
        loss="huber(0.5)",
        x=[["0.3", "-0.7"]],
        y=[["2", "-1"]],
        layers=[
            {"W": [["0.5", "-1"], ["0.25", "0.75"]], "b": ["0.1", "0"]},
            {"W": [["1", "-2"], ["0.5", "0.5"]], "b": ["-1", "0"]},
            {"W": [["0.3", "0.2"], ["-0.4", "0.1"]], "b": ["0", "0"]},
        ],
    ),
    "leaky ReLU at its kink, softplus, absolute error": dict(
        activations=["leaky_relu(0.2)", "softplus"],
        loss="absolute_error",
        x=[["1", "-1"]],
        y=[["3"]],
        layers=[{"W": [["1", "0.5"], ["1", "2"]], "b": ["0", "0.5"]}, {"W": [["1"], ["-1"]], "b": ["0"]}],
    ),
    "Poisson and hinge outputs": dict(
        activations=["sigmoid", "identity"],
        loss="poisson",
        x=[["1", "2"]],
        y=[["3", "0"]],
        layers=[{"W": [["0.1", "0.2"], ["0.3", "-0.4"]], "b": ["0", "0"]}, {"W": [["1", "0"], ["0", "1"]]}],
    ),
    "hinge": dict(
        activations=["tanh", "identity"],
        loss="hinge",
        x=[["1", "2"], ["0", "1"]],
        y=[["1"], ["0"]],
        layers=[{"W": [["0.1", "0.2"], ["0.3", "-0.4"]], "b": ["0", "0"]}, {"W": [["1"], ["0.5"]], "b": ["0.1"]}],
    ),
    "softmax logits, momentum and L2, three steps": dict(
        activations=["relu", "identity"],
        loss="softmax_cross_entropy",
        learning_rate="0.5",
        momentum="0.9",
        l2="0.01",
        steps=3,
        x=[["1", "2"]],
        y=[["0", "1"]],
        layers=[
            {"W": [["0.5", "-1"], ["0.25", "0.75"]], "b": ["0.1", "0"]},
            {"W": [["1", "-1"], ["0.5", "0.5"]], "b": ["0", "0"]},
        ],
    ),
}


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_kind_of_network_writes_a_program_that_prints_its_numbers(name, tmp_path):
    spec = {"learning_rate": "0.1", **NETWORKS[name]}
    ex = read_spec(spec)
    derivation = run(ex)
    printed = run_script(program(ex, derivation), tmp_path)
    assert_equals_the_replay(printed, derivation)
    if ex.l2 is None:
        assert_equals_backprop(printed, ex)


def test_the_command_line_writes_the_program(capsys):
    path = Path("derivations/examples/hmkcode_221.toml")
    assert main(["derive", "--example", str(path), "--format", "python"]) == 0
    assert capsys.readouterr().out == program(*replayed(path))


def test_an_online_example_is_refused_with_the_fix():
    ex = read_spec(
        {
            "activations": ["identity"],
            "loss": "half_sse",
            "learning_rate": "0.1",
            "update": "online",
            "x": [["1"], ["2"]],
            "y": [["0"], ["1"]],
            "layers": [{"W": [["1"]], "b": ["0"]}],
        }
    )
    with pytest.raises(ValueError, match='update = "online" takes one step per example; .*remove update = "online"'):
        program(ex, run(ex))


def test_python_format_of_a_derivation_that_is_not_a_network_is_refused(capsys):
    assert main(["derive", "sigmoid", "--format", "python"]) == 2
    assert "--format python is for a network worked example" in capsys.readouterr().err
