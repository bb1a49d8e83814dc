"""derivations.activations: sympy proves funcmlp's closed-form activation derivatives
(seed 002's derivative table, seed 003 eqs. 34-38), and the lambdified sympy derivatives
agree with funcmlp's numbers in float64."""
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp

from derivations.activations import PIECEWISE_RULES, SMOOTH_RULES, alpha, equal, prove_activation_derivatives, sigmoid, x
from funcmlp.activations import Activation, get_activation

RESULTS = prove_activation_derivatives()


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: r.statement)
def test_identity_is_proven(result):
    assert result.passed, f"{result.statement}: derived {result.derived}, closed form {result.closed_form}"


def test_a_wrong_closed_form_is_rejected():
    """The check can fail: sigmoid' = s (1 + s) is false."""
    ok, _ = equal(sp.diff(sigmoid(x), x), sigmoid(x) * (1 + sigmoid(x)))
    assert not ok


@pytest.mark.parametrize("name", list(SMOOTH_RULES))
def test_sympy_derivative_equals_funcmlp_numbers(name):
    forward, _ = SMOOTH_RULES[name]
    derived = sp.lambdify(x, sp.diff(forward, x), modules="mpmath")
    points = np.linspace(-6, 6, 25)
    expected = np.array([float(derived(sp.Float(p, 30))) for p in points])
    # atol: 1 - tanh^2 and Phi + x phi cancel in float64 in the tails (absolute error ~ 2e-16)
    np.testing.assert_allclose(get_activation(name).derivative(jnp.asarray(points)), expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("name", list(PIECEWISE_RULES))
def test_piecewise_derivative_equals_funcmlp_numbers(name):
    left, right, _, _, at_zero = PIECEWISE_RULES[name]
    act = Activation(name, 0.3) if name in ("leaky_relu", "elu") else get_activation(name)
    subs = {alpha: sp.Rational(3, 10)}
    points = [-2.5, -0.5, 0.0, 0.5, 2.5]
    for p in points:
        rule = left if p < 0 else right
        value = at_zero if p == 0 else sp.diff(rule, x).subs(x, p)
        assert float(act.derivative(jnp.array(p))) == pytest.approx(float(value.subs(subs)), rel=1e-14)


def test_sympy_heaviside_at_zero_is_not_the_library_convention():
    """sympy's d/dx Max(0, x) is Heaviside(x) with Heaviside(0) = 1/2; funcmlp pins relu'(0) = 0."""
    derivative = sp.diff(sp.Max(0, x), x)
    assert derivative.subs(x, 0) == sp.Rational(1, 2)
    assert float(get_activation("relu").derivative(jnp.array(0.0))) == 0.0
