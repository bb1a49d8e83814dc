"""Issue 34, "Beyond the gradient", item 2's registry part: the curvature rules of the loss and activation
registries, against oracles written here (no funcmlp code in them), float64.

* Each loss's factor: ``S S^T = d^2 L_i/da^2``, ``jax.hessian`` of the loss written here (1e-10 relative).
* The output side: ``output_hessian`` is ``jax.hessian`` of (loss o activation) written here;
  ``output_hessian_factor`` ``F F^T`` is ``J^T H J`` (``J`` by ``jax.jacfwd``; on a paired output the
  logits loss's Hessian, BEYOND.md "Factor each loss's Hessian ... fold F'(n^L) in").
* The samplers: the sampled gradients' outer products average to the expected Hessian, the Fisher
  (BEYOND.md "Monte Carlo"), within five standard errors of the mean at a fixed key.
* Each activation's ``f''`` is ``jax.grad(jax.grad)`` of the forward written here.
* The sympy forms: ``S S^T`` is ``sympy.hessian`` of ``sympy_value``; ``f''`` is ``sympy.diff`` of ``f'``;
  and each sympy form is its JAX form, evaluated at exact points.
* Registration: the autodiff fallbacks, the shape probes, the errors.
"""

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import sympy as sp
from jax.scipy.special import erf

import funcmlp
from funcmlp.registry.activations import ACTIVATION_NAMES, Activation
from funcmlp.registry.losses import LOSS_NAMES, Loss, get_loss


def _log_sum_exp(z):
    top = jnp.max(z)
    return top + jnp.log(jnp.sum(jnp.exp(z - top)))


def _huber(delta):
    def value(a, y):
        r = jnp.abs(a - y)
        return jnp.sum(jnp.where(r <= delta, r**2 / 2, delta * r - delta**2 / 2))

    return value


# each example's loss, one example ``(d,)`` -> a number, written from the formulas (not the registry's)
REFERENCE = {
    "sse": lambda a, y: jnp.sum((y - a) ** 2),
    "half_sse": lambda a, y: jnp.sum((y - a) ** 2) / 2,
    "mse": lambda a, y: jnp.sum((y - a) ** 2) / a.shape[-1],
    "sigmoid_binary_cross_entropy": lambda z, y: jnp.sum(y * jnp.log1p(jnp.exp(-z)) + (1 - y) * jnp.log1p(jnp.exp(z))),
    "softmax_cross_entropy": lambda z, y: -jnp.sum(y * (z - _log_sum_exp(z))),
    "binary_cross_entropy": lambda a, y: -jnp.sum(y * jnp.log(a) + (1 - y) * jnp.log(1 - a)),
    "cross_entropy": lambda a, y: -jnp.sum(y * jnp.log(a)),
    "huber": _huber(1.0),
    "huber(0.5)": _huber(0.5),
    "absolute_error": lambda a, y: jnp.sum(jnp.abs(a - y)),
    "poisson": lambda a, y: jnp.sum(jnp.exp(a) - y * a),
    "hinge": lambda a, y: jnp.sum(jnp.maximum(0.0, 1 - (2 * y - 1) * a)),
}

FORWARD = {  # activations written here; n of one example (d,)
    "identity": lambda n: n,
    "hardlimit": lambda n: jnp.where(n >= 0, 1.0, 0.0),
    "symmetric_hardlimit": lambda n: jnp.where(n >= 0, 1.0, -1.0),
    "relu": lambda n: jnp.maximum(n, 0.0),
    "leaky_relu": lambda n: jnp.where(n > 0, n, 0.01 * n),
    "sigmoid": lambda n: 1 / (1 + jnp.exp(-n)),
    "tanh": lambda n: (jnp.exp(n) - jnp.exp(-n)) / (jnp.exp(n) + jnp.exp(-n)),
    "softplus": lambda n: jnp.log1p(jnp.exp(n)),
    "elu": lambda n: jnp.where(n > 0, n, jnp.exp(n) - 1),
    "gelu": lambda n: n * (1 + erf(n / math.sqrt(2))) / 2,
    "softmax": lambda n: jnp.exp(n - _log_sum_exp(n)),
}


