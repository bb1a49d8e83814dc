"""Sympy proofs of the registry's curvature forms: each loss's Hessian factor and each activation's f''.

The curvature quantities of :mod:`funcmlp.curvature` (BEYOND: "curvature from virtual sensitivities")
start from two registry forms written beside the JAX ones:

* a loss's factor ``S`` (``d x C``) of one example's Hessian in its input ``a`` (the logits ``z`` of a
  logits loss): ``S S^T = d^2 L / da^2``. sympy builds ``sympy.hessian`` of the loss's own sympy value
  and compares it with ``S S^T`` entry by entry: a symbolic zero test where the loss is smooth (random
  rational points in 50 digits where simplification cannot decide); for a piecewise loss (``huber``,
  ``absolute_error``, ``hinge``) exactly, at rational points off the kinks, until every piece (each sign
  pattern of the pieces' switches, e.g. ``|a_1 - y_1| - 1``) has been visited. A loss's second
  derivative is a Dirac delta at a kink; off the kinks it is what is compared.
* an elementwise activation's ``f''``: equal to ``d/dx`` of its closed-form ``f'`` (itself proven equal
  to ``d/dx f`` by :mod:`derivations.proofs.activations`) on each side of each kink, its value at a kink one
  of the one-sided limits.

Contract: registry entries in, :class:`~derivations.proofs.activations.Identity` results out (each names its
method); :func:`hessian_factor` and :func:`second_derivative` are the one door to the two registry forms
(:mod:`derivations.proofs.curvature` builds its network proofs on them); :func:`target_value` draws a target
of a loss's kind.

Example:
    >>> results = prove_hessian_factors() + prove_second_derivatives()
    >>> all(r.passed for r in results)
    True
    >>> next(r.method for r in results if r.name == "huber")
    'exact rational points (16 of 16 pieces)'
"""

from __future__ import annotations

import random
from types import SimpleNamespace

import sympy as sp

from derivations.proofs.activations import Identity, equal, prove_elementwise
from funcmlp.registry.activations import ACTIVATIONS, Activation
from funcmlp.registry.losses import LOSSES, Loss, get_loss

_KINKED = (sp.Abs, sp.sign, sp.DiracDelta, sp.Heaviside)


def hessian_factor(loss: Loss, a: list, y: list) -> sp.Matrix | None:
    """The registry's factor ``S`` (``d x C``, ``S S^T = d^2 L/da^2`` of one example, ``a`` the logits
    of a logits loss), or None for a loss without one."""
    if getattr(loss.spec, "sympy_hessian_factor", None) is None:
        return None
    return sp.Matrix(loss.sympy_hessian_factor(list(a), list(y)))


def second_derivative(activation: Activation, v):
    """The registry's closed-form ``f''(v)`` of an elementwise activation, as funcmlp evaluates it."""
    return activation.sympy_second_derivative(v)


def target_value(loss: Loss, rng: random.Random):
    """An exact target of the loss's kind: 0 or 1 (labels), in [0, 1] (probabilities, class rows),
    >= 0 (counts), else any rational in [-2, 2]."""
    kind = loss.target_kind
    if kind.labels:
        return sp.Integer(rng.randint(0, 1))
    value = sp.Rational(rng.randint(0, 2000), 1000)
    if kind.high is not None:
        return value / 2
    return value if kind.low is not None else 2 * value - 2


def switches(*exprs) -> list:
    """The expressions whose signs pick a piece: ``lhs - rhs`` of each condition, the argument of each
    Abs, sign, DiracDelta and Heaviside.

    Example:
        >>> a, y = sp.symbols("a y", real=True)
        >>> switches(sp.Piecewise((a, sp.Abs(a - y) <= 1), (0, True)))
        [a - y, Abs(a - y) - 1]
    """
    found: set = set()
    for expr in exprs:
        expr = sp.sympify(expr)
        found |= {r.lhs - r.rhs for r in expr.atoms(sp.Rel)}
        found |= {f.args[0] for f in expr.atoms(*_KINKED)}
    return sorted(found, key=sp.default_sort_key)


def compare(derived: sp.Matrix, closed: sp.Matrix, draw, *, seed: int = 0, most: int = 400) -> tuple[bool, str]:
    """``derived == closed`` entry by entry: ``(passed, method)``. Without pieces a symbolic zero test
    (:func:`derivations.proofs.activations.equal` falls back to random rational points in 50 digits); with
    pieces, exact rational points ``draw(rng) -> {symbol: value}`` off the switches, until each sign
    pattern of the switches has been visited or ``most`` points were tried."""
    difference = derived - closed
    cuts = switches(difference)
    if not cuts:
        checks = [equal(d, c, symbols=tuple(difference.free_symbols)) for d, c in zip(derived, closed, strict=True)]
        return all(ok for ok, _ in checks), " + ".join(sorted({m for _, m in checks}))
    rng, seen, wanted = random.Random(seed), set(), 2 ** len(cuts)
    for _ in range(most):
        point = draw(rng)
        signs = tuple(sp.sign(cut.xreplace(point)) for cut in cuts)
        if 0 in signs:
            continue  # on a kink: the second derivative is a Dirac delta there
        values = difference.xreplace(point).doit()
        if any(v != 0 and abs(sp.N(v, 50)) > sp.Float(10) ** -40 for v in values):
            return False, f"exact rational points (failed at {point})"
        seen.add(signs)
        if len(seen) == wanted:
            break
    return bool(seen), f"exact rational points ({len(seen)} of {wanted} pieces)"


