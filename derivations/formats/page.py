"""A worked example as a page in the browser: one self-contained HTML file (styles, script and
data inlined, math as MathML, nothing fetched) showing, in the window together, the network as SVG
(:mod:`derivations.formats.page_svg`: no two labels overlap), a step control that walks the replay's
steps (forward pass, loss, sensitivities, gradients, update, the later steps) and their math,
highlighting what each step reads (blue) and writes (orange) and putting its numbers on the
units and weights, the chain rule of a clicked weight with its numbers, and the errata.

Contract: a checked :class:`~derivations.examples.spec.WorkedExample` and its replayed derivation in, the
page's HTML out; every number is the replay's (formatted by :mod:`derivations.model.numbers`), every
formula its LaTeX converted to MathML by ``latex2mathml``; networks too big to draw legibly are
refused as :func:`derivations.formats.picture.network` refuses them.

Example:
    >>> from derivations.examples.spec import read_spec
    >>> from derivations.examples.replay import run
    >>> ex = read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.1",
    ...                 "x": ["2"], "y": ["1"], "layers": [{"W": [["3"]], "b": ["0.5"]}]})
    >>> html = page(ex, run(ex))
    >>> html.startswith("<!DOCTYPE html>"), html.count('class="stage"'), 'data-name="w^1_{1,1}"' in html
    (True, 9, True)
"""

from __future__ import annotations

import html
import json
from dataclasses import replace
from importlib import resources

from derivations.examples.factors import chain_rule
from derivations.examples.replay import run
from derivations.formats.page_svg import GRADIENT_KEYS, short, svg
from derivations.formats.picture import network
from derivations.model.numbers import latex_number, number_text
from derivations.model.quantity import Key
from derivations.model.typeset import formula_math, sections, step_math


def _math(latex: str, display: bool = False) -> str:
    from latex2mathml.converter import convert

    return convert(latex, display="block" if display else "inline")


def _parameters(kind: str, k: int, sizes: list) -> list:
    """The element ids of layer ``k``'s weights (``kind`` W: their edges too) or biases (b, theta)."""
    if kind == "W":
        return [f"{p}-{k}-{i}-{j}" for p in ("edge", "weight") for i in range(sizes[k - 1]) for j in range(sizes[k])]
    return [f"bias-{k}-{j}" for j in range(sizes[k])]


def _touches(step, sizes: list) -> tuple[list, list]:
    """(the element ids a step reads, those it writes) on the picture, by the step's key (none for free text)."""
    key = step.key
    if key is None:
        return [], []
    if key.parameter is not None:  # a parameter's value (before, new, after) or its velocity
        ids = _parameters(*key.parameter, sizes)
        return (ids, []) if key.velocity and key.stage == "before" else (ids, ids)
    depth, q, k = len(sizes) - 1, key.quantity, key.layer
    units = lambda k: [f"unit-{k}-{j}" for j in range(sizes[k])]
    weights, biases = (lambda k: _parameters("W", k, sizes)), (lambda k: _parameters("b", k, sizes))
    if q == "L":
        return units(depth), ["loss"]
    return {
        "n": (units(k - 1) + weights(k) + biases(k), units(k)) if k else ([], units(0)),
        "a": (units(k), units(k)),
        "s": (units(k) + (["loss"] if k == depth else []), units(k)),
        "delta": (units(k), units(k)),
        "dL/da": (units(k + 1) + weights(k + 1), units(k)) if k < depth else (units(k) + ["loss"], units(k)),
        "f'": (units(k), units(k)),
        "exp": (units(k), units(k)),
        "delta_W": (weights(k), weights(k)),
        "delta_b": (biases(k), biases(k)),
        "delta_theta": (biases(k), biases(k)),
        "dL/dW": (units(k - 1) + units(k), weights(k)),
        "dL/db": (units(k), biases(k)),
        "dL/dtheta": (units(k), biases(k)),
    }[q]


def _mark(key) -> str | None:
    """What a parameter's step puts beside it: its value in its box (``w``: what was beside the old one goes; ``new``
    after the update), its velocity (``v``); the velocity a step starts from puts nothing (the step's own comes with
    its formula)."""
    if key.velocity:
        return "v" if key.stage == "" else None
    return "new" if key.stage == "new" else "w"


