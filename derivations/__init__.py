"""Symbolic (sympy) derivations of the backpropagation formulas used by :mod:`funcmlp`.

Modules: :mod:`derivations.activations` (proofs of the closed-form activation derivatives),
:mod:`derivations.worked` (the seeds' worked examples in exact arithmetic, with errata).
Importing it needs only sympy.
"""
