"""Manual backprop (the seed-003 sensitivity recursion) against an independent reference:
jax.grad of a loss written with jax.nn and optax in tests/reference.py (no funcmlp code), over
every (output activation, loss) pair the library accepts, every kind of target, example
weights, batch 1 to 16, float64 and float32, logits up to +-50; and against finite differences."""

import functools
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funcmlp import MLP, backprop, params_from_arrays
from funcmlp.gradcheck import finite_difference_grad
from funcmlp.registry.activations import ACTIVATION_NAMES

HIDDEN = [*ACTIVATION_NAMES, "leaky_relu(0.2)", "elu(0.5)"]  # every built-in, and parameters away from their defaults
OUTPUTS = HIDDEN
# what each loss accepts, written here from the README's rules (test_losses checks the library agrees)
PROBABILITY_OUTPUTS = ["sigmoid", "softmax"]
ACCEPTED = {
    "sse": OUTPUTS,
    "half_sse": OUTPUTS,
    "mse": OUTPUTS,
    "sigmoid_binary_cross_entropy": [o for o in OUTPUTS if o not in PROBABILITY_OUTPUTS],
    "softmax_cross_entropy": [o for o in OUTPUTS if o not in PROBABILITY_OUTPUTS],
    "binary_cross_entropy": ["sigmoid"],
    "cross_entropy": ["softmax"],
    "huber(0.5)": OUTPUTS,
    "absolute_error": OUTPUTS,
    "poisson": OUTPUTS,
    "hinge": [o for o in OUTPUTS if o not in PROBABILITY_OUTPUTS],
}
TARGETS = {
    "sse": ["real"],
    "half_sse": ["real"],
    "mse": ["real"],
    "sigmoid_binary_cross_entropy": ["hard", "soft", "integers"],
    "binary_cross_entropy": ["hard", "soft", "integers"],
    "softmax_cross_entropy": ["labels", "one_hot", "soft", "smoothed", "multi_hot", "partial"],
    "cross_entropy": ["labels", "one_hot", "soft", "smoothed", "multi_hot", "partial"],
    "huber(0.5)": ["real"],
    "absolute_error": ["real"],
    "poisson": ["counts", "rates"],
    "hinge": ["hard", "integers"],
}
SMOOTH = ["identity", "sigmoid", "tanh", "softplus", "gelu", "softmax"]


def test_the_reference_has_every_builtin_activation():
    assert set(reference.ACTIVATIONS) == set(ACTIVATION_NAMES)


def parse(name):
    if "(" in name:
        base, arg = name[:-1].split("(")
        return base, float(arg)
    return name, None


def draw_targets(rng, kind, batch, units, dtype):
    """(targets as given to funcmlp, the same as (batch, units) floats for the reference)."""
    if kind == "real":
        y = 3.0 * rng.normal(size=(batch, units))
        return jnp.asarray(y, dtype), jnp.asarray(y, dtype)
    if kind == "counts":  # Poisson counts as floats
        y = rng.poisson(3.0, size=(batch, units)).astype(float)
        return jnp.asarray(y, dtype), jnp.asarray(y, dtype)
    if kind == "rates":
        y = rng.uniform(0.0, 5.0, size=(batch, units))
        return jnp.asarray(y, dtype), jnp.asarray(y, dtype)
    if kind == "integers":  # 0/1 as integers, (batch,) for one unit
        labels = rng.integers(0, 2, size=(batch, units))
        return jnp.asarray(labels[:, 0] if units == 1 else labels), jnp.asarray(labels, dtype)
    if kind == "labels":
        labels = rng.integers(0, units, size=batch)
        return jnp.asarray(labels), jnp.asarray(np.eye(units)[labels], dtype)
    if kind in ("hard", "multi_hot"):
        y = rng.integers(0, 2, size=(batch, units)).astype(float)
    elif kind == "soft":
        y = rng.uniform(size=(batch, units))
        if units > 1:
            y = y / y.sum(-1, keepdims=True)  # probability rows
    elif kind == "one_hot":
        y = np.eye(units)[rng.integers(0, units, size=batch)]
    elif kind == "smoothed":
        y = np.asarray(optax.smooth_labels(np.eye(units)[rng.integers(0, units, size=batch)], 0.1))
    elif kind == "partial":  # soft rows summing to 0.9: p - y would be wrong here
        y = rng.uniform(size=(batch, units))
        y = 0.9 * y / y.sum(-1, keepdims=True)
    return jnp.asarray(y, dtype), jnp.asarray(y, dtype)


