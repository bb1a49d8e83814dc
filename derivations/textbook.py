"""Each step of a network worked example as a textbook writes it, entry by entry: the formula
in symbols, the numbers substituted, the result; and the chain-rule factorisation of every
dL/dw of a small network as named factors with their values.

For one example (batch 1) of a network of at most :data:`LIMIT` parameters, :func:`annotate`
attaches to the steps of a :class:`~derivations.derivation.Derivation` made by
:func:`derivations.spec.run` one :class:`Line` per entry, e.g. for seed 002's 2-2-1 sigmoid
network (mean squared error, N = 1)::

    s^2_1 = (2*a^2_1 - 2*y_1)*a^2_1*(1 - a^2_1) = (2*0.724517967 - 2*0)*0.724517967*(1 - 0.724517967) = 0.28921552

Symbols are indexed in the spec file's convention: ``w^k_{j,i}`` joins input i to unit j in
the column convention (W is (out, in)), ``w^k_{i,j}`` in the row one. The formulas come from
the same registry entries (each activation's and loss's sympy forms) as the values, written
over symbols (``f'(n)`` through ``a = f(n)`` where it can be, as ``a (1 - a)`` for the
sigmoid); the tests substitute the numbers into each formula and find the step's value.

Example:
    >>> from derivations.spec import from_spec
    >>> d = from_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.1",
    ...                "x": ["2"], "y": ["1"], "layers": [{"W": [["3"]], "b": ["0.5"]}]})
    >>> print(d.steps[1].lines[0].text())
    n^1_1 = w^1_{1,1}*x_1 + b^1_1 = 3*2 + 0.5 = 6.5
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import sympy as sp
from sympy.core.function import AppliedUndef
from sympy.printing.latex import LatexPrinter
from sympy.printing.precedence import precedence
from sympy.printing.str import StrPrinter

from derivations import symbolic
from derivations.render import latex_number, number_text, visible_width
from funcmlp.registry.activations import get_activation
from funcmlp.registry.losses import LOSSES, get_loss

LIMIT = 60
"""Entry-by-entry lines for networks of at most this many parameters (one example)."""
CHAIN_LIMIT = 20
"""The chain-rule factorisation of every dL/dw for networks of at most this many weights."""


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
            return f"{lhs} &= " + " = ".join(forms) + f" {relation} {number}" if forms else f"{lhs} &{relation} {number}"
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
    terms = [latex[start:end].strip() for start, end in zip(cuts, cuts[1:] + [len(latex)])]
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
            if id(expr) not in self.ordered:
                return super()._print_Add(expr, order=order)
            out = ""
            for i, term in enumerate(expr.args):
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
            name = r"\operatorname{" + expr.func.__name__.replace("_", r"\_") + "}"  # leaky_relu: one name, not leaky subscript relu
            return name + r"\left(" + ", ".join(self._print(arg) for arg in expr.args) + r"\right)" + (f"^{{{exp}}}" if exp else "")

    return Printer


_Text, _Latex = _printer(StrPrinter), _printer(LatexPrinter)


def _symbol(text: str, latex: str, registry: dict) -> sp.Symbol:
    symbol = sp.Symbol(text, real=True)
    registry[symbol] = latex
    return symbol


def weight_name(k: int, i: int, j: int, column: bool) -> tuple[str, str]:
    """(text, LaTeX) name of the weight from input i to unit j of layer k (0-based i, j) in a
    file's convention: ``w^k_{j,i}`` in the column one (W is (out, in)), ``w^k_{i,j}`` in the row one.

    Example:
        >>> weight_name(2, 0, 2, column=True), weight_name(2, 0, 2, column=False)[0]
        (('w^2_{3,1}', 'w^{2}_{3,1}'), 'w^2_{1,3}')
    """
    r, c = (j + 1, i + 1) if column else (i + 1, j + 1)
    return f"w^{k}_{{{r},{c}}}", f"w^{{{k}}}_{{{r},{c}}}"


class _Notation:
    """The symbols of one example in the file's convention, their LaTeX names, their values and
    those values' decimals (formatted once: nested exponentials take a while to evaluate)."""

    def __init__(self, column: bool):
        self.column = column
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

    def _value(self, symbol, value):
        if value is not None and symbol not in self.numbers:
            text = number_text(sp.sympify(value))[0]
            self.numbers[symbol] = (f"({text})", rf"\left({latex_number(text)}\right)") if text.startswith("-") else (text, latex_number(text))
        return symbol

    def entry(self, name: str, layer, index, value=None) -> sp.Symbol:
        """``name^layer_index`` (``x_i``, ``y_j`` when ``layer`` is None); index a unit or a (row, column) pair."""
        text_index = str(index) if isinstance(index, int) else "{" + ",".join(map(str, index)) + "}"
        latex_index = str(index) if isinstance(index, int) else ",".join(map(str, index))
        up, up_latex = ("", "") if layer is None else (f"^{layer}", f"^{{{layer}}}")
        return self._value(_symbol(f"{name}{up}_{text_index}", f"{name}{up_latex}_{{{latex_index}}}", self.latex), value)

    def partial(self, of: str, by: str, latex_of: str, latex_by: str, value) -> sp.Symbol:
        """The symbol ``d{of}/d{by}`` (LaTeX: a partial-derivative fraction) with its value."""
        return self._value(_symbol(f"d{of}/d{by}", rf"\frac{{\partial {latex_of}}}{{\partial {latex_by}}}", self.latex), value)

    def weight(self, k: int, i: int, j: int, value=None) -> sp.Symbol:
        """The weight from input i to unit j of layer k (0-based), named in the file's convention."""
        text, latex = weight_name(k, i, j, self.column)
        return self._value(_symbol(text, latex, self.latex), value)

    def line(self, lhs: sp.Symbol, formula, value, *extra: tuple) -> Line:
        """``lhs = formula = formula with the numbers = value``; ``extra`` (text, latex) forms go between."""
        text = [lhs.name] + [t for t, _ in extra] + [_Text({}, self.ordered).doprint(formula),
                                                     _Text({s: t for s, (t, _) in self.numbers.items()}, self.ordered).doprint(formula)]
        latex = [self.latex[lhs]] + [t for _, t in extra] + [
            _Latex(self.latex, self.ordered).doprint(formula),
            _Latex({s: t for s, (_, t) in self.numbers.items()}, self.ordered, mul_symbol="dot").doprint(formula)]
        if formula.is_Symbol:  # lhs = symbol = its number: the number once
            text, latex = text[:-1], latex[:-1]
        # a negative number as a function's argument: relu(-3.5), not relu((-3.5))
        text = [re.sub(r"\(\((-[^()]*)\)\)", r"(\1)", t) for t in text]
        latex = [re.sub(r"\\left\(\\left\((-[^()]*?)\\right\) ?\\right\)", r"\\left(\1\\right)", t) for t in latex]
        return Line(tuple(text), tuple(latex), value)


