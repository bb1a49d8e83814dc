"""Each loss of the registry against an independent reference (optax's losses, or numpy
formulas written here), its closed-form gradient dL/da against jax.grad of that reference,
the targets each accepts (soft, smoothed, multi-hot rows that do not sum to 1), and the
output layers each accepts or refuses, with the fix in the message."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from funcmlp.checks import check_reduction, check_targets, check_weights
from funcmlp.core.reduction import reduction_weights
from funcmlp.registry.activations import ACTIVATION_NAMES, Activation
from funcmlp.registry.losses import LOSS_NAMES, Loss, get_loss

A = jnp.array([[0.2, 0.7, 0.1], [0.6, 0.3, 0.1]])
Z = jnp.array([[1.5, -0.3, 0.2], [0.0, 2.0, -1.0]])
Y_ONE_HOT = jnp.array([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
Y_MULTI_HOT = jnp.array([[1.0, 1.0, 0.0], [0.0, 0.0, 0.0]])  # row sums 2 and 0
Y_PARTIAL = jnp.array([[0.3, 0.5, 0.1], [0.2, 0.2, 0.2]])  # row sums 0.9 and 0.6

REFERENCE = {  # per-example, written without funcmlp
    "sse": lambda a, y: jnp.sum(optax.squared_error(a, y), axis=-1),
    "half_sse": lambda a, y: jnp.sum(optax.l2_loss(a, y), axis=-1),
    "mse": lambda a, y: jnp.mean(optax.squared_error(a, y), axis=-1),
    "sigmoid_binary_cross_entropy": lambda z, y: jnp.sum(optax.sigmoid_binary_cross_entropy(z, y), axis=-1),
    "softmax_cross_entropy": lambda z, y: optax.softmax_cross_entropy(z, y),
    "binary_cross_entropy": lambda a, y: -jnp.sum(y * jnp.log(a) + (1 - y) * jnp.log(1 - a), axis=-1),
    "cross_entropy": lambda a, y: -jnp.sum(y * jnp.log(a), axis=-1),
    "huber": lambda a, y: jnp.sum(optax.huber_loss(a, y, delta=1.0), axis=-1),
    "huber(0.5)": lambda a, y: jnp.sum(optax.huber_loss(a, y, delta=0.5), axis=-1),
    "absolute_error": lambda a, y: jnp.sum(jnp.abs(a - y), axis=-1),
    # -log P(y | rate e^a) of the Poisson distribution (jax.scipy.stats), less its constant log(y!)
    "poisson": lambda a, y: (
        -jnp.sum(jax.scipy.stats.poisson.logpmf(y, jnp.exp(a)) + jax.scipy.special.gammaln(y + 1), axis=-1)
    ),
    "hinge": lambda a, y: jnp.sum(optax.hinge_loss(a, 2 * y - 1), axis=-1),  # optax's labels are -1/+1
}
ON_LOGITS = {"sigmoid_binary_cross_entropy", "softmax_cross_entropy"}
Y_SPREAD = jnp.array([[2.5, -1.0, 0.3], [-3.0, 0.4, 1.9]])  # residuals beyond Huber's delta too
Y_COUNTS = jnp.array([[0.0, 3.0, 1.0], [2.0, 0.0, 7.0]])
S = jnp.array([[1.5, -0.3, 0.2], [0.5, 2.0, -1.7]])  # scores: margins on both sides of 1, none at it
REGRESSION = (A, [Y_ONE_HOT, Y_MULTI_HOT, Y_SPREAD])  # no residual exactly 0 (a kink)
POINTS = {  # the outputs and the target sets each loss is compared at
    **{name: (Z if name in ON_LOGITS else A, [Y_ONE_HOT, Y_MULTI_HOT, Y_PARTIAL]) for name in LOSS_NAMES},
    "huber": REGRESSION,
    "huber(0.5)": REGRESSION,
    "absolute_error": REGRESSION,
    "poisson": (Z, [Y_COUNTS]),
    "hinge": (S, [Y_ONE_HOT, Y_MULTI_HOT]),
}


def test_every_loss_has_a_reference():
    assert set(REFERENCE) == {*LOSS_NAMES, "huber(0.5)"} == set(POINTS)


@pytest.mark.parametrize(
    "name, target_set", [(name, k) for name, (_, targets) in POINTS.items() for k in range(len(targets))]
)
def test_value_and_closed_form_gradient_equal_the_reference(name, target_set):
    inputs, targets = POINTS[name]
    y, loss = targets[target_set], get_loss(name)
    np.testing.assert_allclose(loss.per_example(inputs, y), REFERENCE[name](inputs, y), rtol=1e-13)
    expected = jax.grad(lambda a: jnp.sum(REFERENCE[name](a, y)))(inputs)
    np.testing.assert_allclose(loss.gradient(inputs, y), expected, rtol=1e-12, atol=1e-15)


def test_values_by_hand():
    a, y = jnp.array([[0.6079]]), jnp.array([[1.0]])
    # seed 000 eq. 16: 1/2 (1 - 0.6079)^2 = 0.07687...
    assert float(get_loss("half_sse").per_example(a, y)[0]) == pytest.approx(0.5 * 0.3921**2, rel=1e-14)
    # seed 003 eq. 11 with a = 4, y = 0: (0 - 4)^2 = 16
    assert float(get_loss("sse").per_example(jnp.array([[4.0]]), jnp.array([[0.0]]))[0]) == 16.0
    # mse averages over output units: ((1-0)^2 + (3-1)^2) / 2 = 2.5
    assert float(get_loss("mse").per_example(jnp.array([[1.0, 3.0]]), jnp.array([[0.0, 1.0]]))[0]) == 2.5
    # cross-entropy of the true class: -log 0.7
    assert float(get_loss("cross_entropy").per_example(A, Y_ONE_HOT)[0]) == pytest.approx(-np.log(0.7), rel=1e-14)


def test_softmax_cross_entropy_gradient_is_p_times_row_sum_minus_y():
    """Not p - y: for multi-hot and partial rows the gradient is p sum(y) - y (numpy, by hand)."""
    p = np.exp(np.asarray(Z)) / np.exp(np.asarray(Z)).sum(-1, keepdims=True)
    for y in (Y_MULTI_HOT, Y_PARTIAL):
        expected = p * np.asarray(y).sum(-1, keepdims=True) - np.asarray(y)
        np.testing.assert_allclose(get_loss("softmax_cross_entropy").gradient(Z, y), expected, rtol=1e-13, atol=1e-16)
        assert not np.allclose(expected, p - np.asarray(y))


@pytest.mark.parametrize(
    "activation, loss, logits",
    [
        ("softmax", "cross_entropy", "softmax_cross_entropy"),
        ("sigmoid", "binary_cross_entropy", "sigmoid_binary_cross_entropy"),
    ],
)
def test_paired_output_terms_are_the_logits_loss_of_n(activation, loss, logits):
    act, loss = Activation(activation), get_loss(loss)
    for y in (Y_ONE_HOT, Y_PARTIAL):
        value, sensitivity = loss.output_terms(act, Z, act(Z), y)
        np.testing.assert_allclose(value, REFERENCE[logits](Z, y), rtol=1e-13)
        np.testing.assert_allclose(
            sensitivity, jax.grad(lambda n: jnp.sum(REFERENCE[loss.name](act(n), y)))(Z), rtol=1e-12, atol=1e-15
        )


def _exact_gradient(name, z, y):
    """sigmoid(z) - y or softmax(z) sum(y) - y in 30-digit arithmetic (mpmath): float64 rounds
    sigmoid(40) - 1 and p_true - 1 to 0 too, so jax.grad in float64 cannot be the reference here."""
    import mpmath

    with mpmath.workdps(30):
        z = [mpmath.mpf(float(v)) for v in z]
        if name == "sigmoid_binary_cross_entropy":
            return [float(1 / (1 + mpmath.exp(-zj)) - yj) for zj, yj in zip(z, y, strict=True)]
        total = mpmath.fsum(mpmath.exp(zj) for zj in z)
        return [float(mpmath.exp(zj) / total * sum(y) - yj) for zj, yj in zip(z, y, strict=True)]


@pytest.mark.parametrize("y", [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.9, 0.05, 0.05], [1.0, 1.0, 0.0]])
@pytest.mark.parametrize("name", ["sigmoid_binary_cross_entropy", "softmax_cross_entropy"])
def test_float32_logits_gradient_at_saturation_keeps_relative_accuracy(name, y):
    """At logits +-40, sigmoid(40) - 1 and p_true - 1 would round to 0 in float32 (true: -4.2e-18):
    every entry keeps its relative accuracy."""
    z = jnp.array([[40.0, -40.0, 0.0]], jnp.float32)
    expected = _exact_gradient(name, [40.0, -40.0, 0.0], y)
    np.testing.assert_allclose(
        get_loss(name).gradient(z, jnp.array([y], jnp.float32))[0], expected, rtol=1e-5, atol=1e-40
    )


# ---------------------------------------------------------------------------
# what each loss accepts: written here from the README's rules

PROBABILITY_OUTPUTS = {"sigmoid", "softmax"}
ACCEPTED_OUTPUTS = {
    "sse": set(ACTIVATION_NAMES),
    "half_sse": set(ACTIVATION_NAMES),
    "mse": set(ACTIVATION_NAMES),
    "sigmoid_binary_cross_entropy": set(ACTIVATION_NAMES) - PROBABILITY_OUTPUTS,
    "softmax_cross_entropy": set(ACTIVATION_NAMES) - PROBABILITY_OUTPUTS,
    "binary_cross_entropy": {"sigmoid"},
    "cross_entropy": {"softmax"},
    "huber": set(ACTIVATION_NAMES),
    "absolute_error": set(ACTIVATION_NAMES),
    "poisson": set(ACTIVATION_NAMES),
    "hinge": set(ACTIVATION_NAMES) - PROBABILITY_OUTPUTS,
}


# accepted, but warned (issue 36): a loss on logits or scores after any output activation but the identity
ON_LOGITS_OR_SCORES = ("sigmoid_binary_cross_entropy", "softmax_cross_entropy", "hinge")
WARNED_OUTPUTS = {
    loss: ACCEPTED_OUTPUTS[loss] - {"identity"} if loss in ON_LOGITS_OR_SCORES else set() for loss in LOSS_NAMES
}


@pytest.mark.parametrize("loss", LOSS_NAMES)
def test_accepted_and_refused_output_layers(loss):
    from funcmlp import OutputActivationWarning

    for output in ACTIVATION_NAMES:
        if output in WARNED_OUTPUTS[loss]:
            with pytest.warns(OutputActivationWarning, match=f"loss '{loss}' takes .* output activation is '{output}'"):
                Loss(loss).check_output(Activation(output), 3)
        elif output in ACCEPTED_OUTPUTS[loss]:
            with warnings.catch_warnings():
                warnings.simplefilter("error")
                Loss(loss).check_output(Activation(output), 3)
        else:
            with pytest.raises(ValueError, match=f"loss '{loss}' takes .* output activation .*'{output}'.*use output="):
                Loss(loss).check_output(Activation(output), 3)


def test_refusals_name_the_fix():
    with pytest.raises(
        ValueError,
        match="softmax' already gives probabilities .* use output='identity', or keep the softmax output with loss 'cross_entropy'",
    ):
        Loss("softmax_cross_entropy").check_output(Activation("softmax"), 3)
    with pytest.raises(
        ValueError,
        match="sigmoid' already gives probabilities .* keep the sigmoid output with loss 'binary_cross_entropy'",
    ):
        Loss("sigmoid_binary_cross_entropy").check_output(Activation("sigmoid"), 1)
    with pytest.raises(
        ValueError, match="takes the probabilities of a 'sigmoid' output layer, but the output activation is 'softmax'"
    ):
        Loss("binary_cross_entropy").check_output(Activation("softmax"), 3)
    with pytest.raises(ValueError, match="needs at least 2 output units"):
        Loss("cross_entropy").check_output(Activation("softmax"), 1)


def test_targets_accepted_per_kind():
    soft = check_targets(Loss("softmax_cross_entropy"), Y_PARTIAL, 2, 3, jnp.float64)
    np.testing.assert_array_equal(soft, Y_PARTIAL)
    labels = check_targets(Loss("cross_entropy"), jnp.array([2, 0]), 2, 3, jnp.float64)
    np.testing.assert_array_equal(labels, [[0, 0, 1], [1, 0, 0]])
    ones = check_targets(Loss("binary_cross_entropy"), jnp.array([1, 0, 1]), 3, 1, jnp.float32)
    assert ones.shape == (3, 1) and ones.dtype == jnp.float32
    anything = check_targets(Loss("sse"), jnp.array([[-7.5, 1e6]]), 1, 2, jnp.float64)
    np.testing.assert_array_equal(anything, [[-7.5, 1e6]])


@pytest.mark.parametrize(
    "labels, match",
    [
        (
            [0, 3, 1],
            r"label 3 at index 1 is out of range: loss 'softmax_cross_entropy' with 3 output units takes labels 0..2; relabel the classes as 0..2 or give the output layer 4 units",
        ),
        ([0, 1, -1], r"label -1 at index 2 is out of range"),
    ],
)
def test_labels_out_of_range_are_refused(labels, match):
    with pytest.raises(ValueError, match=match):
        check_targets(Loss("softmax_cross_entropy"), jnp.array(labels), 3, 3, jnp.float64)


@pytest.mark.parametrize(
    "loss", ["binary_cross_entropy", "sigmoid_binary_cross_entropy", "cross_entropy", "softmax_cross_entropy"]
)
def test_targets_outside_0_1_are_refused_for_probability_and_class_losses(loss):
    y = jnp.array([[0.0, 1.0, 0.5], [0.2, 1.5, 0.0]])
    with pytest.raises(
        ValueError, match=rf"loss '{loss}' needs targets in \[0, 1\] .*found 1.5 at index \(1, 1\); rescale the targets"
    ):
        check_targets(Loss(loss), y, 2, 3, jnp.float64)


def test_non_finite_targets_and_bad_weights_are_refused():
    with pytest.raises(ValueError, match=r"targets must be finite numbers; found nan at index \(0, 1\)"):
        check_targets(Loss("sse"), jnp.array([[0.0, jnp.nan]]), 1, 2, jnp.float64)
    with pytest.raises(ValueError, match=r"targets have shape \(5, 3\), expected \(5, 2\)"):
        check_targets(Loss("sse"), jnp.zeros((5, 3)), 5, 2, jnp.float64)
    with pytest.raises(ValueError, match=r"example weights have shape \(4,\), expected \(5,\)"):
        check_weights(jnp.ones(4), 5, jnp.float64, "mean")
    with pytest.raises(ValueError, match="example weights must be finite and >= 0; found -1.0 at index 1"):
        check_weights(jnp.array([1.0, -1.0]), 2, jnp.float64, "mean")
    with pytest.raises(ValueError, match="example weights are all 0"):
        check_weights(jnp.zeros(2), 2, jnp.float64, "mean")


def test_values_are_not_checked_under_a_callers_jit():
    """Under jit the numbers are not known: the documented limit (shapes are still checked)."""
    traced = jax.jit(lambda y: check_targets(Loss("softmax_cross_entropy"), y, 2, 3, jnp.float64))
    assert traced(jnp.array([0, 7])).tolist() == [[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]


def test_reduction_weights():
    w = jnp.array([1.0, 1.0, 0.0, 2.0])
    np.testing.assert_allclose(reduction_weights(w, "mean"), [0.25, 0.25, 0.0, 0.5])
    np.testing.assert_allclose(reduction_weights(w, "sum"), w)
    with pytest.raises(ValueError, match="unknown reduction 'median'"):
        check_reduction("median")


def test_unknown_loss():
    with pytest.raises(
        ValueError, match="unknown loss 'cauchy'; expected one of sse.*or add one with funcmlp.register_loss"
    ):
        get_loss("cauchy")


@pytest.mark.parametrize("name", REFERENCE)
def test_jax_forms_equal_the_sympy_forms_of_the_same_entry(name):
    """The loss registry walk: each entry's JAX value and closed-form dL/da against its own
    sympy forms (the parameter exact), evaluated in 30 digits, at each loss's target sets."""
    import sympy as sp

    loss = get_loss(name)
    inputs, targets = POINTS[name]
    a_symbols, y_symbols = sp.symbols("a1:4", real=True), sp.symbols("y1:4", real=True)
    value = loss.sympy_value(list(a_symbols), list(y_symbols))
    gradient = loss.sympy_gradient(list(a_symbols), list(y_symbols))
    for y in targets:
        for row in range(2):
            point = {
                **{s: sp.nsimplify(repr(float(v))) for s, v in zip(a_symbols, np.asarray(inputs[row]), strict=True)},
                **{s: sp.nsimplify(repr(float(v))) for s, v in zip(y_symbols, np.asarray(y[row]), strict=True)},
            }
            assert float(loss.per_example(inputs, y)[row]) == pytest.approx(
                float(sp.N(value.subs(point), 30)), rel=1e-13, abs=1e-15
            )
            exact = [float(sp.N(g.subs(point), 30)) for g in gradient]
            np.testing.assert_allclose(loss.gradient(inputs, y)[row], exact, rtol=1e-13, atol=1e-15)