def _example(name: str, a: np.ndarray, rng) -> np.ndarray:
    """Targets for outputs ``a`` ``(B, d)`` in the loss's domain, away from its kinks."""
    shape = a.shape
    if name.startswith("huber"):
        delta = 0.5 if name == "huber(0.5)" else 1.0
        size = np.where(rng.random(shape) < 0.5, rng.uniform(0.1, 0.8, shape), rng.uniform(1.2, 3.0, shape))
        return a - delta * size * rng.choice([-1.0, 1.0], shape)
    if name == "absolute_error":
        return a - rng.uniform(0.1, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    if name == "hinge":  # the label whose margin s a is farther from the kink at 1
        return (np.abs(a - 1) > np.abs(a + 1)).astype(float)
    if name == "poisson":
        return rng.uniform(0.0, 3.0, shape)
    if get_loss(name).target_kind.low == 0.0:  # probabilities, soft class rows (their sums are not 1)
        return rng.uniform(0.0, 1.0, shape)
    return rng.normal(size=shape)


def _outputs(name: str, rng, shape=(4, 3)) -> np.ndarray:
    if name in ("binary_cross_entropy", "cross_entropy"):
        return rng.uniform(0.1, 0.9, shape)
    return rng.normal(size=shape)


@functools.partial(jax.jit, static_argnums=0)
def _vmapped_hessian(function, a, y):
    return jax.vmap(jax.hessian(function))(a, y)


def _per_example_hessian(function, a, y):
    """Each example's Hessian by jax.hessian, one jitted program per function and shape (eager autodiff
    dispatches op by op)."""
    return _vmapped_hessian(function, jnp.asarray(a), jnp.asarray(y))


@functools.cache
def _loss_of_activation(name, output):
    """The loss written here of the activation written here, one function per pair (one compile)."""
    return lambda ni, yi: REFERENCE[name](FORWARD[output](ni), yi)


@functools.partial(jax.jit, static_argnums=0)
def _activation_jacobian(output, n):
    return jax.vmap(jax.jacfwd(FORWARD[output]))(n)


@functools.partial(jax.jit, static_argnums=0)
def _sampled_gradients(name, a, drawn):
    return jax.vmap(jax.vmap(jax.grad(REFERENCE[name])), in_axes=(None, 0))(a, drawn)


@functools.partial(jax.jit, static_argnums=0)
def _forward_second_derivative(name, n):
    return jax.vmap(jax.grad(jax.grad(lambda t: FORWARD[name](t[None])[0])))(n)


def _outer(S):
    return np.einsum("bic,bjc->bij", S, S)


def _close(actual, expected, rtol=1e-10):
    """Relative to the largest entry of the expected (zero matrices compared at 1e-13)."""
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.shape == expected.shape
    assert np.isfinite(actual).all() and np.isfinite(expected).all()
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=rtol * np.max(np.abs(expected)) + 1e-13)


@pytest.mark.parametrize("name", [*LOSS_NAMES, "huber(0.5)"])
def test_the_factor_times_its_transpose_is_the_hessian_of_the_loss(name):
    """S S^T = d^2 L_i/da^2 (BEYOND.md "Factor each loss's Hessian"), S of shape (B, d, C), a's dtype."""
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    a = _outputs(name, rng)
    y = _example(name, a, rng)
    S = get_loss(name).hessian_factor(jnp.asarray(a), jnp.asarray(y))
    assert S.shape[:2] == a.shape and S.ndim == 3 and S.dtype == jnp.float64
    _close(_outer(S), _per_example_hessian(REFERENCE[name], a, y))
    assert get_loss(name).hessian_factor(jnp.asarray(a, jnp.float32), jnp.asarray(y, jnp.float32)).dtype == jnp.float32


