"""``sp``: sympy, imported on first use, so importing funcmlp does not pay for sympy.

Contract: ``sp.X`` is ``sympy.X``; the registry's sympy forms write it (their JAX forms never do).
Imports nothing of funcmlp's.
"""

from __future__ import annotations


class _LazySympy:
    """``sp.X`` imports sympy on first use, so importing funcmlp does not pay for sympy."""

    def __getattr__(self, name):
        import sympy

        return getattr(sympy, name)


sp = _LazySympy()
