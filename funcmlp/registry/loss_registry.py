"""The loss registry itself: :data:`LOSSES` (name -> :class:`LossSpec`), the built-in names, and
:func:`register_loss` / :func:`unregister_loss` for losses of one's own.

Contract: the table :class:`funcmlp.registry.losses.Loss` looks names up in; entries only
(what each loss computes and accepts: :mod:`funcmlp.registry.losses`). Registering the same definition
again (a notebook cell run twice) changes nothing; another one under a taken name needs ``replace=True``
(:mod:`funcmlp.registry.definitions` says when two are the same).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from funcmlp.registry.definitions import check_redefinition
from funcmlp.registry.entry_checks import probe_loss
from funcmlp.registry.lazy_sympy import sp
from funcmlp.registry.loss_functions import autodiff_gradient
from funcmlp.registry.loss_rules import BUILTIN
from funcmlp.registry.loss_spec import TARGET_KINDS, LossSpec

__all__ = ["LOSSES", "LOSS_NAMES", "register_loss", "unregister_loss"]


LOSSES: dict[str, LossSpec] = {spec.name: spec for spec in BUILTIN}
"""The registry: name -> :class:`LossSpec`, built-ins first, then registered ones."""

LOSS_NAMES: tuple[str, ...] = tuple(LOSSES)
"""The built-in names (registered losses are in :data:`LOSSES`)."""

_DEFINITIONS: dict[str, dict] = {}
"""name -> the arguments :func:`register_loss` was given for it (what a registration again is compared with)."""


def register_loss(
    name: str,
    value: Callable,
    gradient: Callable | None = None,
    *,
    targets: str = "real",
    sympy_value: Callable | None = None,
    description: str = "",
    hessian_factor: Callable | None = None,
    sympy_hessian_factor: Callable | None = None,
    sample: Callable | None = None,
    replace: bool = False,
) -> LossSpec:
    """Add a loss to the registry; backprop, ``fit``, gradient checks, the estimators, the command
    line (run in the same process: :func:`funcmlp.cli.main`) and, with ``sympy_value``,
    ``funcmlp derive check`` then take it by name like a built-in.

    Args:
        name: a new lower-case name (letters, digits, underscores), or a registered one again (below).
        value: ``(a, y) -> (batch,)``, JAX: each example's loss summed over the output units,
            for outputs and targets ``(batch, d)``, in their dtype (each example's value from its own row only).
        gradient: ``(a, y) -> (batch, d)``, JAX: its closed form ``dL_i/da_i``, in ``a``'s dtype; ``None``:
            ``jax.grad`` of ``value`` (:func:`~funcmlp.registry.loss_functions.autodiff_gradient`). The layers'
            recursion stays the manual one either way.
        targets: a key of :data:`TARGET_KINDS` (``"real"``, ``"nonnegative"``, ``"probability"``,
            ``"class"``, ``"binary"``): what the targets are checked against.
        sympy_value: ``(a, y) -> sympy expression``, the loss of one output unit for scalars
            ``a`` and ``y``; ``funcmlp derive`` sums it over the units and differentiates it with
            sympy (the closed form of ``dL/da`` there is ``sympy.diff``'s: ``derive check`` proves the
            chain rule through the loss, while :func:`funcmlp.check_gradients` checks ``gradient``
            against ``jax.grad`` of ``value`` and finite differences).
        hessian_factor: ``(a, y) -> (batch, d, C)``, JAX: a factor ``S`` of each example's Hessian in ``a``,
            ``S S^T = d^2 L_i/da^2`` (the GGN's curvature). Without it :meth:`Loss.hessian_factor` takes
            ``jax.hessian`` of ``value`` and its eigendecomposition, NaN columns where the Hessian has a clearly
            negative eigenvalue (:func:`~funcmlp.registry.loss_curvature_rules.autodiff_hessian_factor`).
        sympy_hessian_factor: ``(a, y) -> sympy expression``, for scalars as ``sympy_value``: ``s`` with
            ``s^2`` the second derivative of one unit's loss (the factor is ``diag(s)``); without it
            ``sympy.sqrt`` of ``sympy.diff(sympy_value, a, 2)``.
        sample: ``(key, a) -> (batch, d)``, JAX: targets drawn from the model's predictive distribution at
            outputs ``a``, of which the loss is the negative log-likelihood (up to a constant): Monte Carlo
            curvature. Without it the loss has none (:attr:`Loss.has_likelihood` is False).
        replace: register over a name that holds another definition. Registering the same definition again
            (the same arguments, functions compared by their code, defaults, closures and the globals they read,
            so that a notebook cell run twice is the same: :mod:`funcmlp.registry.definitions`) changes nothing
            and returns the entry already there, with or without it. A replaced entry is a new loss: a
            :class:`~funcmlp.Loss` made before keeps the old one (and compiled programs keyed on it).

    Raises:
        ValueError: for a name malformed, built in, or registered with another definition (without
            ``replace=True``, naming the argument that differs), an unknown target kind, or where ``value`` or
            ``gradient``, traced once on probe outputs and targets of shape ``(3, 2)`` (float32, and
            float64 under x64), fails or returns another shape or dtype
            (:func:`funcmlp.registry.entry_checks.probe_loss`): a gradient summed to one number would
            otherwise be broadcast into wrong gradients, a value summed over the batch a loss B times too large.
            So are ``hessian_factor`` (``(batch, d, C)``) and ``sample`` (``(batch, d)``), where given.

    Example:
        >>> import jax.numpy as jnp
        >>> from funcmlp import get_loss
        >>> spec = register_loss("quartic_doc", lambda a, y: jnp.sum((a - y) ** 4, axis=-1),
        ...                      lambda a, y: 4 * (a - y) ** 3, sympy_value=lambda a, y: (a - y) ** 4)
        >>> float(get_loss("quartic_doc").gradient(jnp.array([[3.0]]), jnp.array([[1.0]]))[0, 0])
        32.0
        >>> unregister_loss("quartic_doc")
        >>> spec = register_loss("cubic_doc", lambda a, y: jnp.sum(jnp.abs(a - y) ** 3, axis=-1))  # dL/da by jax.grad
        >>> spec is register_loss("cubic_doc", lambda a, y: jnp.sum(jnp.abs(a - y) ** 3, axis=-1))  # run again
        True
        >>> float(get_loss("cubic_doc").gradient(jnp.array([[3.0]]), jnp.array([[1.0]]))[0, 0])
        12.0
        >>> unregister_loss("cubic_doc")
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"loss name must be lower-case letters, digits and underscores, got {name!r}")
    if name in LOSS_NAMES:
        raise ValueError(f"loss {name!r} is already registered; choose another name (a built-in cannot be replaced)")
    optional = (gradient, sympy_value, hessian_factor, sympy_hessian_factor, sample)
    if not callable(value) or not all(f is None or callable(f) for f in optional):
        raise ValueError(
            f"loss {name!r}: value and gradient must be functions (a, y) -> array (gradient None: jax.grad of value), "
            "as hessian_factor and sample ((key, a) -> array) where given (and sympy_value one (a, y) -> sympy "
            "expression of one output unit)"
        )
    definition = {
        "value": value,
        "gradient": gradient,
        "targets": targets,
        "sympy_value": sympy_value,
        "description": description,
        "hessian_factor": hessian_factor,
        "sympy_hessian_factor": sympy_hessian_factor,
        "sample": sample,
    }
    if check_redefinition("loss", name, _DEFINITIONS.get(name, {}) if name in LOSSES else None, definition, replace):
        return LOSSES[name]
    if targets not in TARGET_KINDS:
        raise ValueError(f"loss {name!r}: targets must be one of {', '.join(TARGET_KINDS)}, got {targets!r}")
    symbolic, closed_form, symbolic_factor = None, None, None
    if sympy_value is not None:

        def symbolic(a, y):
            return sp.Add(*[sympy_value(aj, yj) for aj, yj in zip(a, y, strict=True)])

        def closed_form(a, y):
            t = sp.Dummy("t", real=True)
            return [sp.diff(sympy_value(t, yj), t).subs(t, aj) for aj, yj in zip(a, y, strict=True)]

    if sympy_value is not None or sympy_hessian_factor is not None:

        def unit_factor(aj, yj):
            if sympy_hessian_factor is not None:
                return sympy_hessian_factor(aj, yj)
            t = sp.Dummy("t", real=True)
            return sp.sqrt(sp.diff(sympy_value(t, yj), t, 2)).subs(t, aj)

        def symbolic_factor(a, y):
            units = [unit_factor(aj, yj) for aj, yj in zip(a, y, strict=True)]
            return [[u if i == j else sp.Integer(0) for j in range(len(units))] for i, u in enumerate(units)]

    spec = LossSpec(
        name,
        value,
        autodiff_gradient(value) if gradient is None else gradient,
        targets,
        sympy_value=symbolic,
        sympy_gradient=closed_form,
        description=description,
        hessian_factor=hessian_factor,
        sympy_hessian_factor=symbolic_factor,
        sample=sample,
    )
    probe_loss(spec)  # the value one number per example, the gradient a's shape, in a's dtype: checked once, here
    LOSSES[name] = spec
    _DEFINITIONS[name] = definition
    return spec


def unregister_loss(name: str) -> None:
    """Remove a loss added by :func:`register_loss` (built-ins stay).

    Example:
        >>> unregister_loss("sse")
        Traceback (most recent call last):
        ...
        ValueError: 'sse' is built in and cannot be removed
    """
    if name in LOSS_NAMES:
        raise ValueError(f"{name!r} is built in and cannot be removed")
    if name not in LOSSES:
        raise ValueError(
            f"no registered loss {name!r}; registered: {', '.join(n for n in LOSSES if n not in LOSS_NAMES) or 'none'}"
        )
    del LOSSES[name]
    _DEFINITIONS.pop(name, None)
