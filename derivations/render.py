"""Renderers of a :class:`~derivations.derivation.Derivation`: text, Markdown, LaTeX.

Contract: a derivation in (anything with ``title``, ``steps`` (each ``name``, ``formula``,
``values``, ``shape``, ``lines``), ``errata`` and ``notes``), a string out; numbers are written
by :mod:`derivations.numbers` only; nothing above this module is imported (the model imports
the renderers for its Jupyter display, not the other way round).

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

import re

import sympy as sp

from derivations.numbers import decimal, exact, latex_number, number_text
from derivations.text import escape, markdown_text, one_line


def _shaped(step, fmt, column: bool = False) -> str:
    """The values in brackets: a matrix's rows split by ``;``; in the ``column`` convention a
    vector of several units is a column, written as the transpose of a row (``[0.75, 0.54]^T``)."""
    values = [fmt(v) for v in step.values]
    if len(step.shape) == 2 and step.shape[0] > 1:
        rows, cols = step.shape
        return "[" + "; ".join(", ".join(values[r * cols : (r + 1) * cols]) for r in range(rows)) + "]"
    transposed = "^T" if column and not step.shape and len(values) > 1 else ""
    return "[" + ", ".join(values) + "]" + transposed


def render(d, fmt: str = "text", *, standalone: bool = False) -> str:
    """The derivation step by step (exact values, decimals beside), then errata and notes.

    ``fmt``: ``"text"`` (aligned columns), ``"markdown"`` (``$$...$$`` math that GitHub and
    Jupyter render) or ``"latex"`` (math notation; ``standalone`` makes a whole document that
    compiles with pdflatex)."""
    if fmt == "text":
        lines = [d.title, "=" * len(d.title)]
        column = getattr(d, "column", False)  # the contract: anything with title, steps, errata and notes
        for s in d.steps:
            lines.append(f"{s.name:<22} = {s.formula}")
            lines.append(f"{'':<22}   exact   {_shaped(s, exact, column)}")
            lines.append(f"{'':<22}   decimal {_shaped(s, decimal, column)}")
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
# math notation

_FUNCTIONS = {
    "sigmoid": r"\sigma",
    "tanh": r"\tanh",
    "eta": r"\eta",
    "alpha": r"\alpha",
    "log": r"\log",
    "sum_j": r"\sum_j",
}


def _breakable(text: str) -> str:
    """Escaped text that may break after / * ( , = _ (long formulas in narrow table cells)."""
    return re.sub(r"([/*(,=]|\\_)", r"\1\\allowbreak{}", escape(text))


def _symbol(match: re.Match) -> str:
    name, layer = match.group(1), match.group(2)
    return f"{name}^{{{layer}}}"


_PARTIAL = r"dL/d([a-zA-Z])\^(\d+)"


def _partial(match: re.Match) -> str:
    return rf"\frac{{\partial L}}{{\partial {_symbol(match)}}}"


def math_name(step: str) -> str | None:
    """A step name in math notation (``"dL/dW^2"`` -> ``\\frac{\\partial L}{\\partial W^{2}}``), or None
    for free text."""
    patterns = [
        (_PARTIAL, _partial),
        (
            r"dL/d([a-z])\^(\d+)_\{(\d+),(\d+)\}",
            lambda m: rf"\frac{{\partial L}}{{\partial {m.group(1)}^{{{m.group(2)}}}_{{{m.group(3)},{m.group(4)}}}}}",
        ),
        (r"([a-zA-Z])\^(\d+)", _symbol),
        (r"([a-zA-Z])\^(\d+) new", lambda m: rf"{m.group(1)}^{{{m.group(2)}}}_{{\mathrm{{new}}}}"),
        (r"([a-zA-Z])\^(\d+) after (\d+) steps", lambda m: rf"{m.group(1)}^{{{m.group(2)}}}_{{({m.group(3)})}}"),
        (r"L", lambda m: "L"),
        (r"L after step (\d+)", lambda m: rf"L_{{({m.group(1)})}}"),
    ]
    for pattern, make in patterns:
        match = re.fullmatch(pattern, step)
        if match:
            return make(match)
    return None


_PHRASE = re.compile(r",? (?:mean|summed) over (?:the batch|\d+ examples)")


def math_formula(formula: str) -> tuple[str | None, str]:
    """A network step's formula in math notation (None when it is free text), and its trailing
    comment as LaTeX text (``"  (seed 003 eq. 33)"``), or ``""``."""
    text, _, comment = formula.partition("  (")
    comment = rf"\quad\text{{({escape(comment)}}}" if comment else ""
    phrases = _PHRASE.findall(text)  # words within the math, kept as text: ", mean over 2 examples"
    text = _PHRASE.sub(" WORDS", text)
    if not re.fullmatch(r"[\w^/*'() ,.+\-]+", text) or " = " in text or re.search(r" (with the|after) ", text):  # words
        return None, comment
    out = re.sub(_PARTIAL, _partial, text)
    out = re.sub(r"\b([a-zA-Z])\^(\d+)", _symbol, out)
    out = re.sub(r"\)\^T", r")^{\\top}", out)
    out = out.replace(" * ", r" \odot ")
    out = re.sub(r"\b(sigmoid|tanh|eta|alpha|log|sum_j)\b", lambda m: _FUNCTIONS[m.group(1)], out)
    out = re.sub(
        r"(?<![\\\w])([a-z][a-z0-9_]+)\(", lambda m: r"\operatorname{" + m.group(1).replace("_", r"\_") + "}(", out
    )
    for phrase in phrases:
        out = out.replace(" WORDS", rf"\text{{{escape(phrase)}}}", 1)
    return out, comment


def visible_width(latex: str) -> int:
    """About how many characters ``latex`` takes on the page (commands, braces, scripts dropped).

    Example:
        >>> visible_width(r"\\frac{\\partial L}{\\partial a^{1}} = 0.25")
        10
    """
    text = re.sub(r"\\(left|right|cdot|mathrm|operatorname|quad)", " ", latex)
    text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: max(m.group(1), m.group(2), key=len), text)
    return len(re.sub(r"\\[a-zA-Z]+|[{}^_\s]", "", text)) + text.count(" = ") * 2


def _math_values(step, column: bool = False) -> tuple[str, bool]:
    """The values as a bmatrix (or one number), and whether all are exact; in the ``column``
    convention a vector is a column, in the row one a row (a long one down the page, transposed)."""
    if any(v.free_symbols for v in step.values):
        if len(step.values) == 1:
            return sp.latex(step.values[0]), True
        return r"\begin{bmatrix}" + r" \\ ".join(sp.latex(v) for v in step.values) + r"\end{bmatrix}", True
    texts = [(latex_number(t), e) for t, e in (number_text(v) for v in step.values)]
    exact = all(e for _, e in texts)
    cells = [t for t, _ in texts]
    if len(cells) == 1 and not step.shape:
        return cells[0], exact
    if len(step.shape) == 2:
        rows, cols = step.shape
        body = r" \\ ".join(" & ".join(cells[r * cols : (r + 1) * cols]) for r in range(rows))
        return r"\begin{bmatrix}" + body + r"\end{bmatrix}", exact
    if column:
        return r"\begin{bmatrix}" + r" \\ ".join(cells) + r"\end{bmatrix}", exact
    if len(cells) > 4:  # a long vector goes down the page, transposed
        return r"\begin{bmatrix}" + r" \\ ".join(cells) + r"\end{bmatrix}^{\top}", exact
    return r"\begin{bmatrix}" + " & ".join(cells) + r"\end{bmatrix}", exact


def step_math(step, column: bool = False) -> tuple[str | None, str]:
    """(the display ``name = formula = values``, or None if the name is free text; the values)."""
    values, exact = _math_values(step, column)
    relation = "=" if exact else r"\approx"
    name, (formula, comment) = math_name(step.name), math_formula(step.formula)
    if name is None:
        return None, values
    middle = f" = {formula}" if formula and formula != name else ""
    return f"{name}{middle} {relation} {values}{comment}", values


def latex_block(d) -> str:
    """The steps as one ``$$\\begin{aligned}...\\end{aligned}$$`` block (free-text steps as \\text)."""
    rows = []
    for step in d.steps:
        display, values = step_math(step, getattr(d, "column", False))
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
    for step in d.steps:
        display, values = step_math(step, getattr(d, "column", False))
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
    for step in d.steps:
        display, values = step_math(step, getattr(d, "column", False))
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
