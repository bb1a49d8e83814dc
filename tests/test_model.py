"""MLP description, forward pass, params helpers, initializers and dropout."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from funcmlp import MLP, Layer, params_from_arrays, predict, to_column_convention
from funcmlp.checks import check_inputs, check_params
from funcmlp.core.initializers import get_initializer
from funcmlp.core.params import count_parameters, layer_sizes

XOR_X = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


def test_seed_003_hand_set_slps_for_and_and_or():
    """W = [1 1]^T with b = -1.5 (AND) and b = -0.5 (OR), hard limit (seed 003)."""
    slp = MLP((2, 1), output="hardlimit")
    and_params = params_from_arrays([([1, 1], -1.5)])
    or_params = params_from_arrays([([1, 1], -0.5)])
    assert slp.apply(and_params, XOR_X).ravel().tolist() == [0, 0, 0, 1]
    assert slp.apply(or_params, XOR_X).ravel().tolist() == [0, 1, 1, 1]


def test_seed_003_hand_set_xor_network_classifies_all_four_points():
    mlp = MLP((2, 2, 1), "hardlimit", output="hardlimit")
    params = params_from_arrays([([[1, -1], [-1, 1]], [-0.5, -0.5]), ([1, 1], -0.5)])
    assert mlp.apply(params, XOR_X).ravel().tolist() == [0, 1, 1, 0]


def test_trace_records_every_layer():
    mlp = MLP((3, 4, 2), ["tanh", "identity"])
    params = mlp.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (5, 3))
    trace = mlp.trace(params, x)
    n1 = x @ params[0].W + params[0].b
    np.testing.assert_allclose(trace.n[0], n1, rtol=1e-14)
    np.testing.assert_allclose(trace.a[0], np.tanh(n1), rtol=1e-14)
    np.testing.assert_allclose(trace.a[1], np.tanh(n1) @ params[1].W + params[1].b, rtol=1e-14)
    assert mlp.apply(params, x[0]).shape == (2,)
    np.testing.assert_allclose(mlp.apply(params, x[0]), trace.a[1][0], rtol=1e-14)


def test_mlp_is_hashable_and_static_under_jit():
    a, b = MLP((2, 3, 1), "relu", output="sigmoid"), MLP((2, 3, 1), ["relu", "sigmoid"])
    assert a == b and hash(a) == hash(b)
    params = a.init(jax.random.key(0))
    out = jax.jit(MLP.apply, static_argnums=0)(a, params, XOR_X)
    np.testing.assert_allclose(out, a.apply(params, XOR_X), rtol=1e-14)


def test_column_convention_round_trip():
    """Seed 000's W^[1] is (d_out, d_in) = (2, 3); the row convention stores its transpose."""
    W1 = [[0.01, -0.02, 0.03], [0.04, 0.05, -0.06]]
    params = params_from_arrays([(W1, [[0.001], [-0.001]])], convention="column")
    assert params[0].W.shape == (3, 2)
    np.testing.assert_array_equal(to_column_convention(params)[0][0], np.array(W1))
    x = np.array([1200.0, 3.0, 10.0])
    # column convention z = W a + b equals row convention n = a W^T + b
    np.testing.assert_allclose(MLP((3, 2), "identity").apply(params, x), np.array(W1) @ x + [0.001, -0.001], rtol=1e-14)
    assert layer_sizes(params) == (3, 2) and count_parameters(params) == 8


