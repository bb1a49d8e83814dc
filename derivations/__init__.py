"""Symbolic (sympy) derivations of the backpropagation formulas used by :mod:`funcmlp`: proofs
of the closed forms, and worked examples (the seeds', the published texts', a user's spec file)
replayed exactly, their printed numbers checked. Importing it needs only sympy (and funcmlp's
registry of activations and losses, whose sympy forms it reads).

Contract: one network engine (:mod:`~derivations.engine`) computes every network quantity, for
the proofs, the replayed examples and the textbook lines alike; modules import only from the
layers before their own (a test walks the imports):

1. ``numbers`` (the one number formatter), ``grammar`` (reading numbers), ``symbolic`` (the registry's
   sympy forms), ``activations`` (their proofs)
2. ``engine`` (forward, sensitivities, recursion, gradients, updates), ``graph`` (reverse accumulation), ``render``
3. ``sensitivities``, ``chain`` (proofs of the engine), ``notation``, ``derivation`` (the model)
4. ``textbook`` (entry-by-entry lines), ``spec`` (reading spec files), then ``iterate`` (many steps,
   fast) and ``layout`` (a step's quantities as named steps in the file's layout)
5. ``slips`` (the slips texts make, tried on each erratum), ``picture`` (Mermaid, PNG)
6. ``replay`` (a spec through the engine), then ``worked`` (the seeds' examples), then ``catalogue``
"""

LAYERS = (
    ("numbers", "grammar", "symbolic", "activations"),
    ("engine", "graph", "render"),
    ("sensitivities", "chain", "notation", "derivation"),
    ("textbook", "spec"),
    ("iterate", "layout"),
    ("slips", "picture"),
    ("replay",),
    ("worked",),
    ("catalogue",),
)
"""The modules by layer, lowest first: a module imports only from earlier layers."""
