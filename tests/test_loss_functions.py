"""Losses as functions (issue 36, item 1): a function ``loss(a, y) -> (batch,)`` is taken wherever a loss
name is (backprop, objective, autodiff_grad, fit and TrainConfig, evaluate, the gradient checks, the
per-example quantities), its dL/da by jax.grad while the layers' recursion stays the hand-written one;
``register_loss`` without a gradient the same; a value of one number for the batch refused, at
registration and at a bare function's first use, with what was wrong, what was expected and the fix.

Every reference is written here or in tests/reference.py (a forward pass of its own) with optax's
losses (``optax.log_cosh``, ``optax.softmax_cross_entropy``): nothing of funcmlp's losses, float64, 1e-10."""

import pickle

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference
from counting import compilations

import funcmlp
from funcmlp import MLP

TANH_IDENTITY = (("tanh", None), ("identity", None))


def log_cosh(a, y):
    """A researcher's loss: log cosh of the residual, summed over the output units (its own formula)."""
    r = a - y
    return jnp.sum(jnp.abs(r) + jnp.log1p(jnp.exp(-2 * jnp.abs(r))) - jnp.log(2.0), axis=-1)


def _reference_value(params, x, y):
    """The batch mean of optax's log_cosh summed over the units, on tests/reference.py's forward pass."""
    _, a = reference.forward(params, x, TANH_IDENTITY)
    return jnp.mean(jnp.sum(optax.log_cosh(a, y), axis=-1))


def _problem(batch=7):
    rng = np.random.default_rng(0)
    mlp = MLP((3, 5, 2), "tanh")  # the output is the identity by default
    params = mlp.init(jax.random.key(0), dtype=jnp.float64)
    x = jnp.asarray(rng.normal(size=(batch, 3)))
    y = jnp.asarray(2.0 * rng.normal(size=(batch, 2)))
    return mlp, params, x, y


def _plain(params):
    return tuple((layer.W, layer.b) for layer in params)


