"""Each loss's closed-form gradient dL/da against jax.grad, its value against hand-computed
numbers, and the simplified output sensitivities of the paired losses (p - y, a - y)."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from funcmlp.activations import get_activation
from funcmlp.losses import LOSS_NAMES, get_loss, reduction_weights

A = jnp.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
Y = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_closed_form_gradient_matches_autodiff(name):
    loss = get_loss(name)
    auto = jax.grad(lambda a: jnp.sum(loss.per_example(a, Y)))(A)
    np.testing.assert_allclose(loss.gradient(A, Y), auto, rtol=1e-13, atol=1e-15)


def test_values_by_hand():
    a, y = jnp.array([[0.6079]]), jnp.array([[1.0]])
    # seed 000 eq. 16: 1/2 (1 - 0.6079)^2 = 0.07687...
    assert float(get_loss("half_sse").per_example(a, y)[0]) == pytest.approx(0.5 * 0.3921**2, rel=1e-14)
    # seed 003 eq. 11 with a = 4, y = 0: (0 - 4)^2 = 16
    assert float(get_loss("sse").per_example(jnp.array([[4.0]]), jnp.array([[0.0]]))[0]) == 16.0
    # mse averages over output units: ((1-0)^2 + (3-1)^2) / 2 = 2.5
    assert float(get_loss("mse").per_example(jnp.array([[1.0, 3.0]]), jnp.array([[0.0, 1.0]]))[0]) == 2.5
    # cross-entropy of the true class: -log 0.7
    assert float(get_loss("cross_entropy").per_example(A, Y)[0]) == pytest.approx(-np.log(0.7), rel=1e-14)
    # binary cross-entropy of p = 0.8 for y = 1 and p = 0.8 for y = 0
    bce = get_loss("binary_cross_entropy").per_example(jnp.array([[0.8], [0.8]]), jnp.array([[1.0], [0.0]]))
    np.testing.assert_allclose(bce, [-np.log(0.8), -np.log(0.2)], rtol=1e-14)


def test_logit_losses_equal_probability_losses():
    z = jnp.array([[1.5, -0.3, 0.2], [0.0, 2.0, -1.0]])
    p = jax.nn.softmax(z, axis=-1)
    np.testing.assert_allclose(get_loss("softmax_cross_entropy").per_example(z, Y), get_loss("cross_entropy").per_example(p, Y), rtol=1e-14)
    s = jax.nn.sigmoid(z)
    yb = jnp.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]])
    np.testing.assert_allclose(
        get_loss("sigmoid_binary_cross_entropy").per_example(z, yb), get_loss("binary_cross_entropy").per_example(s, yb), rtol=1e-13
    )


@pytest.mark.parametrize("activation, loss, target", [("softmax", "cross_entropy", Y), ("sigmoid", "binary_cross_entropy", jnp.array([[1.0, 0.0, 1.0], [0.0, 0.0, 1.0]]))])
def test_paired_output_sensitivity_is_output_minus_target(activation, loss, target):
    act, loss = get_activation(activation), get_loss(loss)
    n = jnp.array([[1.5, -0.3, 0.2], [0.0, 2.0, -1.0]])
    value, sensitivity = loss.output_terms(act, n, act(n), target)
    np.testing.assert_allclose(sensitivity, act(n) - target, rtol=1e-13, atol=1e-16)
    auto = jax.grad(lambda m: jnp.sum(loss.per_example(act(m), target)))(n)
    np.testing.assert_allclose(sensitivity, auto, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(value, loss.per_example(act(n), target), rtol=1e-13)


def test_reduction_weights():
    w = jnp.array([1.0, 1.0, 0.0, 2.0])
    np.testing.assert_allclose(reduction_weights(w, "mean"), [0.25, 0.25, 0.0, 0.5])
    np.testing.assert_allclose(reduction_weights(w, "sum"), w)
    with pytest.raises(ValueError, match="unknown reduction 'median'"):
        reduction_weights(w, "median")


def test_unknown_loss():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; expected one of sse"):
        get_loss("hinge")
