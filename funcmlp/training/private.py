"""DP-SGD in training: each example's gradient clipped to a norm and Gaussian noise added (Abadi et al. 2016),
the clipping from the one backward pass.

Contract::

    DPSGD(max_norm, noise_multiplier=0.0)     the option (``TrainConfig(dp_sgd=...)``), checked when built
    clipped_gradient_fn(mlp, loss, reduction, max_norm)
        -> (params, x, targets, weights, key, masks=None) -> (loss, sum_i r_i c_i g_i, outputs, clipped examples)
    noise_keys(epoch_key, step, leaves)       the keys of a step's noise, one per leaf of the params
    add_noise(grads, dp_sgd, epoch_key, step, scale) -> grads + scale * noise_multiplier * max_norm * z
    check_dp_weights(weights)                 sample weights DP-SGD takes: 0 and 1 only

A step on a batch of ``B`` real examples (padding rows and examples of weight 0 are not counted) with
``g_i`` the gradient of example i's own loss, ``c_i = min(1, max_norm / ||g_i||)`` (the norm over every
weight and bias) and ``z`` standard normal of the params' shape::

    reduction="mean":  (1/B) (sum_i c_i g_i + noise_multiplier * max_norm * z)
    reduction="sum":         sum_i c_i g_i + noise_multiplier * max_norm * z

The mean is what ``optax.contrib.differentially_private_aggregate`` computes from per-example gradients;
the sum the same without the division. No per-example gradient is held: the norms and the clipped sum
are contractions of the trace and the sensitivities of the manual pass (:mod:`funcmlp.core.per_example`).

Noise key: step ``t`` (0-based, within the epoch) of the epoch that starts from key ``K`` (the ``key``
given to :func:`funcmlp.fit` for the first epoch, then each epoch's ``EpochState.key``, the key a
checkpoint holds) draws ``keys = jax.random.split(jax.random.fold_in(K, t), L + 1)`` for the ``L`` leaves
of the params (``jax.tree_util.tree_leaves`` order: ``W^1, b^1, W^2, ...``) and gives leaf ``j`` the noise
``jax.random.normal(keys[j + 1], shape, dtype)``: the noise that
``differentially_private_aggregate(max_norm, noise_multiplier, key=jax.random.fold_in(K, t))`` adds in its
first update. ``K`` draws nothing else in JAX (the order and the dropout keys come from it through numpy's
Philox, :func:`funcmlp.training.batching.epoch_order`), so a resumed run draws the same noise, bit for bit.

Privacy accounting stays outside funcmlp: the ``(epsilon, delta)`` a run spends follows from
``noise_multiplier``, the sampling rate ``B / N`` and the number of steps, with an accountant of one's
choice (e.g. Google's ``dp_accounting``). Note that funcmlp's epochs shuffle and partition the data (each
example once per epoch, fixed-size batches), not the Poisson sampling most accountants assume.
Imports: core, arguments.
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp.arguments import check_number
from funcmlp.core.backward import backward, output_terms
from funcmlp.core.model import MLP
from funcmlp.core.per_example import clip_factors, example_norms, row_scaled_grads
from funcmlp.core.reduction import reduction_weights
from funcmlp.registry.losses import Loss

Array = jax.Array


@dataclass(frozen=True)
class DPSGD:
    """DP-SGD's options: each example's gradient clipped to ``max_norm`` (L2, over every weight and bias),
    Gaussian noise of standard deviation ``noise_multiplier * max_norm`` added to the batch's sum of the
    clipped gradients (before the mean's division by the batch's real examples). Checked when built;
    hashable (a part of :class:`~funcmlp.TrainConfig`).

    Example:
        >>> DPSGD(1.0, noise_multiplier=1.1)
        DPSGD(max_norm=1.0, noise_multiplier=1.1)
        >>> DPSGD(0.0)
        Traceback (most recent call last):
        ...
        ValueError: max_norm must be a finite number above 0, got 0.0; e.g. 1.0
    """

    max_norm: float
    noise_multiplier: float = 0.0

    def __post_init__(self):
        object.__setattr__(self, "max_norm", check_number(self.max_norm, "max_norm", above=0, example="1.0"))
        noise = check_number(self.noise_multiplier, "noise_multiplier", at_least=0, example="1.0 (0: clipping only)")
        object.__setattr__(self, "noise_multiplier", noise)


def clipped_gradient_fn(mlp: MLP, loss: Loss, reduction: str, max_norm: float):
    """``(params, x, targets, weights, key) -> (loss, grads, outputs, clipped)`` on checked data, as
    :func:`funcmlp.core.backward.gradient_fn` but with ``grads = sum_i r_i c_i g_i`` (``r_i`` the reduction's
    factors, ``c_i = min(1, max_norm / ||g_i||)``) and ``clipped`` the number of examples of weight above 0
    whose gradient was clipped (``c_i < 1``), a scalar. One forward and one backward pass.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> from funcmlp.registry.losses import get_loss
        >>> mlp = MLP((2, 3, 1), "tanh")
        >>> step = clipped_gradient_fn(mlp, get_loss("sse"), "mean", 1e-3)
        >>> x, weights = jnp.ones((4, 2)), jnp.array([1.0, 1.0, 1.0, 0.0])
        >>> value, grads, outputs, clipped = step(mlp.init(jax.random.key(0)), x, jnp.ones((4, 1)), weights, None)
        >>> grads[0].W.shape, outputs.shape, int(clipped)
        ((2, 3), (4, 1), 3)
    """

    def value_and_grad(params, x, targets, weights, key, masks=None):
        trace = mlp.trace(params, x, key=key, train=True, masks=masks)
        value, s = output_terms(mlp, trace, targets, weights, loss, reduction)
        sensitivities = backward(mlp, params, trace, s)[1]  # (its gradient, unused, is never computed)
        norms = example_norms(trace, sensitivities, reduction_weights(weights, reduction))  # 0 for padding rows
        clipped = jnp.sum(norms > max_norm, dtype=jnp.int32)
        return value, row_scaled_grads(trace, sensitivities, clip_factors(norms, max_norm)), trace.a[-1], clipped

    return value_and_grad


def noise_keys(epoch_key: Array, step, leaves: int) -> Array:
    """The ``leaves`` keys of step ``step``'s noise in the epoch that starts from ``epoch_key``:
    ``jax.random.split(jax.random.fold_in(epoch_key, step), leaves + 1)[1:]``; traceable.

    Example:
        >>> noise_keys(jax.random.key(0), 3, 4).shape
        (4,)
    """
    return jax.random.split(jax.random.fold_in(epoch_key, step), leaves + 1)[1:]


def add_noise(grads, dp_sgd: DPSGD, epoch_key: Array, step, scale):
    """``grads + scale * noise_multiplier * max_norm * z``, ``z`` standard normal drawn from
    :func:`noise_keys` leaf by leaf in the grads' dtypes (``scale``: ``1/B`` for the mean, 1 for the sum);
    ``grads`` unchanged without noise.

    Example:
        >>> grads = (jnp.zeros(3), jnp.zeros((2, 2)))
        >>> noisy = add_noise(grads, DPSGD(2.0, 0.5), jax.random.key(0), 0, 1.0)
        >>> z = jax.random.normal(noise_keys(jax.random.key(0), 0, 2)[0], (3,))
        >>> bool(jnp.allclose(noisy[0], 1.0 * z))
        True
    """
    if dp_sgd.noise_multiplier == 0:
        return grads
    leaves, treedef = jax.tree_util.tree_flatten(grads)
    keys = noise_keys(epoch_key, step, len(leaves))
    std = dp_sgd.noise_multiplier * dp_sgd.max_norm
    noised = [g + (scale * std) * jax.random.normal(keys[j], g.shape, g.dtype) for j, g in enumerate(leaves)]
    return jax.tree_util.tree_unflatten(treedef, noised)


def check_dp_weights(weights) -> None:
    """Refuse sample weights other than 0 and 1: DP-SGD bounds each example's share of a step by
    ``max_norm``, which a weight would scale (and the noise is calibrated to that bound).

    Example:
        >>> check_dp_weights(np.array([1.0, 0.0, 1.0]))
        >>> check_dp_weights(np.array([1.0, 2.5]))
        Traceback (most recent call last):
        ...
        ValueError: DP-SGD takes sample weights 0 and 1 only (1: the example is in, 0: left out), got 2.5 at row 1: \
a weight scales an example's clipped gradient past max_norm; train without sample_weight or with 0/1 weights
    """
    weights = np.asarray(weights)
    bad = np.flatnonzero((weights != 0) & (weights != 1))
    if bad.size:
        raise ValueError(
            f"DP-SGD takes sample weights 0 and 1 only (1: the example is in, 0: left out), got "
            f"{float(weights[bad[0]])!r} at row {bad[0]}: a weight scales an example's clipped gradient past max_norm; "
            "train without sample_weight or with 0/1 weights"
        )
