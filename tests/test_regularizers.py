"""Seed 004's quadratic anchoring term: its gradient added by the optax transformation equals
jax.grad of the augmented loss L + lambda sum b (theta' - theta)^2."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from funcmlp import MLP, backprop, objective
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
