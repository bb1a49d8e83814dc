"""Manual backprop (the seed-003 sensitivity recursion) against jax.grad and finite
differences, over random architectures, every activation and every loss, in float64."""
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from funcmlp import MLP, autodiff_grad, backprop, objective, params_from_arrays
from funcmlp.activations import ACTIVATION_NAMES, KINKED
from funcmlp.gradcheck import finite_difference_grad
from funcmlp.losses import BINARY_LOSSES, CLASS_LOSSES, LOSS_NAMES

# Output activations a loss can sit on: losses on probabilities need outputs in (0, 1).
OUTPUTS_FOR = {
    "binary_cross_entropy": ["sigmoid"],
    "cross_entropy": ["softmax"],
}
SMOOTH = [name for name in ACTIVATION_NAMES if name not in KINKED]


def random_problem(seed, sizes, hidden, output, loss, batch, dtype=jnp.float64):
    mlp = MLP(sizes, [*hidden, output]) if isinstance(hidden, list) else MLP(sizes, hidden, output=output)
    kp, kx, ky = jax.random.split(jax.random.key(seed), 3)
    params = mlp.init(kp, init="glorot_normal", dtype=dtype)
    params = tuple(layer._replace(b=0.3 * jax.random.normal(jax.random.fold_in(kp, i), layer.b.shape, dtype)) for i, layer in enumerate(params))
    x = jax.random.normal(kx, (batch, sizes[0]), dtype)
    d_out = sizes[-1]
    if loss in CLASS_LOSSES:
        y = jax.random.randint(ky, (batch,), 0, d_out)
    elif loss in BINARY_LOSSES:
        y = jax.random.uniform(ky, (batch, d_out), dtype)
    else:
        y = jax.random.normal(ky, (batch, d_out), dtype)
    return mlp, params, x, y


def assert_trees_close(actual, expected, rtol, atol_scale=1e-13):
    for a, e in zip(jax.tree_util.tree_leaves(actual), jax.tree_util.tree_leaves(expected), strict=True):
        a, e = np.asarray(a), np.asarray(e)
        scale = max(float(np.abs(e).max()), 1e-300)
        np.testing.assert_allclose(a, e, rtol=rtol, atol=atol_scale * scale)


@st.composite
def architectures(draw):
    depth = draw(st.integers(1, 5))
    loss = draw(st.sampled_from(LOSS_NAMES))
    # widths from 1 to 32; a fixed menu keeps JAX's per-shape compile cache warm
    widths = [draw(st.sampled_from([1, 2, 3, 5, 8, 13, 32])) for _ in range(depth + 1)]
    if loss in CLASS_LOSSES and widths[-1] == 1:
        widths[-1] = draw(st.integers(2, 6))
    hidden = [draw(st.sampled_from(ACTIVATION_NAMES)) for _ in range(depth - 1)]
    output = draw(st.sampled_from(OUTPUTS_FOR.get(loss, ACTIVATION_NAMES)))
    batch = draw(st.sampled_from([1, 2, 7, 16]))
    reduction = draw(st.sampled_from(["mean", "sum"]))
    seed = draw(st.integers(0, 2**16))
    return tuple(widths), [*hidden, output], loss, batch, reduction, seed


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(architectures())
def test_manual_backprop_equals_jax_grad(arch):
    sizes, activations, loss, batch, reduction, seed = arch
    mlp, params, x, y = random_problem(seed, sizes, activations[:-1], activations[-1], loss, batch)
    manual = backprop(mlp, params, x, y, loss, reduction=reduction)
    auto = autodiff_grad(mlp, params, x, y, loss, reduction=reduction)
    assert jax.tree_util.tree_structure(manual.grads) == jax.tree_util.tree_structure(params)
    assert_trees_close(manual.grads, auto, rtol=1e-10)
    assert float(manual.loss) == pytest.approx(float(objective(mlp, params, x, y, loss, reduction=reduction)), rel=1e-14)


