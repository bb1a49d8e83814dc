"""Issue 19, item 3: funcmlp.check_function checks the gradient of any scalar function (a custom_vjp
or custom_jvp honoured, a hand-written grad= compared too) against central finite differences in
float64. The functions here have gradients written by hand in the test (3x^2 for sum(x^3), ...);
planted wrong rules must FAIL, naming the argument."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from funcmlp import check_function


def cube_with_rule(rule):
    """sum(x^3) whose gradient JAX takes from ``rule(x)`` (a custom_vjp): 3x^2 is right."""

    @jax.custom_vjp
    def cube(x):
        return jnp.sum(x**3)

    cube.defvjp(lambda x: (cube(x), x), lambda x, g: (g * rule(x),))
    return cube


X = jnp.array([0.5, -1.0, 3.0])


def test_a_right_custom_vjp_passes_and_a_planted_wrong_one_fails():
    right = check_function(cube_with_rule(lambda x: 3 * x**2), X)
    assert right.passed and right.rows[0].reference == "finite differences" and right.rows[0].compared == 3
    assert right.rows[0].rel_error < 1e-8
    wrong = check_function(cube_with_rule(lambda x: 3 * x), X)
    assert not wrong.passed
    # |3x^2 - 3x| = (0.75, 6, 18) against 3x^2 = (0.75, 3, 27): the worst entry 18 of the largest 27
    assert wrong.rows[0].worst_index == (2,) and wrong.rows[0].rel_error == pytest.approx(18 / 27, rel=1e-8)
    assert wrong.problems == ["args[0]: jax.grad vs finite differences 6.7e-01 > 1e-06 (worst entry [2])"]
    assert "function check FAIL" in str(wrong) and "function check PASS" in right.summary()


def test_a_custom_jvp_is_what_jax_grad_uses_and_so_what_is_checked():
    @jax.custom_jvp
    def softplus(x):
        return jnp.sum(jnp.log1p(jnp.exp(x)))

    softplus.defjvp(lambda primals, tangents: (softplus(*primals), jnp.sum(tangents[0] * jax.nn.sigmoid(primals[0]))))
    assert check_function(softplus, X).passed  # d/dx log(1 + e^x) = sigmoid(x)

    @jax.custom_jvp
    def wrong(x):
        return jnp.sum(jnp.log1p(jnp.exp(x)))

    wrong.defjvp(lambda primals, tangents: (wrong(*primals), jnp.sum(tangents[0] * jnp.tanh(primals[0]))))
    assert not check_function(wrong, X).passed


def test_a_hand_written_grad_is_compared_with_jax_and_with_the_differences():
    """f(W, x, label) = sum((x W)^2) + 0 * label: df/dW = 2 x^T (x W), df/dx = 2 (x W) W^T; the integer
    label is held fixed."""
    W = jnp.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]])
    x = jnp.array([[0.3, -0.7, 1.1]])

    def f(params, x, label):
        return jnp.sum((x @ params["W"]) ** 2) + 0.0 * label

    def right(params, x, label):
        h = x @ params["W"]
        return {"W": 2 * x.T @ h}, 2 * h @ params["W"].T, np.zeros((), jax.dtypes.float0)

    report = check_function(f, {"W": W}, x, 3, grad=right)
    assert report.passed, report.problems
    assert [(r.leaf, r.checked, r.reference) for r in report.rows] == [
        ("args[0]['W']", "grad", "jax.grad"),
        ("args[0]['W']", "jax.grad", "finite differences"),
        ("args[0]['W']", "grad", "finite differences"),
        ("args[1]", "grad", "jax.grad"),
        ("args[1]", "jax.grad", "finite differences"),
        ("args[1]", "grad", "finite differences"),
    ]

    def wrong(params, x, label):  # a transposed factor in dx: (x W) W, not (x W) W^T, folded back to x's shape
        h = x @ params["W"]
        return {"W": 2 * x.T @ h}, (2 * h @ params["W"].T)[:, ::-1], np.zeros((), jax.dtypes.float0)

    problems = check_function(f, {"W": W}, x, 3, grad=wrong).problems
    assert [p.split(" ")[0:4] for p in problems] == [
        ["args[1]:", "grad", "vs", "jax.grad"],
        ["args[1]:", "grad", "vs", "finite"],
    ]


def test_a_large_argument_is_checked_along_random_directions():
    x = jnp.linspace(-1.0, 1.0, 50)
    right = check_function(cube_with_rule(lambda x: 3 * x**2), x, max_entries=10, directions=4)
    assert right.passed and right.rows[0].reference == "random directions" and right.rows[0].compared == 4
    wrong = check_function(cube_with_rule(lambda x: 3 * x**2 + 1e-3 * x), x, max_entries=10, directions=4)
    assert not wrong.passed and "args[0]: jax.grad vs random directions" in wrong.problems[0]


def test_never_a_pass_on_nothing():
    nan = check_function(lambda x: jnp.sum(x) * jnp.nan, X)
    assert not nan.passed and nan.problems[0] == "f(*args) is nan"
    with pytest.raises(ValueError, match="f must return a real scalar"):
        check_function(lambda x: x**2, X)
    with pytest.raises(ValueError, match="no argument has floating-point entries"):
        check_function(lambda n: jnp.float64(n), 3)
    with pytest.raises(ValueError, match="give the arguments to check f at"):
        check_function(lambda: 1.0)
    with pytest.raises(ValueError, match="grad\\(\\*args\\) must return one gradient per argument"):
        check_function(lambda x: jnp.sum(x**2), X, grad=lambda x: 2 * x)
    with pytest.raises(ValueError, match="eps must be a finite number above 0"):
        check_function(lambda x: jnp.sum(x**2), X, eps=0.0)


def test_float32_arguments_are_checked_in_float64():
    x32 = jnp.asarray(X, jnp.float32)
    report = check_function(lambda x: jnp.sum(jnp.sin(x) * x), x32)
    assert report.passed and report.rows[0].rel_error < 1e-8  # float32 differences would be ~1e-3 off at eps 1e-6
