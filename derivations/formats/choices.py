"""The formats a derivation is written in, each with what it takes: one table (:data:`FORMATS`) that ``funcmlp
derive`` reads for its ``--format`` choices, its help and its checks of the other options, and that
:func:`derivations.formats.writing.write` dispatches on.

Contract: names and flags only (nothing imported: the command line reads it before any renderer loads).

Example:
    >>> [f.name for f in FORMATS.values() if f.chain]
    ['text', 'markdown', 'latex', 'html']
    >>> taking("selects")
    'text, markdown or latex'
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Format:
    """One output format: ``network`` (for a network worked example only, not the proofs and worked derivations),
    ``chain`` (has a place for ``--chain``'s chain-rule step), ``selects`` (``--layers`` and ``--gradient-lines``
    choose what it writes), ``steps`` / ``show_steps`` (``--steps`` / ``--show-steps`` change it), ``replayed``
    (written from the replay; the graph is the loss before any step), ``standalone`` (a whole document)."""

    name: str
    help: str
    network: bool = True
    chain: bool = False
    selects: bool = False
    steps: bool = True
    show_steps: bool = True
    replayed: bool = True
    standalone: bool = False


_WRITTEN = dict(network=False, chain=True, selects=True)  # the step-by-step text of any derivation

FORMATS = {
    f.name: f
    for f in (
        Format("text", "aligned columns, exact values and decimals", **_WRITTEN),
        Format("markdown", "$$ math that GitHub and Jupyter render", **_WRITTEN),
        Format("latex", "math notation (--standalone: a document for pdflatex)", standalone=True, **_WRITTEN),
        Format(
            "html",
            "a page for the browser (the network, a step control, each weight's chain rule, the errata; "
            "self-contained, offline)",
            chain=True,
        ),
        Format("mermaid", "the network as a flowchart", show_steps=False),
        Format("python", "the backward pass as a standalone NumPy script that prints the same numbers"),
        Format(
            "graph",
            "the loss as a Graphviz graph of scalars with each node's value and gradient",
            steps=False,
            show_steps=False,
            replayed=False,
        ),
        Format("graph-svg", "the graph drawn by Graphviz's dot", steps=False, show_steps=False, replayed=False),
    )
}
"""The formats by name, in the order ``--format`` lists them."""

NETWORK_FORMATS = tuple(name for name, f in FORMATS.items() if f.network)
"""The formats that show a network worked example only."""


def taking(flag: str) -> str:
    """The names of the formats whose ``flag`` is set, as a sentence lists them (``a, b or c``)."""
    names = [name for name, f in FORMATS.items() if getattr(f, flag)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]