def _marks(step, sizes: list, ex) -> list:
    """[element id, key, text] the step puts on the picture (the first example's values)."""
    batch, convention, key = len(ex.x), ex.convention, step.key
    if key is None or (key.quantity == "L" and key.stage == "example"):
        return []
    if key.quantity == "L":
        return (
            [["loss", "L", short(step.values[0])]]
            if key.stage == ""
            else [["loss", "then", f"{short(step.values[0])} ({key.text()[2:]})"]]
        )
    q, k = key.quantity, key.layer
    if q in ("f'", "exp") or q.startswith("delta_"):  # outlined, not written beside the units and weights
        return []
    if q in ("n", "a", "s", "dL/da", "delta"):
        values = convention.first_example(step.values, sizes[k], batch)
        mark = "x" if q == "a" and k == 0 else "dL/dx" if q == "dL/da" and k == 0 else "s" if q == "delta" else q
        return [[f"unit-{k}-{j}", mark, short(v)] for j, v in enumerate(values)]
    mark = GRADIENT_KEYS[q[4:]] if q.startswith("dL/d") else _mark(key)
    if mark is None:
        return []
    if q in ("W", "dL/dW", "v_W"):
        return [
            [f"weight-{k}-{i}-{j}", mark, short(step.values[convention.flat_entry(i, j, sizes[k - 1], sizes[k])])]
            for i in range(sizes[k - 1])
            for j in range(sizes[k])
        ]
    return [[f"bias-{k}-{j}", mark, short(v)] for j, v in enumerate(step.values[: sizes[k]])]


SHOWN_EXAMPLES = 4
"""A batch page writes out the chain rule of this many of its examples (each is a replay and MathML)."""


def _chains(ex, d, edges: list, sizes: list) -> dict:
    """{weight name: its chain rule with the numbers, as MathML}: of the one example, of the first of
    an online pass (the step the page shows in full), or for a batch that of each of its first
    :data:`SHOWN_EXAMPLES` examples (a replay of it alone) and the batch's dL/dw, their mean."""
    if ex.update == "online":
        ex = replace(ex, x=ex.x[:1], y=ex.y[:1])
    if len(ex.x) == 1:
        return {edge.name: _math(chain_rule(d, ex, edge.name).latex(), display=True) for edge in edges}
    shown = list(zip(ex.x, ex.y, strict=True))[:SHOWN_EXAMPLES]
    singles = [replace(ex, x=(x,), y=(y,), steps=1, printed={}) for x, y in shown]
    replays = [run(single) for single in singles]
    chains = {}
    for edge in edges:
        if edge.i is not None:
            at = ex.convention.flat_entry(edge.i, edge.j, sizes[edge.k - 1], sizes[edge.k])
            total = d.step(Key("dL/dW", edge.k)).values[at]
        else:
            total = d.step(Key("dL/dtheta" if edge.name.startswith("theta") else "dL/db", edge.k)).values[edge.j]
        chains[edge.name] = _batch_chain(edge, singles, replays, len(ex.x), ex.l2, total)
    return chains


def _term(value) -> str:
    """A number in a sum or product: parenthesised when negative."""
    text = latex_number(number_text(value)[0])
    return rf"\left({text}\right)" if text.startswith("-") else text


def _batch_chain(edge, singles: list, replays: list, batch: int, l2, total) -> str:
    """The chain rule of ``edge``'s dL_e/dw for the examples shown, then the batch's dL/dw: their
    mean (written out when every example is shown), plus ``l2 w`` for a weight under L2."""
    lines = [chain_rule(d, single, edge.name) for single, d in zip(singles, replays, strict=True)]
    own = lambda line, e: line.latex().replace(r"\partial L}", rf"\partial L_{{{e}}}}}")  # example e's loss
    parts = [f"<p>example {e}:</p>" + _math(own(line, e), display=True) for e, line in enumerate(lines, start=1)]
    lhs = lines[0].latex_parts[0]
    if len(lines) == batch:
        mean = rf"\frac{{1}}{{{batch}}}\left({' + '.join(_term(line.value) for line in lines)}\right)"
    else:
        parts.append(f"<p>examples {len(lines) + 1} to {batch} likewise.</p>")
        each = lhs.replace(r"\partial L}", r"\partial L_{e}}")
        mean = rf"\frac{{1}}{{{batch}}}\sum_{{e=1}}^{{{batch}}} {each}"
    if l2 is not None and edge.i is not None:  # the L2 penalty's l2 w, on the weights only
        mean += rf" + {_term(l2)} \cdot {_term(edge.weight)}"
    relation = "=" if number_text(total)[1] else r"\approx"
    result = f"{lhs} = {mean} {relation} {latex_number(number_text(total)[0])}"
    return "".join(parts) + f"<p>the batch's dL/dw, the mean:</p>{_math(result, display=True)}"


