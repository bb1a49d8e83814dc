"""The loss registry: one entry per loss, its JAX and sympy forms side by side.

For one example with network output ``a`` (shape ``(d,)``) and target ``y`` (same shape;
class losses also take an integer label) a loss gives a scalar, summed over output units
unless the name says otherwise:

========================================  =====================================  ==========================
name                                      per-example loss                       dL/da (per example)
========================================  =====================================  ==========================
``"sse"`` (seed 003 eq. 11)               sum_j (y_j - a_j)^2                    -2 (y - a)
``"half_sse"`` (seed 000 eq. 16)          1/2 sum_j (y_j - a_j)^2                -(y - a)
``"mse"`` (seed 002)                      1/d sum_j (y_j - a_j)^2                -2 (y - a) / d
``"sigmoid_binary_cross_entropy"``        -sum_j y_j log s(z_j)                  sigmoid(z) - y
                                          + (1-y_j) log(1 - s(z_j)), on logits z
``"softmax_cross_entropy"``               -sum_j y_j log softmax(z)_j (logits)   softmax(z) sum_j y_j - y
``"binary_cross_entropy"``                -sum_j y_j log a_j + (1-y_j) log(1-a_j)  (a - y) / (a (1 - a))
``"cross_entropy"``                       -sum_j y_j log a_j (probabilities)     -y / a
========================================  =====================================  ==========================

``"mse"`` is the only one that averages over output units: with one output (seed 002's
network) it is exactly (y - a)^2.

What is accepted (checked eagerly at every entry point, see :meth:`Loss.check_output` and
:func:`funcmlp.checks.check_targets`):

* regression losses (``sse``, ``half_sse``, ``mse``): any output activation, any finite targets;
* logits losses (``softmax_cross_entropy``, ``sigmoid_binary_cross_entropy``): any output
  activation except the probability outputs ``softmax`` and ``sigmoid`` (they would be
  applied twice); targets in [0, 1];
* probability losses take the probabilities of their own output layer only:
  ``binary_cross_entropy`` a ``sigmoid`` output, ``cross_entropy`` a ``softmax`` output.
  Both are then computed from the net input ``n^L`` as the logits loss (``log_sigmoid``,
  ``log_softmax``: finite at saturated outputs) with the closed forms ``a - y`` and
  ``p sum(y) - y``;
* class losses (``softmax_cross_entropy``, ``cross_entropy``) take integer labels in
  ``0..d-1`` or target rows in [0, 1]: one-hot, soft, label-smoothed, multi-hot. Rows need
  not sum to 1: ``dL/dz = p sum_j y_j - y`` is the gradient for every row (``p - y`` when
  the row sums to 1).

Batch reduction is explicit (:mod:`funcmlp.core.reduction`): ``"mean"`` (default) divides the
sum of per-example losses by the batch size (or by the sum of example weights), ``"sum"`` does not.

Example:
    >>> import jax.numpy as jnp
    >>> sse = get_loss("sse")
    >>> a, y = jnp.array([[4.0]]), jnp.array([[0.0]])
    >>> float(sse.per_example(a, y)[0]), float(sse.gradient(a, y)[0, 0])
    (16.0, 8.0)
"""

from __future__ import annotations

from dataclasses import dataclass

import jax

from funcmlp.registry.activations import Activation
from funcmlp.registry.loss_rules import BUILTIN, LossSpec

Array = jax.Array
__all__ = ["LOSSES", "LOSS_NAMES", "Loss", "LossSpec", "get_loss"]


LOSSES: dict[str, LossSpec] = {spec.name: spec for spec in BUILTIN}
"""The registry: name -> :class:`LossSpec`."""

LOSS_NAMES: tuple[str, ...] = tuple(LOSSES)


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
        if self.name not in LOSSES:
            raise ValueError(f"unknown loss {self.name!r}; expected one of {', '.join(LOSSES)}")

    @property
    def spec(self) -> LossSpec:
        return LOSSES[self.name]

    @property
    def is_classification(self) -> bool:
        """Targets are classes or probabilities (accuracy is meaningful)."""
        return self.spec.targets != "real"

    def per_example(self, a: Array, y: Array) -> Array:
        """Loss of each example: ``(batch, d), (batch, d) -> (batch,)``."""
        return self.spec.value(a, y)

    def gradient(self, a: Array, y: Array) -> Array:
        """Closed-form ``dL_i/da_i`` of each example's loss: ``(batch, d) -> (batch, d)``."""
        return self.spec.gradient(a, y)

    def check_output(self, activation: Activation, units: int) -> None:
        """Raise ``ValueError`` if the output layer cannot feed this loss (with the fix).

        Example:
            >>> Loss("softmax_cross_entropy").check_output(Activation("softmax"), 3)  # doctest: +NORMALIZE_WHITESPACE
            Traceback (most recent call last):
            ...
            ValueError: loss 'softmax_cross_entropy' takes logits but the output activation 'softmax' already
            gives probabilities (it would be applied twice); use output='identity', or keep the softmax output
            with loss 'cross_entropy'
        """
        spec, output = self.spec, activation.name
        if spec.takes == "probabilities" and output not in spec.paired:
            wanted = next(iter(spec.paired))
            logits = spec.paired[wanted]
            raise ValueError(
                f"loss {self.name!r} takes the probabilities of a {wanted!r} output layer, "
                f"but the output activation is {output!r}; use output={wanted!r}, "
                f"or the logits loss {logits!r} with output='identity'"
            )
        if spec.takes == "logits" and activation.spec.probabilities:
            probability_loss = next(
                (name for name, other in LOSSES.items() if other.paired.get(output) == self.name), None
            )
            keep = f", or keep the {output} output with loss {probability_loss!r}" if probability_loss else ""
            raise ValueError(
                f"loss {self.name!r} takes logits but the output activation {output!r} already gives probabilities "
                f"(it would be applied twice); use output='identity'{keep}"
            )
        if units < spec.min_units:
            raise ValueError(
                f"loss {self.name!r} needs at least {spec.min_units} output units (one per class), got {units}; "
                "for two classes with one unit use sigmoid_binary_cross_entropy "
                "(or a sigmoid output with binary_cross_entropy)"
            )

    def output_terms(self, activation: Activation, n: Array, a: Array, y: Array) -> tuple[Array, Array]:
        """Per-example loss and output sensitivity ``dL_i/dn^L_i`` (seed 003 eq. 24).

        A probability loss on its paired output is evaluated as the logits loss on ``n``
        (closed forms ``a - y``, ``p sum(y) - y``); otherwise the chain rule
        ``dL/dn = dL/da @ J_f(n)``. Shapes: ``(batch, d) -> (batch,), (batch, d)``.
        """
        paired = self.spec.paired.get(activation.name)
        if paired is not None:
            logits = LOSSES[paired]
            return logits.value(n, y), logits.gradient(n, y)
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
        raise ValueError(f"a loss must be one of {', '.join(LOSSES)}, got {type(spec).__name__} {spec!r}")
    return Loss(spec.strip().lower())