def _assert_grads_close(grads, expected):
    for layer, (W, b) in zip(grads, expected, strict=True):
        np.testing.assert_allclose(layer.W, W, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(layer.b, b, rtol=1e-10, atol=1e-15)


def test_backprop_objective_and_autodiff_grad_take_a_function():
    mlp, params, x, y = _problem()
    expected = jax.grad(_reference_value)(_plain(params), x, y)
    value = float(_reference_value(_plain(params), x, y))
    result = funcmlp.backprop(mlp, params, x, y, log_cosh)
    assert float(result.loss) == pytest.approx(value, rel=1e-12)
    _assert_grads_close(result.grads, expected)
    assert float(funcmlp.objective(mlp, params, x, y, log_cosh)) == pytest.approx(value, rel=1e-12)
    _assert_grads_close(funcmlp.autodiff_grad(mlp, params, x, y, log_cosh), expected)
    # a lambda written in the call, the sum over examples too
    summed = funcmlp.backprop(mlp, params, x, y, lambda a, t: jnp.sum(optax.log_cosh(a, t), axis=-1), reduction="sum")
    _assert_grads_close(summed.grads, jax.tree.map(lambda g: g * x.shape[0], expected))


def test_a_loss_on_logits_written_as_a_function_agrees_with_optax():
    rng = np.random.default_rng(1)
    mlp = MLP((4, 6, 3), "tanh")
    params = mlp.init(jax.random.key(2), dtype=jnp.float64)
    x = jnp.asarray(rng.normal(size=(9, 4)))
    y = jax.nn.one_hot(jnp.asarray(rng.integers(0, 3, size=9)), 3, dtype=jnp.float64)

    def cross_entropy(logits, targets):
        return -jnp.sum(targets * jax.nn.log_softmax(logits), axis=-1)

    def written_here(plain):
        _, a = reference.forward(plain, x, TANH_IDENTITY)
        return jnp.mean(optax.softmax_cross_entropy(a, y))

    result = funcmlp.backprop(mlp, params, x, y, cross_entropy)
    _assert_grads_close(result.grads, jax.grad(written_here)(_plain(params)))
    report = funcmlp.check_gradients(mlp, params, x, y, cross_entropy)
    assert report.passed, report


def test_the_function_works_under_the_callers_jit_with_the_mlp_as_an_argument():
    mlp, params, x, y = _problem()
    grads = jax.jit(lambda network, p, xs, ys: funcmlp.backprop(network, p, xs, ys, log_cosh).grads)(mlp, params, x, y)
    _assert_grads_close(grads, jax.grad(_reference_value)(_plain(params), x, y))


def test_the_same_function_is_the_same_loss_and_compiles_once():
    mlp, params, x, y = _problem()
    loss = funcmlp.get_loss(log_cosh)
    assert loss == funcmlp.get_loss(log_cosh) and hash(loss) == hash(funcmlp.get_loss(log_cosh))
    assert str(loss) == "log_cosh" and not loss.is_classification
    funcmlp.backprop(mlp, params, x, y, log_cosh)
    assert compilations(lambda: funcmlp.backprop(mlp, params, x, y, log_cosh)) == 0
    config = funcmlp.TrainConfig(loss=log_cosh, optimizer=optax.sgd(0.1), batch_size=4)
    assert config.loss == loss and hash(config) == hash(funcmlp.TrainConfig(log_cosh, config.optimizer, 4))
    # pickled (sent to another process) as the function, by reference: the same loss comes back
    assert pickle.loads(pickle.dumps(loss)) == loss


def test_fit_takes_a_function_and_its_step_is_sgd_on_the_reference_gradient():
    mlp, params, x, y = _problem(batch=8)
    rate = 0.1
    trained, history = funcmlp.fit(
        mlp, params, (x, y), loss=log_cosh, optimizer=optax.sgd(rate), batch_size=8, epochs=1, key=jax.random.key(3)
    )
    expected = jax.grad(_reference_value)(_plain(params), x, y)
    for layer, before, (W, b) in zip(trained, params, expected, strict=True):
        np.testing.assert_allclose(layer.W, before.W - rate * W, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(layer.b, before.b - rate * b, rtol=1e-10, atol=1e-15)
    assert history.train_loss[0] == pytest.approx(float(_reference_value(_plain(params), x, y)), rel=1e-12)
    evaluation = funcmlp.evaluate(mlp, trained, x, y, log_cosh)
    assert evaluation.loss == pytest.approx(float(_reference_value(_plain(trained), x, y)), rel=1e-12)
    assert evaluation.accuracy is None


def test_the_per_example_quantities_take_a_function():
    mlp, params, x, y = _problem()

    def one(plain, xi, yi):
        _, a = reference.forward(plain, xi[None], TANH_IDENTITY)
        return jnp.sum(optax.log_cosh(a, yi[None]))

    each = jax.vmap(jax.grad(one), in_axes=(None, 0, 0))(_plain(params), x, y)
    norms = jnp.sqrt(sum(jnp.sum(leaf.reshape(x.shape[0], -1) ** 2, axis=-1) for leaf in jax.tree.leaves(each)))
    np.testing.assert_allclose(funcmlp.per_example_grad_norms(mlp, params, x, y, log_cosh), norms, rtol=1e-10)


def test_the_curvature_of_a_function_is_its_autodiff_hessian_through_the_network():
    """diag_ggn of the batch mean: the diagonal of (1/B) sum_i J_i^T H_i J_i, J_i the Jacobian of example i's
    outputs in the params and H_i the Hessian of its log_cosh in the outputs, both by jax here."""
    from jax.flatten_util import ravel_pytree

    mlp, params, x, y = _problem(batch=4)
    flat, unravel = ravel_pytree(_plain(params))

    def outputs(theta, xi):
        return reference.forward(unravel(theta), xi[None], TANH_IDENTITY)[1][0]

    expected = 0.0
    for xi, yi in zip(x, y, strict=True):
        J = jax.jacobian(outputs)(flat, xi)
        H = jax.hessian(lambda a: jnp.sum(optax.log_cosh(a, yi)))(outputs(flat, xi))
        expected = expected + jnp.einsum("op,oq,qp->p", J, H, J) / x.shape[0]
    got = ravel_pytree(_plain(funcmlp.diag_ggn(mlp, params, x, y, log_cosh)))[0]
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-15)


def test_register_loss_without_a_gradient_takes_jax_grad():
    mlp, params, x, y = _problem()
    funcmlp.register_loss("log_cosh_autodiff", log_cosh)
    try:
        result = funcmlp.backprop(mlp, params, x, y, "log_cosh_autodiff")
        _assert_grads_close(result.grads, jax.grad(_reference_value)(_plain(params), x, y))
        a = jnp.asarray(np.random.default_rng(4).normal(size=(6, 2)))
        np.testing.assert_allclose(
            funcmlp.get_loss("log_cosh_autodiff").gradient(a, jnp.zeros_like(a)), jnp.tanh(a), rtol=1e-12
        )  # d/da log cosh(a) = tanh(a), written here
        assert funcmlp.check_gradients(mlp, params, x, y, "log_cosh_autodiff").passed
    finally:
        funcmlp.unregister_loss("log_cosh_autodiff")


ONE_FOR_THE_BATCH = (
    r"value\(a, y\) returned shape \(\) float32 for a and y of shape \(3, 2\) float32, expected \(3,\) = "
    r"\(batch,\), each example's loss summed over the output units; sum over the last axis alone, e\.g\. "
    r"jnp\.sum\(\(a - y\) \*\* 4, axis=-1\): funcmlp takes the mean over the batch \(or the sum, reduction='sum'\)"
)


def test_a_value_of_one_number_for_the_batch_is_refused_at_registration():
    def batch_mean(a, y):
        return jnp.mean(optax.log_cosh(a, y))

    with pytest.raises(ValueError, match=r"^loss 'batch_mean_loss': value batch_mean" + ONE_FOR_THE_BATCH[5:]):
        funcmlp.register_loss("batch_mean_loss", batch_mean)
    assert "batch_mean_loss" not in funcmlp.LOSSES


def test_a_bare_function_of_one_number_for_the_batch_is_refused_at_first_use():
    mlp, params, x, y = _problem()

    def batch_mean(a, t):
        return jnp.mean(jnp.sum(optax.log_cosh(a, t), axis=-1))

    for call in (
        lambda: funcmlp.backprop(mlp, params, x, y, batch_mean),
        lambda: funcmlp.fit(mlp, params, (x, y), loss=batch_mean, optimizer=optax.sgd(0.1), batch_size=4, epochs=1,
                            key=jax.random.key(0)),
        lambda: funcmlp.check_gradients(mlp, params, x, y, batch_mean),
        lambda: jax.jit(lambda p: funcmlp.backprop(mlp, p, x, y, batch_mean).grads)(params),
    ):  # fmt: skip
        with pytest.raises(ValueError, match=r"^loss function 'batch_mean': value batch_mean" + ONE_FOR_THE_BATCH[5:]):
            call()
    # a per-example value of the wrong shape, (batch, 1): the same message
    with pytest.raises(ValueError, match=r"returned shape \(3, 1\) float32 for a and y of shape \(3, 2\)"):
        funcmlp.backprop(mlp, params, x, y, lambda a, t: jnp.sum(optax.log_cosh(a, t), axis=-1, keepdims=True))


def test_labels_for_a_function_are_refused_with_the_fix():
    mlp, params, x, _ = _problem()
    with pytest.raises(
        ValueError,
        match=r"targets have shape \(7,\), expected \(7, 2\) = \(batch, output units\): a loss function takes targets "
        r"of the outputs' shape; one-hot encode labels \(jax\.nn\.one_hot\(y, 2\)\), or register it to take labels",
    ):
        funcmlp.backprop(mlp, params, x, jnp.arange(7) % 2, log_cosh)


def test_what_is_not_a_loss_is_refused():
    with pytest.raises(ValueError, match=r"a loss must be a name \(one of sse, .*\), a Loss or a function"):
        funcmlp.get_loss(3)
    with pytest.raises(TypeError, match="a loss function must be hashable"):

        class Unhashable:
            __hash__ = None

            def __call__(self, a, y):
                return jnp.sum(a - y, axis=-1)

        funcmlp.get_loss(Unhashable())
