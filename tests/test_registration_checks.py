"""Registry entries checked once, at registration (issue 33, item 4), and the lesser API cases of its
item 6 met at the public entry points: params that are not a tuple of ``Layer(W, b)`` of arrays, a
batch of keys given as ``key``, a ``batch_size`` beyond what a batch can number.

A loss gradient that returned one number for the batch was broadcast into gradients silently wrong
(dL/db off by 0.59, dL/dW by 719 against jax.grad) and fit trained on them; a loss value of one number
for the batch gave a loss B times too large. Each is now one error naming the function, the shape it
returned and the shape expected; a correct entry still registers and its gradients equal jax.grad of
a loss written here (float64, 1e-10)."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import funcmlp
from funcmlp import MLP, Layer
from funcmlp.registry.activations import ACTIVATIONS
from funcmlp.registry.entry_checks import probe_activation, probe_loss
from funcmlp.registry.loss_registry import LOSSES


def _quartic_value(a, y):
    return jnp.sum((a - y) ** 4, axis=-1)


def _quartic_gradient(a, y):
    return 4 * (a - y) ** 3


def _cube(n, alpha):
    return n**3 + n


def _cube_derivative(n, alpha):
    return 3 * n**2 + 1


@pytest.fixture
def registered():
    """Names registered by a test, removed after it (also when registration was refused: none is left)."""
    names = []
    yield names
    for name in names:
        if name in LOSSES:
            funcmlp.unregister_loss(name)
        if name in ACTIVATIONS:
            funcmlp.unregister_activation(name)


def _problem():
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.normal(size=(5, 3)))
    y = jnp.asarray(rng.normal(size=(5, 2)))
    mlp = MLP((3, 4, 2), ["cube_ok", "identity"])
    return mlp, mlp.init(jax.random.key(0), dtype=jnp.float64), x, y


def test_a_correct_loss_and_activation_register_and_give_jax_grads_of_a_loss_written_here(registered):
    registered += ["quartic_ok", "cube_ok"]
    funcmlp.register_loss("quartic_ok", _quartic_value, _quartic_gradient)
    funcmlp.register_activation("cube_ok", _cube, _cube_derivative, kinks=[0], output_range=None)
    assert ACTIVATIONS["cube_ok"].kinks == (0.0,) and isinstance(ACTIVATIONS["cube_ok"].kinks[0], float)
    mlp, params, x, y = _problem()

    def written_here(plain):  # the network and the loss written again, independently of the registry
        (W1, b1), (W2, b2) = plain
        n1 = x @ W1 + b1
        out = (n1**3 + n1) @ W2 + b2
        return jnp.mean(jnp.sum((out - y) ** 4, axis=-1))

    plain = tuple((layer.W, layer.b) for layer in params)
    expected = jax.grad(written_here)(plain)
    result = funcmlp.backprop(mlp, params, x, y, "quartic_ok")
    assert float(result.loss) == pytest.approx(float(written_here(plain)), rel=1e-13)
    for layer, (W, b) in zip(result.grads, expected, strict=True):
        np.testing.assert_allclose(layer.W, W, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.b, b, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("name, spec", [*ACTIVATIONS.items()])
def test_every_built_in_activation_passes_the_probe(name, spec):
    """The built-ins are entries too: each returns n's shape and dtype in float32 and float64."""
    probe_activation(spec)


@pytest.mark.parametrize("name, spec", [*LOSSES.items()])
def test_every_built_in_loss_passes_the_probe(name, spec):
    probe_loss(spec)


def _grad_float64(a, y):
    return (4 * (a - y) ** 3).astype(jnp.float64)


_VALUE_ONE_PER_EXAMPLE = r"expected \(3,\) = \(batch,\), each example's loss summed over the output units; sum over"
_GRADIENT_SHAPE = r"expected \(3, 2\) = \(batch, units\), a's shape: dL_i/da_i of each example; return one entry"