def _in_terms_of_output(expr, activation, n: list, a: list):
    """``expr`` with the activation's forward rule of each ``n_j`` written as ``a_j`` (sigma(n) (1 - sigma(n)) -> a (1 - a))."""
    spec, alpha = activation.spec, activation.symbolic_alpha()
    forward = [spec.sympy_forward(v, alpha) for v in n] if spec.elementwise else spec.sympy_forward(list(n), alpha)
    return sp.sympify(expr).subs({f: ai for f, ai in zip(forward, a, strict=True) if not f.is_Symbol})


def _readable(expr, activation, n, prime: bool = False):
    """A kinked rule (Piecewise) as the activation's name, ``relu(n)`` or ``relu'(n)``."""
    if not sp.sympify(expr).has(sp.Piecewise):
        return expr
    return sp.Function(activation.name + ("'" if prime else ""))(n)


def annotate(d, ex):
    """The derivation ``d`` of one example ``ex`` (a :class:`~derivations.spec.WorkedExample`)
    with a :class:`Line` per entry of its first step's quantities, and the chain-rule
    factorisation of dL/dw for networks of at most :data:`CHAIN_LIMIT` weights."""
    weights_count = sum(len(W) * len(W[0]) for W in ex.weights)
    parameters = weights_count + sum(len(b) for b in ex.biases)
    if len(ex.x) != 1 or parameters > LIMIT:
        d.notes.append(f"each step is written entry by entry for one example of a network of at most {LIMIT} parameters; "
                       + ("this is a batch" if len(ex.x) != 1 else f"this network has {parameters}"))
        return d
    if weights_count > CHAIN_LIMIT:
        d.notes.append(f"every dL/dw is factored by the chain rule for networks of at most {CHAIN_LIMIT} weights (this one has "
                       f"{weights_count}); ask for one with --chain 'w^k_{{r,c}}' (derivations.textbook.chain_rule)")
    values, lines = d.values, {}
    note = _Notation(ex.convention == "column")
    activations = [get_activation(name) for name in ex.activations]
    loss, depth = get_loss(ex.loss), len(ex.weights)
    y = [note.entry("y", None, j + 1, v) for j, v in enumerate(ex.y[0])]
    eta = note._value(_symbol("eta", r"\eta", note.latex), ex.learning_rate)
    A, N = [[note.entry("x", None, i + 1, v) for i, v in enumerate(ex.x[0])]], [None]
    for k, (W, b) in enumerate(zip(ex.weights, ex.biases, strict=True), start=1):
        w = [[note.weight(k, i, j, W[i][j]) for j in range(len(b))] for i in range(len(W))]
        n = [note.entry("n", k, j + 1, v) for j, v in enumerate(values[f"n^{k}"])]
        a = [note.entry("a", k, j + 1, v) for j, v in enumerate(values[f"a^{k}"])]
        sums = [note.add(*[note.mul(w[i][j], A[-1][i]) for i in range(len(W))], note.entry("b", k, j + 1, b[j])) for j in range(len(b))]
        lines[f"n^{k}"] = [note.line(n[j], sums[j], values[f"n^{k}"][j]) for j in range(len(b))]
        act = activations[k - 1]
        rule = symbolic.forward(act, n)
        lines[f"a^{k}"] = [note.line(a[j], _readable(rule[j], act, n[j]), values[f"a^{k}"][j]) for j in range(len(b))]
        A.append(a), N.append(n)
    output = activations[-1]
    paired = loss.spec.paired.get(output.name)
    value = loss.spec.sympy_value(A[depth], y)  # in the loss's own terms (a paired loss too: -y log a, not its logits form)
    lines["L"] = [note.line(_symbol("L", "L", note.latex), value, values["L"][0])]
    upstream = None if paired else loss.spec.sympy_gradient(A[depth], y)  # dL/da^L over symbols
    S = {}
    for k in range(depth, 0, -1):
        act = activations[k - 1]
        if k < depth:
            W_next = ex.weights[k]
            upstream = [note.partial("L", f"a^{k}_{i + 1}", "L", f"a^{{{k}}}_{{{i + 1}}}", v) for i, v in enumerate(values[f"dL/da^{k}"])]
            sums = [note.add(*[note.mul(note.weight(k + 1, i, j), S[k + 1][j]) for j in range(len(W_next[0]))]) for i in range(len(W_next))]
            lines[f"dL/da^{k}"] = [note.line(g, total, values[f"dL/da^{k}"][i]) for i, (g, total) in enumerate(zip(upstream, sums, strict=True))]
        if act.is_elementwise and not (k == depth and paired):  # dL/da times f'(n) written through a = f(n), in that order
            forms = [note.mul(g, _in_terms_of_output(_readable(symbolic.derivative(act, v), act, v, prime=True), act, [v], [a]))
                     for g, v, a in zip(upstream, N[k], A[k], strict=True)]
        else:  # a paired loss's logits form, or a vector activation's product
            closed = LOSSES[paired].sympy_gradient(N[k], y) if k == depth and paired else symbolic.backward(act, N[k], upstream)
            forms = [_in_terms_of_output(form, act, N[k], A[k]) for form in closed]
        S[k] = [note.entry("s", k, j + 1, v) for j, v in enumerate(values[f"s^{k}"])]
        lines[f"s^{k}"] = [note.line(S[k][j], form, values[f"s^{k}"][j]) for j, form in enumerate(forms)]
    output_gradient = _output_gradient(ex, values)
    chain = weights_count <= CHAIN_LIMIT
    for k in range(depth, 0, -1):
        W = ex.weights[k - 1]
        rows, cols = (len(W[0]), len(W)) if note.column else (len(W), len(W[0]))
        grad_lines, new_lines = [], []
        for r in range(rows):
            for c in range(cols):
                i, j = (c, r) if note.column else (r, c)
                index = r * cols + c
                w = note.weight(k, i, j)
                grad = note.partial("L", w.name, "L", note.latex[w], values[f"dL/dW^{k}"][index])
                grad_lines.append(note.line(grad, note.mul(S[k][j], A[k - 1][i]), values[f"dL/dW^{k}"][index]))
                if chain:
                    grad_lines.append(_chain_line(note, k, i, j, activations[k - 1], k == depth and paired is not None, values,
                                                  output_gradient if k == depth else None))
                new = _symbol(f"{w.name} new", rf"({note.latex[w]})_{{\mathrm{{new}}}}", note.latex)
                new_lines.append(note.line(new, note.add(w, note.mul(-1, eta, grad)), values[f"W^{k} new"][index]))
        lines[f"dL/dW^{k}"], lines[f"W^{k} new"] = grad_lines, new_lines
        grad_b = [note.partial("L", f"b^{k}_{j + 1}", "L", f"b^{{{k}}}_{{{j + 1}}}", v) for j, v in enumerate(values[f"dL/db^{k}"])]
        lines[f"dL/db^{k}"] = [note.line(g, S[k][j], values[f"dL/db^{k}"][j]) for j, g in enumerate(grad_b)]
        lines[f"b^{k} new"] = [note.line(_symbol(f"b^{k}_{j + 1} new", rf"(b^{{{k}}}_{{{j + 1}}})_{{\mathrm{{new}}}}", note.latex),
                                         note.add(note.entry("b", k, j + 1), note.mul(-1, eta, g)), values[f"b^{k} new"][j])
                               for j, g in enumerate(grad_b)]
    d.steps = [replace(step, lines=tuple(lines.get(step.name, ()))) for step in d.steps]
    return d


