"""The built-in losses' curvature rules, JAX and sympy side by side: a factor ``S`` of each example's
Hessian in the loss's input (``S S^T = d^2 L_i/da^2``), and a sampler of targets from the model's
predictive distribution (Monte Carlo curvature). :mod:`funcmlp.registry.loss_rules` puts them in its entries.

Contract::

    <loss>_factor(a, y[, delta])         -> (B, d, C)   JAX, in a's dtype     (C = d for every built-in)
    sympy_<loss>_factor(a, y[, delta])   -> d rows of C sympy expressions, for lists a, y of one example
    sample_<distribution>(key, a)        -> (B, d)      JAX, targets drawn at outputs a, in a's dtype
    autodiff_hessian_factor(value)       -> (a, y, *parameter) -> (B, d, d): jax.hessian, then eigh

Each loss is the negative log-likelihood (up to a constant) of the distribution its sampler draws from,
so the expected outer product of the gradient at a drawn target is the expected Hessian (the Fisher,
which for these losses is the GGN). The squared errors are Gaussians of mean ``a``: ``sse`` of variance
1/2, ``half_sse`` 1, ``mse`` ``d/2``; on logits, Bernoulli(sigmoid(z)) per unit and one-hot
Categorical(softmax(z)); on probabilities Bernoulli(a) and Categorical(a); ``poisson`` Poisson(exp(a)).
Kinks: ``huber``'s factor is 1 where ``|a - y| <= delta`` (the quadratic side, as its gradient) and 0
beyond; ``absolute_error`` and ``hinge`` are piecewise linear, their factor 0 (a kink's Dirac delta left
out, as the hard limits' derivative). Imports the registry's activation rules (``largest``) only.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from funcmlp.registry.activation_rules import largest
from funcmlp.registry.lazy_sympy import sp

Array = jax.Array


def _diagonal(v: Array) -> Array:
    """``(B, d) -> (B, d, d)``, ``v`` on each diagonal (a where, not a product: an infinite entry stays alone)."""
    return jnp.where(jnp.eye(v.shape[-1], dtype=bool), v[..., None, :], jnp.zeros((), v.dtype))


def _over(y: Array, b: Array) -> Array:
    """``y / b``, 0 where ``y = 0`` (whatever ``b``): the ``0 log 0 = 0`` of the cross-entropies, differentiated."""
    return jnp.where(y == 0, 0, y / jnp.where(y == 0, 1, b))


def sse_factor(a: Array, y: Array) -> Array:
    """``sqrt(2) I``: the Hessian of ``sum_j (y_j - a_j)^2`` is ``2 I``. ``(B, d) -> (B, d, d)``.

    Example:
        >>> (sse_factor(jnp.zeros((1, 2)), jnp.ones((1, 2))) ** 2).round(12).tolist()
        [[[2.0, 0.0], [0.0, 2.0]]]
    """
    return _diagonal(jnp.full_like(a, math.sqrt(2.0)))


def half_sse_factor(a: Array, y: Array) -> Array:
    """``I``: the Hessian of ``1/2 sum_j (y_j - a_j)^2``."""
    return _diagonal(jnp.ones_like(a))


def mse_factor(a: Array, y: Array) -> Array:
    """``sqrt(2/d) I``: the Hessian of ``1/d sum_j (y_j - a_j)^2`` is ``2/d I``."""
    return _diagonal(jnp.full_like(a, math.sqrt(2.0 / a.shape[-1])))


def sigmoid_binary_cross_entropy_factor(z: Array, y: Array) -> Array:
    """``diag(sqrt(p (1 - p)))``, ``p = sigmoid(z)``, written ``sigmoid(z) sigmoid(-z)`` (no cancellation at
    saturated logits); the same for every target in [0, 1]."""
    return _diagonal(jnp.sqrt(jax.nn.sigmoid(z) * jax.nn.sigmoid(-z)))


def softmax_cross_entropy_factor(z: Array, y: Array) -> Array:
    """``sqrt(t) (diag(sqrt p) - p sqrt(p)^T)``, ``p = softmax(z)``, ``t = sum_j y_j``: its product with its
    transpose is ``t (diag p - p p^T)``, the Hessian for every target row (``t = 1`` for a one-hot row).
    Entry ``(i, c)`` is ``sqrt(t p_c) (delta_ic - p_i)``; at the largest logit ``1 - p_c`` is the sum of the
    other ``p`` (no cancellation where ``p_c`` rounds to 1). ``(B, d) -> (B, d, d)``.

    Example (two classes at equal logits: ``p = (1/2, 1/2)``):
        >>> softmax_cross_entropy_factor(jnp.zeros((1, 2)), jnp.array([[0.0, 1.0]])).round(6).tolist()
        [[[0.353553, -0.353553], [-0.353553, 0.353553]]]
    """
    p = jax.nn.softmax(z, axis=-1)
    top = largest(z)
    complement = jnp.where(top, jnp.sum(jnp.where(top, 0, p), axis=-1, keepdims=True), 1 - p)
    root = jnp.sqrt(p)
    eye = jnp.eye(z.shape[-1], dtype=bool)
    factor = jnp.where(eye, (root * complement)[..., None, :], -p[..., :, None] * root[..., None, :])
    return jnp.sqrt(jnp.sum(y, axis=-1))[..., None, None].astype(z.dtype) * factor


def binary_cross_entropy_factor(a: Array, y: Array) -> Array:
    """``diag(sqrt(y / a^2 + (1 - y) / (1 - a)^2))`` on probabilities ``a`` (each term 0 where its weight is 0)."""
    return _diagonal(jnp.sqrt(_over(y, a * a) + _over(1 - y, (1 - a) * (1 - a))))


def cross_entropy_factor(a: Array, y: Array) -> Array:
    """``diag(sqrt(y) / a)`` on probabilities ``a``: the Hessian of ``-sum_j y_j log a_j`` is ``diag(y / a^2)``."""
    return _diagonal(_over(jnp.sqrt(y), a))


def huber_factor(a: Array, y: Array, delta: float) -> Array:
    """``diag(1 where |a - y| <= delta else 0)``: 1 on the quadratic side, the edge included (as the gradient)."""
    return _diagonal(jnp.where(jnp.abs(a - y) <= delta, 1.0, 0.0).astype(a.dtype))


def zero_factor(a: Array, y: Array) -> Array:
    """``d x d`` zeros: a piecewise-linear loss (``absolute_error``, ``hinge``), 0 at its kinks too."""
    return jnp.zeros(a.shape + a.shape[-1:], a.dtype)


def poisson_factor(a: Array, y: Array) -> Array:
    """``diag(exp(a / 2))``: the Hessian of ``sum_j exp(a_j) - y_j a_j`` is ``diag(exp(a))``."""
    return _diagonal(jnp.exp(a / 2))


def _sympy_diagonal(values: list) -> list:
    return [[v if i == j else sp.Integer(0) for j in range(len(values))] for i, v in enumerate(values)]


def _sympy_sigmoid(z):
    return 1 / (1 + sp.exp(-z))


def sympy_sse_factor(a, y):
    return _sympy_diagonal([sp.sqrt(2)] * len(a))


def sympy_half_sse_factor(a, y):
    return _sympy_diagonal([sp.Integer(1)] * len(a))


def sympy_mse_factor(a, y):
    return _sympy_diagonal([sp.sqrt(sp.Rational(2, len(a)))] * len(a))


def sympy_sigmoid_binary_cross_entropy_factor(z, y):
    return _sympy_diagonal([sp.sqrt(_sympy_sigmoid(zj) * (1 - _sympy_sigmoid(zj))) for zj in z])


def sympy_softmax_cross_entropy_factor(z, y):
    total = sp.Add(*[sp.exp(zj) for zj in z])
    p = [sp.exp(zj) / total for zj in z]
    scale = sp.sqrt(sp.Add(*y))
    return [[scale * sp.sqrt(pc) * ((1 if i == c else 0) - pi) for c, pc in enumerate(p)] for i, pi in enumerate(p)]


def sympy_binary_cross_entropy_factor(a, y):
    return _sympy_diagonal([sp.sqrt(yj / aj**2 + (1 - yj) / (1 - aj) ** 2) for aj, yj in zip(a, y, strict=True)])


def sympy_cross_entropy_factor(a, y):
    return _sympy_diagonal([sp.sqrt(yj) / aj for aj, yj in zip(a, y, strict=True)])


def sympy_huber_factor(a, y, delta):
    return _sympy_diagonal(
        [sp.Piecewise((1, sp.Abs(aj - yj) <= delta), (0, True)) for aj, yj in zip(a, y, strict=True)]
    )


def sympy_zero_factor(a, y):
    return _sympy_diagonal([sp.Integer(0)] * len(a))


def sympy_poisson_factor(a, y):
    return _sympy_diagonal([sp.exp(aj / 2) for aj in a])


def sample_sse(key, a: Array) -> Array:
    """``a + N(0, 1/2)`` per unit: ``sum_j (y_j - a_j)^2`` is ``-log N(y; a, I/2)`` up to a constant."""
    return a + math.sqrt(0.5) * jax.random.normal(key, a.shape, a.dtype)


def sample_half_sse(key, a: Array) -> Array:
    """``a + N(0, 1)`` per unit: ``1/2 sum_j (y_j - a_j)^2`` is ``-log N(y; a, I)`` up to a constant."""
    return a + jax.random.normal(key, a.shape, a.dtype)


def sample_mse(key, a: Array) -> Array:
    """``a + N(0, d/2)`` per unit: ``1/d sum_j (y_j - a_j)^2`` is ``-log N(y; a, d/2 I)`` up to a constant."""
    return a + math.sqrt(a.shape[-1] / 2) * jax.random.normal(key, a.shape, a.dtype)


def sample_bernoulli_logits(key, z: Array) -> Array:
    """0/1 targets, Bernoulli(sigmoid(z)) per unit, ``(B, d)`` in ``z``'s dtype."""
    return jax.random.bernoulli(key, jax.nn.sigmoid(z)).astype(z.dtype)


