"""The pieces of a worked example's NumPy program (:mod:`derivations.formats.program`) as Python source:
numbers (the file's exact decimals), arrays, the activations' and losses' closed forms printed
from the registry's sympy forms by sympy's NumPy printer, and the file's convention (units on the
last axis, one example per row, or on the first, one example per column).

Contract: sympy numbers and registry entries in, Python source text out; nothing is evaluated.

Example:
    >>> number(sp.Rational(1, 20)), number(sp.Rational(1, 3)), array([[1, sp.Rational(1, 2)]])
    ('0.05', '1 / 3', 'numpy.array([[1.0, 0.5]])')
    >>> from derivations.model.convention import ROW
    >>> Layout(ROW).stack(["out[:, 0] - y[:, 0]"])
    'numpy.stack([out[:, 0] - y[:, 0]], axis=-1)'
"""

from __future__ import annotations

import re

import sympy as sp
from sympy.printing.numpy import NumPyPrinter

from derivations.examples.spec import OUTPUT, WorkedExample
from derivations.model.convention import Convention
from funcmlp.registry.activations import get_activation
from funcmlp.registry.losses import get_loss


class _Printer(NumPyPrinter):
    """sympy's NumPy printer, ``erfc`` elementwise (NumPy has none: the script defines one)."""

    def _print_erfc(self, expr):
        return f"erfc({self._print(expr.args[0])})"


_PRINTER = _Printer({"fully_qualified_modules": True, "allow_unknown_functions": False})


def code(expr, like: str | None = None) -> str:
    """``expr`` as NumPy source; a constant (no symbol) as an array shaped like ``like``."""
    expr = sp.sympify(expr)
    code = _PRINTER.doprint(expr)
    return f"{code} + 0 * {like}" if like and not expr.free_symbols else code


def number(value) -> str:
    """An exact number as Python source: its decimal where that is exact (``0.05``), else a quotient
    of integers, or the closed form (``numpy.sqrt(2)``)."""
    value = sp.sympify(value)
    if not value.is_Rational:
        return code(value)
    if value.is_Integer:
        return f"{int(value)}.0"
    text = str(sp.N(value, 40)).rstrip("0")
    return text if sp.Rational(text) == value else f"{value.p} / {value.q}"


def array(rows) -> str:
    return "numpy.array([" + ", ".join("[" + ", ".join(number(v) for v in row) + "]" for row in rows) + "])"


class Layout:
    """The file's :class:`~derivations.model.convention.Convention` as NumPy source: the units on the last axis
    (one example per row) or the first (one per column), and each formula of the backward pass in that layout."""

    def __init__(self, convention: Convention):
        self.convention = convention
        self.batch_axis = 1 - convention.unit_axis  # the axis of the examples in an (examples, units) array or its T

    def unit(self, name: str, j: int) -> sp.Symbol:
        return sp.Symbol(f"{name}[{', '.join([':'] * self.convention.unit_axis + [str(j)])}]")

    def examples(self, index: str) -> str:
        """``[index]`` taking the examples ``index`` (a slice's text) of an array in this layout."""
        return "[" + ", ".join([":"] * self.batch_axis + [index]) + "]"

    def stack(self, parts: list) -> str:
        return "numpy.stack([" + ", ".join(parts) + "]" + (", axis=-1" if self.convention.unit_axis else "") + ")"

    def over_units(self) -> int:
        return -self.convention.unit_axis

    def net_input(self, k: int, bias: str) -> str:
        return " @ ".join(self.convention.ordered(f"W{k}", f"a{k - 1}")) + bias

    def back(self, k: int) -> str:
        return " @ ".join(self.convention.ordered(f"W{k}.T", f"s{k}"))

    def weight_gradient(self, k: int) -> str:
        return " @ ".join(self.convention.ordered(f"s{k}", f"a{k - 1}.T"))

    def bias_gradient(self, k: int) -> str:
        return f"s{k}.sum(axis={self.batch_axis}" + (", keepdims=True)" if self.batch_axis else ")")

    def matrix(self, rows) -> str:
        """An engine-layout matrix (``W`` (inputs, units), the data (examples, values)) as the file writes it."""
        return array(self.convention.written(rows))

    def vector(self, values) -> str:
        """A bias (or threshold) vector: a column in the column convention."""
        if self.convention.column:
            return array([[v] for v in values])
        return "numpy.array([" + ", ".join(map(number, values)) + "])"


def function_names(names) -> dict:
    """{an elementwise activation's text (``elu(0.5)``): the name of its function in the script},
    one per distinct activation (``elu``, then ``elu_2`` for another parameter).

    Example:
        >>> function_names(["elu(1e-20)", "elu(1e20)", "elu(1e-20)", "softmax"])
        {'elu(1e-20)': 'elu', 'elu(1e+20)': 'elu_2'}
    """
    found: dict = {}
    for name in names:
        activation = get_activation(name)
        if activation.is_elementwise and str(activation) not in found:
            base = re.sub(r"\W", "_", activation.name)
            taken = sum(1 for function in found.values() if function == base or function.startswith(base + "_"))
            found[str(activation)] = base + (f"_{taken + 1}" if taken else "")
    return found


def activation_source(names) -> list:
    """``f`` and ``f'`` of each elementwise activation used (a vector one is written in place)."""
    lines, n = [], sp.Symbol("n", real=True)
    for text, function in function_names(names).items():
        activation = get_activation(text)
        spec, alpha = activation.spec, activation.symbolic_alpha()
        lines += [
            f"def {function}(n):",
            f'    """f(n) of {activation}"""',
            f"    return {code(spec.sympy_forward(n, alpha), 'n')}",
            "",
            "",
            f"def {function}_slope(n):",
            f'    """f\'(n) of {activation}, as funcmlp takes it (at a kink too)"""',
            f"    return {code(spec.sympy_derivative(n, alpha), 'n')}",
            "",
            "",
        ]
    return lines