def random_problem(
    seed, sizes, activations, loss, batch, *, dtype=jnp.float64, logit_scale=1.0, target="real", weighted=False
):
    """A network with Glorot-normal weights, biases of std 0.3 and the last layer scaled by
    ``logit_scale``, a standard-normal batch, targets of the given kind (numpy draws: no compile)."""
    mlp = MLP(sizes, activations)
    rng = np.random.default_rng(seed)
    layers = []
    for k, (d_in, d_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        scale = logit_scale if k == len(sizes) - 2 else 1.0
        W = scale * rng.normal(size=(d_in, d_out)) * np.sqrt(2.0 / (d_in + d_out))
        layers.append((W, scale * 0.3 * rng.normal(size=d_out)))
    params = params_from_arrays(layers, dtype=dtype)
    x = jnp.asarray(rng.normal(size=(batch, sizes[0])), dtype)
    y, y_reference = draw_targets(rng, target, batch, sizes[-1], dtype)
    weights = None
    if weighted:
        w = rng.uniform(0.0, 2.0, size=batch)
        w[0] = 1.0
        weights = jnp.asarray(w, dtype)
    return mlp, params, x, y, y_reference, weights


def reference_activations(mlp):
    return tuple((act.name, act.alpha) for act in mlp.activations)


def assert_trees_close(actual, expected, rtol, atol_scale=1e-13, floor=1e-300, scales=None):
    """Each leaf within ``rtol`` of the reference, or ``atol_scale`` of its largest entry (with ``scales``, one
    array per leaf: ``atol_scale`` times each entry's own scale, e.g. :func:`rounding_bound`'s E), or ``floor``
    absolute (one number, or one per leaf: float32 cannot hold values below ~1e-38 to any relative accuracy)."""
    leaves = list(zip(jax.tree_util.tree_leaves(actual), jax.tree_util.tree_leaves(expected), strict=True))
    floors = floor if isinstance(floor, (list, tuple)) else [floor] * len(leaves)
    scales = [None] * len(leaves) if scales is None else jax.tree_util.tree_leaves(scales)
    for (a, e), leaf_floor, leaf_scale in zip(leaves, floors, scales, strict=True):
        a, e = np.asarray(a), np.asarray(e)
        assert np.isfinite(a).all(), "manual gradient is not finite"
        scale = max(float(np.abs(e).max()), 1e-300) if leaf_scale is None else np.asarray(leaf_scale, np.float64)
        atol = np.maximum(atol_scale * scale, leaf_floor)
        error, allowed = np.abs(a.astype(np.float64) - e), atol + rtol * np.abs(e)
        worst = np.unravel_index(np.argmax(error - allowed), e.shape) if e.shape else ()
        assert (error <= allowed).all(), f"{a[worst]} vs {e[worst]}: error {error[worst]:.3g} > {allowed[worst]:.3g}"


# float32's first-order rounding error, bounded per gradient entry in the style of Higham ("Accuracy and Stability
# of Numerical Algorithms", 2nd ed., ch. 3: a dot product of length d errs by at most d u times the sum of its
# terms' magnitudes, to first order, in any order of summation). Every error below is a bound in units of
# u = 2^-24, one row per example, in float64, at the values of tests/reference.py's forward pass, with the
# derivatives by jax autodiff of its activations and losses (no funcmlp code).
U32 = 2.0**-24
FUNCTION_ULPS = 4
"""The model of a float32 elementary function (exp, expm1, log1p, erfc, tanh, logistic) and of a closed form built
from a few (gelu' = Phi + n phi, sigmoid(n) sigmoid(-n)): the exact value at an argument within this many u of
|n| + 1, times 1 + delta with |delta| <= this many u (the argument's own rounding inside, as -n / sqrt 2, and the
sum of near-opposite terms are what the argument's part holds)."""
BOUND_CONSTANT = 2
"""error <= BOUND_CONSTANT u E. E is first order: a product of factors (1 + delta_i) is taken as 1 + sum delta_i;
the terms left out are O((m u)^2), m < 300 the roundings along a path here: under 1e-4 of E, so 1 would do for
the model itself. The factor 2 is for what the model claims rather than proves: FUNCTION_ULPS (the platform's
elementary functions, which IEEE does not fix) and the roundings counted in each closed form. Measured over 200
float32 draws of each loss: error <= 0.35 u E, the median draw's largest 0.02 to 0.06 u E."""
EXACT_ACTIVATIONS = ("identity", "relu", "hardlimit", "symmetric_hardlimit")  # f(n) and f'(n) g round nothing
LINKS = {  # the function a loss applies to its argument z: G = sigmoid(z) - y, p(z) sum(y) - y, e^z - y
    "sigmoid_binary_cross_entropy": "sigmoid",
    "binary_cross_entropy": "sigmoid",
    "softmax_cross_entropy": "softmax",
    "cross_entropy": "softmax",
    "poisson": "exp",
}
ON_NET_INPUTS = ("binary_cross_entropy", "cross_entropy")  # their gradient is computed from n^L (the pairs' rule)
PADDED = 16 * 32  # the most entries of a drawn layer (batch 16, width 32): one compiled program per activation


def _activation(name, alpha):
    return lambda n: reference.ACTIVATIONS[name](n, alpha)


@functools.partial(jax.jit, static_argnums=(0, 1))
def _elementwise_derivatives(name, alpha, n):
    """f, f', f'' of an elementwise activation at ``n`` (PADDED entries)."""
    first = jax.grad(_activation(name, alpha))
    return _activation(name, alpha)(n), jax.vmap(first)(n), jax.vmap(jax.grad(first))(n)


@jax.jit
def _softmax_jacobian(n):
    """p and J[i, j, k] = dp_j / dn_k, per example."""
    return _activation("softmax", None)(n), jax.vmap(jax.jacrev(_activation("softmax", None)))(n)


@jax.jit
def _softmax_vjp_jacobian(n, g):
    """d(J^T g)_j / dn_k per example, g held fixed."""
    pullback = lambda v, gi: jax.vjp(_activation("softmax", None), v)[1](gi)[0]
    return jax.vmap(jax.jacrev(pullback))(n, g)


@functools.partial(jax.jit, static_argnums=0)
def _loss_derivatives(loss, z, y):
    """G = dl/dz and dG/dz per example, z the reference loss's argument (n^L or a^L: it is given as both)."""
    one = lambda v, yi: reference.LOSSES[loss](v[None], v[None], yi[None])[0]
    return jax.vmap(jax.grad(one))(z, y), jax.vmap(jax.jacrev(jax.grad(one)))(z, y)


def _padded(function, *arrays):
    """``function``'s arrays, of arrays (batch, d) with the batch padded to 16 (one compiled program per width)."""
    rows = len(arrays[0])
    pad = lambda a: np.concatenate([a, np.zeros((16 - rows, *a.shape[1:]))])
    return [np.asarray(v)[:rows] for v in jax.tree_util.tree_leaves(function(*(pad(a) for a in arrays)))]


def _times(M, v):
    """M v per example: (batch, d, d) times (batch, d)."""
    return np.einsum("ijk,ik->ij", M, v)


def _transposed_times(M, v):
    """M^T v per example."""
    return np.einsum("ijk,ij->ik", M, v)


class _Derivatives:
    """An activation at a layer's net inputs n (batch, d): a = f(n), its Jacobian J (batch, d, d) (diagonal f'
    elementwise, with f''), and the error terms of a = f(n) and of s = J^T g."""

    def __init__(self, name, alpha, n):
        self.name, self.n = name, n
        if name == "softmax":
            self.a, self.J = _padded(_softmax_jacobian, n)
        else:
            flat = np.zeros(PADDED)
            flat[: n.size] = n.ravel()
            self.a, self.f1, self.f2 = (
                np.asarray(v)[: n.size].reshape(n.shape) for v in _elementwise_derivatives(name, alpha, flat)
            )
            self.J = self.f1[:, :, None] * np.eye(n.shape[-1])

    def _shift(self):
        """|n - max n|: the rounding of softmax's shift of its inputs."""
        return np.abs(self.n - self.n.max(-1, keepdims=True))

    def rounding(self):
        """f's own error at n: none (exact), one rounding (alpha n), FUNCTION_ULPS of |f(n)| and of |n| + 1 in n,
        or softmax's: its shift, and exp, the sum of d terms and the division, (d + FUNCTION_ULPS) |p|."""
        n, a = self.n, self.a
        if self.name == "softmax":
            return _times(np.abs(self.J), self._shift()) + (n.shape[-1] + FUNCTION_ULPS) * np.abs(a)
        if self.name in EXACT_ACTIVATIONS:
            return np.zeros_like(n)
        if self.name == "leaky_relu":
            return np.abs(a)
        return FUNCTION_ULPS * (np.abs(a) + np.abs(self.f1) * (np.abs(n) + 1))

    def forward_error(self, en):
        """The error of a = f(n): |J| en (n's error) + f's own."""
        return _times(np.abs(self.J), en) + self.rounding()

    def vjp(self, g, eg, en):
        """s = J^T g, its error: |J|^T eg (g's) + |D| en (n's; D = d(J^T g)/dn at this g) + J^T g's own, and D.
        Own: f' (FUNCTION_ULPS of |f'| and of |n| + 1 in n) times g, and the product; softmax's p (d - <p, d>)
        with d = g - g_max: its shift and p's rounding through D, (d + FUNCTION_ULPS + 2) p (|d| + <p, |d|>)."""
        s = _transposed_times(self.J, g)
        if self.name == "softmax":
            D = _padded(_softmax_vjp_jacobian, self.n, g)[0]
            d = np.abs(g - np.take_along_axis(g, np.argmax(self.n, -1)[:, None], -1))
            spread = np.sum(self.a * d, -1, keepdims=True)
            own = (g.shape[-1] + FUNCTION_ULPS + 2) * self.a * (d + spread) + _times(np.abs(D), self._shift())
        else:
            D = (self.f2 * g)[:, :, None] * np.eye(g.shape[-1])
            if self.name in EXACT_ACTIVATIONS:
                own = np.zeros_like(g)
            elif self.name == "leaky_relu":
                own = np.abs(s)
            else:
                own = np.abs(s) + FUNCTION_ULPS * np.abs(g) * (np.abs(self.f1) + np.abs(self.f2) * (np.abs(self.n) + 1))
        return s, _transposed_times(np.abs(self.J), eg) + _times(np.abs(D), en) + own, D


def _output_sensitivity(loss, derivatives, en, y):
    """s^L = dl/dn^L per example (unreduced) and its error. The loss's gradient G = dl/dz in its argument z (n^L for
    the losses on net inputs, else a^L) rounds twice (a - y and a factor: 2 |G|); with a link (:data:`LINKS`) it
    is also computed at an argument within FUNCTION_ULPS of |z| + 1 (+ max |z|, softmax's shift), plus softmax's
    sum and division, (d + FUNCTION_ULPS) sum(y) min(p, 1 - p) (p > 1/2 written through the other classes). Then
    s = J^T G as a hidden layer's step, with H = ds/dn = J^T dG J + d(J^T G)/dn carrying n^L's error and
    K = J^T dG carrying a^L's own."""
    z = derivatives.n if loss in ON_NET_INPUTS else derivatives.a
    G, dG = _padded(functools.partial(_loss_derivatives, loss), z, y)
    own = 2 * np.abs(G)
    link = LINKS.get(loss)
    if link is not None:
        spread = np.abs(z) + 1 + (np.abs(z).max(-1, keepdims=True) if link == "softmax" else 0)
        own += FUNCTION_ULPS * _times(np.abs(dG), spread)
        if link == "softmax":
            p = _padded(_softmax_jacobian, z)[0]
            own += (z.shape[-1] + FUNCTION_ULPS) * np.abs(y.sum(-1, keepdims=True)) * np.minimum(p, 1 - p)
    if loss in ON_NET_INPUTS:
        return G, _times(np.abs(dG), en) + own
    s, error, D = derivatives.vjp(G, own, np.zeros_like(en))  # |J|^T (G's own error) + J^T G's own
    K = np.einsum("ikj,ikl->ijl", derivatives.J, dG)
    H = np.einsum("ijk,ikl->ijl", K, derivatives.J) + D
    return s, error + _times(np.abs(H), en) + _times(np.abs(K), derivatives.rounding())


def rounding_bound(mlp, params, x, y_reference, loss, reduction, weights):
    """Per leaf (W^1, b^1, W^2, ...), E with |float32 gradient - exact gradient at the same numbers| <= u E to first
    order, for any order of the sums, from a model of each step's rounding (x, y, params and weights exact):

    - forward, per example: n = a W + b, a dot product of length d and the bias: (d + 1)(|a||W| + |b|) + e_a |W|;
      a = f(n): |J| e_n + f's own (:meth:`_Derivatives.rounding`);
    - s^L = dl/dn^L: :func:`_output_sensitivity`, which carries n^L's error (e.g. a - y's, where it cancels);
      times the reduction's factor r_i = w_i / sum w: (B + 1) |s^L| more;
    - backward: g = s^{k+1} (W^{k+1})^T, a dot product of length d_{k+1}: d_{k+1} |s||W|^T + e_s |W|^T;
      s^k = J^T g: |J|^T e_g + |d(J^T g)/dn| e_n + its own (:meth:`_Derivatives.vjp`);
    - the gradients, sums over the batch of B terms: dL/dW = sum_i a_i^T s_i: B sum_i |a_i|^T |s_i| +
      sum_i (e_a^T |s_i| + |a_i|^T e_s); dL/db = sum_i s_i: B sum_i |s_i| + sum_i e_s.

    The errors are carried at the exact values (the reference's, in float64): the difference is second order."""
    plain = [(np.asarray(W, np.float64), np.asarray(b, np.float64)) for W, b in params]
    batch = len(x)
    w = np.ones(batch) if weights is None else np.asarray(weights, np.float64)
    r = w / w.sum() if reduction == "mean" else w
    a, ea = np.asarray(x, np.float64), np.zeros(np.shape(x))
    inputs, nets = [], []
    for (W, b), (name, alpha) in zip(plain, reference_activations(mlp), strict=True):
        inputs.append((a, ea))
        en = (W.shape[0] + 1) * (np.abs(a) @ np.abs(W) + np.abs(b)) + ea @ np.abs(W)
        derivatives = _Derivatives(name, alpha, a @ W + b)
        nets.append((derivatives, en))
        a, ea = derivatives.a, derivatives.forward_error(en)
    s, es = _output_sensitivity(loss, *nets[-1], np.asarray(y_reference, np.float64))
    s, es = r[:, None] * s, np.abs(r)[:, None] * (es + (batch + 1) * np.abs(s))
    bounds = [None] * len(plain)
    for k in reversed(range(len(plain))):
        a, ea = inputs[k]
        bounds[k] = (
            batch * np.abs(a).T @ np.abs(s) + ea.T @ np.abs(s) + np.abs(a).T @ es,
            batch * np.abs(s).sum(0) + es.sum(0),
        )
        if k > 0:
            W = plain[k][0]
            g, eg = s @ W.T, W.shape[1] * np.abs(s) @ np.abs(W).T + es @ np.abs(W).T
            derivatives, en = nets[k - 1]
            s, es, _ = derivatives.vjp(g, eg, en)
    return [leaf for pair in bounds for leaf in pair]


def flush_floors(mlp, params, x, weights_total: float) -> list[float]:
    """The most each float32 gradient entry may lose where XLA's CPU flushes subnormal numbers to zero
    (a sensitivity below float32's smallest normal, ``tiny``, becomes 0): each layer's sensitivities
    may each lose ``tiny``, and the sensitivities above it, carried down by the recursion
    ``s^k = s^{k+1} (W^{k+1})^T F'(n^k)``, lose what they lost times ``max_i sum_j |W^{k+1}_ij|`` times
    ``|F'| <= 1.2`` (the largest slope of the built-in activations: GELU's 1.13); dL/dW^k sums
    ``a^{k-1} s^k`` over the batch (its weights summing to at most ``weights_total``), dL/db^k sums ``s^k``.
    One floor per leaf, in the params' order (W^1, b^1, W^2, ...). The layers' inputs ``a^{k-1}`` come
    from the independent forward pass of tests/reference.py, in float64."""
    tiny = float(np.finfo(np.float32).tiny)
    Ws = [np.abs(np.asarray(layer.W, np.float64)) for layer in params]
    plain = [(np.asarray(W, np.float64), np.asarray(b, np.float64)) for W, b in params]
    acts, x64 = reference_activations(mlp), np.asarray(x, np.float64)
    inputs = [x64, *(np.asarray(reference.forward(plain[:k], x64, acts[:k])[1]) for k in range(1, len(plain)))]
    lost = [0.0] * len(Ws)
    for k in reversed(range(len(Ws))):
        carried = 1.2 * float(Ws[k + 1].sum(axis=1).max()) * lost[k + 1] if k + 1 < len(Ws) else 0.0
        lost[k] = tiny + carried
    floors = []
    for k in range(len(Ws)):
        floors += [weights_total * float(np.abs(inputs[k]).max(initial=0.0)) * lost[k], weights_total * lost[k]]
    return [max(f, 10 * tiny) for f in floors]


@st.composite
def problems(draw, loss):
    dtype = draw(st.sampled_from([jnp.float64, jnp.float64, jnp.float32]))
    depth = draw(st.integers(1, 5))
    # widths from 1 to 32; a fixed menu keeps JAX's per-shape compile cache warm
    widths = [draw(st.sampled_from([1, 2, 5, 13, 32])) for _ in range(depth + 1)]
    if loss in ("softmax_cross_entropy", "cross_entropy") and widths[-1] == 1:
        widths[-1] = draw(st.sampled_from([2, 5]))
    # kinked activations in float32 too: a net input within float32 rounding of a kink (where the
    # float64 reference could take the other side) has probability ~1e-6 per unit with these draws
    hidden = [draw(st.sampled_from(HIDDEN)) for _ in range(depth - 1)]
    output = draw(st.sampled_from(ACCEPTED[loss]))
    if loss == "hinge" and output in ("tanh", "elu"):
        # a tanh output never reaches the margin 1: 1 - s tanh(n) cancels to the last bits of tanh itself,
        # where funcmlp's jnp.tanh and the reference's tanh may round apart (1 - 4e-5 came out 3e-16 apart);
        # an elu output (alpha 1) saturates at -1, the margin of a label 0: float32 rounds -1 + e^n to -1 for
        # n < -17, on the kink (slope 0 by convention), where float64 keeps the slope e^n (hypothesis found it
        # at logit_scale 50); the pairs are tested at moderate net inputs in test_every_accepted_output_with_every_loss
        output = "identity"
    return dict(
        sizes=tuple(widths),
        activations=[*hidden, output],
        dtype=dtype,
        batch=draw(st.sampled_from([1, 7, 16])),
        reduction=draw(st.sampled_from(["mean", "sum"])),
        target=draw(st.sampled_from(TARGETS[loss])),
        weighted=draw(st.booleans()),
        # the Poisson loss takes the log of the rate: e^50 would overflow float32's gradient
        logit_scale=draw(st.sampled_from([0.3, 1.0, 5.0] if loss == "poisson" else [0.3, 1.0, 5.0, 50.0])),
        seed=draw(st.integers(0, 2**16)),
    )


@functools.partial(jax.jit, static_argnames=("mlp", "loss", "reduction"))
def _manual_and_reference(mlp, params, x, y, y_reference, weights, *, loss, reduction):
    """Both sides in one compiled call (one compilation per drawn shape keeps the property test fast)."""
    manual = backprop(mlp, params, x, y, loss, reduction=reduction, weights=weights)
    up = lambda tree: jax.tree_util.tree_map(lambda a: jnp.asarray(a, jnp.float64), tree)
    plain = tuple((W, b) for W, b in up(params))
    acts = reference_activations(mlp)
    kwargs = dict(reduction=reduction, weights=None if weights is None else up(weights))
    expected = reference.gradient(plain, up(x), up(y_reference), acts, loss, **kwargs)
    return manual, expected, reference.batch_loss(plain, up(x), up(y_reference), acts, loss, **kwargs)


# 15 drawn problems per loss, 165 in all: one test per loss, so that the suite's workers share them
@pytest.mark.parametrize("loss", list(ACCEPTED))
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_manual_backprop_equals_an_independent_reference(loss, data):
    """Every accepted (output, loss, target) combination: manual = jax.grad of optax's loss
    <= 1e-10 relative in float64; float32 manual against the float64 reference at the same
    (float32) numbers within BOUND_CONSTANT u E per entry, E float32's first-order rounding-error bound
    (:func:`rounding_bound`: the forward pass's absolute sums carried through the output sensitivity and the
    backward recursion, and the batch sum's), or the floor where float32 flushes subnormals (:func:`flush_floors`),
    and finite at saturated outputs.
    The eager entry points check the inputs first (see test_validation.py); here both run compiled."""
    p = data.draw(problems(loss))
    reduction, dtype, seed = p.pop("reduction"), p.pop("dtype"), p.pop("seed")
    mlp, params, x, y, y_reference, weights = random_problem(
        seed, p.pop("sizes"), p.pop("activations"), loss, p.pop("batch"), dtype=dtype, **p
    )
    manual, expected, expected_loss = _manual_and_reference(
        mlp, params, x, y, y_reference, weights, loss=loss, reduction=reduction
    )
    expected_loss = float(expected_loss)
    assert jax.tree_util.tree_structure(manual.grads) == jax.tree_util.tree_structure(params)
    if dtype == jnp.float64:
        assert_trees_close(manual.grads, expected, rtol=1e-10)
        assert float(manual.loss) == pytest.approx(expected_loss, rel=1e-12, abs=1e-300)
    else:
        assert manual.grads[0].W.dtype == jnp.float32
        total = float(np.sum(weights)) if weights is not None else float(len(x))
        floors = flush_floors(mlp, params, x, 2 * total)  # (twice: a little room for rounding)
        bounds = rounding_bound(mlp, params, x, y_reference, loss, reduction, weights)
        assert_trees_close(manual.grads, expected, rtol=0, atol_scale=BOUND_CONSTANT * U32, floor=floors, scales=bounds)
        assert float(manual.loss) == pytest.approx(expected_loss, rel=1e-4, abs=1e-5)


def test_float32_softmax_cross_entropy_keeps_its_accuracy_near_a_uniform_softmax():
    """Hypothesis found it: 32 classes, logits near 0, soft targets. The largest logit's rewrite
    (S - y_j) - S (1 - p_j), meant for p_j near 1, subtracted two sums near 1 there and lost 2e-7
    of a sensitivity of 1.7e-3; float32 can keep each entry within a few roundings of p_j, y_j < 0.1."""
    mlp, params, x, y, y_reference, _ = random_problem(
        0, (1, 32), ["identity"], "softmax_cross_entropy", 1, dtype=jnp.float32, logit_scale=0.3, target="soft"
    )
    manual = backprop(mlp, params, x, y, "softmax_cross_entropy").grads[0].W
    W, b = (np.asarray(a, np.float64) for a in params[0])
    logits = np.asarray(x, np.float64) @ W + b
    p = np.exp(logits - logits.max()) / np.exp(logits - logits.max()).sum()
    y64 = np.asarray(y_reference, np.float64)
    expected = np.asarray(x, np.float64).T @ (p * y64.sum() - y64)  # numpy, in float64, at the same numbers
    bound = 8 * 2.0**-24 * float(np.abs(x).max()) * max(p.max(), y64.max())
    assert max(p.max(), y64.max()) < 0.1
    assert np.abs(np.asarray(manual, np.float64) - expected).max() <= bound


@functools.partial(jax.jit, static_argnums=(1, 2))
def _reference_gradients(problems, networks, loss):
    """:func:`reference.gradient` of each (params, x, y) of ``problems`` with its network's activations (``networks``:
    (name, alpha) pairs per network) in one compiled program: one compilation for every output of a loss."""
    return [
        jax.grad(reference.batch_loss)(params, x, y, acts, loss)
        for (params, x, y), acts in zip(problems, networks, strict=True)
    ]


@pytest.mark.parametrize("loss", list(ACCEPTED))
def test_every_accepted_output_with_every_loss(loss):
    target = TARGETS[loss][-1]
    problems = [
        random_problem(7, (3, 5, 4, 3), ["tanh", "gelu", output], loss, 6, target=target) for output in ACCEPTED[loss]
    ]
    expected = _reference_gradients(
        [(tuple((W, b) for W, b in params), x, y_reference) for _, params, x, _, y_reference, _ in problems],
        tuple(reference_activations(mlp) for mlp, *_ in problems),
        loss,
    )
    for (mlp, params, x, y, _, _), reference_grads in zip(problems, expected, strict=True):
        assert_trees_close(backprop(mlp, params, x, y, loss).grads, reference_grads, rtol=1e-10)


@pytest.mark.parametrize("loss, output", [("binary_cross_entropy", "sigmoid"), ("cross_entropy", "softmax")])
def test_probability_losses_equal_the_formula_on_probabilities(loss, output):
    """The paired closed forms (a - y, p sum(y) - y) against jax.grad of -sum y log a (+ (1-y) log(1-a))
    taken on the probabilities themselves (outputs away from saturation)."""
    mlp, params, x, y, y_reference, _ = random_problem(
        4, (3, 6, 4), ["tanh", output], loss, 9, target="partial" if output == "softmax" else "soft"
    )

    def on_probabilities(p):
        _, a = reference.forward(tuple((W, b) for W, b in p), x, reference_activations(mlp))
        return jnp.mean(reference.PROBABILITY_LOSSES[loss](a, y_reference))

    assert_trees_close(
        backprop(mlp, params, x, y, loss).grads,
        jax.jit(jax.grad(on_probabilities))(tuple((W, b) for W, b in params)),  # compiled: one program, not op by op
        rtol=1e-10,
    )


@pytest.mark.parametrize(
    "loss, output, target",
    [
        ("binary_cross_entropy", "sigmoid", 1.0),
        ("binary_cross_entropy", "sigmoid", 0.0),
        ("cross_entropy", "softmax", 1.0),
        ("sigmoid_binary_cross_entropy", "identity", 1.0),
        ("softmax_cross_entropy", "identity", 0.0),
    ],
)
def test_saturated_float32_outputs_stay_finite_and_right(loss, output, target):
    """Net inputs of +-60 saturate sigmoid/softmax to exactly 0 or 1 in float32; the loss and
    the gradient are still finite and right (computed from n^L, not log(a))."""
    units = 1 if "binary" in loss else 3
    mlp = MLP((2, units), output=output)
    W = np.full((2, units), 30.0, np.float32)
    W[:, 0] = -30.0 if units > 1 else 30.0
    params = params_from_arrays([(W, np.zeros(units))], dtype=jnp.float32)
    x = jnp.ones((1, 2), jnp.float32)  # n = +-60
    y = (
        jnp.full((1, units), target, jnp.float32)
        if units == 1
        else jnp.array([[target, 0.0, 1.0 - target]], jnp.float32)
    )
    result = backprop(mlp, params, x, y, loss)
    expected = reference.gradient(
        jax.tree_util.tree_map(lambda a: a.astype(jnp.float64), params),
        x.astype(jnp.float64),
        y.astype(jnp.float64),
        reference_activations(mlp),
        loss,
    )
    assert np.isfinite(float(result.loss))
    assert_trees_close(result.grads, expected, rtol=0, atol_scale=1e-6)


@pytest.mark.parametrize("activation", [a for a in SMOOTH if a != "softmax"] + ["softmax"])
@pytest.mark.parametrize(
    "loss",
    ["sse", "softmax_cross_entropy", "binary_cross_entropy", "mse", "huber(0.5)", "absolute_error", "poisson", "hinge"],
)
def test_manual_backprop_agrees_with_finite_differences(activation, loss):
    output = {"binary_cross_entropy": "sigmoid"}.get(loss, "identity")
    target = TARGETS[loss][0]
    mlp, params, x, y, _, _ = random_problem(3, (3, 4, 4, 2), [activation, activation, output], loss, 5, target=target)
    manual = np.concatenate(
        [np.ravel(leaf) for leaf in jax.tree_util.tree_leaves(backprop(mlp, params, x, y, loss).grads)]
    )
    fd, kinks = finite_difference_grad(mlp, params, x, y, loss, eps=1e-6)
    assert not kinks.any()
    # central differences: truncation O(eps^2) plus rounding O(1e-16 / eps)
    np.testing.assert_allclose(manual, fd, rtol=1e-6, atol=1e-8 * np.abs(fd).max())


def test_finite_differences_at_a_relu_kink_are_detected():
    """A ReLU unit with net input exactly 0: the difference quotient straddles the jump."""
    mlp = MLP((1, 1, 1), ["relu", "identity"])
    params = params_from_arrays([([[1.0]], [0.0]), ([[1.0]], [0.0])], dtype=jnp.float64)
    x, y = jnp.array([[0.0]]), jnp.array([[1.0]])
    fd, kinks = finite_difference_grad(mlp, params, x, y, "half_sse")
    # b^1 moves n^1 = 0 to +-eps: the one-sided slopes are -1 and 0, the quotient ~ -1/2
    assert kinks.tolist() == [False, True, False, False]
    assert fd[1] == pytest.approx(-0.5, abs=1e-6)
    manual = backprop(mlp, params, x, y, "half_sse").grads[0].b[0]
    assert float(manual) == 0.0  # relu'(0) = 0 by convention


def test_vmap_of_single_example_backprop_equals_a_loop():
    mlp, params, x, y, _, _ = random_problem(5, (4, 6, 3), ["sigmoid", "identity"], "half_sse", 9)
    per_example = jax.vmap(lambda xi, yi: backprop(mlp, params, xi, yi, "half_sse").grads)(x, y)
    for i in range(x.shape[0]):
        single = backprop(mlp, params, x[i], y[i], "half_sse").grads
        assert_trees_close(jax.tree_util.tree_map(lambda g: g[i], per_example), single, rtol=1e-14)
    # the mean of per-example gradients is the gradient of the mean loss
    assert_trees_close(
        jax.tree_util.tree_map(lambda g: g.mean(0), per_example),
        backprop(mlp, params, x, y, "half_sse").grads,
        rtol=1e-12,
    )


def test_jit_gives_the_same_numbers():
    mlp, params, x, y, _, _ = random_problem(
        6, (4, 8, 3), ["gelu", "identity"], "softmax_cross_entropy", 10, target="labels"
    )
    eager = backprop(mlp, params, x, y, "softmax_cross_entropy")
    jitted = jax.jit(backprop, static_argnums=(0, 4))(mlp, params, x, y, "softmax_cross_entropy")
    # XLA may fuse and reorder the sums under jit: equal up to a few units in the last place
    assert_trees_close(jitted.grads, eager.grads, rtol=1e-13, atol_scale=1e-15)
    for a, b in zip(jitted.sensitivities, eager.sensitivities, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15 * float(np.abs(b).max()))


def test_sensitivities_are_gradients_with_respect_to_net_inputs():
    """s^k = dL/dn^k (seed 003 eq. 18), checked by differentiating L through an added offset on n^k."""
    mlp, params, x, y, _, _ = random_problem(8, (3, 5, 4, 2), ["tanh", "softmax", "sigmoid"], "sse", 4)
    manual = backprop(mlp, params, x, y, "sse").sensitivities
    acts = reference_activations(mlp)
    for k in range(mlp.depth):

        def loss_with_offset(delta):
            # adding delta (batch, d_k) to n^k is adding it to the bias per example
            a = x
            for j, ((W, b), (name, alpha)) in enumerate(zip(params, acts, strict=True)):
                a = reference.ACTIVATIONS[name](a @ W + b + (delta if j == k else 0.0), alpha)
            return jnp.mean(jnp.sum((y - a) ** 2, axis=-1))

        auto = jax.jit(jax.grad(loss_with_offset))(jnp.zeros((x.shape[0], mlp.sizes[k + 1])))  # compiled, not op by op
        np.testing.assert_allclose(manual[k], auto, rtol=1e-12, atol=1e-15)


def test_seed_003_worked_example_eqs_39_to_51():
    """x = [1, 1], y = 0, ReLU then linear, all weights 1, biases 0, eta = 0.1 (hand-checked)."""
    mlp = MLP((2, 2, 1), ["relu", "linear"])
    params = params_from_arrays([([[1, 1], [1, 1]], [0, 0]), ([[1], [1]], [0])], dtype=jnp.float64)
    result = backprop(mlp, params, jnp.array([1.0, 1.0]), 0.0, "sse")
    assert result.trace.n[0].tolist() == [[2.0, 2.0]]  # eq. 40
    assert result.trace.a[1].tolist() == [[4.0]]  # eq. 43
    assert result.sensitivities[1].tolist() == [8.0]  # eq. 45
    assert result.sensitivities[0].tolist() == [8.0, 8.0]  # eq. 47
    eta = Fraction(1, 10)
    expected = {  # eqs. 48-51, exact rationals
        (0, "W"): [[1 - eta * 8] * 2] * 2,
        (0, "b"): [-eta * 8] * 2,
        (1, "W"): [[1 - eta * 2 * 8]] * 2,
        (1, "b"): [-eta * 8],
    }
    for (k, name), values in expected.items():
        updated = getattr(params[k], name) - 0.1 * getattr(result.grads[k], name)
        np.testing.assert_allclose(updated, np.array(values, dtype=float), rtol=0, atol=1e-15)
    assert [float(v) for v in np.ravel(expected[(0, "W")])] == [0.2] * 4
    assert float(expected[(1, "W")][0][0]) == -0.6


def test_example_weights_equal_dropping_the_examples():
    mlp, params, x, y, _, _ = random_problem(9, (3, 4, 2), ["tanh", "identity"], "mse", 6)
    weights = jnp.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    keep = np.array([0, 1, 3, 5])
    weighted = backprop(mlp, params, x, y, "mse", weights=weights)
    subset = backprop(mlp, params, x[keep], y[keep], "mse")
    assert_trees_close(weighted.grads, subset.grads, rtol=1e-13)
    assert float(weighted.loss) == pytest.approx(float(subset.loss), rel=1e-14)


def test_sum_reduction_is_batch_size_times_mean():
    mlp, params, x, y, _, _ = random_problem(10, (3, 4, 2), ["relu", "identity"], "sse", 8)
    mean = backprop(mlp, params, x, y, "sse").grads
    total = backprop(mlp, params, x, y, "sse", reduction="sum").grads
    assert_trees_close(total, jax.tree_util.tree_map(lambda g: 8 * g, mean), rtol=1e-14)


def test_dropout_backprop_matches_the_reference_with_the_same_masks():
    mlp = MLP((5, 16, 16, 3), ["tanh", "tanh", "identity"], dropout=(0.5, 0.25))
    _, params, x, y, y_reference, _ = random_problem(
        12, (5, 16, 16, 3), ["tanh", "tanh", "identity"], "softmax_cross_entropy", 8, target="labels"
    )
    manual = backprop(mlp, params, x, y, "softmax_cross_entropy", key=jax.random.key(3), train=True)
    masks = manual.trace.masks

    def with_masks(p):
        a = x
        for k, (W, b) in enumerate(p):
            a = jnp.tanh(a @ W + b) * masks[k] if k < 2 else a @ W + b
        return jnp.mean(optax.softmax_cross_entropy(a, y_reference))

    expected = jax.jit(jax.grad(with_masks))(tuple((W, b) for W, b in params))  # compiled, not op by op
    assert_trees_close(manual.grads, expected, rtol=1e-10)
    dropped = [np.mean(np.asarray(m) == 0) for m in masks]
    assert 0.3 < dropped[0] < 0.7 and 0.1 < dropped[1] < 0.4
    no_dropout = backprop(mlp, params, x, y, "softmax_cross_entropy")
    assert not np.allclose(no_dropout.grads[0].W, manual.grads[0].W)


def test_integer_and_one_hot_labels_give_the_same_gradient():
    mlp, params, x, labels, one_hot, _ = random_problem(
        13, (4, 5, 3), ["relu", "identity"], "softmax_cross_entropy", 6, target="labels"
    )
    assert_trees_close(
        backprop(mlp, params, x, labels, "softmax_cross_entropy").grads,
        backprop(mlp, params, x, one_hot, "softmax_cross_entropy").grads,
        rtol=1e-15,
    )


def test_float32_params_with_float64_data_follow_the_params():
    mlp, params, x, y, _, _ = random_problem(14, (4, 5, 3), ["tanh", "identity"], "half_sse", 6)
    params32 = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32), params)
    result = backprop(mlp, params32, x, y, "half_sse")
    assert result.grads[0].W.dtype == jnp.float32 and result.trace.x.dtype == jnp.float32


