"""derivations.proofs.sensitivities: seed 003 eq. 24 (output sensitivity) for every loss, the paired
closed forms a - y and p - y, seed 002's 2/N factor, and eqs. 25-32 (the Jacobian) for concrete
sizes, both conventions and arbitrary width."""

import jax
import jax.numpy as jnp
import numpy as np
import sympy as sp

from derivations.proofs.activations import sigmoid
from derivations.proofs.sensitivities import (
    jacobian_concrete,
    prove_jacobian_any_width,
    prove_jacobian_concrete,
    prove_output_sensitivities,
)


def test_every_output_sensitivity_and_jacobian_identity_is_proven():
    """Proven in the test, not at collection (where every worker process would prove them all again: 19 s each)."""
    results = prove_output_sensitivities() + prove_jacobian_concrete()
    assert len(results) > 20 and not [r.statement for r in results if not r.passed]


def test_jacobian_for_every_width():
    result = prove_jacobian_any_width()
    assert result.passed
    assert "KroneckerDelta" in str(result.derived) or "Piecewise" in str(result.derived)


def test_a_wrong_jacobian_is_rejected():
    """The untransposed W F'(n) is not the row-convention Jacobian: the check can fail."""
    from derivations.proofs.sensitivities import f

    derived, _, W = jacobian_concrete(2, 2, "row")
    slopes = sp.diag(*[sp.Derivative(f(x), x) for x in [sp.Symbol(f"n_{{{j}}}", real=True) for j in (1, 2)]])
    assert (derived - W.T * slopes).applyfunc(sp.simplify) == sp.zeros(2, 2)  # the same symbols: the right one agrees
    assert (derived - W * slopes).applyfunc(sp.simplify) != sp.zeros(2, 2)


def test_symbolic_jacobian_matches_jax_jacobian():
    """Lambdify the sympy Jacobian with f = sigmoid and compare with jax.jacfwd of one funcmlp layer step."""
    derived, _, W = jacobian_concrete(3, 2, "row")
    n = [sp.Symbol(f"n_{{{j}}}", real=True) for j in (1, 2, 3)]
    f = sp.Function(
        "f", real=True
    )  # the generic activation of derivations.proofs.sensitivities (real: |f| has a derivative)
    concrete = derived.subs({sp.Derivative(f(x), x): sigmoid(x) * (1 - sigmoid(x)) for x in n}).doit()
    values_W = np.array([[0.3, -1.2], [0.5, 0.7], [-0.4, 0.9]])
    values_n = np.array([0.2, -0.6, 1.3])
    numeric = sp.lambdify([list(n), list(W)], concrete, "numpy")(values_n, values_W.ravel())
    step = lambda m: jax.nn.sigmoid(m) @ jnp.asarray(values_W)
    np.testing.assert_allclose(numeric, jax.jacfwd(step)(jnp.asarray(values_n)), rtol=1e-13)


def test_softmax_jacobian_for_a_layer():
    """dn^(k+1)/dn^k through a softmax layer is W^T (diag(p) - p p^T), not a diagonal F'."""
    from funcmlp.registry.activations import get_activation

    derived, closed, W = jacobian_concrete(3, 2, "row", get_activation("softmax"))
    assert (derived - closed).applyfunc(sp.simplify) == sp.zeros(2, 3)
    n = [sp.Symbol(f"n_{{{j}}}", real=True) for j in (1, 2, 3)]
    p = [sp.exp(v) / sum(sp.exp(u) for u in n) for v in n]
    by_hand = W.T * (sp.diag(*p) - sp.Matrix(p) * sp.Matrix(p).T)
    assert (closed - by_hand).applyfunc(sp.simplify) == sp.zeros(2, 3)
