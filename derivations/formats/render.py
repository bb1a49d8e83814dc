"""Renderers of a :class:`~derivations.model.derivation.Derivation`: text, Markdown, LaTeX.

Contract: a derivation in (anything with ``title``, ``steps`` (each ``name``, ``formula``,
``values``, ``shape``, ``lines``), ``errata`` and ``notes``), a string out; numbers are written
by :mod:`derivations.model.numbers` only; nothing above this module is imported (the model imports
the renderers for its Jupyter display, not the other way round).

Example:
    >>> from derivations.model.derivation import Derivation
    >>> from derivations.model.quantity import Key
    >>> d = Derivation("demo", "Demo"); _ = d.add(Key("L"), "1/2 (y - a)^2", [sp.Rational(1, 8)])
    >>> print(render(d, "text"))
    Demo
    ====
    L                      = 1/2 (y - a)^2
                             exact   [1/8]
                             decimal [0.125]
    errata: none found
"""

from __future__ import annotations

import re

import sympy as sp  # noqa: F401 (the example above)

from derivations.model.convention import ROW, Convention
from derivations.model.numbers import decimal, exact, latex_number, number_text
from derivations.model.text import escape, markdown_text, one_line
from derivations.model.typeset import sections, step_math, visible_width


def _shaped(step, fmt, convention: Convention) -> str:
    """The values in brackets: a matrix's rows split by ``;``; in the column convention a
    vector of several units is a column, written as the transpose of a row (``[0.75, 0.54]^T``)."""
    values = [fmt(v) for v in step.values]
    if len(step.shape) == 2 and step.shape[0] > 1:
        rows, cols = step.shape
        return "[" + "; ".join(", ".join(values[r * cols : (r + 1) * cols]) for r in range(rows)) + "]"
    transposed = "^T" if convention.column and not step.shape and len(values) > 1 else ""
    return "[" + ", ".join(values) + "]" + transposed


def render(d, fmt: str = "text", *, standalone: bool = False) -> str:
    """The derivation step by step (exact values, decimals beside), then errata and notes.

    ``fmt``: ``"text"`` (aligned columns), ``"markdown"`` (``$$...$$`` math that GitHub and
    Jupyter render) or ``"latex"`` (math notation; ``standalone`` makes a whole document that
    compiles with pdflatex)."""
    if fmt == "text":
        lines = [d.title, "=" * len(d.title)]
        convention = getattr(d, "convention", ROW)  # the contract: anything with title, steps, errata and notes
        for s, heading in zip(d.steps, sections(d), strict=True):
            if heading:
                lines += [heading, "-" * len(heading)]
            lines.append(f"{s.name:<22} = {s.formula}")
            lines.append(f"{'':<22}   exact   {_shaped(s, exact, convention)}")
            lines.append(f"{'':<22}   decimal {_shaped(s, decimal, convention)}")
            lines += [row for line in s.lines for row in _text_rows(line)]
        lines.append("errata: none found" if not d.errata else f"errata ({len(d.errata)}):")
        lines += [f"  {e}" for e in d.errata]
        lines += [f"note: {n}" for n in d.notes]
        return "\n".join(lines)
    if fmt == "markdown":
        return markdown(d)
    if fmt == "latex":
        return latex(d, standalone=standalone)
    raise ValueError(f"unknown format {fmt!r}; expected text, latex or markdown")


_INDENT = " " * 25


def _text_rows(line, width: int = 160) -> list[str]:
    """One entry as a textbook writes it, on one row, or one row per ``=`` when it is long."""
    one = _INDENT + line.text()
    if len(one) <= width:
        return [one]
    lhs, *forms = line.text_parts
    continued = _INDENT + " " * len(lhs) + " = "
    return (
        [_INDENT + f"{lhs} = {forms[0]}"]
        + [continued + form for form in forms[1:]]
        + [continued + number_text(line.value)[0]]
    )


# ---------------------------------------------------------------------------
# math notation (:mod:`derivations.model.typeset`)


def _breakable(text: str) -> str:
    """Escaped text that may break after / * ( , = _ (long formulas in narrow table cells)."""
    return re.sub(r"([/*(,=]|\\_)", r"\1\\allowbreak{}", escape(text))


def latex_block(d) -> str:
    """The steps as one ``$$\\begin{aligned}...\\end{aligned}$$`` block (free-text steps as \\text)."""
    rows = []
    for step, heading in zip(d.steps, sections(d), strict=True):
        if heading:
            rows.append(rf"\textbf{{{escape(heading)}}} &")
        display, values = step_math(step, getattr(d, "convention", ROW))
        if display is None:
            rows.append(rf"\text{{{escape(step.name)}}} &: {values}")
        else:
            first = min(i for i in (display.find(" = "), display.find(r" \approx ")) if i >= 0)
            rows.append(display[:first] + " &" + display[first:])
        rows += [line.latex_rows() for line in step.lines]
    return "$$\\begin{aligned}" + r" \\ ".join(rows) + "\\end{aligned}$$"


