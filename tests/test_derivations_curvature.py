"""derivations.proofs.hessians and derivations.proofs.curvature (BEYOND, "Beyond the gradient"): sympy proves each
loss's Hessian factor (S S^T = sympy.hessian of the loss) and each activation's f'' (= d/dx of the closed
form f'), and, on symbolic networks, the per-example gradient norm identity, the GGN's diagonal from
virtual sensitivities and the exact Hessian diagonal's recursion; a wrong factor or f'' is reported as
not proved, and ``funcmlp derive`` lists and runs them."""

import jax.numpy as jnp
import pytest
import sympy as sp

from derivations.catalogue import architecture_check
from derivations.proofs.curvature import check_quantity
from derivations.proofs.hessians import prove_curvature_forms, prove_hessian_factor, prove_second_derivative, switches
from derivations.proofs.network import Network
from funcmlp import (
    ACTIVATION_NAMES,
    LOSS_NAMES,
    get_activation,
    get_loss,
    register_activation,
    register_loss,
    unregister_activation,
    unregister_loss,
)
from funcmlp.cli import main
from funcmlp.registry.activations import ACTIVATIONS


@pytest.fixture(scope="module")
def forms():
    return prove_curvature_forms()


def test_every_builtin_loss_factor_and_activation_second_derivative_is_proven(forms):
    assert forms and all(r.passed for r in forms), [r.statement for r in forms if not r.passed]
    assert {r.name for r in forms} >= set(LOSS_NAMES)
    elementwise = {name for name in ACTIVATION_NAMES if ACTIVATIONS[name].elementwise}
    assert {r.name for r in forms} >= elementwise and "softmax" not in {r.name for r in forms}


def test_piecewise_losses_are_proven_on_every_piece(forms):
    """huber on 2 units: the sign patterns of a_j - y_j and |a_j - y_j| - 1 (16), each visited off the kinks."""
    methods = {r.name: r.method for r in forms}
    assert methods["huber"] == "exact rational points (16 of 16 pieces)"
    assert methods["absolute_error"] == "exact rational points (4 of 4 pieces)"
    assert methods["softmax_cross_entropy"] == "symbolic"  # sqrt(sum_j y_j) (diag sqrt(p) - p sqrt(p)^T): every row
    kinks = {r.statement for r in forms if r.name == "elu"}
    assert "elu'': elu''(0) := 0 is a one-sided limit (of d/dx elu') (every alpha > 0)" in kinks


def test_switches_name_what_picks_a_piece():
    a, y = sp.symbols("a y", real=True)
    assert switches(sp.Piecewise((a, sp.Abs(a - y) <= 1), (0, True)), sp.DiracDelta(a)) == [a, a - y, sp.Abs(a - y) - 1]


@pytest.fixture
def wrong_factor():
    """sse with its factor 2 sqrt(2) instead of sqrt(2): S S^T = 8, the Hessian 2."""
    register_loss(
        "sse_wrong_factor",
        lambda a, y: jnp.sum((a - y) ** 2, axis=-1),
        lambda a, y: 2 * (a - y),
        sympy_value=lambda a, y: (a - y) ** 2,
        sympy_hessian_factor=lambda a, y: 2 * sp.sqrt(2),
    )
    yield "sse_wrong_factor"
    unregister_loss("sse_wrong_factor")


def test_a_wrong_hessian_factor_is_not_proven(wrong_factor):
    result = prove_hessian_factor(get_loss(wrong_factor))
    assert not result.passed and result.derived == 2 * sp.eye(2) and result.closed_form == 8 * sp.eye(2)
    net = Network((2, 2, 1), ("tanh", "identity"), wrong_factor)
    for quantity in ("ggn", "hessian"):
        report = check_quantity(net, quantity)
        assert not report.passed and report.failures, quantity
        assert str(report).startswith("FAIL")
    assert check_quantity(net, "norms").passed  # the norms need no factor