def test_the_logits_factors_keep_their_digits_at_saturated_logits_in_float32():
    """sqrt(p (1 - p)) as sigmoid(z) sigmoid(-z), and 1 - p of the largest softmax entry as the others' sum:
    no cancellation where p rounds to 1 (float32 would give 0)."""
    z = np.array([[30.0, -25.0, 0.5]])
    S = Loss("sigmoid_binary_cross_entropy").hessian_factor(jnp.asarray(z, jnp.float32), jnp.zeros((1, 3)))
    p = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(np.diagonal(S[0]), np.sqrt(p * (1 / (1 + np.exp(z))))[0], rtol=1e-5)
    S = Loss("softmax_cross_entropy").hessian_factor(jnp.asarray(z, jnp.float32), jnp.ones((1, 3)) / 3)
    others = np.exp(z[0, 1:] - z[0, 0])
    p_top, rest = 1 / (1 + others.sum()), others.sum() / (1 + others.sum())  # 1 - p_top, without cancelling
    np.testing.assert_allclose(float(S[0, 0, 0]), math.sqrt(p_top) * rest, rtol=1e-5)


OUTPUT_CASES = [
    ("sse", "identity"),
    ("sse", "tanh"),
    ("half_sse", "sigmoid"),
    ("mse", "softplus"),
    ("huber(0.5)", "elu"),
    ("poisson", "identity"),
    ("absolute_error", "gelu"),
    ("hinge", "identity"),
    ("softmax_cross_entropy", "identity"),
    ("sigmoid_binary_cross_entropy", "tanh"),
    ("sse", "softmax"),  # a vector output with a loss it is not paired with
    ("mse", "softmax"),
    ("huber", "softmax"),
    ("binary_cross_entropy", "sigmoid"),  # paired: the logits loss at n
    ("cross_entropy", "softmax"),
]


def _output_problem(name, output, seed=0):
    rng = np.random.default_rng(seed)
    n = rng.normal(size=(4, 3))
    a = np.asarray(jax.vmap(FORWARD[output])(jnp.asarray(n)))
    return get_loss(name), Activation(output), n, a, _example(name, a, rng)


@pytest.mark.parametrize("name, output", OUTPUT_CASES)
def test_output_hessian_is_the_hessian_of_the_loss_of_the_activation(name, output):
    """d^2 L_i/d(n^L)^2 = D S S^T D + diag(g F''(n)) (BEYOND.md "Exact Hessian diagonal"), the logits loss's
    Hessian on a paired output, jax.hessian on a vector one: each against jax.hessian of loss o f written here."""
    loss, activation, n, a, y = _output_problem(name, output)
    expected = _per_example_hessian(_loss_of_activation(name, output), n, y)
    _close(loss.output_hessian(activation, jnp.asarray(n), jnp.asarray(a), jnp.asarray(y)), expected)


@pytest.mark.parametrize("name, output", OUTPUT_CASES)
def test_output_hessian_factor_is_a_factor_of_the_ggn_output_block(name, output):
    """F F^T = J^T H J with J = jax.jacfwd of the activation written here, H = jax.hessian of the loss in
    a; on a paired output the logits loss's Hessian in n (the activation is part of the loss)."""
    loss, activation, n, a, y = _output_problem(name, output, seed=1)
    if output in loss.spec.paired:
        expected = _per_example_hessian(_loss_of_activation(name, output), n, y)
    else:
        J = _activation_jacobian(output, jnp.asarray(n))
        H = _per_example_hessian(REFERENCE[name], a, y)
        expected = np.einsum("bki,bkl,blj->bij", J, H, J)
    F = loss.output_hessian_factor(activation, jnp.asarray(n), jnp.asarray(a), jnp.asarray(y))
    assert F.shape[:2] == n.shape
    _close(_outer(F), expected)


def _mean_target(name, a):
    """E[y] under the model's distribution at outputs a: where the expected Hessian is the Hessian."""
    means = {
        "sigmoid_binary_cross_entropy": lambda z: 1 / (1 + np.exp(-z)),
        "softmax_cross_entropy": lambda z: np.exp(z) / np.exp(z).sum(-1, keepdims=True),
        "poisson": np.exp,
    }
    return means.get(name, lambda a: a)(a)


SAMPLED = ["sse", "half_sse", "mse", "sigmoid_binary_cross_entropy", "softmax_cross_entropy"]
SAMPLED += ["binary_cross_entropy", "cross_entropy", "poisson"]