def vector(activation, units: int, layout: Layout, n: str, g: str | None = None) -> str:
    """A vector activation's ``f(n)`` (no ``g``) or its vector-Jacobian product ``g J_f(n)``, unit by unit."""
    spec, alpha = activation.spec, activation.symbolic_alpha()
    ns = [layout.unit(n, j) for j in range(units)]
    if g is None:
        return layout.stack([code(e) for e in spec.sympy_forward(ns, alpha)])
    return layout.stack([code(e) for e in spec.sympy_vjp(ns, [layout.unit(g, j) for j in range(units)], alpha)])


def loss_source(ex: WorkedExample, layout: Layout, units: int) -> tuple[list, bool]:
    """``loss(out, y)`` (each example's loss) and ``loss_gradient(out, y)`` (its gradient with
    respect to ``out``), and whether ``out`` is ``n^L``: where the registry pairs the output
    activation with the loss (the replay's rule), the loss is written on the net input."""
    if ex.loss == OUTPUT:
        lines = [
            "def loss(out, y):",
            '    """loss = "output": L is the sum of the output units (the network\'s own gradients)"""',
            f"    return out.sum(axis={layout.over_units()})",
            "",
            "",
            "def loss_gradient(out, y):",
            "    return numpy.ones_like(out)",
            "",
            "",
        ]
        return lines, False
    entry = get_loss(ex.loss)
    output = get_activation(ex.activations[-1])
    paired = entry.spec.paired.get(output.name)
    used = get_loss(paired) if paired is not None else entry  # a registry Loss: printed by its name
    on = f"n^{len(ex.weights)} ({entry} of {output} is {used} of the net input)" if paired else "a^L"
    out, y = [layout.unit("out", j) for j in range(units)], [layout.unit("y", j) for j in range(units)]
    lines = [
        "def loss(out, y):",
        f'    """{entry}: each example\'s loss, summed over the output units, on {on}"""',
        f"    return {code(used.sympy_value(out, y))}",
        "",
        "",
        "def loss_gradient(out, y):",
        f'    """its closed-form gradient with respect to {on.split(" ")[0]}"""',
        f"    return {layout.stack([code(e, str(o)) for e, o in zip(used.sympy_gradient(out, y), out, strict=True)])}",
        "",
        "",
    ]
    return lines, paired is not None


def data_source(ex: WorkedExample, layout: Layout) -> list:
    """The example's numbers as the file writes them."""
    lines = [
        f"# the example (one example per {ex.convention.name})",
        f"x = {layout.matrix(ex.x)}  # a^0, the inputs",
    ]
    if ex.loss != OUTPUT:
        lines.append(f"y = {layout.matrix(ex.y)}  # the targets")
    else:
        lines.append("y = None  # no targets: L is the sum of the output units")
    eta = 0 if ex.learning_rate is None else ex.learning_rate
    lines.append(f"eta = {number(eta)}  # the learning rate" + (" (none given: no update)" if not eta else ""))
    if ex.momentum is not None:
        lines.append(f"momentum = {number(ex.momentum)}  # Delta w(t) = -eta dL/dw + momentum Delta w(t - 1)")
    if ex.l2 is not None:
        lines.append(f"l2 = {number(ex.l2)}  # L + l2/2 sum of the squared weights (not the biases)")
    for k, (W, b) in enumerate(zip(ex.weights, ex.biases, strict=True), start=1):
        shape = f"({', '.join(ex.convention.axes)}): n = {' '.join(ex.convention.ordered('W', 'a'))}"
        fixed = kept_names(ex, k)
        note = f"; kept (not updated): {', '.join(sorted(fixed))}" if fixed and ex.learning_rate is not None else ""
        lines.append(f"# layer {k}: {get_activation(ex.activations[k - 1])}, W{k} is {shape}{note}")
        lines.append(f"W{k} = {layout.matrix(W)}")
        if b is not None and thresholds(ex, k):
            lines.append(f"theta{k} = {layout.vector([-v for v in b])}  # thresholds: n = ... - theta")
        elif b is not None:
            lines.append(f"b{k} = {layout.vector(b)}")
    if ex.velocity is not None:  # momentum's starting velocity, shaped like the parameters
        starts = []
        for k, (vW, vb) in enumerate(ex.velocity, start=1):
            bias = bias_name(ex, k)
            part = "None" if bias is None else layout.vector([-v for v in vb] if thresholds(ex, k) else vb)
            starts.append(f"({layout.matrix(vW)}, {part})")
        lines.append(f"velocity = [{', '.join(starts)}]  # momentum's velocity before step 1, as the file gives it")
    return lines + ["", ""]


def thresholds(ex: WorkedExample, k: int) -> bool:
    return bool(ex.thresholds and ex.thresholds[k - 1])


def kept_names(ex: WorkedExample, k: int) -> frozenset:
    """The parameters of layer ``k`` that no step changes (all of them without a learning rate)."""
    return frozenset(("W", "b")) if ex.learning_rate is None else (ex.fixed[k - 1] if ex.fixed else frozenset())


def bias_name(ex: WorkedExample, k: int) -> str | None:
    if ex.biases[k - 1] is None:
        return None
    return f"theta{k}" if thresholds(ex, k) else f"b{k}"
