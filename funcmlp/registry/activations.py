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
from dataclasses import dataclass, field

import jax
import jax.numpy as jnp

from funcmlp.registry.activation_curvature import autodiff_second_derivative, symbolic_second_derivative
from funcmlp.registry.activation_registry import (
    ACTIVATION_NAMES,
    ACTIVATIONS,
    ALIASES,
    register_activation,
    unregister_activation,
)
from funcmlp.registry.activation_rules import ActivationSpec, largest, sp

Array = jax.Array
__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_NAMES",
    "ALIASES",
    "Activation",
    "ActivationSpec",
    "get_activation",
    "largest",
    "register_activation",
    "sp",
    "unregister_activation",
]


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
        >>> n = jnp.array([-2.0, 3.0])
        >>> [round(v, 6) for v in act(n).tolist()], [round(v, 6) for v in act.derivative(n).tolist()]
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

    def second_derivative(self, n: Array) -> Array:
        """Elementwise ``f''(n)``, the ``F''(n)`` of the Hessian's diagonal ``diag(g * F''(n))``. Shape of ``n``.

        The entry's closed form (:mod:`funcmlp.registry.activation_curvature`: 0 at the kinks of the
        piecewise-linear ones), or for an entry without one ``jax.grad`` of :meth:`derivative`, elementwise.

        Example:
            >>> import jax.numpy as jnp
            >>> [round(float(v), 6) for v in Activation("tanh").second_derivative(jnp.array([0.5, 1.0]))]
            [-0.726862, -0.6397]
        """
        self._elementwise_second_derivative()
        rule = self.spec.second_derivative or autodiff_second_derivative(self.spec.derivative)
        return rule(n, self.alpha)

    def sympy_second_derivative(self, n):
        """``f''(n)`` as a sympy expression of ``n`` (``alpha`` exact): the entry's form, or ``sympy.diff`` of
        its ``sympy_derivative``.

        Example:
            >>> import sympy
            >>> Activation("softplus").sympy_second_derivative(sympy.Symbol("x"))
            (1 - 1/(1 + exp(-x)))/(1 + exp(-x))
        """
        spec = self.spec
        self._elementwise_second_derivative()
        if spec.sympy_derivative is None:
            raise ValueError(
                f"activation {self.name!r} has no sympy form; register it with sympy_forward=lambda x, alpha: ... "
                "to derive its second derivative"
            )
        rule = spec.sympy_second_derivative or symbolic_second_derivative(spec.sympy_derivative)
        return rule(n, self.symbolic_alpha())

    def _elementwise_second_derivative(self) -> None:
        if not self.is_elementwise:
            raise ValueError(
                f"{self.name}'s second derivative is a d x d x d tensor, not elementwise; diag_hessian needs "
                f"elementwise hidden activations (the output {self.name} is handled by the loss)"
            )

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
            raise ValueError(
                f"activation parameter in {spec!r} is not a number; write e.g. 'leaky_relu(0.2)'"
            ) from None
    text = ALIASES.get(text, text)
    return Activation(text, alpha)


def _bipolar_sigmoid_sympy(x, alpha=None):
    return 2 / (1 + sp.exp(-x)) - 1


# the bipolar sigmoid of the delta rule's texts, registered here beside the built-ins (every check of the registry's
# entries takes it: the sympy proof of its derivative, the JAX walk); f' = (1 - f^2) / 2 evaluated as
# sech(n/2)^2 / 2: 1 - f^2 cancels to 0 in float32 for |n| > 18, as tanh's
register_activation(
    "bipolar_sigmoid",
    lambda n, alpha: jnp.tanh(n / 2),
    lambda n, alpha: 0.5 * jnp.square(1 / jnp.cosh(n / 2)),
    sympy_forward=lambda x, alpha: _bipolar_sigmoid_sympy(x),
    sympy_derivative=lambda x, alpha: (1 - _bipolar_sigmoid_sympy(x) ** 2) / 2,
    output_range=(-1.0, 1.0),
    description="bipolar sigmoid 2 sigmoid(n) - 1 = tanh(n / 2), f' = (1 - f^2) / 2 (Fausett, Negnevitsky)",
    second_derivative=lambda n, alpha: -0.5 * jnp.tanh(n / 2) * jnp.square(1 / jnp.cosh(n / 2)),
    sympy_second_derivative=lambda x, alpha: -_bipolar_sigmoid_sympy(x) * (1 - _bipolar_sigmoid_sympy(x) ** 2) / 2,
)
