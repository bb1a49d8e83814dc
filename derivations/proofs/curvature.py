"""Sympy proofs of the per-example and curvature closed forms on a symbolic network (BEYOND), as
:mod:`derivations.proofs.chain` proves dL/dw: each derived side knows nothing of layers or the recursion.

For a network with symbols for every weight, bias, input and target, a batch of B = 2 examples and the
batch loss ``L = sum_i r_i L_i`` (``r_i = 1/B``, the mean):

* ``norms``: for each example, ``sum_theta (d(r_i L_i)/dtheta)^2`` over every weight and bias, each
  derivative by ``sympy.diff`` of example i's own loss, equals ``sum_k ||s_i^k||^2 (||a_i^{k-1}||^2 + 1)``
  with ``s_i^k`` row i of the batch's sensitivities (:func:`funcmlp.core.per_example.weighted_sq_norms`).
* ``ggn``: the diagonal of ``sum_i r_i J_i^T H_i J_i`` (``J_i`` the Jacobian of example i's output in
  every parameter by ``sympy.diff``, ``H_i`` ``sympy.hessian`` of the loss in that output) equals
  ``(a^{k-1} o a^{k-1})^T sum_c (m^k_c)^2`` (weights), ``sum_i sum_c (m^k_{i,c})^2`` (biases), the columns
  ``m^L_c = sqrt(r_i) S_i[:, c]`` of the registry's Hessian factor (through ``F'(n^L)``) pushed down the
  recursion. The output is ``a^L``, or ``n^L`` where the registry pairs the loss with the output activation
  (it evaluates the logits loss there), as :func:`funcmlp.core.curvature.exact_columns`.
* ``hessian``: the exact diagonal ``d^2 L/dtheta^2`` by ``sympy.diff`` equals
  ``sum_i (a_i^{k-1})^2 diag(H^k_i)`` (biases ``sum_i diag(H^k_i)``), with ``H^k`` in ``n^k`` carried down
  ``H^k = D^k W^{k+1} H^{k+1} W^{k+1 T} D^k + diag(g^k o F''(n^k))``, ``D^k = diag(F'(n^k))``,
  ``g^k = s^{k+1} W^{k+1 T}`` (:func:`funcmlp.core.curvature.hessian_diagonal`); elementwise activations.

Both sides are compared at random rational points in 50-digit arithmetic (targets of the loss's kind);
a NaN, or a Dirac delta hit at a kink, is a failure, never a pass.

Contract: a :class:`~derivations.proofs.network.Network` and a quantity of :data:`QUANTITIES` in, a
:class:`CurvatureReport` out; the closed forms are :mod:`derivations.model.engine`'s recursion over symbols
(:data:`derivations.proofs.chain.COMPOSED`), the registry's forms read through :mod:`derivations.proofs.hessians`.

Example:
    >>> report = check_quantity(Network((2, 2, 1), ("tanh", "identity"), "sse"), "hessian")
    >>> report.passed, report.checked
    (True, 9)
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import mpmath
import sympy as sp

from derivations.model import engine, symbolic
from derivations.proofs import chain, hessians
from derivations.proofs.network import Network, clip
from funcmlp.registry.losses import get_loss

QUANTITIES = ("norms", "ggn", "hessian")
"""What :func:`check_quantity` proves besides the gradient (``derive check --quantities``)."""
MAX_PARAMETERS = 40
"""The largest network the curvature proofs take: sympy differentiates the composed loss (twice)."""
MAX_DEPTH = 3
BATCH = 2
_KINKS = {"DiracDelta": lambda v, *order: mpmath.mpf(0) if v != 0 else mpmath.nan}
"""A loss's second derivative off its kinks (a Dirac delta is 0 there; at a kink: NaN, a failure)."""


@dataclass
class CurvatureReport:
    """What a curvature check proved: the quantity, what was proved in words (lines), the entries
    compared, the failures (name, derived, closed form), the worst difference (name, absolute, relative)."""

    network: Network
    quantity: str
    statement: tuple
    checked: int
    failures: list
    seconds: float
    worst: tuple
    points: int
    digits: int

    @property
    def passed(self) -> bool:
        return not self.failures and self.checked > 0

    def __str__(self) -> str:
        name, absolute, relative = self.worst
        lines = [f"{'PASS' if self.passed else 'FAIL'}  {self.statement[0]}"]
        lines += [f"      {line}" for line in self.statement[1:]]
        lines.append(
            f"      compared at {self.points} random rational points in {self.digits}-digit arithmetic: worst "
            f"difference {mpmath.nstr(absolute, 3)} absolute, {mpmath.nstr(relative, 3)} relative, at {name}; "
            f"{self.seconds:.2f} s"
        )
        lines += [f"      FAIL {n}: derived {d}, closed form {c}" for n, d, c in self.failures[:5]]
        if len(self.failures) > 5:
            lines.append(f"      ... and {len(self.failures) - 5} more failures")
        return "\n".join(clip(line) for line in lines)