def _symbols(name: str, d: int) -> list:
    return list(sp.symbols(f"{name}1:{d + 1}", real=True))


def prove_hessian_factor(loss: Loss, d: int | None = None) -> Identity | None:
    """``S S^T = sympy.hessian`` of one example's loss in its ``d`` inputs (None: the loss has no factor)."""
    d = d or max(2, loss.spec.min_units)
    variable = "z" if loss.spec.takes == "logits" else "a"
    a, y = _symbols(variable, d), _symbols("y", d)
    S = hessian_factor(loss, a, y)
    if S is None:
        return None
    derived = sp.hessian(loss.sympy_value(a, y), a)
    closed = S * S.T

    def draw(rng):
        inside = loss.spec.takes == "probabilities"
        return {**{v: _input(rng, inside) for v in a}, **{v: target_value(loss, rng) for v in y}}

    ok, method = compare(derived, closed, draw) if S.shape[0] == d else (False, f"S has {S.shape[0]} rows")
    what = "logits z" if variable == "z" else "probabilities a" if loss.spec.takes == "probabilities" else "outputs a"
    where = (
        "for every input and target"
        if method == "symbolic"
        else "on each piece, off the kinks (a Dirac delta there), targets of its kind"
        if method.startswith("exact")
        else "at random rational inputs and targets"
    )
    named = str(loss) if loss.parameter is None else f"{loss} ({loss.spec.parameter} = {sp.nsimplify(loss.parameter)})"
    return Identity(
        str(loss),
        f"{named}: S S^T = d^2L/d{variable}^2, the Hessian of one example's loss in its {what}, {where} "
        f"({d} units; S {S.shape[0]} x {S.shape[1]})",
        derived,
        closed,
        method,
        ok,
    )


def _input(rng: random.Random, probability: bool):
    """An exact input of a loss: in (0, 1) for a probability, else in [-2, 2]."""
    return sp.Rational(rng.randint(1, 999), 1000) if probability else sp.Rational(rng.randint(-2000, 2000), 1000)


def prove_hessian_factors() -> list[Identity]:
    """One identity per loss of the registry with a Hessian factor (built-ins and registered ones)."""
    results = [prove_hessian_factor(get_loss(name)) for name, spec in LOSSES.items() if spec.sympy_value is not None]
    return [r for r in results if r is not None]


def prove_second_derivative(activation: Activation) -> list[Identity]:
    """``f''`` of an elementwise activation equals ``d/dx`` of its closed-form ``f'`` on each side of each
    kink, and its value at a kink is a one-sided limit of that: for every ``alpha > 0`` where the entry
    gives its ``f''`` as a rule of ``(x, alpha)``, else at the activation's own ``alpha``."""
    spec = activation.spec
    rule = getattr(spec, "sympy_second_derivative", None)
    if rule is None or spec.default_alpha is None:
        rule, alpha = (lambda x, _alpha: second_derivative(activation, x)), activation.symbolic_alpha()
    else:
        alpha = None  # a positive symbol: one proof for every alpha
    # the closed-form f' in the place of the forward rule: prove_elementwise's d/dx of it, piece by piece
    shifted = SimpleNamespace(
        name=f"{spec.name}'",
        sympy_forward=spec.sympy_derivative,
        sympy_derivative=rule,
        kinks=spec.kinks,
        default_alpha=spec.default_alpha,
        convention=f"of d/dx {spec.name}'",
    )
    where = "" if spec.default_alpha is None else " (every alpha > 0)" if alpha is None else f" (alpha = {alpha})"
    return [
        r._replace(name=spec.name, statement=f"{spec.name}'': {r.statement}{where}")
        for r in prove_elementwise(shifted, alpha=alpha)
    ]


def prove_second_derivatives() -> list[Identity]:
    """One or more identities per elementwise activation of the registry with sympy forms."""
    return [
        identity
        for spec in ACTIVATIONS.values()
        if spec.symbolic and spec.elementwise
        for identity in prove_second_derivative(Activation(spec.name))
    ]


def prove_curvature_forms() -> list[Identity]:
    """Every loss's Hessian factor and every elementwise activation's second derivative."""
    return prove_hessian_factors() + prove_second_derivatives()


__all__ = [
    "compare",
    "hessian_factor",
    "prove_curvature_forms",
    "prove_hessian_factor",
    "prove_hessian_factors",
    "prove_second_derivative",
    "prove_second_derivatives",
    "second_derivative",
    "switches",
    "target_value",
]
