"""Independent references for the tests: a forward pass written here with jax.nn, losses from
optax (or numpy formulas written here), and their jax.grad. Nothing here imports funcmlp's
activations, losses, model or backprop: a slip there cannot be copied into the reference."""

import functools

import jax
import jax.numpy as jnp
import optax
from jax.scipy.special import xlogy


def _sigmoid(n):
    # 1 / (1 + e^-n) for n >= 0, e^n / (1 + e^n) below, both through u = e^-|n| <= 1: jax.grad of
    # this is accurate to the last bits where sigmoid saturates (jax.nn.sigmoid's rule s (1 - s)
    # cancels there even in float64, which would make the reference, not funcmlp, wrong)
    u = jnp.exp(-jnp.abs(n))
    return jnp.where(n >= 0, 1 / (1 + u), u / (1 + u))


def _tanh(n):
    # sign(n) (1 - u) / (1 + u) with u = e^-2|n|: the same reason (jnp.tanh's rule is 1 - tanh^2)
    u = jnp.exp(-2 * jnp.abs(n))
    return jnp.sign(n) * (1 - u) / (1 + u)


# one rule per activation, from jax.nn where its derivative rule is accurate (alpha where the activation takes one)
ACTIVATIONS = {
    "identity": lambda n, alpha: n,
    "hardlimit": lambda n, alpha: jnp.where(n >= 0, 1.0, 0.0).astype(n.dtype),
    "symmetric_hardlimit": lambda n, alpha: jnp.where(n >= 0, 1.0, -1.0).astype(n.dtype),
    "relu": lambda n, alpha: jax.nn.relu(n),
    "leaky_relu": lambda n, alpha: jax.nn.leaky_relu(n, 0.01 if alpha is None else alpha),
    "sigmoid": lambda n, alpha: _sigmoid(n),
    "tanh": lambda n, alpha: _tanh(n),
    "softplus": lambda n, alpha: jax.nn.softplus(n),
    "elu": lambda n, alpha: jnp.where(n > 0, n, (1.0 if alpha is None else alpha) * _expm1(jnp.minimum(n, 0.0))),
    "gelu": lambda n, alpha: jax.nn.gelu(n, approximate=False),
    "softmax": lambda n, alpha: _softmax(n),
}


@jax.custom_jvp
def _expm1(x):
    return jnp.expm1(x)


# d/dx expm1(x) = exp(x). JAX's own rule computes it as expm1(x) + 1, which is exactly 0 once
# expm1(x) rounds to -1 (x < -37 in float64): jax.grad of jax.nn.elu is 0 there, the true
# derivative e^x is not (hypothesis found it on an elu output at n = -40)
_expm1.defjvp(lambda primals, tangents: (jnp.expm1(primals[0]), jnp.exp(primals[0]) * tangents[0]))


@jax.custom_vjp
def _softmax(z):
    return jnp.exp(_log_softmax(z))


def _softmax_forward(z):
    p = _softmax(z)
    return p, (p, jax.nn.one_hot(jnp.argmax(z, axis=-1), z.shape[-1], dtype=bool))


def _softmax_backward(saved, g):
    # g J = p (g - <g, p>); with m the largest input, g - <g, p> = (g - g_m) - sum_{i != m} p_i (g_i - g_m)
    # (sum_i p_i = 1): no difference of nearly equal numbers where p_m rounds to 1. jax.grad through
    # exp(log_softmax) subtracts two such numbers there and loses ~8 digits (found by hypothesis:
    # a 1-1-5 identity/softmax network with logits of +-50 and sse, checked against mpmath)
    p, top = saved
    d = jnp.where(top, 0.0, g - jnp.sum(jnp.where(top, g, 0.0), axis=-1, keepdims=True))  # g_m - g_m: an exact 0
    return (p * (d - jnp.sum(jnp.where(top, 0.0, p * d), axis=-1, keepdims=True)),)


_softmax.defvjp(_softmax_forward, _softmax_backward)


