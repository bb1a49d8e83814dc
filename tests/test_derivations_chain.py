"""derivations.proofs.chain: sympy's derivative of the whole loss equals the closed form of seed 003
eqs. 19, 24 and 33, and the three-way agreement sympy = funcmlp.core.backprop = jax.grad in float64."""

import jax.numpy as jnp
import numpy as np
import pytest

from derivations.model.graph import reverse_gradient
from derivations.model.symbolic import activation_function
from derivations.proofs.chain import check_composed, check_graph, check_local, lambdify_gradient
from derivations.proofs.network import Network
from funcmlp import MLP, autodiff_grad, backprop, params_from_arrays
from funcmlp.registry.activations import ACTIVATION_NAMES, ACTIVATIONS, Activation, ActivationSpec
from funcmlp.registry.losses import LOSS_NAMES, get_loss

SMALL = [
    Network((2, 2, 1), ("sigmoid", "sigmoid"), "sse"),  # seed 002's shape
    Network((3, 3, 2), ("tanh", "sigmoid"), "half_sse", batch=2),
    Network((2, 3, 2), ("softplus", "identity"), "sigmoid_binary_cross_entropy"),
    Network((2, 2, 2, 2), ("tanh", "sigmoid", "identity"), "mse"),
    Network((2, 3, 1), ("relu", "identity"), "sse"),  # seed 003's ReLU-then-linear shape
    Network((3, 3, 2), ("leaky_relu", "elu"), "mse", batch=2),
    Network((2, 3, 2), ("gelu", "identity"), "sigmoid_binary_cross_entropy"),
    Network((2, 3, 3), ("tanh", "softmax"), "cross_entropy", batch=2),  # softmax output, paired: p sum(y) - y
    Network((2, 3, 3), ("softmax", "identity"), "softmax_cross_entropy"),  # softmax hidden layer, full Jacobian
    Network((2, 3, 2), ("elu(0.5)", "sigmoid"), "binary_cross_entropy"),
    Network((2, 3, 3), ("hardlimit", "softmax"), "half_sse"),  # unpaired softmax output: the vector-Jacobian product
    Network((2, 2, 2), ("symmetric_hardlimit", "leaky_relu(0.2)"), "mse"),
    Network((2, 2, 2), ("tanh", "identity"), "huber(0.5)", batch=2),  # both branches at the random points
    Network((2, 3, 2), ("relu", "identity"), "absolute_error"),
    Network((2, 3, 1), ("tanh", "identity"), "poisson", batch=2),
    Network((2, 3, 2), ("sigmoid", "identity"), "hinge", batch=2),
]


def test_every_activation_and_every_loss_is_covered():
    assert {act.name for net in SMALL for act in net.resolved} == set(ACTIVATION_NAMES)
    assert {get_loss(net.loss).name for net in SMALL} == set(LOSS_NAMES)


@pytest.mark.parametrize("net", SMALL, ids=lambda n: f"{n.sizes}-{n.loss}")
def test_composed_loss_derivative_equals_closed_form(net):
    report = check_composed(net)
    assert report.passed, str(report)
    assert report.checked == net.count_parameters()


@pytest.mark.parametrize(
    "net",
    SMALL
    + [
        Network((4, 8, 8, 3), ("sigmoid",) * 3, "sse"),
        Network((16, 16, 16, 16), ("tanh", "relu", "sigmoid"), "half_sse", batch=2),
    ],
    ids=lambda n: f"{n.sizes}-{n.loss}",
)
def test_graph_derivative_of_composed_loss_equals_closed_form(net):
    report = check_graph(net)
    assert report.passed, str(report)
    assert report.checked == net.count_parameters()