def sample_categorical_logits(key, z: Array) -> Array:
    """One-hot rows, the class drawn from Categorical(softmax(z)), ``(B, d)`` in ``z``'s dtype. Their
    gradients' outer products average to ``diag p - p p^T``, the Hessian at a target row summing to 1;
    for a row summing to ``t`` the Hessian is ``t`` times that (the curvature core scales by ``sqrt(t)``)."""
    return jax.nn.one_hot(jax.random.categorical(key, z, axis=-1), z.shape[-1], dtype=z.dtype)


def sample_bernoulli(key, a: Array) -> Array:
    """0/1 targets, Bernoulli(a) per unit, on probabilities ``a``."""
    return jax.random.bernoulli(key, a).astype(a.dtype)


def sample_categorical(key, a: Array) -> Array:
    """One-hot rows drawn from Categorical(a), on probabilities ``a`` (rows summing to 1)."""
    return jax.nn.one_hot(jax.random.categorical(key, jnp.log(a), axis=-1), a.shape[-1], dtype=a.dtype)


def sample_poisson(key, a: Array) -> Array:
    """Counts drawn from Poisson(exp(a)) per unit (``a`` the log of the rate), in ``a``'s dtype."""
    return jax.random.poisson(key, jnp.exp(a), a.shape).astype(a.dtype)


