"""derivations.proofs.activations: sympy proves the closed-form derivative of every entry of funcmlp's
activation registry (seed 002's derivative table, seed 003 eqs. 34-38), and each entry's JAX
forward rule and derivative agree with its sympy forms in float64 (the registry walk)."""

import jax
import jax.numpy as jnp
import mpmath
import numpy as np
import pytest
import sympy as sp

from derivations.proofs.activations import (
    equal,
    on_side,
    one_sided_limit,
    prove_activation_derivatives,
    prove_elementwise,
    sigmoid,
    x,
)
from funcmlp.registry.activations import ACTIVATION_NAMES, ACTIVATIONS, Activation, ActivationSpec

RESULTS = prove_activation_derivatives()


@pytest.mark.parametrize("result", RESULTS, ids=lambda r: r.statement)
def test_identity_is_proven(result):
    assert result.passed, f"{result.statement}: derived {result.derived}, closed form {result.closed_form}"


def test_every_builtin_activation_is_proven():
    assert {r.name for r in RESULTS} >= set(ACTIVATION_NAMES)


def test_a_wrong_closed_form_is_rejected():
    """The check can fail: sigmoid' = s (1 + s) is false."""
    ok, _ = equal(sp.diff(sigmoid(x), x), sigmoid(x) * (1 + sigmoid(x)))
    assert not ok


def test_a_wrong_kink_convention_is_rejected():
    """relu'(0) := 1/2 (sympy's Heaviside(0)) is neither one-sided limit of relu': the check fails."""
    relu = ACTIVATIONS["relu"]
    wrong = ActivationSpec(
        "relu_half",
        relu.forward,
        relu.derivative,
        kinks=(0.0,),
        sympy_forward=relu.sympy_forward,
        sympy_derivative=lambda t, alpha: sp.Piecewise((1, t > 0), (sp.Rational(1, 2), sp.Eq(t, 0)), (0, True)),
    )
    results = prove_elementwise(wrong)
    assert [r.passed for r in results] == [True, True, False]


def test_one_sided_limits_pick_the_right_branch():
    """sympy's own limit of Piecewise((1, x > 0), (alpha, True)) from the right gives alpha; the branch is chosen
    first here."""
    alpha = sp.Symbol("alpha", positive=True)
    derivative = sp.Piecewise((1, x > 0), (alpha, True))
    assert one_sided_limit(derivative, 0, 1) == 1 and one_sided_limit(derivative, 0, -1) == alpha
    assert on_side(derivative, 0, -1) == alpha


def _points(spec):
    points = [-30.0, -8.0, -3.7, -1.0, -0.25, -1e-3, 1e-3, 0.3, 1.0, 2.5, 8.0, 30.0]
    return [p for p in points if all(abs(p - k) > 1e-6 for k in spec.kinks)] + list(spec.kinks)


def _exact(expression, value):
    with mpmath.workdps(40):
        return float(sp.N(expression.subs(x, sp.nsimplify(repr(value))), 40))


@pytest.mark.parametrize("name", [n for n, spec in ACTIVATIONS.items() if spec.elementwise and spec.symbolic])
def test_jax_forms_equal_the_sympy_forms_of_the_same_entry(name):
    """The registry walk: each entry's JAX forward and derivative against its own sympy forms,
    evaluated exactly (40 digits) at points from -30 to 30 and at the kinks."""
    spec = ACTIVATIONS[name]
    activation = Activation(name, 0.3 if spec.default_alpha is not None else None)
    alpha = activation.symbolic_alpha()
    for value in _points(spec):
        n = jnp.asarray(value, jnp.float64)
        forward = _exact(spec.sympy_forward(x, alpha), value)
        derivative = _exact(spec.sympy_derivative(x, alpha), value)
        # relative 1e-12: a few units in the last place, the accuracy of float64 erfc far in its tail
        # (gelu(-30) = -1.5e-196 needs erfc(21.2)); 1e-300 absolute for values that underflow
        assert float(activation(n)) == pytest.approx(forward, rel=1e-12, abs=1e-300), f"{name}({value})"
        assert float(activation.derivative(n)) == pytest.approx(derivative, rel=1e-12, abs=1e-300), f"{name}'({value})"


def test_softmax_entry_jacobian_equals_its_sympy_form():
    spec = ACTIVATIONS["softmax"]
    z = sp.symbols("z1:4", real=True)
    point = {z[0]: sp.Rational(3, 10), z[1]: sp.Rational(-12, 10), z[2]: sp.Integer(2)}
    n = jnp.array([0.3, -1.2, 2.0])
    g = jnp.array([1.0, -2.0, 0.5])
    exact_forward = [float(sp.N(e.subs(point), 30)) for e in spec.sympy_forward(list(z), None)]
    exact_vjp = [float(sp.N(e.subs(point), 30)) for e in spec.sympy_vjp(list(z), [1, -2, sp.Rational(1, 2)], None)]
    np.testing.assert_allclose(Activation("softmax")(n), exact_forward, rtol=1e-14)
    np.testing.assert_allclose(Activation("softmax").backward(n, g), exact_vjp, rtol=1e-13)


@pytest.mark.parametrize(
    "name, point", [("gelu", -6.0), ("gelu", -5.0), ("gelu", -9.0), ("sigmoid", 20.0), ("tanh", 12.0), ("tanh", -30.0)]
)
def test_float32_tails_keep_their_relative_accuracy(name, point):
    """gelu in the erfc form (float32 gelu(-6) = -5.9e-9, not 0); sigmoid' and tanh' where
    1 - s and 1 - tanh^2 would cancel to 0 in float32."""
    spec = ACTIVATIONS[name]
    activation = Activation(name)
    n = jnp.asarray(point, jnp.float32)
    assert float(activation(n)) == pytest.approx(_exact(spec.sympy_forward(x, None), point), rel=1e-5)
    assert float(activation.derivative(n)) == pytest.approx(_exact(spec.sympy_derivative(x, None), point), rel=1e-5)
    assert activation(n).dtype == jnp.float32


def test_sympy_heaviside_at_zero_is_not_the_library_convention():
    """sympy's d/dx Max(0, x) is Heaviside(x) with Heaviside(0) = 1/2; funcmlp pins relu'(0) = 0."""
    derivative = sp.diff(sp.Max(0, x), x)
    assert derivative.subs(x, 0) == sp.Rational(1, 2)
    assert float(Activation("relu").derivative(jnp.array(0.0))) == 0.0
    assert float(jax.grad(jax.nn.relu)(0.0)) == 0.0
