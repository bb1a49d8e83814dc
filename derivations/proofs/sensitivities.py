"""Output sensitivities s^L = dL/dn^L for every loss / output-activation pair funcmlp offers,
and the Jacobian dn^{k+1}/dn^k of seed 003 eqs. 25-32.

Output sensitivities (seed 003 eq. 24 and its relatives) are derived by differentiating the
per-example loss of each entry of funcmlp's loss registry with sympy, with the output
activation either a generic elementwise function ``f`` (one proof covers every elementwise
activation) or the concrete sigmoid / softmax the registry pairs with the probability
losses, and compared with the closed forms of the same entries.

The Jacobian is derived twice: entry by entry for concrete layer sizes with one symbol per
weight, and for a layer of arbitrary width ``p`` with indexed symbols and a symbolic sum.

Contract: proofs of the engine's per-layer formulas (:func:`derivations.model.engine.sensitivity`,
:func:`~derivations.model.engine.net_input`) against sympy.diff, for every registry loss and activation;
:class:`~derivations.proofs.activations.Identity` results out.

Example:
    >>> all(r.passed for r in prove_output_sensitivities(d=2, batch=1))  # (the suite proves d = 3)
    True
    >>> prove_jacobian_any_width().passed
    True
"""

from __future__ import annotations

import sympy as sp

from derivations.model import engine, symbolic
from derivations.proofs.activations import Identity, equal
from funcmlp.registry.activations import get_activation
from funcmlp.registry.losses import LOSSES

f = sp.Function("f", real=True)
GENERIC = engine.Algebra(
    activate=lambda activation, n: [f(v) for v in n], slope=lambda activation, v: sp.Derivative(f(v), v)
)
"""The engine with a generic elementwise output activation f: one proof covers every elementwise entry."""


def _vector(name: str, d: int):
    return list(sp.symbols(f"{name}1:{d + 1}", real=True))


def _jacobian(outputs: list, variables: list) -> sp.Matrix:
    """d outputs_i / d variables_j by sympy.diff, term by term (:func:`derivations.model.symbolic.terms_by_symbol`)."""
    indexes = [symbolic.terms_by_symbol(output) for output in outputs]
    return sp.Matrix([[symbolic.diff_terms(index, v) for v in variables] for index in indexes])


def prove_output_sensitivities(d: int = 3, batch: int = 2) -> list[Identity]:
    """dL/dn^L for every loss of funcmlp's registry: with a generic elementwise output f, the
    paired outputs (sigmoid / softmax with the probability losses), and softmax
    cross-entropy's p sum(y) - y (p - y when the target row sums to 1)."""
    n, y = _vector("n", d), _vector("y", d)
    a = [f(ni) for ni in n]
    results = []
    for spec in LOSSES.values():
        if spec.sympy_value is None:  # a registered loss without a sympy form: nothing to prove
            continue
        # a loss's parameter (Huber's delta) as a positive symbol: one proof for every value
        parameter = (sp.Symbol(spec.parameter, positive=True),) if spec.parameter else ()
        closed = engine.sensitivity(GENERIC, get_activation("identity"), n, spec.sympy_gradient(a, y, *parameter))
        derived = [sp.diff(spec.sympy_value(a, y, *parameter), ni) for ni in n]
        ok = all(sp.simplify(dv - cv) == 0 for dv, cv in zip(derived, closed, strict=True))
        shown = sp.sstr(spec.sympy_gradient(_vector("a", d), y, *parameter)[0])
        results.append(
            Identity(
                f"{spec.name} + elementwise f",
                f"{spec.name}: s^L_j = dL/da_j f'(n_j), dL/da_1 = {shown} ({d} outputs)",
                sp.Matrix(derived),
                sp.Matrix(closed),
                "symbolic",
                ok,
            )
        )
        for output, logits in spec.paired.items():
            activation = get_activation(output)
            probabilities = symbolic.forward(activation, n)
            value, on_logits = spec.sympy_value(probabilities, y), LOSSES[logits].sympy_value(n, y)
            ok, method = equal(value, on_logits, symbols=tuple(n + y))
            results.append(
                Identity(
                    f"{output} + {spec.name}",
                    f"{spec.name}({output}(n), y) = {logits}(n, y)",
                    value,
                    on_logits,
                    method,
                    ok,
                )
            )
            results.append(
                _pair(
                    f"{output} + {spec.name}",
                    f"s^L = dL/dn of {spec.name}({output}(n)) = the {logits} closed form",
                    value,
                    n,
                    LOSSES[logits].sympy_gradient(n, y),
                )
            )
    denominator = sum(sp.exp(ni) for ni in n)
    p = [sp.exp(ni) / denominator for ni in n]
    ce = LOSSES["softmax_cross_entropy"].sympy_value(n, y)
    results.append(
        _pair(
            "softmax_cross_entropy",
            "dL/dz = softmax(z) sum_j y_j - y for every target row (loss on logits)",
            ce,
            n,
            [pi * sum(y) - yi for pi, yi in zip(p, y, strict=True)],
        )
    )
    # the textbook p - y needs sum(y) = 1 (one-hot or a probability vector): substitute y_d = 1 - the others
    one_hot = {y[-1]: 1 - sum(y[:-1])}
    results.append(
        _pair(
            "softmax_cross_entropy, rows summing to 1",
            "dL/dz = softmax(z) - y when sum_j y_j = 1",
            ce,
            n,
            [pi - yi for pi, yi in zip(p, y, strict=True)],
            one_hot,
        )
    )
    results.append(prove_batch_mean_scaling(batch))
    return results


