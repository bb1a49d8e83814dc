"""Weight initializers: ``(key, shape, dtype) -> array`` with ``shape = (fan_in, fan_out)``.

Variances (``fan_in = d_in``, ``fan_out = d_out``), untruncated distributions:

=================  ==========================================
name               distribution
=================  ==========================================
``he_normal``      N(0, 2 / fan_in)              (alias ``kaiming_normal``)
``he_uniform``     U(-r, r), r = sqrt(6 / fan_in) (variance 2 / fan_in; alias ``kaiming_uniform``)
``glorot_normal``  N(0, 2 / (fan_in + fan_out))  (alias ``xavier_normal``)
``glorot_uniform`` U(-r, r), r = sqrt(6 / (fan_in + fan_out)) (alias ``xavier_uniform``)
``lecun_normal``   N(0, 1 / fan_in)
``lecun_uniform``  U(-r, r), r = sqrt(3 / fan_in)
``normal(std)``    N(0, std^2)
``uniform(a, b)``  U(a, b)
``zeros``          0
=================  ==========================================

The variance-scaling ones are those of ``jax.nn.initializers.variance_scaling`` with the
``"normal"`` or ``"uniform"`` distribution; each random one is a :class:`ScaledDraw`, so that
:meth:`funcmlp.MLP.init` draws the weights of all layers in one program per size bucket
(:func:`standard_draws`) instead of one per layer shape.

Example:
    >>> import jax
    >>> get_initializer("he_normal")(jax.random.key(0), (3, 2)).shape
    (3, 2)
    >>> get_initializer("uniform(-0.5, 0.5)")(jax.random.key(0), (2,)).shape
    (2,)
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np

Initializer = Callable[..., jax.Array]

_STANDARD = {"normal": jax.random.normal, "uniform": jax.random.uniform}
"""The standard draws a :class:`ScaledDraw` scales: N(0, 1) and U(0, 1)."""


@dataclass(frozen=True)
class ScaledDraw:
    """An initializer whose entries are ``shift + scale * u``, ``u`` a standard draw (``"normal"``:
    N(0, 1); ``"uniform"``: U(0, 1)) and ``(scale, shift)`` a function of the shape: so
    :meth:`funcmlp.MLP.init` can draw the entries of every layer at once.

    Example:
        >>> import jax
        >>> he = ScaledDraw("normal", lambda fan_in, fan_out: (math.sqrt(2 / fan_in), 0.0))
        >>> he.affine((8, 3)), he(jax.random.key(0), (8, 3)).shape
        ((0.5, 0.0), (8, 3))
    """

    kind: str
    affine_of_fans: Callable[[int, int], tuple[float, float]]

    def affine(self, shape: tuple[int, ...]) -> tuple[float, float]:
        """``(scale, shift)`` for an array of ``shape`` (a bias ``(d,)`` has fan-in and fan-out ``d``)."""
        return self.affine_of_fans(shape[0], shape[-1])

    def __call__(self, key, shape, dtype=jnp.float32):
        scale, shift = self.affine(tuple(shape))
        return shift + scale * _STANDARD[self.kind](key, shape, dtype)


_KEY_OF = ("normal", "uniform", "other")
"""The three keys ``jax.random.split(key, 3)`` gives an init: its normal draws, its uniform ones, the rest."""


@partial(jax.jit, static_argnums=(1, 2, 3))
def standard_draws(key, kind: str, size: int, dtype) -> jax.Array:
    """``size`` standard draws ``(size,)`` of ``kind``, from ``kind``'s key of ``jax.random.split(key, 3)``
    (one compiled program per kind, size and dtype; the split inside it: no program of its own)."""
    return _STANDARD[kind](jax.random.split(key, 3)[_KEY_OF.index(kind)], (size,), dtype)


def draw_entries(key, entries: list[tuple[Initializer, tuple[int, ...]]], dtype) -> list[jax.Array]:
    """One array per ``(initializer, shape)`` of ``entries``, from ``key``: the entries of every
    :class:`ScaledDraw` of one kind come from one run of :func:`standard_draws` (its size the next
    power of two, at least 1024, so networks of similar size share the program), in order; other
    initializers are called with the key folded with their position.

    Example:
        >>> import jax
        >>> entries = [(get_initializer("he_normal"), (4, 3)), (constant(1.0), (3,))]
        >>> a, b = draw_entries(jax.random.key(0), entries, "float32")
        >>> a.shape, b.tolist()
        ((4, 3), [1.0, 1.0, 1.0])
    """
    dtype = np.dtype(dtype)
    traced = isinstance(key, jax.core.Tracer)  # under jit or vmap: scaled on the device, with jnp
    arrays: list = [None] * len(entries)
    for kind in _STANDARD:
        members = [i for i, (init, _) in enumerate(entries) if isinstance(init, ScaledDraw) and init.kind == kind]
        sizes = [math.prod(entries[i][1]) for i in members]
        if not members:
            continue
        size = max(1024, 1 << (sum(sizes) - 1).bit_length())
        draws = standard_draws(key, kind, size, dtype)
        draws = draws if traced else np.asarray(draws, np.float64)
        offset = 0
        for i, count in zip(members, sizes, strict=True):
            init, shape = entries[i]
            scale, shift = init.affine(shape)
            entry = (shift + scale * draws[offset : offset + count]).reshape(shape).astype(dtype)
            arrays[i] = entry if traced else jax.device_put(entry)  # jnp.asarray compiles a copy per shape
            offset += count
    other = None
    for i, (init, shape) in enumerate(entries):
        if arrays[i] is None:
            if not isinstance(init, Constant) and other is None:
                other = jax.random.split(key, 3)[_KEY_OF.index("other")]
            arrays[i] = init(None if isinstance(init, Constant) else jax.random.fold_in(other, i), shape, dtype)
    return arrays


def normal(std: float = 1.0) -> Initializer:
    """N(0, std^2) entries."""
    return ScaledDraw("normal", lambda fan_in, fan_out: (std, 0.0))


def uniform(low: float = -1.0, high: float = 1.0) -> Initializer:
    """U(low, high) entries."""
    if not low < high:
        raise ValueError(f"uniform(low, high) needs low < high, got low={low}, high={high}")
    return ScaledDraw("uniform", lambda fan_in, fan_out: (high - low, low))


@dataclass(frozen=True)
class Constant:
    """Every entry equal to ``value`` (made on the host: no key used, no program compiled per shape)."""

    value: float

    def __call__(self, key, shape, dtype=jnp.float32):
        return jax.device_put(np.full(shape, self.value, dtype))


def constant(value: float = 0.0) -> Initializer:
    """Every entry equal to ``value``."""
    return Constant(value)


def _variance_scaling(scale: float, fans: str, kind: str) -> ScaledDraw:
    """Variance ``scale / fan`` (``fan_in``, or ``fan_avg = (fan_in + fan_out) / 2``), normal or uniform."""

    def affine(fan_in, fan_out):
        variance = scale / (fan_in if fans == "fan_in" else (fan_in + fan_out) / 2)
        if kind == "normal":
            return math.sqrt(variance), 0.0
        half_width = math.sqrt(3 * variance)
        return 2 * half_width, -half_width

    return ScaledDraw(kind, affine)


_NAMED: dict[str, Initializer] = {
    "he_normal": _variance_scaling(2.0, "fan_in", "normal"),
    "he_uniform": _variance_scaling(2.0, "fan_in", "uniform"),
    "glorot_normal": _variance_scaling(1.0, "fan_avg", "normal"),
    "glorot_uniform": _variance_scaling(1.0, "fan_avg", "uniform"),
    "lecun_normal": _variance_scaling(1.0, "fan_in", "normal"),
    "lecun_uniform": _variance_scaling(1.0, "fan_in", "uniform"),
    "zeros": constant(0.0),
}
_ALIASES = {
    "kaiming_normal": "he_normal",
    "kaiming_uniform": "he_uniform",
    "xavier_normal": "glorot_normal",
    "xavier_uniform": "glorot_uniform",
}
_FACTORIES = {"normal": normal, "uniform": uniform, "constant": constant}

INITIALIZER_NAMES = (*_NAMED, *_ALIASES, "normal(std)", "uniform(low, high)", "constant(value)")


def get_initializer(spec: str | Initializer) -> Initializer:
    """Resolve an initializer name such as ``"glorot_uniform"`` or ``"normal(0.1)"``, or pass a callable through.

    Example:
        >>> import jax
        >>> float(get_initializer("constant(0.5)")(jax.random.key(0), (1,))[0])
        0.5
    """
    if callable(spec):
        return spec
    if not isinstance(spec, str):
        raise ValueError(f"an initializer must be a name or a callable, got {type(spec).__name__} {spec!r}")
    text = spec.strip().lower().replace(" ", "")
    if text.endswith(")") and "(" in text:
        name, _, args = text[:-1].partition("(")
        if name in _FACTORIES:
            try:
                values = [float(v) for v in args.split(",") if v]
            except ValueError:
                raise ValueError(f"initializer arguments in {spec!r} must be numbers, e.g. 'normal(0.1)'") from None
            if not all(np.isfinite(values)):
                raise ValueError(f"initializer arguments in {spec!r} must be finite numbers, e.g. 'normal(0.1)'")
            return _FACTORIES[name](*values)
    text = _ALIASES.get(text, text)
    if text in _NAMED:
        return _NAMED[text]
    if text in _FACTORIES:
        return _FACTORIES[text]()
    raise ValueError(f"unknown initializer {spec!r}; expected one of {', '.join(INITIALIZER_NAMES)}")
