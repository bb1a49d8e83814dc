"""The activation registry: one entry per activation, its JAX and sympy forms side by side.

Every activation ``f`` maps a net input ``n`` of shape ``(..., d)`` to an output
``a = f(n)`` of the same shape. The backward rule used by manual backprop is the
vector-Jacobian product ``g -> g @ J_f(n)`` (seed 003 eq. 33, the ``F'(n^k)`` factor):

* elementwise activations: ``J_f(n) = diag(f'(n))`` so the product is ``g * f'(n)``;
* softmax: ``J(n) = diag(p) - p p^T`` so the product is ``p * (g - <g, p>)``.

An entry (:class:`ActivationSpec`) carries the forward rule, the closed-form derivative
(or the vector-Jacobian product), the default parameter ``alpha``, the kinks and the value
chosen there, the output range, and the sympy forms the ``derivations`` package proves and
evaluates exactly. ``funcmlp`` and ``derivations`` read the same entries; adding an
activation is one :func:`register_activation` call (or one entry below).

Convention at points where the derivative does not exist (documented, pinned by tests):

* ``relu'(0) = 0`` (as ``jax.nn.relu`` and seed 002's table), ``leaky_relu'(0) = alpha``;
* ``hardlimit`` (seed 003 eq. 4: 1 if n >= 0 else 0) and ``symmetric_hardlimit``
  (+1 if n >= 0 else -1) have derivative 0 everywhere, including at the jump, where the
  true derivative is a Dirac delta. Networks of hard limits are therefore not trainable
  by backprop, which is why seed 003 uses the perceptron rule for them;
* ``elu'(0) = 1`` (the right-hand limit; the two sides agree only when alpha = 1).

Example:
    >>> import jax.numpy as jnp
    >>> relu = get_activation("relu")
    >>> relu(jnp.array([-1.0, 0.0, 2.0])).tolist(), relu.derivative(jnp.array([-1.0, 0.0, 2.0])).tolist()
    ([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

import jax
import jax.numpy as jnp
from jax.scipy.special import erfc

Array = jax.Array


class _LazySympy:
    """``sp.X`` imports sympy on first use, so importing funcmlp does not pay for sympy."""

    def __getattr__(self, name):
        import sympy

        return getattr(sympy, name)


sp = _LazySympy()


@dataclass(frozen=True, eq=False)
class ActivationSpec:
    """One activation's definition: JAX forms for funcmlp, sympy forms for derivations.

    Attributes:
        name: registry name.
        forward: ``(n, alpha) -> a``, JAX, shape ``(..., d)`` kept.
        derivative: ``(n, alpha) -> f'(n)`` elementwise (the diagonal of ``F'(n)``), or
            ``None`` for a vector activation (softmax), which gives ``vjp`` instead.
        vjp: ``(n, g, alpha) -> g @ J_f(n)`` for vector activations.
        default_alpha: the parameter's default, ``None`` when the activation takes none.
        kinks: net inputs where ``f'`` jumps (finite differences across them are left out).
        convention: the value of ``f'`` chosen at the kinks, in words.
        sympy_forward: ``(x, alpha) -> sympy expression`` (vector activations:
            ``(list of n, alpha) -> list``); ``None`` when no symbolic form is known.
        sympy_derivative: ``(x, alpha) -> f'(x)`` as funcmlp evaluates it, kinks included.
        sympy_vjp: vector activations: ``(list of n, list of g, alpha) -> list``.
        output_range: ``(low, high)`` of bounded outputs, ``None`` for unbounded ones.
        probabilities: the outputs are probabilities (feed a probability loss, never a
            logits loss).
        description: one line for listings.
    """

    name: str
    forward: Callable
    derivative: Callable | None
    vjp: Callable | None = None
    default_alpha: float | None = None
    kinks: tuple[float, ...] = ()
    convention: str = ""
    sympy_forward: Callable | None = None
    sympy_derivative: Callable | None = None
    sympy_vjp: Callable | None = None
    output_range: tuple[float, float] | None = None
    probabilities: bool = False
    description: str = ""

    @property
    def elementwise(self) -> bool:
        return self.derivative is not None

    @property
    def symbolic(self) -> bool:
        """True when derivations can work with it (sympy forms given)."""
        return self.sympy_forward is not None and (self.sympy_derivative is not None or self.sympy_vjp is not None)


def _sigmoid_sympy(x):
    return 1 / (1 + sp.exp(-x))


def _softmax_sympy(n, alpha=None):
    total = sp.Add(*[sp.exp(v) for v in n])
    return [sp.exp(v) / total for v in n]


def _softmax_vjp_sympy(n, g, alpha=None):
    p = _softmax_sympy(n)
    inner = sp.Add(*[gi * pi for gi, pi in zip(g, p, strict=True)])
    return [pi * (gi - inner) for gi, pi in zip(g, p, strict=True)]


def largest(n: Array) -> Array:
    """Boolean mask ``(..., d)`` of the largest entry of each row (the first one on ties): where
    softmax can round to 1, and the cancellation-free forms of its derivatives pivot."""
    return jax.nn.one_hot(jnp.argmax(n, axis=-1), n.shape[-1], dtype=bool)


def _softmax_vjp(n, g, alpha=None):
    # p (g - <g, p>) with <g, p> = g_m + sum_{j != m} p_j (g_j - g_m), m the largest input: the
    # same number, but g_m - <g, p> is then a sum of small terms instead of a difference of
    # nearly equal ones, so a saturated softmax keeps its relative accuracy
    # g_m - g_m is written as an exact 0: compiled, XLA may compute g_m in the sum and g_m in
    # g - g_top by differently fused roundings, and one ulp of g there would swamp <g, p>'s
    # small remainder (hypothesis found 2e-8 relative error under jit before)
    p = jax.nn.softmax(n, axis=-1)
    top = largest(n)
    g_top = jnp.sum(jnp.where(top, g, 0), axis=-1, keepdims=True)
    d = jnp.where(top, 0, g - g_top)
    spread = jnp.sum(jnp.where(top, 0, p * d), axis=-1, keepdims=True)
    return p * (d - spread)


_SQRT2 = math.sqrt(2.0)
_SQRT2PI = math.sqrt(2.0 * math.pi)

_BUILTIN = (
    ActivationSpec(
        "identity", lambda n, alpha: n, lambda n, alpha: jnp.ones_like(n),
        sympy_forward=lambda x, alpha: x, sympy_derivative=lambda x, alpha: sp.Integer(1),
        description="f(n) = n (seed 003 eq. 36, 'purelin')"),
    ActivationSpec(
        "hardlimit", lambda n, alpha: jnp.where(n >= 0, 1.0, 0.0).astype(n.dtype), lambda n, alpha: jnp.zeros_like(n),
        kinks=(0.0,), convention="f'(n) = 0 everywhere, the jump's Dirac delta left out",
        sympy_forward=lambda x, alpha: sp.Piecewise((1, x >= 0), (0, True)), sympy_derivative=lambda x, alpha: sp.Integer(0),
        output_range=(0.0, 1.0), description="1 if n >= 0 else 0 (seed 003 eq. 4)"),
    ActivationSpec(
        "symmetric_hardlimit", lambda n, alpha: jnp.where(n >= 0, 1.0, -1.0).astype(n.dtype), lambda n, alpha: jnp.zeros_like(n),
        kinks=(0.0,), convention="f'(n) = 0 everywhere, the jump's Dirac delta left out",
        sympy_forward=lambda x, alpha: sp.Piecewise((1, x >= 0), (-1, True)), sympy_derivative=lambda x, alpha: sp.Integer(0),
        output_range=(-1.0, 1.0), description="+1 if n >= 0 else -1 ('hardlims')"),
    ActivationSpec(
        "relu", lambda n, alpha: jnp.where(n > 0, n, jnp.zeros_like(n)), lambda n, alpha: jnp.where(n > 0, 1.0, 0.0).astype(n.dtype),
        kinks=(0.0,), convention="relu'(0) = 0, as jax.nn.relu",
        sympy_forward=lambda x, alpha: sp.Piecewise((x, x > 0), (0, True)),
        sympy_derivative=lambda x, alpha: sp.Piecewise((1, x > 0), (0, True)),
        description="max(0, n) (seed 003 eq. 35)"),
    ActivationSpec(
        "leaky_relu", lambda n, alpha: jnp.where(n > 0, n, alpha * n), lambda n, alpha: jnp.where(n > 0, 1.0, alpha).astype(n.dtype),
        default_alpha=0.01, kinks=(0.0,), convention="leaky_relu'(0) = alpha",
        sympy_forward=lambda x, alpha: sp.Piecewise((x, x > 0), (alpha * x, True)),
        sympy_derivative=lambda x, alpha: sp.Piecewise((1, x > 0), (alpha, True)),
        description="n if n > 0 else alpha n (alpha = 0.01)"),
    ActivationSpec(
        # f (1 - f) evaluated as sigmoid(n) sigmoid(-n): 1 - f cancels to 0 in float32 for n > 17
        "sigmoid", lambda n, alpha: jax.nn.sigmoid(n), lambda n, alpha: jax.nn.sigmoid(n) * jax.nn.sigmoid(-n),
        sympy_forward=lambda x, alpha: _sigmoid_sympy(x),
        sympy_derivative=lambda x, alpha: _sigmoid_sympy(x) * (1 - _sigmoid_sympy(x)),
        output_range=(0.0, 1.0), probabilities=True, description="1 / (1 + exp(-n)), f' = f (1 - f) (seed 003 eq. 37)"),
    ActivationSpec(
        # 1 - f^2 evaluated as sech(n)^2: 1 - tanh^2 cancels to 0 in float32 for |n| > 9
        "tanh", lambda n, alpha: jnp.tanh(n), lambda n, alpha: jnp.square(1 / jnp.cosh(n)),
        sympy_forward=lambda x, alpha: sp.tanh(x), sympy_derivative=lambda x, alpha: 1 - sp.tanh(x) ** 2,
        output_range=(-1.0, 1.0), description="tanh(n) = 2 sigmoid(2n) - 1, f' = 1 - f^2 (seed 003 eq. 38)"),
    ActivationSpec(
        "softplus", lambda n, alpha: jnp.logaddexp(n, 0.0), lambda n, alpha: jax.nn.sigmoid(n),
        sympy_forward=lambda x, alpha: sp.log(1 + sp.exp(x)), sympy_derivative=lambda x, alpha: _sigmoid_sympy(x),
        description="log(1 + exp(n)), f' = sigmoid"),
    ActivationSpec(
        "elu", lambda n, alpha: jnp.where(n >= 0, n, alpha * jnp.expm1(jnp.minimum(n, 0.0))),
        lambda n, alpha: jnp.where(n >= 0, 1.0, alpha * jnp.exp(jnp.minimum(n, 0.0))).astype(n.dtype),
        default_alpha=1.0, kinks=(0.0,), convention="elu'(0) = 1, the right-hand limit",
        sympy_forward=lambda x, alpha: sp.Piecewise((x, x >= 0), (alpha * (sp.exp(x) - 1), True)),
        sympy_derivative=lambda x, alpha: sp.Piecewise((1, x >= 0), (alpha * sp.exp(x), True)),
        description="n if n >= 0 else alpha (exp(n) - 1) (alpha = 1)"),
    # GELU in the erfc form: 1 + erf(n / sqrt 2) cancels to 0 in the left tail (float32 gelu(-6)
    # would be 0, true -5.9e-9); erfc(-n / sqrt 2) keeps its relative accuracy there
    ActivationSpec(
        "gelu", lambda n, alpha: 0.5 * n * erfc(-n / _SQRT2),
        lambda n, alpha: 0.5 * erfc(-n / _SQRT2) + n * jnp.exp(-0.5 * n * n) / _SQRT2PI,
        sympy_forward=lambda x, alpha: x * sp.erfc(-x / sp.sqrt(2)) / 2,
        sympy_derivative=lambda x, alpha: sp.erfc(-x / sp.sqrt(2)) / 2 + x * sp.exp(-x**2 / 2) / sp.sqrt(2 * sp.pi),
        description="exact GELU n Phi(n) = n erfc(-n / sqrt 2) / 2, f' = Phi(n) + n phi(n)"),
    ActivationSpec(
        "softmax", lambda n, alpha: jax.nn.softmax(n, axis=-1), None, vjp=_softmax_vjp,
        sympy_forward=_softmax_sympy, sympy_vjp=_softmax_vjp_sympy,
        output_range=(0.0, 1.0), probabilities=True, description="exp(n_i) / sum_j exp(n_j), Jacobian diag(p) - p p^T"),
)

ACTIVATIONS: dict[str, ActivationSpec] = {spec.name: spec for spec in _BUILTIN}
"""The registry: name -> :class:`ActivationSpec`, built-ins first, then registered ones."""

ACTIVATION_NAMES: tuple[str, ...] = tuple(ACTIVATIONS)
"""The built-in names (registered activations are in :data:`ACTIVATIONS`)."""

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
) -> ActivationSpec:
    """Add an elementwise activation to the registry; backprop, gradient checks and (with the
    sympy forms) ``funcmlp derive check`` then take it by name like a built-in.

    Args:
        name: a new lower-case name (letters, digits, underscores).
        forward, derivative: JAX functions ``(n, alpha) -> array`` of ``n``'s shape;
            ``alpha`` is ``default_alpha`` unless a layer sets it (``"name(0.5)"``).
        default_alpha: the parameter's default, or ``None`` for an activation without one.
        kinks: net inputs where the derivative jumps.
        convention: the derivative's value at the kinks, in words.
        sympy_forward, sympy_derivative: ``(x, alpha) -> sympy expression``; without
            ``sympy_derivative`` derivations use ``sympy.diff`` of ``sympy_forward``.
        output_range: ``(low, high)`` for bounded outputs (decides one-unit thresholds).
        probabilities: its outputs are probabilities (refused by the logits losses).

    Example:
        >>> import jax, jax.numpy as jnp, sympy
        >>> spec = register_activation(
        ...     "swish_doc", lambda n, alpha: n * jax.nn.sigmoid(n),
        ...     lambda n, alpha: jax.nn.sigmoid(n) * (1 + n * (1 - jax.nn.sigmoid(n))),
        ...     sympy_forward=lambda x, alpha: x / (1 + sympy.exp(-x)))
        >>> round(float(get_activation("swish_doc").derivative(jnp.array(1.0))), 6)
        0.927671
        >>> unregister_activation("swish_doc")
    """
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ValueError(f"activation name must be lower-case letters, digits and underscores, got {name!r}")
    if name in ACTIVATIONS or name in ALIASES:
        raise ValueError(f"activation {name!r} is already registered; choose another name")
    if not callable(forward) or not callable(derivative) or (sympy_forward is not None and not callable(sympy_forward)):
        raise ValueError(f"activation {name!r}: forward and derivative must be functions (n, alpha) -> array "
                         "(and sympy_forward one (x, alpha) -> sympy expression)")
    if sympy_forward is not None and sympy_derivative is None:
        def sympy_derivative(x, alpha):
            t = sp.Dummy("t", real=True)
            return sp.diff(sympy_forward(t, alpha), t).subs(t, x)
    spec = ActivationSpec(name, forward, derivative, default_alpha=default_alpha, kinks=tuple(float(k) for k in kinks),
                          convention=convention, sympy_forward=sympy_forward, sympy_derivative=sympy_derivative,
                          output_range=output_range, probabilities=probabilities, description=description)
    ACTIVATIONS[name] = spec
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
        raise ValueError(f"no registered activation {name!r}; registered: {', '.join(n for n in ACTIVATIONS if n not in ACTIVATION_NAMES) or 'none'}")
    del ACTIVATIONS[name]


@dataclass(frozen=True)
class Activation:
    """One layer's activation: a registry name plus an optional parameter ``alpha``.

    Frozen and hashable, so an :class:`~funcmlp.MLP` holding it is static under ``jit``.

    Attributes:
        name: a key of :data:`ACTIVATIONS`.
        alpha: slope for ``leaky_relu`` (default 0.01), scale for ``elu`` (default 1.0);
            ``None`` for activations without a parameter.

    Example:
        >>> import jax.numpy as jnp
        >>> act = Activation("leaky_relu", 0.1)
        >>> [round(v, 6) for v in act(jnp.array([-2.0, 3.0])).tolist()], [round(v, 6) for v in act.derivative(jnp.array([-2.0, 3.0])).tolist()]
        ([-0.2, 3.0], [0.1, 1.0])
    """

    name: str
    alpha: float | None = None
    spec: ActivationSpec | None = field(default=None, repr=False)

    def __post_init__(self):
        if self.spec is not None:
            if self.spec.name != self.name:
                raise ValueError(f"activation {self.name!r} given the spec of {self.spec.name!r}")
        elif self.name not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {self.name!r}; expected one of {', '.join(ACTIVATIONS)} "
                f"(aliases: {', '.join(sorted(ALIASES))}), or add one with funcmlp.register_activation"
            )
        if self.spec is None:
            # the entry itself, compared by identity: re-registering a name makes a new activation
            # (jit caches keyed by an old one are not reused)
            object.__setattr__(self, "spec", ACTIVATIONS[self.name])
        default = self.spec.default_alpha
        if self.alpha is not None and default is None:
            raise ValueError(f"activation {self.name!r} takes no parameter, got alpha={self.alpha!r}")
        if self.alpha is None and default is not None:
            object.__setattr__(self, "alpha", default)
        if self.alpha is not None:
            alpha = float(self.alpha)
            if not math.isfinite(alpha):
                raise ValueError(f"activation {self.name!r}: alpha must be a finite number, got {self.alpha!r}")
            object.__setattr__(self, "alpha", alpha)

    @property
    def is_elementwise(self) -> bool:
        return self.spec.elementwise

    def __call__(self, n: Array) -> Array:
        """``a = f(n)``; ``n`` has shape ``(..., d)``, so has the result."""
        return self.spec.forward(n, self.alpha)

    def derivative(self, n: Array) -> Array:
        """Elementwise ``f'(n)``, the diagonal of ``F'(n)`` (seed 003 eq. 32). Shape of ``n``."""
        if not self.is_elementwise:
            raise ValueError(
                f"{self.name} is not elementwise: its derivative is the full Jacobian "
                "(diag(p) - p p^T for softmax); use Activation.jacobian or Activation.backward"
            )
        return self.spec.derivative(n, self.alpha)

    def jacobian(self, n: Array) -> Array:
        """``da/dn`` as a matrix per example: ``(..., d) -> (..., d, d)``."""
        if self.is_elementwise:
            return jnp.vectorize(jnp.diag, signature="(d)->(d,d)")(self.derivative(n))
        eye = jnp.eye(n.shape[-1], dtype=n.dtype)  # row i of J is e_i^T J, one vector-Jacobian product each
        return jax.vmap(lambda e: self.backward(n, jnp.broadcast_to(e, n.shape)), out_axes=-2)(eye)

    def backward(self, n: Array, g: Array) -> Array:
        """Vector-Jacobian product ``g @ J_f(n)``; all shapes ``(..., d)``."""
        if self.is_elementwise:
            return g * self.derivative(n)
        return self.spec.vjp(n, g, self.alpha)

    def symbolic_alpha(self):
        """``alpha`` as an exact sympy number (``0.01 -> 1/100``), or ``None``."""
        return None if self.alpha is None else sp.nsimplify(repr(self.alpha))

    def __str__(self) -> str:
        return self.name if self.alpha == self.spec.default_alpha else f"{self.name}({self.alpha:g})"


def is_concrete(value) -> bool:
    """False for a value traced by ``jit``/``vmap``: its numbers cannot be checked then."""
    return not isinstance(value, jax.core.Tracer)


def get_activation(spec: str | Activation) -> Activation:
    """Resolve ``"relu"``, ``"leaky_relu(0.2)"``, an alias such as ``"linear"``, or an Activation.

    Example:
        >>> get_activation("linear"), get_activation("elu(0.5)")
        (Activation(name='identity', alpha=None), Activation(name='elu', alpha=0.5))
    """
    if isinstance(spec, Activation):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"an activation must be a name or an Activation, got {type(spec).__name__} {spec!r}")
    text = spec.strip().lower()
    alpha = None
    if text.endswith(")") and "(" in text:
        text, _, arg = text[:-1].partition("(")
        try:
            alpha = float(arg)
        except ValueError:
            raise ValueError(f"activation parameter in {spec!r} is not a number; write e.g. 'leaky_relu(0.2)'") from None
    text = ALIASES.get(text, text)
    return Activation(text, alpha)
