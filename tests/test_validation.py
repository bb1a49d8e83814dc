"""Refused, clearly, at every entry point: labels out of range, targets outside [0, 1] for the
probability and class losses, probability outputs feeding logits losses, non-finite inputs,
bad weights, one-unit thresholds that cannot be inferred. Each message names what was wrong,
what was expected and the fix."""

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from funcmlp import (
    MLP,
    accuracy,
    autodiff_grad,
    backprop,
    check_gradients,
    decision_threshold,
    evaluate,
    fit,
    make_optimizer,
    objective,
    predict,
    train_epochs,
)
from funcmlp.training.optimizers import make_schedule

MLP3 = MLP((4, 5, 3), "tanh", output="identity")
PARAMS = MLP3.init(jax.random.key(0))
X = jax.random.normal(jax.random.key(1), (6, 4))
OUT_OF_RANGE = jnp.array([0, 1, 2, 3, 1, 0])


def _fit(mlp, params, x, y, loss, **kwargs):
    return fit(
        mlp,
        params,
        (x, y),
        loss=loss,
        optimizer=optax.sgd(0.1),
        epochs=1,
        batch_size=3,
        key=jax.random.key(0),
        **kwargs,
    )


ENTRY_POINTS = {
    "backprop": lambda mlp, p, x, y, loss: backprop(mlp, p, x, y, loss),
    "objective": lambda mlp, p, x, y, loss: objective(mlp, p, x, y, loss),
    "autodiff_grad": lambda mlp, p, x, y, loss: autodiff_grad(mlp, p, x, y, loss),
    "check_gradients": lambda mlp, p, x, y, loss: check_gradients(mlp, p, x, y, loss),
    "fit": _fit,
    "evaluate": lambda mlp, p, x, y, loss: evaluate(mlp, p, x, y, loss),
}


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_labels_out_of_range(entry):
    with pytest.raises(
        ValueError,
        match=r"label 3 at index 3 is out of range: loss 'softmax_cross_entropy' with 3 output units takes labels 0..2",
    ):
        ENTRY_POINTS[entry](MLP3, PARAMS, X, OUT_OF_RANGE, "softmax_cross_entropy")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_probability_targets_outside_0_1(entry):
    mlp = MLP((4, 2), output="sigmoid")
    y = jnp.full((6, 2), 0.5).at[2, 1].set(-0.25)
    with pytest.raises(
        ValueError,
        match=r"loss 'binary_cross_entropy' needs targets in \[0, 1\] \(probabilities\), found -0.25 at index \(2, 1\)",
    ):
        ENTRY_POINTS[entry](mlp, mlp.init(jax.random.key(0)), X, y, "binary_cross_entropy")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
@pytest.mark.parametrize(
    "output, loss", [("softmax", "softmax_cross_entropy"), ("sigmoid", "sigmoid_binary_cross_entropy")]
)
def test_probability_output_into_a_logits_loss(entry, output, loss):
    mlp = MLP((4, 3), output=output)
    with pytest.raises(
        ValueError,
        match=rf"loss '{loss}' takes logits but the output activation '{output}' already gives probabilities",
    ):
        ENTRY_POINTS[entry](
            mlp, mlp.init(jax.random.key(0)), X, jnp.zeros(6, int) if "softmax" in loss else jnp.zeros((6, 3)), loss
        )


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_unpaired_probability_losses(entry):
    mlp = MLP((4, 3), output="softmax")
    with pytest.raises(
        ValueError,
        match="loss 'binary_cross_entropy' takes the probabilities of a 'sigmoid' output layer, but the output activation is 'softmax'",
    ):
        ENTRY_POINTS[entry](mlp, mlp.init(jax.random.key(0)), X, jnp.zeros((6, 3)), "binary_cross_entropy")


