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
``"huber"`` / ``"huber(delta)"``           sum_j 1/2 r_j^2 (|r_j| <= delta),      clip(a - y, -delta, delta)
                                          else delta (|r_j| - delta/2); r = a - y
``"absolute_error"``                      sum_j |a_j - y_j|                      sign(a - y) (0 at a = y)
``"poisson"`` (a = log of the rate)       sum_j exp(a_j) - y_j a_j               exp(a) - y
``"hinge"`` (labels 0/1, s = 2y - 1)      sum_j max(0, 1 - s_j a_j)              -s where s a < 1, else 0
========================================  =====================================  ==========================

``"mse"`` is the only one that averages over output units: with one output (seed 002's
network) it is exactly (y - a)^2. ``huber`` (default delta 1, optax's) is 1/2 r^2 near 0 and
linear beyond delta, its gradient continuous. ``absolute_error`` and ``hinge`` have kinks,
where the gradient takes 0 (a = y; the margin s a exactly 1). ``poisson`` takes the log of the
rate (an identity output): the negative log-likelihood of y ~ Poisson(exp(a)) without its
constant log(y!), on targets >= 0; the prediction is the rate exp(a) (:meth:`Loss.mean`).
``hinge`` takes labels 0 and 1 as the margins' signs -1 and +1, on scores (a one-unit network
predicts class 1 above 0). :func:`funcmlp.register_loss` adds losses of one's own.