def test_shape_errors_name_the_layer_and_shapes():
    """The checks every entry point runs (mlp.apply itself is the unchecked core)."""
    mlp = MLP((3, 4, 2), "relu")
    params = mlp.init(jax.random.key(0))
    bad = (params[0], Layer(params[1].W.T, params[1].b))
    with pytest.raises(ValueError, match=r"layer 2: W has shape \(2, 4\), expected \(4, 2\).*looks transposed"):
        predict(mlp, bad, jnp.ones((1, 3)))
    with pytest.raises(ValueError, match=r"layer 1: b has shape \(3,\), expected \(4,\)"):
        check_params(mlp, (Layer(params[0].W, jnp.zeros(3)), params[1]))
    with pytest.raises(ValueError, match=r"inputs have shape \(5, 4\), expected \(batch, 3\)"):
        predict(mlp, params, jnp.ones((5, 4)))
    with pytest.raises(ValueError, match=r"inputs have shape \(5, 4\), expected \(batch, 3\)"):
        check_inputs(mlp, jnp.ones((5, 4)))
    with pytest.raises(ValueError, match="tuple of 2 Layer"):
        check_params(mlp, params[:1])
    with pytest.raises(ValueError, match=r"layer 2: W has shape \(3, 1\) but layer 1 has 2 units"):
        params_from_arrays([([[1, 1]], [0, 0]), ([[1], [1], [1]], [0])])
    with pytest.raises(ValueError, match=r"layer 1: bias has 3 entries"):
        params_from_arrays([([[1, 1]], [0, 0, 0])])


def test_configuration_errors():
    with pytest.raises(ValueError, match=r"expected 1 or 2 activations \(1: one per hidden layer, .*got 3"):
        MLP((2, 3, 1), ["relu", "relu", "relu"])
    with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive integer"):
        MLP((2, 0, 1))
    with pytest.raises(ValueError, match="dropout rate of hidden layer 1 must be in"):
        MLP((2, 3, 1), dropout=1.0)
    with pytest.raises(ValueError, match="needs a key"):
        MLP((2, 3, 1), dropout=0.5).apply(MLP((2, 3, 1)).init(jax.random.key(0)), jnp.ones((1, 2)), train=True)


@pytest.mark.parametrize(
    "name, fan_variance",
    [
        ("he_normal", lambda i, o: 2 / i),
        ("he_uniform", lambda i, o: 2 / i),
        ("glorot_normal", lambda i, o: 2 / (i + o)),
        ("glorot_uniform", lambda i, o: 2 / (i + o)),
        ("lecun_normal", lambda i, o: 1 / i),
        ("lecun_uniform", lambda i, o: 1 / i),
        ("normal(0.3)", lambda i, o: 0.09),
        ("uniform(-0.5, 1.5)", lambda i, o: 4 / 12),  # (b - a)^2 / 12
    ],
)
def test_initializer_variance_matches_its_formula(name, fan_variance):
    fan_in, fan_out = 200, 300
    alone = get_initializer(name)(jax.random.key(0), (fan_in, fan_out), jnp.float64)
    second_layer = (
        MLP((50, fan_in, fan_out)).init(jax.random.key(1), init=name, dtype=jnp.float64)[1].W
    )  # drawn at once
    expected = fan_variance(fan_in, fan_out)
    for W in map(np.asarray, (alone, second_layer)):
        assert W.shape == (fan_in, fan_out) and W.dtype == np.float64
        # 60,000 draws: the sample variance has relative standard error about sqrt(2/60000) ~ 0.6%
        assert W.var() == pytest.approx(expected, rel=0.03)
        if name.startswith("uniform"):
            assert W.min() >= -0.5 and W.max() <= 1.5 and W.mean() == pytest.approx(0.5, abs=0.01)
        else:
            assert W.mean() == pytest.approx(0.0, abs=0.05 * np.sqrt(expected))  # its standard error: 0.004 std


def test_layers_drawn_at_once_are_distinct_and_mix_with_initializers_of_ones_own():
    mlp = MLP((5, 5, 5, 5))
    params = mlp.init(jax.random.key(0))
    weights = [np.asarray(layer.W) for layer in params]
    assert all(not np.array_equal(weights[i], weights[j]) for i in range(3) for j in range(i))
    assert np.array_equal(weights[0], np.asarray(mlp.init(jax.random.key(0))[0].W))  # seeded
    assert not np.array_equal(weights[0], np.asarray(mlp.init(jax.random.key(1))[0].W))
    ones = lambda key, shape, dtype: jnp.ones(shape, dtype)  # an initializer of one's own
    mixed = mlp.init(jax.random.key(0), init=("he_normal", "uniform(2, 3)", ones), bias_init="normal(0.5)")
    assert np.asarray(mixed[1].W).min() >= 2 and np.asarray(mixed[1].W).max() <= 3
    assert np.asarray(mixed[2].W).tolist() == np.ones((5, 5)).tolist()
    assert len({float(layer.b[0]) for layer in mixed}) == 3  # biases drawn too, each layer its own


