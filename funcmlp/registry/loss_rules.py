"""The built-in losses: each one's JAX and sympy forms, written once, as registry entries.

Contract: ``BUILTIN``, the :class:`~funcmlp.registry.loss_spec.LossSpec` entries
:mod:`funcmlp.registry.loss_registry` starts from; their curvature rules (Hessian factors, samplers) are
:mod:`funcmlp.registry.loss_curvature_rules`. See :mod:`funcmlp.registry.losses` for what each loss
computes and accepts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import xlog1py, xlogy

from funcmlp.registry import loss_curvature_rules as curvature
from funcmlp.registry.activations import ACTIVATIONS, largest, sp
from funcmlp.registry.loss_spec import LossSpec

Array = jax.Array


def _sum_squares(a, y):
    return sp.Add(*[(yj - aj) ** 2 for aj, yj in zip(a, y, strict=True)])


def _sympy_sigmoid(z):
    return ACTIVATIONS["sigmoid"].sympy_forward(z, None)


def _sympy_sigmoid_bce(z, y):
    return -sp.Add(
        *[
            yj * sp.log(_sympy_sigmoid(zj)) + (1 - yj) * sp.log(1 - _sympy_sigmoid(zj))
            for zj, yj in zip(z, y, strict=True)
        ]
    )


def _sympy_softmax_ce(z, y):
    log_total = sp.log(sp.Add(*[sp.exp(zj) for zj in z]))
    return -sp.Add(*[yj * (zj - log_total) for zj, yj in zip(z, y, strict=True)])


def _sympy_softmax_ce_gradient(z, y):
    total = sp.Add(*[sp.exp(zj) for zj in z])
    return [sp.exp(zj) / total * sp.Add(*y) - yj for zj, yj in zip(z, y, strict=True)]


def _sigmoid_binary_cross_entropy_gradient(z, y):
    # sigmoid(z) - y written as (1 - y) sigmoid(z) - y sigmoid(-z): the same number, without the
    # cancellation of sigmoid(z) - 1 at saturated z (float32 gives 0 there, true -sigmoid(-z))
    return (1 - y) * jax.nn.sigmoid(z) - y * jax.nn.sigmoid(-z)


def _log_softmax(z):
    # log p_j = (z_j - z_m) - log1p(sum_{k != m} exp(z_k - z_m)), m the largest logit: log1p keeps the
    # digits of log p_m = -log(1 + small) that jax.nn.log_softmax's log(sum) rounds away (a loss of
    # 8e-5 came out 1e-12 wrong in float64; hypothesis found it against 50-digit arithmetic)
    # (the largest entry's z_m - z_m as an exact 0 without a gradient path: jax.grad, gradient="autodiff",
    # would otherwise add adjoints +1 and -1 there before the tiny one of log1p, and lose it)
    top = largest(z)
    shifted = jnp.where(top, 0, z - jnp.sum(jnp.where(top, z, 0), axis=-1, keepdims=True))
    return shifted - jnp.log1p(
        jnp.sum(jnp.where(top, 0, jnp.exp(jnp.where(top, -jnp.inf, shifted))), axis=-1, keepdims=True)
    )


def _softmax_cross_entropy_gradient(z, y):
    # p S - y with S = sum_j y_j: the gradient for every target row (p - y only when S = 1).
    # At the largest logit, when its p_j is past 1/2 and can round to 1, it is written
    # (S - y_j) - S (1 - p_j) with both differences summed over the other classes (each sum < 1/2):
    # no cancellation. Below 1/2 the plain p S - y is the more accurate (the sums over the others
    # would be near 1 and cancel), e.g. at a near-uniform softmax
    p = jax.nn.softmax(z, axis=-1)
    top = largest(z) & (p > 0.5)
    total = jnp.sum(y, axis=-1, keepdims=True)
    others_p = jnp.sum(jnp.where(top, 0, p), axis=-1, keepdims=True)
    others_y = jnp.sum(jnp.where(top, 0, y), axis=-1, keepdims=True)
    return jnp.where(top, others_y - total * others_p, p * total - y)


def _huber(a, y, delta):
    r = jnp.abs(a - y)
    return jnp.sum(jnp.where(r <= delta, 0.5 * r**2, delta * (r - 0.5 * delta)), axis=-1)


def _sympy_huber(a, y, delta):
    return sp.Add(
        *[
            sp.Piecewise(((aj - yj) ** 2 / 2, sp.Abs(aj - yj) <= delta), (delta * (sp.Abs(aj - yj) - delta / 2), True))
            for aj, yj in zip(a, y, strict=True)
        ]
    )


def _sign(y):
    """The margin's sign s = 2y - 1 of a label y in {0, 1}: -1 or +1."""
    return 2 * y - 1