def test_reverse_gradient_equals_sympy_diff_exactly():
    """The graph evaluator's derivative of an expression equals sympy.diff of it, digit for digit."""
    import mpmath
    import sympy as sp

    a, b, c = sp.symbols("a b c", real=True)
    sigmoid = activation_function(Activation("sigmoid"))
    expr = sigmoid(a * b + c) ** 2 * sp.tanh(a - c) + sp.log(1 + sp.exp(b)) / 3
    with mpmath.workdps(50):
        env = {a: mpmath.mpf("0.3"), b: mpmath.mpf("-1.7"), c: mpmath.mpf("0.45")}  # 50-digit inputs
        graph = reverse_gradient(expr, [a, b, c], env)
        for symbol, value in zip((a, b, c), graph, strict=False):
            exact = sp.N(
                sp.diff(expr, symbol)
                .rewrite(sp.exp)
                .subs({a: sp.Rational(3, 10), b: sp.Rational(-17, 10), c: sp.Rational(9, 20)}),
                45,
            )
            assert abs(value - mpmath.mpf(str(exact))) < mpmath.mpf(10) ** -40


@pytest.mark.parametrize("net", SMALL, ids=lambda n: f"{n.sizes}-{n.loss}")
def test_local_chain_rule_on_every_activation_and_loss(net):
    report = check_local(net)
    assert report.passed, str(report)


@pytest.mark.parametrize("sizes", [(4, 8, 8, 3), (16, 16, 16, 16)])
def test_local_chain_rule_equals_closed_form(sizes):
    report = check_local(Network(sizes, ("sigmoid",) * (len(sizes) - 1), "sse"))
    assert report.passed, str(report)
    # every weight, bias and every sensitivity entry s^k_j was checked, and sigmoid' = s (1 - s) once
    assert (
        report.checked == Network(sizes, ("sigmoid",) * (len(sizes) - 1), "sse").count_parameters() + sum(sizes[1:]) + 1
    )


def test_a_wrong_derivative_is_caught_by_every_method(monkeypatch):
    """A registry entry whose closed form is wrong (s (1 + s) for the sigmoid's s (1 - s)) fails every check."""
    right = ACTIVATIONS["sigmoid"]
    wrong = ActivationSpec(
        "sigmoid_wrong_derivative",
        right.forward,
        right.derivative,
        sympy_forward=right.sympy_forward,
        sympy_derivative=lambda t, alpha: right.sympy_forward(t, alpha) * (1 + right.sympy_forward(t, alpha)),
    )
    monkeypatch.setitem(ACTIVATIONS, wrong.name, wrong)
    net = Network((2, 2, 1), (wrong.name, "sigmoid"), "sse")
    assert not check_composed(net).passed
    assert not check_graph(net).passed
    assert not check_local(net).passed


@pytest.mark.parametrize(
    "activations, loss",
    [
        (("tanh", "sigmoid"), "half_sse"),
        (("gelu", "elu"), "half_sse"),
        (("leaky_relu", "softplus"), "half_sse"),
        (("relu", "softmax"), "cross_entropy"),
        (("softmax", "identity"), "softmax_cross_entropy"),
        (("tanh", "sigmoid"), "binary_cross_entropy"),
        (("elu(0.5)", "identity"), "sigmoid_binary_cross_entropy"),
        (("tanh", "identity"), "huber(0.5)"),
        (("relu", "identity"), "absolute_error"),
        (("softplus", "identity"), "poisson"),
    ],
)
def test_sympy_backprop_and_jax_grad_agree_in_float64(activations, loss):
    net = Network(
        (2, 3, 2), activations, loss, batch=2
    )  # the smallest with a hidden layer of several units and a batch
    rng = np.random.default_rng(0)
    arrays = [(rng.normal(size=(2, 3)), rng.normal(size=3)), (rng.normal(size=(3, 2)), rng.normal(size=2))]
    x, y = rng.normal(size=(2, 2)), rng.uniform(size=(2, 2))
    symbolic = lambdify_gradient(net)(arrays, x, y)
    mlp = MLP((2, 3, 2), list(activations))
    params = params_from_arrays(arrays, dtype=jnp.float64)
    manual = backprop(mlp, params, jnp.asarray(x), jnp.asarray(y), loss).grads
    auto = autodiff_grad(mlp, params, jnp.asarray(x), jnp.asarray(y), loss)
    for k, (W, b) in enumerate(arrays, start=1):
        sym_W = np.array(
            [[symbolic[f"w^{k}_{{{i + 1},{j + 1}}}"] for j in range(W.shape[1])] for i in range(W.shape[0])]
        )
        sym_b = np.array([symbolic[f"b^{k}_{{{j + 1}}}"] for j in range(b.shape[0])])
        for grads in (manual, auto):
            np.testing.assert_allclose(grads[k - 1].W, sym_W, rtol=1e-12, atol=1e-15)
            np.testing.assert_allclose(grads[k - 1].b, sym_b, rtol=1e-12, atol=1e-15)


