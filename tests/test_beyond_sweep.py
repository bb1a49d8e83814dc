"""Issue 34 item 4: the per-example and curvature quantities over the registry, drawn by hypothesis as in
tests/test_backprop.py, against references that share no code with funcmlp (tests/reference.py's forward
pass and losses, jax's autodiff, optax), float64, 1e-10 relative (or 1e-13 of the leaf's largest entry):

- ``per_example_grad_norms``: the norms of ``jax.vmap(jax.grad)`` of each example's own loss;
- ``clipped_grad``: optax's ``contrib.differentially_private_aggregate`` with no noise over the rows of
  weight 1 (padding rows of weight 0 left out), ``sum_i r_i min(1, c / |g_i|) g_i`` for other weights;
- ``diag_ggn`` (exact): the diagonal of ``sum_i r_i J_i^T H_i J_i``, ``J_i`` by ``jax.jacrev`` of example i's
  output (the logits ``n^L`` for a probability loss on its paired output, ``a^L`` otherwise), ``H_i`` by
  ``jacrev(grad)`` of its loss in that output;
- ``diag_hessian``: the diagonal of ``jacrev(grad)`` of the batch loss (elementwise hidden layers only).

Every built-in loss (one case each) with an output it accepts and targets of each kind it takes, every hidden
activation (each pinned in one of the cases, so that every run has them all; the rest drawn), example weights
with padding rows, both reductions and dropout (the masks, random draws, are all that is taken from funcmlp:
``MLP.trace``'s, for the key both sides are given). Reverse mode only: tests/reference.py's softmax has a custom
VJP. The kinks of relu, leaky_relu, the hard limits, huber, hinge and absolute_error are met with probability 0
by these normal draws (both sides follow their own conventions there). The last layer is scaled by at most 5
(test_backprop goes to 50): where softplus and the sigmoid cross-entropies saturate, the reference's second
derivatives lose accuracy (SOFTPLUS: a tolerance that grows with the net inputs there); where a softmax output
saturates, jax.hessian through jax.nn.softmax did (funcmlp's closed form since; pinned by
test_the_hessian_diagonal_at_a_saturated_softmax_output_against_50_digit_arithmetic). An elu output below
-37 rounds to -1, the hinge's margin, exactly: funcmlp's subgradient there is 0, jnp.maximum's 1/2 (scale 50
only)."""

import functools
import zlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jax.flatten_util import ravel_pytree
from test_backprop import ACCEPTED, HIDDEN, TARGETS, assert_trees_close, random_problem

import funcmlp

ACCEPTS = {**ACCEPTED, "huber": ACCEPTED["huber(0.5)"]}  # huber at its default delta too: every built-in
KINDS = {**TARGETS, "huber": ["real"]}
LOSSES = list(ACCEPTS)
# one case per loss, each hidden activation pinned in one of them (the first case takes the thirteenth too)
CASES = [(loss, tuple(HIDDEN[j :: len(LOSSES)]), j) for j, loss in enumerate(LOSSES)]
assert len(LOSSES) == 12 and sorted(h for case in CASES for h in case[1]) == sorted(HIDDEN)
PAIRED = {("binary_cross_entropy", "sigmoid"), ("cross_entropy", "softmax")}  # the GGN's split at n^L
PAIRED_LOSSES = {loss for loss, _ in PAIRED}  # (accepted on their paired output only)
# jax.nn.softplus differentiated twice forms sigmoid(n) (1 - sigmoid(n)) by a subtraction: the reference's
# second derivative of softplus, and of optax's sigmoid cross-entropies (log_sigmoid(z) = -softplus(-z)), is good
# to about u e^n relative only (hypothesis found 9e-7 at logits of -22, 5e-9 at a softplus output; funcmlp's
# sigmoid(n) sigmoid(-n) agreed with the cancellation-free form to 4e-15): the tolerance grows by SOFTPLUS e^n
SIGMOID_LOSSES = {"sigmoid_binary_cross_entropy", "binary_cross_entropy"}
SOFTPLUS = 4 * np.finfo(np.float64).eps
COLUMNS, ROWS = 64, 8  # at least the most parameters drawn ((3 + 1) 3 per layer, 4 layers), the largest batch


def _parse(name):
    if "(" in name:
        base, argument = name[:-1].split("(")
        return base, float(argument)
    return name, None