def test_a_saturated_softmax_output_against_50_digit_arithmetic():
    """The case hypothesis found where jax.grad through exp(log_softmax) lost 8 digits: the
    manual gradient against mpmath's derivative of the loss written here (50 digits)."""
    import mpmath

    mlp, params, x, _, y_reference, _ = random_problem(
        0, (1, 1, 5), ["identity", "softmax"], "sse", 1, logit_scale=50.0, target="real"
    )
    manual = backprop(mlp, params, x, y_reference, "sse").grads[0].W[0, 0]
    with mpmath.workdps(50):
        values = lambda array: [mpmath.mpf(float(v)) for v in np.asarray(array).ravel()]
        (b1,), W2, b2, (x0,), y = (
            values(params[0].b),
            values(params[1].W),
            values(params[1].b),
            values(x),
            values(y_reference),
        )

        def loss(w1):
            n = [(w1 * x0 + b1) * W2[j] + b2[j] for j in range(5)]
            e = [mpmath.exp(v - max(n)) for v in n]
            return sum((y[j] - e[j] / sum(e)) ** 2 for j in range(5))

        exact = mpmath.diff(loss, mpmath.mpf(float(params[0].W[0, 0])))
    assert abs(float(manual) - float(exact)) <= 1e-13 * abs(float(exact))