class _Batch:
    """The symbols of a network on a batch of two, and the closed forms' pass over them."""

    def __init__(self, net: Network):
        self.net = Network(net.sizes, net.activations, net.loss, batch=BATCH)
        self.layers = self.net.parameter_symbols()
        self.xs, self.ys = self.net.data_symbols()
        self.params = [p for W, b in self.layers for p in list(W) + b]
        self.loss = get_loss(net.loss)
        self.model = engine.Net(self.net.resolved, self.loss, tuple((W.tolist(), b) for W, b in self.layers))
        self.closed = engine.gradients(chain.COMPOSED, self.model, self.xs, self.ys)
        self.r = sp.Rational(1, BATCH)
        output = self.net.resolved[-1]
        paired = self.loss.spec.paired.get(output.name)
        self.on_logits = paired is not None
        self.output_loss = get_loss(paired) if self.on_logits else self.loss
        self.out = "n^L" if self.on_logits else "a^L"

    def example_loss(self, i: int):
        """``L_i`` (not weighted by ``r_i``) as one expression of x, y, w, b."""
        output = self.net.resolved[-1]
        n, a = self.closed.n[self.net.depth][i], self.closed.a[self.net.depth][i]
        value = engine.loss_terms(chain.COMPOSED, self.loss, output, n, self.ys[i], a)[0]
        # |e| of a real e as its two pieces: sympy differentiates Abs of an activation's Function (not known to be
        # real) through re() and leaves its second derivative unevaluated; off the kink e = 0 the two agree
        return value.replace(sp.Abs, lambda e: sp.Piecewise((e, e >= 0), (-e, True)))

    def output(self, i: int) -> list:
        """Example i's output the loss's Hessian is taken in: ``n^L`` (paired) or ``a^L``."""
        return (self.closed.n if self.on_logits else self.closed.a)[self.net.depth][i]

    def factor(self, i: int) -> sp.Matrix:
        S = hessians.hessian_factor(self.output_loss, self.output(i), self.ys[i])
        if S is None:
            raise ValueError(
                f"loss {self.output_loss} has no Hessian factor in the registry: the GGN and the Hessian's diagonal "
                "need one (register the loss with sympy_value, or sympy_hessian_factor)"
            )
        return S


def _layer_diagonal(batch: _Batch, per_example: list) -> list:
    """In :attr:`_Batch.params` order: ``sum_i (a_i^{k-1})^2 q_i^k`` for the weights (row by row) and
    ``sum_i q_i^k`` for the biases of each layer, from ``per_example[i][k] = q_i^k`` (``d_k`` entries)."""
    entries = []
    for k in range(1, batch.net.depth + 1):
        inputs, units = [batch.closed.a[k - 1][i] for i in range(BATCH)], range(batch.net.sizes[k])
        for p in range(batch.net.sizes[k - 1]):
            entries += [sp.Add(*[inputs[i][p] ** 2 * per_example[i][k][q] for i in range(BATCH)]) for q in units]
        entries += [sp.Add(*[per_example[i][k][q] for i in range(BATCH)]) for q in units]
    return entries


def _norms(batch: _Batch):
    names, derived, closed = [], [], []
    for i in range(BATCH):
        weighted = batch.r * batch.example_loss(i)
        derived.append(sp.Add(*[sp.diff(weighted, p) ** 2 for p in batch.params]))
        closed.append(
            sp.Add(
                *[
                    sp.Add(*[s**2 for s in batch.closed.s[k][i]])
                    * (sp.Add(*[a**2 for a in batch.closed.a[k - 1][i]]) + 1)
                    for k in range(1, batch.net.depth + 1)
                ]
            )
        )
        names.append(f"||grad r_{i + 1} L_{i + 1}||^2")
    statement = (
        f"per-example gradient norms, {_name(batch)}: for each example i, the sum over the {len(batch.params)} weights "
        "and biases of (d(r_i L_i)/dtheta)^2",
        "(each derivative by sympy.diff of example i's own loss) = sum_k ||s_i^k||^2 (||a_i^(k-1)||^2 + 1), "
        f"s_i^k row i of the batch's sensitivities, r_i = {batch.r}",
    )
    return statement, names, derived, closed


