"""The network of a worked example's page (:mod:`derivations.formats.page`) as SVG: the units in columns
(the inputs left, the loss right), each weight's label on its edge, each bias's or threshold's
above its unit, and under each an empty line per number the page's steps put there (filled by
the page's script).

Contract: the example, its layer sizes and the edges of :func:`derivations.formats.picture.network` in,
SVG text out; every element a step reads or writes has an id (``unit-k-j``, ``edge-k-i-j``,
``weight-k-i-j``, ``bias-k-j``, ``loss``); numbers to 4 digits by :mod:`derivations.model.numbers`.

Example:
    >>> short(2 / sp.Integer(3)), GRADIENT_KEYS["theta"]
    ('0.6667', 'dL/dθ')
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
X0, DX, DY, TOP = 90, 280, 190, 110


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


def _layout(sizes: list) -> dict:
    """{(k, j): (x, y)} of every unit, each layer's column centred."""
    tallest = max(sizes)
    return {
        (k, j): (X0 + k * DX, TOP + (tallest - units) * DY / 2 + j * DY)
        for k, units in enumerate(sizes)
        for j in range(units)
    }


def _lines(node_id: str, keys: list, x: float, y: float) -> str:
    spans = "".join(f'<tspan x="{x:.0f}" dy="1.2em"></tspan>' for _ in keys)
    where = f'data-values="{node_id}" data-keys=\'{json.dumps(keys)}\' x="{x:.0f}" y="{y:.0f}"'
    return f'<text class="values" {where}>{spans}</text>'


def svg(ex, sizes: list, edges: list) -> str:
    """The network: units (inputs left, the loss right), edges with their weights, biases under the units."""
    at, depth = _layout(sizes), len(sizes) - 1
    width, height = X0 + (depth + 1) * DX + 40, TOP + (max(sizes) - 1) * DY + 140
    parts = [f'<svg id="network" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg" role="img">']
    for edge in (e for e in edges if e.i is not None):
        (x1, y1), (x2, y2) = at[(edge.k - 1, edge.i)], at[(edge.k, edge.j)]
        line = f'<line x1="{x1 + 28}" y1="{y1}" x2="{x2 - 28}" y2="{y2}"/>'
        parts.append(f'<g class="edge" id="edge-{edge.k}-{edge.i}-{edge.j}">{line}</g>')
    for edge in edges:
        if edge.i is None:  # above its unit, its numbers above it
            x, y = at[(edge.k, edge.j)][0], at[(edge.k, edge.j)][1] - 48
            node_id, below = f"bias-{edge.k}-{edge.j}", y - 40
        else:  # on its edge, a third of the way, its numbers below it
            (x1, y1), (x2, y2) = at[(edge.k - 1, edge.i)], at[(edge.k, edge.j)]
            x, y = x1 + 28 + 0.3 * (x2 - x1 - 56), y1 + 0.3 * (y2 - y1)
            node_id, below = f"weight-{edge.k}-{edge.i}-{edge.j}", y + 8
        label = html.escape(f"{edge.name} = {short(edge.weight)}" + (" (fixed)" if edge.fixed else ""))
        parts.append(
            f'<g class="weight" id="{node_id}" data-name="{html.escape(edge.name)}" tabindex="0"><title>{label}</title>'
            f'<rect x="{x - 42:.0f}" y="{y - 11:.0f}" width="84" height="20"/>'
            f'<text x="{x:.0f}" y="{y + 4:.0f}">{html.escape(short(edge.weight))}</text>'
            f"{_lines(node_id, _keys(edge, ex.momentum is not None), x, below)}</g>"
        )
    for (k, j), (x, y) in at.items():
        name = f"x_{j + 1}" if k == 0 else f"unit {j + 1} of layer {k}"
        keys = INPUT_KEYS if k == 0 else UNIT_KEYS
        symbol = "x" if k == 0 else _symbol(get_activation(ex.activations[k - 1]).name)
        parts.append(
            f'<g class="unit" id="unit-{k}-{j}"><title>{name}</title><circle cx="{x:.0f}" cy="{y:.0f}" r="28"/>'
            f'<text x="{x:.0f}" y="{y + 4:.0f}">{symbol}{j + 1}</text>'
            f"{_lines(f'unit-{k}-{j}', keys, x, y + 30)}</g>"
        )
    x, y = X0 + (depth + 1) * DX - 60, TOP + (max(sizes) - 1) * DY / 2
    parts.append(
        f'<g class="loss" id="loss"><title>the loss L</title><rect x="{x - 40}" y="{y - 22}" width="80" height="44"/>'
        f'<text x="{x}" y="{y + 5}">L</text>{_lines("loss", LOSS_KEYS, x, y + 22)}</g>'
    )
    return "\n".join(parts + ["</svg>"])
