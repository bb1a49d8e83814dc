"""The steps after the first: up to :data:`MAX_STEPS` gradient steps of a worked example, fast.

Contract: a checked example and its parameters after the first (exact) step in, the loss after
each step and the final parameters out. Exact rationals stay exact while they are short; once a
value is irrational or long, the engine's closed form of one step over parameter symbols
(:func:`derivations.model.engine.run_step` with :data:`derivations.model.engine.SYMPY`) is compiled once
with ``sympy.lambdify`` and iterated in :data:`DIGITS`-digit decimal arithmetic (Python's
``decimal``; mpmath where the closed form holds a function ``decimal`` lacks, such as erfc). An online
pass is one example's step compiled once (the example's numbers its arguments) and applied example by
example: a replay costs time in proportion to its steps.

Example:
    >>> from derivations.examples.spec import read_spec
    >>> ex = read_spec({"activations": ["sigmoid"], "loss": "half_sse", "learning_rate": "1", "x": ["1"], "y": ["0"],
    ...                 "layers": [{"W": [["0"]], "b": ["0"]}]})
    >>> losses, layers = iterate(ex, tuple(zip(ex.weights, ex.biases)), 1000, start=0)  # from the initial weights
    >>> print(decimal(losses[1000], 8))
    0.00013323117
"""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal, localcontext
from functools import partial

import mpmath
import sympy as sp

from derivations.examples.spec import MAX_STEPS, WorkedExample
from derivations.model import engine
from derivations.model.numbers import decimal  # noqa: F401 (the example above)

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


def _compile(pieces: list) -> tuple:
    """Each ``(symbols, outputs)`` of ``pieces`` as a function ``symbols -> outputs``, compiled (common
    subexpressions evaluated once) for ``decimal`` numbers where the functions of them all are exp, log, sqrt
    and tanh, else for mpmath (all of one kind, so that their numbers mix): ``([function, ...], to_number)``."""
    pieces = [(symbols, [sp.sympify(v) for v in outputs]) for symbols, outputs in pieces]
    names = {type(f).__name__ for _, outputs in pieces for v in outputs for f in v.atoms(sp.Function)}
    if not names <= set(DECIMAL_FUNCTIONS):
        functions = [sp.lambdify(symbols, outputs, modules="mpmath", cse=True) for symbols, outputs in pieces]
        return functions, lambda v: mpmath.mpf(v.p) / v.q if v.is_Rational else mpmath.mpf(str(v))
    table: dict = {}
    pieces = [(symbols, [_constants(v, table) for v in outputs]) for symbols, outputs in pieces]
    constants = [Decimal(str(sp.N(c, DIGITS + 5))) for c in table]
    functions = [
        sp.lambdify(symbols + list(table.values()), outputs, modules=[DECIMAL_FUNCTIONS], cse=True)
        for symbols, outputs in pieces
    ]
    return [lambda *theta, f=f: f(*theta, *constants) for f in functions], (
        lambda v: Decimal(v.p) / Decimal(v.q) if v.is_Rational else Decimal(str(v))
    )


def compiled_step(ex: WorkedExample, like, momentum: bool, rule=step, online: bool = False):
    """The engine's closed form of one step, ``flat parameters (and their last changes, with
    momentum) -> [loss before the step, *new parameters (, *their changes)]``, compiled (:func:`_compile`):
    ``(function, to_number)``. ``online``: the step on one example whose inputs and targets are arguments
    too, ``(*parameters, *changes, *x, *y) -> [...]``, and beside it ``(*parameters, *x, *y) -> [that
    example's loss]``: ``((step, loss), to_number)``. An online pass applies them example by example, so
    what is compiled does not grow with the examples or the passes (composing a pass's steps did)."""
    count = len(_flat(like))
    theta = [sp.Symbol(f"theta_{i}", real=True) for i in range(count * (2 if momentum else 1))]
    layers, changes = _shaped(theta[:count], like), (_shaped(theta[count:], like) if momentum else None)
    data = []
    if online:
        x = tuple(sp.Symbol(f"x_{i}", real=True) for i in range(len(ex.x[0])))
        y = tuple(sp.Symbol(f"y_{j}", real=True) for j in range(len(ex.y[0])))
        ex, data = replace(ex, x=(x,), y=(y,)), [*x, *y]
    result = rule(ex, layers, changes)
    outputs = [result.loss, *_flat(result.new_layers), *(_flat(result.changes) if momentum else [])]
    if not online:
        (function,), to_number = _compile([(theta, outputs)])
        return function, to_number
    functions, to_number = _compile([(theta + data, outputs), (theta[:count] + data, [mean_loss(ex, layers)])])
    return tuple(functions), to_number


def mean_loss(ex: WorkedExample, layers):
    """The mean loss of the example's examples at ``layers``, with its L2 term (the loss an online pass shows)."""
    return engine.gradients(engine.SYMPY, ex.network(layers), ex.x, ex.y, ex.l2).loss