@pytest.mark.parametrize("name", SAMPLED)
def test_sampled_gradients_outer_products_average_to_the_expected_hessian(name):
    """E[g g^T] at targets drawn from the model = E[d^2 L/da^2] (the Fisher = the GGN): 20000 draws at a fixed
    key, each entry within five standard errors (the draws' own spread / sqrt(20000)) of the Hessian at
    the mean target (the Hessian itself where it does not depend on y)."""
    rng, draws = np.random.default_rng(3), 20000
    a = rng.uniform(0.2, 0.8, (3, 3)) if name in ("binary_cross_entropy", "cross_entropy") else rng.normal(size=(3, 3))
    if name == "cross_entropy":
        a = a / a.sum(-1, keepdims=True)
    loss, keys = get_loss(name), jax.random.split(jax.random.key(7), draws)
    drawn = jax.vmap(lambda key: loss.sample(key, jnp.asarray(a)))(keys)
    assert drawn.shape == (draws, 3, 3) and drawn.dtype == jnp.float64
    g = _sampled_gradients(name, jnp.asarray(a), drawn)
    outer = np.asarray(g[..., :, None] * g[..., None, :])
    mean, error = outer.mean(0), outer.std(0) / math.sqrt(draws)
    expected = np.asarray(_per_example_hessian(REFERENCE[name], a, _mean_target(name, a)))
    assert np.all(np.abs(mean - expected) <= 5 * error + 1e-12), np.max(np.abs(mean - expected) / (error + 1e-300))


@pytest.mark.parametrize("name", SAMPLED)
def test_samples_have_the_outputs_shape_and_dtype_and_their_kind(name):
    a = jnp.full((5, 3), 0.3 if name in ("binary_cross_entropy", "cross_entropy") else -0.4, jnp.float32)
    drawn = get_loss(name).sample(jax.random.key(0), a)
    assert drawn.shape == (5, 3) and drawn.dtype == jnp.float32 and get_loss(name).has_likelihood
    if "cross_entropy" in name and "binary" not in name:
        assert set(np.unique(drawn)) <= {0.0, 1.0} and np.all(drawn.sum(-1) == 1)  # one-hot rows
    elif "binary" in name:
        assert set(np.unique(drawn)) <= {0.0, 1.0}
    elif name == "poisson":
        assert np.all(drawn >= 0) and np.all(drawn == np.round(drawn))


def test_sample_targets_draws_from_the_logits_loss_on_a_paired_output():
    n, key = jnp.array([[0.3, -1.0, 2.0]]), jax.random.key(5)
    softmax, identity = Activation("softmax"), Activation("identity")
    drawn = Loss("cross_entropy").sample_targets(key, softmax, n, softmax(n))
    assert np.array_equal(drawn, Loss("softmax_cross_entropy").sample(key, n))
    assert np.array_equal(Loss("sse").sample_targets(key, softmax, n, softmax(n)), Loss("sse").sample(key, softmax(n)))
    assert np.array_equal(Loss("poisson").sample_targets(key, identity, n, n), Loss("poisson").sample(key, n))


@pytest.mark.parametrize("name", ["huber", "absolute_error", "hinge"])
def test_a_loss_without_a_likelihood_refuses_to_sample_naming_the_fix(name):
    loss = get_loss(name)
    assert not loss.has_likelihood
    message = rf"loss '{name}' has no predictive distribution to sample labels from; use the exact curvature"
    with pytest.raises(ValueError, match=message):
        loss.sample(jax.random.key(0), jnp.zeros((2, 2)))
    with pytest.raises(ValueError, match=message):
        loss.sample_targets(jax.random.key(0), Activation("identity"), jnp.zeros((2, 2)), jnp.zeros((2, 2)))


ELEMENTWISE = [name for name in ACTIVATION_NAMES if Activation(name).is_elementwise]


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_second_derivative_is_the_second_derivative_of_the_forward(name):
    """f'' of each elementwise built-in (its closed form) against jax.grad(jax.grad) of the forward written
    here, away from the kinks; n's shape and dtype."""
    assert Activation(name).spec.second_derivative is not None  # a closed form, not the autodiff fallback
    n = np.concatenate([np.linspace(-4, -0.05, 9), np.linspace(0.05, 4, 9)]).reshape(3, 6)
    expected = _forward_second_derivative(name, jnp.asarray(n.ravel()))
    second = Activation(name).second_derivative(jnp.asarray(n))
    assert second.shape == n.shape and second.dtype == jnp.float64
    _close(second, np.asarray(expected).reshape(n.shape), rtol=1e-12)
    assert Activation(name).second_derivative(jnp.asarray(n, jnp.float32)).dtype == jnp.float32


