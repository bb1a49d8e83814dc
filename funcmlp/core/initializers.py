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

The variance-scaling ones are ``jax.nn.initializers.variance_scaling`` with the
``"normal"`` or ``"uniform"`` distribution.

Example:
    >>> import jax
    >>> get_initializer("he_normal")(jax.random.key(0), (3, 2)).shape
    (3, 2)
    >>> get_initializer("uniform(-0.5, 0.5)")(jax.random.key(0), (2,)).shape
    (2,)
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.nn import initializers as jinit

Initializer = Callable[..., jax.Array]


def normal(std: float = 1.0) -> Initializer:
    """N(0, std^2) entries."""

    def init(key, shape, dtype=jnp.float32):
        return std * jax.random.normal(key, shape, dtype)

    return init


def uniform(low: float = -1.0, high: float = 1.0) -> Initializer:
    """U(low, high) entries."""
    if not low < high:
        raise ValueError(f"uniform(low, high) needs low < high, got low={low}, high={high}")

    def init(key, shape, dtype=jnp.float32):
        return jax.random.uniform(key, shape, dtype, minval=low, maxval=high)

    return init


def constant(value: float = 0.0) -> Initializer:
    """Every entry equal to ``value``."""

    def init(key, shape, dtype=jnp.float32):
        return jnp.full(shape, value, dtype)

    return init


_NAMED: dict[str, Initializer] = {
    "he_normal": jinit.variance_scaling(2.0, "fan_in", "normal"),
    "he_uniform": jinit.variance_scaling(2.0, "fan_in", "uniform"),
    "glorot_normal": jinit.variance_scaling(1.0, "fan_avg", "normal"),
    "glorot_uniform": jinit.variance_scaling(1.0, "fan_avg", "uniform"),
    "lecun_normal": jinit.variance_scaling(1.0, "fan_in", "normal"),
    "lecun_uniform": jinit.variance_scaling(1.0, "fan_in", "uniform"),
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
            return _FACTORIES[name](*values)
    text = _ALIASES.get(text, text)
    if text in _NAMED:
        return _NAMED[text]
    if text in _FACTORIES:
        return _FACTORIES[text]()
    raise ValueError(f"unknown initializer {spec!r}; expected one of {', '.join(INITIALIZER_NAMES)}")