def online_pass(ex: WorkedExample, layers, changes, rule=step) -> engine.Pass:
    """One online pass, exact: the mean loss over the examples at ``layers``, then one ``rule`` step per
    example, in order, each step's parameters settled (:func:`_settle`) before the next example's step."""
    loss = mean_loss(ex, layers)
    for x, y in zip(ex.x, ex.y, strict=True):
        after = rule(replace(ex, x=(x,), y=(y,)), layers, changes)
        layers, changes = _settled(after.new_layers), (_settled(after.changes) if ex.momentum is not None else None)
    return engine.Pass(loss=loss, new_layers=layers, changes=changes)


def _compiled_pass(ex: WorkedExample, like, momentum: bool, rule, online: bool) -> tuple:
    """``(advance, to_number)``: ``advance(values) -> (loss before, values after)`` for one step, or with
    ``online`` one pass (the mean of the examples' losses, then the compiled step example by example)."""
    if not online:
        compiled, to_number = compiled_step(ex, like, momentum, rule)
        return (lambda values: (lambda out: (out[0], out[1:]))(compiled(*values))), to_number
    (compiled, loss), to_number = compiled_step(ex, like, momentum, rule, online=True)
    count = len(_flat(like))
    data = [[to_number(_settle(v)) for v in (*x, *y)] for x, y in zip(ex.x, ex.y, strict=True)]

    def advance(values):
        mean = sum(loss(*values[:count], *row)[0] for row in data) / len(data)
        for row in data:
            values = compiled(*values, *row)[1:]
        return mean, values

    return advance, to_number


def shown(t: int, steps: int) -> bool:
    """The steps whose loss a replay shows: the first ten, every power of ten, the last."""
    return t <= 10 or t == steps or str(t).rstrip("0") == "1"


def iterate(
    ex: WorkedExample,
    layers,
    steps: int,
    *,
    start: int = 1,
    keep=None,
    changes=None,
    rule=step,
    online=False,
    states: dict | None = None,
) -> tuple[dict, tuple]:
    """``({t: the loss after step t}, the parameters after step ``steps``)`` from ``layers``, the
    parameters after step ``start`` (and ``changes``, that step's parameter changes, for momentum);
    the losses (of the steps ``keep(t)`` selects, all by default) and the parameters as sympy numbers.
    ``rule(ex, layers, changes)``: one step (:func:`step`, or a slip's variant of it). ``online``: each
    "step" is a pass of one step per example, in order (:func:`online_pass`), its loss the mean loss
    before the pass; it costs the examples' steps, in proportion to the passes. ``states``: a dict whose keys
    are steps u; each gets ``(the parameters before step u, the changes of step u - 1 or None without
    momentum)``, as sympy numbers (a step written out in full starts from them)."""
    keep, states = keep or (lambda t: True), {} if states is None else states
    if not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"steps must be a whole number from 1 to {MAX_STEPS:,}, got {steps!r}")
    momentum = ex.momentum is not None
    if momentum and changes is None:  # from the example's starting velocity, or from rest
        changes = ex.velocity or tuple(
            ([[sp.Integer(0)] * len(row) for row in W], None if b is None else [sp.Integer(0)] * len(b))
            for W, b in layers
        )
    changes = _settled(changes) if momentum else None
    losses, t, layers = {}, start, _settled(layers)
    one = partial(online_pass, rule=rule) if online else rule
    while t <= steps and _short_rationals(layers) and (not momentum or _short_rationals(changes)):  # exact while short
        if t + 1 in states:
            states[t + 1] = (layers, changes)
        after = one(ex, layers, changes)
        if keep(t):
            losses[t] = after.loss
        if t == steps:
            return losses, layers
        layers, changes = _settled(after.new_layers), (_settled(after.changes) if momentum else None)
        t += 1
    with mpmath.workdps(DIGITS), localcontext() as context:
        context.prec = DIGITS
        advance, to_number = _compiled_pass(ex, layers, momentum, rule, online)
        count = len(_flat(layers))
        values = [to_number(v) for v in _flat(layers) + (_flat(changes) if momentum else [])]
        while t <= steps:
            if t + 1 in states:
                states[t + 1] = (
                    _kept(ex, layers, _shaped([_number(v) for v in values[:count]], layers)),
                    _shaped([_number(v) for v in values[count:]], layers) if momentum else None,
                )
            loss, new = advance(values)
            if keep(t):
                losses[t] = _number(loss)
            if t == steps:
                break
            values = new
            t += 1
        final = _shaped([_number(v) for v in values[:count]], layers)
    return losses, _kept(ex, layers, final)


def _kept(ex: WorkedExample, layers, new) -> tuple:
    """``new`` with the fixed parameters' exact values of ``layers`` (a decimal 0.1 is not the file's 1/10)."""
    kept = ex.fixed or ((),) * len(layers)
    return tuple(
        (W if "W" in names else new_W, b if "b" in names else new_b)
        for (W, b), (new_W, new_b), names in zip(layers, new, kept, strict=True)
    )