@pytest.mark.parametrize("entry", ENTRY_POINTS)
def test_non_finite_inputs_and_targets(entry):
    with pytest.raises(ValueError, match=r"inputs must be finite numbers; found nan at index \(1, 2\)"):
        ENTRY_POINTS[entry](MLP3, PARAMS, X.at[1, 2].set(jnp.nan), jnp.zeros((6, 3)), "sse")
    with pytest.raises(ValueError, match=r"targets must be finite numbers; found inf at index \(4, 0\)"):
        ENTRY_POINTS[entry](MLP3, PARAMS, X, jnp.zeros((6, 3)).at[4, 0].set(jnp.inf), "sse")


def test_fit_checks_the_validation_data_before_training():
    with pytest.raises(ValueError, match="label 3 at index 3 is out of range"):
        _fit(MLP3, PARAMS, X, jnp.zeros(6, int), "softmax_cross_entropy", validation=(X, OUT_OF_RANGE))


def test_fit_with_float32_params_and_float64_data_trains_in_float32():
    params32 = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32), PARAMS)
    trained, history = _fit(
        MLP3, params32, X.astype(jnp.float64), jnp.array([0, 1, 2, 0, 1, 2]), "softmax_cross_entropy"
    )
    assert trained[0].W.dtype == jnp.float32 and np.isfinite(history.train_loss[0])


def test_mixed_or_integer_params_are_refused():
    mixed = (PARAMS[0]._replace(W=PARAMS[0].W.astype(jnp.float32)), PARAMS[1])
    with pytest.raises(ValueError, match="params must be floating point arrays of one dtype"):
        backprop(MLP3, mixed, X, jnp.zeros((6, 3)), "sse")


def test_weights_are_checked():
    with pytest.raises(ValueError, match="example weights must be finite and >= 0; found -1.0 at index 0"):
        backprop(MLP3, PARAMS, X, jnp.zeros((6, 3)), "sse", weights=jnp.array([-1.0, 1, 1, 1, 1, 1]))


def test_accuracy_and_predict_check_labels_and_thresholds():
    with pytest.raises(ValueError, match="label 3 at index 3 is out of range"):
        accuracy(MLP3, PARAMS, X, OUT_OF_RANGE)
    logit = MLP((4, 1), "identity")
    params = logit.init(jax.random.key(0))
    with pytest.raises(
        ValueError,
        match="one output unit with the unbounded 'identity' activation: the class threshold depends on the loss; pass loss=",
    ):
        predict(logit, params, X)


def test_one_unit_thresholds_follow_the_output_activation_and_loss():
    assert decision_threshold(MLP((4, 1), output="sigmoid")) == 0.5
    assert decision_threshold(MLP((4, 1), output="hardlimit")) == 0.5
    assert decision_threshold(MLP((4, 1), output="tanh")) == 0.0
    assert decision_threshold(MLP((4, 1), output="symmetric_hardlimit")) == 0.0
    assert decision_threshold(MLP((4, 1), "identity"), "sigmoid_binary_cross_entropy") == 0.0
    assert decision_threshold(MLP((4, 1), "identity"), "sse") == 0.5
    # a logit of 0.3 is class 1 (sigmoid(0.3) > 1/2), not class 0
    logit = MLP((1, 1), "identity")
    params = (logit.init(jax.random.key(0))[0]._replace(W=jnp.array([[1.0]]), b=jnp.array([0.0])),)
    assert predict(logit, params, jnp.array([[0.3], [-0.3]]), loss="sigmoid_binary_cross_entropy").tolist() == [1, 0]
    assert predict(logit, params, jnp.array([[0.3], [0.7]]), loss="sse").tolist() == [0, 1]
    assert predict(logit, params, jnp.array([[0.3], [0.7]]), threshold=0.5).tolist() == [0, 1]


