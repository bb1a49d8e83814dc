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


def test_argnums_checks_the_params_only_and_holds_the_data_fixed():
    """Issue 36: as jax.grad(loss, argnums=0), check_function(loss, params, x, y, argnums=0) checks the params'
    leaves and holds the data fixed (no row names x or y, floating point as they are); grad= returns what
    jax.grad(loss, argnums=0) returns: dL/dW = 2 x^T r / B and dL/db = 2 sum_batch r / B, r = x W + b - y."""
    params = {"W": jnp.array([[1.0, -2.0], [0.5, 3.0], [-1.0, 0.25]]), "b": jnp.array([0.1, -0.2])}
    x = jnp.array([[0.3, -0.7, 1.1], [1.0, 0.2, -0.4], [0.0, 0.5, 0.5], [2.0, -1.0, 0.3]])
    y = jnp.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5], [1.0, -1.0]])

    def loss(params, x, y):
        return jnp.mean(jnp.sum((x @ params["W"] + params["b"] - y) ** 2, axis=1))

    def by_hand(params, x, y):
        r = x @ params["W"] + params["b"] - y
        return {"W": 2 * x.T @ r / 4, "b": 2 * r.sum(axis=0) / 4}

    report = check_function(loss, params, x, y, argnums=0, grad=by_hand)

    assert report.passed, report.problems
    assert sorted({row.leaf for row in report.rows}) == ["args[0]['W']", "args[0]['b']"]
    assert [row.compared for row in report.rows if row.reference == "finite differences"] == [6, 6, 2, 2]


def test_argnums_picks_which_arguments_a_planted_wrong_rule_is_looked_for_in():
    """f(w, x) = sum((w x)^3) with a custom_vjp whose rule for x is wrong (3 (w x)^2 without the factor w) and
    whose rule for w is right: argnums=0 passes, argnums=1 and every argument fail, naming args[1]; a tuple
    argnums's grad= returns a tuple, in argnums's order, as jax.grad does."""

    @jax.custom_vjp
    def f(w, x):
        return jnp.sum((w * x) ** 3)

    f.defvjp(
        lambda w, x: (f(w, x), (w, x)),
        lambda res, g: (g * 3 * (res[0] * res[1]) ** 2 * res[1], g * 3 * (res[0] * res[1]) ** 2),
    )
    w, x = jnp.array([2.0, -1.5]), jnp.array([0.5, 1.0])

    assert check_function(f, w, x, argnums=0).passed
    assert [p.split(":")[0] for p in check_function(f, w, x, argnums=1).problems] == ["args[1]"]
    assert [p.split(":")[0] for p in check_function(f, w, x).problems] == ["args[1]"]
    # w x = (1, -1.5): df/dx = 3 (w x)^2 w = (6, -10.125), the planted rule's (3, 6.75): off by 16.875 at [1],
    # 2.5 of the rule's largest entry 6.75 and 1.7 of the true 10.125; the hand-written (df/dx, df/dw) agrees
    right = lambda w, x: (3 * (w * x) ** 2 * w, 3 * (w * x) ** 2 * x)
    assert check_function(f, w, x, argnums=(1, 0), grad=right).problems == [
        "args[1]: grad vs jax.grad 2.5e+00 > 1e-10 (worst entry [1])",
        "args[1]: jax.grad vs finite differences 1.7e+00 > 1e-06 (worst entry [1])",
    ]


@pytest.mark.parametrize(
    "argnums, match",
    [
        (2, r"argnums=2, expected an argument's index or a tuple of distinct ones, each from 0 to 1 \(f was given 2"),
        ((0, 0), r"argnums=\(0, 0\), expected an argument's index or a tuple of distinct ones"),
        (True, r"argnums=True, expected"),
        ((), r"argnums=\(\), expected"),
    ],
)
def test_argnums_that_name_no_argument_are_refused(argnums, match):
    with pytest.raises(ValueError, match=match + r".*as jax.grad's; e\.g\. argnums=0 for the first"):
        check_function(lambda w, x: jnp.sum(w * x), jnp.ones(2), jnp.ones(2), argnums=argnums)


def test_argnums_of_integer_arguments_only_is_refused_and_a_grad_of_the_wrong_structure_named():
    with pytest.raises(ValueError, match=r"the arguments argnums=1 names have no floating-point entries"):
        check_function(lambda w, label: jnp.sum(w) * label, jnp.ones(2), 3, argnums=1)
    with pytest.raises(
        ValueError, match=r"grad\(\*args\) must return argnums=0's gradient of structure PyTreeDef\(\*\)"
    ):
        check_function(lambda w, x: jnp.sum(w * x), jnp.ones(2), jnp.ones(2), argnums=0, grad=lambda w, x: (x, w))


def test_bfloat16_and_float16_arguments_are_differentiated_not_held_fixed():
    """bfloat16's dtype.kind is "V": its leaves were taken for constants. Checked in float64 at their values."""
    for dtype in (jnp.bfloat16, jnp.float16):
        report = check_function(lambda x: jnp.sum(x.astype(jnp.float64) ** 3), jnp.array([0.5, -1.0, 3.0], dtype))
        assert report.passed and report.rows[0].compared == 3, report
