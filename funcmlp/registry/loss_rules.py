"""The built-in losses: each one's JAX and sympy forms, written once, as registry entries.

Contract: :class:`LossSpec` (one loss's definition) and ``BUILTIN`` (the entries
:mod:`funcmlp.registry.losses` starts from). See :mod:`funcmlp.registry.losses` for what each
loss computes and accepts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
from jax.scipy.special import xlog1py, xlogy

from funcmlp.registry.activations import ACTIVATIONS, largest, sp

Array = jax.Array


@dataclass(frozen=True, eq=False)
class LossSpec:
    """One loss's definition: JAX forms for funcmlp, sympy forms for derivations.

    Attributes:
        name: registry name.
        value: ``(a, y) -> (batch,)`` per-example loss, JAX.
        gradient: ``(a, y) -> (batch, d)`` closed-form ``dL_i/da_i``, JAX.
        targets: ``"real"`` (any finite number), ``"probability"`` (in [0, 1]) or
            ``"class"`` (integer labels, or rows in [0, 1]).
        takes: ``"outputs"`` (any output activation), ``"logits"`` (no probability
            output), or ``"probabilities"`` (only the output activations in ``paired``).
        paired: output activation -> the logits loss this loss equals on ``n^L``; its
            value and closed-form gradient are then evaluated on ``n^L``.
        min_units: fewest output units it makes sense with.
        sympy_value: ``(list of a, list of y) -> sympy expression``.
        sympy_gradient: ``(list of a, list of y) -> list``, the closed form of ``dL/da``.
        description: one line for listings.
    """

    name: str
    value: Callable
    gradient: Callable
    targets: str
    sympy_value: Callable
    sympy_gradient: Callable
    takes: str = "outputs"
    paired: dict = field(default_factory=dict)
    min_units: int = 1
    description: str = ""


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


BUILTIN = (
    LossSpec(
        "sse",
        lambda a, y: jnp.sum((y - a) ** 2, axis=-1),
        lambda a, y: -2 * (y - a),
        "real",
        sympy_value=_sum_squares,
        sympy_gradient=lambda a, y: [-2 * (yj - aj) for aj, yj in zip(a, y, strict=True)],
        description="sum_j (y_j - a_j)^2 (seed 003 eq. 11)",
    ),
    LossSpec(
        "half_sse",
        lambda a, y: 0.5 * jnp.sum((y - a) ** 2, axis=-1),
        lambda a, y: -(y - a),
        "real",
        sympy_value=lambda a, y: sp.Rational(1, 2) * _sum_squares(a, y),
        sympy_gradient=lambda a, y: [-(yj - aj) for aj, yj in zip(a, y, strict=True)],
        description="1/2 sum_j (y_j - a_j)^2 (seed 000 eq. 16)",
    ),
    LossSpec(
        "mse",
        lambda a, y: jnp.mean((y - a) ** 2, axis=-1),
        lambda a, y: -2 * (y - a) / a.shape[-1],
        "real",
        sympy_value=lambda a, y: _sum_squares(a, y) / len(a),
        sympy_gradient=lambda a, y: [-2 * (yj - aj) / len(a) for aj, yj in zip(a, y, strict=True)],
        description="1/d sum_j (y_j - a_j)^2, the mean over output units (seed 002)",
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
    ),
)