@pytest.mark.parametrize("activation", ACTIVATION_NAMES)
@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_every_activation_with_every_loss(activation, loss):
    output = OUTPUTS_FOR.get(loss, [activation])[0]
    mlp, params, x, y = random_problem(7, (3, 5, 4, 3), activation, output, loss, 6)
    assert_trees_close(backprop(mlp, params, x, y, loss).grads, autodiff_grad(mlp, params, x, y, loss), rtol=1e-10)


@pytest.mark.parametrize("activation", SMOOTH)
@pytest.mark.parametrize("loss", ["sse", "softmax_cross_entropy", "binary_cross_entropy", "mse"])
def test_manual_backprop_agrees_with_finite_differences(activation, loss):
    output = OUTPUTS_FOR.get(loss, ["identity"])[0]
    mlp, params, x, y = random_problem(3, (3, 4, 4, 2), activation, output, loss, 5)
    manual = np.concatenate([np.ravel(leaf) for leaf in jax.tree_util.tree_leaves(backprop(mlp, params, x, y, loss).grads)])
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


def test_float32_backprop_matches_float64_reference():
    mlp, params64, x64, y64 = random_problem(11, (8, 16, 16, 4), "tanh", "identity", "softmax_cross_entropy", 32)
    reference = autodiff_grad(mlp, params64, x64, y64, "softmax_cross_entropy")
    params32 = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32), params64)
    manual32 = backprop(mlp, params32, x64.astype(jnp.float32), y64, "softmax_cross_entropy").grads
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(manual32))
    assert_trees_close(manual32, reference, rtol=1e-4, atol_scale=1e-6)


def test_vmap_of_single_example_backprop_equals_a_loop():
    mlp, params, x, y = random_problem(5, (4, 6, 3), "sigmoid", "identity", "half_sse", 9)
    per_example = jax.vmap(lambda xi, yi: backprop(mlp, params, xi, yi, "half_sse").grads)(x, y)
    for i in range(x.shape[0]):
        single = backprop(mlp, params, x[i], y[i], "half_sse").grads
        assert_trees_close(jax.tree_util.tree_map(lambda g: g[i], per_example), single, rtol=1e-14)
    # the mean of per-example gradients is the gradient of the mean loss
    assert_trees_close(jax.tree_util.tree_map(lambda g: g.mean(0), per_example), backprop(mlp, params, x, y, "half_sse").grads, rtol=1e-12)


def test_jit_gives_the_same_numbers():
    mlp, params, x, y = random_problem(6, (4, 8, 3), "gelu", "identity", "softmax_cross_entropy", 10)
    eager = backprop(mlp, params, x, y, "softmax_cross_entropy")
    jitted = jax.jit(backprop, static_argnums=(0, 4))(mlp, params, x, y, "softmax_cross_entropy")
    # XLA may fuse and reorder the sums under jit: equal up to a few units in the last place
    assert_trees_close(jitted.grads, eager.grads, rtol=1e-13, atol_scale=1e-15)
    for a, b in zip(jitted.sensitivities, eager.sensitivities, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-13, atol=1e-15 * float(np.abs(b).max()))


def test_sensitivities_are_gradients_with_respect_to_net_inputs():
    """s^k = dL/dn^k (seed 003 eq. 18), checked by differentiating L through an added offset on n^k."""
    mlp, params, x, y = random_problem(8, (3, 5, 4, 2), "tanh", "sigmoid", "sse", 4)
    manual = backprop(mlp, params, x, y, "sse").sensitivities
    for k in range(mlp.depth):
        def loss_with_offset(delta):
            # adding delta (batch, d_k) to n^k is adding it to the bias per example
            def forward(xi, di):
                a = xi
                for j, (layer, act) in enumerate(zip(params, mlp.activations, strict=True)):
                    n = a @ layer.W + layer.b + (di if j == k else 0.0)
                    a = act(n)
                return a
            out = jax.vmap(forward)(x, delta)
            return jnp.mean(jnp.sum((y - out) ** 2, axis=-1))
        auto = jax.grad(loss_with_offset)(jnp.zeros((x.shape[0], mlp.sizes[k + 1])))
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
    mlp, params, x, y = random_problem(9, (3, 4, 2), "tanh", "identity", "mse", 6)
    weights = jnp.array([1.0, 1.0, 0.0, 1.0, 0.0, 1.0])
    keep = np.array([0, 1, 3, 5])
    weighted = backprop(mlp, params, x, y, "mse", weights=weights)
    subset = backprop(mlp, params, x[keep], y[keep], "mse")
    assert_trees_close(weighted.grads, subset.grads, rtol=1e-13)
    assert float(weighted.loss) == pytest.approx(float(subset.loss), rel=1e-14)


