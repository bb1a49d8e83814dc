"""Second derivatives of the elementwise activations, JAX and sympy side by side: the ``F''(n)`` of the
Hessian's diagonal (``diag(g * F''(n))``, :meth:`funcmlp.registry.activations.Activation.second_derivative`).

Contract::

    zero, sigmoid_second, tanh_second, softplus_second, elu_second, gelu_second    (n, alpha) -> f''(n), JAX
    sympy_zero, sympy_sigmoid_second, ..., sympy_gelu_second                        (x, alpha) -> sympy expression
    autodiff_second_derivative(derivative)          -> (n, alpha) -> f''(n): jax.grad of f', elementwise
    symbolic_second_derivative(sympy_derivative)    -> (x, alpha) -> f''(x): sympy.diff of f'

The JAX forms keep ``n``'s shape and dtype. At a kink ``f''`` is the one-sided value on the side whose
``f'`` is taken there (relu and leaky_relu: the left, 0; elu: the right, 0): where ``f'`` is piecewise
constant ``f''`` is 0, and the hard limits' 0 leaves out the jump's Dirac delta, as their ``f'`` does.
Written for accuracy where ``f''`` is small: ``1 - 2 sigmoid(n)`` is ``-tanh(n/2)`` (no cancellation
near 0), ``sigmoid (1 - sigmoid)`` is ``sigmoid(n) sigmoid(-n)``. Imports nothing of funcmlp's but
:mod:`funcmlp.registry.lazy_sympy`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from funcmlp.registry.lazy_sympy import sp

Array = jax.Array
_SQRT2PI = math.sqrt(2.0 * math.pi)


def zero(n: Array, alpha=None) -> Array:
    """``f'' = 0`` (identity, the hard limits, relu, leaky_relu: piecewise linear), ``n``'s shape and dtype."""
    return jnp.zeros_like(n)


def sigmoid_second(n: Array, alpha=None) -> Array:
    """``s (1 - s) (1 - 2 s)`` with ``s = sigmoid(n)``, written ``-sigmoid(n) sigmoid(-n) tanh(n / 2)``.

    Example:
        >>> round(float(sigmoid_second(jnp.array(1.0))), 9)
        -0.090857748
    """
    return -jax.nn.sigmoid(n) * jax.nn.sigmoid(-n) * jnp.tanh(n / 2)


def tanh_second(n: Array, alpha=None) -> Array:
    """``-2 tanh(n) (1 - tanh(n)^2)``, written ``-2 tanh(n) sech(n)^2`` (no cancellation at large ``|n|``)."""
    return -2 * jnp.tanh(n) * jnp.square(1 / jnp.cosh(n))


def softplus_second(n: Array, alpha=None) -> Array:
    """``sigmoid'(n) = sigmoid(n) sigmoid(-n)``: softplus' derivative is the sigmoid."""
    return jax.nn.sigmoid(n) * jax.nn.sigmoid(-n)


def elu_second(n: Array, alpha) -> Array:
    """``0`` where ``n >= 0`` (the right-hand side, as ``elu'(0) = 1``), ``alpha exp(n)`` below."""
    return jnp.where(n >= 0, 0.0, alpha * jnp.exp(jnp.minimum(n, 0.0))).astype(n.dtype)


def gelu_second(n: Array, alpha=None) -> Array:
    """``d/dn (Phi(n) + n phi(n)) = phi(n) (2 - n^2)``, ``phi`` the standard normal density."""
    return jnp.exp(-0.5 * n * n) / _SQRT2PI * (2 - n * n)


def _sigmoid(x):
    return 1 / (1 + sp.exp(-x))


def sympy_zero(x, alpha=None):
    return sp.Integer(0)


def sympy_sigmoid_second(x, alpha=None):
    return _sigmoid(x) * (1 - _sigmoid(x)) * (1 - 2 * _sigmoid(x))


def sympy_tanh_second(x, alpha=None):
    return -2 * sp.tanh(x) * (1 - sp.tanh(x) ** 2)


def sympy_softplus_second(x, alpha=None):
    return _sigmoid(x) * (1 - _sigmoid(x))


def sympy_elu_second(x, alpha):
    return sp.Piecewise((0, x >= 0), (alpha * sp.exp(x), True))


def sympy_gelu_second(x, alpha=None):
    return sp.exp(-(x**2) / 2) * (2 - x**2) / sp.sqrt(2 * sp.pi)


def autodiff_second_derivative(derivative: Callable) -> Callable:
    """``(n, alpha) -> f''(n)`` by ``jax.grad`` of ``derivative`` at each entry of ``n`` (``jnp.vectorize``):
    the second derivative of an activation registered without one. At a kink it is the derivative of the
    branch ``derivative`` takes there.

    Example:
        >>> cube = autodiff_second_derivative(lambda n, alpha: 3 * n**2)
        >>> cube(jnp.array([[1.0, -2.0]]), None).tolist()
        [[6.0, -12.0]]
    """

    def second_derivative(n, alpha):
        return jnp.vectorize(jax.grad(lambda t: derivative(t, alpha)))(n)

    return second_derivative


def symbolic_second_derivative(sympy_derivative: Callable) -> Callable:
    """``(x, alpha) -> f''(x)``: ``sympy.diff`` of ``sympy_derivative``, the sympy form of an activation
    registered without one.

    Example:
        >>> import sympy
        >>> x = sympy.Symbol("x")
        >>> symbolic_second_derivative(lambda t, alpha: 3 * t**2)(x, None)
        6*x
    """

    def sympy_second_derivative(x, alpha):
        t = sp.Dummy("t", real=True)
        return sp.diff(sympy_derivative(t, alpha), t).subs(t, x)

    return sympy_second_derivative
