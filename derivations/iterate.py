"""The steps after the first: up to :data:`MAX_STEPS` gradient steps of a worked example, fast.

Contract: a checked example and its parameters after the first (exact) step in, the loss after
each step and the final parameters out. Exact rationals stay exact while they are short; once a
value is irrational or long, the engine's closed form of one step over parameter symbols
(:func:`derivations.engine.run_step` with :data:`derivations.engine.SYMPY`) is compiled once
with ``sympy.lambdify`` and iterated in :data:`DIGITS`-digit decimal arithmetic (Python's
``decimal``; mpmath where the closed form holds a function ``decimal`` lacks, such as erfc).

Example:
    >>> from derivations.spec import read_spec
    >>> ex = read_spec({"activations": ["sigmoid"], "loss": "half_sse", "learning_rate": "1", "x": ["1"], "y": ["0"],
    ...                 "layers": [{"W": [["0"]], "b": ["0"]}]})
    >>> losses, layers = iterate(ex, tuple(zip(ex.weights, ex.biases)), 1000, start=0)  # from the initial weights
    >>> print(decimal(losses[1000], 8))
    0.00013323117
"""

from __future__ import annotations

from decimal import Decimal, localcontext

import mpmath
import sympy as sp

from derivations import engine
from derivations.numbers import decimal  # noqa: F401 (the example above)
from derivations.spec import MAX_STEPS, WorkedExample

DIGITS = 50
EXACT_DIGITS = 40
"""Rationals of at most this many digits (numerator and denominator) are carried exactly."""


def _number(value):
    """A decimal (or mpmath) result as a sympy number: a 50-digit Float, or the exact rational when
    its decimal has at most 15 significant digits (a 50-digit result that rounded would not end in
    35 zeros: 0.5 stays 1/2)."""
    text = Decimal(str(value)).normalize()
    return sp.Rational(str(text)) if len(text.as_tuple().digits) <= 15 else sp.Float(str(value), DIGITS)


def _settle(value):
    """Exact rationals stay exact; closed forms become 50-digit decimals between steps (nested
    exponentials would otherwise grow with every step)."""
    return value if value.is_Rational else sp.N(value, DIGITS)


def _short_rationals(layers) -> bool:
    values = [v for W, b in layers for v in [x for row in W for x in row] + list(b or [])]
    return all(v.is_Rational and len(str(abs(v.p))) <= EXACT_DIGITS and len(str(v.q)) <= EXACT_DIGITS for v in values)


def _flat(layers) -> list:
    return [v for W, b in layers for v in [x for row in W for x in row] + list(b or [])]


def _shaped(values: list, like) -> tuple:
    """The flat ``values`` back in the shape of ``like`` (layers of (W rows, b or None))."""
    out, it = [], iter(values)
    for W, b in like:
        out.append(([[next(it) for _ in row] for row in W], None if b is None else [next(it) for _ in b]))
    return tuple(out)


def _tanh(v):
    return 1 - 2 / ((2 * v).exp() + 1)


DECIMAL_FUNCTIONS = {"exp": lambda v: v.exp(), "log": lambda v: v.ln(), "sqrt": lambda v: v.sqrt(), "tanh": _tanh}
"""The functions of the closed forms that Python's ``decimal`` evaluates (others: mpmath)."""


def _constants(expr, table: dict):
    """``expr`` with each numeric subexpression but the integers (``1/20``, ``sqrt(2)/2``) replaced by
    a symbol of ``table``: evaluated once to a decimal, not at every step."""
    if getattr(expr, "is_number", False) and not expr.is_Integer:
        return table.setdefault(expr, sp.Symbol(f"c_{len(table)}"))
    if not expr.args or not expr.free_symbols:
        return expr
    return expr.func(*[_constants(arg, table) for arg in expr.args])


def step(ex: WorkedExample, layers, changes, **options) -> engine.Pass:
    """One step of the engine with the example's options (fixed parameters, momentum, L2)."""
    return engine.run_step(
        ex.network(layers),
        ex.x,
        ex.y,
        ex.learning_rate,
        fixed=ex.fixed,
        momentum=ex.momentum,
        previous=changes,
        l2=ex.l2,
        **options,
    )


