"""The names ``funcmlp derive`` shows: the proofs and the worked examples (:data:`derivations.examples.worked.EXAMPLES`,
their one registry), fixed names only (nothing a user types is parsed
as sympy), each giving ``(text, passed)`` in the requested format.

Contract: the top of ``derivations`` (the command line's one door in besides the spec path):
names to proofs and worked examples, rendered; :func:`architecture_check` for ``derive check``.

Example:
    >>> text, passed = ENTRIES["seed003_relu_linear"][1]("text")
    >>> passed, "errata: none found" in text
    (True, True)
"""

from __future__ import annotations

import sympy as sp

from derivations.examples import worked
from derivations.formats.render import render
from derivations.model import engine, symbolic
from derivations.model.convention import Convention
from derivations.model.convention import convention as read_convention
from derivations.model.text import escape
from derivations.proofs import activations, chain, curvature, hessians, network, sensitivities
from funcmlp.registry.losses import get_loss


def _identities(results, title: str, fmt: str):
    passed = all(r.passed for r in results)
    if fmt == "markdown":
        lines = [f"## {title}", "", "| result | identity | method |", "|---|---|---|"]
        lines += [f"| {'PASS' if r.passed else 'FAIL'} | {r.statement} | {r.method} |" for r in results]
    elif fmt == "latex":
        lines = [f"% {title}", rf"\subsection*{{{escape(title)}}}"]
        lines += [
            rf"\noindent {'PASS' if r.passed else 'FAIL'}: {escape(r.statement)} [{escape(r.method)}]"
            "\n"
            rf"\[ {sp.latex(r.derived)} = {sp.latex(r.closed_form)} \]"
            for r in results
        ]
    else:
        lines = [title, "=" * len(title), activations.report(results)]
    return "\n".join(lines), passed


def _worked(name: str):
    def run(fmt: str):
        derivation = worked.build(name)
        return render(derivation, fmt), not any(e.slip == "unexplained" for e in derivation.errata)

    return run


ENTRIES = {
    "activations": (
        "sympy proofs of each activation's closed-form derivative and the softmax Jacobian",
        lambda fmt: _identities(
            activations.prove_activation_derivatives(),
            "Activation derivatives (seed 002 table, seed 003 eqs. 34-38)",
            fmt,
        ),
    ),
    "sensitivities": (
        "output sensitivities s^L for every loss and output activation (seed 003 eq. 24)",
        lambda fmt: _identities(sensitivities.prove_output_sensitivities(), "Output sensitivities", fmt),
    ),
    "jacobian": (
        "dn^(k+1)/dn^k = (W^(k+1))^T F'(n^k) for concrete sizes, both conventions, and any width (seed 003 eqs. 25-32)",
        lambda fmt: _identities(
            sensitivities.prove_jacobian_concrete() + [sensitivities.prove_jacobian_any_width()],
            "The Jacobian of seed 003 eqs. 25-32",
            fmt,
        ),
    ),
    "curvature": (
        "each loss's Hessian factor S S^T = d^2L/da^2 and each activation's f'' (the GGN's and the Hessian's forms)",
        lambda fmt: _identities(
            hessians.prove_curvature_forms(),
            "Curvature forms: the losses' Hessian factors, the activations' second derivatives",
            fmt,
        ),
    ),
    **{name: (example.title, _worked(name)) for name, example in worked.EXAMPLES.items()},
}


SHOW_LIMIT = 100
"""``show`` prints every expression for networks of at most this many parameters."""


QUANTITIES = ("gradient", *curvature.QUANTITIES)
"""What ``derive check`` proves: the gradient (:mod:`derivations.proofs.chain`),
:data:`derivations.proofs.curvature.QUANTITIES`."""


