"""A worked example's loss as a scalar computation graph, micrograd-style: every input, weight,
bias and target, every sum, difference, product, quotient and power, every activation and every node
of the loss, each with its value and its gradient ``dL/dnode``, drawn as Graphviz ``dot`` (and SVG
through Graphviz's own ``dot`` program). Operations are drawn as a student writes them, not as sympy
holds them: y - a a subtraction of two operands (not y + (-1) a), exp(n)/s a division (not exp(n) s^-1),
(y - a)^2 a square of one operand (its exponent in the operation, not a node of its own); the inputs,
targets and each layer's weights, biases and units are drawn top to bottom in index order.

The graph is the example's loss composed by the engine over symbols (the forward pass of
:mod:`derivations.model.engine` with each activation a sympy Function, :data:`derivations.proofs.chain.COMPOSED`,
and the registry's loss), evaluated at the example's numbers in 50-digit arithmetic; each node's
gradient comes from reverse accumulation over the graph (:func:`derivations.model.graph.adjoints`: only
each node's local derivative, no layers), so the gradients at the net inputs are the
sensitivities ``s^k`` and those at the weights ``dL/dW^k`` of the replay, found another way.

Contract: a checked :class:`~derivations.examples.spec.WorkedExample` in, nodes (values, gradients,
inputs) out, and their ``dot`` source (an online example's: the loss of its step 1, the first
example's, the step the replay writes out first); a graph of more than :data:`GRAPH_LIMIT` nodes is refused
with the fix (a person cannot read it).

Example:
    >>> from derivations.examples.spec import read_spec
    >>> ex = read_spec({"activations": ["tanh"], "loss": "output", "x": ["2", "0"],
    ...                 "layers": [{"W": [["-3"], ["1"]], "b": ["1"]}]})
    >>> nodes = expression_graph(ex)
    >>> [(node.name, node.op, round(float(node.value), 4), round(float(node.gradient), 4)) for node in nodes[-3:]]
    [('b^1_{1}', 'b', 1.0, 0.0002), ('n^1_1', '+', -5.0, 0.0002), ('a^1_1 = L', 'tanh', -0.9999, 1.0)]
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from dataclasses import dataclass, replace

import mpmath
import sympy as sp

from derivations.examples.spec import WorkedExample
from derivations.model import engine, graph
from derivations.model.convention import Convention
from derivations.model.notation import weight_name
from derivations.model.numbers import number_text
from derivations.proofs.chain import COMPOSED

GRAPH_LIMIT = 150
"""The most nodes a drawn graph has: about what a page shows legibly."""


@dataclass(frozen=True)
class Node:
    """One scalar of the graph: ``op`` (``x``, ``w``, ``b``, ``y`` for the leaves, a number's own text; ``+``,
    ``-`` (the first input less the others, or one input negated), ``×``, ``/`` (numerator, denominator), ``1/x``
    and a power ``^2`` of one input, a function), the ``name`` of the quantity it is (``n^1_2``, ``L``) or None,
    its value, ``dL/dnode`` (None for a number), and the keys of its inputs."""

    key: str
    op: str
    name: str | None
    value: mpmath.mpf
    gradient: mpmath.mpf | None
    inputs: tuple


def _symbols(ex: WorkedExample) -> tuple[list, dict]:
    """The layers over parameter symbols named as the file names them, and each symbol's exact value."""
    layers, values = [], {}
    for k, (W, b) in enumerate(zip(ex.weights, ex.biases, strict=True), start=1):
        rows = [[sp.Symbol(weight_name(k, i, j, ex.convention)[0]) for j in range(len(W[0]))] for i in range(len(W))]
        values.update({rows[i][j]: W[i][j] for i in range(len(W)) for j in range(len(W[0]))})
        if b is not None and ex.thresholds and ex.thresholds[k - 1]:  # n = a W - theta, as the file writes it
            theta = [sp.Symbol(f"theta^{k}_{{{j + 1}}}") for j in range(len(b))]
            values.update({t: -v for t, v in zip(theta, b, strict=True)})
            layers.append((rows, [-t for t in theta]))
            continue
        bias = None if b is None else [sp.Symbol(f"b^{k}_{{{j + 1}}}") for j in range(len(b))]
        values.update({} if b is None else dict(zip(bias, b, strict=True)))
        layers.append((rows, bias))
    return layers, values