def _output_gradient(ex, values):
    """dL/da^L of the example (exact), or None where s^L is taken on the logits (a paired loss, a vector output)."""
    output, loss = get_activation(ex.activations[-1]), get_loss(ex.loss)
    if loss.spec.paired.get(output.name) or not output.is_elementwise:
        return None
    return loss.spec.sympy_gradient(list(values[f"a^{len(ex.weights)}"]), list(ex.y[0]))


def chain_rule(d, ex, weight: str) -> Line:
    """The chain-rule factorisation of one dL/dw of the example ``ex`` (one example, any size),
    ``weight`` named in the file's convention as ``w^k_{r,c}`` (row r, column c of W^k as the
    file writes it); ``d`` is :func:`derivations.spec.run` of ``ex``.

    Example:
        >>> from derivations.spec import read_spec, run
        >>> ex = read_spec({"activations": ["relu", "identity"], "loss": "sse", "learning_rate": "0.1", "x": [1, 2], "y": [0],
        ...                 "layers": [{"W": [[1, 1], [1, 1]], "b": [0, 0]}, {"W": [[1], [1]], "b": [0]}]})
        >>> print(chain_rule(run(ex), ex, "w^1_{2,1}").text())
        dL/dw^1_{2,1} = dL/da^1_1 * da^1_1/dn^1_1 * dn^1_1/dw^1_{2,1} = (12)(1)(2) = 24
    """
    match = re.fullmatch(r"w\^(\d+)_\{(\d+),(\d+)\}", weight.strip())
    if not match:
        raise ValueError(f"a weight is named w^k_{{r,c}} (layer k, row r and column c of W^k as the spec file writes it), got {weight!r}")
    if len(ex.x) != 1:
        raise ValueError("the chain-rule factorisation is for one example; a batch's dL/dw is the mean of each example's")
    k, r, c = (int(g) for g in match.groups())
    if not 1 <= k <= len(ex.weights):
        raise ValueError(f"{weight}: the network has layers 1 to {len(ex.weights)}, not {k}")
    inputs, units = len(ex.weights[k - 1]), len(ex.biases[k - 1])
    column = ex.convention == "column"
    rows, cols = (units, inputs) if column else (inputs, units)
    if not (1 <= r <= rows and 1 <= c <= cols):
        raise ValueError(f"{weight}: W^{k} has {rows} rows and {cols} columns in the {ex.convention} convention")
    i, j = (c - 1, r - 1) if column else (r - 1, c - 1)
    note, depth = _Notation(column), len(ex.weights)
    paired = get_loss(ex.loss).spec.paired.get(ex.activations[-1])
    return _chain_line(note, k, i, j, get_activation(ex.activations[k - 1]), k == depth and paired is not None, d.values,
                       _output_gradient(ex, d.values) if k == depth else None)


