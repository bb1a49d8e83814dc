"""Symbolic (sympy) derivations of the backpropagation formulas used by :mod:`funcmlp`.

Filled in by its own work item; importing it needs only sympy.
"""
