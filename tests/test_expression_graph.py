"""`funcmlp derive --format graph`: the loss of every shipped example as a graph of scalars whose
values are the replay's and whose gradients, found by reverse accumulation over the graph alone,
are the replay's sensitivities, dL/da and dL/dW (its recursion), to 40 digits."""

import os
import re
import shutil
import subprocess

import mpmath
import pytest
import sympy as sp
from replayed import EXAMPLES, NETWORKS, ONLINE, replayed, replayed_network

from derivations.examples.spec import read_spec, seed_spec_path
from derivations.formats import expression_graph as eg
from funcmlp.cli import main

NAMED = re.compile(r"(?P<q>[na]|b|theta)\^(?P<k>\d+)_\{?(?P<j>\d+)\}?(?: \(example (?P<e>\d+)\))?")
WEIGHT = re.compile(r"w\^(?P<k>\d+)_\{(?P<r>\d+),(?P<c>\d+)\}")


def close(value, exact) -> bool:
    """Within 1e-40 (relative, or absolute below 1) of the exact value, read in 60-digit arithmetic."""
    with mpmath.workdps(60):
        exact = mpmath.mpf(str(sp.N(exact, 60)))
        return abs(exact - value) <= mpmath.mpf("1e-40") * max(1, abs(exact))


def entry(derivation, ex, step: str, unit: int, example: int):
    """Entry ``unit`` (0-based) of example ``example`` of a vector step, in the file's layout (online: step 1 is
    the first example's alone)."""
    values, batch = derivation.values[step], 1 if ex.online else len(ex.x)
    if batch == 1:
        return values[unit]
    return (
        values[unit * batch + example]
        if ex.convention.name == "column"
        else values[example * len(values) // batch + unit]
    )


def example_of(name: str):
    """The checked example of a shipped spec file's or a network's name (not replayed)."""
    return read_spec(NETWORKS[name] if name in NETWORKS else next(path for path in EXAMPLES if path.stem == name))


def replays(name: str) -> tuple:
    if name in NETWORKS:
        return replayed_network(name)
    return replayed(next(path for path in EXAMPLES if path.stem == name))


@pytest.mark.parametrize("name", [path.stem for path in EXAMPLES] + list(NETWORKS))
def test_every_nodes_value_and_gradient_are_the_replays(name):
    ex, derivation = replays(name)
    nodes = eg.expression_graph(ex)
    depth, checked = len(ex.weights), set()
    root = nodes[-1]
    assert root.name.endswith("L") and root.gradient == 1 and close(root.value, derivation.values["L"][0])
    for node in nodes:
        assert (node.gradient is None) == (not node.inputs and node.name is None), node
        named, weight = NAMED.fullmatch(node.name or ""), WEIGHT.fullmatch(node.name or "")
        if named and named["q"] in "na":
            q, k, j, e = named["q"], int(named["k"]), int(named["j"]) - 1, int(named["e"] or 1) - 1
            assert close(node.value, entry(derivation, ex, f"{q}^{k}", j, e)), node
            gradient = f"s^{k}" if q == "n" else f"dL/da^{k}"
            if q == "a" and k == depth:  # the output: dL/da^L is the loss's own derivative, checked through s^L
                continue
            assert close(node.gradient, entry(derivation, ex, gradient, j, e)), (node, gradient)
            checked.add(q)
        elif weight:
            k, r, c = int(weight["k"]), int(weight["r"]) - 1, int(weight["c"]) - 1
            rows, columns = next(s.shape for s in derivation.steps if s.name == f"dL/dW^{k}") or (1, 1)
            assert close(node.gradient, derivation.values[f"dL/dW^{k}"][r * columns + c]), node
            checked.add("w")
        elif named:  # a bias, or a threshold as the file gives it
            k, j = int(named["k"]), int(named["j"]) - 1
            assert close(node.gradient, derivation.values[f"dL/d{named['q']}^{k}"][j]), node
            checked.add(named["q"])
    assert {"n", "w"} <= checked and ("a" in checked or depth == 1)
    assert (checked & {"b", "theta"}) or all(b is None for b in ex.biases)


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_shipped_example_writes_a_graph_graphviz_draws(path):
    ex = read_spec(path)
    nodes = eg.expression_graph(ex)
    source = eg.dot(ex, nodes)
    assert source.startswith("digraph loss {") and source.count("[label=<<TABLE") == len(nodes)
    edges = [line for line in source.splitlines() if " -> " in line and "style=invis" not in line]
    assert len(edges) == sum(len(node.inputs) for node in nodes)
    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("Graphviz's dot is not installed (CI installs it)")
    drawn = subprocess.run(["dot", "-Tsvg"], input=source, capture_output=True, text=True, check=True).stdout
    assert drawn.count('class="node"') == len(nodes) and drawn.count('class="edge"') == len(edges)


def test_graph_svg_is_drawn_by_graphviz_or_refused_with_the_fix(capsys, monkeypatch):
    micrograd = "derivations/examples/micrograd_tanh.toml"
    assert main(["derive", "--example", micrograd, "--format", "graph"]) == 0
    ex = read_spec(micrograd)
    assert capsys.readouterr().out == eg.dot(ex, eg.expression_graph(ex))
    if shutil.which("dot") is not None or os.environ.get("CI"):
        assert main(["derive", "--example", micrograd, "--format", "graph-svg"]) == 0
        out = capsys.readouterr().out
        assert "<svg" in out and "tanh" in out and "grad 0.5000" in out
    monkeypatch.setattr(shutil, "which", lambda name: None)
    assert main(["derive", "--example", micrograd, "--format", "graph-svg"]) == 2
    assert "Graphviz's dot program, which is not installed: install graphviz" in capsys.readouterr().err


def test_micrograd_neuron_is_karpathys_picture():
    """micrograd's README neuron: o = tanh(x1 w1 + x2 w2 + b) = 0.7071, do/dn = 0.5, do/dx1 = -1.5, do/dw1 = 1."""
    graph = eg.expression_graph(read_spec("derivations/examples/micrograd_tanh.toml"))
    assert [node.op for node in graph if node.name is None] == ["×", "×"] and len(graph) == 9
    nodes = {node.name: node for node in graph}
    assert mpmath.nstr(nodes["a^1_1 = L"].value, 4) == "0.7071" and mpmath.nstr(nodes["n^1_1"].gradient, 4) == "0.5"
    assert mpmath.nstr(nodes["x_{1}"].gradient, 4) == "-1.5" and mpmath.nstr(nodes["w^1_{1,1}"].gradient, 4) == "1.0"
    assert nodes["w^1_{2,1}"].gradient == 0  # x2 = 0


def test_a_graph_too_big_to_read_is_refused_with_the_fix(tmp_path, capsys):
    spec = tmp_path / "wide.toml"
    rows = ", ".join('["0.1", "0.2", "0.3", "0.4"]' for _ in range(4))
    spec.write_text(
        'activations = ["tanh", "tanh", "identity"]\nloss = "sse"\nlearning_rate = "0.1"\n'
        'x = [["1", "2", "3", "4"], ["4", "3", "2", "1"]]\ny = [["1", "0", "1", "0"], ["0", "1", "0", "1"]]\n'
        + f"[[layers]]\nW = [{rows}]\n"
        * 3
    )
    assert main(["derive", "--example", str(spec), "--format", "graph"]) == 2
    err = capsys.readouterr().err
    assert "scalar nodes; a graph is drawn up to 150" in err and "draw a smaller example" in err


def test_an_online_example_is_the_graph_of_step_1_the_first_examples_loss():
    """Online, the replay writes out step 1 first, on example 1 alone: the graph is of that loss (1/2 (1 - 0)^2 at
    W = 1, x = 1, y = 0), its title says so, and example 2's numbers are in no node."""
    online = read_spec(ONLINE)
    nodes = eg.expression_graph(online)
    assert nodes[-1].name == "L" and nodes[-1].value == mpmath.mpf("0.5")
    assert {node.name for node in nodes if not node.inputs} == {"x_{1}", "y_{1}", "w^1_{1,1}", "b^1_{1}", None}
    assert "online: the loss of example 1 (of 2), step 1, as a graph of scalars" in eg.dot(online, nodes)
    assert "online" not in eg.dot(read_spec({**ONLINE, "update": "batch"}), eg.expression_graph(read_spec(ONLINE)))
    ex, derivation = replays("and_delta_rule")  # the slides' p0 = (1, -1, -1), d = -1 at W(0) = (1, 1, -1)
    nodes = {node.name: node for node in eg.expression_graph(ex)}
    assert "online: the loss of example 1 (of 4), step 1, as a graph" in eg.dot(ex, list(nodes.values()))
    assert [nodes[f"x_{{{i}}}"].value for i in (1, 2, 3)] == [1, -1, -1] and nodes["y_{1}"].value == -1
    assert nodes["n^1_1"].value == 1 and nodes["L"].value == 2 and nodes["n^1_1"].gradient == 2  # net 1, d - net = -2
    assert [nodes[f"w^1_{{1,{j}}}"].gradient for j in (1, 2, 3)] == [2, -2, -2] == derivation.values["dL/dW^1"]


def test_options_the_graph_cannot_take_are_refused(capsys):
    assert main(["derive", "hmkcode_221", "--format", "graph", "--steps", "3"]) == 2
    assert "--format graph draws the loss before the first step; --steps changes nothing" in capsys.readouterr().err
    for form in ("graph", "graph-svg", "python", "mermaid"):
        assert main(["derive", "hmkcode_221", "--format", form, "--chain", "w^1_{1,1}"]) == 2
        assert f"--format {form} has no place for it" in capsys.readouterr().err


ARITHMETIC = {  # a drawn operation: (its value, the local derivative by operand i) over its operands' values
    "+": (mpmath.fsum, lambda v, i: 1),
    "-": (
        lambda v: v[0] - mpmath.fsum(v[1:]) if len(v) > 1 else -v[0],
        lambda v, i: 1 if i == 0 and len(v) > 1 else -1,
    ),
    "×": (mpmath.fprod, lambda v, i: mpmath.fprod(v[:i] + v[i + 1 :])),
    "/": (lambda v: v[0] / v[1], lambda v, i: 1 / v[1] if i == 0 else -v[0] / v[1] ** 2),
    "1/x": (lambda v: 1 / v[0], lambda v, i: -1 / v[0] ** 2),
}


def arithmetic(op: str):
    if op.startswith("^"):
        p = mpmath.mpf(sp.Rational(op[1:]).p) / sp.Rational(op[1:]).q
        return lambda v: v[0] ** p, lambda v, i: p * v[0] ** (p - 1)
    return ARITHMETIC.get(op)


@pytest.mark.parametrize("name", [path.stem for path in EXAMPLES] + list(NETWORKS))
def test_every_drawn_operation_is_the_one_a_student_reads_with_its_operands(name):
    """Each drawn node's value is its operation of its drawn operands (a power of one operand, its exponent in the
    operation), and each node's gradient is the sum over the nodes that use it of their gradient times the local
    derivative: micrograd's backward pass over the picture itself, not over sympy's tree."""
    nodes = eg.expression_graph(example_of(name))
    by, users = {node.key: node for node in nodes}, {}
    for node in nodes:
        for i, key in enumerate(node.inputs):
            users.setdefault(key, []).append((node, i))
    with mpmath.workdps(50):
        for node in nodes:
            rule = arithmetic(node.op)
            if node.op.startswith("^") or node.op == "1/x":
                assert len(node.inputs) == 1, node
            if rule and node.inputs:
                assert close(node.value, rule[0]([by[key].value for key in node.inputs])), node
            if node.gradient is None or node is nodes[-1] or not all(arithmetic(u.op) for u, _ in users[node.key]):
                continue
            chain = mpmath.fsum(
                u.gradient * arithmetic(u.op)[1]([by[key].value for key in u.inputs], i) for u, i in users[node.key]
            )
            assert close(node.gradient, chain), node


def test_a_quotient_a_difference_and_a_square_are_drawn_as_a_student_writes_them():
    """softmax a_j = exp(n_j) / sum: a division of two operands (was exp(n_j) times a power of the sum with an
    operand -1); half_sse 1/2 (y - a)^2: a square of one operand (was a power with an operand 2) of a subtraction
    (was y plus -1 times a)."""
    for name in ("kushwaha_softmax", "softmax output, cross-entropy, a batch in columns"):
        nodes = eg.expression_graph(example_of(name))
        by = {node.key: node for node in nodes}
        outputs = [node for node in nodes if (node.name or "").startswith("a^2_")]
        assert outputs and all(node.op == "/" for node in outputs)
        for node in outputs:
            top, bottom = (by[key] for key in node.inputs)
            assert top.op == "exp" and by[top.inputs[0]].name == node.name.replace("a^", "n^")
            assert bottom.op == "+" and len(bottom.inputs) == len(outputs) // len(example_of(name).x)
            assert all(by[key].op == "exp" for key in bottom.inputs)
    for name in [path.stem for path in EXAMPLES] + list(NETWORKS):
        nodes = eg.expression_graph(example_of(name))
        by = {node.key: node for node in nodes}
        powers = [node.inputs for node in nodes if node.op.startswith("^") or node.op == "1/x"]
        powers += [node.inputs[1:] for node in nodes if node.op == "/"]  # a denominator
        assert all(by[key].gradient is not None for keys in powers for key in keys), name  # no "-1", no "2"
    ex = read_spec("derivations/examples/hmkcode_221.toml")  # half_sse, one output
    nodes = eg.expression_graph(ex)
    by = {node.key: node for node in nodes}
    half, square = by[nodes[-1].inputs[0]], by[nodes[-1].inputs[1]]
    assert nodes[-1].op == "×" and half.op == "1/2" and square.op == "^2" and len(square.inputs) == 1
    difference = by[square.inputs[0]]
    assert difference.op == "-" and [by[key].name for key in difference.inputs] == ["y_{1}", "a^2_1"]
    y, a = (by[key] for key in difference.inputs)  # hmkcode's y - a = 1 - 0.191: dL/dy = -dL/da = y - a
    assert close(difference.value, sp.Rational("0.809")) and close(y.gradient, sp.Rational("0.809"))
    assert close(a.gradient, sp.Rational("-0.809"))


SOFTMAX_232 = dict(
    activations=["sigmoid", "softmax"],
    loss="cross_entropy",
    x=["0.5", "-1"],
    y=["1", "0"],
    layers=[
        {"W": [["0.1", "-0.2", "0.3"], ["0.4", "0.5", "-0.6"]], "b": ["0.1", "0", "-0.1"]},
        {"W": [["0.2", "-0.5"], ["0.6", "0.1"], ["-0.3", "0.25"]], "b": ["0", "0.1"]},
    ],
)
INDEXED = re.compile(
    r"(?P<q>[a-z]+)(?:\^(?P<k>\d+))?_\{?(?P<i>\d+)(?:,(?P<j>\d+))?\}?(?: \(example (?P<e>\d+)\))?(?: = L)?"
)


DRAWN = {
    "a 2-3-2 softmax": SOFTMAX_232,
    "seed002_sigmoid_221, installed": seed_spec_path("seed002_sigmoid_221"),
    **NETWORKS,
    **{path.stem: path for path in EXAMPLES},
}


@pytest.mark.parametrize("name", DRAWN)
def test_units_inputs_and_weights_are_drawn_top_to_bottom_in_index_order(name):
    """Graphviz's -Tplain y (up the page) of each input, target, bias, net input and activation is above the next
    one's of its layer (and example); a weight's above the next input's weight of its unit, and the next unit's."""
    if shutil.which("dot") is None and not os.environ.get("CI"):
        pytest.skip("Graphviz's dot is not installed (CI installs it)")
    ex = read_spec(DRAWN[name])
    nodes = eg.expression_graph(ex)
    plain = subprocess.run(["dot", "-Tplain"], input=eg.dot(ex, nodes), capture_output=True, text=True, check=True)
    y = {line.split()[1]: float(line.split()[3]) for line in plain.stdout.splitlines() if line.startswith("node ")}
    at, pairs = {}, 0
    for node in nodes:
        if match := INDEXED.fullmatch(node.name or ""):
            q, k, i, j, e = match.groups()
            if q == "w":  # by (unit, input)
                unit, source = (int(i), int(j)) if ex.convention.name == "column" else (int(j), int(i))
                at[q, k, "unit", unit, source] = at[q, k, "input", source, unit] = y[node.key]
            else:  # by (example, index): x_{e,i} is input i of example e
                at[q, k, int(i) if j else int(e or 1), int(j or i)] = y[node.key]
    for place, height in at.items():
        below = at.get((*place[:-1], place[-1] + 1))
        if below is not None:
            assert height > below, (place, height, below)
            pairs += 1
    assert pairs >= 2