def _stage(index: int, step, convention) -> str:
    display, values = step_math(step, convention)
    if display is None:
        formula = formula_math(step)[0]
        head = f"{html.escape(step.name)}: " + (_math(formula) if formula else html.escape(step.formula))
        display = values
    else:
        head = ""
    lines = "".join(f"<div>{_math(line.latex())}</div>" for line in step.lines)
    return (
        f'<section class="stage" id="stage-{index}"><h3>{index + 1}. {html.escape(step.name)}</h3>'
        f'<div>{head}{_math(display, display=True)}</div><div class="lines">{lines}</div></section>'
    )


def _errata(d) -> str:
    if not d.errata:
        return "<p>No errata: every number the text printed is right.</p>"
    rows = "".join(
        f"<tr><td>{html.escape(e.where)}</td><td>{html.escape(e.step)}[{e.index}]</td><td>{html.escape(e.printed)}</td>"
        f"<td>{html.escape(number_text(e.exact)[0] if not e.exact.free_symbols else str(e.exact))}</td>"
        f"<td>{html.escape(e.slip)}</td></tr>"
        for e in d.errata
    )
    head = (
        "<tr><th>where</th><th>quantity</th><th>printed</th><th>right</th><th>the slip, and how it was found</th></tr>"
    )
    return f'<table class="errata">{head}{rows}</table>'


def page(ex, d) -> str:
    """The page's HTML (see the module docstring)."""
    layers, edges, _ = network(ex, d)
    sizes = [len(layer) for layer in layers]
    stages = [  # a stage's group: its gradient step (what a stage shows beside a parameter is of its own step)
        {
            "reads": reads,
            "writes": writes,
            "marks": _marks(step, sizes, ex),
            "group": step.key.t if step.key is not None and step.key.stage not in ("after", "example") else 0,
        }
        for step in d.steps
        for reads, writes in [_touches(step, sizes)]
    ]
    data = {
        "stages": stages,
        "chain": _chains(ex, d, edges, sizes),
        "no_chain": "<p>No chain rule for this name.</p>",
    }
    options = ""
    for i, (s, heading) in enumerate(zip(d.steps, sections(d), strict=True)):  # a group of options per step
        opening = f'<optgroup label="{html.escape(heading)}">' if heading else ""
        options += ("</optgroup>" if heading and i and "<optgroup" in options else "") + opening
        options += f'<option value="{i}">{i + 1}. {html.escape(s.name)}</option>'
    options += "</optgroup>" if "<optgroup" in options else ""
    notes = "".join(f"<li>{html.escape(note)}</li>" for note in d.notes)
    asset = lambda name: resources.files("derivations").joinpath("assets", name).read_text(encoding="utf-8")
    batch = f" The units show the first of the {len(ex.x)} examples." if len(ex.x) > 1 else ""
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            f"<title>{html.escape(d.title)}</title>",
            f"<style>{asset('page.css')}</style></head><body>",
            f'<div id="board"><h1>{html.escape(d.title)}</h1>',  # the drawing and the step's math in the window
            '<div id="controls"><button id="previous" type="button">&#9664; back</button>'
            '<button id="next" type="button">next &#9654;</button>'
            f'<select id="stage-list" aria-label="step">{options}</select><span id="position"></span></div>',
            f'<div id="figure">{svg(ex, sizes, edges, [mark for stage in stages for mark in stage["marks"]])}</div>',
            '<div id="steps">',
            *(_stage(i, step, ex.convention) for i, step in enumerate(d.steps)),
            "</div></div>",
            '<p class="legend">Step through the computation: what a step reads is outlined in blue, what it writes in '
            "orange. Click a weight or a bias for its chain rule.</p>",
            f'<p class="notes">Replayed exactly by funcmlp derive ({html.escape(d.name)}).{batch}</p>',
            f'<ul class="notes">{notes}</ul>' if notes else "",
            '<section id="chain-section"><h2>Chain rule of the chosen weight'
            + (" (step 1)" if d.gradient_steps > 1 else "")
            + "</h2>"
            '<div id="chain">Click a weight or a bias in the picture.</div></section>',
            "<h2>Errata</h2>",
            _errata(d),
            f'<script id="data" type="application/json">{_json(data)}</script>',
            f"<script>{asset('page.js')}</script>",
            "</body></html>",
        ]
    )


def _json(data) -> str:
    """JSON safe inside a script element (no ``</``)."""
    return json.dumps(data).replace("</", "<\\/")