def markdown(d) -> str:
    """Markdown with ``$$...$$`` math (GitHub, Jupyter): one display per step, errata as a table."""
    lines = [f"## {markdown_text(d.title)}", ""]
    for step, heading in zip(d.steps, sections(d), strict=True):
        if heading:
            lines += [f"### {markdown_text(heading[0].upper() + heading[1:])}", ""]
        display, values = step_math(step, getattr(d, "convention", ROW))
        if display is None:
            lines += [f"**{step.name}**: {step.formula}", "", f"$$ {values} $$", ""]
        else:
            lines += [f"$$ {display} $$", ""]
        if step.lines:
            lines += [
                "$$\\begin{aligned}" + r" \\ ".join(line.latex_rows() for line in step.lines) + "\\end{aligned}$$",
                "",
            ]
    lines += _errata_markdown(d)
    return "\n".join(lines)


def _errata_markdown(d) -> list[str]:
    lines = (
        ["**Errata**", "", "| where | step | printed | right | kind of slip |", "|---|---|---|---|---|"]
        if d.errata
        else ["No errata found.", ""]
    )
    for e in d.errata:
        right = number_text(e.exact)[0] if not e.exact.free_symbols else f"`{e.exact}`"
        printed = e.printed.replace("|", "\\|")
        lines.append(
            f"| {markdown_text(e.where)} | {e.step}[{e.index}] | `{printed}` | {right} | {markdown_text(e.slip)} |"
        )
    lines += [""] + [f"- note: {markdown_text(n)}" for n in d.notes]
    return lines


def latex(d, *, standalone: bool = False) -> str:
    """LaTeX in math notation: a display per step (page breaks allowed between them), decimals
    to 9 significant digits where not exact, the errata as a table that wraps its text."""
    lines = [f"% {one_line(d.title)}", rf"\subsection*{{{escape(d.title)}}}"]
    for step, heading in zip(d.steps, sections(d), strict=True):
        if heading:
            lines.append(rf"\subsubsection*{{{escape(heading[0].upper() + heading[1:])}}}")
        display, values = step_math(step, getattr(d, "convention", ROW))
        if display is None:
            lines.append(rf"\noindent\textbf{{{escape(step.name)}}}: {escape(step.formula)}")
            lines.append(rf"\[ {values} \]")
        elif visible_width(display) > 90:  # a wide matrix: scaled to the line (graphicx)
            lines.append(rf"\[ \resizebox{{\linewidth}}{{!}}{{$\displaystyle {display}$}} \]")
        else:
            lines.append(rf"\[ {display} \]")
        if step.lines:
            lines += [r"\begin{align*}", " \\\\[2pt]\n".join(line.latex_rows() for line in step.lines), r"\end{align*}"]
    if d.errata:
        column = r">{\raggedright\arraybackslash}p"
        widths = (0.10, 0.12, 0.17, 0.17, 0.30)  # + 8 column gaps of 6pt: within the line
        lines += [
            r"\begin{longtable}{@{}" + "".join(f"{column}{{{w}\\linewidth}}" for w in widths) + "@{}}",
            r"where & step & printed & right & kind of slip \\ \hline\endhead",
        ]
        for e in d.errata:
            right = latex_number(number_text(e.exact)[0]) if not e.exact.free_symbols else str(e.exact)
            cells = [
                escape(e.where),
                _breakable(f"{e.step}[{e.index}]"),
                r"\texttt{" + _breakable(e.printed) + "}",
                _breakable(right),
                escape(e.slip),
            ]
            lines.append(" & ".join(cells) + r" \\")
        lines.append(r"\end{longtable}")
    else:
        lines.append(r"\noindent No errata found.")
    if d.notes:
        lines += [r"\begin{itemize}"] + [rf"\item {escape(n)}" for n in d.notes] + [r"\end{itemize}"]
    body = "\n".join(lines)
    return document(body) if standalone else body


def document(body: str) -> str:
    """A complete article around ``body`` (amsmath, longtable, graphicx, 2 cm margins) for pdflatex."""
    return "\n".join(
        [
            r"\documentclass[11pt]{article}",
            r"\usepackage[margin=2cm]{geometry}",
            r"\usepackage{amsmath,amssymb}",
            r"\usepackage{longtable,array,graphicx}",
            r"\allowdisplaybreaks",
            r"\setlength{\parindent}{0pt}",
            r"\begin{document}",
            body,
            r"\end{document}",
            "",
        ]
    )
