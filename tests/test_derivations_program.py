"""`funcmlp derive --format python`: every shipped example's NumPy program, run as a script of its
own, prints the replay's exact numbers and funcmlp.backprop's float64 ones to 1e-12 (of each
quantity's largest entry); the same for networks of every activation and loss kind."""

import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from replayed import EXAMPLES, NETWORKS, ONLINE, replayed, replayed_network

from derivations.examples.replay import run
from derivations.examples.spec import OUTPUT, read_spec
from derivations.formats.program import program
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
    """The script prints every quantity of the replay (a text's delta^k = -s^k aside, and dL/da^0 also
    where the replay does not show it), each equal to the replay's."""
    expected = {name for name in derivation.values if not name.startswith("delta^")}
    assert set(printed) - {"dL/da^0"} == expected - {"dL/da^0"}, set(printed) ^ expected
    for name in expected:
        exact = np.array([float(sp.N(v, 30)) for v in derivation.values[name]])
        assert_close(printed[name], exact, name)


def assert_equals_backprop(printed: dict, ex) -> None:
    """funcmlp's manual backprop (JAX, float64) at the example's numbers: n^k, a^k, L, s^k and dL/dW^k (online,
    those of step 1: the first example's)."""
    column, depth = ex.convention.name == "column", len(ex.weights)
    if ex.update == "online":
        ex = replace(ex, x=ex.x[:1], y=ex.y[:1])
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
        unit, units = ("pass", "passes") if ex.update == "online" else ("step", "steps")
        assert f"L after {unit} {ex.steps}" in printed and f"W^1 after {ex.steps} {units}" in printed


@pytest.mark.parametrize("name", list(NETWORKS))
def test_every_kind_of_network_writes_a_program_that_prints_its_numbers(name, tmp_path):
    ex, derivation = replayed_network(name)
    printed = run_script(program(ex, derivation), tmp_path)
    assert_equals_the_replay(printed, derivation)
    if ex.l2 is None:
        assert_equals_backprop(printed, ex)


def test_the_command_line_writes_the_program(capsys):
    path = Path("derivations/examples/hmkcode_221.toml")
    assert main(["derive", "--example", str(path), "--format", "python"]) == 0
    assert capsys.readouterr().out == program(*replayed(path))


@pytest.mark.parametrize("convention", ["row", "column"])
def test_an_online_program_with_momentum_l2_and_a_starting_velocity_prints_the_replay(convention, tmp_path):
    """Online, 3 examples, 3 passes with momentum, L2, thresholds, a kept W^1 and a starting velocity: step 1 (the
    first example's) in full, then each example's loss and parameters, the mean loss after each pass, the last ones."""
    spec = {
        **ONLINE,
        "convention": convention,
        "activations": ["tanh", "identity"],
        "x": [["1", "0.5"], ["2", "-1"], ["-0.5", "1"]],
        "y": [["0"], ["1"], ["0.5"]],
        "momentum": "0.5",
        "l2": "0.1",
        "steps": 3,
        "layers": [
            {"W": [["0.5", "-0.25"], ["0.75", "1"]], "b": ["0.1", "0"], "fixed": ["W"]},
            {"W": [["1"], ["-0.5"]] if convention == "row" else [["1", "-0.5"]], "theta": ["0.2"]},
        ],
    }
    spec["layers"][1]["velocity"] = {"W": [["0.1"], ["0"]] if convention == "row" else [["0.1", "0"]]}
    ex = read_spec(spec)
    derivation = run(ex)
    printed = run_script(program(ex, derivation), tmp_path)
    assert_equals_the_replay(printed, derivation)
    assert "L (example 3)" in printed and "theta^2 after 3 passes" in printed and "v_W^2 before step 1" in printed


