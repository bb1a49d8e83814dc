"""The network of a worked example's page (:mod:`derivations.formats.page`) as SVG: the units in columns
(the inputs left, the loss right), each weight's box on its edge, each bias's or threshold's above its
unit, and beside each an empty line per number the page's steps put there (filled by the page's script).

No two labels overlap, whatever the network's shape: a label's width is bounded from the longest text a
step puts there (:data:`CHAR` a character), a column of units is as wide as its widest label and its units
as far apart as their labels are tall; the boxes of the weights between two columns stand in slots
(columns of boxes, side by side), each box on its edge where the edge crosses its slot, two boxes of a
slot at least a box and its numbers apart: there are as many slots as it takes (crossing edges take two),
so the drawing grows with the network (the page scales it to the window).

Contract: the example, its layer sizes, the edges of :func:`derivations.formats.picture.network` and the
marks the page's steps put on it (``[element id, key, text]``) in, SVG text out; every element a step reads
or writes has an id (``unit-k-j``, ``edge-k-i-j``, ``weight-k-i-j``, ``bias-k-j``, ``loss``); numbers to 4
digits by :mod:`derivations.model.numbers`.

Example:
    >>> short(2 / sp.Integer(3)), GRADIENT_KEYS["theta"]
    ('0.6667', 'dL/dθ')
    >>> slots([0.0, 200.0], [0.0, 200.0], 0.0, 100.0, 60.0, 60.0, 28.0)[1]  # two crossing edges: two slots
    2
"""

from __future__ import annotations

import html
import json

import sympy as sp  # noqa: F401 (the example above)

from derivations.model.numbers import number_text
from funcmlp.registry.activations import get_activation

UNIT_KEYS, INPUT_KEYS, LOSS_KEYS = ["n", "a", "s", "dL/da"], ["x", "dL/dx"], ["L", "then"]
GRADIENT_KEYS = {"W": "dL/dw", "b": "dL/db", "theta": "dL/dθ"}
"""What a weight's, a bias's or a threshold's label calls its gradient (then its new value, ``new``)."""
FONT = 10.5
"""The numbers' font size (px, page.css)."""
CHAR = 0.68 * FONT
"""A bound on a character's width in the numbers' font (DejaVu Sans, the widest of the usual: digits 0.64 em)."""
LINE, ASCENT, DESCENT = 14, 10, 3
"""A line of numbers: its height, and how far its letters reach above and below its baseline."""
R, BOX, GAP, MARGIN, SMALLEST = 28, 20, 6, 14, 84
"""A unit's radius, a box's height, the space between labels, around the drawing, a box's least width."""
LEAST = (("min", 0.45), ("max", 1.25))
"""The least and the most the page scales the drawing by: smaller, its text would no longer keep to its lines."""


def short(value) -> str:
    """A number on the picture: 4 significant digits."""
    return number_text(value, 4)[0]


SYMBOLS = {"sigmoid": "σ", "identity": "id ", "linear": "id ", "relu": "ReLU ", "softmax": "sm ", "hardlimit": "hlim "}


def _symbol(name: str) -> str:
    """A unit's short label: its activation's symbol."""
    return SYMBOLS.get(name, name[:5] + " ")


def _keys(edge, momentum: bool) -> list:
    """What a parameter's label shows under its value: its gradient, with momentum its velocity, its new value."""
    kind = "W" if edge.i is not None else "theta" if edge.name.startswith("theta") else "b"
    return [GRADIENT_KEYS[kind], *(["v"] if momentum else []), "new"]


def _id(edge) -> str:
    return f"weight-{edge.k}-{edge.i}-{edge.j}" if edge.i is not None else f"bias-{edge.k}-{edge.j}"


def _widths(edges: list, marks) -> tuple[dict, dict]:
    """({element id: the width of the widest line a step puts beside it}, {parameter id: of the widest value in
    its box}), by :data:`CHAR` a character (a line is its key and its number, as the page's script writes it)."""
    beside, inside = {}, {_id(edge): len(short(edge.weight)) * CHAR for edge in edges}
    for node, key, text in marks:
        table, line = (inside, text) if key == "w" else (beside, f"{key} {text}")
        table[node] = max(table.get(node, 0), len(line) * CHAR)
    return beside, inside