@pytest.mark.parametrize("name, alpha", [("leaky_relu", 0.2), ("elu", 0.5)])
def test_the_parameter_reaches_the_second_derivative(name, alpha):
    n = jnp.array([-1.5, -0.3, 0.7])
    elu = lambda t: jnp.where(t > 0, t, alpha * (jnp.exp(t) - 1))
    leaky = lambda t: jnp.where(t > 0, t, alpha * t)
    forward = elu if name == "elu" else leaky
    expected = jax.vmap(jax.grad(jax.grad(forward)))(n)
    _close(Activation(name, alpha).second_derivative(n), expected, rtol=1e-12)


def test_second_derivatives_at_the_kinks_and_near_zero():
    """0 at the kinks (relu, leaky_relu: the left side as f'; elu: the right side as elu'(0) = 1); sigmoid's
    -s(n) s(-n) tanh(n/2) keeps its relative accuracy near 0, where 1 - 2 sigmoid(n) would cancel."""
    zero = jnp.zeros(1)
    for name in ("relu", "leaky_relu", "elu", "hardlimit", "symmetric_hardlimit", "identity"):
        assert float(Activation(name).second_derivative(zero)[0]) == 0.0
    n = 1e-9
    np.testing.assert_allclose(float(Activation("sigmoid").second_derivative(jnp.array(n))), -n / 8, rtol=1e-12)


def test_softmax_has_no_elementwise_second_derivative():
    message = r"softmax's second derivative is a d x d x d tensor, not elementwise; diag_hessian needs elementwise"
    with pytest.raises(ValueError, match=message):
        Activation("softmax").second_derivative(jnp.zeros((1, 3)))
    with pytest.raises(ValueError, match=message):
        Activation("softmax").sympy_second_derivative(sp.Symbol("x"))


# ----------------------------------------------------------------------------------------------------------
# sympy: the symbolic forms prove the closed forms, and are the JAX forms

PIECEWISE_LOSSES = {"huber", "huber(0.5)", "absolute_error", "hinge"}


@pytest.mark.parametrize("name", [*LOSS_NAMES, "huber(0.5)"])
def test_sympy_factor_times_its_transpose_is_sympy_hessian_of_the_value(name):
    """S S^T - hessian(sympy_value) simplifies to 0 (piecewise losses: at exact points off their kinks,
    where the Dirac deltas of |r|'s second derivative are 0)."""
    loss = get_loss(name)
    d = 3 if name == "softmax_cross_entropy" else 2
    a, y = sp.symbols(f"a0:{d}", real=True), sp.symbols(f"y0:{d}", real=True)
    S = loss.sympy_hessian_factor(a, y)
    difference = S * S.T - sp.hessian(loss.sympy_value(a, y), a)
    if name in PIECEWISE_LOSSES:
        points = [(sp.Rational(1, 3), sp.Rational(-1, 2)), (sp.Rational(5, 2), sp.Rational(-7, 4))]
        labels = [(1, 0), (0, 1)] if name == "hinge" else [(sp.Rational(1, 5), sp.Rational(3, 2))] * 2
        for point, label in zip(points, labels, strict=True):
            at = {**dict(zip(a, point, strict=True)), **dict(zip(y, label, strict=True))}
            assert sp.simplify(difference.subs(at)) == sp.zeros(d, d), (point, difference.subs(at))
    else:
        assert sp.simplify(difference) == sp.zeros(d, d)


@functools.cache
def _exact(value: float):
    """sympy.nsimplify of a float, once per value (the cases share most of their points; it is slow)."""
    return sp.nsimplify(value)