def _data(ex: WorkedExample, values: dict) -> tuple[list, list]:
    """Input and target symbols (``x_i``, ``y_j``; ``x_{e,i}`` for example e of a batch) and their values."""
    batch, xs, ys = len(ex.x), [], []
    for e, (x, y) in enumerate(zip(ex.x, ex.y or [()] * batch, strict=True), start=1):
        at = f"{e}," if batch > 1 else ""
        xs.append([sp.Symbol(f"x_{{{at}{i + 1}}}") for i in range(len(x))])
        ys.append([sp.Symbol(f"y_{{{at}{j + 1}}}") for j in range(len(y))])
        values.update(dict(zip(xs[-1], x, strict=True)))
        values.update(dict(zip(ys[-1], y, strict=True)))
    return xs, ys


def composed(ex: WorkedExample) -> tuple[sp.Expr, dict, dict]:
    """(the loss over symbols, {symbol: exact value}, {subexpression: the quantity's name})."""
    layers, values = _symbols(ex)
    xs, ys = _data(ex, values)
    net = ex.network(layers)
    names, totals, batch = {}, [], len(xs)
    for e, (x, y) in enumerate(zip(xs, ys, strict=True), start=1):
        ns, outputs = engine.forward(COMPOSED, net, x)
        # the loss on the outputs a^L (never the registry's paired form on n^L, whose sum sympy would merge with n^L's)
        total = sp.Add(*outputs[-1]) if net.loss is None else net.loss.sympy_value(list(outputs[-1]), list(y))
        of = f" (example {e})" if batch > 1 else ""
        for k, (n, a) in enumerate(zip(ns, outputs[1:], strict=True), start=1):
            names.update({v: f"a^{k}_{j + 1}{of}" for j, v in enumerate(a)})
            names.update({v: f"n^{k}_{j + 1}{of}" for j, v in enumerate(n)})  # identity(n) is a node of its own
        if batch > 1:
            names[total] = f"L{of}"
        totals.append(total)
    loss = engine.batch_loss(COMPOSED, net, totals, ex.l2)
    names[loss] = f"{names[loss]} = L" if loss in names else "L"  # loss = "output" of one unit: L is a^L_1
    return loss, values, names


def _negated(node):  # x of -x (sympy's Mul(-1, x)), or None
    return node.args[1] if node.is_Mul and len(node.args) == 2 and node.args[0] == -1 else None


def _reciprocal(node):  # x of 1/x (sympy's Pow(x, -1)), or None
    return node.args[0] if node.is_Pow and node.args[1] == -1 else None


def _operation(node, names: dict) -> tuple[str, list]:
    """(the operation, its operands) of ``node`` as a student writes it, not as sympy holds it: a - b (sympy's
    a + (-1) b) a subtraction of two operands, a/b (a b^-1) a division, -x a negation, x^2 a power of one operand
    (its exponent in the operation), 1/x a reciprocal; a named -b or 1/b stays a node of its own."""
    args = list(node.args)
    if node.is_Add:
        minus = [arg for arg in args if _negated(arg) is not None and arg not in names]
        plus = [arg for arg in args if arg not in minus]
        if minus and len(plus) == 1:  # a - b - c
            return "-", plus + [_negated(arg) for arg in minus]
        return "+", args
    if node.is_Mul and len(args) == 2:
        for top, bottom in (args, args[::-1]):
            if _reciprocal(bottom) is not None and _reciprocal(top) is None and bottom not in names:
                return "/", [top, _reciprocal(bottom)]
        if _negated(node) is not None:
            return "-", [_negated(node)]
    if node.is_Mul:
        return "×", args
    if node.is_Pow and node.args[1].is_Number:
        exponent = node.args[1]
        return ("1/x" if exponent == -1 else f"^{exponent}"), [node.args[0]]
    if isinstance(node, sp.Piecewise):
        return "piecewise", [pair.expr for pair in args]
    if node.is_Symbol:
        return str(node)[0], []
    if node.is_Number:
        return str(node), []
    return re.sub(r"_(derived|declared)_\d+$", "", type(node).__name__), args