def slots(ys0: list, ys1: list, x0: float, start: float, width: float, height: float, end: float) -> tuple:
    """({(i, j): (x, y)} of the boxes of the edges from units at heights ``ys0`` (a column at ``x0``) to units at
    ``ys1``, the number of slots): the fewest slots ``width`` wide from ``start`` (the next column ``end`` after
    the last) such that in each slot two boxes are ``height`` apart; each edge tries the slots from its own on,
    so that the edges of a unit spread over them."""
    pairs = [(i, j) for i in range(len(ys0)) for j in range(len(ys1))]
    for count in range(1, len(pairs) + 1):
        xs = [start + width / 2 + s * (width + GAP) for s in range(count)]
        x1 = start + count * (width + GAP) + end  # the next column; an edge runs between the circles
        taken, at = [[] for _ in xs], {}
        for i, j in pairs:
            for s in sorted(range(count), key=lambda s: (s - i - j) % count):
                y = ys0[i] + (xs[s] - x0 - R) / (x1 - x0 - 2 * R) * (ys1[j] - ys0[i])
                if all(abs(y - other) >= height for other in taken[s]):
                    taken[s].append(y)
                    at[(i, j)] = (xs[s], y)
                    break
            else:
                break
        if len(at) == len(pairs):
            return at, count
    raise AssertionError("one edge a slot always fits")  # pragma: no cover


def _lines(node_id: str, keys: list, x: float, y: float) -> str:
    """The empty lines of a label's numbers, their baselines :data:`LINE` apart from ``y`` + LINE on."""
    spans = "".join(f'<tspan x="{x:.1f}" dy="{LINE}"></tspan>' for _ in keys)
    where = f'data-values="{node_id}" data-keys=\'{json.dumps(keys)}\' x="{x:.1f}" y="{y:.1f}"'
    return f'<text class="values" {where}>{spans}</text>'


def _box(edge, node_id: str, x: float, y: float, width: float, keys: list, below: float) -> str:
    """A parameter's box centred at (x, y), its numbers' lines from ``below`` on."""
    label = html.escape(f"{edge.name} = {short(edge.weight)}" + (" (fixed)" if edge.fixed else ""))
    return (
        f'<g class="weight" id="{node_id}" data-name="{html.escape(edge.name)}" tabindex="0"><title>{label}</title>'
        f'<rect x="{x - width / 2:.1f}" y="{y - BOX / 2:.1f}" width="{width:.1f}" height="{BOX}"/>'
        f'<text x="{x:.1f}" y="{y + 4:.1f}">{html.escape(short(edge.weight))}</text>'
        f"{_lines(node_id, keys, x, below)}</g>"
    )