def test_the_tests_stable_softmax_reference_equals_optax_away_from_saturation():
    """tests/reference.py's log1p form of softmax cross-entropy is optax's, value and gradient."""
    import reference

    for y in (Y_ONE_HOT, Y_PARTIAL, Y_MULTI_HOT):
        np.testing.assert_allclose(
            reference._softmax_cross_entropy(Z, y), optax.softmax_cross_entropy(Z, y), rtol=1e-14
        )
        np.testing.assert_allclose(
            jax.grad(lambda z: jnp.sum(reference._softmax_cross_entropy(z, y)))(Z),
            jax.grad(lambda z: jnp.sum(optax.softmax_cross_entropy(z, y)))(Z),
            rtol=1e-13,
            atol=1e-16,
        )


def test_the_kinks_take_the_stated_gradient():
    """absolute_error: dL/da = 0 where a = y; hinge: 0 where the margin s a is exactly 1; huber's
    gradient is continuous at |a - y| = delta (both branches give +-delta there): written by hand."""
    a, y = jnp.array([[0.5, 2.0, -1.0]]), jnp.array([[0.5, 1.0, 0.0]])
    assert get_loss("absolute_error").gradient(a, y).tolist() == [[0.0, 1.0, -1.0]]
    assert float(get_loss("absolute_error").per_example(a, y)[0]) == 2.0
    scores, labels = jnp.array([[1.0, -1.0, 0.999, 3.0]]), jnp.array([[1.0, 0.0, 1.0, 0.0]])
    # margins s a = 1, 1, 0.999, -3: loss 0 + 0 + 0.001 + 4
    assert get_loss("hinge").gradient(scores, labels).tolist() == [[0.0, 0.0, -1.0, 1.0]]
    assert float(get_loss("hinge").per_example(scores, labels)[0]) == pytest.approx(4.001, rel=1e-14)
    huber = get_loss("huber(0.5)")
    edge = jnp.array([[1.5, -0.5, 0.25, 3.0]])  # a - y = 0.5, -0.5, 0.25, 3 for y = 1, 0, 0, 0
    target = jnp.array([[1.0, 0.0, 0.0, 0.0]])
    assert huber.gradient(edge, target).tolist() == [[0.5, -0.5, 0.25, 0.5]]
    # 1/2 0.5^2 twice + 1/2 0.25^2 + 0.5 (3 - 0.25)
    assert float(huber.per_example(edge, target)[0]) == pytest.approx(0.125 + 0.125 + 0.03125 + 1.375, rel=1e-15)


