"""The registry behind ``funcmlp derive``: fixed names only (nothing a user types is parsed
as sympy), each giving ``(text, passed)`` in the requested format.

Example:
    >>> text, passed = ENTRIES["seed003_relu_linear"][1]("text")
    >>> passed, "errata: none found" in text
    (True, True)
"""

from __future__ import annotations

import sympy as sp

from derivations import activations, chain, sensitivities, symbolic, worked
from derivations.render import escape
from funcmlp.losses import get_loss


def _identities(results, title: str, fmt: str):
    passed = all(r.passed for r in results)
    if fmt == "markdown":
        lines = [f"## {title}", "", "| result | identity | method |", "|---|---|---|"]
        lines += [f"| {'PASS' if r.passed else 'FAIL'} | {r.statement} | {r.method} |" for r in results]
    elif fmt == "latex":
        lines = [f"% {title}", rf"\subsection*{{{escape(title)}}}"]
        lines += [rf"\noindent {'PASS' if r.passed else 'FAIL'}: {escape(r.statement)} [{escape(r.method)}]" "\n"
                  rf"\[ {sp.latex(r.derived)} = {sp.latex(r.closed_form)} \]" for r in results]
    else:
        lines = [title, "=" * len(title), activations.report(results)]
    return "\n".join(lines), passed


def _worked(name: str):
    def run(fmt: str):
        derivation = worked.build(name)
        return worked.render(derivation, fmt), not any(e.slip == "unexplained" for e in derivation.errata)

    return run


ENTRIES = {
    "activations": ("sympy proofs of each activation's closed-form derivative and the softmax Jacobian",
                    lambda fmt: _identities(activations.prove_activation_derivatives(), "Activation derivatives (seed 002 table, seed 003 eqs. 34-38)", fmt)),
    "sensitivities": ("output sensitivities s^L for every loss and output activation (seed 003 eq. 24)",
                      lambda fmt: _identities(sensitivities.prove_output_sensitivities(), "Output sensitivities", fmt)),
    "jacobian": ("dn^(k+1)/dn^k = (W^(k+1))^T F'(n^k) for concrete sizes, both conventions, and any width (seed 003 eqs. 25-32)",
                 lambda fmt: _identities(sensitivities.prove_jacobian_concrete() + [sensitivities.prove_jacobian_any_width()],
                                         "The Jacobian of seed 003 eqs. 25-32", fmt)),
    **{name: (title, _worked(name)) for name, title in worked.TITLES.items()},
}


def architecture_check(sizes, activation_names, loss, convention="row", method="auto"):
    """Print the derived expressions of a user-given architecture and PASS/FAIL per identity."""
    net = chain.Network(tuple(sizes), tuple(activation_names), loss)
    lines = [f"network {'-'.join(map(str, sizes))}, activations {', '.join(activation_names)}, loss {loss}, {convention} convention"]
    n = list(sp.symbols(f"n1:{sizes[-1] + 1}", real=True))
    y = list(sp.symbols(f"y1:{sizes[-1] + 1}", real=True))
    s_out = symbolic.output_terms(get_loss(loss), net.resolved[-1], n, y)[1]
    lines.append("output sensitivity s^L = dL/dn^L (closed form):")
    lines += [f"  s^L_{j + 1} = {sp.simplify(v)}" for j, v in enumerate(s_out)]
    passed = True
    for k in range(1, len(sizes) - 1):
        activation = net.resolved[k - 1]
        derived, closed, _ = sensitivities.jacobian_concrete(sizes[k], sizes[k + 1], convention, activation)
        ok = (derived - closed).applyfunc(sp.simplify) == sp.zeros(*derived.shape)
        passed &= ok
        factor = "F'(n^k)" if activation.is_elementwise else f"J_{activation.name}(n^k)"
        form = f"(W^(k+1))^T {factor}" if convention == "row" else f"W^(k+1) {factor}"
        lines.append(f"{'PASS' if ok else 'FAIL'}  dn^{k + 1}/dn^{k} = {form} ({sizes[k]} -> {sizes[k + 1]}, symbolic): {derived.tolist()}")
    report = chain.check_chain(net, method=method)
    passed &= report.passed
    lines.append(str(report))
    return "\n".join(lines), passed
