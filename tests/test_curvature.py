"""Issue 34, curvature: diag_ggn, kfac_factors and diag_hessian against references that share no code with
funcmlp: the explicit ``sum_i r_i J_i^T H_i J_i`` with ``J_i`` from ``jax.jacrev`` of the forward pass of
tests/reference.py and ``H_i`` from the Hessian (``jacrev`` of ``jacrev``) of its loss, and the Hessian of its batch loss;
float64, 1e-10 relative."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import reference
from jax.flatten_util import ravel_pytree
from test_backprop import random_problem, reference_activations

import funcmlp

# (loss, sizes, activations, target kind, weighted)
CASES = [
    ("sse", (3, 4, 2), ["tanh", "identity"], "real", False),
    ("mse", (2, 3, 3, 2), ["sigmoid", "softplus", "tanh"], "real", True),
    ("softmax_cross_entropy", (3, 5, 3), ["relu", "identity"], "soft", False),
    ("cross_entropy", (2, 4, 3), ["gelu", "softmax"], "one_hot", True),
    ("binary_cross_entropy", (3, 4, 2), ["elu(0.5)", "sigmoid"], "hard", False),
    ("sigmoid_binary_cross_entropy", (2, 3, 1), ["leaky_relu(0.2)", "tanh"], "soft", False),
    ("poisson", (2, 3, 2), ["tanh", "identity"], "counts", False),
    ("huber(0.5)", (2, 3, 2), ["softplus", "identity"], "real", True),
    ("sse", (2, 3, 3), ["tanh", "softmax"], "soft", False),  # an unpaired loss on a softmax output
]
PAIRED = {"binary_cross_entropy", "cross_entropy"}  # the GGN's split at the logits n^L


def _hessian(function):
    """Reverse over reverse: tests/reference.py's softmax has a custom VJP (forward mode cannot go through it)."""
    return jax.jacrev(jax.jacrev(function))


def _problem(case, seed=3, batch=6):
    loss, sizes, activations, target, weighted = case
    mlp, params, x, y, y_reference, weights = random_problem(
        seed, sizes, activations, loss, batch, target=target, weighted=weighted
    )
    return mlp, params, x, y, y_reference, weights


def _plain(params):
    return tuple((layer.W, layer.b) for layer in params)


def _factors(x, weights, reduction):
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights)
    return w / w.sum() if reduction == "mean" else w


@functools.partial(jax.jit, static_argnames=("acts", "loss"))
def _ggn_terms(plain, x, y_reference, *, acts, loss):
    """Each example's J_i^T H_i J_i (batch x P x P) over the flattened params (W^1, b^1, W^2, ...: row-major
    [W; b] per layer), J_i = jacrev of example i's output (the logits n^L for a paired loss, else a^L) from
    tests/reference.py, H_i = the Hessian of its loss in that output; and every layer's input a^{k-1} (x first).
    One compiled call (the same operations run one by one cost about twice the time)."""
    flat, unravel = ravel_pytree(plain)
    paired = loss in PAIRED
    per_example = reference.LOSSES[loss]

    def output(theta, xi):
        n, a = reference.forward(unravel(theta), xi[None], acts)
        return (n if paired else a)[0]

    def loss_of_output(out, yi):
        out = out[None]
        if paired:
            return per_example(out, None, yi[None])[0]
        return per_example(None, out, yi[None])[0]

    def term(xi, yi):
        J = jax.jacrev(output)(flat, xi)
        return J.T @ _hessian(loss_of_output)(output(flat, xi), yi) @ J

    inputs = [x, *(reference.forward(plain[:k], x, acts[:k])[1] for k in range(1, len(plain)))]
    return jax.vmap(term)(x, y_reference), inputs


def _case_terms(case):
    """:func:`_ggn_terms` of the case's problem, as numpy: computed once per case (the tests below share it)."""
    return _terms_of_case(CASES.index(case))


@functools.cache
def _terms_of_case(index):
    case = CASES[index]
    mlp, params, x, _, y_reference, _ = _problem(case)
    terms, inputs = _ggn_terms(_plain(params), x, y_reference, acts=reference_activations(mlp), loss=case[0])
    return np.asarray(terms), [np.asarray(a) for a in inputs]


