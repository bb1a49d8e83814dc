"""The notation of the entry-by-entry lines: a :class:`Line` (``lhs = form = numbers = value``
in text and LaTeX) and the named symbols of one example (``w^2_{1,3}``, ``a^1_2``, ``dL/da^1_1``)
in the spec file's convention, with printers that keep sums and products in the order written.

Contract: sympy expressions over these symbols in, :class:`Line` objects out; numbers are written
by :mod:`derivations.model.numbers`, widths measured by :mod:`derivations.formats.render`; the formulas
themselves come from :mod:`derivations.model.engine` (see :mod:`derivations.examples.textbook`).

Example:
    >>> note = Notation(COLUMN)
    >>> w, x = note.weight(1, 0, 0, sp.Rational(3)), note.entry("x", None, 1, sp.Rational(2))
    >>> print(note.line(note.entry("n", 1, 1), note.mul(w, x), sp.Rational(6)).text())
    n^1_1 = w^1_{1,1}*x_1 = 3*2 = 6
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from derivations.model.convention import COLUMN, Convention  # noqa: F401 (COLUMN: the example above)
from derivations.model.numbers import latex_number, number_text
from derivations.model.typeset import visible_width


@dataclass(frozen=True)
class Line:
    """One entry of a step: ``lhs = form_1 = form_2 = ... = value``, in text and in LaTeX.

    Example:
        >>> line = Line(("L", "(y - a)**2", "(1 - 0.5)**2"), ("L", "(y - a)^{2}", "(1 - 0.5)^{2}"), sp.Rational(1, 4))
        >>> print(line.text()); print(line.latex_rows())
        L = (y - a)**2 = (1 - 0.5)**2 = 0.25
        L &= (y - a)^{2} = (1 - 0.5)^{2} = 0.25
    """

    text_parts: tuple
    latex_parts: tuple
    value: sp.Expr
    chain: bool = False  # a chain-rule factorisation of a derivative (dL/da * da/dn * dn/dw), not its own formula

    def text(self) -> str:
        """The entry on one line of text."""
        return " = ".join(self.text_parts) + " = " + number_text(self.value)[0]

    def latex(self) -> str:
        """The entry as one LaTeX math expression."""
        relation, number = self._latex_result()
        return " = ".join(self.latex_parts) + f" {relation} {number}"

    def _latex_result(self) -> tuple[str, str]:
        number, exact = number_text(self.value)
        return ("=" if exact else r"\approx"), latex_number(number)

    def latex_rows(self, width: int = 70) -> str:
        """Rows of an aligned block: ``lhs &= form = ... \approx value`` when that is short
        (under about ``width`` characters on the page), else one row per form, and a form too
        long for a row broken before its top-level ``+`` and ``-``."""
        lhs, *forms = self.latex_parts
        relation, number = self._latex_result()
        if visible_width(self.latex()) <= width:
            return (
                f"{lhs} &= " + " = ".join(forms) + f" {relation} {number}" if forms else f"{lhs} &{relation} {number}"
            )
        rows = []
        for i, form in enumerate(forms):
            pieces = _broken(form, width)
            rows.append((f"{lhs} &= " if i == 0 else "&= ") + pieces[0])
            rows += [r"&\quad " + piece for piece in pieces[1:]]
        rows.append(f"&{relation} {number}" if forms else f"{lhs} &{relation} {number}")
        return r" \\ ".join(rows)


def _broken(latex: str, width: int) -> list[str]:
    r"""``latex`` cut before top-level `` + `` / `` - `` (outside braces and \left...\right) into
    pieces of at most about ``width`` visible characters (a single long term stays whole)."""
    cuts, depth, i = [0], 0, 0
    while i < len(latex):
        if latex.startswith(r"\left", i) or latex[i] == "{":
            depth += 1
        elif latex.startswith(r"\right", i) or latex[i] == "}":
            depth -= 1
        elif depth == 0 and latex.startswith((" + ", " - "), i):
            cuts.append(i + 1)
        i += 1
    terms = [latex[start:end].strip() for start, end in zip(cuts, cuts[1:] + [len(latex)], strict=False)]
    pieces = [terms[0]]
    for term in terms[1:]:
        if visible_width(pieces[-1] + " " + term) <= width:
            pieces[-1] += " " + term
        else:
            pieces.append(term)
    return pieces


def _printer(base):
    """A sympy printer that shows symbols by given names (their numbers, for substitution), keeps
    the written order of the sums and products built here (``ordered`` holds their ids; the
    notation keeps those objects alive) and writes an activation's name as one operator."""

    class Printer(base):
        def __init__(self, names: dict, ordered: set, **settings):
            super().__init__(settings)
            self.names, self.ordered = names, ordered

        def _print_Symbol(self, expr, style="plain"):
            return self.names.get(expr, expr.name)

        def _print_Add(self, expr, order=None):
            if id(expr) in self.ordered:
                terms = list(expr.args)
            else:  # as a textbook writes it: (y_1 - a_1), not (-a_1 + y_1)
                terms = list(self._as_ordered_terms(expr, order=order))
                if not (terms[0].could_extract_minus_sign() and any(not t.could_extract_minus_sign() for t in terms)):
                    return super()._print_Add(expr, order=order)
                terms = [t for t in terms if not t.could_extract_minus_sign()] + [
                    t for t in terms if t.could_extract_minus_sign()
                ]
            out = ""
            for i, term in enumerate(terms):
                text = self._print(term)
                out += (" - " + text[1:]) if i and text.startswith("-") else ((" + " if i else "") + text)
            return out

        def _print_Mul(self, expr):
            if id(expr) not in self.ordered:
                return super()._print_Mul(expr)
            args, sign = list(expr.args), ""
            if args[0] == -1:
                args, sign = args[1:], "-"
            separator = self._settings.get("mul_symbol_latex", "*")
            return sign + separator.join(self.parenthesize(a, precedence(expr), strict=True) for a in args)

        def _print_Function(self, expr, exp=None):
            if not isinstance(expr, AppliedUndef) or base is StrPrinter:
                return super()._print_Function(expr, exp) if base is not StrPrinter else super()._print_Function(expr)
            name = (
                r"\operatorname{" + expr.func.__name__.replace("_", r"\_") + "}"
            )  # leaky_relu: one name, not leaky subscript relu
            return (
                name
                + r"\left("
                + ", ".join(self._print(arg) for arg in expr.args)
                + r"\right)"
                + (f"^{{{exp}}}" if exp else "")
            )

    return Printer


