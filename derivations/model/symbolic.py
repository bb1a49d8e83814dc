"""The sympy side of funcmlp's registry entries, applied to lists of expressions.

Contract: reads the sympy forms that sit beside the JAX forms in each registry entry (an
activation's forward rule, closed-form derivative and vector-Jacobian product) and nothing
else of ``derivations``; :mod:`derivations.model.engine` composes them into a network. Also the
sympy Functions standing for an activation inside composed expressions (the chain proof).

Example:
    >>> import sympy as sp
    >>> from funcmlp.registry.activations import get_activation
    >>> from funcmlp.registry.losses import get_loss
    >>> n = sp.symbols("n1:3", real=True)
    >>> [derivative(get_activation("relu"), v) for v in (sp.Rational(-1), sp.Rational(2))]
    [0, 1]
    >>> p = forward(get_activation("softmax"), list(n))
    >>> sp.simplify(vjp(get_activation("softmax"), list(n), [1, 0])[0] - (p[0] - p[0] ** 2))
    0
"""

from __future__ import annotations

import sympy as sp

from funcmlp.registry.activations import Activation


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
    (derivations.proofs.chain passes a sympy Function with a declared derivative)."""
    spec, alpha = require_symbolic(activation).spec, activation.symbolic_alpha()
    if spec.elementwise:
        rule = elementwise or (lambda v: spec.sympy_forward(v, alpha))
        return [rule(v) for v in n]
    return spec.sympy_forward(list(n), alpha)


def derivative(activation: Activation, v):
    """The closed-form ``f'(v)`` of an elementwise activation, as funcmlp evaluates it."""
    return require_symbolic(activation).spec.sympy_derivative(v, activation.symbolic_alpha())


def vjp(activation: Activation, n: list, g: list) -> list:
    """The registry's closed-form vector-Jacobian product ``g @ J_f(n)`` of a vector activation (softmax)."""
    return require_symbolic(activation).spec.sympy_vjp(list(n), list(g), activation.symbolic_alpha())


_FUNCTIONS: dict = {}
NUMERIC: dict = {"mpmath": {}, "numpy": {}}
"""The numeric rules of the sympy Functions below, by function name, for ``sympy.lambdify``."""


def _function(key, name: str, rule_of, slope_of):
    """A cached sympy Function class ``name`` valued by ``rule_of(t)`` with derivative ``slope_of(t)``."""
    if key not in _FUNCTIONS:
        name = f"{name}_{len(_FUNCTIONS)}"
        t = sp.Dummy("t", real=True)
        rule, slope = rule_of(t), slope_of(t)

        def fdiff(self, argindex=1):
            return slope.subs(t, self.args[0])

        def _eval_evalf(self, prec):
            return rule.subs(t, self.args[0]).evalf(prec)

        _FUNCTIONS[key] = type(name, (sp.Function,), {"fdiff": fdiff, "_eval_evalf": _eval_evalf, "nargs": 1})
        NUMERIC["mpmath"][name] = sp.lambdify(t, rule, modules="mpmath")
        NUMERIC["numpy"][name] = sp.lambdify(t, rule, modules=["scipy", "numpy"])
    return _FUNCTIONS[key]


def activation_function(activation: Activation, derivative: str = "derived"):
    """A sympy Function standing for an elementwise ``activation`` in composed expressions
    (cached), valued by the registry's forward rule. Its derivative is either ``"derived"``:
    sympy.diff of that forward rule (what ``composed`` and ``graph`` differentiate through, so a
    wrong closed form cannot hide), or ``"declared"``: the registry's closed form (what ``local``
    uses to compare the chain rule's structure exactly, with the closed form proven against
    the derived one per activation)."""
    spec, alpha = activation.spec, activation.symbolic_alpha()
    key = (spec, activation.alpha, derivative)  # the entry itself: a re-registered name is new
    slope = (
        (lambda t: sp.diff(spec.sympy_forward(t, alpha), t))
        if derivative == "derived"
        else (lambda t: spec.sympy_derivative(t, alpha))
    )
    return _function(key, f"{activation.name}_{derivative}", lambda t: spec.sympy_forward(t, alpha), slope)


def slope_function(activation: Activation):
    """A sympy Function valued by the registry's closed-form ``f'`` of an elementwise activation
    (cached): the closed forms of large networks are built from it without sympy evaluating
    the rule (and its assumptions) on every net input's whole expression."""
    spec, alpha = activation.spec, activation.symbolic_alpha()
    rule = lambda t: spec.sympy_derivative(t, alpha)
    return _function((spec, activation.alpha, "slope"), f"{activation.name}_slope", rule, lambda t: sp.diff(rule(t), t))


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