@pytest.mark.parametrize("name", [*LOSS_NAMES, "huber(0.5)"])
def test_sympy_factor_is_the_jax_factor(name):
    rng = np.random.default_rng(11)
    loss = get_loss(name)
    a_values = _outputs(name, rng, (1, 3))
    y_values = _example(name, a_values, rng)
    a, y = sp.symbols("a0:3", real=True), sp.symbols("y0:3", real=True)
    exact = {s: _exact(float(v)) for s, v in zip((*a, *y), (*a_values[0], *y_values[0]), strict=True)}
    symbolic = np.array(loss.sympy_hessian_factor(a, y).subs(exact).evalf(30), dtype=float)
    _close(loss.hessian_factor(jnp.asarray(a_values), jnp.asarray(y_values))[0], symbolic, rtol=1e-12)


PIECEWISE_ACTIVATIONS = {"hardlimit", "symmetric_hardlimit", "relu", "leaky_relu", "elu"}


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_sympy_second_derivative_is_sympy_diff_of_the_derivative_and_the_jax_form(name):
    activation = Activation(name)
    x = sp.Symbol("x", real=True)
    alpha = activation.symbolic_alpha()
    difference = activation.sympy_second_derivative(x) - sp.diff(activation.spec.sympy_derivative(x, alpha), x)
    points = [sp.Rational(-3, 2), sp.Rational(-1, 3), sp.Rational(1, 2), sp.Rational(2)]
    if name in PIECEWISE_ACTIVATIONS:
        assert all(sp.simplify(difference.subs(x, p)) == 0 for p in points)
    else:
        assert sp.simplify(difference) == 0
    symbolic = [float(activation.sympy_second_derivative(p).evalf(30)) for p in points]
    _close(activation.second_derivative(jnp.array([float(p) for p in points])), symbolic, rtol=1e-12)


# ----------------------------------------------------------------------------------------------------------
# registration


@pytest.fixture
def sse_copy():
    funcmlp.register_loss(
        "sse_copy",
        lambda a, y: jnp.sum((y - a) ** 2, axis=-1),
        lambda a, y: -2 * (y - a),
        sympy_value=lambda a, y: (y - a) ** 2,
    )
    yield Loss("sse_copy")
    funcmlp.unregister_loss("sse_copy")


def test_a_loss_registered_without_a_factor_gets_one_by_autodiff(sse_copy):
    """sse registered again without its curvature: jax.hessian and eigh give the closed form's S S^T, the same
    output Hessian and GGN factor; sympy derives sqrt of the second derivative; no sampler."""
    rng = np.random.default_rng(2)
    n, y = jnp.asarray(rng.normal(size=(4, 3))), jnp.asarray(rng.normal(size=(4, 3)))
    sse, tanh = Loss("sse"), Activation("tanh")
    _close(_outer(sse_copy.hessian_factor(n, y)), _outer(sse.hessian_factor(n, y)), rtol=1e-12)
    _close(sse_copy.output_hessian(tanh, n, tanh(n), y), sse.output_hessian(tanh, n, tanh(n), y), rtol=1e-12)
    copy_factor, factor = (
        sse_copy.output_hessian_factor(tanh, n, tanh(n), y),
        sse.output_hessian_factor(tanh, n, tanh(n), y),
    )
    _close(_outer(copy_factor), _outer(factor), rtol=1e-12)
    a, t = sp.symbols("a0:2", real=True), sp.symbols("y0:2", real=True)
    assert sse_copy.sympy_hessian_factor(a, t) == sp.Matrix([[sp.sqrt(2), 0], [0, sp.sqrt(2)]])
    assert not sse_copy.has_likelihood


def test_a_loss_that_is_not_convex_gets_nan_columns_but_an_exact_output_hessian():
    """-cos(a - y) has the Hessian cos(a - y): negative beyond |a - y| = pi/2, where no real factor exists
    (the NaN shows it); the exact Hessian in n does not need one."""
    funcmlp.register_loss("wave", lambda a, y: -jnp.sum(jnp.cos(a - y), axis=-1), lambda a, y: jnp.sin(a - y))
    try:
        loss, tanh = Loss("wave"), Activation("tanh")
        a, y = jnp.array([[0.3, 0.2]]), jnp.array([[0.0, 3.0]])  # cos(0.3) > 0, cos(-2.8) < 0
        S = loss.hessian_factor(a, y)
        assert np.isnan(S).any() and not np.isnan(S).all()
        n = jnp.array([[0.31, 0.2]])
        expected = _per_example_hessian(lambda ni, yi: -jnp.sum(jnp.cos(jnp.tanh(ni) - yi)), n, y)
        _close(loss.output_hessian(tanh, n, tanh(n), y), expected)
    finally:
        funcmlp.unregister_loss("wave")