@pytest.mark.parametrize(
    "value, gradient, message",
    [
        (  # the case: broadcast, it gave dL/db off by 0.59 and dL/dW by 719
            _quartic_value,
            lambda a, y: jnp.sum(4 * (a - y) ** 3),
            r"loss 'wrong': gradient\(a, y\) returned shape \(\) float32 for a and y of shape \(3, 2\) float32, "
            + _GRADIENT_SHAPE,
        ),
        (
            _quartic_value,
            lambda a, y: jnp.sum(4 * (a - y) ** 3, axis=-1),
            r"gradient\(a, y\) returned shape \(3,\) float32 .*" + _GRADIENT_SHAPE,
        ),
        (  # one number for the batch: a loss B times too large
            lambda a, y: jnp.sum((a - y) ** 4),
            _quartic_gradient,
            r"loss 'wrong': value\(a, y\) returned shape \(\) float32 for a and y of shape \(3, 2\) float32, "
            + _VALUE_ONE_PER_EXAMPLE,
        ),
        (
            lambda a, y: jnp.sum((a - y) ** 4, axis=-1, keepdims=True),
            _quartic_gradient,
            r"value\(a, y\) returned shape \(3, 1\) float32 .*" + _VALUE_ONE_PER_EXAMPLE,
        ),
        (
            lambda a, y: jnp.sum((a - y) ** 4, axis=0),
            _quartic_gradient,
            r"value\(a, y\) returned shape \(2,\) float32 .*" + _VALUE_ONE_PER_EXAMPLE,
        ),
        (
            _quartic_value,
            _grad_float64,
            r"loss 'wrong': gradient _grad_float64\(a, y\) returned float64 for a and y of shape \(3, 2\) float32, "
            r"expected float32, a's dtype; compute in it, e\.g\. jnp\.ones_like\(a\) or \.astype\(a\.dtype\)",
        ),
        (
            _quartic_value,
            lambda a, y: jnp.where(a > y, 1, -1),
            r"gradient\(a, y\) returned int\d+ for a and y of shape \(3, 2\) float32, expected float32, a's dtype",
        ),
        (
            _quartic_value,
            lambda a, y: (a, y),
            r"gradient\(a, y\) returned a tuple of 2 items for a and y .*" + _GRADIENT_SHAPE,
        ),
        (
            _quartic_value,
            lambda a, y: np.sign(a - y),
            r"gradient\(a, y\) raised TracerArrayConversionError for a and y of shape \(3, 2\) float32: .*; "
            r"it must be a function gradient\(a, y\) that jax\.jit can trace: jax\.numpy, not numpy",
        ),
        (
            lambda a: jnp.sum(a, axis=-1),
            _quartic_gradient,
            r"value\(a, y\) raised TypeError for a and y of shape \(3, 2\) float32: .*positional argument",
        ),
    ],
)
def test_a_loss_of_the_wrong_shape_or_dtype_is_refused_naming_the_function(value, gradient, message, registered):
    registered.append("wrong")
    with pytest.raises(ValueError, match=message):
        funcmlp.register_loss("wrong", value, gradient)
    assert "wrong" not in LOSSES


_N_SHAPE = r"expected \(3, 2\) = n's shape, one value per net input \(elementwise\); return an array of n's shape"


@pytest.mark.parametrize(
    "forward, derivative, message",
    [
        (
            _cube,
            lambda n, alpha: jnp.sum(3 * n**2 + 1),
            r"activation 'wrong': derivative\(n, alpha\) returned shape \(\) float32 for n of shape \(3, 2\) float32, "
            + _N_SHAPE,
        ),
        (_cube, lambda n, alpha: 1.0, r"derivative\(n, alpha\) returned shape \(\) float64 .*" + _N_SHAPE),
        (
            lambda n, alpha: n[:, 0],
            _cube_derivative,
            r"forward\(n, alpha\) returned shape \(3,\) float32 .*" + _N_SHAPE,
        ),
        (
            _cube,
            lambda n, alpha: jnp.ones(n.shape, jnp.float64),  # float64 asked for, whatever n is
            r"activation 'wrong': derivative\(n, alpha\) returned float64 for n of shape \(3, 2\) float32, expected "
            r"float32, n's dtype; compute in it, e\.g\. jnp\.ones_like\(n\) or \.astype\(n\.dtype\)",
        ),
        (_cube, lambda n, alpha: (n > 0).astype(int), r"derivative\(n, alpha\) returned int\d+ for n"),
        (
            jnp.tanh,
            _cube_derivative,
            r"activation 'wrong': forward tanh\(n, alpha\) raised TypeError for n of shape \(3, 2\) float32: .*; "
            r"it must be a function forward\(n, alpha\) that jax\.jit can trace",
        ),
    ],
)
def test_an_activation_of_the_wrong_shape_or_dtype_is_refused_naming_the_function(
    forward, derivative, message, registered
):
    registered.append("wrong")
    with pytest.raises(ValueError, match=message):
        funcmlp.register_activation("wrong", forward, derivative)
    assert "wrong" not in ACTIVATIONS


_RANGE_FIX = r"e\.g\. output_range=\(0\.0, 1\.0\), or None for unbounded outputs"


