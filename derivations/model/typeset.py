"""Math notation of a derivation's steps (LaTeX): a step's formula, its values as a matrix, the display
``name = formula = values`` (the name is its :class:`~derivations.model.quantity.Key`'s LaTeX), and the heading of
the gradient step a step belongs to in a replay of several.

Contract: a step in (``name``, ``formula``, ``values``, ``shape``, its ``key`` or None for free text, and
``formula_latex`` where the formula's math is given), LaTeX strings out; numbers written by
:mod:`derivations.model.numbers`, free text escaped by :mod:`derivations.model.text`. A step is named by its key,
never by reading its name.

Example:
    >>> print(heading(2, 3))
    step 2 of 3 (from the parameters after step 1)
"""

from __future__ import annotations

import re

import sympy as sp

from derivations.model.convention import ROW, Convention
from derivations.model.formula import Formula
from derivations.model.numbers import latex_number, number_text


def formula_math(step) -> tuple[str | None, str]:
    """A step's formula in LaTeX (None where it is words, or free text of a hand-built step) and its remark, written
    after the values (``\\quad\\text{(the sensitivity recursion)}``) or ``""``: the step's given LaTeX, else its
    typed :class:`~derivations.model.formula.Formula`'s."""
    given = getattr(step, "formula_latex", "")
    if given:
        return given, ""
    if isinstance(step.formula, Formula):
        return step.formula.latex(), step.formula.remark()
    return None, ""


def visible_width(latex: str) -> int:
    """About how many characters ``latex`` takes on the page (commands, braces, scripts dropped).

    Example:
        >>> visible_width(r"\\frac{\\partial L}{\\partial a^{1}} = 0.25")
        10
    """
    text = re.sub(r"\\(left|right|cdot|mathrm|operatorname|quad)", " ", latex)
    text = re.sub(r"\\frac\{([^{}]*)\}\{([^{}]*)\}", lambda m: max(m.group(1), m.group(2), key=len), text)
    return len(re.sub(r"\\[a-zA-Z]+|[{}^_\s]", "", text)) + text.count(" = ") * 2


def _math_values(step, convention: Convention) -> tuple[str, bool]:
    """The values as a bmatrix (or one number), and whether all are exact; in the column
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
    if convention.column:
        return r"\begin{bmatrix}" + r" \\ ".join(cells) + r"\end{bmatrix}", exact
    if len(cells) > 4:  # a long vector goes down the page, transposed
        return r"\begin{bmatrix}" + r" \\ ".join(cells) + r"\end{bmatrix}^{\top}", exact
    return r"\begin{bmatrix}" + " & ".join(cells) + r"\end{bmatrix}", exact


def step_math(step, convention: Convention = ROW) -> tuple[str | None, str]:
    """(the display ``name = formula = values``, or None if the name is free text; the values), the values in the
    text's ``convention``."""
    values, exact = _math_values(step, convention)
    relation = "=" if exact else r"\approx"
    key = getattr(step, "key", None)  # a network quantity is named by its key; a free-text step has no math name
    name = None if key is None else key.latex()
    formula, comment = formula_math(step)
    if name is None:
        return None, values
    middle = f" = {formula}" if formula and formula != name else ""
    return f"{name}{middle} {relation} {values}{comment}", values


def heading(t: int | None, total: int) -> str:
    """The heading of gradient step ``t`` of a replay of ``total`` steps; ``t`` None: what follows the steps."""
    if t is None:
        return "after the steps: the loss after each step shown and the final parameters"
    return (
        f"step {t} of {total} ("
        + ("from the spec's parameters" if t == 1 else f"from the parameters after step {t - 1}")
        + ")"
    )


def sections(d) -> list:
    """For each step of ``d``, the heading to write before it, or None: a replay of several steps writes each
    step written out in full under its own heading (a step's section is its key's ``t``; the final parameters
    and the losses after each step follow the steps)."""
    total, out, current = getattr(d, "gradient_steps", 1), [], 0
    for step in d.steps:
        key = getattr(step, "key", None)
        t = key.t if key is not None and key.stage not in ("after", "example") else None
        out.append(heading(t, total) if total > 1 and t != current else None)
        current = t
    return out
