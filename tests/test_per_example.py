"""Issue 34, first part: per-example gradient norms and the clipped gradient from the one backward
pass, against ``jax.vmap(jax.grad)`` of each example's loss written in tests/reference.py (no funcmlp
code) and against optax's DP aggregate without noise; float64, 1e-10 relative."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference
from test_backprop import random_problem, reference_activations

import funcmlp

CASES = [
    ("mse", (3, 5, 2), ["tanh", "identity"], "real"),
    ("softmax_cross_entropy", (4, 6, 5, 3), ["relu", "gelu", "identity"], "one_hot"),
    ("binary_cross_entropy", (2, 4, 1), ["elu(0.5)", "sigmoid"], "hard"),
    ("huber(0.5)", (3, 1), ["softplus"], "real"),
]


def _per_example_reference(params, x, y_reference, mlp, loss):
    """Each example's gradient of its own loss (a batch of that one example), by jax.vmap(jax.grad) of
    the loss written in tests/reference.py: leaves of shape (B, ...)."""
    plain = tuple((layer.W, layer.b) for layer in params)
    acts = reference_activations(mlp)
    one = lambda xi, yi: reference.gradient(plain, xi[None], yi[None], acts, loss)
    return jax.vmap(one)(x, y_reference)


def _norms(per_example):
    return np.sqrt(
        sum(
            np.sum(np.asarray(leaf) ** 2, axis=tuple(range(1, leaf.ndim)))
            for leaf in jax.tree_util.tree_leaves(per_example)
        )
    )


@pytest.mark.parametrize("loss, sizes, activations, target", CASES)
def test_per_example_norms_equal_the_norms_of_vmapped_gradients(loss, sizes, activations, target):
    mlp, params, x, y, y_reference, _ = random_problem(3, sizes, activations, loss, 7, target=target)
    expected = _norms(_per_example_reference(params, x, y_reference, mlp, loss))
    for reduction in ("mean", "sum"):  # the reduction's factor is taken out: each example's own loss
        norms = funcmlp.per_example_grad_norms(mlp, params, x, y, loss, reduction=reduction)
        assert norms.shape == (7,) and norms.dtype == jnp.float64
        np.testing.assert_allclose(norms, expected, rtol=1e-10)


@pytest.mark.parametrize("loss, sizes, activations, target", CASES)
@pytest.mark.parametrize("quantile", [0.0, 0.5, 1.0])
def test_the_clipped_gradient_is_optaxs_dp_aggregate_without_noise(loss, sizes, activations, target, quantile):
    mlp, params, x, y, y_reference, _ = random_problem(5, sizes, activations, loss, 7, target=target)
    per_example = _per_example_reference(params, x, y_reference, mlp, loss)
    norms = _norms(per_example)
    max_norm = float(np.quantile(norms, quantile)) * (1.0 if quantile < 1 else 2.0)  # some, half, none clipped
    aggregate = optax.contrib.differentially_private_aggregate(max_norm, 0.0, jax.random.key(0))
    expected, _ = aggregate.update(per_example, aggregate.init(per_example))
    clipped = funcmlp.clipped_grad(mlp, params, x, y, loss, max_norm)
    for layer, (W, b) in zip(clipped, expected, strict=True):
        np.testing.assert_allclose(layer.W, W, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(layer.b, b, rtol=1e-10, atol=1e-14)


def test_padding_rows_of_weight_0_are_masked_not_divided_by():
    mlp, params, x, y, y_reference, _ = random_problem(7, (3, 4, 2), ["tanh", "identity"], "mse", 6)
    weights = jnp.array([1.0, 1.0, 1.0, 1.0, 0.0, 0.0])
    norms = funcmlp.per_example_grad_norms(mlp, params, x, y, "mse", weights=weights)
    expected = _norms(_per_example_reference(params, x[:4], y_reference[:4], mlp, "mse"))
    assert np.all(np.isfinite(norms)) and np.all(np.asarray(norms[4:]) == 0.0)
    np.testing.assert_allclose(norms[:4], expected, rtol=1e-10)
    clipped = funcmlp.clipped_grad(mlp, params, x, y, "mse", 0.5, weights=weights)
    alone = funcmlp.clipped_grad(mlp, params, x[:4], y[:4], "mse", 0.5)  # the mean over the real rows
    for a, b in zip(jax.tree_util.tree_leaves(clipped), jax.tree_util.tree_leaves(alone), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-15)


@pytest.mark.parametrize("max_norm", [0.0, -1.0, float("nan"), float("inf")])
def test_a_max_norm_that_is_no_positive_number_is_refused(max_norm):
    mlp, params, x, y, _, _ = random_problem(0, (2, 1), ["identity"], "mse", 3)
    with pytest.raises(ValueError, match="max_norm must be a finite number above 0"):
        funcmlp.clipped_grad(mlp, params, x, y, "mse", max_norm)


@pytest.mark.parametrize("loss, sizes, activations, target", CASES)
@pytest.mark.parametrize("weighted", [False, True])
def test_gradient_moments_equal_those_of_the_vmapped_gradients(loss, sizes, activations, target, weighted):
    mlp, params, x, y, y_reference, _ = random_problem(11, sizes, activations, loss, 9, target=target)
    w = np.array([1.0, 2.0, 0.0, 0.5, 1.0, 3.0, 1.0, 0.25, 1.0]) if weighted else np.ones(9)
    per_example = _per_example_reference(params, x, y_reference, mlp, loss)
    moments = funcmlp.grad_moments(mlp, params, x, y, loss, weights=jnp.asarray(w) if weighted else None)
    r = w / w.sum()
    spread = size = 0.0
    leaves = zip(
        jax.tree_util.tree_leaves(per_example), *(jax.tree_util.tree_leaves(m) for m in moments[:3]), strict=True
    )
    for g, mean, second, variance in leaves:
        g = np.asarray(g)
        expected_mean = np.tensordot(r, g, axes=1)
        expected_second = np.tensordot(r, g**2, axes=1)
        expected_variance = np.tensordot(r, (g - expected_mean) ** 2, axes=1)  # the two-pass form, in numpy
        np.testing.assert_allclose(mean, expected_mean, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(second, expected_second, rtol=1e-10, atol=1e-15)
        # funcmlp's variance is second - mean^2 (one pass): it loses eps * second / variance of its relative accuracy
        np.testing.assert_allclose(variance, expected_variance, rtol=1e-8, atol=1e-12 * expected_second.max())
        spread, size = spread + expected_variance.sum(), size + (expected_mean**2).sum()
    assert float(moments.noise_scale) == pytest.approx(spread / size, rel=1e-8)
