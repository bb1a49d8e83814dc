"""The activation registry itself: :data:`ACTIVATIONS` (name -> :class:`ActivationSpec`), the built-in
names, the aliases, and :func:`register_activation` / :func:`unregister_activation` for activations of one's own.

Contract: the table :class:`funcmlp.registry.activations.Activation` looks names up in; entries only
(what each activation computes, and the conventions at the kinks: :mod:`funcmlp.registry.activations`).
Registering the same definition again (a notebook cell run twice) changes nothing; another one under a
taken name needs ``replace=True`` (:mod:`funcmlp.registry.definitions` says when two are the same).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from funcmlp.registry.activation_rules import BUILTIN, ActivationSpec, sp
from funcmlp.registry.definitions import check_redefinition
from funcmlp.registry.entry_checks import probe_activation

__all__ = ["ACTIVATIONS", "ACTIVATION_NAMES", "ALIASES", "register_activation", "unregister_activation"]


ACTIVATIONS: dict[str, ActivationSpec] = {spec.name: spec for spec in BUILTIN}
"""The registry: name -> :class:`ActivationSpec`, built-ins first, then registered ones."""

ACTIVATION_NAMES: tuple[str, ...] = tuple(ACTIVATIONS)
"""The built-in names (registered activations are in :data:`ACTIVATIONS`)."""

_DEFINITIONS: dict[str, dict] = {}
"""name -> the arguments :func:`register_activation` was given for it (what a registration again is compared with)."""

ALIASES = {
    "linear": "identity",
    "purelin": "identity",
    "step": "hardlimit",
    "hardlim": "hardlimit",
    "heaviside": "hardlimit",
    "hardlims": "symmetric_hardlimit",
    "sign": "symmetric_hardlimit",
    "logistic": "sigmoid",
}


def register_activation(
    name: str,
    forward: Callable,
    derivative: Callable,
    *,
    default_alpha: float | None = None,
    kinks=(),
    convention: str = "",
    sympy_forward: Callable | None = None,
    sympy_derivative: Callable | None = None,
    output_range: tuple[float, float] | None = None,
    probabilities: bool = False,
    description: str = "",
    second_derivative: Callable | None = None,
    sympy_second_derivative: Callable | None = None,
    replace: bool = False,
) -> ActivationSpec:
    """Add an elementwise activation to the registry; backprop, gradient checks and (with the
    sympy forms) ``funcmlp derive check`` then take it by name like a built-in.

    Args:
        name: a new lower-case name (letters, digits, underscores), or a registered one again (below).
        forward, derivative: JAX functions ``(n, alpha) -> array`` of ``n``'s shape and dtype
            (elementwise); ``alpha`` is ``default_alpha`` unless a layer sets it (``"name(0.5)"``).
        default_alpha: the parameter's default (a finite number), or ``None`` for an activation without one.
        kinks: net inputs where the derivative jumps, a tuple of numbers such as ``(0.0,)``.
        convention: the derivative's value at the kinks, in words.
        sympy_forward, sympy_derivative: ``(x, alpha) -> sympy expression``; without
            ``sympy_derivative`` derivations use ``sympy.diff`` of ``sympy_forward``.
        output_range: ``(low, high)``, finite numbers with ``low < high``, for bounded outputs (decides
            one-unit thresholds).
        probabilities: its outputs are probabilities (refused by the logits losses).
        second_derivative: ``(n, alpha) -> f''(n)``, JAX, elementwise, for the Hessian's diagonal; without it
            :meth:`Activation.second_derivative` takes ``jax.grad`` of ``derivative`` at each entry.
        sympy_second_derivative: ``(x, alpha) -> sympy expression``; without it ``sympy.diff`` of
            ``sympy_derivative``.
        replace: register over a name that holds another definition. Registering the same definition again
            (the same arguments, functions compared by their code, defaults, closures and the globals they read,
            so that a notebook cell run twice is the same: :mod:`funcmlp.registry.definitions`) changes nothing
            and returns the entry already there, with or without it. A replaced entry is a new activation: an
            :class:`~funcmlp.MLP` made before keeps the old one (and compiled programs keyed on it).

    Raises:
        ValueError: for a name malformed, built in (or an alias), or registered with another definition (without
            ``replace=True``, naming the argument that differs), or where ``forward`` or ``derivative``, traced once on
            probe inputs ``n`` of shape ``(3, 2)`` (float32, and float64 under x64), fails or does not return
            ``n``'s shape and dtype (:func:`funcmlp.registry.entry_checks.probe_activation`); a reversed
            ``output_range`` or a kink that is not finite.
        TypeError: for kinks, an output range or a default alpha that are not numbers (text included).

    Example:
        >>> import jax, jax.numpy as jnp, sympy
        >>> from funcmlp.registry.activations import get_activation
        >>> spec = register_activation(
        ...     "swish_doc", lambda n, alpha: n * jax.nn.sigmoid(n),
        ...     lambda n, alpha: jax.nn.sigmoid(n) * (1 + n * (1 - jax.nn.sigmoid(n))),
        ...     sympy_forward=lambda x, alpha: x / (1 + sympy.exp(-x)))
        >>> round(float(get_activation("swish_doc").derivative(jnp.array(1.0))), 6)
        0.927671
        >>> spec is register_activation(  # the cell run again: the same definition, nothing changes
        ...     "swish_doc", lambda n, alpha: n * jax.nn.sigmoid(n),
        ...     lambda n, alpha: jax.nn.sigmoid(n) * (1 + n * (1 - jax.nn.sigmoid(n))),
        ...     sympy_forward=lambda x, alpha: x / (1 + sympy.exp(-x)))
        True
        >>> unregister_activation("swish_doc")
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"activation name must be lower-case letters, digits and underscores, got {name!r}")
    if name in ACTIVATION_NAMES or name in ALIASES:
        raise ValueError(
            f"activation {name!r} is already registered; choose another name (a built-in or an alias cannot be "
            "replaced)"
        )
    optional = (sympy_forward, sympy_derivative, second_derivative, sympy_second_derivative)
    if not callable(forward) or not callable(derivative) or not all(f is None or callable(f) for f in optional):
        raise ValueError(
            f"activation {name!r}: forward and derivative must be functions (n, alpha) -> array, as second_derivative "
            "where given (and the sympy forms ones (x, alpha) -> sympy expression)"
        )
    definition = {
        "forward": forward,
        "derivative": derivative,
        "default_alpha": default_alpha,
        "kinks": kinks,
        "convention": convention,
        "sympy_forward": sympy_forward,
        "sympy_derivative": sympy_derivative,
        "output_range": output_range,
        "probabilities": probabilities,
        "description": description,
        "second_derivative": second_derivative,
        "sympy_second_derivative": sympy_second_derivative,
    }
    old = _DEFINITIONS.get(name, {}) if name in ACTIVATIONS else None
    if check_redefinition("activation", name, old, definition, replace):
        return ACTIVATIONS[name]
    if sympy_forward is not None and sympy_derivative is None:

        def sympy_derivative(x, alpha):
            t = sp.Dummy("t", real=True)
            return sp.diff(sympy_forward(t, alpha), t).subs(t, x)

    spec = ActivationSpec(
        name,
        forward,
        derivative,
        default_alpha=default_alpha,
        kinks=kinks,
        convention=convention,
        sympy_forward=sympy_forward,
        sympy_derivative=sympy_derivative,
        output_range=output_range,
        probabilities=probabilities,
        description=description,
        second_derivative=second_derivative,
        sympy_second_derivative=sympy_second_derivative,
    )
    probe_activation(spec)  # forward and derivative return n's shape and dtype, checked once, here
    ACTIVATIONS[name] = spec
    _DEFINITIONS[name] = definition
    return spec


def unregister_activation(name: str) -> None:
    """Remove an activation added by :func:`register_activation` (built-ins stay).

    Example:
        >>> unregister_activation("relu")
        Traceback (most recent call last):
        ...
        ValueError: 'relu' is built in and cannot be removed
    """
    if name in ACTIVATION_NAMES:
        raise ValueError(f"{name!r} is built in and cannot be removed")
    if name not in ACTIVATIONS:
        raise ValueError(
            f"no registered activation {name!r}; registered: "
            f"{', '.join(n for n in ACTIVATIONS if n not in ACTIVATION_NAMES) or 'none'}"
        )
    del ACTIVATIONS[name]
    _DEFINITIONS.pop(name, None)
