"""Losses, each with its closed-form output sensitivity written beside it.

A loss is named by a string. For one example with network output ``a`` (shape ``(d,)``)
and target ``y`` (same shape; class losses also take an integer label) it gives a scalar,
summed over output units unless the name says otherwise:

========================================  =====================================  ==========================
name                                      per-example loss                       dL/da (per example)
========================================  =====================================  ==========================
``"sse"`` (seed 003 eq. 11)               sum_j (y_j - a_j)^2                    -2 (y - a)
``"half_sse"`` (seed 000 eq. 16)          1/2 sum_j (y_j - a_j)^2                -(y - a)
``"mse"`` (seed 002)                      1/d sum_j (y_j - a_j)^2                -2 (y - a) / d
``"binary_cross_entropy"``                -sum_j y_j log a_j + (1-y_j) log(1-a_j)  (a - y) / (a (1 - a))
``"sigmoid_binary_cross_entropy"``        the same with a_j = sigmoid(z_j),      sigmoid(z) - y
                                          on logits z
``"cross_entropy"``                       -sum_j y_j log a_j (probabilities)     -y / a
``"softmax_cross_entropy"``               -sum_j y_j log softmax(z)_j (logits)   softmax(z) - y
========================================  =====================================  ==========================

``"mse"`` is the only one that averages over output units: with one output (seed 002's
network) it is exactly (y - a)^2.

Pairs that simplify: with a ``sigmoid`` output layer and ``binary_cross_entropy``, the
output sensitivity ``dL/dn = a - y`` and the loss is computed from the net input with
``log_sigmoid`` (stable); likewise ``softmax`` with ``cross_entropy`` gives ``p - y``.

Batch reduction is explicit: ``"mean"`` (default) divides the sum of per-example losses
by the batch size (or by the sum of example weights), ``"sum"`` does not.

Example:
    >>> import jax.numpy as jnp
    >>> from funcmlp.losses import get_loss
    >>> sse = get_loss("sse")
    >>> float(sse.per_example(jnp.array([[4.0]]), jnp.array([[0.0]]))[0]), float(sse.gradient(jnp.array([[4.0]]), jnp.array([[0.0]]))[0, 0])
    (16.0, 8.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import jax
import jax.numpy as jnp

from funcmlp.activations import Activation

Array = jax.Array

REDUCTIONS = ("mean", "sum")


def sse(a: Array, y: Array) -> Array:
    return jnp.sum((y - a) ** 2, axis=-1)


def sse_gradient(a: Array, y: Array) -> Array:
    return -2 * (y - a)


def half_sse(a: Array, y: Array) -> Array:
    return 0.5 * jnp.sum((y - a) ** 2, axis=-1)


def half_sse_gradient(a: Array, y: Array) -> Array:
    return -(y - a)


def mse(a: Array, y: Array) -> Array:
    return jnp.mean((y - a) ** 2, axis=-1)


def mse_gradient(a: Array, y: Array) -> Array:
    return -2 * (y - a) / a.shape[-1]


def binary_cross_entropy(a: Array, y: Array) -> Array:
    return -jnp.sum(y * jnp.log(a) + (1 - y) * jnp.log1p(-a), axis=-1)


def binary_cross_entropy_gradient(a: Array, y: Array) -> Array:
    return (a - y) / (a * (1 - a))


def sigmoid_binary_cross_entropy(z: Array, y: Array) -> Array:
    return -jnp.sum(y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z), axis=-1)


def sigmoid_binary_cross_entropy_gradient(z: Array, y: Array) -> Array:
    return jax.nn.sigmoid(z) - y


def cross_entropy(a: Array, y: Array) -> Array:
    return -jnp.sum(y * jnp.log(a), axis=-1)


def cross_entropy_gradient(a: Array, y: Array) -> Array:
    return -y / a


def softmax_cross_entropy(z: Array, y: Array) -> Array:
    return -jnp.sum(y * jax.nn.log_softmax(z, axis=-1), axis=-1)


def softmax_cross_entropy_gradient(z: Array, y: Array) -> Array:
    return jax.nn.softmax(z, axis=-1) - y


_LOSSES = {
    "sse": (sse, sse_gradient),
    "half_sse": (half_sse, half_sse_gradient),
    "mse": (mse, mse_gradient),
    "binary_cross_entropy": (binary_cross_entropy, binary_cross_entropy_gradient),
    "sigmoid_binary_cross_entropy": (sigmoid_binary_cross_entropy, sigmoid_binary_cross_entropy_gradient),
    "cross_entropy": (cross_entropy, cross_entropy_gradient),
    "softmax_cross_entropy": (softmax_cross_entropy, softmax_cross_entropy_gradient),
}

LOSS_NAMES: tuple[str, ...] = tuple(_LOSSES)

# Losses whose targets are classes: integer labels are one-hot encoded for them.
CLASS_LOSSES = frozenset({"cross_entropy", "softmax_cross_entropy"})
# Losses on probabilities -> the output activations that produce them.
PROBABILITY_OUTPUTS = {"binary_cross_entropy": ("sigmoid", "softmax"), "cross_entropy": ("softmax", "sigmoid")}
# Losses whose targets are probabilities in [0, 1] of each output unit.
BINARY_LOSSES = frozenset({"binary_cross_entropy", "sigmoid_binary_cross_entropy"})


def _paired_sigmoid_bce(n: Array, y: Array) -> tuple[Array, Array]:
    return sigmoid_binary_cross_entropy(n, y), jax.nn.sigmoid(n) - y


def _paired_softmax_ce(n: Array, y: Array) -> tuple[Array, Array]:
    return softmax_cross_entropy(n, y), jax.nn.softmax(n, axis=-1) - y


# (output activation, loss) -> n^L, y -> (per-example loss, per-example dL/dn^L)
PAIRED = {
    ("sigmoid", "binary_cross_entropy"): _paired_sigmoid_bce,
    ("softmax", "cross_entropy"): _paired_softmax_ce,
}


@dataclass(frozen=True)
class Loss:
    """A named loss: per-example value and its closed-form gradient with respect to ``a``.

    Example:
        >>> import jax.numpy as jnp
        >>> Loss("half_sse").per_example(jnp.array([[1.0, 3.0]]), jnp.array([[0.0, 1.0]])).tolist()
        [2.5]
    """

    name: str

    def __post_init__(self):
        if self.name not in _LOSSES:
            raise ValueError(f"unknown loss {self.name!r}; expected one of {', '.join(LOSS_NAMES)}")

    def per_example(self, a: Array, y: Array) -> Array:
        """Loss of each example: ``(batch, d), (batch, d) -> (batch,)``."""
        return _LOSSES[self.name][0](a, y)

    def gradient(self, a: Array, y: Array) -> Array:
        """Closed-form ``dL_i/da_i`` of each example's loss: ``(batch, d) -> (batch, d)``."""
        return _LOSSES[self.name][1](a, y)

    def check_output(self, activation: Activation, units: int) -> None:
        """Raise ``ValueError`` if the output layer cannot feed this loss (with the fix)."""
        if self.name in PROBABILITY_OUTPUTS and activation.name not in PROBABILITY_OUTPUTS[self.name]:
            logits = "sigmoid_binary_cross_entropy" if self.name == "binary_cross_entropy" else "softmax_cross_entropy"
            raise ValueError(
                f"loss {self.name!r} takes probabilities but the output activation is {activation.name!r}; "
                f"use output={PROBABILITY_OUTPUTS[self.name][0]!r}, or the logits loss {logits!r} with output='identity'"
            )
        if self.name in CLASS_LOSSES and units < 2:
            raise ValueError(f"loss {self.name!r} needs at least 2 output units (one per class), got {units}; "
                             "for two classes with one unit use binary_cross_entropy")

    def output_terms(self, activation: Activation, n: Array, a: Array, y: Array) -> tuple[Array, Array]:
        """Per-example loss and output sensitivity ``dL_i/dn^L_i`` (seed 003 eq. 24).

        Uses the simplified closed form for the pairs in :data:`PAIRED`, otherwise the
        chain rule ``dL/dn = dL/da @ J_f(n)``. Shapes: ``(batch, d) -> (batch,), (batch, d)``.
        """
        paired = PAIRED.get((activation.name, self.name))
        if paired is not None:
            return paired(n, y)
        return self.per_example(a, y), activation.backward(n, self.gradient(a, y))


def get_loss(spec: str | Loss) -> Loss:
    """Resolve a loss name (or pass a :class:`Loss` through).

    Example:
        >>> get_loss("sse")
        Loss(name='sse')
    """
    if isinstance(spec, Loss):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"a loss must be one of {', '.join(LOSS_NAMES)}, got {type(spec).__name__} {spec!r}")
    return Loss(spec.strip().lower())


def check_reduction(reduction: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; expected 'mean' (divide by the batch size) or 'sum'")
    return reduction


def reduction_weights(weights: Array, reduction: str) -> Array:
    """Per-example factors that turn per-example losses into the batch loss: ``(batch,) -> (batch,)``."""
    check_reduction(reduction)
    if reduction == "sum":
        return weights
    return weights / jnp.sum(weights)
