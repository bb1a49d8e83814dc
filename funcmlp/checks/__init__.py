"""Every eager check of funcmlp, in one place, run once at the public entry points.

Contract::

    check_batch(mlp, params, x, y, loss, reduction, weights) -> Batch(x, targets, weights)
        x: (batch, d_0) in the params' dtype     targets: (batch, d_L)     weights: (batch,)
    check_params / check_inputs / check_targets / check_weights / check_reduction / check_labels

A check raises ``ValueError`` naming what was wrong, what was expected and the fix, and returns
the value in the form the core expects. The core (:mod:`funcmlp.core`) never checks: it
assumes what comes out of here. Values (labels in range, targets in [0, 1], finiteness) can
be looked at only when they are concrete: under a caller's ``jax.jit`` they are tracers and
only shapes are checked. Concrete values are checked and converted with numpy, on the host,
and come back as numpy arrays (no JAX program is compiled for a data set's shape); traced ones
come back traced, and so does a batch split over several devices whose values hold (checked where
it lies, :mod:`funcmlp.checks.on_devices`: no copy of it to the host). Imports: the registry and the
core only. The params' check is :mod:`funcmlp.checks.params`; the dtypes data may come in (bfloat16
and float16 too) and the range of the network's, :mod:`funcmlp.checks.dtypes`.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp.checks.dtypes import NUMBERS, check_fits_dtype, first_bad, is_floating, is_real_number
from funcmlp.checks.on_devices import inputs_hold, targets_hold, weights_hold
from funcmlp.checks.params import check_params
from funcmlp.core.model import MLP
from funcmlp.core.params import Params
from funcmlp.core.reduction import REDUCTIONS
from funcmlp.registry.losses import get_loss

Array = jax.Array


class Batch(NamedTuple):
    """A checked batch: inputs ``(batch, d_0)`` in the params' dtype, targets ``(batch, d_L)``
    (integer labels one-hot encoded), example weights ``(batch,)`` (ones when none were given)."""

    x: Array
    targets: Array
    weights: Array


def is_concrete(value) -> bool:
    """False for a value traced by ``jit``/``vmap``: its numbers cannot be checked then.

    Example:
        >>> seen = []
        >>> _ = jax.jit(lambda v: seen.append(is_concrete(v)) or v)(jnp.ones(2))
        >>> is_concrete(jnp.ones(2)), seen
        (True, [False])
    """
    return not isinstance(value, jax.core.Tracer)


def check_inputs(mlp: MLP, x, dtype=None) -> Array:
    """Inputs as an array ``(batch, d_0)`` or ``(d_0,)``: numbers, finite, at least one example;
    with ``dtype`` (the params'), within its range.

    Example:
        >>> check_inputs(MLP((2, 1)), [[1.0, float("nan")]])
        Traceback (most recent call last):
        ...
        ValueError: inputs must be finite numbers; found nan at index (0, 1)
    """
    if is_concrete(x) and not inputs_hold(x, dtype):  # (a batch split over devices that holds: checked there)
        x = np.asarray(x)
        if not is_real_number(x.dtype):
            raise ValueError(
                f"inputs must be real numbers, got an array of dtype {x.dtype}; expected {NUMBERS}: convert them, "
                "e.g. np.asarray(x, dtype='float32')"
            )
        if is_floating(x.dtype) and not np.isfinite(x).all():
            where = first_bad(~np.isfinite(x))
            raise ValueError(f"inputs must be finite numbers; found {x[where]} at index {where}")
        if dtype is not None:
            check_fits_dtype(x, dtype, "inputs")
    else:
        x = jnp.asarray(x)
    if x.ndim not in (1, 2) or x.shape[-1] != mlp.sizes[0]:
        raise ValueError(
            f"inputs have shape {tuple(x.shape)}, expected (batch, {mlp.sizes[0]}) or ({mlp.sizes[0]},) for {mlp}"
        )
    if x.ndim == 2 and x.shape[0] == 0:
        raise ValueError(
            f"inputs have no examples (shape {tuple(x.shape)}); give at least one row of {mlp.sizes[0]} features"
        )
    if not jnp.issubdtype(x.dtype, jnp.floating):
        x = x.astype(jnp.result_type(float))
    return x


def check_labels(labels, units: int, loss_name: str | None = None) -> None:
    """Raise ``ValueError`` naming the first integer label outside ``0..units-1``, its index and the class count."""
    labels = np.asarray(labels).reshape(-1)
    bad = (labels < 0) | (labels >= units)
    if bad.any():
        index = first_bad(bad)[0]
        widen = f" or give the output layer {int(labels.max()) + 1} units" if labels.max() >= units else ""
        takes = f"loss {loss_name!r} with {units} output units takes" if loss_name else f"{units} output units take"
        raise ValueError(
            f"label {labels[index]} at index {index} is out of range: {takes} labels 0..{units - 1}; "
            f"relabel the classes as 0..{units - 1}{widen}"
        )


def check_targets(loss, y, batch: int, units: int, dtype) -> Array:
    """Targets as a ``(batch, units)`` float array, checked against what ``loss`` accepts.

    Accepts ``(batch, units)``, ``(batch,)`` when ``units == 1``, integer labels ``(batch,)``
    for the class losses (one-hot encoded here), and the single-example forms ``(units,)`` or
    a scalar. Values, when concrete: finite; in [0, 1] for probability and class losses;
    labels in ``0..units-1``.

    Example:
        >>> check_targets("softmax_cross_entropy", jnp.array([2, 0]), 2, 3, jnp.float32).tolist()
        [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
        >>> labels = jnp.array([2, 3])
        >>> check_targets("softmax_cross_entropy", labels, 2, 3, jnp.float32)  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: label 3 at index 1 is out of range: loss 'softmax_cross_entropy' with 3 output units takes
        labels 0..2; relabel the classes as 0..2 or give the output layer 4 units
    """
    loss = get_loss(loss)
    spec = loss.spec
    dtype = np.dtype(dtype)
    concrete = is_concrete(y) and not targets_hold(loss, y, batch, units, dtype)  # (split over devices: checked there)
    values = np.asarray(y) if concrete else None  # checked in numpy: jnp results are traced under a caller's jit
    if concrete and not is_real_number(values.dtype):
        raise ValueError(
            f"targets must be real numbers, got an array of dtype {values.dtype}; expected {NUMBERS}: convert them, "
            f"and encode classes as integers 0..{units - 1}"
        )
    y = values if concrete else jnp.asarray(y)
    if y.shape == () and batch != 1:
        raise ValueError(
            f"a single target was given for {batch} examples; give one per example, "
            f"shape ({batch},) or ({batch}, {units})"
        )
    if jnp.issubdtype(y.dtype, jnp.integer) and y.shape in ((batch,), ()) and spec.targets == "class":
        if concrete:
            check_labels(values, units, loss.name)
            return np.eye(units, dtype=dtype)[values.reshape(batch)]
        return jax.nn.one_hot(y.reshape(batch), units, dtype=dtype)
    with np.errstate(over="ignore"):  # a value beyond dtype's range is refused below, naming it
        y = y.astype(dtype)
    if y.shape in ((batch,), ()) and units == 1:
        y = y.reshape(batch, 1)
    elif y.shape == (units,) and batch == 1:
        y = y.reshape(1, units)
    if y.shape != (batch, units):
        hint = " or integer labels (batch,)" if spec.targets == "class" else ""
        if spec.from_function and y.shape == (batch,) and units > 1:
            hint = (
                f": a loss function takes targets of the outputs' shape; one-hot encode labels "
                f"(jax.nn.one_hot(y, {units})), or register it to take labels: funcmlp.register_loss(name, loss, "
                "targets='class')"
            )
        if spec.targets in ("binary", "probability") and y.shape == (batch,) and units > 1:
            hint = (
                f": one 0/1 target per output unit; for {units} classes given as labels (batch,) use "
                "softmax_cross_entropy"
            )
        raise ValueError(
            f"targets have shape {tuple(y.shape)}, expected ({batch}, {units}) = (batch, output units){hint} "
            f"for loss {loss.name!r}"
        )
    if concrete:
        values = values.astype(np.float64).reshape(batch, units)
        if not np.isfinite(values).all():
            where = first_bad(~np.isfinite(values))
            raise ValueError(f"targets must be finite numbers; found {values[where]} at index {where}")
        check_fits_dtype(values, dtype, "targets")
        kind = loss.target_kind
        outside = np.zeros(values.shape, bool)
        if kind.low is not None:
            outside |= values < kind.low
        if kind.high is not None:
            outside |= values > kind.high
        if kind.labels:
            outside |= (values != 0) & (values != 1)
        if outside.any():
            where = first_bad(outside)
            raise ValueError(
                f"loss {loss.name!r} needs targets {kind.words}, found {values[where]:g} at index {where}; {kind.fix}"
            )
    return y


def check_weights(weights, batch: int, dtype, reduction: str) -> Array:
    """Per-example weights ``(batch,)``: ones by default; finite, >= 0 and (for the mean) not all
    0 when they are concrete.

    Example:
        >>> (check_weights(None, 2, jnp.float32, "mean").tolist(),
        ...  check_weights([0.5, 0], 2, jnp.float32, "sum").tolist())
        ([1.0, 1.0], [0.5, 0.0])
    """
    if weights is None:
        return np.ones((batch,), dtype)
    concrete = is_concrete(weights) and not weights_hold(weights, batch, dtype, reduction)  # (split: checked there)
    values = np.asarray(weights, np.float64) if concrete else None
    with np.errstate(over="ignore"):  # a weight beyond dtype's range is refused below, naming it
        weights = np.asarray(weights, dtype) if concrete else jnp.asarray(weights, dtype)
    if weights.shape != (batch,):
        raise ValueError(f"example weights have shape {tuple(weights.shape)}, expected ({batch},), one per example")
    if concrete:
        bad = ~np.isfinite(values) | (values < 0)
        if bad.any():
            index = first_bad(bad)[0]
            raise ValueError(f"example weights must be finite and >= 0; found {values[index]} at index {index}")
        check_fits_dtype(values, dtype, "example weights")
        if reduction == "mean" and not values.any():
            raise ValueError(
                "example weights are all 0: the mean over no examples is undefined; give at least one positive weight"
            )
    return weights


def check_reduction(reduction: str) -> str:
    """``reduction`` if it is one of :data:`~funcmlp.core.reduction.REDUCTIONS`."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; expected 'mean' (divide by the batch size) or 'sum'")
    return reduction


def check_batch(mlp: MLP, params: Params, x, y, loss, *, reduction: str = "mean", weights=None) -> Batch:
    """Everything a loss of ``mlp`` on ``(x, y)`` needs, checked: the params against the network,
    the loss against its output layer, the inputs, the targets and weights against the loss;
    the data cast to the params' dtype, a single example ``(d_0,)`` made a batch of one.

    Example:
        >>> import jax
        >>> mlp = MLP((2, 3), "identity")
        >>> labels = jnp.array([0, 2, 1, 0])
        >>> batch = check_batch(mlp, mlp.init(jax.random.key(0)), jnp.ones((4, 2)), labels, "softmax_cross_entropy")
        >>> batch.x.shape, batch.targets.shape, batch.weights.shape
        ((4, 2), (4, 3), (4,))
    """
    return _checked(mlp, params, x, y, loss, reduction, weights, whole_data=False)


def check_data(mlp: MLP, params: Params, x, y, loss, *, reduction: str = "mean", weights=None) -> Batch:
    """A data set for training or evaluation: as :func:`check_batch`, but the inputs must be a
    batch ``(N, d_0)`` (a single example is refused).

    Example:
        >>> import jax
        >>> mlp = MLP((2, 1), "identity")
        >>> check_data(mlp, mlp.init(jax.random.key(0)), jnp.ones(2), jnp.zeros(1), "sse")
        Traceback (most recent call last):
        ...
        ValueError: data inputs must be a batch (N, 2), got shape (2,)
    """
    return _checked(mlp, params, x, y, loss, reduction, weights, whole_data=True)


def _checked(mlp: MLP, params: Params, x, y, loss, reduction: str, weights, *, whole_data: bool) -> Batch:
    loss = get_loss(loss)
    check_reduction(reduction)
    check_params(mlp, params)
    loss.check_output(mlp.activations[-1], mlp.sizes[-1])
    dtype = params[0].W.dtype
    x = check_inputs(mlp, x, dtype).astype(dtype)  # data follow the params' dtype
    if whole_data and x.ndim != 2:
        raise ValueError(f"data inputs must be a batch (N, {mlp.sizes[0]}), got shape {tuple(x.shape)}")
    x = x.reshape(1, -1) if x.ndim == 1 else x
    batch = x.shape[0]
    return Batch(
        x, check_targets(loss, y, batch, mlp.sizes[-1], dtype), check_weights(weights, batch, dtype, reduction)
    )