@pytest.mark.parametrize(
    "call, match",
    [
        (
            lambda: backprop(MLP3, PARAMS, X[:0], jnp.zeros((0, 3)), "sse"),
            r"inputs have no examples \(shape \(0, 4\)\)",
        ),
        (lambda: check_gradients(MLP3, PARAMS, X[:0], jnp.zeros((0, 3)), "sse"), r"inputs have no examples"),
        (lambda: evaluate(MLP3, PARAMS, X[:0], jnp.zeros((0, 3)), "sse"), r"inputs have no examples"),
        (
            lambda: backprop(MLP3, PARAMS, X, jnp.array(1), "softmax_cross_entropy"),
            r"a single target was given for 6 examples",
        ),
        (
            lambda: backprop(MLP3, PARAMS, X, np.array([["a", "b", "c"]] * 6), "sse"),
            r"targets must be real numbers, got an array of dtype <U1; expected booleans, integers or floating point",
        ),
        (
            lambda: fit(
                MLP3,
                PARAMS,
                (X[0], jnp.zeros(3)),
                loss="sse",
                optimizer=optax.sgd(0.1),
                epochs=1,
                batch_size=1,
                key=jax.random.key(0),
            ),
            r"data inputs must be a batch \(N, 4\)",
        ),
        (lambda: accuracy(MLP3, PARAMS, X, jnp.array([1])), r"targets have shape \(1,\), expected \(6, 3\)"),
        (lambda: accuracy(MLP3, PARAMS, X, jnp.zeros((6, 3)).at[0, 0].set(jnp.nan)), r"targets must be finite numbers"),
        (
            lambda: predict(MLP3, PARAMS, X.at[0, 0].set(jnp.inf)),
            r"inputs must be finite numbers; found inf at index \(0, 0\)",
        ),
    ],
)
def test_more_refusals(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_accuracy_without_a_loss_names_no_loss():
    with pytest.raises(
        ValueError,
        match=r"label 3 at index 3 is out of range: 3 output units take labels 0..2; relabel the classes as 0..2 or give the output layer 4 units",
    ):
        accuracy(MLP3, PARAMS, X, OUT_OF_RANGE)
    with pytest.raises(ValueError, match=r"label -1 at index 0 is out of range: .*relabel the classes as 0..2$"):
        accuracy(MLP3, PARAMS, X, jnp.array([-1, 0, 0, 0, 0, 0]))


def test_finite_differences_run_in_float64_whatever_the_params():
    from funcmlp.gradcheck import finite_difference_grad

    params32 = jax.tree_util.tree_map(lambda a: a.astype(jnp.float32), PARAMS)
    y = jnp.zeros((6, 3))
    fd32, _ = finite_difference_grad(MLP3, params32, X.astype(jnp.float32), y, "half_sse")
    fd64, _ = finite_difference_grad(
        MLP3,
        jax.tree_util.tree_map(lambda a: a.astype(jnp.float32).astype(jnp.float64), PARAMS),
        X.astype(jnp.float32).astype(jnp.float64),
        y,
        "half_sse",
    )
    np.testing.assert_array_equal(fd32, fd64)


@pytest.mark.parametrize(
    "key, shown",
    [(0, "int 0"), (7, "int 7"), ("a", "str 'a'"), (np.zeros(3), "an array of dtype float64 and shape (3,)")],
)
def test_fit_and_train_epochs_refuse_what_is_not_a_random_key(key, shown):
    """One TypeError naming the argument, what was given and how to make a key; both kinds of key work."""
    mlp = MLP((2, 1), "identity")
    params = mlp.init(jax.random.key(0))
    data = (np.ones((4, 2)), np.zeros(4))
    options = dict(loss="sse", optimizer=optax.sgd(0.1), batch_size=2)
    seed = key if isinstance(key, int) else 0
    message = f"key must be a JAX random key, got {shown}; make one from a seed: jax.random.key({seed})"
    with pytest.raises(TypeError, match=re.escape(message)):
        fit(mlp, params, data, epochs=1, key=key, **options)
    with pytest.raises(TypeError, match=re.escape(message)):
        next(iter(train_epochs(mlp, params, data, key=key, **options)))
    for good in (jax.random.key(1), jax.random.PRNGKey(1)):
        assert fit(mlp, params, data, epochs=1, key=good, **options)[1].epochs == 1
    if not hasattr(key, "dtype"):
        with pytest.raises(TypeError, match=re.escape(f"MLP.init: key must be a JAX random key, got {shown}; ")):
            mlp.init(key)


def test_a_batch_size_that_is_not_a_whole_number_is_named_as_such():
    mlp = MLP((2, 1), "identity")
    with pytest.raises(TypeError, match=r"batch_size must be a whole number \(examples per step\), got float 2.5"):
        fit(
            mlp,
            mlp.init(jax.random.key(0)),
            (np.ones((4, 2)), np.zeros(4)),
            loss="sse",
            optimizer=optax.sgd(0.1),
            epochs=1,
            batch_size=2.5,
            key=jax.random.key(0),
        )


@pytest.mark.parametrize(
    "build, message",
    [
        (
            lambda: make_optimizer("momentum", 0.1, momentum=float("nan")),
            "momentum must be a finite number from 0 below 1, got nan",
        ),
        (lambda: make_optimizer("adam", 0.1, b2=1.5), "b2 must be a finite number from 0 below 1, got 1.5"),
        # 1 as the command line refuses it: a momentum that never forgets, Adam's bias correction over 0
        (
            lambda: make_optimizer("momentum", 0.1, momentum=1.0),
            "momentum must be a finite number from 0 below 1, got 1.0",
        ),
        (lambda: make_optimizer("adam", 0.1, b1=1), "b1 must be a finite number from 0 below 1, got 1"),
        (
            lambda: make_optimizer("adamw", 0.1, weight_decay=float("inf")),
            "weight_decay must be a finite number from 0, got inf",
        ),
        (
            lambda: make_optimizer("sgd", float("nan")),
            "learning_rate must be a finite number above 0, got nan; e.g. 1e-3 (or a schedule)",
        ),
        (
            lambda: make_schedule("cosine", float("nan"), total_steps=10),
            "learning_rate must be a finite number above 0, got nan; e.g. 1e-3",
        ),
        (lambda: make_schedule("step", 0.1, total_steps=10, gamma=float("nan")), "gamma must be a finite number"),
        (lambda: MLP3.init(jax.random.key(0), init="normal(nan)"), "'normal(nan)' must be finite numbers"),
    ],
)
def test_each_non_finite_optimizer_schedule_or_initializer_number_is_named(build, message):
    """NaN or out-of-range settings are refused naming the setting itself (a NaN momentum was
    accepted and showed up later as a diverged run blamed on the learning rate)."""
    with pytest.raises(ValueError, match=re.escape(message)):
        build()


def test_check_number_takes_real_numbers_and_0_d_arrays_and_names_the_rest():
    from funcmlp.arguments import check_number

    for good in (0.5, 1, np.float32(0.5), np.int64(1), jnp.float32(0.5), np.array(0.25), jnp.array(2)):
        assert check_number(good, "rate", above=0) == float(good)
    for bad, error, match in [
        (True, TypeError, "rate must be a number, got bool True"),
        (np.bool_(True), TypeError, "rate must be a number, got bool"),
        (np.array(True), TypeError, "rate must be a number"),
        ("0.5", TypeError, "rate must be a number, got str '0.5'"),
        (jnp.ones(2), TypeError, "rate must be a number"),
        (10**400, ValueError, r"rate must be a finite number above 0, got 10000000000000000000\.\.\. \(401 digits\)"),
        (float("inf"), ValueError, "rate must be a finite number above 0, got inf"),
        (-(10**400), ValueError, "rate must be a finite number above 0"),
    ]:
        with pytest.raises(error, match=match):
            check_number(bad, "rate", above=0)
    assert check_number(1.0, "b1", at_least=0, below=1.5) == 1.0
    with pytest.raises(ValueError, match=r"momentum must be a finite number from 0 below 1, got 1$"):
        check_number(1, "momentum", at_least=0, below=1)
    with pytest.raises(ValueError, match=r"decay must be a finite number up to 1, got 1\.5; e\.g\. 0\.9$"):
        check_number(1.5, "decay", at_most=1, example="0.9")
    assert make_schedule("constant", jnp.float32(1e-3), total_steps=1)(0) == pytest.approx(1e-3)  # as before
