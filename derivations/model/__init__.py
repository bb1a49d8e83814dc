"""The step model: what a derivation is made of and the one engine that computes it.

Numbers (written by ``numbers``, read by ``grammar``), free text (``text``), the registry's sympy forms
(``symbolic``), the cost bounds (``cost``), a step's :class:`~derivations.model.quantity.Key` and the one table
naming each quantity (``quantity``), a text's row or column layout
(``convention``), the math notation of steps (``typeset``), the network engine (``engine``) and
reverse accumulation over a graph of scalars (``graph``), the symbols of the entry-by-entry lines (``notation``) and
the derivation itself: steps, printed numbers, errata (``derivation``).
"""

LAYERS = (
    ("numbers", "text", "grammar", "symbolic", "cost", "quantity", "convention"),
    ("formula",),
    ("typeset",),
    ("engine", "graph"),
    ("notation", "derivation"),
)
"""The modules by layer, lowest first: a module imports only from earlier layers (and earlier folders)."""