def test_unsupported_names_are_reported(monkeypatch):
    plain = ActivationSpec("no_sympy_form", ACTIVATIONS["tanh"].forward, ACTIVATIONS["tanh"].derivative)
    monkeypatch.setitem(ACTIVATIONS, plain.name, plain)
    with pytest.raises(
        ValueError, match="activation 'no_sympy_form' has no sympy form; register it with .*sympy_forward"
    ):
        Network((2, 1), ("no_sympy_form",), "sse")
    with pytest.raises(ValueError, match="takes logits but the output activation 'softmax'"):
        Network((2, 2), ("softmax",), "softmax_cross_entropy")
    with pytest.raises(ValueError, match="sizes must be at least two positive integers"):
        Network((2, 0, 1), ("tanh", "tanh"), "sse")
    with pytest.raises(ValueError, match="expected 2 activations"):
        Network((2, 2, 1), ("tanh",), "sse")


def test_relu_derivative_at_zero_follows_the_library_convention():
    import sympy as sp

    n = sp.Symbol("n", real=True)
    relu = activation_function(Activation("relu"))
    assert sp.diff(relu(n), n).subs(n, 0) == 0


def test_architecture_check_prints_a_summary_a_person_reads():
    """At most ~100 lines of at most 200 characters, whatever the size; names say their indices."""
    from derivations.catalogue import architecture_check

    text, passed = architecture_check((12, 16, 16, 3), ("tanh", "tanh", "sigmoid"), "half_sse")
    lines = text.splitlines()
    assert passed and len(lines) <= 100 and max(map(len, lines)) <= 200
    assert "12-16-16-3 (531 parameters)" in lines[0]
    assert "531 derivatives" in text and "256 entries (16 -> 16)" in text and "worst difference" in text
    assert "row convention: w^k_{i,j} joins input i to unit j of layer k" in text


def test_parameter_names_are_unambiguous():
    """w^2_{3,17} can only be layer 2, input 3, unit 17 (w_6464 could be w_{64,64} or w_{6,464})."""
    layers = Network((3, 20, 20), ("tanh", "tanh"), "sse").parameter_symbols()
    W2, b2 = layers[1]
    assert str(W2[2, 16]) == "w^2_{3,17}" and str(b2[16]) == "b^2_{17}"
    names = [str(s) for W, b in layers for s in list(W) + b]
    assert len(set(names)) == len(names)


def test_show_prints_every_expression_of_a_small_network_and_refuses_a_big_one():
    from derivations.catalogue import architecture_check

    text, passed = architecture_check((2, 2, 1), ("sigmoid", "identity"), "sse", show=True)
    assert passed
    derived = [line for line in text.splitlines() if line.startswith("  dL/d")]
    assert len(derived) == 9 and "dL/dw^1_{2,1} = " in text and "sigmoid(b^1_{1} + " in text and "_derived_" not in text
    with pytest.raises(ValueError, match="at most 100 parameters; this one has 139"):
        architecture_check((4, 8, 8, 3), ("sigmoid",) * 3, "sse", show=True)


def test_a_wrong_closed_form_is_a_fail_line_in_the_summary(monkeypatch):
    from dataclasses import replace

    from derivations.catalogue import architecture_check

    right = ACTIVATIONS["tanh"]
    monkeypatch.setitem(
        ACTIVATIONS, "tanh", replace(right, sympy_derivative=lambda x, alpha: 1 + right.sympy_forward(x, alpha) ** 2)
    )
    text, passed = architecture_check((2, 3, 1), ("tanh", "identity"), "sse", method="graph")
    assert not passed
    assert any(line.startswith("FAIL  gradient of 2-3-1") for line in text.splitlines())
    assert "FAIL w^1_{" in text
