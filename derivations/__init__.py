"""Symbolic (sympy) derivations of the backpropagation formulas used by :mod:`funcmlp`: proofs
of the closed forms, and worked examples (the seeds', the published texts', a user's spec file)
replayed exactly, their printed numbers checked. Importing it needs only sympy (and funcmlp's
registry of activations and losses, whose sympy forms it reads).

Contract: one network engine (:mod:`~derivations.model.engine`) computes every network quantity, for
the proofs, the replayed examples and the textbook lines alike. The package is four folders, lowest first, and
a module imports only from earlier folders or from earlier layers of its own (each folder's ``LAYERS``; a test
walks the imports):

1. ``model``: the step model (a step's key, the derivation, numbers, notation) and the engine;
2. ``proofs``: sympy proofs of the closed forms (activations, sensitivities, the chain rule, curvature);
3. ``examples``: the worked examples (spec files read, replayed, compared, slips searched), shipped beside;
4. ``formats``: the renderers (text, Markdown, LaTeX, Mermaid, the page, the program, the graph).

Above them ``catalogue`` names what ``funcmlp derive`` shows. The package's own names (:data:`FRONT`) are its front
door: the command line imports nothing else, and each is loaded on first use (``import derivations`` stays cheap).
The one exception to the order: a derivation's Jupyter display imports its printer (``formats.render``) when it is
called, as sympy's ``Basic.__str__`` does.
"""

FOLDERS = ("model", "proofs", "examples", "formats")
"""The folders, lowest first: a module imports only from earlier folders and earlier layers of its own."""

TOP = ("catalogue",)
"""The modules above the folders: what ``funcmlp derive`` names."""


FRONT = {
    "ENTRIES": "catalogue",
    "QUANTITIES": "catalogue",
    "architecture_check": "catalogue",
    "NETWORK_EXAMPLES": "examples.spec",
    "read_spec": "examples.spec",
    "seed_spec_path": "examples.spec",
    "replay": "examples.replay.run",
    "from_spec": "examples.replay",
    "chain_rule": "examples.factors",
    "FORMATS": "formats.choices",
    "NETWORK_FORMATS": "formats.choices",
    "formats_taking": "formats.choices.taking",
    "write": "formats.writing",
    "render": "formats.render",
    "document": "formats.render",
    "mermaid": "formats.picture",
    "plot_network": "formats.picture",
    "page": "formats.page",
    "program": "formats.program",
    "expression_graph": "formats.expression_graph",
    "graph_dot": "formats.expression_graph.dot",
    "graph_svg": "formats.expression_graph.svg",
}
"""The front door: each public name and where it lives (``module`` for the same name, ``module.name`` for another).

Example:
    >>> import derivations
    >>> text, passed = derivations.ENTRIES["seed003_relu_linear"][1]("text")
    >>> passed, derivations.replay.__module__
    (True, 'derivations.examples.replay')
"""


def __getattr__(name: str):
    if name not in FRONT:
        raise AttributeError(f"module 'derivations' has no attribute {name!r}")
    import importlib

    where = FRONT[name]
    module, _, attribute = where.rpartition(".") if where.count(".") == 2 else (where, "", name)
    return getattr(importlib.import_module(f"derivations.{module}"), attribute)


def __dir__() -> list:
    return sorted([*globals(), *FRONT])
