"""A loss of one's own, registered once, works by name everywhere a built-in does: backprop
(against jax.grad of the same loss written here, on a forward pass written in tests/reference.py),
fit, check_gradients (which catches a planted wrong closed form), the scikit-learn regressor,
the command line run in the same process, and ``funcmlp derive check`` (sympy)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference

import funcmlp
from funcmlp.cli import main


def _quartic(a, y):
    return jnp.sum((a - y) ** 4, axis=-1)


@pytest.fixture
def quartic():
    funcmlp.register_loss(
        "quartic", _quartic, lambda a, y: 4 * (a - y) ** 3, sympy_value=lambda a, y: (a - y) ** 4, description="(a-y)^4"
    )
    yield "quartic"
    funcmlp.unregister_loss("quartic")


def _problem(dtype=jnp.float64):
    rng = np.random.default_rng(0)
    mlp = funcmlp.MLP((3, 5, 2), ["tanh", "identity"])
    params = mlp.init(jax.random.key(0), dtype=dtype)
    return mlp, params, jnp.asarray(rng.normal(size=(6, 3)), dtype), jnp.asarray(rng.normal(size=(6, 2)), dtype)


def test_backprop_and_check_gradients_take_a_registered_loss(quartic):
    mlp, params, x, y = _problem()

    def written_here(plain):
        _, a = reference.forward(plain, x, (("tanh", None), ("identity", None)))
        return jnp.mean(jnp.sum((a - y) ** 4, axis=-1))

    expected = jax.grad(written_here)(tuple((W, b) for W, b in params))
    result = funcmlp.backprop(mlp, params, x, y, quartic)
    assert float(result.loss) == pytest.approx(float(written_here(tuple((W, b) for W, b in params))), rel=1e-13)
    for layer, (W, b) in zip(result.grads, expected, strict=True):
        np.testing.assert_allclose(layer.W, W, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.b, b, rtol=1e-10, atol=1e-14)
    assert funcmlp.check_gradients(mlp, params, x, y, quartic).passed


def test_a_wrong_closed_form_is_caught():
    funcmlp.register_loss("quartic_wrong", _quartic, lambda a, y: 4 * (a - y) ** 2)  # the power is off by one
    try:
        mlp, params, x, y = _problem()
        report = funcmlp.check_gradients(mlp, params, x, y, "quartic_wrong")
        assert not report.passed
    finally:
        funcmlp.unregister_loss("quartic_wrong")


def test_fit_and_the_regressor_train_on_a_registered_loss(quartic):
    mlp, params, x, y = _problem()
    trained, history = funcmlp.fit(
        mlp, params, (x, y), epochs=30, key=jax.random.key(1), loss=quartic, optimizer=optax.adam(0.05), batch_size=6
    )
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    from sklearn.exceptions import ConvergenceWarning

    from funcmlp.sklearn import MLPRegressor

    X, Y = np.asarray(x), np.asarray(y)
    with pytest.warns(ConvergenceWarning):  # 5 epochs
        model = MLPRegressor(loss=quartic, hidden_layer_sizes=(8,), max_iter=5, random_state=0).fit(X, Y)
    assert model.funcmlp_loss_ == "quartic" and model.predict(X).shape == (6, 2)


def test_the_command_line_and_derive_check_take_a_registered_loss(quartic, tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--data", "synthetic_regression", "--loss", quartic, "--hidden", "8", "--epochs", "2"]
    assert main([*argv, "--no-check", "--out", str(out)]) == 0  # its train line names the loss
    assert main(["evaluate", str(out)]) == 0
    assert "quartic" in capsys.readouterr().out
    assert main(["derive", "check", "--sizes", "2,3,1", "--activations", "tanh,identity", "--loss", quartic]) == 0
    text = capsys.readouterr().out
    assert "PASS  gradient of 2-3-1 tanh/identity quartic" in text and "FAIL" not in text


def test_registration_is_checked(capsys):
    with pytest.raises(ValueError, match="loss 'sse' is already registered; choose another name"):
        funcmlp.register_loss("sse", _quartic, _quartic)
    with pytest.raises(ValueError, match="loss name must be lower-case letters"):
        funcmlp.register_loss("My Loss", _quartic, _quartic)
    with pytest.raises(ValueError, match="targets must be one of real, nonnegative, probability, class, binary"):
        funcmlp.register_loss("quartic2", _quartic, _quartic, targets="counts")
    with pytest.raises(ValueError, match="'sse' is built in and cannot be removed"):
        funcmlp.unregister_loss("sse")
    funcmlp.register_loss("no_sympy", _quartic, lambda a, y: 4 * (a - y) ** 3)
    try:
        assert main(["derive", "check", "--sizes", "2,1", "--activations", "identity", "--loss", "no_sympy"]) == 2
        assert "loss 'no_sympy' has no sympy form; register it with sympy_value=" in capsys.readouterr().err
    finally:
        funcmlp.unregister_loss("no_sympy")
