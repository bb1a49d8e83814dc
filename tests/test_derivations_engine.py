"""derivations.model.engine: the numbers a worked example prints are the proven closed forms evaluated
at the example's point. The closed forms (derivations.proofs.chain) are proven equal to sympy.diff of
the composed loss; here both the closed form and sympy.diff of the composed loss are evaluated at
the spec's weights, inputs and targets in 50 digits and compared with the replayed values."""

import pytest
import sympy as sp

from derivations.examples.replay import run
from derivations.examples.spec import read_spec
from derivations.proofs.chain import check_composed, closed_form_gradients, composed_loss
from derivations.proofs.network import Network

MAZUR = {
    "convention": "column",
    "activations": ["sigmoid", "sigmoid"],
    "loss": "half_sse",
    "learning_rate": "0.5",
    "x": ["0.05", "0.10"],
    "y": ["0.01", "0.99"],
    "layers": [
        {"W": [["0.15", "0.20"], ["0.25", "0.30"]], "b": ["0.35", "0.35"]},
        {"W": [["0.40", "0.45"], ["0.50", "0.55"]], "b": ["0.60", "0.60"]},
    ],
}
SPECS = {
    "mazur": MAZUR,
    "relu-batch": {
        "activations": ["relu", "identity"],
        "loss": "sse",
        "learning_rate": "0.5",
        "x": [["1", "2"], ["-1", "1"]],
        "y": ["1", "0"],
        "layers": [{"W": [["1", "-1"], ["0.5", "1"]], "b": ["0", "0.5"]}, {"W": [["2"], ["1"]], "b": ["-1"]}],
    },
    "tanh-softmax": {
        "activations": ["tanh", "softmax"],
        "loss": "cross_entropy",
        "learning_rate": "0.1",
        "x": ["0.5", "-1.5"],
        "y": ["0", "1", "0"],
        "layers": [
            {"W": [["0.2", "-0.4"], ["0.7", "0.1"]], "b": ["0.1", "-0.2"]},
            {"W": [["0.3", "-0.6", "0.2"], ["0.5", "0.4", "-0.9"]], "b": ["0", "0.1", "-0.1"]},
        ],
    },
}


def _point(net: Network, ex, layers, xs, ys) -> dict:
    """The example's numbers for the proof's symbols (w^k_{i,j} joins input i to unit j: the row convention)."""
    point = {}
    for (W, b), weights, biases in zip(layers, ex.weights, ex.biases, strict=True):
        point.update({W[i, j]: weights[i][j] for i in range(W.rows) for j in range(W.cols)})
        point.update(dict(zip(b, biases, strict=True)))
    for symbols, numbers in zip(xs + ys, list(ex.x) + list(ex.y), strict=True):
        point.update(dict(zip(symbols, numbers, strict=True)))
    return point


@pytest.mark.parametrize("name", list(SPECS))
def test_worked_numbers_equal_the_proven_closed_forms_at_the_same_point(name):
    ex = read_spec(SPECS[name])
    d = run(ex)
    sizes = (len(ex.x[0]),) + tuple(len(b) for b in ex.biases)
    net = Network(sizes, ex.activations, ex.loss, batch=len(ex.x))
    assert check_composed(net).passed  # the closed forms are the derivatives of the loss
    layers = net.parameter_symbols()
    xs, ys = net.data_symbols()
    closed = closed_form_gradients(net, layers, xs, ys)
    loss = composed_loss(net, layers, xs, ys)
    point = _point(net, ex, layers, xs, ys)
    column = ex.convention.name == "column"

    def same(a, b):
        return (
            abs(
                sp.N(sp.sympify(a).subs(point) if not isinstance(a, sp.Basic) or a.free_symbols else a, 50)
                - sp.N(b, 50)
            )
            < 1e-45
        )

    assert same(loss, d.values["L"][0])
    compared = 0
    for k, (W, b) in enumerate(layers, start=1):
        for i in range(W.rows):
            for j in range(W.cols):
                index = j * W.rows + i if column else i * W.cols + j  # the file's layout: (out, in) or (in, out)
                worked = d.values[f"dL/dW^{k}"][index]
                assert same(closed[W[i, j]], worked), (k, i, j)
                assert same(sp.diff(loss, W[i, j]), worked), (k, i, j)  # sympy.diff of the composed loss, independently
                assert same(
                    point[W[i, j]] - ex.learning_rate * closed[W[i, j]].subs(point), d.values[f"W^{k} new"][index]
                )
                compared += 1
        for j, bj in enumerate(b):
            assert same(closed[bj], d.values[f"dL/db^{k}"][j]) and same(sp.diff(loss, bj), d.values[f"dL/db^{k}"][j])
            compared += 1
    assert compared == net.count_parameters()