def _explicit_ggn(case, r):
    """sum_i r_i J_i^T H_i J_i (P x P) of the case's problem (:func:`_ggn_terms`)."""
    return np.einsum("i,ipq->pq", np.asarray(r), _case_terms(case)[0])


def _flat(tree):
    return np.asarray(ravel_pytree(tuple((layer.W, layer.b) for layer in tree))[0])


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[2][-1]}" for c in CASES])
def test_the_exact_ggn_diagonal_is_the_explicit_jacobian_product(case):
    mlp, params, x, y, y_reference, weights = _problem(case)
    loss = case[0]
    for reduction in ("sum",) if case[4] else ("mean",):  # the weighted cases summed (the sweep draws both)
        r = _factors(x, weights, reduction)
        expected = np.diag(_explicit_ggn(case, r))
        diagonal = funcmlp.diag_ggn(mlp, params, x, y, loss, reduction=reduction, weights=weights)
        assert jax.tree_util.tree_structure(diagonal) == jax.tree_util.tree_structure(params)
        np.testing.assert_allclose(_flat(diagonal), expected, rtol=1e-10, atol=1e-14 * np.abs(expected).max())


@pytest.mark.parametrize("case", CASES[:4], ids=[c[0] for c in CASES[:4]])
def test_per_example_ggn_diagonals_are_each_examples_own_and_padding_rows_are_zero(case):
    mlp, params, x, y, y_reference, weights = _problem(case)
    loss = case[0]
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights).copy()
    w[2] = 0.0  # a padding row
    per_example = funcmlp.diag_ggn(mlp, params, x, y, loss, per_example=True, weights=jnp.asarray(w))
    flat = np.stack([_flat(jax.tree_util.tree_map(lambda leaf, i=i: leaf[i], per_example)) for i in range(len(w))])
    for i in range(len(w)):
        if w[i] == 0:
            assert not np.any(flat[i])
            continue
        one = np.zeros(len(w))
        one[i] = 1.0
        expected = np.diag(_explicit_ggn(case, one))
        np.testing.assert_allclose(flat[i], expected, rtol=1e-10, atol=1e-14 * np.abs(expected).max())
    batch = funcmlp.diag_ggn(mlp, params, x, y, loss, weights=jnp.asarray(w))
    np.testing.assert_allclose((w / w.sum()) @ flat, _flat(batch), rtol=1e-10)


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[2][-1]}" for c in CASES])
def test_kronecker_factors_are_the_exact_blocks_at_batch_one_and_the_layer_sums_at_any_batch(case):
    mlp, params, x, y, y_reference, weights = _problem(case)
    loss = case[0]
    offsets = np.cumsum([0] + [(W.shape[0] + 1) * W.shape[1] for W, _ in _plain(params)])
    ggn = _case_terms(case)[0][0]  # the first example's own J^T H J: the GGN of the batch x[:1]
    factors = funcmlp.kfac_factors(mlp, params, x[:1], y[:1], loss)
    for k, (A, G) in enumerate(factors):
        block = ggn[offsets[k] : offsets[k + 1], offsets[k] : offsets[k + 1]]
        np.testing.assert_allclose(np.kron(A, G), block, rtol=1e-10, atol=1e-14 * np.abs(block).max())
    # at any batch: A is the r-weighted mean of [a, 1][a, 1]^T; G's trace times A's corner (1) is the bias block's
    r = _factors(x, weights, "mean")
    ggn = _explicit_ggn(case, r)
    for k, (A, G) in enumerate(funcmlp.kfac_factors(mlp, params, x, y, loss, weights=weights)):
        extended = np.hstack([_case_terms(case)[1][k], np.ones((x.shape[0], 1))])
        np.testing.assert_allclose(A, (extended * r[:, None]).T @ extended / r.sum(), rtol=1e-10)
        d_out = params[k].W.shape[1]
        bias = slice(offsets[k + 1] - d_out, offsets[k + 1])  # the bias block is G exactly (its inputs are 1)
        np.testing.assert_allclose(G, ggn[bias, bias], rtol=1e-10, atol=1e-14 * np.abs(ggn[bias, bias]).max())


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{c[2][-1]}" for c in CASES])
def test_the_hessian_diagonal_is_jax_hessians_of_the_batch_loss(case):
    mlp, params, x, y, y_reference, weights = _problem(case)
    loss = case[0]
    flat, unravel = ravel_pytree(_plain(params))
    acts = reference_activations(mlp)
    for reduction in ("sum",) if case[4] else ("mean",):  # the weighted cases summed (the sweep draws both)
        value = lambda theta, reduction=reduction: reference.batch_loss(
            unravel(theta), x, y_reference, acts, loss, reduction=reduction, weights=weights
        )
        expected = np.diag(jax.jit(_hessian(value))(flat))
        diagonal = funcmlp.diag_hessian(mlp, params, x, y, loss, reduction=reduction, weights=weights)
        np.testing.assert_allclose(_flat(diagonal), expected, rtol=1e-10, atol=1e-13 * np.abs(expected).max())


