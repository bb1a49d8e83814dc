"""A step's quantities in the spec file's layout: an :class:`~derivations.model.engine.Pass` recorded as
the steps of a :class:`~derivations.model.derivation.Derivation` (vectors, matrices in the file's
convention, a batch as (batch, units) or (units, batch)), and the printed keys of a spec (whole
steps or single entries such as ``w^2_{1,2} new``) resolved to those steps.

Contract: engine results and a checked example in, named steps out; used by the replay and by
the slips tried on its errata alike, so both name and lay out every value the same way.

Example:
    >>> from derivations.examples.spec import read_spec
    >>> from derivations.model.derivation import Derivation
    >>> ex = read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.5", "x": ["2"], "y": ["0"],
    ...                 "layers": [{"W": [["1"]], "b": ["0"]}]})
    >>> d = Derivation("demo", "demo"); record(d, ex, engine.run_step(ex.network(), ex.x, ex.y, ex.learning_rate))
    >>> d.values["W^1 new"], d.values["b^1 new"]
    ([-1], [-1])
"""

from __future__ import annotations

import sympy as sp

from derivations.examples import formulas, printed_steps
from derivations.examples.spec import OUTPUT, WorkedExample
from derivations.model import engine
from derivations.model.derivation import Derivation, Printed
from derivations.model.formula import Name, formula, prose
from derivations.model.quantity import Key, asked, parse, printing
from funcmlp.registry.activations import get_activation


def _compact(values: list) -> list:
    """Values kept exact while their closed form is short (``1/(exp(-13/25) + 1)``), as 50-digit
    decimals once it is long: a deep sigmoid network's exact forms nest exponentials layer
    after layer, and printing them would evaluate each from scratch (minutes for 3 layers)."""
    return [v if v.is_Rational or sp.count_ops(v) <= 40 else sp.N(v, 50) for v in map(sp.sympify, values)]


WORKED = engine.Algebra(settle=_compact)
"""The engine on exact sympy numbers, long closed forms settled to 50-digit decimals."""