def architecture_check(
    sizes, activation_names, loss, convention="row", method="auto", show=False, quantities=("gradient",)
):
    """Prove the backprop formulas for a user-given architecture: ``(summary, passed)``.

    The summary says what was proven, by which method, over how many entries, and the worst
    difference (at most a few lines per layer and quantity, each at most 200 characters); ``show``
    adds every derived gradient expression (networks of at most ``SHOW_LIMIT`` parameters).
    ``quantities`` (of :data:`QUANTITIES`): the gradient's closed forms, and per-example gradient
    norms, the GGN's diagonal, the Hessian's diagonal (:func:`derivations.proofs.curvature.check_quantity`).

    Example:
        >>> text, passed = architecture_check((2, 2, 1), ("sigmoid", "sigmoid"), "sse")
        >>> passed, text.count("PASS")
        (True, 2)
        >>> text, passed = architecture_check((2, 2, 1), ("tanh", "identity"), "sse", quantities=("norms", "ggn"))
        >>> passed, [line[:26] for line in text.splitlines() if line.startswith("PASS")]
        (True, ['PASS  per-example gradient', 'PASS  GGN diagonal, 2-2-1 '])
    """
    unknown = [q for q in quantities if q not in QUANTITIES]
    if unknown or not quantities:
        raise ValueError(
            f"quantities: {', '.join(map(repr, unknown)) or 'none given'}; expected some of {', '.join(QUANTITIES)}"
        )
    net = network.Network(tuple(sizes), tuple(activation_names), loss)
    extra = [q for q in curvature.QUANTITIES if q in quantities]
    for quantity in extra:  # refused before any work
        curvature.check_network(net, quantity)
    lines = [
        f"network {'-'.join(map(str, sizes))} ({net.count_parameters():,} parameters), activations "
        f"{'/'.join(activation_names)}, loss {loss}"
        + (f", {convention} convention" if "gradient" in quantities else "")
    ]
    passed = True
    if "gradient" in quantities:
        passed, gradient = _gradient(net, read_convention(convention), method, show)
        lines += gradient
    else:
        given = [
            f"--{o}"
            for o, v in (("method", method != "auto"), ("convention", convention != "row"), ("show", show))
            if v
        ]
        if given:
            raise ValueError(
                f"{' and '.join(given)} {'choose' if len(given) > 1 else 'chooses'} how the gradient is proved and "
                "shown; add gradient to the quantities or leave them out"
            )
    for quantity in extra:
        report = curvature.check_quantity(net, quantity)
        passed &= report.passed
        lines.append(str(report))
    return "\n".join(lines), passed


def _gradient(net: network.Network, layout: Convention, method: str, show: bool) -> tuple[bool, list]:
    """The gradient's lines: the output sensitivity, each Jacobian, the chain proof (and with ``show`` every
    derived expression); ``(passed, lines)``."""
    if show and net.count_parameters() > SHOW_LIMIT:
        raise ValueError(
            f"--show prints every expression, for networks of at most {SHOW_LIMIT} parameters; this one has "
            f"{net.count_parameters():,}: leave out --show for the summary"
        )
    sizes, loss, L = net.sizes, net.loss, net.depth
    lines = []
    n = [sp.Symbol(f"n^{L}_{{{j + 1}}}", real=True) for j in range(sizes[-1])]
    y = [sp.Symbol(f"y_{{{j + 1}}}", real=True) for j in range(sizes[-1])]
    s_out = engine.loss_terms(
        engine.SYMPY, get_loss(loss), net.resolved[-1], n, y, symbolic.forward(net.resolved[-1], n)
    )[1]
    shown = [sp.sstr(_tidy(v)) for v in (s_out if show else s_out[:1])]
    lines.append(
        network.clip(
            f"closed form  s^{L} = dL/dn^{L}: s^{L}_{{1}} = {shown[0]}"
            + (f" (units 2..{sizes[-1]} alike)" if len(s_out) > 1 else "")
        )
    )
    if show:
        lines += [f"             s^{L}_{{{j + 1}}} = {v}" for j, v in enumerate(shown[1:], start=1)]
    passed = True
    for k in range(1, L):
        activation = net.resolved[k - 1]
        derived, closed, _ = sensitivities.jacobian_concrete(sizes[k], sizes[k + 1], layout.name, activation)
        ok = (derived - closed).applyfunc(sp.simplify) == sp.zeros(*derived.shape)
        passed &= ok
        factor = f"F'(n^{k})" if activation.is_elementwise else f"J_{activation.name}(n^{k})"
        form = f"{layout.on_columns(f'W^{k + 1}')} {factor}"
        entry = (
            f"w_{{{','.join(layout.in_file_order('j', 'i'))}}} f'(n_{{j}})"
            if activation.is_elementwise
            else "the registry's Jacobian"
        )
        lines.append(
            network.clip(
                f"{'PASS' if ok else 'FAIL'}  Jacobian dn^{k + 1}/dn^{k} = {form}: "
                f"{derived.rows * derived.cols:,} entries ({sizes[k]} -> "
                f"{sizes[k + 1]}) derived by sympy.diff of n^{k + 1}_{{i}}, each equal to {entry} (symbolic zero test)"
            )
        )
        if show:
            lines += [f"      row {i + 1}: {derived.row(i).tolist()[0]}" for i in range(derived.rows)]
    report = chain.check_chain(net, method=method)
    passed &= report.passed
    lines.append(str(report))
    if show:
        layers = net.parameter_symbols()
        xs, ys = net.data_symbols()
        composed = chain.composed_loss(net, layers, xs, ys)
        lines.append("derived by sympy.diff of the composed loss:")
        lines += [f"  dL/d{p} = {network.readable(sp.diff(composed, p))}" for W, b in layers for p in list(W) + b]
    return passed, lines


def _tidy(expr):
    """A short expression simplified for reading; a long one as it is (simplify would take long)."""
    return sp.simplify(expr) if len(sp.sstr(expr)) <= 400 else expr