def autodiff_hessian_factor(value: Callable) -> Callable:
    """``(a, y, *parameter) -> (B, d, d)``: a factor of each example's Hessian of ``value`` in ``a``, for a
    loss registered without one: ``jax.hessian`` of the example's loss, symmetrized, then its symmetric
    eigendecomposition ``Q diag(lambda) Q^T``, columns ``Q sqrt(lambda)``. Rounding's small negative
    eigenvalues (within ``64 d eps max|lambda|``) count as 0; where an eigenvalue is clearly negative the loss
    is not convex there and the Hessian has no real factor (the GGN is not its square): that column is NaN,
    so whatever is computed from it shows it.

    Example:
        >>> factor = autodiff_hessian_factor(lambda a, y: jnp.sum((a - y) ** 2, axis=-1))
        >>> S = factor(jnp.array([[1.0, 2.0]]), jnp.zeros((1, 2)))
        >>> (S @ jnp.swapaxes(S, -1, -2)).round(12).tolist()
        [[[2.0, 0.0], [0.0, 2.0]]]
        >>> bool(jnp.isnan(autodiff_hessian_factor(lambda a, y: -jnp.sum(a**2, axis=-1))(S[0], S[0])).all())
        True
    """

    def hessian_factor(a, y, *parameter):
        def one(ai, yi):
            return value(ai[None], yi[None], *parameter)[0]

        hessian = jax.vmap(jax.hessian(one))(a, y)
        eigenvalues, Q = jnp.linalg.eigh((hessian + jnp.swapaxes(hessian, -1, -2)) / 2)
        largest_size = jnp.max(jnp.abs(eigenvalues), axis=-1, keepdims=True)
        negative = eigenvalues < -64 * a.shape[-1] * jnp.finfo(a.dtype).eps * largest_size
        root = jnp.where(negative, jnp.nan, jnp.sqrt(jnp.maximum(eigenvalues, 0)))
        return Q * root[..., None, :]

    return hessian_factor