def _settled(layers) -> tuple:
    return tuple(
        ([[_settle(v) for v in row] for row in W], None if b is None else [_settle(v) for v in b]) for W, b in layers
    )


def compiled_step(ex: WorkedExample, like, momentum: bool, rule=step):
    """The engine's closed form of one step, ``flat parameters (and their last changes, with
    momentum) -> [loss before the step, *new parameters (, *their changes)]``, compiled (common
    subexpressions evaluated once) for ``decimal`` numbers where its functions are exp, log, sqrt
    and tanh, else for mpmath: ``(function, to_number)``."""
    count = len(_flat(like))
    symbols = [sp.Symbol(f"theta_{i}", real=True) for i in range(count * (2 if momentum else 1))]
    layers, changes = _shaped(symbols[:count], like), (_shaped(symbols[count:], like) if momentum else None)
    result = rule(ex, layers, changes)
    outputs = [
        sp.sympify(v) for v in [result.loss, *_flat(result.new_layers), *(_flat(result.changes) if momentum else [])]
    ]
    names = {type(f).__name__ for v in outputs for f in v.atoms(sp.Function)}
    if names <= set(DECIMAL_FUNCTIONS):
        table: dict = {}
        outputs = [_constants(v, table) for v in outputs]
        function = sp.lambdify(symbols + list(table.values()), outputs, modules=[DECIMAL_FUNCTIONS], cse=True)
        values = [Decimal(str(sp.N(c, DIGITS + 5))) for c in table]
        return (
            lambda *theta: function(*theta, *values)
        ), lambda v: Decimal(v.p) / Decimal(v.q) if v.is_Rational else Decimal(str(v))
    function = sp.lambdify(symbols, outputs, modules="mpmath", cse=True)
    return function, lambda v: mpmath.mpf(v.p) / v.q if v.is_Rational else mpmath.mpf(str(v))


def shown(t: int, steps: int) -> bool:
    """The steps whose loss a replay shows: the first ten, every power of ten, the last."""
    return t <= 10 or t == steps or str(t).rstrip("0") == "1"


def iterate(
    ex: WorkedExample, layers, steps: int, *, start: int = 1, keep=None, changes=None, rule=step
) -> tuple[dict, tuple]:
    """``({t: the loss after step t}, the parameters after step ``steps``)`` from ``layers``, the
    parameters after step ``start`` (and ``changes``, that step's parameter changes, for momentum);
    the losses (of the steps ``keep(t)`` selects, all by default) and the parameters as sympy numbers.
    ``rule(ex, layers, changes)``: one step (:func:`step`, or a slip's variant of it)."""
    keep = keep or (lambda t: True)
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS:,}, got {steps!r}")
    momentum = ex.momentum is not None
    if momentum and changes is None:
        changes = tuple(
            ([[sp.Integer(0)] * len(row) for row in W], None if b is None else [sp.Integer(0)] * len(b))
            for W, b in layers
        )
    changes = _settled(changes) if momentum else None
    losses, t, layers = {}, start, _settled(layers)
    while t <= steps and _short_rationals(layers) and (not momentum or _short_rationals(changes)):  # exact while short
        after = rule(ex, layers, changes)
        if keep(t):
            losses[t] = after.loss
        if t == steps:
            return losses, layers
        layers, changes = _settled(after.new_layers), (_settled(after.changes) if momentum else None)
        t += 1
    with mpmath.workdps(DIGITS), localcontext() as context:
        context.prec = DIGITS
        compiled, to_number = compiled_step(ex, layers, momentum, rule)
        count = len(_flat(layers))
        values = [to_number(v) for v in _flat(layers) + (_flat(changes) if momentum else [])]
        while t <= steps:
            loss, *new = compiled(*values)
            if keep(t):
                losses[t] = _number(loss)
            if t == steps:
                break
            values = new
            t += 1
        final = _shaped([_number(v) for v in values[:count]], layers)
    kept = ex.fixed or ((),) * len(layers)  # fixed parameters keep their exact values
    return losses, tuple(
        (W if "W" in names else new_W, b if "b" in names else new_b)
        for (W, b), (new_W, new_b), names in zip(layers, final, kept, strict=True)
    )
