"""bfloat16 and float16: inputs taken, and sums accumulated in float32 (as JAX's ``preferred_element_type``).

The bound of the bfloat16 and float16 gradients is counted, not fitted. Each product or sum (a layer's
``a @ W + b``, the recursion's ``s W^T``, the gradient's sum over the batch, the loss's) is accumulated in
float32 and rounded once to the params' dtype: within ``u`` of its value (2^-8 for bfloat16, 2^-11 for float16;
float32's accumulation adds ``n 2^-24``, below ``u / 100`` here). An entry of a gradient is a sum over the
examples of per-example terms; each term carries the roundings on its path, each ``u`` of the term (to first
order, where the sums over units that carry an error do not cancel: random data and weights here), so the
entry is within ``(roundings) u`` of its summands' scale ``sum_i |c_i grad L_i|`` (c_i = 1/B: the mean), the
scale tests/test_backprop.py bounds float32 by. The reference is ``tests/reference.py`` in float64 at the same
(rounded) numbers, one example at a time for the scale; neither shares code with funcmlp."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference

import funcmlp
from funcmlp import MLP, backprop

NARROW = [jnp.bfloat16, jnp.float16]


def unit_roundoff(dtype) -> float:
    return float(jnp.finfo(dtype).eps) / 2  # bfloat16 2^-8, float16 2^-11


@pytest.mark.parametrize("dtype", NARROW)
def test_a_narrow_network_on_narrow_inputs_is_within_six_roundings_of_float64(dtype):
    """The README's 64-256-10 ReLU network, params and inputs in bfloat16 (or float16), a regression loss
    (half_sse on an identity output), a batch of 512. Roundings on the longest path to an entry: n^1 (1), n^2
    (1, and n^1's carried), the residual a^2 - y (1), times 1/B (1): s^2 within 4u; dL/dW^2 = (a^1)^T s^2
    adds a^1's and its own: 6u; s^2 (W^2)^T (1) times ReLU' (exact: n^1, from bfloat16 x and W^1 summed in
    float32, has the float64 sign unless within 64 2^-24 of its terms) gives s^1 within 5u, and dL/dW^1 =
    x^T s^1 and dL/db^1 round once more: 6u. The loss: the residual's 3u squared (7u), summed over the units
    (8u), times 1/B and summed over the batch (10u) of the loss. Measured: below 1u of each, in both dtypes;
    float32, whose sums accumulate in float32 itself, is off by up to 8 of its own u on the same problem, and
    dL/dW^2 summed in bfloat16 one example at a time by 11u."""
    mlp = MLP((64, 256, 10), "relu", output="identity")
    k_params, k_x, k_y = jax.random.split(jax.random.key(0), 3)
    params = mlp.init(k_params, dtype=dtype)
    x = jax.random.normal(k_x, (512, 64), jnp.float32).astype(dtype)
    y = jax.random.normal(k_y, (512, 10), jnp.float32).astype(dtype)

    result = backprop(mlp, params, x, y, "half_sse")

    assert result.loss.dtype == dtype and all(leaf.dtype == dtype for leaf in jax.tree_util.tree_leaves(result.grads))
    up = lambda a: jnp.asarray(a, jnp.float64)
    plain, x64, y64 = tuple((up(W), up(b)) for W, b in params), up(x), up(y)
    activations = [("relu", None), ("identity", None)]
    expected = reference.gradient(plain, x64, y64, activations, "half_sse")
    each = jax.vmap(lambda xi, yi: reference.gradient(plain, xi[None], yi[None], activations, "half_sse"))(x64, y64)
    summands = jax.tree_util.tree_map(lambda g: np.abs(np.asarray(g)).sum(axis=0) / 512, each)
    u = unit_roundoff(dtype)
    for got, want, scale in zip(*map(jax.tree_util.tree_leaves, (result.grads, expected, summands)), strict=True):
        error = np.abs(np.asarray(got, np.float64) - np.asarray(want))
        worst = np.unravel_index(np.argmax(error / scale), scale.shape)
        assert error[worst] <= 6 * u * scale[worst], f"{error[worst]:.3g} > 6u x {scale[worst]:.3g} at {worst}"
    expected_loss = float(reference.batch_loss(plain, x64, y64, activations, "half_sse"))
    assert abs(float(result.loss) - expected_loss) <= 10 * u * expected_loss


@pytest.mark.parametrize("dtype", NARROW)
def test_a_batch_sum_of_4096_examples_is_not_stalled_by_the_narrow_dtype(dtype):
    """dL/dW = sum_i x_i (x_i W - y_i) = 4096 and L = sum_i (x_i W - y_i)^2 / 2 = 2048 for x = 1, W = 1, y = 0:
    both exact in bfloat16 and float16; accumulated in bfloat16 they would stall at 256 (256 + 1 rounds to 256),
    in float16 at 2048."""
    mlp = MLP((1, 1), "identity")
    params = funcmlp.params_from_arrays([([[1.0]], [0.0])])
    params = jax.tree_util.tree_map(lambda a: a.astype(dtype), params)
    x, y = jnp.ones((4096, 1), dtype), jnp.zeros((4096, 1), dtype)

    result = backprop(mlp, params, x, y, "half_sse", reduction="sum")

    assert (float(result.grads[0].W[0, 0]), float(result.grads[0].b[0]), float(result.loss)) == (4096, 4096, 2048)


@pytest.mark.parametrize("dtype", NARROW)
def test_narrow_inputs_in_a_float32_network_are_its_inputs_exactly(dtype):
    """bfloat16 and float16 numbers are float32 numbers: a float32 network given them computes what it computes
    given them cast by hand, bit for bit (bfloat16 inputs were refused as "must be numbers", their dtype.kind
    being "V")."""
    mlp = MLP((3, 4, 2), "tanh", output="identity")
    params = mlp.init(jax.random.key(0), dtype=jnp.float32)
    x = np.asarray(jax.random.normal(jax.random.key(1), (5, 3)), dtype)
    y = np.asarray([0, 1, 1, 0, 1])

    narrow = backprop(mlp, params, x, y, "softmax_cross_entropy")
    cast = backprop(mlp, params, x.astype(np.float32), y, "softmax_cross_entropy")

    for a, b in zip(jax.tree_util.tree_leaves(narrow.grads), jax.tree_util.tree_leaves(cast.grads), strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert funcmlp.predict(mlp, params, x).tolist() == funcmlp.predict(mlp, params, x.astype(np.float32)).tolist()


def test_bfloat16_targets_and_weights_are_taken():
    mlp = MLP((2, 1), "identity")
    params = funcmlp.params_from_arrays([([[1.0], [2.0]], [0.5])])
    x = np.array([[1.0, 0.0], [0.0, 1.0]], jnp.bfloat16)
    y = np.array([1.0, 3.0], jnp.bfloat16)
    weights = np.array([1.0, 3.0], jnp.bfloat16)

    result = backprop(mlp, params, x, y, "half_sse", weights=weights)

    # residuals 0.5, -0.5; weighted mean: (1 * 0.5^2/2 + 3 * 0.5^2/2) / 4 = 0.125; dL/db = (0.5 - 1.5) / 4
    assert (float(result.loss), float(result.grads[0].b[0])) == (0.125, -0.25)


@pytest.mark.parametrize(
    "values, match",
    [
        (np.array([[1 + 2j, 0, 0]]), r"inputs must be real numbers, got an array of dtype complex128; expected "),
        (np.array([["a", "b", "c"]]), r"got an array of dtype <U1; expected booleans, integers or floating point "),
        (np.zeros((1, 3), "V2"), r"dtype \|V2; expected booleans, integers or floating point \(float16, bfloat16, "),
    ],
)
def test_inputs_that_are_not_real_numbers_are_refused_naming_their_dtype_and_the_accepted_ones(values, match):
    mlp = MLP((3, 1), "identity")
    with pytest.raises(ValueError, match=match + r".*convert them, e\.g\. np\.asarray\(x, dtype='float32'\)"):
        backprop(mlp, mlp.init(jax.random.key(0)), values, np.zeros(1), "sse")


@pytest.mark.parametrize(
    "inputs, dtype",
    [
        (np.array([[1.0, 70_000.0]], np.float32), jnp.float16),  # float16 holds at most 65,504
        (np.array([[1, 70_000]]), jnp.float16),  # so do integers beyond it
        (np.array([[1.0, 70_000.0]], jnp.bfloat16), jnp.float16),  # a bfloat16 as wide as float16 holds more
        (np.array([[1.0, 1e39]], np.float64), jnp.bfloat16),  # bfloat16 holds float32's range, 3.4e38
    ],
)
def test_inputs_beyond_a_narrow_networks_range_are_refused(inputs, dtype):
    mlp = MLP((2, 1), "identity")
    params = jax.tree_util.tree_map(lambda a: a.astype(dtype), mlp.init(jax.random.key(0)))
    with pytest.raises(ValueError, match=rf"inputs hold .* at index \(0, 1\), beyond {jnp.dtype(dtype).name}'s range"):
        backprop(mlp, params, inputs, np.zeros(1), "sse")


def test_a_bfloat16_network_is_trained_saved_and_loaded_as_itself(tmp_path):
    """.npy has no name for bfloat16 (it wrote raw bytes, which funcmlp then refused to read as "not a funcmlp
    model file"): the file holds its params as float32, each number exactly, and load_model gives bfloat16 back."""
    mlp = MLP((2, 8, 2), "tanh", output="identity")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], jnp.bfloat16)
    y = np.array([0, 1, 1, 0])
    params, history = funcmlp.fit(
        mlp,
        mlp.init(jax.random.key(0), dtype=jnp.bfloat16),
        (x, y),
        loss="softmax_cross_entropy",
        optimizer=optax.adam(0.05),
        batch_size=4,
        epochs=50,
        key=jax.random.key(1),
    )
    assert history.train_accuracy[-1] == 1.0 and params[0].W.dtype == jnp.bfloat16

    funcmlp.save_model(tmp_path / "model.npz", mlp, params)
    loaded_mlp, loaded = funcmlp.load_model(tmp_path / "model.npz")

    assert loaded_mlp == mlp
    for a, b in zip(jax.tree_util.tree_leaves(loaded), jax.tree_util.tree_leaves(params), strict=True):
        assert a.dtype == jnp.bfloat16 and np.array_equal(np.asarray(a), np.asarray(b))
