"""Reverse accumulation over a sympy expression graph at a numeric point, in mpmath: each
unique subexpression visited once, each local derivative sympy's (sums, products, powers, and
``sympy.diff`` of each function). What :func:`derivations.proofs.chain.check_graph` differentiates the
composed loss with: it knows nothing of layers, sensitivities or the engine.

Contract: expressions of sympy symbols, numbers, Add/Mul/Pow, Piecewise (differentiated
through the branch taken at the point) and one-argument functions (log, exp, Abs, the
activations' sympy Functions of :mod:`derivations.model.symbolic`) in; mpmath numbers out, at
mpmath's working precision.

Example:
    >>> import mpmath
    >>> a, b = sp.symbols("a b")
    >>> [mpmath.nstr(v, 6) for v in reverse_gradient(a * b + sp.exp(a), [a, b], {a: mpmath.mpf(0), b: mpmath.mpf(2)})]
    ['3.0', '0.0']
"""

from __future__ import annotations

import operator

import mpmath
import sympy as sp
from sympy.functions.elementary.piecewise import ExprCondPair

from derivations.model.symbolic import NUMERIC


def postorder(roots) -> list:
    """Unique subexpressions of ``roots``, each after all of its arguments."""
    order, seen = [], set()
    stack = [(root, False) for root in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((arg, False) for arg in node.args if arg not in seen)
    return order


_DERIVATIVES: dict = {}


def _derivative_rule(func):
    """sympy's derivative of a one-argument function, as an mpmath function (cached per function)."""
    if func not in _DERIVATIVES:
        t = sp.Dummy("t", real=True)
        _DERIVATIVES[func] = sp.lambdify(t, sp.diff(func(t), t), modules=[NUMERIC["mpmath"], "mpmath"])
    return _DERIVATIVES[func]


_VALUES: dict = {}


def _function_value(node, x):
    """Value of a function node at its first argument ``x``; further arguments must be numbers
    (as the 0 of Heaviside(n, 0))."""
    key = (node.func, node.args[1:])
    if key not in _VALUES:
        t = sp.Dummy("t", real=True)
        _VALUES[key] = sp.lambdify(t, node.func(t, *node.args[1:]), modules=[NUMERIC["mpmath"], "mpmath"])
    return _VALUES[key](x)


_RELATIONS = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}


def values_at(order, env) -> dict:
    value = {}
    for node in order:
        if node.is_Symbol:
            value[node] = env[node]
        elif node.is_Number:
            value[node] = mpmath.mpf(node.p) / node.q if node.is_Rational else mpmath.mpf(str(node))
        elif node.is_NumberSymbol:  # pi, E
            value[node] = mpmath.mpf(str(node.evalf(mpmath.mp.dps + 10)))
        elif node.is_Add:
            value[node] = mpmath.fsum(value[a] for a in node.args)
        elif node.is_Mul:
            value[node] = mpmath.fprod(value[a] for a in node.args)
        elif node.is_Pow:
            value[node] = value[node.args[0]] ** value[node.args[1]]
        elif node in (sp.true, sp.false):  # conditions of a Piecewise (kinked closed forms)
            value[node] = bool(node)
        elif node.is_Relational:
            value[node] = _RELATIONS[node.rel_op](value[node.lhs], value[node.rhs])
        elif isinstance(node, ExprCondPair):
            value[node] = (value[node.expr], value[node.cond])
        elif isinstance(node, sp.Piecewise):
            value[node] = next(expr for expr, condition in (value[pair] for pair in node.args) if condition)
        elif isinstance(node, sp.Function) and all(a.is_Number for a in node.args[1:]):
            value[node] = _function_value(node, value[node.args[0]])
        else:
            raise ValueError(f"the graph evaluator does not handle {type(node).__name__} nodes ({node})")
    return value


def reverse_gradient(expr, params, env) -> list:
    """d expr / d p for every p in ``params`` at the point ``env`` (symbol -> mpf): reverse
    accumulation over the unique subexpressions of ``expr``, each local derivative by sympy
    (sums, products, powers, and sympy.diff of each function)."""
    order = postorder([expr])
    adjoint = adjoints(expr, order, values_at(order, env))
    return [adjoint.get(p, mpmath.mpf(0)) for p in params]


def adjoints(expr, order: list, value: dict) -> dict:
    """{subexpression: d expr / d subexpression} over ``order`` (:func:`postorder` of ``expr``)
    at the point whose :func:`values_at` is ``value``; a subexpression that ``expr`` does not
    depend on through a derivative (a Piecewise condition, a number) has none."""
    adjoint = {expr: mpmath.mpf(1)}
    for node in reversed(order):
        bar = adjoint.get(node)
        if bar is None or node.is_Atom:
            continue
        args = node.args
        if isinstance(node, ExprCondPair):  # to the branch's expression; a condition has no derivative
            adjoint[node.expr] = adjoint.get(node.expr, mpmath.mpf(0)) + bar
            continue
        if isinstance(node, sp.Piecewise):  # to the branch taken at this point (kinked losses: Huber, hinge)
            taken = next(pair for pair in args if value[pair][1])
            adjoint[taken] = adjoint.get(taken, mpmath.mpf(0)) + bar
            continue
        if node.is_Add:
            local = [mpmath.mpf(1)] * len(args)
        elif node.is_Mul:
            values = [value[a] for a in args]
            local = [mpmath.fprod(values[:i] + values[i + 1 :]) for i in range(len(args))]
        elif node.is_Pow:
            base, exponent = args
            if exponent.free_symbols:
                raise ValueError(f"the graph evaluator needs numeric exponents, got {node}")
            local = [value[exponent] * value[base] ** (value[exponent] - 1), mpmath.mpf(0)]
        else:
            local = [_derivative_rule(node.func)(value[args[0]])]
        for arg, d in zip(args, local, strict=True):
            if not arg.is_Number:
                adjoint[arg] = adjoint.get(arg, mpmath.mpf(0)) + bar * d
    return adjoint