def test_the_and_delta_rule_program_loops_over_the_four_examples_for_three_passes_to_w12(tmp_path):
    """The slides' delta rule as the program writes it: step 1 on p0, then a loop over the four examples, one step
    each, three passes, ending at the replay's W(12) = (-0.50149, 0.637344, 0.773197), and at W(12) of a delta rule
    W + 0.3 (d - W p) p written here."""
    ex, derivation = replayed(Path("derivations/examples/and_delta_rule.toml"))
    source = program(ex, derivation)
    assert "for e in range(1, 4):" in source and "for t in range(1, 3 + 1):" in source and "for e in range(4)" in source
    printed = run_script(source, tmp_path)
    assert_equals_the_replay(printed, derivation)
    samples, targets, w = np.array([[1, -1, -1], [1, -1, 1], [1, 1, -1], [1, 1, 1.0]]), [-1, -1, -1, 1], np.ones(3)
    w[2] = -1
    for k in range(12):
        w = w + 0.3 * (targets[k % 4] - w @ samples[k % 4]) * samples[k % 4]
    assert_close(printed["W^1 after 3 passes"], w, "W(12)")
    assert np.allclose(printed["W^1 after 3 passes"], [-0.50149, 0.637344, 0.773197], atol=5e-6)
    assert_close(printed["W^1 after example 4"], np.array([-0.3302, 0.5098, 0.8018]), "W(4)")


def test_python_format_of_a_derivation_that_is_not_a_network_is_refused(capsys):
    assert main(["derive", "sigmoid", "--format", "python"]) == 2
    assert "--format python is for a network worked example" in capsys.readouterr().err


def test_momentum_and_l2_steps_equal_an_update_written_here(tmp_path):
    """Three steps with momentum 0.9 and L2 0.01: the script's losses and final weights equal an
    update rule written in this test over funcmlp.backprop's gradients (no derivations code)."""
    ex, derivation = replayed_network("softmax logits, momentum and L2, three steps")
    printed = run_script(program(ex, derivation), tmp_path)
    mlp = MLP((2, 2, 2), ["relu", "identity"])
    layers = [(np.array(W, float), np.array(b, float)) for W, b in zip(ex.weights, ex.biases, strict=True)]
    x, y, eta, momentum, l2 = np.array(ex.x, float), np.array(ex.y, float), 0.5, 0.9, 0.01
    changes = None

    def loss_and_grads(layers):
        result = backprop(mlp, params_from_arrays(layers, dtype=jnp.float64), x, y, "softmax_cross_entropy")
        penalty = l2 / 2 * sum(np.sum(W**2) for W, _ in layers)
        return float(result.loss) + penalty, [
            (np.asarray(g.W) + l2 * W, np.asarray(g.b)) for g, (W, _) in zip(result.grads, layers, strict=True)
        ]

    for t in range(1, 4):
        _, grads = loss_and_grads(layers)
        steps = [(-eta * gW, -eta * gb) for gW, gb in grads]
        if changes is not None:
            steps = [
                (sW + momentum * cW, sb + momentum * cb) for (sW, sb), (cW, cb) in zip(steps, changes, strict=True)
            ]
        layers, changes = [(W + sW, b + sb) for (W, b), (sW, sb) in zip(layers, steps, strict=True)], steps
        assert_close(printed[f"L after step {t}"], np.array([loss_and_grads(layers)[0]]), f"L after step {t}")
    for k, (W, b) in enumerate(layers, start=1):
        assert_close(printed[f"W^{k} after 3 steps"], W.ravel(), f"W^{k}")
        assert_close(printed[f"b^{k} after 3 steps"], b, f"b^{k}")


@pytest.mark.parametrize("title", ['x"""; print("INJECTED"); """', "a ''' b", r"back\N{x} slash\ ", "é, ü, → and #"])
def test_the_files_text_stays_text_in_the_program(title, tmp_path):
    """The title goes into a comment; an activation's spelling is written as funcmlp names it."""
    ex = read_spec({**NETWORKS["hinge"], "learning_rate": "0.1", "title": title, "activations": ["Tanh ", "IDENTITY"]})
    source = program(ex, run(ex))
    compile(source, "example.py", "exec")
    assert source.splitlines()[0] == f"# {title}" and "# layer 1: tanh," in source
    printed = run_script(source, tmp_path)
    assert "INJECTED" not in "".join(printed) and "L" in printed
