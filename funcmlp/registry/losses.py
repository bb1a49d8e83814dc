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

from collections.abc import Callable
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp
from jax.scipy.special import xlog1py, xlogy

from funcmlp.registry.activations import ACTIVATIONS, Activation, largest, sp

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
    # At the largest logit, where p can round to 1, it is written (S - y_j) - S (1 - p_j) with
    # both differences summed over the other classes: no cancellation, relative accuracy kept
    p = jax.nn.softmax(z, axis=-1)
    top = largest(z)
    total = jnp.sum(y, axis=-1, keepdims=True)
    others_p = jnp.sum(jnp.where(top, 0, p), axis=-1, keepdims=True)
    others_y = jnp.sum(jnp.where(top, 0, y), axis=-1, keepdims=True)
    return jnp.where(top, others_y - total * others_p, p * total - y)


_BUILTIN = (
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

LOSSES: dict[str, LossSpec] = {spec.name: spec for spec in _BUILTIN}
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
