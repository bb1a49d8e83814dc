"""Each step of a network worked example as a textbook writes it, entry by entry: the formula
in symbols, the numbers substituted, the result; and the chain-rule factorisation of every
dL/dw of a small network as named factors with their values (:mod:`derivations.examples.factors`).

For one example (batch 1) of a network of at most :data:`LIMIT` parameters, :func:`annotate`
attaches to the steps of a :class:`~derivations.model.derivation.Derivation` made by
:func:`derivations.examples.replay.run` one :class:`~derivations.model.notation.Line` per entry, e.g. for seed
002's 2-2-1 sigmoid network (mean squared error, N = 1)::

    s^2_1 = (2*a^2_1 - 2*y_1)*a^2_1*(1 - a^2_1) = (2*0.724517967 - 2*0)*0.724517967*(1 - 0.724517967) = 0.28921552

Symbols are indexed in the spec file's convention: ``w^k_{j,i}`` joins input i to unit j in
the column convention (W is (out, in)), ``w^k_{i,j}`` in the row one. The formulas come from
the same registry entries (each activation's and loss's sympy forms) as the values, written
over symbols (``f'(n)`` through ``a = f(n)`` where it can be, as ``a (1 - a)`` for the
sigmoid); the tests substitute the numbers into each formula and find the step's value.

Contract: a replayed derivation and its example in, the same derivation with a
:class:`~derivations.model.notation.Line` per entry out; every formula is the engine's
(:mod:`derivations.model.engine`) evaluated over named symbols (:mod:`derivations.model.notation`).

Example:
    >>> from derivations.examples.replay import from_spec
    >>> d = from_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.1",
    ...                "x": ["2"], "y": ["1"], "layers": [{"W": [["3"]], "b": ["0.5"]}]})
    >>> print(d.steps[1].lines[0].text())
    n^1_1 = w^1_{1,1}*x_1 + b^1_1 = 3*2 + 0.5 = 6.5
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derivations.examples.factors import chain_line, output_gradient
from derivations.model import engine, symbolic
from derivations.model.notation import Notation, symbol
from derivations.model.quantity import Key
from funcmlp.registry.activations import get_activation

LIMIT = 60
"""Entry-by-entry lines for networks of at most this many parameters (one example)."""
CHAIN_LIMIT = 20
"""The chain-rule factorisation of every dL/dw for networks of at most this many weights."""


def _in_terms_of_output(expr, activation, n: list, a: list):
    """``expr`` with the activation's forward rule of each ``n_j`` written as ``a_j``
    (sigma(n) (1 - sigma(n)) -> a (1 - a))."""
    spec, alpha = activation.spec, activation.symbolic_alpha()
    forward = [spec.sympy_forward(v, alpha) for v in n] if spec.elementwise else spec.sympy_forward(list(n), alpha)
    return sp.sympify(expr).subs({f: ai for f, ai in zip(forward, a, strict=True) if not f.is_Symbol})


def _readable(expr, activation, n, prime: bool = False):
    """A kinked rule (Piecewise) as the activation's name, ``relu(n)`` or ``relu'(n)``."""
    if not sp.sympify(expr).has(sp.Piecewise):
        return expr
    return sp.Function(activation.name + ("'" if prime else ""))(n)


def annotate(d, ex, t: int = 1, chain: bool = True):
    """The derivation ``d`` of one example ``ex`` (a :class:`~derivations.examples.spec.WorkedExample`)
    with a :class:`~derivations.model.notation.Line` per entry of the quantities of its gradient step ``t``
    (``ex``'s parameters the step's, ``ex.velocity`` the velocity before it), and with ``chain`` the
    chain-rule factorisation of dL/dw for networks of at most :data:`CHAIN_LIMIT` weights. Each
    line's formula is the engine's (:mod:`derivations.model.engine`) over the example's named symbols."""
    weights_count = sum(len(W) * len(W[0]) for W in ex.weights)
    parameters = weights_count + sum(len(b) for b in ex.biases if b is not None)
    if len(ex.x) != 1 or parameters > LIMIT:
        d.notes.append(
            f"each step is written entry by entry for one example of a network of at most {LIMIT} parameters; "
            + ("this is a batch" if len(ex.x) != 1 else f"this network has {parameters}")
        )
        return d
    if weights_count > CHAIN_LIMIT:
        d.notes.append(
            f"every dL/dw is factored by the chain rule for networks of at most {CHAIN_LIMIT} weights (this one has "
            f"{weights_count}); ask for one with --chain 'w^k_{{r,c}}' (derivations.examples.factors.chain_rule)"
        )
    step = [s for s in d.steps if s.key is not None and s.key.t == t]  # the quantities of gradient step t
    values, lines = {s.key.at(1): list(s.values) for s in step}, {}  # each by its key as at step 1
    K = lambda quantity, layer=None, stage="": Key(quantity, layer, 1, stage)
    note = Notation(ex.convention)
    outputs_of = {}  # n symbol -> its a symbol: f'(n) written through a = f(n)
    alg = engine.Algebra(
        add=note.add,
        mul=note.mul,
        slope=lambda act, v: _in_terms_of_output(
            _readable(symbolic.derivative(act, v), act, v, prime=True), act, [v], [outputs_of[v]]
        ),
    )
    activations = [get_activation(name) for name in ex.activations]
    loss, depth = ex.loss_entry, len(ex.weights)
    y = [note.entry("y", None, j + 1, v) for j, v in enumerate(ex.y[0])]
    eta = note.value(symbol("eta", r"\eta", note.latex), ex.learning_rate)
    mu = None if ex.momentum is None else note.value(symbol("mu", r"\mu", note.latex), ex.momentum)
    velocities = {s.key.parameter: s.values for s in step if s.key.velocity and s.key.stage == ""}
    start = ex.velocity if mu is not None else None  # the velocity before the step (None: none, at step 1)

    def update(param, grad, new, kind, layer, index, before):
        """The new value's line (and with momentum first the velocity's), appended to ``lines``."""
        value = values[K(kind, layer, "new")][index]
        if mu is None:
            return lines.setdefault(K(kind, layer, "new"), []).append(
                note.line(new, engine.update(alg, param, eta, grad)[0], value)
            )
        v_name, v_latex = f"v_{param.name}", rf"v_{{{note.latex[param]}}}"
        v = note.value(symbol(v_name, v_latex, note.latex), velocities[(kind, layer)][index])
        prior = (
            None
            if before is None
            else note.value(symbol(f"{v_name}({t - 1})", rf"{v_latex}^{{({t - 1})}}", note.latex), before)
        )
        change = engine.update(alg, param, eta, grad, mu, prior)[1]
        lines.setdefault(K(f"v_{kind}", layer), []).append(note.line(v, change, velocities[(kind, layer)][index]))
        lines.setdefault(K(kind, layer, "new"), []).append(note.line(new, note.add(param, v), value))

    A, N, Ws = [[note.entry("x", None, i + 1, v) for i, v in enumerate(ex.x[0])]], [None], [None]
    for k, (W, b) in enumerate(zip(ex.weights, ex.biases, strict=True), start=1):
        units = range(len(W[0]))
        w = [[note.weight(k, i, j, W[i][j]) for j in units] for i in range(len(W))]
        n = [note.entry("n", k, j + 1, v) for j, v in enumerate(values[K("n", k)])]
        a = [note.entry("a", k, j + 1, v) for j, v in enumerate(values[K("a", k)])]
        thresholds = ex.thresholds[k - 1] if ex.thresholds else False
        biases = (
            None
            if b is None
            else [
                note.mul(-1, note.entry("theta", k, j + 1, -b[j])) if thresholds else note.entry("b", k, j + 1, b[j])
                for j in units
            ]
        )
        sums = engine.net_input(alg, w, biases, A[-1])
        lines[K("n", k)] = [note.line(n[j], sums[j], values[K("n", k)][j]) for j in units]
        act = activations[k - 1]
        rule = engine.SYMPY.activate(act, n)
        lines[K("a", k)] = [note.line(a[j], _readable(rule[j], act, n[j]), values[K("a", k)][j]) for j in units]
        outputs_of.update(zip(n, a, strict=False))
        A.append(a), N.append(n), Ws.append(w)
    output = activations[-1]
    paired = loss and loss.spec.paired.get(output.name)
    # in the loss's own terms (a paired loss too: -y log a, not its logits form);
    # loss = "output": the sum of the outputs
    value = note.add(*A[depth]) if loss is None else loss.sympy_value(A[depth], y)
    l2 = None if ex.l2 is None else note.value(symbol("l2", r"\lambda", note.latex), ex.l2)
    if l2 is not None:  # + l2/2 sum of the squared weights
        value = note.add(
            value, note.mul(sp.Rational(1, 2), l2, note.add(*[sp.Pow(w, 2) for W in Ws[1:] for row in W for w in row]))
        )
    lines[K("L")] = [note.line(symbol("L", "L", note.latex), value, values[K("L")][0])]
    S = {}
    for k in range(depth, 0, -1):
        act = activations[k - 1]
        if k == depth:
            forms = engine.loss_terms(alg, loss, act, N[k], y, A[k])[1]
        else:
            upstream = [
                note.partial("L", f"a^{k}_{i + 1}", "L", f"a^{{{k}}}_{{{i + 1}}}", v)
                for i, v in enumerate(values[K("dL/da", k)])
            ]
            sums = engine.upstream(alg, Ws[k + 1], S[k + 1])
            lines[K("dL/da", k)] = [
                note.line(g, total, values[K("dL/da", k)][i])
                for i, (g, total) in enumerate(zip(upstream, sums, strict=True))
            ]
            forms = engine.sensitivity(alg, act, N[k], upstream)
        if not act.is_elementwise or (
            k == depth and paired
        ):  # a vector activation's product, a paired loss's logits form
            forms = [_in_terms_of_output(form, act, N[k], A[k]) for form in forms]
        S[k] = [note.entry("s", k, j + 1, v) for j, v in enumerate(values[K("s", k)])]
        lines[K("s", k)] = [note.line(S[k][j], form, values[K("s", k)][j]) for j, form in enumerate(forms)]
    if K("dL/da", 0) in values:  # the gradient with respect to the inputs
        gradient = [
            note.partial("L", f"x_{i + 1}", "L", f"x_{{{i + 1}}}", v) for i, v in enumerate(values[K("dL/da", 0)])
        ]
        sums = engine.upstream(alg, Ws[1], S[1])
        lines[K("dL/da", 0)] = [
            note.line(g, total, values[K("dL/da", 0)][i])
            for i, (g, total) in enumerate(zip(gradient, sums, strict=True))
        ]
    gradient_of_output = output_gradient(ex, values)
    chain = chain and weights_count <= CHAIN_LIMIT and l2 is None  # of the loss's data term only: not with L2
    for k in range(depth, 0, -1):
        W = ex.weights[k - 1]
        rows, cols = ex.convention.weight_shape(len(W), len(W[0]))
        products = engine.weight_gradient(alg, S[k], A[k - 1])
        if l2 is not None:
            products = [
                [note.add(p, note.mul(l2, w)) for p, w in zip(row, w_row, strict=True)]
                for row, w_row in zip(products, Ws[k], strict=True)
            ]
        grad_lines = []
        for r in range(rows):
            for c in range(cols):
                i, j = ex.convention.weight_at(r + 1, c + 1)
                index = r * cols + c
                w = Ws[k][i][j]
                grad = note.partial("L", w.name, "L", note.latex[w], values[K("dL/dW", k)][index])
                grad_lines.append(note.line(grad, products[i][j], values[K("dL/dW", k)][index]))
                if chain:
                    grad_lines.append(
                        chain_line(
                            note,
                            k,
                            j,
                            (w, values[K("a", k - 1)][i]),
                            activations[k - 1],
                            k == depth and paired is not None,
                            values,
                            gradient_of_output if k == depth else None,
                        )
                    )
                if K("W", k, "new") in values:  # not a fixed W
                    new = symbol(f"{w.name} new", rf"({note.latex[w]})_{{\mathrm{{new}}}}", note.latex)
                    update(w, grad, new, "W", k, index, None if start is None else start[k - 1][0][i][j])
        lines[K("dL/dW", k)] = grad_lines
        if ex.biases[k - 1] is None:
            continue
        if ex.thresholds and ex.thresholds[k - 1]:  # b = -theta: dL/dtheta = -s, theta + eta s
            grad_t = [
                note.partial("L", f"theta^{k}_{j + 1}", "L", rf"\theta^{{{k}}}_{{{j + 1}}}", v)
                for j, v in enumerate(values[K("dL/dtheta", k)])
            ]
            lines[K("dL/dtheta", k)] = [
                note.line(g, note.mul(-1, S[k][j]), values[K("dL/dtheta", k)][j]) for j, g in enumerate(grad_t)
            ]
            for j, g in enumerate(grad_t if K("theta", k, "new") in values else ()):
                new = symbol(f"theta^{k}_{j + 1} new", rf"(\theta^{{{k}}}_{{{j + 1}}})_{{\mathrm{{new}}}}", note.latex)
                before = None if start is None else -start[k - 1][1][j]
                update(note.entry("theta", k, j + 1), g, new, "theta", k, j, before)
            continue
        grad_b = [
            note.partial("L", f"b^{k}_{j + 1}", "L", f"b^{{{k}}}_{{{j + 1}}}", v)
            for j, v in enumerate(values[K("dL/db", k)])
        ]
        lines[K("dL/db", k)] = [note.line(g, S[k][j], values[K("dL/db", k)][j]) for j, g in enumerate(grad_b)]
        for j, g in enumerate(grad_b if K("b", k, "new") in values else ()):  # not a fixed b
            new = symbol(f"b^{k}_{j + 1} new", rf"(b^{{{k}}}_{{{j + 1}}})_{{\mathrm{{new}}}}", note.latex)
            update(note.entry("b", k, j + 1), g, new, "b", k, j, None if start is None else start[k - 1][1][j])
    d.steps = [
        replace(s, lines=tuple(lines[s.key.at(1)]))
        if s.key is not None and s.key.t == t and s.key.at(1) in lines
        else s
        for s in d.steps
    ]
    return d
