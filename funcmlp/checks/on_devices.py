"""The values of a batch split over devices, checked where they lie: no copy of it to the host.

Contract (each ``False`` for anything that is not a concrete ``jax.Array`` split over devices)::

    split_over_devices(value)                          -> bool   its entries lie on several devices (not replicated)
    inputs_hold(x, dtype)                              -> bool   x passes check_inputs's value checks
    targets_hold(loss, y, batch, units, dtype)         -> bool   y passes check_targets's value checks
    weights_hold(weights, batch, dtype, reduction)     -> bool   weights pass check_weights's value checks

A batch placed with ``jax.device_put(x, NamedSharding(mesh, P("data")))`` is checked by one small compiled
reduction per check (the devices each look at their own rows; a few booleans come back), and the entry point
then computes on it where it lies. Where one says no (or the array has a shape the checks refuse), the
caller takes it to the host and the checks of :mod:`funcmlp.checks` find and name the entry: the messages
stay theirs, the host copy is made only on the way to an error. Imports: the registry and :mod:`funcmlp.checks.dtypes`.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp.checks.dtypes import is_floating, is_real_number
from funcmlp.registry.losses import get_loss


def split_over_devices(value) -> bool:
    """Whether ``value`` is a concrete ``jax.Array`` whose entries lie on several devices, not replicated
    (a tracer, a NumPy array, an array on one device or on every device alike: False).

    Example:
        >>> split_over_devices(jnp.ones(3)), split_over_devices(np.ones(3))
        (False, False)
    """
    return isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer) and not value.is_fully_replicated


def _range_of(values_dtype, dtype) -> float | None:
    """The largest magnitude the params' ``dtype`` holds, where values of ``values_dtype`` may exceed it (the
    rule of :func:`funcmlp.checks.dtypes.check_fits_dtype`; targets and weights are read as float64 there)."""
    if not is_floating(dtype) or np.dtype(values_dtype).kind == "b":
        return None
    limit = float(jnp.finfo(dtype).max)
    widest = jnp.finfo(values_dtype).max if is_floating(values_dtype) else np.iinfo(values_dtype).max
    return None if float(widest) <= limit else limit


@partial(jax.jit, static_argnames=("limit", "low", "high", "labels", "below", "some"))
def _hold(values, *, limit=None, low=None, high=None, labels=False, below=None, some=False):
    """One reduction: every entry finite, of magnitude at most ``limit``, in ``[low, high]``, 0 or 1 (``labels``),
    below ``below``; and (``some``) not all 0."""
    ok = jnp.all(jnp.isfinite(values)) if jnp.issubdtype(values.dtype, jnp.floating) else jnp.bool_(True)
    if limit is not None:  # (bfloat16 and float16 compared in float32: bfloat16 rounds float16's 65504 up)
        wide = (
            values.astype(jnp.promote_types(values.dtype, jnp.float32))
            if jnp.issubdtype(values.dtype, jnp.floating)
            else values
        )
        ok &= jnp.all(jnp.abs(wide) <= limit)
    if low is not None:
        ok &= jnp.all(values >= low)
    if high is not None:
        ok &= jnp.all(values <= high)
    if labels:
        ok &= jnp.all((values == 0) | (values == 1))
    if below is not None:
        ok &= jnp.all(values < below)
    if some:
        ok &= jnp.any(values != 0)
    return ok


def _read(ok) -> bool:
    return bool(jax.device_get(ok))


def inputs_hold(x, dtype=None) -> bool:
    """Whether ``x``, split over devices, holds numbers that are finite and (with ``dtype``) within its range.

    Example:
        >>> inputs_hold(jnp.ones((2, 3)))  # on one device: the host checks it
        False
    """
    if not split_over_devices(x) or not is_real_number(x.dtype):
        return False
    return _read(_hold(x, limit=None if dtype is None else _range_of(x.dtype, dtype)))


def targets_hold(loss, y, batch: int, units: int, dtype) -> bool:
    """Whether ``y``, split over devices, is of a shape the loss takes and holds what it takes: integer labels
    ``(batch,)`` in ``0..units-1`` for a class loss, else finite numbers within the loss's bounds and ``dtype``'s
    range.

    Example:
        >>> targets_hold("softmax_cross_entropy", jnp.array([0, 2]), 2, 3, jnp.float32)
        False
    """
    if not split_over_devices(y) or not is_real_number(y.dtype):
        return False
    loss = get_loss(loss)
    shape = tuple(y.shape)
    if jnp.issubdtype(y.dtype, jnp.integer) and shape == (batch,) and loss.spec.targets == "class":
        return _read(_hold(y, low=0, below=units))
    accepted = shape == (batch, units) or (shape == (batch,) and units == 1) or (shape == (units,) and batch == 1)
    if not accepted:
        return False
    kind = loss.target_kind
    low, high = kind.low, kind.high
    return _read(_hold(y, limit=_range_of(jnp.float64, dtype), low=low, high=high, labels=kind.labels))


def weights_hold(weights, batch: int, dtype, reduction: str) -> bool:
    """Whether ``weights``, split over devices, are ``(batch,)`` numbers, finite, at least 0, within ``dtype``'s
    range and (for the mean) not all 0.

    Example:
        >>> weights_hold(jnp.ones(3), 3, jnp.float32, "mean")
        False
    """
    if not split_over_devices(weights) or not is_real_number(weights.dtype) or tuple(weights.shape) != (batch,):
        return False
    return _read(_hold(weights, limit=_range_of(jnp.float64, dtype), low=0, some=reduction == "mean"))
