"""Seed 003's perceptron learning rule (eq. 6), one example at a time:

    theta <- theta + eta [1 x]^T (y - a),   a = hardlimit(b + x W)

for a single layer of ``p`` hard-limit units (params of ``MLP((n, p), output="hardlimit")``), targets
``y`` in {0, 1}. An example the layer already gets right changes nothing (``y - a = 0``); each
wrong unit moves its weights by ``+-eta x``. Hard limits have no useful derivative, so
backprop cannot train them; this rule can, on linearly separable data (AND, OR; never XOR).

Example:
    >>> import jax, jax.numpy as jnp
    >>> from funcmlp.core.model import MLP
    >>> x = jnp.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]]); y = jnp.array([[0.], [0.], [0.], [1.]])  # AND
    >>> params = MLP((2, 1), output="hardlimit").init(jax.random.key(0), init="zeros")
    >>> for epoch in range(1, 20):
    ...     params, mistakes = perceptron_epoch(params, x, y, jnp.arange(4), 1.0)
    ...     if mistakes == 0:
    ...         break
    >>> epoch, [float(v) for v in params[0].W[:, 0]], float(params[0].b[0])
    (6, [2.0, 1.0], -3.0)
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from funcmlp.core.params import Layer, Params
from funcmlp.registry.activations import get_activation

_HARDLIMIT = get_activation("hardlimit")


@partial(jax.jit, static_argnames=("fit_intercept",))
def perceptron_epoch(
    params: Params, x, targets, order, eta, weights=None, *, fit_intercept: bool = True
) -> tuple[Params, jax.Array]:
    """One pass of the rule over the examples in ``order`` ``(N,)`` (a permutation, or
    ``arange``), with ``x`` ``(N, n)``, ``targets`` ``(N, p)`` in {0, 1} and a learning rate
    ``eta``; ``weights`` ``(N,)`` scale each example's step (sample weights). Returns the new
    params and the number of examples (of positive weight) that were wrong on some unit when
    their turn came (so 0: the epoch changed nothing, the rule has converged). ``fit_intercept=False`` keeps
    the biases as they are."""
    (layer,) = params
    weights = jnp.ones(x.shape[0], x.dtype) if weights is None else weights

    def step(carry, i):
        W, b, mistakes = carry
        error = targets[i] - _HARDLIMIT(x[i] @ W + b)  # (p,): y - a, each entry -1, 0 or 1
        rate = eta * weights[i]
        W = W + rate * jnp.outer(x[i], error)
        b = b + rate * error if fit_intercept else b
        moved = jnp.any(error != 0) & (weights[i] > 0)
        return (W, b, mistakes + moved.astype(jnp.int32)), None

    (W, b, mistakes), _ = jax.lax.scan(step, (layer.W, layer.b, jnp.zeros((), jnp.int32)), order)
    return (Layer(W, b),), mistakes