def test_sum_reduction_is_batch_size_times_mean():
    mlp, params, x, y = random_problem(10, (3, 4, 2), "relu", "identity", "sse", 8)
    mean = backprop(mlp, params, x, y, "sse").grads
    total = backprop(mlp, params, x, y, "sse", reduction="sum").grads
    assert_trees_close(total, jax.tree_util.tree_map(lambda g: 8 * g, mean), rtol=1e-14)


def test_dropout_backprop_matches_autodiff_with_the_same_key():
    mlp = MLP((5, 16, 16, 3), "tanh", output="identity", dropout=(0.5, 0.25))
    _, params, x, y = random_problem(12, (5, 16, 16, 3), "tanh", "identity", "softmax_cross_entropy", 8)
    key = jax.random.key(3)
    manual = backprop(mlp, params, x, y, "softmax_cross_entropy", key=key, train=True)
    auto = autodiff_grad(mlp, params, x, y, "softmax_cross_entropy", key=key, train=True)
    assert_trees_close(manual.grads, auto, rtol=1e-10)
    dropped = [np.mean(np.asarray(m) == 0) for m in manual.trace.masks]
    assert 0.3 < dropped[0] < 0.7 and 0.1 < dropped[1] < 0.4
    no_dropout = backprop(mlp, params, x, y, "softmax_cross_entropy")
    assert not np.allclose(no_dropout.grads[0].W, manual.grads[0].W)


def test_integer_and_one_hot_labels_give_the_same_gradient():
    mlp, params, x, labels = random_problem(13, (4, 5, 3), "relu", "identity", "softmax_cross_entropy", 6)
    one_hot = jax.nn.one_hot(labels, 3, dtype=jnp.float64)
    assert_trees_close(backprop(mlp, params, x, labels, "softmax_cross_entropy").grads,
                       backprop(mlp, params, x, one_hot, "softmax_cross_entropy").grads, rtol=1e-15)


def test_target_shape_errors_name_the_expected_shape():
    mlp, params, x, y = random_problem(1, (3, 4, 2), "relu", "identity", "sse", 5)
    with pytest.raises(ValueError, match=r"targets have shape \(5, 3\), expected \(5, 2\)"):
        backprop(mlp, params, x, jnp.zeros((5, 3)), "sse")
    with pytest.raises(ValueError, match=r"needs targets in \[0, 1\]"):
        backprop(mlp, params, x, jnp.full((5, 2), 2.0), "sigmoid_binary_cross_entropy")
    with pytest.raises(ValueError, match=r"example weights have shape \(4,\), expected \(5,\)"):
        backprop(mlp, params, x, y, "sse", weights=jnp.ones(4))


def test_loss_and_output_layer_mismatch_is_explained():
    mlp, params, x, y = random_problem(2, (3, 4, 2), "relu", "identity", "binary_cross_entropy", 5)
    with pytest.raises(ValueError, match="takes probabilities but the output activation is 'identity'.*sigmoid_binary_cross_entropy"):
        backprop(mlp, params, x, y, "binary_cross_entropy")
    one_unit = MLP((3, 1), "identity")
    with pytest.raises(ValueError, match="needs at least 2 output units"):
        backprop(one_unit, one_unit.init(jax.random.key(0)), x, jnp.zeros(5, int), "softmax_cross_entropy")