def record(d: Derivation, ex: WorkedExample, result: engine.Pass, t: int = 1, want: set | None = None) -> None:
    """Every quantity of one step (an :class:`engine.Pass`) as a step of ``d``, in the file's layout, each
    with its :class:`~derivations.model.quantity.Key` (gradient step ``t``). A step after the first opens with
    the parameters it starts from (``ex``'s) and, with momentum, the velocity (``ex.velocity``); with momentum
    each parameter's velocity comes before its new value. The steps written only where printed (``f'(n^k)``,
    ``exp(n^k)``, ``dL/da^L``, ``delta_W^k``: :mod:`derivations.examples.printed_steps`) are those of ``want``
    (``{(quantity, layer)}``; by default the printed keys of step ``t``)."""
    convention, batch, depth = ex.convention, len(ex.x), len(ex.weights)
    want = printed_steps.wanted(ex, t) if want is None else want

    def put(quantity, layer, formula, values, shape=(), stage="", formula_latex=""):
        d.add(Key(quantity, layer, t, stage), formula, values, shape, formula_latex)

    def add(quantity, layer, formula, per_example):
        values, shape = convention.batch(per_example)
        put(quantity, layer, formula, values, shape)

    def of_n(k):  # f'(n^k) and exp(n^k), where printed
        slopes = printed_steps.slopes(ex.activations[k - 1], result.n[k]) if ("f'", k) in want else None
        if slopes is not None:
            add("f'", k, formulas.slope(ex.activations[k - 1], k), [_compact(row) for row in slopes])
        if ("exp", k) in want:
            add("exp", k, formulas.exponentials(k), [_compact(row) for row in printed_steps.exponentials(result.n[k])])

    _before(put, ex, t)
    add("a", 0, formula(Name("x")), result.a[0])
    for k in range(1, depth + 1):
        biased = ex.biases[k - 1] is not None
        if biased and ex.thresholds and ex.thresholds[k - 1]:
            add("n", k, formulas.net_input(k, convention, "theta"), result.n[k])
        else:
            add("n", k, formulas.net_input(k, convention, "b" if biased else None), result.n[k])
        of_n(k)
        add("a", k, formulas.activation(ex.activations[k - 1], k), result.a[k])
    own = ex.loss == OUTPUT
    units = len(ex.weights[-1][0])
    put("L", None, formulas.loss(None if own else ex.loss, depth, units, batch, ex.l2), [result.loss], ())
    if ("dL/da", depth) in want:  # the output layer's dL/da^L, where printed
        upstream = printed_steps.output_upstream(ex, result.a[depth])
        add("dL/da", depth, formulas.loss_derivative(None if own else ex.loss, depth, batch), upstream)
    add("s", depth, formulas.output_sensitivity(depth, batch, *_output(ex)), result.s[depth])
    deltas = any(key.quantity == "delta" for key in asked(ex.printed))  # the classic delta = -dL/dn, where printed

    def delta(k):
        if deltas:
            values, shape = convention.batch([[-v for v in row] for row in result.s[k]])
            put("delta", k, formulas.delta(k), values, shape)

    delta(depth)
    for k in range(depth - 1, 0, -1):
        add("dL/da", k, formulas.upstream(k, convention), result.g[k])
        add(
            "s",
            k,
            formulas.recursion(k, ex.activations[k - 1], get_activation(ex.activations[k - 1]).is_elementwise),
            result.s[k],
        )
        delta(k)
    if 0 in result.g:  # the gradient with respect to the inputs
        add("dL/da", 0, formulas.upstream(0, convention), result.g[0])
    for k in range(depth, 0, -1):
        grad, shape = convention.matrix(result.dW[k])
        put("dL/dW", k, formulas.weight_gradient(k, convention, batch, ex.l2), grad, shape)
        if ex.thresholds and ex.thresholds[k - 1]:  # thresholds: b = -theta
            put("dL/dtheta", k, formulas.bias_gradient(k, True, batch), [-v for v in result.db[k]])
        elif result.db[k] is not None:
            put("dL/db", k, formulas.bias_gradient(k, False, batch), result.db[k])
        kept = ("W", "b") if ex.learning_rate is None else (ex.fixed[k - 1] if ex.fixed else ())
        for kind, sign, new, change in _parts(ex, k, result.new_layers[k - 1], (result.changes or [None] * k)[k - 1]):
            if ("W" if kind == "W" else "b") in kept:
                continue
            values, shape = convention.matrix(new) if kind == "W" else ([sign * v for v in new], ())
            if (f"delta_{kind}", k) in want:  # the change in the step, where printed
                old = convention.matrix(ex.weights[k - 1])[0] if kind == "W" else [sign * v for v in ex.biases[k - 1]]
                moved = printed_steps.change(values, old)
                put(f"delta_{kind}", k, formulas.change(kind, k, ex.momentum is not None), moved, shape)
            if ex.momentum is None:
                put(kind, k, formulas.update(kind, k), values, shape, stage="new")
                continue
            velocity, _ = convention.matrix(change) if kind == "W" else ([sign * v for v in change], ())
            text, math = _velocity_formulas(kind, k, t, first=t == 1 and ex.velocity is None)
            put(f"v_{kind}", k, text, velocity, shape, formula_latex=math)
            put(kind, k, formulas.momentum_update(kind, k), values, shape, stage="new")


def _output(ex: WorkedExample) -> tuple:
    """(the output activation's name, whether it is elementwise, how the loss meets it: ``"own"`` (the loss is the
    outputs' sum), ``"probabilities"`` or ``"scaled"`` (paired, taken on the logits; a softmax's targets summing
    to 1 or not), ``""`` (through dL/da))."""
    name = ex.activations[-1]
    output = get_activation(name)
    if ex.loss == OUTPUT:
        return name, output.is_elementwise, "own"
    if not (ex.loss_entry and ex.loss_entry.spec.paired.get(output.name)):
        return name, output.is_elementwise, ""
    normalized = output.is_elementwise or all(sum(row) == 1 for row in ex.y)
    return name, output.is_elementwise, "probabilities" if normalized else "scaled"


def _parts(ex: WorkedExample, k: int, layer, changes) -> list:
    """``(kind, sign, values, changes)`` of layer ``k``'s parameters: W, then b or theta (``-b``), as rows or a
    list in the row convention (``changes`` None without momentum)."""
    changes = changes or (None, None)
    theta = bool(ex.thresholds and ex.thresholds[k - 1])
    parts = [("W", 1, layer[0], changes[0])]
    if layer[1] is not None:
        parts.append(("theta" if theta else "b", -1 if theta else 1, layer[1], changes[1]))
    return parts


