"""A worked example's network as a picture: a Mermaid flowchart (the notation of seeds 001
and 002) with the weights on the edges and the values on the nodes, and a matplotlib PNG
with the forward values and sensitivities on the nodes and the weight updates on the edges.

Both read a :class:`~derivations.examples.spec.WorkedExample` and the derivation
:func:`~derivations.examples.spec.run` made of it; the values are those of its first step (of the
first example of a batch). Weights are named in the file's convention.

Contract: a checked example and its replayed derivation in, a Mermaid string or a PNG file out;
numbers written by :mod:`derivations.model.numbers`; nothing is computed here.

Example:
    >>> from derivations.examples.spec import read_spec
    >>> from derivations.examples.replay import run
    >>> ex = read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.1",
    ...                 "x": ["2"], "y": ["1"], "layers": [{"W": [["3"]], "b": ["0.5"]}]})
    >>> print(mermaid(ex, run(ex)).splitlines()[-3])
    x1 -->|"w<sup>1</sup><sub>1,1</sub> = 3"| u1_1
"""

from __future__ import annotations

from dataclasses import dataclass

import sympy as sp

from derivations.examples.textbook import LIMIT
from derivations.model.notation import weight_name
from derivations.model.numbers import number_text


@dataclass(frozen=True)
class Edge:
    """The weight from unit ``i`` of layer ``k - 1`` to unit ``j`` of layer ``k`` (0-based) and its
    value after the step; ``i`` is None for the bias; ``fixed``: the spec keeps it (not updated)."""

    k: int
    i: int | None
    j: int
    name: str
    weight: sp.Expr
    updated: sp.Expr
    fixed: bool = False


def network(ex, d) -> tuple[list, list, sp.Expr]:
    """(per layer 0..L: a list of ``{name: value}`` per unit, the edges, the loss), or a
    ``ValueError`` for a network too big to draw legibly (more than :data:`LIMIT` parameters).

    Example:
        >>> from derivations.examples.spec import read_spec
        >>> from derivations.examples.replay import run
        >>> ex = read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.1",
        ...                 "x": ["2"], "y": ["1"], "layers": [{"W": [["3"]], "b": ["0.5"]}]})
        >>> layers, edges, loss = network(ex, run(ex))
        >>> layers[1][0]["a"], [(e.name, e.weight, e.updated) for e in edges], loss
        (13/2, [('w^1_{1,1}', 3, 19/10), ('b^1_{1}', 1/2, -1/20)], 121/8)
    """
    values, convention, batch = d.values, ex.convention, len(ex.x)
    sizes = [len(ex.x[0])] + [len(W[0]) for W in ex.weights]
    parameters = sum(sizes[k - 1] * sizes[k] + sizes[k] for k in range(1, len(sizes)))
    if parameters > LIMIT:
        raise ValueError(
            f"the network has {parameters} parameters; a picture shows every weight legibly up to {LIMIT} "
            "(Mermaid itself refuses more than 500 edges): draw a smaller example"
        )
    layers = [[{"x": v} for v in ex.x[0]]]
    for k in range(1, len(sizes)):
        units = sizes[k]
        n, a, s = (convention.first_example(values[f"{q}^{k}"], units, batch) for q in ("n", "a", "s"))
        layers.append([{"n": n[j], "a": a[j], "s": s[j]} for j in range(units)])
    edges = []
    for k in range(1, len(sizes)):
        kept = ex.fixed[k - 1] if ex.fixed and ex.learning_rate is not None else ()
        new = values.get(f"W^{k} new", convention.matrix(ex.weights[k - 1])[0])  # as the file shows W^k
        for i in range(sizes[k - 1]):
            for j in range(sizes[k]):
                index = convention.flat_entry(i, j, sizes[k - 1], sizes[k])
                name, weight = weight_name(k, i, j, convention)[0], ex.weights[k - 1][i][j]
                edges.append(Edge(k, i, j, name, weight, new[index], "W" in kept))
        biases = ex.biases[k - 1]
        if biases is not None and ex.thresholds and ex.thresholds[k - 1]:  # thresholds: theta = -b, on a "-1" input
            theta = [-v for v in biases]
            edges += [
                Edge(
                    k, None, j, f"theta^{k}_{{{j + 1}}}", theta[j], values.get(f"theta^{k} new", theta)[j], "b" in kept
                )
                for j in range(sizes[k])
            ]
            continue
        for j in range(sizes[k] if biases is not None else 0):
            updated = values.get(f"b^{k} new", biases)[j]
            edges.append(Edge(k, None, j, f"b^{k}_{{{j + 1}}}", biases[j], updated, "b" in kept))
    return layers, edges, values["L"][0]


