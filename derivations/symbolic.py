"""The sympy side of funcmlp's registry entries, applied to lists of expressions.

These mirror :meth:`funcmlp.registry.activations.Activation.__call__` / ``backward`` and
:meth:`funcmlp.registry.losses.Loss.output_terms`, reading the sympy forms that sit beside the JAX
forms in each registry entry, so every derivation works for every registered activation
and loss.

Example:
    >>> import sympy as sp
    >>> from funcmlp.registry.activations import get_activation
    >>> from funcmlp.registry.losses import get_loss
    >>> n = sp.symbols("n1:3", real=True)
    >>> backward(get_activation("relu"), [sp.Rational(-1), sp.Rational(2)], [5, 7])
    [0, 7]
    >>> value, s = output_terms(get_loss("softmax_cross_entropy"), get_activation("identity"), list(n), [1, 0])
    >>> sp.simplify(s[0] - (sp.exp(n[0]) / (sp.exp(n[0]) + sp.exp(n[1])) - 1))
    0
"""

from __future__ import annotations

import sympy as sp

from funcmlp.registry.activations import Activation
from funcmlp.registry.losses import LOSSES, Loss

def require_symbolic(activation: Activation) -> Activation:
    """The activation, or a ``ValueError`` naming what is missing for derivations."""
    if not activation.spec.symbolic:
        raise ValueError(
            f"activation {activation.name!r} has no sympy form; register it with "
            "funcmlp.register_activation(..., sympy_forward=lambda x, alpha: ...) to derive with it"
        )
    return activation


def forward(activation: Activation, n: list, elementwise=None) -> list:
    """``a = f(n)`` on a list of expressions; ``elementwise(v)`` overrides the scalar rule
    (derivations.chain passes a sympy Function with a declared derivative)."""
    spec, alpha = require_symbolic(activation).spec, activation.symbolic_alpha()
    if spec.elementwise:
        rule = elementwise or (lambda v: spec.sympy_forward(v, alpha))
        return [rule(v) for v in n]
    return spec.sympy_forward(list(n), alpha)


def derivative(activation: Activation, v):
    """The closed-form ``f'(v)`` of an elementwise activation, as funcmlp evaluates it."""
    return require_symbolic(activation).spec.sympy_derivative(v, activation.symbolic_alpha())


def backward(activation: Activation, n: list, g: list, slope=None) -> list:
    """The closed-form vector-Jacobian product ``g @ J_f(n)`` (seed 003 eq. 33's ``F'(n)`` factor);
    ``slope(v)`` overrides an elementwise activation's ``f'(v)`` (derivations.chain passes a
    sympy Function valued by the same closed form, so nothing is evaluated on large arguments)."""
    spec, alpha = require_symbolic(activation).spec, activation.symbolic_alpha()
    if spec.elementwise:
        slope = slope or (lambda v: spec.sympy_derivative(v, alpha))
        return [gi * slope(ni) for gi, ni in zip(g, n, strict=True)]
    return spec.sympy_vjp(list(n), list(g), alpha)


def output_terms(loss: Loss, activation: Activation, n: list, y: list, a: list | None = None, slope=None) -> tuple[sp.Expr, list]:
    """One example's loss and closed-form ``s^L = dL/dn^L`` (seed 003 eq. 24): the paired
    logits form on ``n`` where the registry pairs the output with the loss, otherwise
    ``dL/da`` through the output activation's vector-Jacobian product (``slope`` as in :func:`backward`)."""
    loss.check_output(activation, len(n))
    paired = loss.spec.paired.get(activation.name)
    if paired is not None:
        logits = LOSSES[paired]
        return logits.sympy_value(list(n), list(y)), logits.sympy_gradient(list(n), list(y))
    a = forward(activation, n) if a is None else a
    return loss.spec.sympy_value(list(a), list(y)), backward(activation, n, loss.spec.sympy_gradient(list(a), list(y)), slope)


def terms_by_symbol(expr) -> dict:
    """{symbol: the terms of the sum ``expr`` that hold it}: what to differentiate term by term.

    d/dv of a sum is the sum of d/dv of its terms that hold v (linearity), so a wide layer's
    net input (a sum of one product per input) costs one small ``sympy.diff`` per weight.

    Example:
        >>> x, y = sp.symbols("x y")
        >>> sorted(map(str, terms_by_symbol(2 * x + x * y + 3)[x]))
        ['2*x', 'x*y']
    """
    index: dict = {}
    for term in sp.Add.make_args(sp.sympify(expr)):
        for symbol in term.free_symbols:
            index.setdefault(symbol, []).append(term)
    return index


def diff_terms(terms: dict, symbol):
    """``sympy.diff`` of a sum by ``symbol``, from its :func:`terms_by_symbol` index."""
    return sp.Add(*[sp.diff(term, symbol) for term in terms.get(symbol, ())])
