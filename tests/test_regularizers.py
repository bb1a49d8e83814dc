"""Seed 004's quadratic anchoring term: its gradient added by the optax transformation equals
jax.grad of the augmented loss L + lambda sum b (theta' - theta)^2."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from funcmlp import MLP, backprop, diag_ggn, objective
from funcmlp.training.regularizers import anchor, anchor_penalty


def test_anchor_gradient_equals_autodiff_of_augmented_loss():
    mlp = MLP((3, 4, 2), "tanh", output="identity")
    params = mlp.init(jax.random.key(0))
    anchor_params = mlp.init(jax.random.key(1))
    importance = jax.tree_util.tree_map(lambda p: jnp.abs(p) + 0.5, mlp.init(jax.random.key(2)))
    x, y = jax.random.normal(jax.random.key(3), (5, 3)), jax.random.normal(jax.random.key(4), (5, 2))
    transform = anchor(anchor_params, strength=0.3, importance=importance)
    grads = backprop(mlp, params, x, y, "mse").grads
    total, _ = transform.update(grads, transform.init(params), params)
    augmented = jax.grad(
        lambda p: objective(mlp, p, x, y, "mse") + anchor_penalty(p, anchor_params, strength=0.3, importance=importance)
    )(params)
    for a, b in zip(jax.tree_util.tree_leaves(total), jax.tree_util.tree_leaves(augmented), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-14)


def test_penalty_by_hand():
    # 0.5 * (2 * (1 - 3)^2 + 1 * (0 - 0)^2) = 4
    assert (
        float(
            anchor_penalty(
                {"w": jnp.array([3.0, 0.0])},
                {"w": jnp.array([1.0, 0.0])},
                strength=0.5,
                importance={"w": jnp.array([2.0, 1.0])},
            )
        )
        == 4.0
    )


def test_anchor_errors():
    with pytest.raises(ValueError, match="strength must be >= 0"):
        anchor({"w": jnp.zeros(1)}, strength=-1.0)
    transform = anchor({"w": jnp.zeros(1)}, strength=1.0)
    with pytest.raises(ValueError, match="same tree structure"):
        transform.init({"v": jnp.zeros(1), "w": jnp.zeros(1)})
    with pytest.raises(ValueError, match="needs the current params"):
        transform.update({"w": jnp.zeros(1)}, transform.init({"w": jnp.zeros(1)}))


def test_ewc_takes_the_ggn_diagonal_as_its_importance():
    """Elastic weight consolidation: the anchor's pull is 2 lambda F (theta - theta') with F the diagonal GGN
    (the Fisher) of the first task, written out in the test as the diagonal of sum_i J_i^T H_i J_i (softmax
    cross-entropy on logits: H = diag(p) - p p^T) with J_i from jax.jacfwd of a forward pass written here."""
    mlp = MLP((2, 3, 3), "tanh", output="identity")
    first = mlp.init(jax.random.key(0))
    x = jax.random.normal(jax.random.key(1), (6, 2))
    labels = jnp.arange(6) % 3
    fisher = diag_ggn(mlp, first, x, labels, "softmax_cross_entropy")

    def logits(theta, xi):
        (W1, b1), (W2, b2) = theta
        return jnp.tanh(xi @ W1 + b1) @ W2 + b2

    plain = tuple((layer.W, layer.b) for layer in first)
    expected = jax.tree_util.tree_map(jnp.zeros_like, plain)
    for xi in x:
        p = jax.nn.softmax(logits(plain, xi))
        H = jnp.diag(p) - jnp.outer(p, p)
        J = jax.jacfwd(logits)(plain, xi)
        expected = jax.tree_util.tree_map(lambda e, j: e + jnp.einsum("c...,cd,d...->...", j, H, j) / 6, expected, J)
    for got, want in zip(jax.tree_util.tree_leaves(fisher), jax.tree_util.tree_leaves(expected), strict=True):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-16)
    moved = jax.tree_util.tree_map(lambda p: p + 0.25, first)
    transform = anchor(first, strength=3.0, importance=fisher)
    zero = jax.tree_util.tree_map(jnp.zeros_like, first)
    pull, _ = transform.update(zero, transform.init(moved), moved)
    for got, b in zip(jax.tree_util.tree_leaves(pull), jax.tree_util.tree_leaves(expected), strict=True):
        np.testing.assert_allclose(got, 2 * 3.0 * b * 0.25, rtol=1e-10, atol=1e-16)


def test_an_importance_that_is_not_a_diagonal_of_the_anchors_shape_is_refused():
    mlp = MLP((2, 3, 3), "tanh", output="identity")
    first = mlp.init(jax.random.key(0))
    x, labels = jnp.ones((4, 2)), jnp.arange(4) % 3
    per_example = diag_ggn(mlp, first, x, labels, "softmax_cross_entropy", per_example=True)
    with pytest.raises(ValueError, match="leaf of shape \\(4, 2, 3\\) where the anchor has \\(2, 3\\)"):
        anchor(first, strength=1.0, importance=per_example)
    negative = jax.tree_util.tree_map(lambda p: -jnp.ones_like(p), first)
    with pytest.raises(ValueError, match="finite and >= 0"):
        anchor(first, strength=1.0, importance=negative)
    with pytest.raises(ValueError, match="tree structure of the anchor"):
        anchor(first, strength=1.0, importance={"w": jnp.ones(1)})