@pytest.mark.parametrize(
    "loss, a, y",
    [
        ("absolute_error", [[0.5, 2.0, -1.0]], [[0.5, 1.0, 0.0]]),  # a = y in the first unit
        ("hinge", [[1.0, -1.0, 0.999, 3.0]], [[1.0, 0.0, 1.0, 0.0]]),  # margins 1, 1, 0.999, -3
        ("huber(0.5)", [[1.5, -0.5, 0.25, 3.0, 0.0]], [[1.0, 0.0, 0.0, 0.0, 0.0]]),  # |a - y| = delta, and a = y
    ],
)
def test_autodiff_of_the_value_follows_the_stated_gradient_at_the_kinks(loss, a, y):
    """jax.grad of each loss's own value (what gradient="autodiff" and check_gradients differentiate)
    gives the closed form's value at the kinks too, so the two gradient sources agree there."""
    loss, a, y = get_loss(loss), jnp.array(a), jnp.array(y)
    autodiff = jax.grad(lambda v: jnp.sum(loss.per_example(v, y)))(a)
    np.testing.assert_array_equal(autodiff, loss.gradient(a, y))


def test_poisson_is_on_the_log_of_the_rate_and_predicts_the_rate():
    loss = get_loss("poisson")
    log_rate = jnp.log(jnp.array([[2.0, 0.5]]))
    # rate 2, y = 3: 2 - 3 log 2; rate 0.5, y = 0: 0.5; gradient rate - y
    assert float(loss.per_example(log_rate, jnp.array([[3.0, 0.0]]))[0]) == pytest.approx(2.5 - 3 * np.log(2), 1e-14)
    np.testing.assert_allclose(loss.gradient(log_rate, jnp.array([[3.0, 0.0]])), [[-1.0, 0.5]], rtol=1e-14)
    np.testing.assert_allclose(loss.mean(log_rate), [[2.0, 0.5]], rtol=1e-14)
    assert get_loss("sse").mean(log_rate) is log_rate


