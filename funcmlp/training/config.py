"""How to train, as one frozen value: :class:`TrainConfig`.

Built once by whoever starts training (:func:`funcmlp.fit`, :func:`funcmlp.train_epochs`, the
estimators, the command line), checked when built, hashable: the compiled epoch takes it as a
static argument, so one network and one configuration compile once. Adding a training option
is adding a field here (and reading it where it acts) and a keyword of :func:`funcmlp.fit` and
:func:`funcmlp.train_epochs` defaulting to :data:`CONFIG_DEFAULT`: their signatures show this
class's defaults (:func:`shows_config_defaults`), and a test holds each field to be one of them.
"""

from __future__ import annotations

import dataclasses
import inspect
from dataclasses import dataclass
from typing import Any

import optax

from funcmlp.arguments import check_positive_int
from funcmlp.checks import check_reduction
from funcmlp.core.backward import GRADIENT_SOURCES
from funcmlp.registry.losses import Loss, get_loss
from funcmlp.training.parallel import resolve_mesh
from funcmlp.training.private import DPSGD

ON_NONFINITE = ("stop", "skip")
MAX_BATCH_SIZE = 2**31 - 1
"""The largest ``batch_size``: the compiled epoch numbers a batch's rows with 32-bit integers."""


@dataclass(frozen=True)
class TrainConfig:
    """Everything about training but the network, its params, the data and the key.

    Attributes:
        loss: a loss name, a :class:`~funcmlp.Loss` or a function ``(a, y) -> (batch,)`` (:func:`~funcmlp.get_loss`).
        optimizer: any ``optax.GradientTransformation`` (see :mod:`funcmlp.training.optimizers`);
            the compiled epoch is reused for any optimizer that computes the same program
            (:func:`funcmlp.training.reuse.same_optimizer`). Its ``update`` gets the extra
            argument ``batch_weight``, the batch's sum of example weights (its number of real
            examples without sample weights), which transformations that take no extra
            arguments never see.
        batch_size: examples per step; ``ceil(N / B)`` steps per epoch (one step of all ``N`` when
            ``B >= N``); at most :data:`MAX_BATCH_SIZE`.
        reduction: batch reduction of the loss, ``"mean"`` or ``"sum"``.
        gradient: ``"manual"`` (the sensitivity recursion) or ``"autodiff"`` (``jax.grad``).
        drop_last: drop the partial last batch instead of keeping it.
        shuffle: draw each epoch's batches in a new random order (default) or in the data's.
        classification: record accuracy (default: for the classification losses).
        on_nonfinite: ``"stop"``: the first step whose loss or updated params are NaN or infinite
            (a gradient that is not finite makes them so, unless the optimizer drops it) ends
            training with :class:`~funcmlp.TrainingDiverged`, carrying the last finite params
            and naming the step and the first layer whose gradient or update was not finite;
            ``"skip"``: such steps change nothing and are counted in ``history.skipped_steps``.
        validate_every: epochs between validations (the history repeats the last value between).
        mesh: data parallelism (:mod:`funcmlp.training.parallel`): ``None``, a
            ``jax.sharding.Mesh`` with a ``"data"`` axis, or ``"auto"`` for every device.
        dp_sgd: a :class:`~funcmlp.DPSGD` (``max_norm``, ``noise_multiplier``): each step's gradient is DP-SGD's,
            each example's clipped and Gaussian noise added (:mod:`funcmlp.training.private`: the definition,
            the noise's key), the fraction of clipped examples recorded in ``history.clipped_fraction``; needs
            ``gradient="manual"`` and sample weights of 0 and 1 only. Privacy accounting is not funcmlp's.

    Example:
        >>> import optax
        >>> config = TrainConfig(loss="sse", optimizer=optax.sgd(0.1), batch_size=8)
        >>> config.loss.name, config.classification, hash(config) == hash(TrainConfig("sse", config.optimizer, 8))
        ('sse', False, True)
        >>> TrainConfig(loss="sse", optimizer=optax.sgd(0.1), batch_size=8, gradient="numeric")
        Traceback (most recent call last):
        ...
        ValueError: unknown gradient source 'numeric'; expected one of manual, autodiff
    """

    loss: Loss | str
    optimizer: optax.GradientTransformation
    batch_size: int
    reduction: str = "mean"
    gradient: str = "manual"
    drop_last: bool = False
    shuffle: bool = True
    classification: bool | None = None
    on_nonfinite: str = "stop"
    validate_every: int = 1
    mesh: Any = None
    dp_sgd: DPSGD | None = None

    def __post_init__(self):
        loss = get_loss(self.loss)
        object.__setattr__(self, "loss", loss)
        if not (callable(getattr(self.optimizer, "init", None)) and callable(getattr(self.optimizer, "update", None))):
            raise ValueError(
                f"optimizer must be an optax.GradientTransformation (init and update), got "
                f"{type(self.optimizer).__name__}; e.g. optax.adam(1e-3) or funcmlp.make_optimizer('adam', 1e-3)"
            )
        batch_size = check_positive_int(
            self.batch_size,
            "batch_size",
            "examples per step",
            at_most=MAX_BATCH_SIZE,
            fix="a batch's rows are numbered with 32-bit integers, and a batch_size at or above the number of examples "
            "trains on all of them in each step: batch_size=len(x)",
        )
        object.__setattr__(self, "batch_size", batch_size)
        check_reduction(self.reduction)
        if self.gradient not in GRADIENT_SOURCES:
            raise ValueError(
                f"unknown gradient source {self.gradient!r}; expected one of {', '.join(GRADIENT_SOURCES)}"
            )
        if self.on_nonfinite not in ON_NONFINITE:
            raise ValueError(f"on_nonfinite must be one of {', '.join(ON_NONFINITE)}, got {self.on_nonfinite!r}")
        validate_every = check_positive_int(self.validate_every, "validate_every", "epochs between validations")
        object.__setattr__(self, "validate_every", validate_every)
        for name in ("drop_last", "shuffle"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.classification is None:
            object.__setattr__(self, "classification", loss.is_classification)
        object.__setattr__(self, "mesh", resolve_mesh(self.mesh))
        if self.dp_sgd is not None:
            if not isinstance(self.dp_sgd, DPSGD):
                raise ValueError(
                    f"dp_sgd must be None or a funcmlp.DPSGD, got {type(self.dp_sgd).__name__}; "
                    "e.g. dp_sgd=funcmlp.DPSGD(max_norm=1.0, noise_multiplier=1.1)"
                )
            if self.gradient != "manual":
                raise ValueError(
                    f"DP-SGD clips each example's gradient with norms from the manual backward pass, not "
                    f"gradient={self.gradient!r}: use gradient='manual' (the default)"
                )

    @classmethod
    def given(cls, arguments: dict) -> dict:
        """The fields among a function's ``arguments`` (its ``locals()``) its caller gave (not :data:`CONFIG_DEFAULT`).

        Example:
            >>> TrainConfig.given({"mlp": None, "loss": "sse", "batch_size": 8, "reduction": CONFIG_DEFAULT})
            {'loss': 'sse', 'batch_size': 8}
        """
        names = [field.name for field in dataclasses.fields(cls)]
        return {name: arguments[name] for name in names if name in arguments and arguments[name] is not CONFIG_DEFAULT}

    @classmethod
    def from_options(cls, options: dict, config: TrainConfig | None = None) -> TrainConfig:
        """``config`` as given, or one built from keyword ``options`` (a clear error for an unknown one).

        Example:
            >>> import optax
            >>> options = {"loss": "sse", "optimizer": optax.sgd(0.1), "batch_size": 2, "epoch": 3}
            >>> TrainConfig.from_options(options)  # doctest: +NORMALIZE_WHITESPACE
            Traceback (most recent call last):
            ...
            ValueError: unknown training option 'epoch'; TrainConfig takes loss, optimizer, batch_size, reduction,
            gradient, drop_last, shuffle, classification, on_nonfinite, validate_every, mesh, dp_sgd
        """
        fields = [field.name for field in dataclasses.fields(cls)]
        if config is not None:
            if options:
                raise ValueError(
                    f"give either config= or the options {', '.join(sorted(options))}, not both; "
                    "change a config with dataclasses.replace(config, ...)"
                )
            if not isinstance(config, cls):
                raise ValueError(f"config must be a TrainConfig, got {type(config).__name__}")
            return config
        for name in options:
            if name not in fields:
                raise ValueError(f"unknown training option {name!r}; TrainConfig takes {', '.join(fields)}")
        missing = [name for name in REQUIRED if name not in options]
        if missing:
            raise ValueError(
                f"training needs {' and '.join(f'{name}=' for name in missing)}, not given: "
                + "; ".join(f"{name}= {REQUIRED[name]}" for name in missing)
                + "; or give every option as config=TrainConfig(loss=..., optimizer=..., batch_size=...)"
            )
        return cls(**options)


class _ConfigDefault:
    """The default of a training option of :func:`funcmlp.fit` and :func:`funcmlp.train_epochs`: TrainConfig's."""

    def __repr__(self) -> str:
        return "CONFIG_DEFAULT"


CONFIG_DEFAULT = _ConfigDefault()
"""A training option not given: :class:`TrainConfig`'s default stands (or ``config=``'s value)."""

REQUIRED = {
    "loss": "a loss name such as 'softmax_cross_entropy' or 'mse' (funcmlp.LOSS_NAMES), a funcmlp.Loss or a "
    "function (a, y) -> one value per example",
    "optimizer": "an optax.GradientTransformation, e.g. optimizer=optax.adam(1e-3) or "
    "funcmlp.make_optimizer('adam', 1e-3)",
    "batch_size": "the examples per step, e.g. batch_size=32 (len(x): every example in each step)",
}
"""The fields without a default, and what each is."""


def shows_config_defaults(function):
    """Decorate a function taking every :class:`TrainConfig` field as a keyword defaulting to :data:`CONFIG_DEFAULT`:
    its signature (``help``, ``inspect.signature``, notebooks' tooltips) shows each field's type and TrainConfig's
    default, the fields without one as required; a field it does not take is a ``TypeError`` when it is defined.

    Example:
        >>> shown = inspect.signature(funcmlp.fit).parameters
        >>> shown["reduction"], shown["batch_size"]
        (<Parameter "reduction: 'str' = 'mean'">, <Parameter "batch_size: 'int'">)
    """
    signature = inspect.signature(function)
    fields = {field.name: field for field in dataclasses.fields(TrainConfig)}
    taken = signature.parameters
    missing = [name for name in fields if name not in taken or taken[name].default is not CONFIG_DEFAULT]
    if missing:
        raise TypeError(
            f"{function.__name__} takes no keyword {', '.join(missing)} defaulting to CONFIG_DEFAULT: give it every "
            "TrainConfig field"
        )
    shown = []
    for name, parameter in signature.parameters.items():
        if name in fields:
            default = fields[name].default
            parameter = parameter.replace(
                default=inspect.Parameter.empty if default is dataclasses.MISSING else default,
                annotation=fields[name].type,
            )
        shown.append(parameter)
    function.__signature__ = signature.replace(parameters=shown)
    return function