def _log_softmax(z):
    """log p_j = (z_j - z_max) - log1p(sum over the other classes of exp(z_k - z_max)): log1p
    keeps 1 - p_max, so jax.grad through it is accurate where softmax saturates (jax.nn.softmax's
    rule p (g - <g, p>) and optax's p - y round to 0 there, in float64 too)."""
    top = jax.nn.one_hot(jax.lax.stop_gradient(jnp.argmax(z, axis=-1)), z.shape[-1], dtype=bool)
    z_max = jnp.sum(jnp.where(top, z, 0.0), axis=-1, keepdims=True)
    rest = jnp.log1p(jnp.sum(jnp.where(top, 0.0, jnp.exp(jnp.where(top, 0.0, z - z_max))), axis=-1, keepdims=True))
    # the largest entry as -rest alone: jax.grad of (z_m - z_max) - rest would add the adjoints +1 and -1 of
    # z_m before the tiny one of rest and lose it (a gradient of 2.4e-38 came out 0; hypothesis found it)
    return jnp.where(top, 0.0, z - z_max) - rest


def _softmax_cross_entropy(z, y):
    """-sum_j y_j log p_j on :func:`_log_softmax` (equal to optax.softmax_cross_entropy, with an
    accurate gradient where softmax saturates)."""
    return -jnp.sum(y * _log_softmax(z), axis=-1)


# per-example losses (batch, d) -> (batch,) on the output a (and the last net input n for the
# losses on probabilities, which equal the logits loss of n: log(sigmoid(n)) is the stable form)
LOSSES = {
    "sse": lambda n, a, y: jnp.sum(optax.squared_error(a, y), axis=-1),
    "half_sse": lambda n, a, y: jnp.sum(optax.l2_loss(a, y), axis=-1),
    "mse": lambda n, a, y: jnp.mean(optax.squared_error(a, y), axis=-1),
    "sigmoid_binary_cross_entropy": lambda n, a, y: jnp.sum(optax.sigmoid_binary_cross_entropy(a, y), axis=-1),
    "softmax_cross_entropy": lambda n, a, y: _softmax_cross_entropy(a, y),
    "binary_cross_entropy": lambda n, a, y: jnp.sum(optax.sigmoid_binary_cross_entropy(n, y), axis=-1),
    "cross_entropy": lambda n, a, y: _softmax_cross_entropy(n, y),
    "huber": lambda n, a, y: jnp.sum(optax.huber_loss(a, y, delta=1.0), axis=-1),
    "huber(0.5)": lambda n, a, y: jnp.sum(optax.huber_loss(a, y, delta=0.5), axis=-1),
    "absolute_error": lambda n, a, y: jnp.sum(jnp.abs(a - y), axis=-1),
    # the negative log-likelihood of y ~ Poisson(rate) at rate = e^a, less log(y!): rate - y log(rate)
    "poisson": lambda n, a, y: jnp.sum(jnp.exp(a) - xlogy(y, jnp.exp(a)), axis=-1),
    # labels 0/1 as optax's -1/+1
    "hinge": lambda n, a, y: jnp.sum(optax.hinge_loss(a, 2 * y - 1), axis=-1),
}

# the same two on the probabilities themselves, for outputs that are not saturated
PROBABILITY_LOSSES = {
    "binary_cross_entropy": lambda a, y: -jnp.sum(y * jnp.log(a) + (1 - y) * jnp.log(1 - a), axis=-1),
    "cross_entropy": lambda a, y: -jnp.sum(y * jnp.log(a), axis=-1),
}


def forward(params, x, activations):
    """(n^L, a^L) of ``x`` (batch, d_0); ``activations`` are (name, alpha) pairs, one per layer."""
    a = x
    for (W, b), (name, alpha) in zip(params, activations, strict=True):
        n = a @ W + b
        a = ACTIVATIONS[name](n, alpha)
    return n, a


def batch_loss(params, x, y, activations, loss, *, reduction="mean", weights=None):
    """The batch loss with ``y`` already (batch, d_L) floats."""
    n, a = forward(params, x, activations)
    per_example = LOSSES[loss](n, a, y)
    w = jnp.ones(x.shape[0], x.dtype) if weights is None else weights
    total = jnp.sum(w * per_example)
    return total / jnp.sum(w) if reduction == "mean" else total


def gradient(params, x, y, activations, loss, *, reduction="mean", weights=None):
    """jax.grad of :func:`batch_loss`, as ((W, b), ...) plain tuples (compiled: one program per network, loss and
    shapes costs about half the time of jax.grad's operations run one by one)."""
    plain = tuple((W, b) for W, b in params)
    return _compiled_gradient(plain, x, y, tuple(activations), loss, reduction, weights)


@functools.partial(jax.jit, static_argnums=(3, 4, 5))
def _compiled_gradient(plain, x, y, activations, loss, reduction, weights):
    return jax.grad(batch_loss)(plain, x, y, activations, loss, reduction=reduction, weights=weights)
