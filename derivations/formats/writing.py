"""A network worked example written in one of the :data:`~derivations.formats.choices.FORMATS`: the one dispatch
from a format's name to its renderer.

Contract: a checked example, its replayed derivation (None for a format that is not ``replayed``) and a format name
in, the text out (what ``funcmlp derive --format NAME`` prints).

Example:
    >>> from derivations.examples.spec import read_spec
    >>> from derivations.examples.replay import run
    >>> ex = read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.1",
    ...                 "x": ["2"], "y": ["1"], "layers": [{"W": [["3"]], "b": ["0.5"]}]})
    >>> print(write("python", ex, run(ex)).splitlines()[0])
    # example
"""

from __future__ import annotations

from derivations.formats import expression_graph, page, picture, program, render
from derivations.formats.choices import FORMATS


def write(name: str, example, derivation, *, standalone: bool = False) -> str:
    """``example`` (and its ``derivation``) in format ``name``; ``standalone``: a whole document (LaTeX)."""
    if name not in FORMATS:
        raise ValueError(f"unknown format {name!r}; expected one of {', '.join(FORMATS)}")
    if standalone and not FORMATS[name].standalone:
        raise ValueError(f"--standalone makes a whole document of latex; --format {name} is none")
    if name in ("graph", "graph-svg"):
        source = expression_graph.dot(example, expression_graph.expression_graph(example))
        return source if name == "graph" else expression_graph.svg(source)
    if name == "python":
        return program.program(example, derivation)
    if name == "html":
        return page.page(example, derivation)
    if name == "mermaid":
        return picture.mermaid(example, derivation)
    return render.render(derivation, name, standalone=standalone)