def test_init_runs_under_jit_and_vmap():
    mlp = MLP((3, 4, 2))
    keys = jax.random.split(jax.random.key(0), 3)
    eager = mlp.init(keys[1], init="glorot_uniform", bias_init="normal(0.1)")
    compiled = jax.jit(lambda key: mlp.init(key, init="glorot_uniform", bias_init="normal(0.1)"))(keys[1])
    mapped = jax.vmap(lambda key: mlp.init(key, init="glorot_uniform", bias_init="normal(0.1)"))(keys)
    for a, b, c in zip(
        jax.tree_util.tree_leaves(eager),
        jax.tree_util.tree_leaves(compiled),
        jax.tree_util.tree_leaves(mapped),
        strict=True,
    ):
        np.testing.assert_allclose(a, b, rtol=1e-12)
        np.testing.assert_allclose(a, c[1], rtol=1e-12)
        assert c.shape == (3, *a.shape) and not np.allclose(c[0], c[2])


def test_biases_are_zero_unless_asked():
    mlp = MLP((4, 3, 2))
    assert all(float(jnp.abs(layer.b).max()) == 0 for layer in mlp.init(jax.random.key(0)))
    assert float(mlp.init(jax.random.key(0), bias_init="constant(0.1)")[0].b[0]) == pytest.approx(0.1)


def test_unknown_initializer():
    with pytest.raises(ValueError, match="unknown initializer 'orthogonal'"):
        get_initializer("orthogonal")


def test_inverted_dropout_keeps_the_expected_value():
    mlp = MLP((1, 4000, 1), ["identity", "identity"], dropout=0.3)
    params = params_from_arrays([(np.ones((1, 4000)), np.zeros(4000)), (np.ones((4000, 1)) / 4000, [0.0])])
    x = jnp.ones((50, 1))
    trace = mlp.trace(params, x, key=jax.random.key(0), train=True)
    kept = np.asarray(trace.masks[0]) > 0
    assert kept.mean() == pytest.approx(0.7, abs=0.005)  # 200,000 Bernoulli draws
    np.testing.assert_allclose(np.asarray(trace.masks[0])[kept], 1 / 0.7, rtol=1e-14)
    # E[a] is unchanged: the mean over 4000 units of the scaled, masked ones
    assert float(trace.a[1].mean()) == pytest.approx(1.0, abs=0.01)
    # evaluation applies no dropout
    assert float(mlp.apply(params, x).mean()) == pytest.approx(1.0, rel=1e-12)


def test_numpy_integer_sizes_are_sizes():
    import numpy as np

    mlp = MLP((2, np.int64(3), np.int32(1)), "tanh")
    assert mlp == MLP((2, 3, 1), "tanh") and all(type(size) is int for size in mlp.sizes)
    for bad in [(2, 3.0, 1), (2, True, 1), (2, np.int64(0), 1)]:
        with pytest.raises(ValueError, match=r"sizes\[1\] must be a positive integer"):
            MLP(bad)


def test_one_initializer_function_serves_every_layer():
    """init= takes one callable for every layer as it takes one name (it raised "'function' object is not
    iterable"); a list must still give one per layer."""
    import jax
    import jax.numpy as jnp

    from funcmlp import MLP

    def halves(key, shape, dtype):
        return jnp.full(shape, 0.5, dtype)

    params = MLP((3, 2, 1), "tanh").init(jax.random.key(0), init=halves)
    assert [layer.W.tolist() for layer in params] == [[[0.5, 0.5]] * 3, [[0.5]] * 2]
    with pytest.raises(ValueError, match="expected 2 initializers"):
        MLP((3, 2, 1), "tanh").init(jax.random.key(0), init=[halves])
