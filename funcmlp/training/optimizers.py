"""Optimizer and learning-rate schedule names resolved to optax (seed 004).

:func:`funcmlp.fit` takes any ``optax.GradientTransformation``; these helpers map the
names the command line uses onto optax:

==============  =====================================================================
optimizer       optax
==============  =====================================================================
``sgd``         ``optax.sgd(lr)``: theta <- theta - lr g
``momentum``    ``optax.sgd(lr, momentum=beta)``: v <- beta v + g; theta <- theta - lr v
``nesterov``    ``optax.sgd(lr, momentum=beta, nesterov=True)``
``adagrad``     ``optax.adagrad(lr)``: r <- r + g^2; theta <- theta - lr g / sqrt(r + eps)
``rmsprop``     ``optax.rmsprop(lr, decay=rho)``: r <- rho r + (1 - rho) g^2
``adam``        ``optax.adam(lr, b1, b2)`` with bias correction
``adamw``       ``optax.adamw(lr, b1, b2, weight_decay)``: Adam with decoupled weight decay
``radam``       ``optax.radam(lr, b1, b2)``: Adam with the variance rectification term
==============  =====================================================================

==============  =====================================================================
schedule        learning rate at step t (``lr`` = initial rate, ``T`` = total steps)
==============  =====================================================================
``constant``    lr
``step``        lr * gamma^floor(t / step_size)
``linear``      lr + (end - lr) * min(t / T, 1), end = lr * final_fraction
``exponential`` lr * gamma^(t / step_size)
``cosine``      lr * (final_fraction + (1 - final_fraction) (1 + cos(pi t / T)) / 2)
``warmup``      linear 0 -> lr over ``warmup_steps``, then cosine decay to the end
``inverse_sqrt`` lr / sqrt(t + 1) (seed 004 calls it "step decay")
==============  =====================================================================

Example:
    >>> sched = make_schedule("step", 0.1, total_steps=100, step_size=10, gamma=0.5)
    >>> [round(float(sched(t)), 6) for t in (0, 9, 10, 25)]
    [0.1, 0.1, 0.05, 0.025]
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import jax.numpy as jnp
import optax

from funcmlp.arguments import check_number

OPTIMIZER_NAMES = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "radam")
SCHEDULE_NAMES = ("constant", "step", "linear", "exponential", "cosine", "warmup", "inverse_sqrt")


def make_schedule(
    name: str,
    learning_rate: float,
    *,
    total_steps: int,
    step_size: int | None = None,
    gamma: float = 0.5,
    final_fraction: float = 0.0,
    warmup_steps: int | None = None,
) -> optax.Schedule:
    """An optax schedule ``step -> learning rate`` by name.

    Args:
        name: one of :data:`SCHEDULE_NAMES`.
        learning_rate: the initial (peak, for ``warmup``) rate.
        total_steps: number of optimizer steps in the whole run (epochs x iterations).
        step_size: steps between decays for ``step``/``exponential`` (default total/4).
        gamma: decay factor for ``step``/``exponential``.
        final_fraction: end rate as a fraction of the initial one (``linear``, ``cosine``, ``warmup``).
        warmup_steps: warm-up length for ``warmup`` (default total/10).

    Example:
        >>> float(make_schedule("linear", 1.0, total_steps=10, final_fraction=0.0)(5))
        0.5
    """
    check_number(learning_rate, "learning_rate", above=0, example="1e-3")
    check_number(gamma, "gamma", at_least=0)
    check_number(final_fraction, "final_fraction", at_least=0)
    total_steps = max(int(total_steps), 1)
    step_size = max(int(step_size or total_steps // 4), 1)
    end = learning_rate * final_fraction
    if name == "constant":
        return optax.constant_schedule(learning_rate)
    if name == "step":
        return optax.exponential_decay(learning_rate, step_size, gamma, staircase=True)
    if name == "exponential":
        return optax.exponential_decay(learning_rate, step_size, gamma)
    if name == "linear":
        return optax.linear_schedule(learning_rate, end, total_steps)
    if name == "cosine":
        return optax.cosine_decay_schedule(learning_rate, total_steps, alpha=final_fraction)
    if name == "warmup":
        warmup = max(int(warmup_steps or total_steps // 10), 1)
        return optax.warmup_cosine_decay_schedule(
            0.0, learning_rate, warmup, max(total_steps, warmup + 1), end_value=end
        )
    if name == "inverse_sqrt":
        return lambda step: learning_rate / jnp.sqrt(step + 1.0)
    raise ValueError(f"unknown schedule {name!r}; expected one of {', '.join(SCHEDULE_NAMES)}")


def make_optimizer(
    name: str,
    learning_rate: float | Callable,
    *,
    momentum: float = 0.9,
    decay: float = 0.9,
    b1: float = 0.9,
    b2: float = 0.999,
    weight_decay: float = 1e-4,
) -> optax.GradientTransformation:
    """An optax optimizer by name, with a fixed learning rate or a schedule.

    Example:
        >>> import jax.numpy as jnp
        >>> opt = make_optimizer("sgd", 0.1)
        >>> updates, _ = opt.update(jnp.array([8.0]), opt.init(jnp.array([1.0])))
        >>> round(float(updates[0]), 6)
        -0.8
    """
    # numbers given by a caller are checked; arrays (optax.inject_hyperparams passes them, traced) are not
    given = lambda value: isinstance(value, numbers.Real)
    if given(learning_rate):
        check_number(learning_rate, "learning_rate", above=0, example="1e-3 (or a schedule)")
    for option, value in (("momentum", momentum), ("decay", decay), ("b1", b1), ("b2", b2)):
        if given(value):  # 1: a momentum never forgetting, an RMSprop average stuck at 0, Adam's bias correction / 0
            check_number(value, option, at_least=0, below=1)
    if given(weight_decay):
        check_number(weight_decay, "weight_decay", at_least=0)
    if name == "sgd":
        return optax.sgd(learning_rate)
    if name == "momentum":
        return optax.sgd(learning_rate, momentum=momentum)
    if name == "nesterov":
        return optax.sgd(learning_rate, momentum=momentum, nesterov=True)
    if name == "adagrad":
        return optax.adagrad(learning_rate)
    if name == "rmsprop":
        return optax.rmsprop(learning_rate, decay=decay)
    if name == "adam":
        return optax.adam(learning_rate, b1=b1, b2=b2)
    if name == "adamw":
        return optax.adamw(learning_rate, b1=b1, b2=b2, weight_decay=weight_decay)
    if name == "radam":
        return optax.radam(learning_rate, b1=b1, b2=b2)
    raise ValueError(f"unknown optimizer {name!r}; expected one of {', '.join(OPTIMIZER_NAMES)}")