def _pair(name, statement, loss, n, closed, substitution=None) -> Identity:
    derived = [sp.diff(loss, ni) for ni in n]
    substitution = substitution or {}
    checks = [
        equal(sp.sympify(dv).subs(substitution), sp.sympify(cv).subs(substitution), symbols=tuple(loss.free_symbols))
        for dv, cv in zip(derived, closed, strict=True)
    ]
    methods = sorted({m for _, m in checks})
    return Identity(
        name, statement, sp.Matrix(derived), sp.Matrix(closed), " + ".join(methods), all(ok for ok, _ in checks)
    )


def prove_batch_mean_scaling(batch: int = 2) -> Identity:
    """The mean over a batch of B examples scales each example's sensitivity by 1/B (seed 002's 2/N)."""
    losses = [sp.Function(f"L{i}") for i in range(1, batch + 1)]
    n = sp.symbols(f"n_1:{batch + 1}", real=True)
    mean = sum(L(ni) for L, ni in zip(losses, n, strict=True)) / batch
    derived = [sp.diff(mean, ni) for ni in n]
    closed = [sp.diff(L(ni), ni) / batch for L, ni in zip(losses, n, strict=True)]
    ok = all(sp.simplify(dv - cv) == 0 for dv, cv in zip(derived, closed, strict=True))
    return Identity(
        "batch mean",
        f"d/dn_i (1/B sum_k L_k) = (1/B) dL_i/dn_i, B = {batch}",
        sp.Matrix(derived),
        sp.Matrix(closed),
        "symbolic",
        ok,
    )


def jacobian_concrete(
    p_k: int, p_next: int, convention: str = "row", activation=None
) -> tuple[sp.Matrix, sp.Matrix, sp.Matrix]:
    """(derived dn^{k+1}/dn^k, closed form, W) for concrete sizes, one symbol per weight.

    Row convention (seed 003 eq. 26): ``n_i^{k+1} = b_i + sum_q a_q^k w_qi``, W is
    ``(p_k, p_next)`` and the closed form is ``W^T F'(n^k)`` (eq. 31). Column convention:
    ``n^{k+1} = W a^k + b`` with W ``(p_next, p_k)`` and closed form ``W F'(n^k)``. ``F'`` is
    ``diag(f'(n))`` for a generic elementwise ``f`` (the default, or any elementwise
    ``activation``), and the registry's Jacobian (rows e_i^T J from its vector-Jacobian
    product) for a vector ``activation`` such as softmax.
    """
    n = [sp.Symbol(f"n_{{{j + 1}}}", real=True) for j in range(p_k)]
    if activation is None or activation.is_elementwise:
        a = [f(nj) for nj in n]
        fprime = sp.diag(*[sp.Derivative(f(nj), nj) for nj in n])
    else:
        a = symbolic.forward(activation, n)
        fprime = sp.Matrix(
            [engine.sensitivity(engine.SYMPY, activation, n, [int(i == j) for j in range(p_k)]) for i in range(p_k)]
        )
    b = [sp.Symbol(f"b_{{{i + 1}}}", real=True) for i in range(p_next)]
    if convention == "row":
        W = sp.Matrix(p_k, p_next, lambda q, i: sp.Symbol(f"w_{{{q + 1},{i + 1}}}", real=True))
        n_next = engine.net_input(engine.SYMPY, W.tolist(), b, a)
        closed = W.T * fprime
    elif convention == "column":
        W = sp.Matrix(p_next, p_k, lambda i, q: sp.Symbol(f"w_{{{i + 1},{q + 1}}}", real=True))
        n_next = engine.net_input(engine.SYMPY, W.T.tolist(), b, a)  # z = W a + b: the row form of W^T
        closed = W * fprime
    else:
        raise ValueError(f"unknown convention {convention!r}; expected 'row' or 'column'")
    return _jacobian(n_next, n), closed, W


