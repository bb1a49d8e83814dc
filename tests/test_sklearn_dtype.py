"""scikit-learn's dtype rules whatever JAX's 64-bit flag says (funcmlp/sklearn/_dtype.py): float64 input gives
float64 weights, arithmetic and outputs, float32 stays float32, ``dtype=`` overrides; the caller's flag is as it
was after every call; one compiled program per dtype. This suite's conftest.py turns the flag on for the whole
process; ``jax.enable_x64(False)`` gives a test the flag a process that never set it has (JAX's default)."""

import warnings

import jax
import numpy as np
import pytest
from counting import compilations
from sklearn import neural_network

from funcmlp.sklearn import MLPClassifier, MLPRegressor, Perceptron


def _quiet(fit):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def test_the_input_decides_the_dtype_with_jaxs_64_bit_mode_off_and_dtype_overrides():
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=40)
    labels = (X[:, 0] > 0).astype(int)
    options = dict(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
    with jax.enable_x64(False):
        cases = [
            (MLPRegressor(**options), X, "float64"),
            (MLPRegressor(**options), X.astype(np.float32), "float32"),
            (MLPRegressor(dtype="float32", **options), X, "float32"),
            (MLPRegressor(dtype="float64", **options), X.astype(np.float32), "float64"),
            (MLPRegressor(solver="lbfgs", **options), X, "float64"),
            (MLPRegressor(loss="poisson", **options), X, "float64"),
        ]
        for model, inputs, dtype in cases:
            targets = np.abs(y) if model.loss == "poisson" else y
            _quiet(lambda model=model, inputs=inputs, targets=targets: model.fit(inputs, targets))
            assert not jax.config.jax_enable_x64
            assert {W.dtype.name for W in model.coefs_ + model.intercepts_} == {dtype}, model
            assert model.predict(inputs).dtype == dtype and not jax.config.jax_enable_x64
            assert {leaf.dtype.name for leaf in jax.tree_util.tree_leaves(model.to_funcmlp()[1])} == {dtype}
        classifier = _quiet(lambda: MLPClassifier(**options).partial_fit(X, labels, classes=[0, 1]))
        classifier.partial_fit(X.astype(np.float32), labels)  # goes on in the fitted dtype
        assert classifier.coefs_[0].dtype == np.float64 and classifier.predict_proba(X).dtype == np.float64
        perceptron = Perceptron(dtype="float64", max_iter=3).fit(X, labels)  # refused with the flag off before
        assert perceptron.coef_.dtype == np.float64 and not jax.config.jax_enable_x64
    with pytest.raises(ValueError, match=r"dtype must be 'float32' or 'float64' \(or None: the input's\), got 'f16'"):
        MLPRegressor(dtype="f16").fit(X, y)


def test_float64_epochs_with_the_flag_off_equal_scikit_learns_own_mlp_to_1e_10():
    """From the same weights, 3 epochs of SGD with Nesterov momentum in batches of 15 with sample
    weights: scikit-learn's MLPRegressor's weights to 1e-10 relative (float32 arithmetic anywhere
    would be 1e-7 off), and the predictions in float64 to 1e-10."""
    rng = np.random.default_rng(1)
    X, y, weights = rng.normal(size=(40, 5)), rng.normal(size=(40, 2)), rng.uniform(0.2, 3.0, 40)
    options = dict(
        hidden_layer_sizes=(7, 6), activation="tanh", solver="sgd", learning_rate_init=0.05, alpha=1e-2,
        batch_size=15, shuffle=False, max_iter=3, tol=0.0, n_iter_no_change=100, random_state=0, warm_start=True,
    )  # fmt: skip
    theirs = neural_network.MLPRegressor(**options)
    with jax.enable_x64(False):
        ours = MLPRegressor(**options)
        _quiet(lambda: (ours.fit(X, y), theirs.fit(X, y)))
        theirs.coefs_ = [W.copy() for W in ours.coefs_]
        theirs.intercepts_ = [b.copy() for b in ours.intercepts_]
        _quiet(lambda: (ours.fit(X, y, sample_weight=weights), theirs.fit(X, y, sample_weight=weights)))
        predicted = ours.predict(X)
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True):
        assert mine.dtype == np.float64 and np.max(np.abs(mine - reference)) <= 1e-10 * np.max(np.abs(reference))
    assert predicted.dtype == np.float64
    np.testing.assert_allclose(predicted, theirs.predict(X), rtol=1e-10, atol=1e-12)


def test_a_fit_is_the_same_whatever_the_callers_flag_and_compiles_once_per_dtype():
    """A fit and its predictions with the flag off and with it on: the same numbers bit for bit, in
    each dtype; the second compiles nothing (the estimator runs in its dtype's mode, not the caller's);
    the other dtype has programs of its own. The flag is the caller's after each."""
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(50, 11)), rng.integers(0, 3, 50)  # 11 features: programs no other test compiles

    def fit(inputs, flag):
        def run():
            with jax.enable_x64(flag):
                model = _quiet(lambda: MLPClassifier((9,), max_iter=4, random_state=0).fit(inputs, y))
                results.append((model.coefs_, model.predict_proba(inputs)))
                assert jax.config.jax_enable_x64 == flag

        return run

    for inputs in (X, X.astype(np.float32)):
        results = []
        assert compilations(fit(inputs, False)) > 0  # float64 first, then float32: programs of its own
        assert compilations(fit(inputs, True)) == 0
        (off, proba_off), (on, proba_on) = results
        assert all(a.dtype == inputs.dtype and np.array_equal(a, b) for a, b in zip(off, on, strict=True))
        assert np.array_equal(proba_off, proba_on)