def _sympy_hinge(a, y):
    # written as a Piecewise, not Max(0, 1 - s a): sympy.diff of Max gives a Heaviside whose value at 0 is 1/2
    return sp.Add(
        *[sp.Piecewise((1 - _sign(yj) * aj, _sign(yj) * aj < 1), (0, True)) for aj, yj in zip(a, y, strict=True)]
    )


BUILTIN = (
    LossSpec(
        "sse",
        lambda a, y: jnp.sum((y - a) ** 2, axis=-1),
        lambda a, y: -2 * (y - a),
        "real",
        sympy_value=_sum_squares,
        sympy_gradient=lambda a, y: [-2 * (yj - aj) for aj, yj in zip(a, y, strict=True)],
        description="sum_j (y_j - a_j)^2 (seed 003 eq. 11)",
        hessian_factor=curvature.sse_factor,
        sympy_hessian_factor=curvature.sympy_sse_factor,
        sample=curvature.sample_sse,
    ),
    LossSpec(
        "half_sse",
        lambda a, y: 0.5 * jnp.sum((y - a) ** 2, axis=-1),
        lambda a, y: -(y - a),
        "real",
        sympy_value=lambda a, y: sp.Rational(1, 2) * _sum_squares(a, y),
        sympy_gradient=lambda a, y: [-(yj - aj) for aj, yj in zip(a, y, strict=True)],
        description="1/2 sum_j (y_j - a_j)^2 (seed 000 eq. 16)",
        hessian_factor=curvature.half_sse_factor,
        sympy_hessian_factor=curvature.sympy_half_sse_factor,
        sample=curvature.sample_half_sse,
    ),
    LossSpec(
        "mse",
        lambda a, y: jnp.mean((y - a) ** 2, axis=-1),
        lambda a, y: -2 * (y - a) / a.shape[-1],
        "real",
        sympy_value=lambda a, y: _sum_squares(a, y) / len(a),
        sympy_gradient=lambda a, y: [-2 * (yj - aj) / len(a) for aj, yj in zip(a, y, strict=True)],
        description="1/d sum_j (y_j - a_j)^2, the mean over output units (seed 002)",
        hessian_factor=curvature.mse_factor,
        sympy_hessian_factor=curvature.sympy_mse_factor,
        sample=curvature.sample_mse,
    ),
    LossSpec(
        "sigmoid_binary_cross_entropy",
        lambda z, y: -jnp.sum(y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z), axis=-1),
        _sigmoid_binary_cross_entropy_gradient,
        "probability",
        takes="logits",
        sympy_value=_sympy_sigmoid_bce,
        sympy_gradient=lambda z, y: [_sympy_sigmoid(zj) - yj for zj, yj in zip(z, y, strict=True)],
        description="binary cross-entropy of sigmoid(z) computed on the logits z",
        hessian_factor=curvature.sigmoid_binary_cross_entropy_factor,
        sympy_hessian_factor=curvature.sympy_sigmoid_binary_cross_entropy_factor,
        sample=curvature.sample_bernoulli_logits,
    ),
    LossSpec(
        "softmax_cross_entropy",
        lambda z, y: -jnp.sum(y * _log_softmax(z), axis=-1),
        _softmax_cross_entropy_gradient,
        "class",
        takes="logits",
        min_units=2,
        sympy_value=_sympy_softmax_ce,
        sympy_gradient=_sympy_softmax_ce_gradient,
        description="cross-entropy of softmax(z) computed on the logits z",
        hessian_factor=curvature.softmax_cross_entropy_factor,
        sympy_hessian_factor=curvature.sympy_softmax_cross_entropy_factor,
        sample=curvature.sample_categorical_logits,
    ),
    LossSpec(
        "binary_cross_entropy",
        lambda a, y: -jnp.sum(xlogy(y, a) + xlog1py(1 - y, -a), axis=-1),
        lambda a, y: (a - y) / (a * (1 - a)),
        "probability",
        takes="probabilities",
        paired={"sigmoid": "sigmoid_binary_cross_entropy"},
        sympy_value=lambda a, y: (
            -sp.Add(*[yj * sp.log(aj) + (1 - yj) * sp.log(1 - aj) for aj, yj in zip(a, y, strict=True)])
        ),
        sympy_gradient=lambda a, y: [(aj - yj) / (aj * (1 - aj)) for aj, yj in zip(a, y, strict=True)],
        description="-sum_j y_j log a_j + (1 - y_j) log(1 - a_j) on a sigmoid output",
        hessian_factor=curvature.binary_cross_entropy_factor,
        sympy_hessian_factor=curvature.sympy_binary_cross_entropy_factor,
        sample=curvature.sample_bernoulli,
    ),
    LossSpec(
        "cross_entropy",
        lambda a, y: -jnp.sum(xlogy(y, a), axis=-1),
        lambda a, y: -y / a,
        "class",
        takes="probabilities",
        min_units=2,
        paired={"softmax": "softmax_cross_entropy"},
        sympy_value=lambda a, y: -sp.Add(*[yj * sp.log(aj) for aj, yj in zip(a, y, strict=True)]),
        sympy_gradient=lambda a, y: [-yj / aj for aj, yj in zip(a, y, strict=True)],
        description="-sum_j y_j log a_j on a softmax output",
        hessian_factor=curvature.cross_entropy_factor,
        sympy_hessian_factor=curvature.sympy_cross_entropy_factor,
        sample=curvature.sample_categorical,
    ),
    LossSpec(
        "huber",
        _huber,
        lambda a, y, delta: jnp.clip(a - y, -delta, delta),
        "real",
        sympy_value=_sympy_huber,
        sympy_gradient=lambda a, y, delta: [
            sp.Piecewise((aj - yj, sp.Abs(aj - yj) <= delta), (delta * sp.sign(aj - yj), True))
            for aj, yj in zip(a, y, strict=True)
        ],
        parameter="delta",
        default_parameter=1.0,
        description="sum_j 1/2 r_j^2 where |r_j| <= delta, else delta (|r_j| - delta/2); r = a - y",
        hessian_factor=curvature.huber_factor,
        sympy_hessian_factor=curvature.sympy_huber_factor,
    ),
    LossSpec(
        "absolute_error",
        # r sign(r): jax.grad of it is sign(r), 0 at r = 0 as the closed form (jax.grad of |r| gives 1 there)
        lambda a, y: jnp.sum((a - y) * jnp.sign(a - y), axis=-1),
        lambda a, y: jnp.sign(a - y),
        "real",
        sympy_value=lambda a, y: sp.Add(*[sp.Abs(aj - yj) for aj, yj in zip(a, y, strict=True)]),
        sympy_gradient=lambda a, y: [sp.sign(aj - yj) for aj, yj in zip(a, y, strict=True)],
        convention="dL/da_j = sign(a_j - y_j), 0 where a_j = y_j (the subgradient of least size)",
        description="sum_j |a_j - y_j|",
        hessian_factor=curvature.zero_factor,
        sympy_hessian_factor=curvature.sympy_zero_factor,
    ),
    LossSpec(
        "poisson",
        lambda a, y: jnp.sum(jnp.exp(a) - y * a, axis=-1),
        lambda a, y: jnp.exp(a) - y,
        "nonnegative",
        sympy_value=lambda a, y: sp.Add(*[sp.exp(aj) - yj * aj for aj, yj in zip(a, y, strict=True)]),
        sympy_gradient=lambda a, y: [sp.exp(aj) - yj for aj, yj in zip(a, y, strict=True)],
        mean=jnp.exp,
        description="sum_j exp(a_j) - y_j a_j: the Poisson negative log-likelihood of the rate exp(a), "
        "without the constant log(y_j!)",
        hessian_factor=curvature.poisson_factor,
        sympy_hessian_factor=curvature.sympy_poisson_factor,
        sample=curvature.sample_poisson,
    ),
    LossSpec(
        "hinge",
        # a where, not jnp.maximum: jax.grad then gives 0 at the kink s a = 1 as the closed form (maximum splits a tie)
        lambda a, y: jnp.sum(jnp.where(_sign(y) * a < 1, 1 - _sign(y) * a, 0), axis=-1),
        lambda a, y: jnp.where(_sign(y) * a < 1, -_sign(y), 0),
        "binary",
        takes="scores",
        sympy_value=_sympy_hinge,
        sympy_gradient=lambda a, y: [
            sp.Piecewise((-_sign(yj), _sign(yj) * aj < 1), (0, True)) for aj, yj in zip(a, y, strict=True)
        ],
        convention="dL/da_j = -s_j where the margin s_j a_j < 1, 0 where it is 1 or more (the kink included)",
        description="sum_j max(0, 1 - s_j a_j) with s_j = 2 y_j - 1 for labels y_j in {0, 1}",
        hessian_factor=curvature.zero_factor,
        sympy_hessian_factor=curvature.sympy_zero_factor,
    ),
)