def _menu(options, turn, what):
    """``options`` rotated by an amount that ``turn`` (the case's index) and ``what`` (the choice) fix:
    hypothesis's first example takes every first choice, and so differs from case to case (its second is
    drawn at random)."""
    shift = zlib.crc32(f"{what} {turn}".encode()) % len(options)
    return st.sampled_from([*options[shift:], *options[:shift]])


@st.composite
def problems(draw, loss, pinned, turn):
    # 1 to 3 hidden layers, the pinned activations' among them
    layers = draw(_menu([n for n in (2, 3, 4) if n > len(pinned)], turn, "layers"))
    # widths of 1 to 3 (small networks: jacrev of grad over every parameter is the Hessian's reference)
    widths = [draw(_menu([1, 2, 3], turn, f"width {i}")) for i in range(layers + 1)]
    if loss in ("softmax_cross_entropy", "cross_entropy") and widths[-1] == 1:
        widths[-1] = 3
    hidden = [draw(_menu(HIDDEN, turn, f"hidden {i}")) for i in range(layers - 1 - len(pinned))]
    for activation in pinned:
        hidden.insert(draw(st.integers(0, len(hidden))), activation)
    output = draw(_menu(ACCEPTS[loss], turn, "output"))
    if loss == "hinge" and output == "tanh":
        output = "identity"  # as in test_backprop: the margin's 1 - tanh cancels to tanh's last bits
    scales = [0.3, 1.0, 5.0]
    return dict(
        sizes=tuple(widths),
        activations=[*hidden, output],
        batch=draw(_menu([1, 5, 8], turn, "batch")),
        reduction=draw(_menu(["mean", "sum"], turn, "reduction")),
        target=draw(_menu(KINDS[loss], turn, "target")),
        weights=draw(_menu(["none", "padding", "weighted"], turn, "weights")),
        dropout=draw(_menu([0.0, 0.0, 0.4], turn, "dropout")),
        logit_scale=draw(_menu(scales, turn, "logit scale")),
        quantile=draw(_menu([0.0, 0.5, 1.0], turn, "quantile")),  # every example clipped, about half, none
        seed=draw(st.integers(0, 2**16)),
    )