def _drawn(loss, names: dict) -> dict:
    """{node: (operation, operands)} of every node the loss reaches through the operands a student writes (the
    -1 of a subtraction, the exponent of a power, the conditions of a Piecewise are no nodes of their own)."""
    drawn, stack = {}, [loss]
    while stack:
        node = stack.pop()
        if node not in drawn:
            drawn[node] = _operation(node, names)
            stack.extend(arg for arg in drawn[node][1] if arg not in drawn)
    return drawn


def expression_graph(ex: WorkedExample, *, limit: int = GRAPH_LIMIT) -> list[Node]:
    """Every node of the example's loss, inputs before the nodes that use them (the loss last)."""
    if ex.online:  # the loss of step 1, the first example's: the step the replay writes out first
        ex = replace(ex, x=ex.x[:1], y=ex.y[:1])
    least = len(ex.x) * sum(len(W) * len(W[0]) for W in ex.weights)  # a product per weight and example at least
    if least > limit:
        raise ValueError(_too_big(ex, f"at least {least}", limit))
    loss, exact, names = composed(ex)
    drawn = _drawn(loss, names)
    if len(drawn) > limit:
        raise ValueError(_too_big(ex, str(len(drawn)), limit))
    with mpmath.workdps(50):
        env = {
            symbol: mpmath.mpf(value.p) / value.q if value.is_Rational else mpmath.mpf(str(sp.N(value, 60)))
            for symbol, value in exact.items()
        }
        full = graph.postorder([loss])
        value = graph.values_at(full, env)
        adjoint = graph.adjoints(loss, full, value)
    order = [node for node in full if node in drawn]  # inputs before the nodes that use them
    keys = {node: f"v{index}" for index, node in enumerate(order)}
    return [
        Node(
            keys[node],
            drawn[node][0],
            names.get(node, str(node) if node.is_Symbol else None),
            value[node],
            None if node.is_Number else adjoint.get(node, mpmath.mpf(0)),
            tuple(keys[operand] for operand in drawn[node][1]),
        )
        for node in order
    ]


def _too_big(ex: WorkedExample, nodes: str, limit: int) -> str:
    return (
        f"the loss of {ex.name} is a graph of {nodes} scalar nodes; a graph is drawn up to {limit}, what a page "
        "shows legibly: draw a smaller example (fewer units, layers or examples), or read --format text"
    )


def _label(text: str) -> str:
    """``w^1_{2,1}`` as Graphviz HTML: w<SUP>1</SUP><SUB>2,1</SUB>."""
    match = re.fullmatch(r"([A-Za-z]+)\^(\d+)_\{?([\d,]+)\}?(.*)", text) or re.fullmatch(
        r"([A-Za-z]+)_\{?([\d,]+)\}?()(.*)", text
    )
    if not match:
        return html.escape(text)
    if text.count("^"):
        base, up, down, rest = match.groups()
        base = "θ" if base == "theta" else html.escape(base)
        return f"{base}<SUP>{up}</SUP><SUB>{down}</SUB>{html.escape(rest)}"
    base, down, _, rest = match.groups()
    return f"{html.escape(base)}<SUB>{down}</SUB>{html.escape(rest)}"


def _number(value) -> str:
    return number_text(sp.Float(mpmath.nstr(value, 20), 20), 4)[0]