def _chain_line(note: _Notation, k, i, j, activation, through_logits, values, output_gradient) -> Line:
    """dL/dw^k as named factors and their values: dL/da^k_j * da^k_j/dn^k_j * dn^k_j/dw, or
    dL/dn^k_j * dn^k_j/dw where the output is paired with the loss or the activation is a
    vector one (softmax)."""
    w = note.weight(k, i, j)
    unit = j + 1
    dn_dw = (f"dn^{k}_{unit}/d{w.name}", rf"\frac{{\partial n^{{{k}}}_{{{unit}}}}}{{\partial {note.latex[w]}}}", values[f"a^{k - 1}"][i])
    if through_logits or not activation.is_elementwise:
        factors = [(f"dL/dn^{k}_{unit}", rf"\frac{{\partial L}}{{\partial n^{{{k}}}_{{{unit}}}}}", values[f"s^{k}"][j]), dn_dw]
    else:
        dL_da = output_gradient[j] if output_gradient is not None else values[f"dL/da^{k}"][j]
        factors = [(f"dL/da^{k}_{unit}", rf"\frac{{\partial L}}{{\partial a^{{{k}}}_{{{unit}}}}}", dL_da),
                   (f"da^{k}_{unit}/dn^{k}_{unit}", rf"\frac{{\partial a^{{{k}}}_{{{unit}}}}}{{\partial n^{{{k}}}_{{{unit}}}}}",
                    symbolic.derivative(activation, values[f"n^{k}"][j])),
                   dn_dw]
    numbers = [number_text(sp.sympify(v))[0] for _, _, v in factors]
    product = sp.Mul(*[sp.sympify(v) for _, _, v in factors])
    return Line((f"dL/d{w.name}", " * ".join(t for t, _, _ in factors), "".join(f"({t})" for t in numbers)),
                (rf"\frac{{\partial L}}{{\partial {note.latex[w]}}}", r" \cdot ".join(t for _, t, _ in factors),
                 "".join(rf"\left({latex_number(t)}\right)" for t in numbers)), product)