def test_a_wrong_second_derivative_is_not_proven():
    """tanh with f'' off by a factor 2: the proof of f'' and the Hessian diagonal of a network both fail."""
    register_activation(
        "tanh_wrong_second",
        lambda n, alpha: jnp.tanh(n),
        lambda n, alpha: 1 - jnp.tanh(n) ** 2,
        sympy_forward=lambda x, alpha: sp.tanh(x),
        sympy_derivative=lambda x, alpha: 1 - sp.tanh(x) ** 2,
        sympy_second_derivative=lambda x, alpha: -4 * sp.tanh(x) * (1 - sp.tanh(x) ** 2),
    )
    try:
        assert not any(r.passed for r in prove_second_derivative(get_activation("tanh_wrong_second")))
        report = check_quantity(Network((2, 2, 1), ("tanh_wrong_second", "identity"), "sse"), "hessian")
        assert not report.passed
        assert check_quantity(Network((2, 2, 1), ("tanh_wrong_second", "identity"), "sse"), "ggn").passed  # no f''
    finally:
        unregister_activation("tanh_wrong_second")


def test_network_proofs_on_a_paired_softmax_output():
    """cross_entropy on a softmax output is softmax_cross_entropy on n^L: the GGN and the Hessian taken in n^L."""
    net = Network((2, 1, 2), ("sigmoid", "softmax"), "cross_entropy")
    reports = [check_quantity(net, q) for q in ("ggn", "hessian")]
    assert all(r.passed and r.checked == 7 for r in reports), [str(r) for r in reports]
    assert "sympy.hessian of softmax_cross_entropy in n^L" in str(reports[0]) and "r_i S_i S_i^T in n^L" in str(
        reports[1]
    )


def test_derive_lists_and_runs_the_curvature_entry(capsys):
    assert main(["derive", "--list"]) == 0
    listed = capsys.readouterr().out
    assert "curvature " in listed and "--quantities all" in listed
    assert main(["derive", "curvature", "--format", "markdown"]) == 0
    text = capsys.readouterr().out
    assert "| PASS | huber (delta = 1): S S^T = d^2L/da^2" in text and "FAIL" not in text


@pytest.mark.parametrize(
    "arguments",
    [
        ["--sizes", "2,2,1", "--activations", "sigmoid", "--loss", "sse", "--quantities", "all"],
        ["--sizes", "2,2,1", "--activations", "relu,identity", "--loss", "huber", "--quantities", "norms,ggn,hessian"],
    ],
    ids=["sigmoid-sse-all", "relu-huber"],
)
def test_derive_check_proves_the_new_quantities(capsys, arguments):
    assert main(["derive", "check", *arguments]) == 0
    text = capsys.readouterr().out
    for title in ("per-example gradient norms", "GGN diagonal", "Hessian diagonal"):
        assert f"PASS  {title}, " in text
    assert ("gradient of 2-2-1" in text) == ("all" in arguments)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["derive", "curvature", "--quantities", "ggn"], "--quantities chooses what derive check proves"),
        (["derive", "check", "--quantities", "ggn,curvature"], "'curvature'; expected some of gradient, norms"),
        (["derive", "check", "--sizes", "5,5,5", "--quantities", "ggn"], "at most 40 parameters and 3 layers"),
        (["derive", "check", "--quantities", "ggn", "--method", "graph"], "--method chooses how the gradient is"),
        (
            ["derive", "check", "--sizes", "2,2,2", "--activations", "softmax,identity", "--quantities", "hessian"],
            "layer 1 is softmax",
        ),
    ],
)
def test_derive_check_refuses_what_it_cannot_prove(capsys, arguments, message):
    assert main(arguments) == 2
    assert message in capsys.readouterr().err


def test_architecture_check_runs_the_gradient_only_by_default():
    text, passed = architecture_check((2, 1), ("identity",), "half_sse")
    assert passed and "GGN" not in text and "gradient of 2-1" in text
    text, passed = architecture_check((2, 1), ("identity",), "half_sse", quantities=("ggn",))
    assert passed and "gradient of" not in text and text.count("PASS") == 1