def _html(name: str) -> str:
    """``w^2_{1,3}`` -> ``w<sup>2</sup><sub>1,3</sub>`` (Mermaid labels take HTML; theta as θ)."""
    base, _, rest = name.partition("^")
    base = "θ" if base == "theta" else base
    layer, _, index = rest.partition("_")
    return f"{base}<sup>{layer}</sup><sub>{index.strip('{}')}</sub>"


def mermaid(ex, d) -> str:
    """A Mermaid ``flowchart LR``: input, hidden and output units with their values (x; n, a
    and the sensitivity s; of the first example where there are several), a bias node "1" per
    layer, every weight and bias on its edge (a parameter the spec keeps fixed: dotted, marked
    "fixed"), and the loss after the output layer."""
    layers, edges, loss = network(ex, d)
    depth = len(layers) - 1
    num = lambda v: number_text(sp.sympify(v))[0]
    lines = ["flowchart LR", "classDef default fill:transparent,stroke:#333,stroke-width:1px;"]
    for k, units in enumerate(layers):
        title = (
            _input_title(ex)
            if k == 0
            else (f"output: {ex.activations[k - 1]}" if k == depth else f"hidden {k}: {ex.activations[k - 1]}")
        )
        lines.append(f'subgraph layer{k}["{title}"]')
        for j, unit in enumerate(units, start=1):
            if k == 0:
                label = f"x<sub>{j}</sub> = {num(unit['x'])}"
            else:
                label = "<br>".join(f"{q}<sup>{k}</sup><sub>{j}</sub> = {num(unit[q])}" for q in ("n", "a", "s"))
            lines.append(f'{_node(k, j)}(["{label}"])')
        if k < depth and ex.biases[k] is not None:
            lines.append(f'bias{k}(["{"-1" if ex.thresholds and ex.thresholds[k] else "1"}"])')
        lines.append("end")
    for e in edges:
        source = f"bias{e.k - 1}" if e.i is None else _node(e.k - 1, e.i + 1)
        arrow, mark = ("-.->", " (fixed)") if e.fixed else ("-->", "")
        lines.append(f'{source} {arrow}|"{_html(e.name)} = {num(e.weight)}{mark}"| {_node(e.k, e.j + 1)}')
    for j in range(1, len(layers[-1]) + 1):
        lines.append(
            f'{_node(depth, j)} --> loss@{{ shape: dbl-circ, label: "L = {num(loss)}" }}'
            if j == 1
            else f"{_node(depth, j)} --> loss"
        )
    return "\n".join(lines)


def _input_title(ex) -> str:
    """The input layer's title: which example the units show where there are several."""
    if len(ex.x) == 1:
        return "input"
    return f"input: example 1 of {len(ex.x)}" + (" (online: one step per example)" if ex.update == "online" else "")


def _node(k: int, j: int) -> str:
    return f"x{j}" if k == 0 else f"u{k}_{j}"


def _short(value, digits: int = 4) -> str:
    return f"{float(sp.N(value, 30)):.{digits}g}"