def svg(ex, sizes: list, edges: list, marks=()) -> str:
    """The network: units (inputs left, the loss right), edges with their weights' boxes, biases above the units,
    laid out for the numbers ``marks`` puts beside them (see the module docstring)."""
    momentum, depth = ex.momentum is not None, len(sizes) - 1
    beside, inside = _widths(edges, marks)
    keys = {_id(edge): _keys(edge, momentum) for edge in edges}
    card = lambda node: max(SMALLEST, inside[node] + 10, beside.get(node, 0) + 4)  # a box as wide as its numbers
    biases = [[e for e in edges if e.k == k and e.i is None] for k in range(depth + 1)]
    half = [
        max([R] + [beside.get(f"unit-{k}-{j}", 0) / 2 for j in range(sizes[k])] + [card(_id(e)) / 2 for e in biases[k]])
        for k in range(depth + 1)
    ]
    lines = lambda k: LINE * max((len(keys[_id(e)]) for e in biases[k]), default=0)  # a bias's numbers' height
    above = [R + (GAP + BOX + 4 + lines(k) - LINE + ASCENT if biases[k] else 0) for k in range(depth + 1)]
    below = [R + len(INPUT_KEYS if k == 0 else UNIT_KEYS) * LINE + DESCENT for k in range(depth + 1)]
    pitch = [above[k] + below[k] + GAP for k in range(depth + 1)]
    middle = MARGIN + max(above[k] + (sizes[k] - 1) * pitch[k] / 2 for k in range(depth + 1))
    ys = [[middle + (j - (sizes[k] - 1) / 2) * pitch[k] for j in range(sizes[k])] for k in range(depth + 1)]
    xs, boxes = [MARGIN + half[0]], {}
    for k in range(1, depth + 1):  # the weights between columns k - 1 and k, in slots
        weights = [e for e in edges if e.k == k and e.i is not None]
        width = max(card(_id(e)) for e in weights)
        height = BOX + max(len(keys[_id(e)]) for e in weights) * LINE + DESCENT + 2 + GAP / 2
        start = xs[-1] + half[k - 1] + GAP
        at, count = slots(ys[k - 1], ys[k], xs[-1], start, width, height, half[k])
        xs.append(start + count * (width + GAP) + half[k])
        boxes.update({f"weight-{k}-{i}-{j}": (x, y, width) for (i, j), (x, y) in at.items()})
    loss_width = max(80, beside.get("loss", 0))
    loss_x = xs[-1] + half[-1] + 2 * GAP + loss_width / 2
    width = loss_x + loss_width / 2 + MARGIN
    height = middle + max(below[k] + (sizes[k] - 1) * pitch[k] / 2 for k in range(depth + 1)) + MARGIN
    sized = "".join(f"{b}-{d}: {s * n:.0f}px; " for b, s in LEAST for d, n in (("width", width), ("height", height)))
    parts = [  # the page scales it to the room it has, within LEAST
        f'<svg id="network" viewBox="0 0 {width:.0f} {height:.0f}" width="{width:.0f}" height="{height:.0f}" '
        f'style="{sized.strip()}" xmlns="http://www.w3.org/2000/svg" role="img">'
    ]
    for edge in (e for e in edges if e.i is not None):
        (x1, y1), (x2, y2) = (xs[edge.k - 1], ys[edge.k - 1][edge.i]), (xs[edge.k], ys[edge.k][edge.j])
        line = f'<line x1="{x1 + R:.1f}" y1="{y1:.1f}" x2="{x2 - R:.1f}" y2="{y2:.1f}"/>'
        parts.append(f'<g class="edge" id="edge-{edge.k}-{edge.i}-{edge.j}">{line}</g>')
    for edge in edges:
        node = _id(edge)
        if edge.i is None:  # above its unit, its numbers above it
            x, y, box = xs[edge.k], ys[edge.k][edge.j] - R - GAP - BOX / 2, card(node)
            parts.append(_box(edge, node, x, y, box, keys[node], y - BOX / 2 - 4 - len(keys[node]) * LINE))
        else:  # on its edge, its numbers under it
            x, y, box = boxes[node]
            parts.append(_box(edge, node, x, y, box, keys[node], y + BOX / 2))
    for k, column in enumerate(ys):
        for j, y in enumerate(column):
            name = f"x_{j + 1}" if k == 0 else f"unit {j + 1} of layer {k}"
            symbol = "x" if k == 0 else _symbol(get_activation(ex.activations[k - 1]).name)
            x = xs[k]
            parts.append(
                f'<g class="unit" id="unit-{k}-{j}"><title>{name}</title><circle cx="{x:.1f}" cy="{y:.1f}" r="{R}"/>'
                f'<text x="{x:.1f}" y="{y + 4:.1f}">{symbol}{j + 1}</text>'
                f"{_lines(f'unit-{k}-{j}', INPUT_KEYS if k == 0 else UNIT_KEYS, x, y + R)}</g>"
            )
    parts.append(
        f'<g class="loss" id="loss"><title>the loss L</title><rect x="{loss_x - 40:.1f}" y="{middle - 22:.1f}" '
        f'width="80" height="44"/><text x="{loss_x:.1f}" y="{middle + 5:.1f}">L</text>'
        f"{_lines('loss', LOSS_KEYS, loss_x, middle + 22)}</g>"
    )
    return "\n".join(parts + ["</svg>"])
