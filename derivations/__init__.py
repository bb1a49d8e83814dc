"""Symbolic (sympy) derivations of the backpropagation formulas used by :mod:`funcmlp`: proofs
of the closed forms, and worked examples (the seeds', the published texts', a user's spec file)
replayed exactly, their printed numbers checked. Importing it needs only sympy (and funcmlp's
registry of activations and losses, whose sympy forms it reads).

Contract: one network engine (:mod:`~derivations.engine`) computes every network quantity, for
the proofs, the replayed examples and the textbook lines alike; modules import only from the
layers before their own (a test walks the imports):

1. ``numbers`` (the one number formatter), ``grammar`` (reading numbers), ``symbolic`` (the registry's
   sympy forms), ``activations`` (their proofs), ``cost`` (the bounds on what a worked example costs)
2. ``typeset`` (a step's name, formula and values in math notation; the heading of its gradient step)
3. ``engine`` (forward, sensitivities, recursion, gradients, updates), ``graph`` (reverse accumulation), ``render``,
   ``hessians`` (proofs of the registry's curvature forms: each loss's Hessian factor, each activation's f'')
4. ``sensitivities`` (proofs of the engine's layer formulas), ``network`` (what the chain proof checks),
   ``notation`` (the symbols of the lines), ``derivation`` (the model)
5. ``chain`` (the whole-chain proof), ``factors`` (one derivative's chain-rule factors), ``specfile`` (a spec
   file's text read), ``seed004`` (the optimizer formulas)
6. ``textbook`` (entry-by-entry lines), ``curvature`` (per-example norms, the GGN's and the Hessian's diagonals
   proven on a symbolic network), ``spec_keys`` (a layer's table, the update's keys, show_steps)
7. ``spec`` (a checked worked example), ``picture`` (Mermaid, PNG), ``page_svg`` (the page's network as SVG)
8. ``iterate`` (many steps, fast), ``layout`` (a step's quantities as named steps in the file's layout),
   ``numpy_source`` (numbers and closed forms as NumPy source), ``expression_graph`` (the loss as a graph of
   scalars, each node's value and gradient, as Graphviz dot)
9. ``every_step`` (the gradient steps written out in full, each replayed from the parameters before it)
10. ``variants`` (an example replayed with a slip in its computation), ``program`` (an example's backward pass
   as a standalone NumPy script)
11. ``slips`` (the slips texts make, tried on each erratum)
12. ``replay`` (a spec through the engine), 13. ``worked`` (the seeds' and the literature's examples), ``page``
   (an example as a page for the browser),
   14. ``catalogue`` (what ``funcmlp derive`` names)
"""

LAYERS = (
    ("numbers", "text", "grammar", "symbolic", "activations", "cost", "quantity"),
    ("typeset",),
    ("engine", "graph", "render", "hessians"),
    ("sensitivities", "network", "notation", "derivation"),
    ("chain", "factors", "specfile", "seed004"),
    ("textbook", "curvature", "spec_keys"),
    ("spec", "picture", "page_svg"),
    ("iterate", "layout", "numpy_source", "expression_graph"),
    ("every_step",),
    ("variants", "program"),
    ("slips",),
    ("replay",),
    ("worked", "page"),
    ("catalogue",),
)
"""The modules by layer, lowest first: a module imports only from earlier layers."""