_PLACE = re.compile(r"([a-z]+)(?:\^(\d+))?_\{?(\d+)(?:,(\d+))?\}?(?: \(example (\d+)\))?(?: = L)?")


def _place(name: str, convention: Convention) -> tuple | None:
    """(stack, place in it) of a named node: the inputs, the targets, and each layer's weights, biases, net
    inputs and activations are each a stack, top to bottom in index order (an example's units together, a
    unit's weights together; a weight named in the file's ``convention``)."""
    match = _PLACE.fullmatch(name)
    if not match:
        return None
    quantity, layer, first, second, example = match.groups()
    if quantity == "w":
        i, j = convention.weight_at(int(first), int(second))
        return (quantity, layer), (j, i)
    if second:  # x_{e,i}: input i of example e
        example, first = first, second
    return (quantity, layer), (int(example or 1), int(first))


def dot(ex: WorkedExample, nodes: list[Node]) -> str:
    """The graph as Graphviz ``dot`` source: one box per node (its operation or leaf, its name,
    its value, ``dL/dnode``), an arrow from each input to the node that uses it, left to right; the inputs,
    targets, and each layer's weights, biases and units top to bottom in index order; an online example's
    graph is titled as step 1's, the first example's."""
    loss = f"online: the loss of example 1 (of {len(ex.x)}), step 1," if ex.online else "the loss"
    lines = [
        "digraph loss {",
        "  rankdir=LR;",
        f'  label="{html.escape(ex.title).replace(chr(92), chr(92) * 2)}: {loss} as a graph of scalars, each '
        "node's value and dL/dnode\";",
        '  labelloc=t; fontname="Helvetica"; node [shape=plaintext, fontname="Helvetica", fontsize=11];',
    ]
    leaves = {"x": "#e8f0fe", "y": "#fdf3e1", "w": "#e6f4ea", "b": "#e6f4ea", "t": "#e6f4ea"}
    for node in nodes:
        colour = (
            "#fde8e8"
            if node.name and node.name.endswith("L")
            else leaves.get(node.op if not node.inputs else "", "#ffffff")
        )
        title = _label(node.name) if node.name else ""
        op = "" if not node.inputs else html.escape(node.op)
        head = " ".join(part for part in (f"<B>{op}</B>" if op else "", title) if part)
        rows = [head, _number(node.value), f"grad {_number(node.gradient)}"] if node.gradient is not None else [node.op]
        cells = "".join(f"<TR><TD>{row}</TD></TR>" for row in rows)  # a number: its exact value alone
        table = f'<TABLE BORDER="1" CELLBORDER="0" CELLSPACING="0" BGCOLOR="{colour}">{cells}</TABLE>'
        lines.append(f"  {node.key} [label=<{table}>];")
    lines += [f"  {source} -> {node.key};" for node in nodes for source in node.inputs]
    stacks: dict = {}
    for node in nodes:
        if place := _place(node.name or "", ex.convention):
            stacks.setdefault(place[0], []).append((place[1], node.key))
    for stack in stacks.values():  # an invisible edge holds each above the next (Graphviz's order in a rank)
        if len(stack) > 1:
            lines.append(f"  {{rank=same; {' -> '.join(key for _, key in sorted(stack))} [style=invis];}}")
    return "\n".join(lines + ["}"]) + "\n"


def svg(source: str) -> str:
    """``dot`` source drawn as SVG by Graphviz's ``dot`` program (a ``ValueError`` with the fix when it is missing)."""
    program = shutil.which("dot")
    if program is None:
        raise ValueError(
            "--format graph-svg draws with Graphviz's dot program, which is not installed: install graphviz "
            "(apt-get install graphviz, brew install graphviz), or write --format graph and draw it elsewhere"
        )
    done = subprocess.run([program, "-Tsvg"], input=source, capture_output=True, text=True, timeout=120, check=False)
    if done.returncode != 0:
        raise ValueError(f"Graphviz's dot could not draw the graph: {done.stderr.strip()}")
    return done.stdout