def test_for_piecewise_linear_hidden_layers_the_hessian_diagonal_is_the_ggns():
    mlp, params, x, y, _, _ = random_problem(
        4, (3, 5, 4, 3), ["relu", "leaky_relu(0.1)", "identity"], "softmax_cross_entropy", 8, target="one_hot"
    )
    hessian = funcmlp.diag_hessian(mlp, params, x, y, "softmax_cross_entropy")
    ggn = funcmlp.diag_ggn(mlp, params, x, y, "softmax_cross_entropy")
    np.testing.assert_allclose(_flat(hessian), _flat(ggn), rtol=1e-12, atol=1e-16)


def _masked_forward(params, x, acts, masks):
    a = x
    for k, ((W, b), (name, alpha)) in enumerate(zip(params, acts, strict=True)):
        n = a @ W + b
        a = reference.ACTIVATIONS[name](n, alpha)
        if k < len(masks) and masks[k] is not None:
            a = a * masks[k]
    return n, a


def test_dropout_masks_enter_the_ggn_and_the_hessian_as_in_the_forward_pass():
    mlp = funcmlp.MLP((3, 6, 5, 2), ("tanh", "sigmoid", "identity"), dropout=0.4)
    _, params, x, y, y_reference, _ = random_problem(6, (3, 6, 5, 2), ["tanh", "sigmoid", "identity"], "sse", 5)
    dropout_key = jax.random.key(11)
    masks = mlp.trace(params, x, key=dropout_key, train=True).masks
    assert all(m is not None for m in masks)
    flat, unravel = ravel_pytree(_plain(params))
    acts = reference_activations(mlp)
    value = lambda theta: jnp.mean(jnp.sum((_masked_forward(unravel(theta), x, acts, masks)[1] - y_reference) ** 2, -1))
    hessian = funcmlp.diag_hessian(mlp, params, x, y, "sse", dropout_key=dropout_key)
    np.testing.assert_allclose(_flat(hessian), np.diag(jax.jit(_hessian(value))(flat)), rtol=1e-10, atol=1e-15)
    J = jax.jit(
        jax.vmap(
            lambda xi, m1, m2: jax.jacrev(
                lambda t: _masked_forward(unravel(t), xi[None], acts, (m1[None], m2[None]))[1][0]
            )(flat)
        )
    )(x, *masks)
    expected = 2 * np.einsum("bcp,bcp->p", J, J) / x.shape[0]  # sse: H = 2 I, r = 1/B
    ggn = funcmlp.diag_ggn(mlp, params, x, y, "sse", dropout_key=dropout_key)
    np.testing.assert_allclose(_flat(ggn), expected, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize(
    "loss, target",
    [
        ("softmax_cross_entropy", "one_hot"),
        ("sse", "real"),
        ("poisson", "counts"),
        ("sigmoid_binary_cross_entropy", "hard"),
    ],
)
def test_the_monte_carlo_ggn_is_unbiased_within_its_standard_error(loss, target):
    output = "identity"
    mlp, params, x, y, _, _ = random_problem(8, (2, 3, 3), ["tanh", output], loss, 4, target=target)
    exact = _flat(funcmlp.diag_ggn(mlp, params, x, y, loss))
    # single draws give the spread of one sample; the mean of M draws has std / sqrt(M)
    singles = np.stack(
        [_flat(funcmlp.diag_ggn(mlp, params, x, y, loss, samples=1, key=jax.random.key(100 + j))) for j in range(100)]
    )
    draws = 2000
    estimate = _flat(funcmlp.diag_ggn(mlp, params, x, y, loss, samples=draws, key=jax.random.key(5)))
    standard_error = singles.std(axis=0) / np.sqrt(draws)
    assert np.all(np.abs(estimate - exact) <= 6 * standard_error + 1e-12 * np.abs(exact).max())
    assert np.all(np.abs(singles.mean(axis=0) - exact) <= 6 * singles.std(axis=0) / np.sqrt(100) + 1e-12)
    # the same key gives the same estimate; KFAC's sampled G is the MC GGN's bias block
    again = _flat(funcmlp.diag_ggn(mlp, params, x, y, loss, samples=draws, key=jax.random.key(5)))
    np.testing.assert_array_equal(estimate, again)
    factors = funcmlp.kfac_factors(mlp, params, x, y, loss, samples=draws, key=jax.random.key(5))
    sampled = funcmlp.diag_ggn(mlp, params, x, y, loss, samples=draws, key=jax.random.key(5))
    for (_, G), layer in zip(factors, sampled, strict=True):
        np.testing.assert_allclose(np.diag(G), layer.b, rtol=1e-10)


def test_float32_curvature_stays_within_float32_rounding():
    mlp, params, x, y, _, _ = random_problem(
        2, (4, 8, 3), ["tanh", "identity"], "softmax_cross_entropy", 16, target="one_hot"
    )
    params32 = jax.tree_util.tree_map(lambda leaf: leaf.astype(jnp.float32), params)
    x32 = x.astype(jnp.float32)
    for function in (funcmlp.diag_ggn, funcmlp.diag_hessian):
        exact = _flat(function(mlp, params, x, y, "softmax_cross_entropy"))
        single = function(mlp, params32, x32, y, "softmax_cross_entropy")
        assert jax.tree_util.tree_leaves(single)[0].dtype == jnp.float32
        np.testing.assert_allclose(_flat(single), exact, rtol=2e-4, atol=1e-6 * np.abs(exact).max())


def test_bad_curvature_input_gets_one_clear_error():
    mlp, params, x, y, _, _ = random_problem(1, (2, 3, 2), ["tanh", "identity"], "sse", 4)
    with pytest.raises(ValueError, match="needs key="):
        funcmlp.diag_ggn(mlp, params, x, y, "sse", samples=3)
    with pytest.raises(ValueError, match="give samples= with it"):
        funcmlp.kfac_factors(mlp, params, x, y, "sse", key=jax.random.key(0))
    with pytest.raises(ValueError, match="samples must be at least 1"):
        funcmlp.diag_ggn(mlp, params, x, y, "sse", samples=0, key=jax.random.key(0))
    with pytest.raises(ValueError, match="'huber' is not a negative log-likelihood"):
        funcmlp.diag_ggn(mlp, params, x, y, "huber", samples=2, key=jax.random.key(0))
    with pytest.raises(ValueError, match="no dropout; leave dropout_key out"):
        funcmlp.diag_hessian(mlp, params, x, y, "sse", dropout_key=jax.random.key(0))
    with pytest.raises(ValueError, match="per_example must be True or False"):
        funcmlp.diag_ggn(mlp, params, x, y, "sse", per_example="yes")
    softmax_hidden = funcmlp.MLP((2, 3, 2), ("softmax", "identity"))
    with pytest.raises(ValueError, match="diag_hessian needs elementwise hidden activations"):
        funcmlp.diag_hessian(softmax_hidden, softmax_hidden.init(jax.random.key(0)), x, y, "sse")
    with pytest.raises(ValueError, match="expected"):  # the batch checked as backprop checks it
        funcmlp.diag_ggn(mlp, params, x[:, :1], y, "sse")