def plot_network(ex, d, path: str, *, title: str | None = None) -> str:
    """The network drawn with matplotlib to a PNG at ``path`` (written atomically): units as
    circles with their output a and sensitivity s, edges as wide as |w| (blue positive, red
    negative) labelled with the update ``w -> w - eta dL/dw``; biases beside their unit."""
    from funcmlp.io.plots import pyplot, save_figure

    plt = pyplot()
    layers, edges, loss = network(ex, d)
    widest = max(len(units) for units in layers)
    gap_x, gap_y = 3.6, 2.0
    fig, ax = plt.subplots(figsize=(0.9 * (gap_x * (len(layers) - 1) + 4.5), 0.9 * (gap_y * (widest - 1) + 3.2)))
    position = {}
    for k, units in enumerate(layers):
        for j in range(len(units)):
            position[k, j] = (gap_x * k, gap_y * ((len(units) - 1) / 2 - j))
    largest = max(abs(float(e.weight)) for e in edges) or 1.0
    for e in edges:
        if e.i is None:
            continue
        (x0, y0), (x1, y1) = position[e.k - 1, e.i], position[e.k, e.j]
        weight = float(e.weight)
        ax.plot(
            [x0, x1],
            [y0, y1],
            color="#2c6fbb" if weight >= 0 else "#c0392b",
            linewidth=0.6 + 3 * abs(weight) / largest,
            alpha=0.55,
            zorder=1,
        )
        t = 0.24  # near the source: edges leaving one unit have separated there, edges meeting at one unit have not
        ax.text(
            x0 + t * (x1 - x0),
            y0 + t * (y1 - y0),
            f"{_short(e.weight)} (fixed)" if e.fixed else f"{_short(e.weight)} → {_short(e.updated)}",
            fontsize=7,
            ha="center",
            va="center",
            bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
            zorder=3,
        )
    for (k, j), (x, y) in position.items():
        unit = layers[k][j]
        ax.add_patch(plt.Circle((x, y), 0.42, facecolor="#f4f4f4", edgecolor="#333", zorder=2))
        if k == 0:
            ax.text(x, y, f"x{j + 1}\n{_short(unit['x'])}", fontsize=8, ha="center", va="center", zorder=4)
            continue
        ax.text(x, y, f"a={_short(unit['a'])}\ns={_short(unit['s'])}", fontsize=7.5, ha="center", va="center", zorder=4)
        bias = next((e for e in edges if e.i is None and e.k == k and e.j == j), None)
        if bias is not None:
            ax.text(
                x,
                y - 0.55,
                f"{'θ' if bias.name.startswith('theta') else 'b'}: {_short(bias.weight)}"
                + (" (fixed)" if bias.fixed else f" → {_short(bias.updated)}"),
                fontsize=6.5,
                ha="center",
                va="top",
                color="#555",
                zorder=4,
            )
    top = gap_y * (widest - 1) / 2
    for k in range(len(layers)):
        label = ("input x" if len(ex.x) == 1 else _input_title(ex)) if k == 0 else f"layer {k}: {ex.activations[k - 1]}"
        ax.text(gap_x * k, top + 0.9, label, fontsize=9, ha="center", weight="bold")
    ax.text(gap_x * (len(layers) - 1) + 0.8, 0, f"L = {_short(loss, 6)}", fontsize=9, ha="left", va="center")
    ax.set_xlim(-0.9, gap_x * (len(layers) - 1) + 2.6)
    ax.set_ylim(-top - 1.3, top + 1.4)
    ax.set_aspect("equal")
    ax.axis("off")
    rate = f" (η = {_short(ex.learning_rate)})" if ex.learning_rate is not None else ""
    # the file's text is text: never parsed as mathtext ($, \frac, unbalanced braces shown as written)
    heading = title or f"{ex.title}: a = output, s = dL/dn, edges w → w - η dL/dw{rate}"
    ax.set_title(heading, fontsize=9, parse_math=False)
    return save_figure(fig, path)