def _ggn(batch: _Batch):
    derived = [sp.Integer(0)] * len(batch.params)
    squares, columns = [], 0
    for i in range(BATCH):
        out = batch.output(i)
        u = [sp.Dummy(f"u{j}", real=True) for j in range(len(out))]
        H = sp.hessian(batch.output_loss.sympy_value(u, batch.ys[i]), u).xreplace(dict(zip(u, out, strict=True)))
        J = [[sp.diff(o, p) for p in batch.params] for o in out]
        for t in range(len(batch.params)):
            column = sp.Matrix([J[v][t] for v in range(len(out))])
            derived[t] += batch.r * (column.T * H * column)[0, 0]
        S, ns = batch.factor(i), [batch.closed.n[k][i] for k in range(1, batch.net.depth + 1)]
        columns = S.cols
        q = {k: [sp.Integer(0)] * batch.net.sizes[k] for k in range(1, batch.net.depth + 1)}
        for c in range(S.cols):
            m_out = [sp.sqrt(batch.r) * S[j, c] for j in range(S.rows)]
            if not batch.on_logits:
                m_out = engine.sensitivity(chain.COMPOSED, batch.net.resolved[-1], ns[-1], m_out)
            _, m = engine.backward(chain.COMPOSED, batch.model, ns, m_out)
            for k in q:
                q[k] = [total + v**2 for total, v in zip(q[k], m[k], strict=True)]
        squares.append(q)
    fold = "" if batch.on_logits else "F'(n^L) "
    statement = (
        f"GGN diagonal, {_name(batch)}: the {len(batch.params)} entries of diag sum_i r_i J_i^T H_i J_i",
        f"(J_i = d{batch.out}_i/dtheta by sympy.diff, H_i = sympy.hessian of {batch.output_loss} in {batch.out}) "
        "= (a^(k-1) o a^(k-1))^T sum_c (m^k_c)^2 (weights),",
        f"sum_i sum_c (m^k_(i,c))^2 (biases): the C = {columns} columns m^L_c = sqrt(r_i) {fold}S_i[:, c] of the "
        "registry's factor (S S^T = the Hessian) pushed down the recursion",
    )
    return statement, [str(p) for p in batch.params], derived, _layer_diagonal(batch, squares)


def _hessian(batch: _Batch):
    net = batch.net
    loss = sp.Add(*[batch.r * batch.example_loss(i) for i in range(BATCH)])
    derived = [sp.diff(sp.diff(loss, p), p) for p in batch.params]  # twice: diff(loss, p, 2) runs factor_terms
    diagonals = []
    for i in range(BATCH):
        S, L = batch.factor(i), net.depth
        H = batch.r * S * S.T
        if not batch.on_logits:  # the loss in a^L: to n^L through F'(n^L), with the curvature of f itself
            n, activation = batch.closed.n[L][i], net.resolved[-1]
            g = batch.loss.sympy_gradient(batch.closed.a[L][i], batch.ys[i])
            H = _through(H, [batch.r * gj for gj in g], activation, n)
        diagonal = {}
        for k in range(L, 0, -1):
            diagonal[k] = [H[j, j] for j in range(H.rows)]
            if k > 1:
                W = batch.layers[k - 1][0]
                H = _through(W * H * W.T, batch.closed.g[k - 1][i], net.resolved[k - 2], batch.closed.n[k - 1][i])
        diagonals.append(diagonal)
    statement = (
        f"Hessian diagonal, {_name(batch)}: the {len(batch.params)} second derivatives d^2L/dtheta^2 of the batch "
        "loss by sympy.diff",
        "= sum_i (a_i^(k-1))^2 diag(H^k_i) (weights), sum_i diag(H^k_i) (biases), "
        f"H^L_i = r_i S_i S_i^T in {batch.out} (S the registry's factor)",
        *(
            []
            if batch.on_logits
            else ["taken to n^L as D^L H^L_i D^L + diag(g^L o F''(n^L)), g^L = r_i dL_i/da^L, D^L = diag(F'(n^L))"]
        ),
        "H^k = D^k W^(k+1) H^(k+1) W^(k+1)T D^k + diag(g^k o F''(n^k)), D^k = diag(F'(n^k)), g^k = s^(k+1) W^(k+1)T, "
        "F'' the registry's",
    )
    return statement, [str(p) for p in batch.params], derived, _layer_diagonal(batch, diagonals)


