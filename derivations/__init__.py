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

Above them ``catalogue`` names what ``funcmlp derive`` shows. The one exception to the order: a derivation's
Jupyter display imports its printer (``formats.render``) when it is called, as sympy's ``Basic.__str__`` does.
"""

FOLDERS = ("model", "proofs", "examples", "formats")
"""The folders, lowest first: a module imports only from earlier folders and earlier layers of its own."""

TOP = ("catalogue",)
"""The modules above the folders: what ``funcmlp derive`` names."""
