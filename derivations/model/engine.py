"""The one network engine of ``derivations``: forward pass, output sensitivity, the sensitivity
recursion, gradients and updates, each formula written once, over sympy symbols or exact numbers.

Contract: a layer is ``(W, b)``, ``W`` a list of ``d_in`` rows of ``d_out`` entries (row convention,
``n = a W + b``), ``b`` a list of ``d_out`` entries or None (a layer without biases); an
:class:`Algebra` says how to add, multiply and apply the registry's sympy rules, so the same
formulas serve the whole-chain proof (:mod:`derivations.proofs.chain`), the replayed worked examples
(:mod:`derivations.examples.replay`) and the textbook lines (:mod:`derivations.examples.textbook`).

Example:
    >>> from funcmlp.registry.activations import get_activation
    >>> from funcmlp.registry.losses import get_loss
    >>> R = sp.Rational
    >>> net = Net((get_activation("relu"), get_activation("identity")), get_loss("sse"),
    ...           (([[R(1), R(1)], [R(1), R(1)]], [R(0), R(0)]), ([[R(1)], [R(1)]], [R(0)])))
    >>> result = run_step(net, [[R(1), R(1)]], [[R(0)]], R(1, 10))
    >>> result.loss, result.s[1], result.new_layers[0][0]
    (16, [[8, 8]], [[1/5, 1/5], [1/5, 1/5]])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sympy as sp

from derivations.model import symbolic
from funcmlp.registry.activations import Activation
from funcmlp.registry.losses import LOSSES, Loss


def _same(values: list) -> list:
    return values


@dataclass(frozen=True)
class Algebra:
    """How the formulas are evaluated: ``add(*terms)``, ``mul(*factors)``, ``activate(act, n)``
    (the registry's forward rule on a list), ``slope(act, v)`` (an elementwise ``f'(v)``) and
    ``settle(values)`` (applied to each quantity computed: e.g. long closed forms as decimals)."""

    add: Callable = sp.Add
    mul: Callable = sp.Mul
    activate: Callable = symbolic.forward
    slope: Callable = symbolic.derivative
    settle: Callable = _same


SYMPY = Algebra()
"""sympy's own arithmetic and the registry's sympy forms: exact numbers or symbols in, the same out."""


@dataclass(frozen=True)
class Net:
    """Resolved activations (one per layer), a registry loss (or None for ``loss = "output"``:
    L = the sum of the output units) and the layers ``((W, b), ...)`` in the row convention."""

    activations: tuple
    loss: Loss | None
    layers: tuple


# ---------------------------------------------------------------------------
# the formulas of one layer (seed 003 eqs. 11, 19, 24, 33)


def net_input(alg: Algebra, W, b, a) -> list:
    """``n_j = sum_i w_{i,j} a_i + b_j`` (no ``b_j`` in a layer without biases)."""
    return [
        alg.add(*[alg.mul(W[i][j], a[i]) for i in range(len(a))], *([] if b is None else [b[j]]))
        for j in range(len(W[0]))
    ]


def upstream(alg: Algebra, W, s) -> list:
    """``dL/da^{k-1}_i = sum_j w^k_{i,j} s^k_j``: the sensitivity carried back through ``W^k``."""
    return [alg.add(*[alg.mul(W[i][j], s[j]) for j in range(len(s))]) for i in range(len(W))]


def sensitivity(alg: Algebra, activation: Activation, n, g) -> list:
    """``s = dL/dn = g F'(n)``: ``g_j f'(n_j)`` for an elementwise activation, the registry's
    vector-Jacobian product for a vector one (softmax)."""
    if activation.is_elementwise:
        return [alg.mul(gj, alg.slope(activation, nj)) for gj, nj in zip(g, n, strict=True)]
    return symbolic.vjp(activation, list(n), list(g))


def loss_terms(alg: Algebra, loss: Loss | None, activation: Activation, n, y, a) -> tuple:
    """One example's loss and its output sensitivity ``s^L = dL/dn^L``: the paired logits form on
    ``n`` where the registry pairs the output activation with the loss, else ``dL/da`` through the
    output activation; ``loss`` None is L = sum_j a_j (the network's own gradients, dL/da = 1)."""
    if loss is None:  # dL/da = 1: s = f'(n) (elementwise), the Jacobian's column sums (vector)
        slopes = (
            [alg.slope(activation, nj) for nj in n]
            if activation.is_elementwise
            else symbolic.vjp(activation, list(n), [sp.Integer(1)] * len(a))
        )
        return alg.add(*a), slopes
    loss.check_output(activation, len(n))
    paired = loss.spec.paired.get(activation.name)
    if paired is not None:
        logits = LOSSES[paired]
        return logits.sympy_value(list(n), list(y)), logits.sympy_gradient(list(n), list(y))
    return loss.sympy_value(list(a), list(y)), sensitivity(alg, activation, n, loss.sympy_gradient(list(a), list(y)))


def weight_gradient(alg: Algebra, s, a) -> list:
    """One example's ``dL/dw_{i,j} = s_j a_i``: ``(a^{k-1})^T s^k`` as rows ``(d_in, d_out)``."""
    return [[alg.mul(sj, ai) for sj in s] for ai in a]


def update(alg: Algebra, value, eta, gradient, momentum=None, previous=None) -> tuple:
    """``(new value, change)``: ``Delta = -eta dL/dw + momentum Delta_previous``, ``w + Delta``
    (``w - eta dL/dw`` without momentum)."""
    step = alg.mul(-1, eta, gradient)
    if momentum is not None and previous is not None:
        step = alg.add(step, alg.mul(momentum, previous))
    return alg.add(value, step), step


# ---------------------------------------------------------------------------
# the whole network


def forward(alg: Algebra, net: Net, x) -> tuple[list, list]:
    """One example's forward pass: ``([n^1, ..., n^L], [a^0, ..., a^L])``."""
    a, ns, outputs = list(x), [], [list(x)]
    for (W, b), activation in zip(net.layers, net.activations, strict=True):
        n = alg.settle(net_input(alg, W, b, a))
        a = alg.settle(alg.activate(activation, n))
        ns.append(n)
        outputs.append(a)
    return ns, outputs


def backward(alg: Algebra, net: Net, ns: list, s_out: list) -> tuple[dict, dict]:
    """The recursion from ``s^L``: ``({k: dL/da^k for k < L}, {k: s^k})``."""
    depth = len(net.layers)
    s, g = {depth: s_out}, {}
    for k in range(depth - 1, 0, -1):
        g[k] = alg.settle(upstream(alg, net.layers[k][0], s[k + 1]))
        s[k] = alg.settle(sensitivity(alg, net.activations[k - 1], ns[k - 1], g[k]))
    return g, s


@dataclass
class Pass:
    """A batch through the network, each quantity a list over the examples: ``n[k]``, ``a[k]``
    (``a[0] = x``), ``s[k]``, ``g[k]`` (``dL/da^k``), the mean loss, and the gradients summed over
    the batch: ``dW[k]`` (rows ``(d_in, d_out)``) and ``db[k]`` (None for a layer without biases)."""

    n: dict = field(default_factory=dict)
    a: dict = field(default_factory=dict)
    s: dict = field(default_factory=dict)
    g: dict = field(default_factory=dict)
    loss: object = None
    dW: dict = field(default_factory=dict)
    db: dict = field(default_factory=dict)
    new_layers: tuple = ()
    changes: tuple = ()


def batch_loss(alg: Algebra, net: Net, totals: list, l2=None):
    """The mean of the examples' losses ``totals``, plus ``l2/2`` times the sum of the squared weights."""
    loss = alg.mul(alg.add(*totals), sp.Rational(1, len(totals)))
    if l2 is not None:
        squares = [alg.mul(w, w) for W, _ in net.layers for row in W for w in row]
        loss = alg.add(loss, alg.mul(l2, sp.Rational(1, 2), alg.add(*squares)))
    return loss


def gradients(alg: Algebra, net: Net, xs, ys, l2=None, inputs: bool = False) -> Pass:
    """Forward pass, mean loss, sensitivities (``s^L`` carries the batch mean's ``1/B``) and the
    gradients summed over the batch; ``l2`` adds ``l2/2`` times the sum of the squared weights to
    the loss and ``l2 w`` to each weight's gradient; ``inputs`` adds ``g[0] = dL/da^0``."""
    batch, depth, result = len(xs), len(net.layers), Pass()
    totals = []
    for _e, (x, y) in enumerate(zip(xs, ys, strict=True)):
        ns, outputs = forward(alg, net, x)
        value, s_out = loss_terms(alg, net.loss, net.activations[-1], ns[-1], y, outputs[-1])
        totals.append(value)
        g, s = backward(alg, net, ns, alg.settle([alg.mul(v, sp.Rational(1, batch)) for v in s_out]))
        if inputs:
            g[0] = alg.settle(upstream(alg, net.layers[0][0], s[1]))
        for k in range(depth + 1):
            result.a.setdefault(k, []).append(outputs[k])
        for k in range(1, depth + 1):
            result.n.setdefault(k, []).append(ns[k - 1])
            result.s.setdefault(k, []).append(s[k])
        for k in g:
            result.g.setdefault(k, []).append(g[k])
    result.loss = alg.settle([batch_loss(alg, net, totals, l2)])[0]
    for k in range(depth, 0, -1):
        per_example = [weight_gradient(alg, s, a) for s, a in zip(result.s[k], result.a[k - 1], strict=True)]
        W, b = net.layers[k - 1]
        dW = [[alg.add(*[grad[i][j] for grad in per_example]) for j in range(len(W[0]))] for i in range(len(W))]
        if l2 is not None:
            dW = [[alg.add(dW[i][j], alg.mul(l2, W[i][j])) for j in range(len(W[0]))] for i in range(len(W))]
        result.dW[k] = dW
        result.db[k] = None if b is None else [alg.add(*[s[j] for s in result.s[k]]) for j in range(len(b))]
    return result


def run_step(
    net: Net,
    xs,
    ys,
    eta,
    *,
    alg: Algebra = SYMPY,
    fixed=(),
    momentum=None,
    previous=None,
    l2=None,
    inputs: bool = False,
) -> Pass:
    """One gradient step on the mean loss of the batch ``(xs, ys)``: :func:`gradients`, then each
    parameter ``w + Delta`` (:func:`update`) but those of the layers whose ``fixed`` entry holds
    ``"W"`` or ``"b"``. ``previous``: the last step's changes (momentum), as :attr:`Pass.changes`."""
    result = gradients(alg, net, xs, ys, l2, inputs)
    new_layers, changes = [], []
    for k, (W, b) in enumerate(net.layers, start=1):
        kept = fixed[k - 1] if fixed else ()
        before = previous[k - 1] if previous else (None, None)
        new_W, dW_change = _updated(alg, W, result.dW[k], eta, "W" in kept, momentum, before[0])
        new_b, db_change = (
            (None, None)
            if b is None
            else _updated(
                alg, [b], [result.db[k]], eta, "b" in kept, momentum, None if before[1] is None else [before[1]]
            )
        )
        new_layers.append((new_W, None if new_b is None else new_b[0]))
        changes.append((dW_change, None if db_change is None else db_change[0]))
    result.new_layers, result.changes = tuple(new_layers), tuple(changes)
    return result


def _updated(alg: Algebra, values, grads, eta, kept: bool, momentum, previous) -> tuple:
    """Rows of parameters updated (or kept) and their changes."""
    if kept:
        return [list(row) for row in values], [[sp.Integer(0)] * len(row) for row in values]
    pairs = [
        [
            update(alg, v, eta, d, momentum, None if previous is None else previous[i][j])
            for j, (v, d) in enumerate(zip(row, grad_row, strict=True))
        ]
        for i, (row, grad_row) in enumerate(zip(values, grads, strict=True))
    ]
    return [[p[0] for p in row] for row in pairs], [[p[1] for p in row] for row in pairs]