def _through(H_a: sp.Matrix, g: list, activation, n: list) -> sp.Matrix:
    """The Hessian in ``n`` of a loss with Hessian ``H_a`` and gradient ``g`` in ``a = f(n)`` (elementwise f)."""
    slopes = [chain.COMPOSED.slope(activation, v) for v in n]
    curvature = [gj * hessians.second_derivative(activation, v) for gj, v in zip(g, n, strict=True)]
    return sp.Matrix(
        H_a.rows, H_a.cols, lambda p, q: slopes[p] * H_a[p, q] * slopes[q] + (curvature[p] if p == q else 0)
    )


def _mpf(value: sp.Rational):
    return mpmath.mpf(int(value.p)) / int(value.q)


def _name(batch: _Batch) -> str:
    net = batch.net
    return f"{'-'.join(map(str, net.sizes))} {'/'.join(net.activations)} {net.loss}, batch {BATCH}"


RULES = {"norms": _norms, "ggn": _ggn, "hessian": _hessian}


def check_network(net: Network, quantity: str) -> None:
    """Refuse, before any work, a quantity this module does not prove, a network too big for it, or
    (``hessian``) a vector activation whose F'' the recursion would need."""
    if quantity not in RULES:
        raise ValueError(f"unknown quantity {quantity!r}; expected one of {', '.join(QUANTITIES)}")
    if net.count_parameters() > MAX_PARAMETERS or net.depth > MAX_DEPTH:
        raise ValueError(
            f"{quantity}: the symbolic proof differentiates the composed loss of networks of at most {MAX_PARAMETERS} "
            f"parameters and {MAX_DEPTH} layers; {'-'.join(map(str, net.sizes))} has {net.count_parameters():,} "
            f"parameters and {net.depth} layers: prove it on a narrower network with the same activations and loss "
            "(the formulas do not depend on the width)"
        )
    paired = get_loss(net.loss).spec.paired.get(net.resolved[-1].name) is not None
    for k, activation in enumerate(net.resolved, start=1):
        if quantity == "hessian" and not activation.is_elementwise and not (k == net.depth and paired):
            raise ValueError(
                f"hessian: the Hessian's diagonal recursion needs F'' of elementwise activations; layer {k} is "
                f"{activation} (a vector activation): leave out hessian, or use an elementwise activation there"
            )


def check_quantity(net: Network, quantity: str, *, points: int = 2, seed: int = 0, digits: int = 50) -> CurvatureReport:
    """Prove ``quantity`` (one of :data:`QUANTITIES`) on ``net`` over a batch of two symbolic examples."""
    check_network(net, quantity)
    start = time.perf_counter()
    batch = _Batch(net)
    statement, names, derived, closed = RULES[quantity](batch)
    data = [s for row in batch.xs for s in row]
    targets = [s for row in batch.ys for s in row]
    variables = batch.params + data + targets
    modules = [symbolic.NUMERIC["mpmath"], _KINKS, "mpmath"]
    evaluate_derived = sp.lambdify(variables, derived, modules=modules, cse=True)
    evaluate_closed = sp.lambdify(variables, closed, modules=modules, cse=True)
    rng = random.Random(seed)
    failures, worst = [], (names[0], mpmath.mpf(0), mpmath.mpf(0))
    with mpmath.workdps(digits):
        tolerance = mpmath.mpf(10) ** (10 - digits)
        for _ in range(points):
            point = [mpmath.mpf(rng.randint(-2000, 2000)) / rng.randint(1000, 3000) for _ in batch.params + data]
            point += [_mpf(hessians.target_value(batch.loss, rng)) for _ in targets]
            for name, d, c in zip(names, evaluate_derived(*point), evaluate_closed(*point), strict=True):
                d, c = mpmath.mpmathify(d), mpmath.mpmathify(c)
                difference = abs(d - c)
                if not (mpmath.isfinite(d) and mpmath.isfinite(c)) or difference > tolerance * max(1, abs(c)):
                    failures.append((name, d, c))
                    continue
                relative = difference / abs(c) if c else (mpmath.inf if difference else mpmath.mpf(0))
                if relative > worst[2] or (relative == worst[2] and difference > worst[1]):
                    worst = (name, difference, relative)
    return CurvatureReport(
        net, quantity, statement, len(names), failures, time.perf_counter() - start, worst, points, digits
    )
