"""Sympy proofs that the closed-form activation derivatives of funcmlp's registry are right.

For each entry of :data:`funcmlp.registry.activations.ACTIVATIONS` with sympy forms (built-ins and
registered ones alike), sympy differentiates the forward rule and the result is compared
with the entry's closed form (the expression funcmlp evaluates, written in sympy beside the
JAX code): a symbolic zero test of the difference where sympy can decide it, otherwise
exact comparison at random rational points with 50-digit arithmetic. Activations with
kinks are compared on each side of every kink, and the value chosen at the kink must be
one of the one-sided limits. Vector activations (softmax) compare sympy's Jacobian of the
forward rule with the closed-form vector-Jacobian product. Each result names the method
that proved it.

Contract: registry entries in, :class:`Identity` results out (each names its method); imports
nothing else of ``derivations``; the engine and the chain proof rely on these closed forms.

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

from funcmlp.registry.activations import ACTIVATIONS, ActivationSpec

x = sp.Symbol("x", real=True)
_alpha = sp.Symbol("alpha", positive=True)


def sigmoid(t):
    return ACTIVATIONS["sigmoid"].sympy_forward(t, None)


class Identity(NamedTuple):
    """One checked identity: ``derived == closed_form`` on a domain."""

    name: str
    statement: str
    derived: sp.Expr
    closed_form: sp.Expr
    method: str
    passed: bool


def equal(
    a: sp.Expr, b: sp.Expr, *, symbols=(x,), samples: int = 12, seed: int = 0, side: tuple | None = None
) -> tuple[bool, str]:
    """Decide ``a == b``: symbolic simplification first, else exact random rational points.

    ``side = (c, -1)`` (or ``(c, +1)``) restricts the sample points of ``x`` to x < c (x > c).
    """
    difference = sp.simplify(a - b)
    if difference == 0:
        return True, "symbolic"
    if side is None:
        difference = sp.simplify(difference.rewrite(sp.exp))
        if difference == 0:
            return True, "symbolic"
    rng = random.Random(seed)
    for _ in range(samples):
        point = {}
        for s in symbols:
            value = sp.Rational(rng.randint(1, 4000), rng.randint(1, 1000))
            if s == x and side is not None:
                value = side[0] + side[1] * value
            elif s == x and rng.random() < 0.5:
                value = -value
            point[s] = value
        if abs(sp.N(difference.subs(point), 50)) > sp.Float(10) ** -40:
            return False, "random rational points (50 digits)"
    return True, "random rational points (50 digits)"


_t = sp.Symbol("t", positive=True)


def on_side(expr: sp.Expr, at, direction: int) -> sp.Expr:
    """``expr`` on the side x < ``at`` (-1) or x > ``at`` (+1): a Piecewise picks its branch.

    ``x`` is replaced by ``at +- t`` with t > 0, the conditions decide, then t goes back to
    ``+-(x - at)``.
    """
    return sp.piecewise_fold(expr.subs(x, at + direction * _t)).subs(_t, direction * (x - at))


def one_sided_limit(expr: sp.Expr, at, direction: int) -> sp.Expr:
    """Limit of ``expr(x)`` as x -> ``at`` from the left (-1) or right (+1) (sympy's own limit
    of a Piecewise can take the wrong branch, so the branch is chosen first)."""
    return sp.limit(on_side(expr, at, direction).subs(x, at + direction * _t), _t, 0, "+")


def prove_elementwise(spec: ActivationSpec, alpha=None) -> list[Identity]:
    """sympy.diff of the forward rule equals the closed form (each side of each kink), and
    the closed form's value at a kink is a one-sided limit of the derivative. ``alpha``: a
    number for the parameter, or (default) a positive symbol, proving it for every alpha."""
    a = (_alpha if alpha is None else alpha) if spec.default_alpha is not None else None
    symbols = (x, _alpha) if a is _alpha else (x,)
    derived = sp.diff(spec.sympy_forward(x, a), x)
    closed = spec.sympy_derivative(x, a)
    kinks = sorted(sp.nsimplify(repr(k)) for k in spec.kinks)
    if not kinks:
        ok, method = equal(derived, closed, symbols=symbols)
        return [Identity(spec.name, f"d/dx {spec.name}(x) = {sp.sstr(closed)}", derived, closed, method, ok)]
    results = []
    edges = [-sp.oo, *kinks, sp.oo]
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        # sample inside the interval: to the right of its left kink, else to the left of its right kink
        side = (low, 1) if low != -sp.oo else (high, -1)
        derived_here, closed_here = on_side(derived, *side), on_side(closed, *side)
        ok, method = equal(derived_here, closed_here, symbols=symbols, side=side)
        where = f"x < {high}" if low == -sp.oo else f"x > {low}" if high == sp.oo else f"{low} < x < {high}"
        results.append(
            Identity(
                spec.name,
                f"d/dx {spec.name}(x) = {sp.sstr(closed_here)} for {where}",
                derived_here,
                closed_here,
                method,
                ok,
            )
        )
    for kink in kinks:
        limits = {sp.simplify(one_sided_limit(derived, kink, d)) for d in (-1, 1)}
        at_kink = sp.simplify(closed.subs(x, kink))
        ok = any(sp.simplify(at_kink - limit) == 0 for limit in limits)
        results.append(
            Identity(
                spec.name,
                f"{spec.name}'({kink}) := {at_kink} is a one-sided limit ({spec.convention})",
                at_kink,
                at_kink,
                "one-sided limits",
                ok,
            )
        )
    return results


def prove_vector_jacobian(spec: ActivationSpec, d: int = 3) -> Identity:
    """Jacobian of a vector activation on ``d`` inputs by sympy equals its closed-form
    vector-Jacobian product (row i = e_i^T J); for softmax diag(p) - p p^T."""
    z = list(sp.symbols(f"z1:{d + 1}", real=True))
    a = _alpha if spec.default_alpha is not None else None
    outputs = spec.sympy_forward(z, a)
    derived = sp.Matrix(d, d, lambda i, j: sp.diff(outputs[i], z[j]))
    closed = sp.Matrix([spec.sympy_vjp(z, [int(i == j) for j in range(d)], a) for i in range(d)])
    ok = all(sp.simplify(e) == 0 for e in (derived - closed))
    return Identity(
        spec.name,
        f"Jacobian of {spec.name} on {d} inputs = its closed-form vector-Jacobian product",
        derived,
        closed,
        "symbolic",
        ok,
    )


def prove_activation_derivatives() -> list[Identity]:
    """Every registry entry with sympy forms, plus seed 003 eq. 38 (tanh from sigmoid)."""
    results = []
    for spec in ACTIVATIONS.values():
        if not spec.symbolic:
            continue
        results += prove_elementwise(spec) if spec.elementwise else [prove_vector_jacobian(spec)]
    tanh = ACTIVATIONS["tanh"].sympy_forward(x, None)
    ok, method = equal(tanh, 2 * sigmoid(2 * x) - 1)
    results.append(
        Identity(
            "tanh_from_sigmoid",
            "tanh(x) = 2 sigmoid(2x) - 1 (seed 003 eq. 38)",
            tanh,
            2 * sigmoid(2 * x) - 1,
            method,
            ok,
        )
    )
    return results


def report(results: list[Identity]) -> str:
    """One line per identity: PASS/FAIL, the statement and the method."""
    return "\n".join(f"{'PASS' if r.passed else 'FAIL'}  {r.statement}  [{r.method}]" for r in results)