def test_a_loss_parameter_is_parsed_checked_and_round_trips():
    assert get_loss("huber") == Loss("huber", 1.0) and get_loss(" Huber(0.25) ") == Loss("huber", 0.25)
    assert str(get_loss("huber(0.25)")) == "huber(0.25)" and str(get_loss("huber(1)")) == "huber"
    assert get_loss(str(get_loss("huber(0.125)"))) == Loss("huber", 0.125)
    with pytest.raises(
        ValueError, match=r"loss 'huber': delta must be a finite number > 0, got 0.0; e.g. 'huber\(1\)'"
    ):
        get_loss("huber(0)")
    with pytest.raises(ValueError, match="delta must be a finite number > 0, got nan"):
        Loss("huber", float("nan"))
    with pytest.raises(
        ValueError, match=r"loss parameter in 'huber\(big\)' is not a number; write e.g. 'huber\(0.5\)'"
    ):
        get_loss("huber(big)")
    with pytest.raises(ValueError, match="loss 'sse' takes no parameter, got 2.0"):
        get_loss("sse(2)")


@pytest.mark.parametrize(
    "loss, y, match",
    [
        (
            "poisson",
            [[1.0, -2.0]],
            r"loss 'poisson' needs targets >= 0 \(counts or rates\), found -2 at index \(0, 1\)",
        ),
        ("hinge", [[1.0, 0.5]], r"loss 'hinge' needs targets 0 or 1 \(labels\), found 0.5 .*relabel the two classes"),
        ("hinge", [[1.0, -1.0]], r"found -1 at index \(0, 1\); relabel the two classes as 0 and 1 \(of -1/\+1"),
    ],
)
def test_targets_of_the_count_and_label_losses_are_checked(loss, y, match):
    with pytest.raises(ValueError, match=match):
        check_targets(Loss(loss), jnp.array(y), 1, 2, jnp.float64)


def test_hinge_takes_integer_labels_and_thresholds_one_unit_at_0():
    import funcmlp

    labels = check_targets(Loss("hinge"), jnp.array([1, 0, 1]), 3, 1, jnp.float64)
    assert labels.tolist() == [[1.0], [0.0], [1.0]]
    mlp = funcmlp.MLP((2, 1), "identity")
    assert funcmlp.decision_threshold(mlp, "hinge") == 0.0 and funcmlp.decision_threshold(mlp, "sse") == 0.5
    with pytest.raises(
        ValueError, match="loss 'hinge' takes scores .* output activation 'sigmoid' gives probabilities"
    ):
        Loss("hinge").check_output(Activation("sigmoid"), 1)