def _velocity_formulas(kind: str, k: int, t: int, first: bool) -> tuple[str, str]:
    """(text) the formula of momentum's velocity of a parameter at step ``t``; its math goes in the key."""
    grad = rf"\eta\, {Key(f'dL/d{kind}', k).latex()}"
    if first:  # no velocity before the first step
        return f"-eta dL/d{kind}^{k} (the first step: no velocity before it)", f"-{grad}"
    return (
        f"mu (v_{kind}^{k} before step {t}) - eta dL/d{kind}^{k}",
        rf"\mu\, {Key(f'v_{kind}', k, t, 'before').latex()} - {grad}",
    )


def _before(put, ex: WorkedExample, t: int) -> None:
    """A step after the first: the parameters it starts from (``ex``'s); with momentum, the velocity before
    it (``ex.velocity``: the starting velocity before step 1, where the spec gives one)."""
    for k, layer in enumerate(zip(ex.weights, ex.biases, strict=True), start=1):
        kept = ex.fixed[k - 1] if ex.fixed else ()
        velocity = ex.velocity[k - 1] if ex.momentum is not None and ex.velocity else None
        for kind, sign, value, change in _parts(ex, k, layer, velocity):
            shaped = ex.convention.matrix if kind == "W" else (lambda v: ([sign * x for x in v], ()))
            if t > 1:
                put(kind, k, prose(f"{kind}^{k} after step {t - 1}"), *shaped(value), stage="before")
            if change is not None and ("W" if kind == "W" else "b") not in kept:
                words = f"the velocity of step {t - 1}" if t > 1 else "the starting velocity (the spec's velocity)"
                put(f"v_{kind}", k, words, *shaped(change), stage="before", formula_latex=rf"\text{{{words}}}")


def resolve_printed(ex: WorkedExample, d: Derivation) -> dict:
    """The printed numbers by step: a key naming a whole step (``"W^2 new"``, ``"L after step 1"``)
    or one entry as the derivation writes it (``"a^1_2"``, ``"s^2_1"``, ``"dL/dw^2_{1,2}"``,
    ``"w^2_{1,2} new"``, ``"b^1_2 new"``: row r, column c of W^k as the file writes it), each read by
    :func:`derivations.model.quantity.parse`; a ``ValueError`` naming the key otherwise. A second printing of
    the same step or entry (``"L #2"``, ``"a^1_2 #2"``) is resolved apart, under the step's name with `` #2``."""
    steps = {step.key: step for step in d.steps if step.key is not None}
    resolved: dict = {}
    for text, entries in ex.printed.items():
        key, entry = parse(text) or (None, None)
        again = printing(text)[1]  # a second printing of the same number (``L #2``): compared on its own
        step = steps.get(key)
        if step is None:
            raise ValueError(
                f"printed step {text!r} is not a step of this example; the steps are {', '.join(d.values)} "
                "(or one entry of them, as a^1_2, s^2_1, dL/dw^2_{1,2}, w^2_{1,2} new, b^1_2 new, theta^1_2 new, "
                "v_w^2_{1,2}; of a step written out after the first as w^2_{1,2} new (step 2)); steps written where "
                "printed: dL/da^L, f'(n^k), exp(n^k), delta_W^k, a^k (example e) online, W^k after step t"
            )
        name = step.name if again == 1 else f"{step.name} #{again}"
        if entry is None:
            if name in resolved:
                raise ValueError(f"printed {text!r} is given whole and by its entries; give one or the other")
            resolved[name] = entries
            continue
        if len(ex.x) != 1 and ex.update != "online":  # online: the steps shown in full are the first example's
            raise ValueError(
                f"printed {text!r} names one entry; single entries are for one example, this is a batch of {len(ex.x)}"
            )
        matrix = len(entry) == 2
        if matrix != (key.quantity in ("W", "dL/dW", "v_W", "delta_W")) or len(entries) != 1:
            raise ValueError(
                f"printed {text!r} must be one number of the {'matrix' if matrix else 'vector'} {step.name}; "
                "write w^k_{r,c} for a weight, a^k_j for an entry of a vector"
            )
        rows, cols = step.shape if step.shape else (1, len(step.values))
        r, c = entry if matrix else (1, entry[0])
        if not (1 <= r <= rows and 1 <= c <= cols):
            raise ValueError(
                f"printed {text!r}: {step.name} has {rows} rows and {cols} columns in the file's layout"
                if matrix
                else f"printed {text!r}: {step.name} has {cols} entries"
            )
        p = entries[0]
        resolved.setdefault(name, ())
        if resolved[name] and resolved[name][0].index is None:
            raise ValueError(f"printed {name!r} is given whole and by its entries; give one or the other")
        resolved[name] += (Printed(p.value, p.where, p.slip, (r - 1) * cols + (c - 1)),)
    return resolved