def test_a_derivative_of_python_floats_takes_the_dtype_of_n(registered):
    """``jnp.where(n > 0, 1.0, 0.0)``: Python floats are weakly typed (float64 under x64, but they take
    the dtype of what they meet): accepted, and the float32 network's gradients stay float32."""
    registered.append("step_slope")
    funcmlp.register_activation(
        "step_slope", lambda n, alpha: jnp.maximum(n, 0), lambda n, alpha: jnp.where(n > 0, 1.0, 0.0)
    )
    mlp = MLP((2, 3, 1), ["step_slope", "identity"])
    params = mlp.init(jax.random.key(0), dtype=jnp.float32)
    x = jnp.asarray([[1.0, -2.0], [0.5, 0.25]], jnp.float32)
    grads = funcmlp.backprop(mlp, params, x, jnp.zeros(2, jnp.float32), "mse").grads
    assert all(leaf.dtype == jnp.float32 for leaf in jax.tree_util.tree_leaves(grads))


@pytest.mark.parametrize(
    "options, error, message",
    [
        (
            {"kinks": ("0",)},
            TypeError,
            r"activation 'wrong': kinks\[0\] must be a number, got str '0'; e\.g\. kinks=\(0\.0,\)",
        ),
        (
            {"kinks": "0"},
            TypeError,
            r"activation 'wrong': kinks must be a tuple of numbers \(the net inputs where the derivative jumps\), "
            r"got str '0'; e\.g\. kinks=\(0\.0,\)",
        ),
        ({"kinks": 0}, TypeError, r"kinks must be a tuple of numbers .*got int 0; e\.g\. kinks=\(0\.0,\)"),
        ({"kinks": (True,)}, TypeError, r"kinks\[0\] must be a number, got bool True"),
        (
            {"kinks": (float("nan"),)},
            ValueError,
            r"kinks\[0\] must be a finite number, got nan; e\.g\. kinks=\(0\.0,\)",
        ),
        (
            {"output_range": (1, 0)},
            ValueError,
            r"activation 'wrong': output_range must be \(low, high\) with low < high, got \(1, 0\); " + _RANGE_FIX,
        ),
        (
            {"output_range": (1.0, 1.0)},
            ValueError,
            r"output_range must be \(low, high\) with low < high, got \(1\.0, 1\.0\)",
        ),
        (
            {"output_range": ("0", "1")},
            TypeError,
            r"activation 'wrong': output_range must be two numbers \(low, high\), got tuple \('0', '1'\); "
            + _RANGE_FIX,
        ),
        (
            {"output_range": (0, 1, 2)},
            TypeError,
            r"output_range must be two numbers \(low, high\), got tuple \(0, 1, 2\)",
        ),
        (
            {"output_range": (0, float("inf"))},
            ValueError,
            r"output_range\[1\] must be a finite number, got inf; e\.g\.",
        ),
        (
            {"default_alpha": "0.1"},
            TypeError,
            r"default_alpha must be a number, got str '0\.1'; e\.g\. default_alpha=0\.01",
        ),
        ({"probabilities": "yes"}, TypeError, r"activation 'wrong': probabilities must be True or False, got 'yes'"),
    ],
)
def test_kinks_and_output_ranges_are_read_as_numbers(options, error, message, registered):
    registered.append("wrong")
    with pytest.raises(error, match=message):
        funcmlp.register_activation("wrong", _cube, _cube_derivative, **options)
    assert "wrong" not in ACTIVATIONS


# ---------------------------------------------------------------------------------------------------------------------
# item 6: params, keys and batch sizes at the public entry points

MLP2 = MLP((3, 4, 2), "tanh", output="identity")
PARAMS = MLP2.init(jax.random.key(0))
X = np.random.default_rng(1).normal(size=(8, 3))
Y = np.random.default_rng(2).normal(size=(8, 2))
_PARAMS_FIX = r"expected a funcmlp\.Layer\(W, b\) of arrays; make params with mlp\.init\(key\), or of \(W, b\) pairs "
_PARAMS_FIX += r"with funcmlp\.params_from_arrays\(pairs\)"


@pytest.mark.parametrize(
    "params, shown",
    [
        ([(layer.W, layer.b) for layer in PARAMS], "layer 1 is a tuple of 2 items"),
        (
            [[np.asarray(layer.W).tolist(), np.asarray(layer.b).tolist()] for layer in PARAMS],
            "layer 1 is a list of 2 items",
        ),
        ((PARAMS[0], (PARAMS[1].W, PARAMS[1].b, PARAMS[1].b)), "layer 2 is a tuple of 3 items"),
        ((PARAMS[0], None), "layer 2 is NoneType None"),
        ((Layer(None, PARAMS[0].b), PARAMS[1]), "layer 1 is a Layer of NoneType W and ArrayImpl b"),
        (
            (Layer(np.asarray(PARAMS[0].W).tolist(), PARAMS[0].b), PARAMS[1]),
            "layer 1 is a Layer of list W and ArrayImpl b",
        ),
    ],
)
@pytest.mark.parametrize("entry", ["backprop", "predict", "fit"])
def test_params_that_are_not_layers_of_arrays_are_refused_naming_the_layer(params, shown, entry):
    calls = {
        "backprop": lambda: funcmlp.backprop(MLP2, params, X, Y, "sse"),
        "predict": lambda: funcmlp.predict(MLP2, params, X),
        "fit": lambda: funcmlp.fit(
            MLP2, params, (X, Y), loss="sse", optimizer=optax.sgd(0.1), batch_size=4, epochs=1, key=jax.random.key(1)
        ),
    }
    with pytest.raises(TypeError, match=f"params: {re.escape(shown)}, " + _PARAMS_FIX):
        calls[entry]()