def _weights(kind, batch, drawn):
    """None, 1s with the last third of the rows padding (weight 0), or random weights with one row of 0."""
    if kind == "none" or batch == 1:
        return None
    if kind == "padding":
        w = np.ones(batch)
        w[batch - batch // 3 :] = 0.0
        return jnp.asarray(w)
    w = np.asarray(drawn).copy()
    w[-1] = 0.0
    return jnp.asarray(w)


@functools.partial(jax.jit, static_argnames=("mlp", "acts", "loss", "reduction", "quantile", "hessian"))
def _reference(params, x, y, w, key, *, mlp, acts, loss, reduction, quantile, hessian):
    """What the references give, in one compiled call: each example's gradient, flattened and padded with
    zeros to ``COLUMNS`` entries (for optax), and its norm; the clip norm (the ``quantile`` of the norms of
    the rows of weight > 0); the clipped gradient ``sum_i r_i min(1, clip / |g_i|) g_i``; the GGN's and the
    Hessian's diagonals; every layer's net input and the output (for the tolerances)."""
    plain = tuple((layer.W, layer.b) for layer in params)
    masks = mlp.trace(params, x, key=key, train=True).masks if key is not None else (None,) * (len(acts) - 1)
    r = w / jnp.sum(w) if reduction == "mean" else w
    paired = (loss, acts[-1][0]) in PAIRED

    def net_inputs(p, xb, mb):
        """(every layer's n^k, a^L) of tests/reference.py's activations, each hidden output times its dropout
        factor."""
        a, ns = xb, []
        for k, ((W, b), (name, alpha)) in enumerate(zip(p, acts, strict=True)):
            ns.append(a @ W + b)
            a = reference.ACTIVATIONS[name](ns[-1], alpha)
            if k < len(mb) and mb[k] is not None:
                a = a * mb[k]
        return ns, a

    def forward(p, xb, mb):
        ns, a = net_inputs(p, xb, mb)
        return ns[-1], a

    def one(m):
        return tuple(None if mask is None else mask[None] for mask in m)

    def example_loss(p, xi, yi, mi):
        return reference.LOSSES[loss](*forward(p, xi[None], one(mi)), yi[None])[0]

    grads = jax.vmap(jax.grad(example_loss), in_axes=(None, 0, 0, 0))(plain, x, y, masks)
    rows = jax.vmap(lambda g: ravel_pytree(g)[0])(grads)
    norms = jnp.where(w > 0, jnp.sqrt(jnp.sum(rows**2, axis=1)), 0.0)
    clip = jnp.nanquantile(jnp.where(w > 0, norms, jnp.nan), quantile) * (2.0 if quantile == 1 else 1.0)
    clip = jnp.where(clip > 0, clip, 1.0)  # every gradient 0 (a hard-limit output): any positive clip norm
    c = r * jnp.minimum(1.0, clip / jnp.where(norms > 0, norms, 1.0))
    clipped = jax.tree_util.tree_map(lambda g: jnp.tensordot(c, g, axes=1), grads)
    rows = jnp.pad(rows, ((0, 0), (0, COLUMNS - rows.shape[1])))

    flat, unravel = ravel_pytree(plain)

    def output(theta, xi, mi):
        n, a = forward(unravel(theta), xi[None], one(mi))
        return (n if paired else a)[0]

    def loss_of_output(out, yi):
        args = (out[None], None) if paired else (None, out[None])
        return reference.LOSSES[loss](*args, yi[None])[0]

    def ggn_term(xi, yi, mi):
        J = jax.jacrev(output)(flat, xi, mi)
        H = jax.jacrev(jax.grad(loss_of_output))(output(flat, xi, mi), yi)
        return jnp.einsum("cp,cd,dp->p", J, H, J)

    ggn = r @ jax.vmap(ggn_term)(x, y, masks)
    hessian_diagonal = None
    if hessian:

        def batch_loss(theta):
            return jnp.sum(r * reference.LOSSES[loss](*forward(unravel(theta), x, masks), y))

        hessian_diagonal = unravel(jnp.diag(jax.jacrev(jax.grad(batch_loss))(flat)))
    return rows, norms, clip, clipped, unravel(ggn), hessian_diagonal, net_inputs(plain, x, masks)


@jax.jit
def _dp_sum(rows, clip):
    """The sum of the clipped per-example gradients by optax's DP aggregate with no noise (its mean times the
    number of rows), the gradients given as rows ``(ROWS, COLUMNS)``: each flattened, zeros after it, and
    rows of zeros after the last (which clipping leaves 0): the tree's norms and sums, and one shape for every
    problem, compiled once (optax's random draws, multiplied by 0, cost a compilation)."""
    aggregate = optax.contrib.differentially_private_aggregate(clip, 0.0, jax.random.key(0))
    return aggregate.update(rows, aggregate.init(rows))[0] * rows.shape[0]


@functools.partial(jax.jit, static_argnames=("mlp", "loss", "reduction", "clip", "hessian"))
def _funcmlp(params, x, y, weights, key, *, mlp, loss, reduction, clip, hessian):
    """funcmlp's four, in one compiled call (the entry points' checks run as the call is traced)."""
    common = dict(reduction=reduction, weights=weights)
    train = key is not None
    norms = funcmlp.per_example_grad_norms(mlp, params, x, y, loss, key=key, train=train, **common)
    clipped = funcmlp.clipped_grad(mlp, params, x, y, loss, clip, key=key, train=train, **common)
    ggn = funcmlp.diag_ggn(mlp, params, x, y, loss, dropout_key=key, **common)
    hessian_diagonal = funcmlp.diag_hessian(mlp, params, x, y, loss, dropout_key=key, **common) if hessian else None
    return norms, clipped, ggn, hessian_diagonal


# 12 cases x 2 drawn problems (about 30 s on one core), each two compilations: funcmlp's four quantities, the references
@pytest.mark.parametrize("loss, pinned, turn", CASES, ids=[f"{c[0]}-{'-'.join(c[1])}" for c in CASES])
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_per_example_and_curvature_quantities_equal_the_references(loss, pinned, turn, data):
    p = data.draw(problems(loss, pinned, turn))
    mlp, params, x, y, y_reference, drawn = random_problem(
        p["seed"],
        p["sizes"],
        p["activations"],
        loss,
        p["batch"],
        target=p["target"],
        weighted=True,
        logit_scale=p["logit_scale"],
    )
    mlp = funcmlp.MLP(p["sizes"], p["activations"], dropout=p["dropout"])
    weights = _weights(p["weights"], p["batch"], drawn)
    w = np.ones(p["batch"]) if weights is None else np.asarray(weights)
    key = jax.random.key(p["seed"]) if p["dropout"] else None
    hessian = all(_parse(name)[0] != "softmax" for name in p["activations"][:-1])
    acts = tuple(_parse(name) for name in p["activations"])
    options = dict(reduction=p["reduction"], hessian=hessian)
    rows, norms, clip, clipped, ggn, hessian_diagonal, (ns, a) = _reference(
        params, x, y_reference, jnp.asarray(w), key, mlp=mlp, acts=acts, loss=loss, quantile=p["quantile"], **options
    )
    actual = _funcmlp(params, x, y, weights, key, mlp=mlp, loss=loss, clip=float(clip), **options)
    assert np.all(np.asarray(actual[0])[w == 0] == 0)  # padding rows: masked, not divided by
    assert_trees_close(actual[0], norms, rtol=1e-10)
    # the clipped gradient is a weighted sum of vectors of norm <= clip: where they cancel (a hard-limit layer drew
    # 6 examples whose clipped gradients sum to 1e-17, each of norm 0.17), its entries are the sum's rounding, not
    # 1e-10 of the result: 1e-13 of the summands' scale, clip * sum_i r_i, is the floor
    summands = float(clip) * (1.0 if p["reduction"] == "mean" else float(np.sum(w)))
    assert_trees_close(actual[1], clipped, rtol=1e-10, floor=1e-13 * summands)
    if np.all((w == 0) | (w == 1)):  # optax's DP aggregate (no noise) of the rows of weight 1
        kept = np.asarray(rows)[w == 1]
        dp = np.asarray(_dp_sum(np.pad(kept, ((0, ROWS - len(kept)), (0, 0))), clip))
        dp = dp / len(kept) if p["reduction"] == "mean" else dp  # weights 1: the sum, or the mean over those rows
        flat = np.concatenate([np.ravel(leaf) for leaf in jax.tree_util.tree_leaves(actual[1])])  # no compile
        assert not np.any(dp[flat.size :])
        assert_trees_close(flat, dp[: flat.size], rtol=1e-10, floor=1e-13 * summands)
    logits = ns[-1] if (loss, acts[-1][0]) in PAIRED else a
    saturated = [np.abs(logits)] if loss in SIGMOID_LOSSES else []  # log_sigmoid(z) and log_sigmoid(-z)
    assert_trees_close(actual[2], ggn, rtol=_tolerance(saturated, w))
    saturated += [n for (name, _), n in zip(acts, ns, strict=True) if name == "softplus"]  # n large and positive
    if hessian:
        assert_trees_close(actual[3], hessian_diagonal, rtol=_tolerance(saturated, w))


def _tolerance(saturated, w):
    """1e-10, or the reference's accuracy ``SOFTPLUS e^n`` at the largest entry of the arrays ``saturated`` in a
    row of weight > 0; beyond 1e-6 the reference's curvature is no reference (at logits of 85 it was 0): the
    example is left out (a scale of 50 finds such logits, 5 hardly ever)."""
    top = max((float(np.asarray(v)[w > 0].max()) for v in saturated), default=-np.inf)
    tolerance = max(1e-10, SOFTPLUS * np.exp(top))
    assume(tolerance < 1e-6)
    return tolerance


def test_the_hessian_diagonal_at_a_saturated_softmax_output_against_50_digit_arithmetic():
    """Found by this sweep at logit_scale 50 (a 3-1-3 elu/softmax network, absolute_error: 0.3 % of the
    diagonal's largest entry): one softmax layer, logits (26.4, -18.8, -48.6), sse. The Hessian in the logits
    is mpmath's second derivative of the loss written here, 50 digits."""
    import mpmath

    z, y = [26.37533141, -18.77059658, -48.60505988], [0.3, -1.2, 2.0]
    mlp = funcmlp.MLP((1, 3), output="softmax")
    params = funcmlp.params_from_arrays([([z], [0.0, 0.0, 0.0])], dtype=jnp.float64)
    diagonal = np.asarray(funcmlp.diag_hessian(mlp, params, jnp.ones((1, 1)), jnp.asarray([y]), "sse")[0].W[0])
    with mpmath.workdps(50):

        def value(*logits):
            e = [mpmath.exp(v - max(logits)) for v in logits]
            return sum((t / sum(e) - mpmath.mpf(target)) ** 2 for t, target in zip(e, y, strict=True))

        at = [mpmath.mpf(v) for v in z]
        exact = np.array([float(mpmath.diff(value, at, tuple(2 * (k == c) for k in range(3)))) for c in range(3)])
    assert exact[0] == pytest.approx(2.4738456e-20, rel=1e-6)
    np.testing.assert_allclose(diagonal, exact, rtol=1e-10, atol=1e-13 * np.abs(exact).max())
