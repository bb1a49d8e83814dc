"""Sympy proofs that the closed-form activation derivatives used by :mod:`funcmlp` are right.

For each activation, sympy differentiates the forward rule and the result is compared with
the closed form the library evaluates (written here again in sympy, independently of the
JAX code): a symbolic zero test of the difference where sympy can decide it, otherwise
exact comparison at random rational points with 50-digit arithmetic. Each result names the
method that proved it.

Example:
    >>> results = prove_activation_derivatives()
    >>> all(r.passed for r in results)
    True
    >>> next(r for r in results if r.name == "sigmoid").method
    'symbolic'
"""

from __future__ import annotations

import random
from typing import NamedTuple

import sympy as sp

x = sp.Symbol("x", real=True)
alpha = sp.Symbol("alpha", positive=True)


def sigmoid(t):
    return 1 / (1 + sp.exp(-t))


def normal_cdf(t):
    return (1 + sp.erf(t / sp.sqrt(2))) / 2


def normal_pdf(t):
    return sp.exp(-t**2 / 2) / sp.sqrt(2 * sp.pi)


class Identity(NamedTuple):
    """One checked identity: ``derived == closed_form`` on a domain."""

    name: str
    statement: str
    derived: sp.Expr
    closed_form: sp.Expr
    method: str
    passed: bool


# name -> (forward rule f(x), closed form of f'(x) as funcmlp evaluates it, domain note)
SMOOTH_RULES = {
    "identity": (x, sp.Integer(1)),
    "sigmoid": (sigmoid(x), sigmoid(x) * (1 - sigmoid(x))),
    "tanh": (sp.tanh(x), 1 - sp.tanh(x) ** 2),
    "softplus": (sp.log(1 + sp.exp(x)), sigmoid(x)),
    "gelu": (x * normal_cdf(x), normal_cdf(x) + x * normal_pdf(x)),
}

# Piecewise activations: (rule for x < 0, rule for x > 0, closed form for x < 0, for x > 0,
# funcmlp's value of the derivative at 0)
PIECEWISE_RULES = {
    "relu": (sp.Integer(0), x, sp.Integer(0), sp.Integer(1), sp.Integer(0)),
    "leaky_relu": (alpha * x, x, alpha, sp.Integer(1), alpha),
    "elu": (alpha * (sp.exp(x) - 1), x, alpha * sp.exp(x), sp.Integer(1), sp.Integer(1)),
    "hardlimit": (sp.Integer(0), sp.Integer(1), sp.Integer(0), sp.Integer(0), sp.Integer(0)),
    "symmetric_hardlimit": (sp.Integer(-1), sp.Integer(1), sp.Integer(0), sp.Integer(0), sp.Integer(0)),
}


def equal(a: sp.Expr, b: sp.Expr, *, symbols=(x,), samples: int = 12, seed: int = 0, sign: int = 0) -> tuple[bool, str]:
    """Decide ``a == b``: symbolic simplification first, else exact random rational points.

    ``sign`` restricts the sample points of ``x`` to x < 0 (-1) or x > 0 (+1).
    """
    difference = sp.simplify(a - b)
    if difference == 0:
        return True, "symbolic"
    difference = sp.simplify(difference.rewrite(sp.exp))
    if difference == 0:
        return True, "symbolic"
    rng = random.Random(seed)
    for _ in range(samples):
        point = {}
        for s in symbols:
            value = sp.Rational(rng.randint(1, 4000), rng.randint(1, 1000))
            if s == x and sign < 0:
                value = -value
            elif s == x and sign == 0 and rng.random() < 0.5:
                value = -value
            point[s] = value
        if abs(sp.N(difference.subs(point), 50)) > sp.Float(10) ** -40:
            return False, "random rational points (50 digits)"
    return True, "random rational points (50 digits)"


def prove_activation_derivatives() -> list[Identity]:
    """Differentiate each activation with sympy and compare with funcmlp's closed form."""
    results = []
    for name, (forward, closed) in SMOOTH_RULES.items():
        derived = sp.diff(forward, x)
        ok, method = equal(derived, closed)
        results.append(Identity(name, f"d/dx {name}(x) = {sp.sstr(closed)}", derived, closed, method, ok))
    # seed 003 eq. 38: tanh(x) = 2 sigmoid(2x) - 1
    ok, method = equal(sp.tanh(x), 2 * sigmoid(2 * x) - 1)
    results.append(Identity("tanh_from_sigmoid", "tanh(x) = 2 sigmoid(2x) - 1 (seed 003 eq. 38)", sp.tanh(x), 2 * sigmoid(2 * x) - 1, method, ok))
    for name, (left, right, closed_left, closed_right, at_zero) in PIECEWISE_RULES.items():
        for side, rule, closed, sign in (("x < 0", left, closed_left, -1), ("x > 0", right, closed_right, 1)):
            derived = sp.diff(rule, x)
            ok, method = equal(derived, closed, symbols=(x, alpha), sign=sign)
            results.append(Identity(name, f"d/dx {name}(x) = {sp.sstr(closed)} for {side}", derived, closed, method, ok))
        # the library's value at the kink is one of the one-sided limits (a valid subgradient
        # for convex ones); sympy's Heaviside(0) = 1/2 would be neither
        one_sided = {sp.limit(closed_left, x, 0, "-"), sp.limit(closed_right, x, 0, "+")}
        results.append(Identity(name, f"{name}'(0) := {at_zero} is a one-sided limit", at_zero, at_zero,
                                "one-sided limits", at_zero in one_sided))
    results.append(prove_softmax_jacobian(3))
    return results


def prove_softmax_jacobian(d: int = 3) -> Identity:
    """d softmax(z)_i / d z_j = p_i (delta_ij - p_j), i.e. diag(p) - p p^T, for ``d`` classes."""
    z = sp.symbols(f"z1:{d + 1}", real=True)
    denominator = sum(sp.exp(zi) for zi in z)
    p = [sp.exp(zi) / denominator for zi in z]
    derived = sp.Matrix(d, d, lambda i, j: sp.diff(p[i], z[j]))
    closed = sp.diag(*p) - sp.Matrix(p) * sp.Matrix(p).T
    ok = all(sp.simplify(e) == 0 for e in (derived - closed))
    return Identity("softmax", f"Jacobian of softmax on {d} classes = diag(p) - p p^T", derived, closed, "symbolic", ok)


def report(results: list[Identity]) -> str:
    """One line per identity: PASS/FAIL, the statement and the method."""
    return "\n".join(f"{'PASS' if r.passed else 'FAIL'}  {r.statement}  [{r.method}]" for r in results)