_Text, _Latex = _printer(StrPrinter), _printer(LatexPrinter)


def symbol(text: str, latex: str, registry: dict) -> sp.Symbol:
    symbol = sp.Symbol(text, real=True)
    registry[symbol] = latex
    return symbol


def weight_name(k: int, i: int, j: int, convention: Convention) -> tuple[str, str]:
    """(text, LaTeX) name of the weight from input i to unit j of layer k (0-based i, j) in a
    file's convention: ``w^k_{j,i}`` in the column one (W is (out, in)), ``w^k_{i,j}`` in the row one.

    Example:
        >>> from derivations.model.convention import ROW
        >>> weight_name(2, 0, 2, COLUMN), weight_name(2, 0, 2, ROW)[0]
        (('w^2_{3,1}', 'w^{2}_{3,1}'), 'w^2_{1,3}')
    """
    r, c = convention.weight_entry(i, j)
    return f"w^{k}_{{{r},{c}}}", f"w^{{{k}}}_{{{r},{c}}}"


class Notation:
    """The symbols of one example in the file's convention, their LaTeX names, their values and
    those values' decimals (formatted once: nested exponentials take a while to evaluate)."""

    def __init__(self, convention: Convention):
        self.convention = convention
        self.latex: dict = {}
        self.numbers: dict = {}
        self.ordered: set = set()
        self._kept: list = []  # the ordered expressions, alive as long as the notation: their ids stay theirs

    def _keep(self, expr):
        self.ordered.add(id(expr))
        self._kept.append(expr)
        return expr

    def add(self, *terms):
        """A sum printed in the order written."""
        return self._keep(sp.Add(*terms, evaluate=False))

    def mul(self, *factors):
        """A product printed in the order written."""
        return self._keep(sp.Mul(*factors, evaluate=False))

    def value(self, symbol, value):
        if value is not None and symbol not in self.numbers:
            text = number_text(sp.sympify(value))[0]
            self.numbers[symbol] = (
                (f"({text})", rf"\left({latex_number(text)}\right)")
                if text.startswith("-")
                else (text, latex_number(text))
            )
        return symbol

    def entry(self, name: str, layer, index, value=None) -> sp.Symbol:
        """``name^layer_index`` (``x_i``, ``y_j`` when ``layer`` is None); index a unit or a (row, column) pair."""
        text_index = str(index) if isinstance(index, int) else "{" + ",".join(map(str, index)) + "}"
        latex_index = str(index) if isinstance(index, int) else ",".join(map(str, index))
        up, up_latex = ("", "") if layer is None else (f"^{layer}", f"^{{{layer}}}")
        return self.value(symbol(f"{name}{up}_{text_index}", f"{name}{up_latex}_{{{latex_index}}}", self.latex), value)

    def partial(self, of: str, by: str, latex_of: str, latex_by: str, value) -> sp.Symbol:
        """The symbol ``d{of}/d{by}`` (LaTeX: a partial-derivative fraction) with its value."""
        return self.value(
            symbol(f"d{of}/d{by}", rf"\frac{{\partial {latex_of}}}{{\partial {latex_by}}}", self.latex), value
        )

    def weight(self, k: int, i: int, j: int, value=None) -> sp.Symbol:
        """The weight from input i to unit j of layer k (0-based), named in the file's convention."""
        text, latex = weight_name(k, i, j, self.convention)
        return self.value(symbol(text, latex, self.latex), value)

    def line(self, lhs: sp.Symbol, formula, value, *extra: tuple) -> Line:
        """``lhs = formula = formula with the numbers = value``; ``extra`` (text, latex) forms go between."""
        text = (
            [lhs.name]
            + [t for t, _ in extra]
            + [
                _Text({}, self.ordered).doprint(formula),
                _Text({s: t for s, (t, _) in self.numbers.items()}, self.ordered).doprint(formula),
            ]
        )
        latex = (
            [self.latex[lhs]]
            + [t for _, t in extra]
            + [
                _Latex(self.latex, self.ordered).doprint(formula),
                _Latex({s: t for s, (_, t) in self.numbers.items()}, self.ordered, mul_symbol="dot").doprint(formula),
            ]
        )
        if formula.is_Symbol:  # lhs = symbol = its number: the number once
            text, latex = text[:-1], latex[:-1]
        text = [t.replace("**", "^") for t in text]  # powers as a textbook writes them
        # a negative number as a function's argument: relu(-3.5), not relu((-3.5))
        text = [re.sub(r"\(\((-[^()]*)\)\)", r"(\1)", t) for t in text]
        latex = [re.sub(r"\\left\(\\left\((-[^()]*?)\\right\) ?\\right\)", r"\\left(\1\\right)", t) for t in latex]
        return Line(tuple(text), tuple(latex), value)