def prove_jacobian_concrete(sizes=((2, 2), (3, 2), (2, 4), (4, 3))) -> list[Identity]:
    """Seed 003 eqs. 25-31 for concrete sizes, in both conventions; the two are transposes."""
    results = []
    for p_k, p_next in sizes:
        derived_row, closed_row, W_row = jacobian_concrete(p_k, p_next, "row")
        ok = (derived_row - closed_row).applyfunc(sp.simplify) == sp.zeros(p_next, p_k)
        results.append(
            Identity(
                "jacobian row",
                f"dn^(k+1)/dn^k = (W^(k+1))^T F'(n^k), row convention, {p_k} -> {p_next}",
                derived_row,
                closed_row,
                "symbolic",
                ok,
            )
        )
        derived_col, closed_col, W_col = jacobian_concrete(p_k, p_next, "column")
        ok = (derived_col - closed_col).applyfunc(sp.simplify) == sp.zeros(p_next, p_k)
        results.append(
            Identity(
                "jacobian column",
                f"dn^(k+1)/dn^k = W^(k+1) F'(n^k), column convention, {p_k} -> {p_next}",
                derived_col,
                closed_col,
                "symbolic",
                ok,
            )
        )
        # same network: the column weight matrix is the transpose of the row one
        same = derived_row.subs(
            {W_row[q, i]: W_col[i, q] for q in range(p_k) for i in range(p_next)}, simultaneous=True
        )
        results.append(
            Identity(
                "conventions agree",
                f"row and column conventions give the same Jacobian with W_col = W_row^T, {p_k} -> {p_next}",
                same,
                derived_col,
                "symbolic",
                same == derived_col,
            )
        )
    return results


def prove_jacobian_any_width() -> Identity:
    """Entry (i, j) of dn^{k+1}/dn^k for a layer of arbitrary width p (indexed symbols, symbolic sum).

    ``n_i^{k+1} = b_i + Sum_{q=1}^{p} f(n_q) w_{q,i}``; d/dn_j of it is ``w_{j,i} f'(n_j)`` for
    1 <= j <= p, i.e. the (i, j) entry of ``W^T F'``. (Seed 003 eq. 30 prints ``w_ij``; with its
    own eq. 26, where w_qi joins unit q of layer k to unit i of layer k+1, the entry is w_ji.)
    """
    p = sp.Symbol("p", integer=True, positive=True)
    i, j, q = sp.symbols("i j q", integer=True, positive=True)
    n, w, b = sp.IndexedBase("n"), sp.IndexedBase("w"), sp.IndexedBase("b")
    n_next_i = b[i] + sp.Sum(f(n[q]) * w[q, i], (q, 1, p))
    derived = sp.diff(n_next_i, n[j])
    # sympy gives Sum(KroneckerDelta(j, q) f'(n_q) w_qi); doit() picks q = j under the condition j <= p
    evaluated = derived.doit()
    closed = w[j, i] * sp.Derivative(f(n[j]), n[j])
    pieces = (
        dict((cond, expr) for expr, cond in evaluated.args)
        if isinstance(evaluated, sp.Piecewise)
        else {sp.true: evaluated}
    )
    on_range = pieces.get(sp.Le(j, p), pieces.get(sp.true))
    ok = on_range is not None and sp.simplify(on_range - closed) == 0
    return Identity(
        "jacobian any width",
        "d n_i^(k+1) / d n_j^k = w_(j,i) f'(n_j) for every width p and 1 <= j <= p",
        evaluated,
        closed,
        "symbolic (indexed sum, KroneckerDelta)",
        ok,
    )
