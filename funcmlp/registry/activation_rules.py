"""The built-in activations: each one's JAX and sympy forms, written once, as registry entries.

Contract: :class:`ActivationSpec` (one activation's definition) and ``BUILTIN`` (the entries
:mod:`funcmlp.registry.activations` starts from); ``largest`` and ``sp`` (sympy, imported on
first use) for the loss entries. See :mod:`funcmlp.registry.activations` for the conventions
at the kinks.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import jax
import jax.numpy as jnp
from jax.scipy.special import erfc

from funcmlp.arguments import check_number
from funcmlp.registry import activation_curvature as second
from funcmlp.registry.entry_checks import entry_kinks, entry_output_range
from funcmlp.registry.lazy_sympy import sp

Array = jax.Array


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
        second_derivative: ``(n, alpha) -> f''(n)`` elementwise, JAX (the Hessian's diagonal); ``None``:
            ``jax.grad`` of ``derivative`` (:func:`~funcmlp.registry.activation_curvature.autodiff_second_derivative`).
        sympy_second_derivative: ``(x, alpha) -> f''(x)``; ``None``: ``sympy.diff`` of ``sympy_derivative``.
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
    second_derivative: Callable | None = None
    sympy_second_derivative: Callable | None = None

    def __post_init__(self):
        # the fields read as what they say, for the built-ins and registered entries alike: kinks and the output
        # range as numbers (text read as one once: kinks="0" were the characters of a string)
        owner = f"activation {self.name!r}"
        object.__setattr__(self, "kinks", entry_kinks(self.kinks, owner))
        object.__setattr__(self, "output_range", entry_output_range(self.output_range, owner))
        if self.default_alpha is not None:
            alpha = check_number(self.default_alpha, f"{owner}: default_alpha", example="default_alpha=0.01")
            object.__setattr__(self, "default_alpha", alpha)
        if not isinstance(self.probabilities, bool):
            raise TypeError(f"{owner}: probabilities must be True or False, got {self.probabilities!r:.40}")

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

BUILTIN = (
    ActivationSpec(
        "identity",
        lambda n, alpha: n,
        lambda n, alpha: jnp.ones_like(n),
        sympy_forward=lambda x, alpha: x,
        sympy_derivative=lambda x, alpha: sp.Integer(1),
        description="f(n) = n (seed 003 eq. 36, 'purelin')",
        second_derivative=second.zero,
        sympy_second_derivative=second.sympy_zero,
    ),
    ActivationSpec(
        "hardlimit",
        lambda n, alpha: jnp.where(n >= 0, 1.0, 0.0).astype(n.dtype),
        lambda n, alpha: jnp.zeros_like(n),
        kinks=(0.0,),
        convention="f'(n) = 0 everywhere, the jump's Dirac delta left out",
        sympy_forward=lambda x, alpha: sp.Piecewise((1, x >= 0), (0, True)),
        sympy_derivative=lambda x, alpha: sp.Integer(0),
        output_range=(0.0, 1.0),
        description="1 if n >= 0 else 0 (seed 003 eq. 4)",
        second_derivative=second.zero,
        sympy_second_derivative=second.sympy_zero,
    ),
    ActivationSpec(
        "symmetric_hardlimit",
        lambda n, alpha: jnp.where(n >= 0, 1.0, -1.0).astype(n.dtype),
        lambda n, alpha: jnp.zeros_like(n),
        kinks=(0.0,),
        convention="f'(n) = 0 everywhere, the jump's Dirac delta left out",
        sympy_forward=lambda x, alpha: sp.Piecewise((1, x >= 0), (-1, True)),
        sympy_derivative=lambda x, alpha: sp.Integer(0),
        output_range=(-1.0, 1.0),
        description="+1 if n >= 0 else -1 ('hardlims')",
        second_derivative=second.zero,
        sympy_second_derivative=second.sympy_zero,
    ),
    ActivationSpec(
        "relu",
        lambda n, alpha: jnp.where(n > 0, n, jnp.zeros_like(n)),
        lambda n, alpha: jnp.where(n > 0, 1.0, 0.0).astype(n.dtype),
        kinks=(0.0,),
        convention="relu'(0) = 0, as jax.nn.relu",
        sympy_forward=lambda x, alpha: sp.Piecewise((x, x > 0), (0, True)),
        sympy_derivative=lambda x, alpha: sp.Piecewise((1, x > 0), (0, True)),
        description="max(0, n) (seed 003 eq. 35)",
        second_derivative=second.zero,
        sympy_second_derivative=second.sympy_zero,
    ),
    ActivationSpec(
        "leaky_relu",
        lambda n, alpha: jnp.where(n > 0, n, alpha * n),
        lambda n, alpha: jnp.where(n > 0, 1.0, alpha).astype(n.dtype),
        default_alpha=0.01,
        kinks=(0.0,),
        convention="leaky_relu'(0) = alpha",
        sympy_forward=lambda x, alpha: sp.Piecewise((x, x > 0), (alpha * x, True)),
        sympy_derivative=lambda x, alpha: sp.Piecewise((1, x > 0), (alpha, True)),
        description="n if n > 0 else alpha n (alpha = 0.01)",
        second_derivative=second.zero,
        sympy_second_derivative=second.sympy_zero,
    ),
    ActivationSpec(
        # f (1 - f) evaluated as sigmoid(n) sigmoid(-n): 1 - f cancels to 0 in float32 for n > 17
        "sigmoid",
        lambda n, alpha: jax.nn.sigmoid(n),
        lambda n, alpha: jax.nn.sigmoid(n) * jax.nn.sigmoid(-n),
        sympy_forward=lambda x, alpha: _sigmoid_sympy(x),
        sympy_derivative=lambda x, alpha: _sigmoid_sympy(x) * (1 - _sigmoid_sympy(x)),
        output_range=(0.0, 1.0),
        probabilities=True,
        description="1 / (1 + exp(-n)), f' = f (1 - f) (seed 003 eq. 37)",
        second_derivative=second.sigmoid_second,
        sympy_second_derivative=second.sympy_sigmoid_second,
    ),
    ActivationSpec(
        # 1 - f^2 evaluated as sech(n)^2: 1 - tanh^2 cancels to 0 in float32 for |n| > 9
        "tanh",
        lambda n, alpha: jnp.tanh(n),
        lambda n, alpha: jnp.square(1 / jnp.cosh(n)),
        sympy_forward=lambda x, alpha: sp.tanh(x),
        sympy_derivative=lambda x, alpha: 1 - sp.tanh(x) ** 2,
        output_range=(-1.0, 1.0),
        description="tanh(n) = 2 sigmoid(2n) - 1, f' = 1 - f^2 (seed 003 eq. 38)",
        second_derivative=second.tanh_second,
        sympy_second_derivative=second.sympy_tanh_second,
    ),
    ActivationSpec(
        "softplus",
        lambda n, alpha: jnp.logaddexp(n, 0.0),
        lambda n, alpha: jax.nn.sigmoid(n),
        sympy_forward=lambda x, alpha: sp.log(1 + sp.exp(x)),
        sympy_derivative=lambda x, alpha: _sigmoid_sympy(x),
        description="log(1 + exp(n)), f' = sigmoid",
        second_derivative=second.softplus_second,
        sympy_second_derivative=second.sympy_softplus_second,
    ),
    ActivationSpec(
        "elu",
        lambda n, alpha: jnp.where(n >= 0, n, alpha * jnp.expm1(jnp.minimum(n, 0.0))),
        lambda n, alpha: jnp.where(n >= 0, 1.0, alpha * jnp.exp(jnp.minimum(n, 0.0))).astype(n.dtype),
        default_alpha=1.0,
        kinks=(0.0,),
        convention="elu'(0) = 1, the right-hand limit",
        sympy_forward=lambda x, alpha: sp.Piecewise((x, x >= 0), (alpha * (sp.exp(x) - 1), True)),
        sympy_derivative=lambda x, alpha: sp.Piecewise((1, x >= 0), (alpha * sp.exp(x), True)),
        description="n if n >= 0 else alpha (exp(n) - 1) (alpha = 1)",
        second_derivative=second.elu_second,
        sympy_second_derivative=second.sympy_elu_second,
    ),
    # GELU in the erfc form: 1 + erf(n / sqrt 2) cancels to 0 in the left tail (float32 gelu(-6)
    # would be 0, true -5.9e-9); erfc(-n / sqrt 2) keeps its relative accuracy there
    ActivationSpec(
        "gelu",
        lambda n, alpha: 0.5 * n * erfc(-n / _SQRT2),
        lambda n, alpha: 0.5 * erfc(-n / _SQRT2) + n * jnp.exp(-0.5 * n * n) / _SQRT2PI,
        sympy_forward=lambda x, alpha: x * sp.erfc(-x / sp.sqrt(2)) / 2,
        sympy_derivative=lambda x, alpha: sp.erfc(-x / sp.sqrt(2)) / 2 + x * sp.exp(-(x**2) / 2) / sp.sqrt(2 * sp.pi),
        description="exact GELU n Phi(n) = n erfc(-n / sqrt 2) / 2, f' = Phi(n) + n phi(n)",
        second_derivative=second.gelu_second,
        sympy_second_derivative=second.sympy_gelu_second,
    ),
    ActivationSpec(
        "softmax",
        lambda n, alpha: jax.nn.softmax(n, axis=-1),
        None,
        vjp=_softmax_vjp,
        sympy_forward=_softmax_sympy,
        sympy_vjp=_softmax_vjp_sympy,
        output_range=(0.0, 1.0),
        probabilities=True,
        description="exp(n_i) / sum_j exp(n_j), Jacobian diag(p) - p p^T",
    ),
)
