"""What a loss is: :class:`LossSpec` (one loss's definition, its JAX and sympy forms side by side) and
:data:`TARGET_KINDS` (what a loss's targets may be).

Contract: the record :mod:`funcmlp.registry.loss_rules` (the built-ins) and
:func:`funcmlp.registry.loss_registry.register_loss` fill in; :class:`funcmlp.registry.losses.Loss` reads it.
Imports nothing of funcmlp's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TargetKind:
    """What the targets of a loss may be: ``low``/``high`` bounds (``None``: unbounded),
    ``labels`` (only the values 0 and 1), ``classification`` (accuracy is meaningful);
    ``words`` and ``fix`` name them and the remedy in an error message."""

    low: float | None
    high: float | None
    classification: bool
    words: str
    fix: str = ""
    labels: bool = False


_RESCALE = "rescale the targets, or use a regression loss such as 'sse' for other values"
TARGET_KINDS: dict[str, TargetKind] = {
    "real": TargetKind(None, None, False, "that are finite numbers"),
    "nonnegative": TargetKind(
        0.0, None, False, ">= 0 (counts or rates)", "counts and rates are never negative; for other values use 'sse'"
    ),
    "probability": TargetKind(0.0, 1.0, True, "in [0, 1] (probabilities)", _RESCALE),
    "class": TargetKind(0.0, 1.0, True, "in [0, 1] (one-hot, soft or multi-hot rows)", _RESCALE),
    "binary": TargetKind(
        0.0, 1.0, True, "0 or 1 (labels)", "relabel the two classes as 0 and 1 (of -1/+1 labels, -1 becomes 0)", True
    ),
}
"""The target kinds a loss may declare (:attr:`LossSpec.targets`)."""


@dataclass(frozen=True, eq=False)
class LossSpec:
    """One loss's definition: JAX forms for funcmlp, sympy forms for derivations.

    Attributes:
        name: registry name.
        value: ``(a, y) -> (batch,)`` per-example loss, JAX.
        gradient: ``(a, y) -> (batch, d)`` closed-form ``dL_i/da_i``, JAX (for a loss given without one,
            ``jax.grad`` of ``value``: :func:`~funcmlp.registry.loss_functions.autodiff_gradient`).
        targets: a key of :data:`TARGET_KINDS`: ``"real"`` (any finite number),
            ``"nonnegative"`` (>= 0), ``"probability"`` (in [0, 1]), ``"class"`` (integer labels,
            or rows in [0, 1]) or ``"binary"`` (0 or 1).
        takes: ``"outputs"`` (any output activation), ``"logits"`` (no probability
            output), ``"scores"`` (margins, unbounded: no probability output either), or
            ``"probabilities"`` (only the output activations in ``paired``). A one-unit network
            of a ``logits`` or ``scores`` loss predicts class 1 above 0.
        paired: output activation -> the logits loss this loss equals on ``n^L``; its
            value and closed-form gradient are then evaluated on ``n^L``.
        min_units: fewest output units it makes sense with.
        sympy_value: ``(list of a, list of y) -> sympy expression``.
        sympy_gradient: ``(list of a, list of y) -> list``, the closed form of ``dL/da``.
        parameter: the name of the loss's parameter (``"delta"`` of Huber), ``None`` for a loss
            without one; ``value``, ``gradient`` and the sympy forms then take it as a third
            argument, a number > 0 (a sympy Rational in the sympy forms).
        default_parameter: its value where a name gives none (``"huber"`` is ``"huber(1)"``).
        convention: the value of ``dL/da`` chosen where the loss has a kink, in words.
        mean: ``a -> (batch, d)`` the prediction of the target's value from the outputs (the
            rate ``exp(a)`` of the Poisson loss on the log of the rate), ``None`` for ``a`` itself.
        description: one line for listings.
        hessian_factor: ``(a, y, *parameter) -> (batch, d, C)``, JAX: a factor ``S`` of each example's
            Hessian in ``a`` (the logits of a logits loss), ``S S^T = d^2 L_i/da^2``; ``None``: by autodiff
            (:func:`~funcmlp.registry.loss_curvature_rules.autodiff_hessian_factor`).
        sympy_hessian_factor: ``(list of a, list of y, *parameter) -> list of d rows of C entries``, the same
            factor in sympy.
        sample: ``(key, a, *parameter) -> (batch, d)``, JAX: targets drawn from the model's predictive
            distribution at outputs ``a``, the one whose negative log-likelihood the loss is (up to a
            constant), so the sampled gradients' outer products average to the Hessian's expectation (the
            Fisher, which is the GGN); ``None`` for a loss that is no likelihood (``huber``, ``hinge``).
        from_function: made from a bare function given where a loss name is taken (not registered:
            :func:`~funcmlp.registry.loss_functions.function_spec`); checked on first use with the network's units.
    """

    name: str
    value: Callable
    gradient: Callable
    targets: str
    sympy_value: Callable | None
    sympy_gradient: Callable | None
    takes: str = "outputs"
    paired: dict = field(default_factory=dict)
    min_units: int = 1
    parameter: str | None = None
    default_parameter: float | None = None
    convention: str = ""
    mean: Callable | None = None
    description: str = ""
    hessian_factor: Callable | None = None
    sympy_hessian_factor: Callable | None = None
    sample: Callable | None = None
    from_function: bool = False