Curvature (:class:`~funcmlp.registry.loss_curvature.LossCurvature`, the Hessian's factors and sampled
labels of the GGN, its Kronecker factors and the Hessian's diagonal). Each loss with a sampler is the
negative log-likelihood (up to a constant) of the distribution ``sample`` draws from, so the expected
outer product of the gradient at drawn targets is the expected Hessian, the Fisher (the GGN); ``N(a, v)``
has mean ``a`` and variance ``v``:

===================================  ==============================================  ===============================
name                                 S (S S^T = d^2 L_i/da^2)                        sample draws targets from
===================================  ==============================================  ===============================
``"sse"``                            sqrt(2) I                                       N(a, 1/2) per unit
``"half_sse"``                       I                                               N(a, 1) per unit
``"mse"``                            sqrt(2/d) I                                     N(a, d/2) per unit
``"sigmoid_binary_cross_entropy"``   diag(sqrt(p (1 - p))), p = sigmoid(z)           Bernoulli(p) per unit
``"softmax_cross_entropy"``          sqrt(sum_j y_j) (diag(sqrt p) - p sqrt(p)^T)    one-hot Categorical(softmax(z))
``"binary_cross_entropy"``           diag(sqrt(y / a^2 + (1-y) / (1-a)^2))           Bernoulli(a) per unit
``"cross_entropy"``                  diag(sqrt(y) / a)                               one-hot Categorical(a)
``"huber"`` / ``"huber(delta)"``     diag(1 where |a - y| <= delta, else 0)          none (no likelihood)
``"absolute_error"``, ``"hinge"``    0, d x d (the kinks' Dirac deltas left out)     none (no likelihood)
``"poisson"``                        diag(exp(a / 2))                                Poisson(exp(a)) per unit
===================================  ==============================================  ===============================

``softmax_cross_entropy``'s sampled one-hot rows average to ``diag p - p p^T``, its Hessian at rows summing
to 1 (``t`` times it at rows summing to ``t``). A probability loss on its paired output (``cross_entropy``
on ``softmax``) takes its logits loss's factor and sampler at ``n^L``. A registered loss without a factor
gets one by autodiff (``jax.hessian``, an eigendecomposition; NaN where the loss is not convex).

What is accepted (checked eagerly at every entry point, see :meth:`Loss.check_output` and
:func:`funcmlp.checks.check_targets`):

* regression losses (``sse``, ``half_sse``, ``mse``, ``huber``, ``absolute_error``): any output
  activation, any finite targets; ``poisson`` any output activation, targets >= 0;
* ``hinge``: any output activation but ``softmax`` and ``sigmoid`` (scores, not probabilities),
  targets 0 or 1;
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

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import jax

from funcmlp.registry.activations import Activation, sp
from funcmlp.registry.loss_curvature import LossCurvature
from funcmlp.registry.loss_functions import function_spec
from funcmlp.registry.loss_pairing import check_pairing
from funcmlp.registry.loss_registry import LOSS_NAMES, LOSSES
from funcmlp.registry.loss_spec import TARGET_KINDS, LossSpec, TargetKind

Array = jax.Array
__all__ = ["LOSSES", "LOSS_NAMES", "TARGET_KINDS", "Loss", "LossSpec", "TargetKind", "get_loss"]


@dataclass(frozen=True)
class Loss(LossCurvature):
    """A named loss (with its parameter, for ``huber``), or a function given bare (:func:`get_loss`): per-example
    value and its gradient with respect to ``a`` (closed form, or ``jax.grad``'s); its curvature (Hessian factors,
    sampled labels) from :class:`~funcmlp.registry.loss_curvature.LossCurvature`.

    Frozen and hashable, so a :class:`~funcmlp.TrainConfig` holding it is static under ``jit``.

    Example:
        >>> import jax.numpy as jnp
        >>> Loss("half_sse").per_example(jnp.array([[1.0, 3.0]]), jnp.array([[0.0, 1.0]])).tolist()
        [2.5]
        >>> str(Loss("huber", 0.5)), Loss("huber").parameter
        ('huber(0.5)', 1.0)
    """

    name: str
    parameter: float | None = None
    spec: LossSpec | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.spec is None:
            if self.name not in LOSSES:
                raise ValueError(
                    f"unknown loss {self.name!r}; expected one of {', '.join(LOSSES)}, "
                    "or add one with funcmlp.register_loss"
                )
            # the entry itself, compared by identity: re-registering a name makes a new loss
            # (jit caches keyed by an old one are not reused)
            object.__setattr__(self, "spec", LOSSES[self.name])
        elif self.spec.name != self.name:
            raise ValueError(f"loss {self.name!r} given the spec of {self.spec.name!r}")
        wanted = self.spec.parameter
        if wanted is None and self.parameter is not None:
            raise ValueError(f"loss {self.name!r} takes no parameter, got {self.parameter!r}")
        if wanted is not None:
            value = self.spec.default_parameter if self.parameter is None else self.parameter
            if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
                raise ValueError(
                    f"loss {self.name!r}: {wanted} must be a finite number > 0, got {value!r}; "
                    f"e.g. '{self.name}({self.spec.default_parameter:g})'"
                )
            object.__setattr__(self, "parameter", float(value))

    @property
    def _arguments(self) -> tuple:
        return () if self.parameter is None else (self.parameter,)

    @property
    def target_kind(self) -> TargetKind:
        """What the targets may be (:data:`TARGET_KINDS`)."""
        return TARGET_KINDS[self.spec.targets]

    @property
    def is_classification(self) -> bool:
        """Targets are classes, labels or probabilities (accuracy is meaningful)."""
        return self.target_kind.classification

    def per_example(self, a: Array, y: Array) -> Array:
        """Loss of each example: ``(batch, d), (batch, d) -> (batch,)``."""
        return self.spec.value(a, y, *self._arguments)

    def gradient(self, a: Array, y: Array) -> Array:
        """Closed-form ``dL_i/da_i`` of each example's loss: ``(batch, d) -> (batch, d)``."""
        return self.spec.gradient(a, y, *self._arguments)

    def mean(self, a: Array) -> Array:
        """The predicted value of the targets from outputs ``a`` ``(batch, d)``: ``exp(a)`` for
        ``poisson`` (the rate), ``a`` for every other loss."""
        return a if self.spec.mean is None else self.spec.mean(a)

    def sympy_value(self, a: list, y: list):
        """One example's loss as a sympy expression of lists ``a`` and ``y`` (the parameter exact)."""
        return self._symbolic("sympy_value")(a, y, *self._symbolic_arguments)

    def sympy_gradient(self, a: list, y: list) -> list:
        """The closed form of ``dL/da`` as sympy expressions, one per output unit."""
        return self._symbolic("sympy_gradient")(a, y, *self._symbolic_arguments)

    def _symbolic(self, form: str) -> Callable:
        function = getattr(self.spec, form)
        if function is None:
            raise ValueError(
                f"loss {self.name!r} has no sympy form; register it with "
                "sympy_value=lambda a, y: ... (the loss of one output unit) to derive or check it"
            )
        return function

    @property
    def _symbolic_arguments(self) -> tuple:
        return tuple(sp.nsimplify(repr(p)) for p in self._arguments)

    def __reduce__(self):
        """Pickled (copied, sent to a process) as its name: the entry is looked up again where it is read (a
        loss given as a function, as that function: by reference, as pickle writes functions)."""
        return get_loss, ((self.spec.value,) if self.spec.from_function else (str(self),))

    def __str__(self) -> str:
        if self.parameter is None or self.parameter == self.spec.default_parameter:
            return self.name
        return f"{self.name}({self.parameter!r})"  # repr: the shortest text that reads back as the same float

    def check_output(self, activation: Activation, units: int) -> None:
        """Raise ``ValueError`` if the output layer cannot feed this loss (with the fix); warn where a
        logits loss follows a non-identity output (:func:`~funcmlp.registry.loss_pairing.check_pairing`).

        Example:
            >>> Loss("softmax_cross_entropy").check_output(Activation("softmax"), 3)  # doctest: +NORMALIZE_WHITESPACE
            Traceback (most recent call last):
            ...
            ValueError: loss 'softmax_cross_entropy' takes logits but the output activation 'softmax' already
            gives probabilities (it would be applied twice); use output='identity', or keep the softmax output
            with loss 'cross_entropy'
        """
        check_pairing(self, activation, units)

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


def get_loss(spec: str | Loss | Callable) -> Loss:
    """Resolve a loss name, ``"huber(0.5)"`` (a name with its parameter), a function, or pass a :class:`Loss` through.

    Every entry point that takes a loss resolves it here, so each takes all three. A function ``loss(a, y) ->
    (batch,)`` gives one value per example for the output activations ``a`` and targets ``y`` (both ``(batch,
    d_L)``, floats: labels one-hot encoded by the caller), each example's from its own row alone; its ``dL_i/da_i``
    is ``jax.grad``'s, its targets any finite numbers, any output activation feeds it
    (:mod:`funcmlp.registry.loss_functions`). Its shape is checked on first use with the network's units (one
    value per example, not one for the batch). For labels, accuracy or a sympy form, register it
    (:func:`funcmlp.register_loss`, ``targets="class"``).

    Example:
        >>> get_loss("sse"), get_loss("huber(0.5)")
        (Loss(name='sse', parameter=None), Loss(name='huber', parameter=0.5))
        >>> import jax.numpy as jnp
        >>> def quartic(a, y):
        ...     return jnp.sum((a - y) ** 4, axis=-1)
        >>> loss = get_loss(quartic)
        >>> str(loss), loss == get_loss(quartic), loss.gradient(jnp.array([[3.0]]), jnp.array([[1.0]])).tolist()
        ('quartic', True, [[32.0]])
    """
    if isinstance(spec, Loss):
        return spec
    if callable(spec) and not isinstance(spec, (str, type)):
        entry = function_spec(spec)
        return Loss(entry.name, None, entry)
    if not isinstance(spec, str):
        raise ValueError(
            f"a loss must be a name (one of {', '.join(LOSSES)}), a Loss or a function (a, y) -> (batch,), "
            f"got {type(spec).__name__} {spec!r:.60}"
        )
    text = spec.strip().lower()
    parameter = None
    if text.endswith(")") and "(" in text:
        text, _, argument = text[:-1].partition("(")
        try:
            parameter = float(argument)
        except ValueError:
            raise ValueError(f"loss parameter in {spec!r} is not a number; write e.g. 'huber(0.5)'") from None
    return Loss(text, parameter)
