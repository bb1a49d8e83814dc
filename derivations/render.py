"""Renderers of a :class:`~derivations.derivation.Derivation`: text, Markdown, LaTeX.

Example:
    >>> from derivations.derivation import Derivation
    >>> d = Derivation("demo", "Demo"); _ = d.add("L", "1/2 (y - a)^2", [sp.Rational(1, 8)])
    >>> print(render(d, "text"))
    Demo
    ====
    L                      = 1/2 (y - a)^2
                             exact   [1/8]
                             decimal [0.125]
    errata: none found
"""

from __future__ import annotations

import sympy as sp

from derivations.derivation import Derivation, Step, _decimal, _exact


def _shaped(step: Step, fmt) -> str:
    values = [fmt(v) for v in step.values]
    if len(step.shape) == 2 and step.shape[0] > 1:
        rows, cols = step.shape
        return "[" + "; ".join(", ".join(values[r * cols:(r + 1) * cols]) for r in range(rows)) + "]"
    return "[" + ", ".join(values) + "]"


def render(d: Derivation, fmt: str = "text") -> str:
    """The derivation step by step (exact values, decimals beside), then errata and notes."""
    if fmt == "text":
        lines = [d.title, "=" * len(d.title)]
        for s in d.steps:
            lines.append(f"{s.name:<22} = {s.formula}")
            lines.append(f"{'':<22}   exact   {_shaped(s, _exact)}")
            lines.append(f"{'':<22}   decimal {_shaped(s, _decimal)}")
        lines.append("errata: none found" if not d.errata else f"errata ({len(d.errata)}):")
        lines += [f"  {e}" for e in d.errata]
        lines += [f"note: {n}" for n in d.notes]
        return "\n".join(lines)
    if fmt == "markdown":
        lines = [f"## {d.title}", "", "| step | formula | exact | decimal |", "|---|---|---|---|"]
        lines += [f"| {s.name} | `{s.formula}` | {_shaped(s, _exact)} | {_shaped(s, _decimal)} |" for s in d.steps]
        lines += ["", "**Errata**" if d.errata else "No errata found.", ""]
        lines += [f"- {e}" for e in d.errata]
        lines += [f"- note: {n}" for n in d.notes]
        return "\n".join(lines)
    if fmt == "latex":
        lines = [f"% {d.title}", r"\begin{align*}"]
        for s in d.steps:
            matrix = sp.Matrix(*s.shape, list(s.values)) if len(s.shape) == 2 else sp.Matrix([list(s.values)])
            lines.append(r"\text{" + s.name.replace("^", r"\^{}").replace("_", r"\_") + "} &= " + sp.latex(matrix) + r" \\")
        lines.append(r"\end{align*}")
        lines += [f"% erratum: {e}" for e in d.errata]
        lines += [f"% note: {n}" for n in d.notes]
        return "\n".join(lines)
    raise ValueError(f"unknown format {fmt!r}; expected text, latex or markdown")