def test_params_of_another_length_or_kind_are_refused_with_the_fix():
    for params, got in [(PARAMS[:1], "got 1;"), (None, "got NoneType None;"), ({"W": 1}, "got dict {'W': 1};")]:
        with pytest.raises(
            ValueError, match=re.escape(f"params must be a tuple of 2 Layer(W, b), one per layer of {MLP2}; {got}")
        ):
            funcmlp.backprop(MLP2, params, X, Y, "sse")
    object_W = Layer(np.full((3, 4), object()), PARAMS[0].b)
    with pytest.raises(
        ValueError, match=r"params must be floating point arrays of one dtype, got \['float64', 'object'\]"
    ):
        funcmlp.backprop(MLP2, (object_W, PARAMS[1]), X, Y, "sse")


_KEYS = jax.random.split(jax.random.key(0), 4)
_ONE_KEY = (
    r"must be one JAX random key, got a batch of 4 keys \(shape \(4,( 2)?\)\); pass one of them \(key=keys\[0\]\), "
)
_ONE_KEY += r"or map the call over them with jax\.vmap"


@pytest.mark.parametrize("keys", [_KEYS, jax.random.split(jax.random.PRNGKey(0), 4)], ids=["typed", "legacy"])
def test_a_batch_of_keys_given_as_key_is_refused(keys):
    """fit trained quietly on a batch of keys (and with dropout ended in a traceback inside the compiled epoch)."""
    dropout = MLP((3, 4, 2), "tanh", output="identity", dropout=0.3)
    options = dict(loss="sse", optimizer=optax.sgd(0.1), batch_size=4, epochs=1)
    for mlp in (MLP2, dropout):
        with pytest.raises(ValueError, match="^key " + _ONE_KEY):
            funcmlp.fit(mlp, PARAMS, (X, Y), key=keys, **options)
    with pytest.raises(ValueError, match="^MLP.init: key " + _ONE_KEY):
        MLP2.init(keys)
    for call in (funcmlp.backprop, funcmlp.autodiff_grad):
        with pytest.raises(ValueError, match="^key " + _ONE_KEY):
            call(dropout, PARAMS, X, Y, "sse", key=keys, train=True)
    with pytest.raises(ValueError, match="^key " + _ONE_KEY):
        dropout.apply(PARAMS, X, key=keys, train=True)
    assert len(jax.vmap(MLP2.init)(_KEYS)) == 2  # one key per call, mapped: as before


_BATCH_BOUND = (
    r"batch_size must be at most 2147483647 \(examples per step\), got 4611686018427387904; a batch's rows are "
    r"numbered with 32-bit integers, and a batch_size at or above the number of examples trains on all of them in "
    r"each step: batch_size=len\(x\)"
)


def test_a_batch_size_beyond_32_bit_row_numbers_is_refused():
    with pytest.raises(ValueError, match=_BATCH_BOUND):
        funcmlp.TrainConfig("sse", optax.sgd(0.1), 2**62)
    with pytest.raises(ValueError, match=_BATCH_BOUND):
        funcmlp.fit(
            MLP2,
            PARAMS,
            (X, Y),
            loss="sse",
            optimizer=optax.sgd(0.1),
            batch_size=2**62,
            epochs=1,
            key=jax.random.key(1),
        )


def test_a_batch_size_above_the_data_costs_the_data_and_trains_as_one_batch():
    """The largest batch_size allowed laid out 2**31 - 1 rows per step before (180 GB for these 8 rows)."""
    runs = [
        funcmlp.fit(
            MLP2, PARAMS, (X, Y), loss="sse", optimizer=optax.sgd(0.1), batch_size=size, epochs=2, key=jax.random.key(1)
        )
        for size in (len(X), 2**31 - 1)  # the whole data in each step, asked for as such
    ]
    for (W, b), (W2, b2) in zip(runs[0][0], runs[1][0], strict=True):
        np.testing.assert_array_equal(W, W2)
        np.testing.assert_array_equal(b, b2)
    assert runs[0][1].train_loss == runs[1][1].train_loss