def test_a_registered_factor_and_sampler_are_used():
    funcmlp.register_loss(
        "sse_full",
        lambda a, y: jnp.sum((y - a) ** 2, axis=-1),
        lambda a, y: -2 * (y - a),
        hessian_factor=lambda a, y: math.sqrt(2.0) * jnp.eye(a.shape[-1], dtype=a.dtype) * jnp.ones_like(a)[..., None],
        sympy_hessian_factor=lambda a, y: sp.sqrt(2),
        sample=lambda key, a: a + math.sqrt(0.5) * jax.random.normal(key, a.shape, a.dtype),
    )
    try:
        loss, a = Loss("sse_full"), jnp.ones((2, 3))
        assert loss.has_likelihood and np.array_equal(
            loss.sample(jax.random.key(3), a), Loss("sse").sample(jax.random.key(3), a)
        )
        _close(loss.hessian_factor(a, a), Loss("sse").hessian_factor(a, a), rtol=1e-15)
        x = sp.symbols("x0:2", real=True)
        assert loss.sympy_hessian_factor(x, x) == sp.sqrt(2) * sp.eye(2)
    finally:
        funcmlp.unregister_loss("sse_full")


_SSE = (lambda a, y: jnp.sum((y - a) ** 2, axis=-1), lambda a, y: -2 * (y - a))


@pytest.mark.parametrize(
    "options, message",
    [
        (
            {"hessian_factor": lambda a, y: jnp.ones_like(a)},
            r"loss 'bad': hessian_factor\(a, y\) returned shape \(3, 2\) float32 "
            r"for a and y of shape \(3, 2\) float32, "
            r"expected \(3, 2, C\) = \(batch, units, C\), a factor S of each example's Hessian in a",
        ),
        (
            {"sample": lambda key, a: a[:, 0]},
            r"loss 'bad': sample\(key, a\) returned shape \(3,\) float32 for a of shape \(3, 2\) float32, "
            r"expected \(3, 2\) = \(batch, units\), a's shape: one target row drawn",
        ),
        (
            {"sample": lambda key, a: jax.random.poisson(key, jnp.exp(a), a.shape)},
            r"loss 'bad': sample\(key, a\) returned int(32|64) for a of shape \(3, 2\) float32, "
            r"expected float32, a's dtype",
        ),
        ({"hessian_factor": "sqrt(2)"}, r"loss 'bad': value and gradient must be functions"),
    ],
)
def test_a_wrong_curvature_rule_is_refused_at_registration(options, message):
    with pytest.raises(ValueError, match=message):
        funcmlp.register_loss("bad", *_SSE, **options)
    assert "bad" not in funcmlp.LOSSES


def test_an_activation_registered_without_a_second_derivative_gets_it_by_autodiff():
    funcmlp.register_activation(
        "cube", lambda n, alpha: n**3, lambda n, alpha: 3 * n**2, sympy_forward=lambda x, alpha: x**3
    )
    try:
        cube = Activation("cube")
        _close(cube.second_derivative(jnp.array([[-2.0, 0.5]])), np.array([[-12.0, 3.0]]), rtol=1e-15)
        x = sp.Symbol("x")
        assert cube.sympy_second_derivative(x) == 6 * x
        # its Hessian in n of a loss on a cube output: D S S^T D + diag(g f'')
        n, y = jnp.array([[0.4, -0.9]]), jnp.array([[0.1, 0.2]])
        expected = _per_example_hessian(lambda ni, yi: jnp.sum((yi - ni**3) ** 2), n, y)
        _close(Loss("sse").output_hessian(cube, n, n**3, y), expected)
    finally:
        funcmlp.unregister_activation("cube")
    with pytest.raises(
        ValueError, match=r"activation 'flat': second_derivative\(n, alpha\) returned shape \(\) float32"
    ):
        funcmlp.register_activation(
            "flat", lambda n, alpha: n, lambda n, alpha: jnp.ones_like(n), second_derivative=lambda n, alpha: jnp.sum(n)
        )
