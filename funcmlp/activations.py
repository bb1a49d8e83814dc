"""Activation functions, each with its closed-form derivative written beside it.

Every activation ``f`` maps a net input ``n`` of shape ``(..., d)`` to an output
``a = f(n)`` of the same shape. The backward rule used by manual backprop is the
vector-Jacobian product ``g -> g @ J_f(n)`` (seed 003 eq. 33, the ``F'(n^k)`` factor):

* elementwise activations: ``J_f(n) = diag(f'(n))`` so the product is ``g * f'(n)``;
* softmax: ``J(n) = diag(p) - p p^T`` so the product is ``p * (g - <g, p>)``.

Convention at points where the derivative does not exist (documented, pinned by tests):

* ``relu'(0) = 0`` (as ``jax.nn.relu`` and seed 002's table), ``leaky_relu'(0) = alpha``;
* ``hardlimit`` (seed 003 eq. 4: 1 if n >= 0 else 0) and ``symmetric_hardlimit``
  (+1 if n >= 0 else -1) have derivative 0 everywhere, including at the jump, where the
  true derivative is a Dirac delta. Networks of hard limits are therefore not trainable
  by backprop, which is why seed 003 uses the perceptron rule for them;
* ``elu'(0) = 1`` (the right-hand limit; the two sides agree only when alpha = 1).

Example:
    >>> import jax.numpy as jnp
    >>> from funcmlp.activations import get_activation
    >>> relu = get_activation("relu")
    >>> relu(jnp.array([-1.0, 0.0, 2.0])).tolist(), relu.derivative(jnp.array([-1.0, 0.0, 2.0])).tolist()
    ([0.0, 0.0, 2.0], [0.0, 0.0, 1.0])
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import jax
import jax.numpy as jnp
from jax.scipy.special import erf

Array = jax.Array


def identity(n: Array, alpha: float = 0.0) -> Array:
    return n


def identity_derivative(n: Array, alpha: float = 0.0) -> Array:
    return jnp.ones_like(n)


def hardlimit(n: Array, alpha: float = 0.0) -> Array:
    return jnp.where(n >= 0, 1.0, 0.0).astype(n.dtype)


def hardlimit_derivative(n: Array, alpha: float = 0.0) -> Array:
    return jnp.zeros_like(n)


def symmetric_hardlimit(n: Array, alpha: float = 0.0) -> Array:
    return jnp.where(n >= 0, 1.0, -1.0).astype(n.dtype)


def symmetric_hardlimit_derivative(n: Array, alpha: float = 0.0) -> Array:
    return jnp.zeros_like(n)


def relu(n: Array, alpha: float = 0.0) -> Array:
    return jnp.where(n > 0, n, jnp.zeros_like(n))


def relu_derivative(n: Array, alpha: float = 0.0) -> Array:
    return jnp.where(n > 0, 1.0, 0.0).astype(n.dtype)


def leaky_relu(n: Array, alpha: float = 0.01) -> Array:
    return jnp.where(n > 0, n, alpha * n)


def leaky_relu_derivative(n: Array, alpha: float = 0.01) -> Array:
    return jnp.where(n > 0, 1.0, alpha).astype(n.dtype)


def sigmoid(n: Array, alpha: float = 0.0) -> Array:
    return jax.nn.sigmoid(n)


def sigmoid_derivative(n: Array, alpha: float = 0.0) -> Array:
    s = jax.nn.sigmoid(n)
    return s * (1 - s)


def tanh(n: Array, alpha: float = 0.0) -> Array:
    return jnp.tanh(n)


def tanh_derivative(n: Array, alpha: float = 0.0) -> Array:
    t = jnp.tanh(n)
    return 1 - t * t


def softplus(n: Array, alpha: float = 0.0) -> Array:
    return jnp.logaddexp(n, 0.0)


def softplus_derivative(n: Array, alpha: float = 0.0) -> Array:
    return jax.nn.sigmoid(n)


def elu(n: Array, alpha: float = 1.0) -> Array:
    return jnp.where(n >= 0, n, alpha * jnp.expm1(jnp.minimum(n, 0.0)))


def elu_derivative(n: Array, alpha: float = 1.0) -> Array:
    return jnp.where(n >= 0, 1.0, alpha * jnp.exp(jnp.minimum(n, 0.0))).astype(n.dtype)


def gelu(n: Array, alpha: float = 0.0) -> Array:
    """Exact GELU, n * Phi(n), with Phi the standard normal CDF."""
    return 0.5 * n * (1 + erf(n / math.sqrt(2.0)))


def gelu_derivative(n: Array, alpha: float = 0.0) -> Array:
    # d/dn [n Phi(n)] = Phi(n) + n phi(n)
    cdf = 0.5 * (1 + erf(n / math.sqrt(2.0)))
    pdf = jnp.exp(-0.5 * n * n) / math.sqrt(2 * math.pi)
    return cdf + n * pdf


def softmax(n: Array, alpha: float = 0.0) -> Array:
    return jax.nn.softmax(n, axis=-1)


def softmax_jacobian(n: Array) -> Array:
    """``diag(p) - p p^T`` for ``p = softmax(n)``; shape ``(..., d, d)``."""
    p = jax.nn.softmax(n, axis=-1)
    return jnp.vectorize(jnp.diag, signature="(d)->(d,d)")(p) - p[..., :, None] * p[..., None, :]


_Elementwise = Callable[[Array, float], Array]

# name -> (forward, derivative, default alpha or None when the activation takes none)
_ELEMENTWISE: dict[str, tuple[_Elementwise, _Elementwise, float | None]] = {
    "identity": (identity, identity_derivative, None),
    "hardlimit": (hardlimit, hardlimit_derivative, None),
    "symmetric_hardlimit": (symmetric_hardlimit, symmetric_hardlimit_derivative, None),
    "relu": (relu, relu_derivative, None),
    "leaky_relu": (leaky_relu, leaky_relu_derivative, 0.01),
    "sigmoid": (sigmoid, sigmoid_derivative, None),
    "tanh": (tanh, tanh_derivative, None),
    "softplus": (softplus, softplus_derivative, None),
    "elu": (elu, elu_derivative, 1.0),
    "gelu": (gelu, gelu_derivative, None),
}

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

ACTIVATION_NAMES: tuple[str, ...] = (*_ELEMENTWISE, "softmax")

# Activations whose derivative jumps at n = 0 (elu only when alpha != 1; its second
# derivative jumps even then). Finite differences are unreliable across that point.
KINKED = frozenset({"hardlimit", "symmetric_hardlimit", "relu", "leaky_relu", "elu"})


@dataclass(frozen=True)
class Activation:
    """One layer's activation: a name plus an optional parameter ``alpha``.

    Frozen and hashable, so an :class:`~funcmlp.MLP` holding it is static under ``jit``.

    Attributes:
        name: one of :data:`ACTIVATION_NAMES`.
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

    def __post_init__(self):
        if self.name not in ACTIVATION_NAMES:
            raise ValueError(
                f"unknown activation {self.name!r}; expected one of {', '.join(ACTIVATION_NAMES)} "
                f"(aliases: {', '.join(sorted(ALIASES))})"
            )
        takes_alpha = self.name in _ELEMENTWISE and _ELEMENTWISE[self.name][2] is not None
        if self.alpha is not None and not takes_alpha:
            raise ValueError(f"activation {self.name!r} takes no parameter, got alpha={self.alpha!r}")
        if self.alpha is None and takes_alpha:
            object.__setattr__(self, "alpha", _ELEMENTWISE[self.name][2])

    @property
    def is_elementwise(self) -> bool:
        return self.name != "softmax"

    def __call__(self, n: Array) -> Array:
        """``a = f(n)``; ``n`` has shape ``(..., d)``, so has the result."""
        if self.name == "softmax":
            return softmax(n)
        forward, _, _ = _ELEMENTWISE[self.name]
        return forward(n, self.alpha) if self.alpha is not None else forward(n)

    def derivative(self, n: Array) -> Array:
        """Elementwise ``f'(n)``, the diagonal of ``F'(n)`` (seed 003 eq. 32). Shape of ``n``."""
        if self.name == "softmax":
            raise ValueError(
                "softmax is not elementwise: its derivative is the full Jacobian "
                "diag(p) - p p^T; use Activation.jacobian or Activation.backward"
            )
        _, derivative, _ = _ELEMENTWISE[self.name]
        return derivative(n, self.alpha) if self.alpha is not None else derivative(n)

    def jacobian(self, n: Array) -> Array:
        """``da/dn`` as a matrix per example: ``(..., d) -> (..., d, d)``."""
        if self.name == "softmax":
            return softmax_jacobian(n)
        return jnp.vectorize(jnp.diag, signature="(d)->(d,d)")(self.derivative(n))

    def backward(self, n: Array, g: Array) -> Array:
        """Vector-Jacobian product ``g @ J_f(n)``; all shapes ``(..., d)``."""
        if self.name == "softmax":
            p = softmax(n)
            return p * (g - jnp.sum(g * p, axis=-1, keepdims=True))
        return g * self.derivative(n)

    def __str__(self) -> str:
        default = _ELEMENTWISE.get(self.name, (None, None, None))[2]
        return self.name if self.alpha == default else f"{self.name}({self.alpha:g})"


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
