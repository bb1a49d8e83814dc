"""Losses given as functions: ``dL/da`` by ``jax.grad`` where no closed form is given, and the entry of a
bare function given where a loss name is taken.

Contract::

    autodiff_gradient(value)      -> gradient (a, y, *parameter) -> (batch, d): dL_i/da_i, jax.grad of sum_i L_i
    function_spec(function)       -> the LossSpec of a function (a, y) -> (batch,), one per function (cached)
    probe_function(spec, units)   its value and gradient traced on a probe batch of the network's units, once

A bare function ``loss(a, y) -> (batch,)`` (``a``: the output activations ``(batch, d_L)``, ``y``: the
targets, the same shape, floats; one value per example, each depending on its own row alone) becomes
an unregistered entry: targets any finite numbers (``"real"``), any output activation, ``dL_i/da_i`` by
autodiff (the sum over the batch differentiated once: each example's loss depends on its own row only,
so its gradient row is that example's), curvature by autodiff, no sympy form. The entry is cached on
the function (functions hash by identity), so the same function gives the same :class:`~funcmlp.Loss`
and the compiled programs keyed on it are reused; a new function object (a lambda written again) is a
new loss. Imports: :mod:`funcmlp.registry.loss_spec` and :mod:`funcmlp.registry.entry_checks`.
"""

from __future__ import annotations

import functools
from collections import OrderedDict
from collections.abc import Callable

import jax
import jax.numpy as jnp

from funcmlp.registry.entry_checks import probe_loss
from funcmlp.registry.loss_spec import LossSpec

CACHED_FUNCTIONS = 256
"""Bare loss functions whose entries are kept (the least recently used is dropped beyond: a loop that
writes a new lambda each step would otherwise keep every one)."""

_SPECS: OrderedDict = OrderedDict()


def autodiff_gradient(value: Callable) -> Callable:
    """``dL_i/da_i`` of a per-example loss ``value(a, y, *parameter) -> (batch,)``, by ``jax.grad`` of the sum
    over the examples: ``(batch, d) -> (batch, d)`` in ``a``'s dtype.

    Example:
        >>> import jax.numpy as jnp
        >>> gradient = autodiff_gradient(lambda a, y: jnp.sum((a - y) ** 4, axis=-1))
        >>> gradient(jnp.array([[3.0], [2.0]]), jnp.array([[1.0], [1.0]])).tolist()  # 4 (a - y)^3
        [[32.0], [4.0]]
    """

    def gradient(a, y, *parameter):
        return jax.grad(lambda outputs: jnp.sum(value(outputs, y, *parameter)))(a)

    return gradient


def _name(function) -> str:
    name = getattr(function, "__name__", None)
    if isinstance(function, functools.partial):
        name = f"partial({_name(function.func)})"
    return name if isinstance(name, str) else type(function).__name__


def function_spec(function: Callable) -> LossSpec:
    """The entry of a bare loss function ``(a, y) -> (batch,)``: the same entry for the same function.

    Raises:
        TypeError: for a callable that cannot be hashed (the compiled programs are keyed on it).

    Example:
        >>> import jax.numpy as jnp
        >>> def quartic(a, y):
        ...     return jnp.sum((a - y) ** 4, axis=-1)
        >>> spec = function_spec(quartic)
        >>> spec.name, spec.targets, spec is function_spec(quartic)
        ('quartic', 'real', True)
    """
    try:
        spec = _SPECS.get(function)
    except TypeError:
        raise TypeError(
            f"a loss function must be hashable (compiled programs are keyed on it), got a {type(function).__name__} "
            "that is not; pass a def, a lambda or a functools.partial"
        ) from None
    if spec is None:
        spec = LossSpec(
            _name(function),
            function,
            autodiff_gradient(function),
            "real",
            sympy_value=None,
            sympy_gradient=None,
            description="a function of (a, y), dL/da by jax.grad",
            from_function=True,
        )
        _SPECS[function] = spec
        if len(_SPECS) > CACHED_FUNCTIONS:
            _SPECS.popitem(last=False)
    else:
        _SPECS.move_to_end(function)
    return spec


@functools.lru_cache(maxsize=CACHED_FUNCTIONS)
def probe_function(spec: LossSpec, units: int) -> None:
    """Refuse a bare loss function whose value is not one number per example, traced on outputs and targets of
    shape ``(3, units)`` (float32, and float64 under x64): once per function and number of output units.

    Example:
        >>> import jax.numpy as jnp
        >>> probe_function(function_spec(lambda a, y: jnp.mean((a - y) ** 2)), 10)  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: loss function '<lambda>': value(a, y) returned shape () float32 for a and y of shape (3, 10)
        float32, expected (3,) = (batch,), each example's loss summed over the output units; sum over the last axis
        alone, e.g. jnp.sum((a - y) ** 4, axis=-1): funcmlp takes the mean over the batch (or the sum, reduction='sum')
    """
    probe_loss(spec, units=units, owner=f"loss function {spec.name!r}")
