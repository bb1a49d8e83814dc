"""The slips a text makes inside one step's lines, each as a variant of the engine's step: a printed
intermediate's rounding carried into the lines after it, the other loss's output sensitivity, an extra
derivative factor f'(n), a target's sign flipped, a term left out of a net input.

Contract: the example's first step (one example, or an online run's first) in, ``{slip: (family, engine step)}``
out (:func:`step_slips`), each engine step ``(example, layers, changes, alg) -> engine.Pass`` the engine's own
formulas (forward pass, loss, sensitivities, gradients, the update with momentum, L2 and fixed parameters) with
the one line the slip changes; :mod:`derivations.examples.slips` replays them within its budget (shared by every
printed number) and names the one that reproduces a printed number. ``family`` is the slip as the list of slips
tried names it. :func:`carried_printed` reads the printed numbers a rounding carries on.

Example:
    >>> from derivations.examples.spec import read_spec
    >>> ex = read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.5", "x": ["2"],
    ...                 "y": ["3"], "layers": [{"W": [["1"]], "b": ["0"]}]})
    >>> slips = step_slips(ex, {}, [])
    >>> family, flipped = slips["the target's sign flipped (y -> -y)"]
    >>> family, flipped(ex, ((ex.weights[0], ex.biases[0]),), None, engine.SYMPY).s[1]  # a - (-y) = 2 + 3
    ("a target's sign flipped", [[5]])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

import sympy as sp

from derivations.examples.layout import resolve_printed
from derivations.examples.spec import OUTPUT, WorkedExample
from derivations.model import engine
from derivations.model.derivation import Derivation, agrees
from derivations.model.quantity import Key, entry_text

CARRIED = "rounding carried from line to line within a step"
OTHER_DELTA = "the other loss's output sensitivity"
TARGET = "a target's sign flipped"
TERM = "a term left out of a net input"
SLOPE = "an extra derivative factor f'(n)"
FAMILIES = (CARRIED, OTHER_DELTA, SLOPE, TARGET, TERM)
"""The slips of a step's lines, in the order tried (each family's variants in turn)."""

SQUARED = ("sse", "half_sse", "mse")


@dataclass(frozen=True)
class Lines:
    """The lines of a step a slip changes, each None for the engine's: ``net_input(alg, k, W, b, a)``,
    ``output(alg, n, y, a, s)`` (one example's s^L from the engine's ``s``), ``sensitivity(alg, k, f, n, g)``;
    ``carried``: ``{(quantity, k): {entry: value}}`` put in place of what the line computes."""

    net_input: Callable | None = None
    output: Callable | None = None
    sensitivity: Callable | None = None
    carried: dict = field(default_factory=dict)


def _pass(ex: WorkedExample, layers, lines: Lines, alg: engine.Algebra) -> engine.Pass:
    """One step of ``ex`` on ``layers`` as :func:`engine.run_step` takes it, but for the ``lines`` changed."""
    net, batch, result, totals = ex.network(layers), len(ex.x), engine.Pass(), []
    depth = len(net.layers)

    def carry(quantity, k, values):
        shown = lines.carried.get((quantity, k), {})
        return [shown.get(i, v) for i, v in enumerate(values)]

    for x, y in zip(ex.x, ex.y, strict=True):
        a, ns, outputs, s, g = list(x), [], [list(x)], {}, {}
        for k, ((W, b), f) in enumerate(zip(net.layers, net.activations, strict=True), start=1):
            n = lines.net_input(alg, k, W, b, a) if lines.net_input else engine.net_input(alg, W, b, a)
            n = carry("n", k, alg.settle(n))
            a = carry("a", k, alg.settle(alg.activate(f, n)))
            ns.append(n)
            outputs.append(a)
        value, s_out = engine.loss_terms(alg, net.loss, net.activations[-1], ns[-1], y, outputs[-1])
        s_out = lines.output(alg, ns[-1], y, outputs[-1], s_out) if lines.output else s_out
        totals.append(value)
        s[depth] = carry("s", depth, alg.settle([alg.mul(v, sp.Rational(1, batch)) for v in s_out]))
        for k in range(depth - 1, -1, -1):
            g[k] = carry("dL/da", k, alg.settle(engine.upstream(alg, net.layers[k][0], s[k + 1])))
            if k:
                f, n = net.activations[k - 1], ns[k - 1]
                sk = lines.sensitivity(alg, k, f, n, g[k]) if lines.sensitivity else engine.sensitivity(alg, f, n, g[k])
                s[k] = carry("s", k, alg.settle(sk))
        for k in range(depth + 1):
            result.a.setdefault(k, []).append(outputs[k])
            if k < depth:
                result.g.setdefault(k, []).append(g[k])
            if k:
                result.n.setdefault(k, []).append(ns[k - 1])
                result.s.setdefault(k, []).append(s[k])
    result.loss = alg.settle([engine.batch_loss(alg, net, totals, ex.l2)])[0]
    eta = sp.Integer(0) if ex.learning_rate is None else ex.learning_rate  # as the replay: no update shown
    new_layers, changes = [], []
    for k, (W, b) in enumerate(net.layers, start=1):
        per_example = [engine.weight_gradient(alg, s, a) for s, a in zip(result.s[k], result.a[k - 1], strict=True)]
        dW = [[alg.add(*[grad[i][j] for grad in per_example]) for j in range(len(W[0]))] for i in range(len(W))]
        if ex.l2 is not None:
            dW = [[alg.add(dW[i][j], alg.mul(ex.l2, W[i][j])) for j in range(len(W[0]))] for i in range(len(W))]
        flat = carry("dL/dW", k, [v for row in dW for v in row])
        result.dW[k] = [flat[i * len(W[0]) : (i + 1) * len(W[0])] for i in range(len(W))]
        result.db[k] = (
            None if b is None else carry("dL/db", k, [alg.add(*[s[j] for s in result.s[k]]) for j in range(len(b))])
        )
        kept = ex.fixed[k - 1] if ex.fixed else ()
        before = ex.velocity[k - 1] if ex.velocity else (None, None)
        new_W, dW_change = _updated(alg, W, result.dW[k], eta, "W" in kept, ex.momentum, before[0])
        new_b, db_change = (
            (None, None)
            if b is None
            else _updated(alg, [b], [result.db[k]], eta, "b" in kept, ex.momentum, before[1] and [before[1]])
        )
        new_layers.append((new_W, new_b and new_b[0]))
        changes.append((dW_change, db_change and db_change[0]))
    result.new_layers, result.changes = tuple(new_layers), tuple(changes)
    return result


def _updated(alg: engine.Algebra, rows, grads, eta, kept: bool, momentum, previous) -> tuple:
    """Rows of parameters updated by :func:`engine.update` (or kept), and their changes."""
    if kept:
        return [list(row) for row in rows], [[sp.Integer(0)] * len(row) for row in rows]
    pairs = [
        [
            engine.update(alg, v, eta, d, momentum, previous and previous[i][j])
            for j, (v, d) in enumerate(zip(r, dr, strict=True))
        ]
        for i, (r, dr) in enumerate(zip(rows, grads, strict=True))
    ]
    return [[p[0] for p in row] for row in pairs], [[p[1] for p in row] for row in pairs]


def _step(lines: Lines, target=None) -> Callable:
    """The engine step of a slip: ``lines`` changed, the targets replaced by ``target(y)`` where given."""

    def step(ex, layers, changes=None, alg=engine.SYMPY):
        flipped = ex if target is None else replace(ex, y=tuple(tuple(target(v) for v in y) for y in ex.y))
        return _pass(flipped, layers, lines, alg)

    return step


def carried_printed(ex: WorkedExample, d: Derivation) -> tuple[dict, list]:
    """``({(quantity, k): {entry: value}}, names)``: the first step's printed intermediates (n, a, s or delta,
    dL/da, the gradients) that are the exact value rounded, as printed (in the engine's layout: delta as -s, a
    matrix's entries row by row in the row convention), and the names of their steps; for one example (or an
    online run's first) only."""
    if len(ex.x) > 1 and ex.update != "online":
        return {}, []
    printed, carried, names = resolve_printed(ex, d), {}, []
    into = {"delta": ("s", -1), "dL/dtheta": ("dL/db", -1)}
    for step in d.steps:
        key = step.key
        if key is None or key.t != 1 or key.stage or step.name not in printed or key.quantity == "L":
            continue
        quantity, sign = into.get(key.quantity, (key.quantity, 1))
        if quantity not in ("n", "a", "s", "dL/da", "dL/dW", "dL/db") or (quantity == "a" and key.layer == 0):
            continue
        for i, p in enumerate(printed[step.name]):
            entry, value = p.index if p.index is not None else i, sp.Rational(p.value)
            if value == step.values[entry] or not agrees(p.value, step.values[entry]):
                continue
            if quantity == "dL/dW":  # shown in the file's layout: its place in the engine's (d_in, d_out)
                entry = ex.convention.engine_entry(entry, step.shape)
            carried.setdefault((quantity, key.layer), {})[entry] = sign * value
            names += [step.name] if step.name not in names else []
    return carried, names


def _residual(alg, y, a) -> list:
    return [alg.add(aj, alg.mul(-1, yj)) for aj, yj in zip(a, y, strict=True)]


def _twice(at: int) -> Callable:
    """Layer ``at``'s sensitivity with f'(n) applied twice, the others as the engine computes them."""

    def sensitivity(alg, k, f, n, g):
        once = engine.sensitivity(alg, f, n, g)
        return engine.sensitivity(alg, f, n, once) if k == at else once

    return sensitivity


def step_slips(ex: WorkedExample, carried: dict, names: list) -> dict:
    """``{slip: (family, engine step)}`` of the example's first step, in the order tried (:data:`FAMILIES`):
    the printed intermediates ``carried`` (:func:`carried_printed`, their steps ``names``) carried on, the other
    loss's output sensitivity, f'(n^k) applied twice, the targets flipped (``1 - y`` for 0/1 targets, else
    ``-y``), each term of each net input left out; a slip that changes nothing (a zero weight left out, f'(n)
    twice for the identity) is not tried."""
    net, slips = ex.network(), {}
    depth, last, loss = len(net.layers), net.activations[-1], net.loss
    if carried:
        label = f"rounding carried from line to line: {', '.join(names)} as printed, the lines after computed from it"
        slips[label] = (CARRIED, _step(Lines(carried=carried)))
    paired = loss is not None and loss.spec.paired.get(last.name) is not None
    if loss is not None and loss.name in SQUARED and (loss.name, last.name) != ("half_sse", "identity"):
        label = f"cross-entropy's output sensitivity a - y used with {loss.name}"
        slips[label] = (OTHER_DELTA, _step(Lines(output=lambda alg, n, y, a, s: _residual(alg, y, a))))
    if paired:
        label = (
            f"the squared error's output sensitivity (a - y) f'(n) used with {loss.name}: f'(n^{depth}) applied where "
            f"the loss is paired with its activation ({last.name})"
        )
        paired_slip = lambda alg, n, y, a, s: engine.sensitivity(alg, last, n, _residual(alg, y, a))
        slips[label] = (OTHER_DELTA, _step(Lines(output=paired_slip)))
    for k, f in enumerate(net.activations, start=1):
        if not f.is_elementwise or f.name == "identity" or (k == depth and paired):
            continue
        lines = (
            Lines(output=lambda alg, n, y, a, s: engine.sensitivity(alg, last, n, s))
            if k == depth
            else Lines(sensitivity=_twice(k))
        )
        slips[f"f'(n^{k}) applied twice in s^{k}"] = (SLOPE, _step(lines))
    if ex.loss != OUTPUT:
        kind = "1 - y" if all(v in (0, 1) for y in ex.y for v in y) else "-y"
        flip = (lambda v: 1 - v) if kind == "1 - y" else (lambda v: -v)
        slips[f"the target's sign flipped (y -> {kind})"] = (TARGET, _step(Lines(), target=flip))
    for k, (W, b) in enumerate(zip(ex.weights, ex.biases, strict=True), start=1):
        for j in range(len(W[0])):
            for i in [i for i in range(len(W)) if W[i][j] != 0] + ([None] if b is not None and b[j] != 0 else []):
                label = f"a term left out of n^{k}_{j + 1}: {_term(ex, k, i, j)}"
                slips[label] = (TERM, _step(Lines(net_input=_without(k, i, j))))
    return slips


def _term(ex: WorkedExample, k: int, i: int | None, j: int) -> str:
    """The term ``w^k_{i,j} a^{k-1}_i`` (as the file writes w^k) or the bias (threshold) of unit ``j``."""
    if i is None:
        theta = bool(ex.thresholds and ex.thresholds[k - 1])
        return f"the {'threshold' if theta else 'bias'} " + entry_text(Key("theta" if theta else "b", k), (j + 1,))
    entry = ex.convention.weight_entry(i, j)
    return f"{entry_text(Key('W', k), entry)} {entry_text(Key('a', k - 1), (i + 1,))}"


def _without(layer: int, left: int | None, unit: int) -> Callable:
    """A net input with the term ``left`` (an input's index, None: the bias) of ``unit`` of ``layer`` left out."""

    def net_input(alg, k, W, b, a):
        return [
            alg.add(
                *[alg.mul(W[i][j], a[i]) for i in range(len(a)) if (k, j, i) != (layer, unit, left)],
                *([] if b is None or (k, j, left) == (layer, unit, None) else [b[j]]),
            )
            for j in range(len(W[0]))
        ]

    return net_input
