"""The proofs: sympy derivations that the closed forms funcmlp uses are the derivatives they claim to be.

Each activation's derivative and the softmax Jacobian (``activations``), the symbolic network a chain proof walks
(``network``), the optimizer formulas of seed 004 (``seed004``), each loss's Hessian factor and each activation's
second derivative (``hessians``), the output and hidden sensitivities (``sensitivities``), the whole chain rule
against sympy's own differentiation (``chain``) and the curvature quantities (``curvature``).
"""

LAYERS = (
    ("activations", "network", "seed004"),
    ("hessians", "sensitivities"),
    ("chain",),
    ("curvature",),
)
"""The modules by layer, lowest first: a module imports only from earlier layers (and earlier folders)."""
