"""Each activation's closed-form derivative against jax.grad of its forward rule, in float64,
and forward values against independent formulas (math module, seed 003 eqs. 34-38)."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from funcmlp.registry.activations import ACTIVATION_NAMES, Activation, get_activation

ELEMENTWISE = [name for name in ACTIVATION_NAMES if name != "softmax"]
POINTS = np.array([-3.7, -1.0, -0.25, -1e-3, 1e-3, 0.3, 1.0, 2.5, 6.0])


@pytest.mark.parametrize("name", ELEMENTWISE)
def test_derivative_matches_autodiff_away_from_kinks(name):
    act = get_activation(name)
    x = jnp.asarray(POINTS)
    auto = jax.vmap(jax.grad(lambda t: act(t)))(x)
    np.testing.assert_allclose(act.derivative(x), auto, rtol=1e-13, atol=1e-15)


@pytest.mark.parametrize("alpha", [0.2, 1.7])
@pytest.mark.parametrize("name", ["leaky_relu", "elu"])
def test_parameterised_derivative_matches_autodiff(name, alpha):
    act = Activation(name, alpha)
    x = jnp.asarray(POINTS)
    np.testing.assert_allclose(act.derivative(x), jax.vmap(jax.grad(act))(x), rtol=1e-13)


def _scalar(f, x):
    return float(f(jnp.asarray(x, jnp.float64)))


@pytest.mark.parametrize(
    "name, formula",
    [
        ("sigmoid", lambda x: 1 / (1 + math.exp(-x))),  # seed 003 eq. 37
        ("tanh", lambda x: 2 / (1 + math.exp(-2 * x)) - 1),  # seed 003 eq. 38: 2 sigmoid(2x) - 1
        ("relu", lambda x: x if x >= 0 else 0.0),  # eq. 35
        ("identity", lambda x: x),  # eq. 36
        ("hardlimit", lambda x: 1.0 if x >= 0 else 0.0),  # eq. 34
        ("symmetric_hardlimit", lambda x: 1.0 if x >= 0 else -1.0),
        ("softplus", lambda x: math.log1p(math.exp(x))),
        ("elu", lambda x: x if x >= 0 else math.expm1(x)),
        ("gelu", lambda x: 0.5 * x * (1 + math.erf(x / math.sqrt(2)))),
        ("leaky_relu", lambda x: x if x > 0 else 0.01 * x),
    ],
)
def test_forward_matches_independent_formula(name, formula):
    act = get_activation(name)
    for x in [*POINTS, 0.0]:
        # abs=1e-15: the reference formulas themselves round to ~1e-16 absolute (2 sigmoid(2x) - 1 near 0)
        assert _scalar(act, x) == pytest.approx(formula(x), rel=1e-14, abs=1e-15)


@pytest.mark.parametrize(
    "name, expected",
    [
        ("relu", 0.0),
        ("leaky_relu", 0.01),
        ("hardlimit", 0.0),
        ("symmetric_hardlimit", 0.0),
        ("elu", 1.0),
        ("identity", 1.0),
    ],
)
def test_derivative_convention_at_zero(name, expected):
    """The documented convention at the kink (relu'(0) = 0 as seed 002's table and jax.nn.relu)."""
    act = get_activation(name)
    assert float(act.derivative(jnp.array(0.0))) == expected
    assert float(jax.grad(act)(jnp.array(0.0))) == expected  # autodiff of the forward rule agrees


def test_relu_convention_matches_jax_nn_relu():
    assert float(jax.grad(jax.nn.relu)(0.0)) == float(get_activation("relu").derivative(jnp.array(0.0)))


def test_hardlimit_at_zero_is_one():
    """Seed 003 eq. 4: f(x) = 1 if x >= 0."""
    assert float(get_activation("hardlimit")(jnp.array(0.0))) == 1.0


def test_softmax_jacobian_matches_autodiff():
    act = get_activation("softmax")
    n = jnp.array([[0.3, -1.2, 2.0, 0.0], [5.0, 5.0, -5.0, 1.0]])
    auto = jax.vmap(jax.jacfwd(act))(n)
    np.testing.assert_allclose(act.jacobian(n), auto, rtol=1e-13, atol=1e-16)
    g = jnp.array([[1.0, -2.0, 0.5, 3.0], [0.1, 0.2, 0.3, 0.4]])
    np.testing.assert_allclose(act.backward(n, g), jnp.einsum("bi,bij->bj", g, auto), rtol=1e-13, atol=1e-16)


def test_softmax_has_no_elementwise_derivative():
    with pytest.raises(ValueError, match="not elementwise.*Jacobian"):
        get_activation("softmax").derivative(jnp.zeros(3))


def test_elementwise_jacobian_is_diagonal():
    act = get_activation("tanh")
    n = jnp.array([[0.5, -0.2]])
    np.testing.assert_allclose(act.jacobian(n)[0], np.diag(1 - np.tanh([0.5, -0.2]) ** 2), rtol=1e-14)


def test_names_aliases_and_parameters():
    assert get_activation("linear") == Activation("identity")
    assert get_activation("Step") == Activation("hardlimit")
    assert get_activation("leaky_relu(0.2)") == Activation("leaky_relu", 0.2)
    assert get_activation("leaky_relu").alpha == 0.01
    assert hash(get_activation("elu")) == hash(Activation("elu", 1.0))
    assert str(Activation("leaky_relu", 0.2)) == "leaky_relu(0.2)"


def test_unknown_activation_names_the_choices():
    with pytest.raises(ValueError, match=r"unknown activation 'swoosh'.*relu"):
        get_activation("swoosh")
    with pytest.raises(ValueError, match="takes no parameter"):
        Activation("relu", 0.3)
    with pytest.raises(ValueError, match="not a number"):
        get_activation("leaky_relu(abc)")


# ---------------------------------------------------------------------------
# open for extension: a user's activation (swish) registered once works everywhere


@pytest.fixture
def swish():
    import sympy

    from funcmlp.registry.activations import register_activation, unregister_activation

    spec = register_activation(
        "swish",
        lambda n, alpha: n * jax.nn.sigmoid(n),
        lambda n, alpha: jax.nn.sigmoid(n) * (1 + n * jax.nn.sigmoid(-n)),
        sympy_forward=lambda x, alpha: x / (1 + sympy.exp(-x)),
        description="n sigmoid(n)",
    )
    yield spec
    unregister_activation("swish")


def test_a_registered_activation_trains_checks_and_derives(swish):
    from derivations.catalogue import architecture_check
    from derivations.proofs.activations import prove_activation_derivatives
    from funcmlp import MLP, backprop, check_gradients

    mlp = MLP((3, 5, 2), ["swish", "identity"])
    params = mlp.init(jax.random.key(0), init="glorot_normal")
    x, y = jax.random.normal(jax.random.key(1), (4, 3)), jax.random.normal(jax.random.key(2), (4, 2))

    def reference(p):  # swish written here: n / (1 + exp(-n))
        hidden = x @ p[0][0] + p[0][1]
        out = (hidden / (1 + jnp.exp(-hidden))) @ p[1][0] + p[1][1]
        return jnp.mean(jnp.sum((y - out) ** 2, axis=-1))

    expected = jax.grad(reference)(tuple((W, b) for W, b in params))
    for layer, (W, b) in zip(backprop(mlp, params, x, y, "sse").grads, expected, strict=True):
        np.testing.assert_allclose(layer.W, W, rtol=1e-10)
        np.testing.assert_allclose(layer.b, b, rtol=1e-10)
    assert check_gradients(mlp, params, x, y, "sse").passed
    assert all(r.passed for r in prove_activation_derivatives() if r.name == "swish") and any(
        r.name == "swish" for r in prove_activation_derivatives()
    )
    text, passed = architecture_check((2, 3, 1), ("swish", "sigmoid"), "sse")
    assert passed and "PASS" in text


def test_registration_refuses_bad_names(swish):
    from funcmlp.registry.activations import register_activation, unregister_activation

    with pytest.raises(ValueError, match="activation 'swish' is already registered"):
        register_activation("swish", jnp.tanh, jnp.tanh)
    with pytest.raises(ValueError, match="lower-case letters, digits and underscores"):
        register_activation("Swish 2", jnp.tanh, jnp.tanh)
    with pytest.raises(ValueError, match="'relu' is built in and cannot be removed"):
        unregister_activation("relu")


def test_a_re_registered_name_is_a_new_activation_even_under_jit():
    """jit caches are keyed by the Activation; it carries its registry entry, so replacing an entry is seen."""
    from funcmlp import MLP, predict
    from funcmlp.registry.activations import register_activation, unregister_activation

    mlp_old = None
    try:
        register_activation("double_doc", lambda n, alpha: 2 * n, lambda n, alpha: 2 * jnp.ones_like(n))
        mlp_old = MLP((1, 2), output="double_doc")
        params = mlp_old.init(jax.random.key(0))
        x = jnp.array([[1.0]])
        first = mlp_old.apply(params, x)
        unregister_activation("double_doc")
        register_activation("double_doc", lambda n, alpha: -2 * n, lambda n, alpha: -2 * jnp.ones_like(n))
        mlp_new = MLP((1, 2), output="double_doc")
        assert mlp_new != mlp_old
        np.testing.assert_allclose(mlp_new.apply(params, x), -first)
        assert predict(mlp_new, params, x).tolist() != predict(mlp_old, params, x).tolist()
    finally:
        from funcmlp.registry.activations import ACTIVATIONS

        if "double_doc" in ACTIVATIONS:
            unregister_activation("double_doc")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda r: r("cube", "not a function", jnp.tanh), "forward and derivative must be functions"),
        (lambda r: r("cube", jnp.tanh, jnp.tanh, sympy_forward="x**3"), "forward and derivative must be functions"),
    ],
)
def test_registration_refuses_what_is_not_a_function(call, match):
    from funcmlp.registry.activations import register_activation

    with pytest.raises(ValueError, match=match):
        call(register_activation)


def test_other_refusals():
    from funcmlp.registry.activations import unregister_activation
    from funcmlp.registry.losses import get_loss

    with pytest.raises(ValueError, match="no registered activation 'nothing'"):
        unregister_activation("nothing")
    with pytest.raises(ValueError, match="alpha must be a finite number, got nan"):
        Activation("leaky_relu", float("nan"))
    with pytest.raises(ValueError, match="an activation must be a name or an Activation, got int 3"):
        get_activation(3)
    with pytest.raises(
        ValueError,
        match=r"a loss must be a name \(one of sse, .* a Loss or a function \(a, y\) -> \(batch,\), got int 3",
    ):
        get_loss(3)
