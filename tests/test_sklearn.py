"""funcmlp.sklearn passes scikit-learn's own estimator checks and slots into its tools."""

import functools
import warnings

import jax
import numpy as np
import pytest
from counting import compilations
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils.estimator_checks import estimator_checks_generator

from funcmlp.sklearn import MLPClassifier, MLPRegressor, Perceptron
from funcmlp.sklearn._optimizers import _rate

# the MLPs train in the input's dtype, float64 for scikit-learn's float64 data, with JAX's 64-bit mode off as a
# scikit-learn user has it: every check passes, sample-weight equivalence included (float32 would round a repeated
# sample and a weight of 2 apart) and the multi-output regressor's float64 predictions
EXPECTED_FAILURES = {
    "MLPClassifier": {},
    "MLPRegressor": {},
    "Perceptron": {
        "check_sample_weight_equivalence_on_dense_data": "the perceptron rule steps one example at a time: a repeated example can move the weights twice, a weight "
        "of 2 moves them once by twice the step"
    },
}


NOT_APPLICABLE = {
    "check_classifiers_multilabel_output_format_decision_function": "MLPClassifier has no decision_function, "
    "as scikit-learn's has none"
}


def _estimator_checks():
    """scikit-learn's checks of the three estimators, the declared failures marked xfail with
    their reasons, the ones that do not apply left out (scikit-learn would skip them). The
    estimators are built as scikit-learn checks its own (sklearn/utils/_test_common/
    instance_generator.py: MLPs with max_iter=100, Perceptron with max_iter=5)."""
    for estimator in (
        MLPClassifier(random_state=0, max_iter=100),
        MLPRegressor(random_state=0, max_iter=100),
        Perceptron(max_iter=5),
    ):
        expected = EXPECTED_FAILURES[type(estimator).__name__]
        for instance, check in estimator_checks_generator(estimator):
            name = (check.func if isinstance(check, functools.partial) else check).__name__
            if name in NOT_APPLICABLE:
                continue
            marks = [pytest.mark.xfail(reason=expected[name])] if name in expected else []
            yield pytest.param(instance, check, marks=marks, id=f"{type(instance).__name__}-{name}")


@pytest.mark.parametrize("estimator, check", list(_estimator_checks()))
def test_scikit_learn_estimator_checks(estimator, check):
    """Each check in JAX's default configuration, its 64-bit mode off (as in a process that never set it: this
    suite's conftest.py turns it on, ``jax.enable_x64(False)`` turns it off for the check's thread), and off
    after it: the estimators turn it on for their own float64 work only."""
    with jax.enable_x64(False):
        check(estimator)
        assert not jax.config.jax_enable_x64


def test_float32_predictions_of_a_row_do_not_depend_on_the_rows_around_it():
    """Bitwise, over 100 random reorderings and subsets (XLA's CPU matmul alone rounds by position)."""
    rng = np.random.default_rng(5)
    X = rng.normal(size=(150, 10)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = MLPRegressor(random_state=0, max_iter=20).fit(X, X @ rng.normal(size=10))
    full = model.predict(X)
    for _ in range(50):
        order = rng.permutation(150)
        subset = rng.choice(150, rng.integers(1, 150), replace=False)
        assert np.array_equal(model.predict(X[order]), full[order]) and np.array_equal(
            model.predict(X[subset]), full[subset]
        )


def _same_start(ours, theirs, X, y):
    """Both estimators fitted once (shapes, classes), then given the same weights: ours'."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X, y)
        theirs.fit(X, y)
    theirs.coefs_ = [np.array(W, np.float64) for W in ours.coefs_]
    theirs.intercepts_ = [np.array(b, np.float64) for b in ours.intercepts_]
    return [W.copy() for W in ours.coefs_], [b.copy() for b in ours.intercepts_]


def _assert_same_weights(ours, theirs):
    """Every weight and bias of ``ours`` in float64 and within 1e-10 of the largest of ``theirs`` (scikit-learn's)."""
    for mine, reference in zip(ours.coefs_ + ours.intercepts_, theirs.coefs_ + theirs.intercepts_, strict=True):
        assert mine.dtype == np.float64 and np.max(np.abs(mine - reference)) <= 1e-10 * np.max(np.abs(reference))


@pytest.mark.parametrize(
    "task, solver, learning_rate, nesterov",
    [
        ("binary", "sgd", "constant", True),
        ("multiclass", "sgd", "constant", True),
        ("multilabel", "sgd", "constant", True),
        ("regression", "sgd", "constant", True),
        ("multi-output regression", "sgd", "constant", True),
        ("multiclass", "sgd", "invscaling", True),
        ("multiclass", "sgd", "invscaling", False),
        ("regression", "sgd", "invscaling", False),
        ("multiclass", "adam", "constant", True),
        ("multi-output regression", "adam", "constant", True),
        ("multiclass", "sgd", "minibatch", True),
        ("regression", "adam", "minibatch", True),  # batches of 15, 15, 10, sample weights
    ],
)
def test_epochs_from_the_same_weights_equal_scikit_learns_own_mlp(task, solver, learning_rate, nesterov):
    """Full-batch SGD with (Nesterov) momentum, a constant rate or scikit-learn's invscaling, or
    Adam, with an L2 penalty, 3 epochs in float64 from the same weights: the weights of
    scikit-learn's MLPClassifier / MLPRegressor, to 1e-10 relative."""
    from sklearn import neural_network

    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 5))
    y = {
        "binary": rng.integers(0, 2, 40),
        "multiclass": rng.integers(0, 4, 40),
        "multilabel": rng.integers(0, 2, (40, 3)),
        "regression": rng.normal(size=40),
        "multi-output regression": rng.normal(size=(40, 2)),
    }[task]
    regression = task.endswith("regression")
    ours_type, theirs_type = (
        (MLPRegressor, neural_network.MLPRegressor) if regression else (MLPClassifier, neural_network.MLPClassifier)
    )
    minibatch = learning_rate == "minibatch"  # in order (shuffle=False), the last batch short, with sample weights
    options = dict(
        hidden_layer_sizes=(7, 6),
        activation="tanh",
        solver=solver,
        learning_rate="constant" if minibatch else learning_rate,
        learning_rate_init=0.05,
        power_t=0.25,
        momentum=0.9,
        nesterovs_momentum=nesterov,
        alpha=1e-2 if minibatch else 1e-3,
        batch_size=15 if minibatch else 40,
        shuffle=not minibatch,
        max_iter=3,
        tol=0.0,
        n_iter_no_change=100,
        random_state=0,
        warm_start=True,
    )
    weights = rng.uniform(0.2, 3.0, 40) if minibatch else None
    ours, theirs = ours_type(dtype="float64", **options), theirs_type(**options)
    _same_start(ours, theirs, X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X, y, sample_weight=weights)
        theirs.fit(X, y, sample_weight=weights)
    _assert_same_weights(ours, theirs)
    if not minibatch:  # loss_ with several batches: scikit-learn adds each batch's penalty at its own weights
        assert np.allclose(ours.loss_curve_[-3:], theirs.loss_curve_[-3:], rtol=1e-10)
    if not regression:
        assert np.allclose(ours.predict_proba(X), theirs.predict_proba(X), rtol=1e-10, atol=1e-15)


def test_pipelines_grid_search_cross_validation_and_string_labels():
    from sklearn.datasets import load_iris
    from sklearn.model_selection import GridSearchCV, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = load_iris(return_X_y=True)
    names = np.array(["setosa", "versicolor", "virginica"])[y]  # string labels
    pipeline = make_pipeline(
        StandardScaler(), MLPClassifier((8,), learning_rate_init=0.02, max_iter=150, random_state=0)
    )
    search = GridSearchCV(pipeline, {"mlpclassifier__alpha": [1e-4, 1e-1]}, cv=3).fit(X, names)
    assert search.best_score_ > 0.9 and set(search.predict(X)) <= set(names)
    assert cross_val_score(pipeline, X, names, cv=3).mean() > 0.9
    odd = np.array([7, 11, 42])[y]  # non-contiguous integer labels
    model = MLPClassifier((8,), learning_rate_init=0.02, max_iter=150, random_state=0).fit(X, odd)
    assert model.classes_.tolist() == [7, 11, 42] and set(model.predict(X)) <= {7, 11, 42} and model.score(X, odd) > 0.9


def test_a_refit_on_other_rows_or_hyper_parameters_and_its_predictions_compile_nothing():
    """A grid search: estimators on other numbers of rows (of one size bucket) and with other
    numbers for their hyper-parameters (kept in the optimizer state) reuse the compiled epoch,
    validation and forward pass."""
    X = np.random.default_rng(0).normal(size=(300, 8))
    y = np.arange(300) % 3

    def run(rows, predicted, seed, **parameters):
        model = MLPClassifier((16,), max_iter=4, early_stopping=True, random_state=seed, **parameters)
        return lambda: model.fit(X[:rows], y[:rows]).predict_proba(X[:predicted])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert compilations(run(300, 300, 0)) > 0
        assert compilations(run(290, 280, 1)) == 0  # 261 training rows of 290 (270 of 300 before): both 384
        assert compilations(run(300, 300, 2, alpha=0.0, learning_rate_init=0.01, beta_1=0.8)) == 0
        assert compilations(run(120, 290, 1)) > 0  # 108 training rows: another bucket
        sgd = dict(solver="sgd", learning_rate="adaptive", momentum=0.9)
        assert compilations(run(300, 300, 0, **sgd)) > 0
        assert compilations(run(300, 300, 0, **{**sgd, "momentum": 0.5, "learning_rate_init": 0.1})) == 0


def test_sample_weights_equal_the_weighted_loss_and_zero_weights_drop_examples():
    """A weight of 0 removes an example (full-batch, float64, no penalty): the same weights as a fit without it."""
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(30, 4)), rng.integers(0, 3, 30)
    weights = np.ones(30)
    weights[::3] = 0.0
    options = dict(
        hidden_layer_sizes=(5,),
        solver="sgd",
        momentum=0.0,
        alpha=0.0,
        learning_rate_init=0.1,
        max_iter=5,
        tol=0.0,
        random_state=0,
        dtype="float64",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        weighted = MLPClassifier(batch_size=30, **options).fit(X, y, sample_weight=weights)
        kept = weights > 0
        dropped = MLPClassifier(batch_size=int(kept.sum()), **options).fit(X[kept], y[kept])
    for a, b in zip(weighted.coefs_ + weighted.intercepts_, dropped.coefs_ + dropped.intercepts_, strict=True):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-14)


def test_partial_fit_warm_start_early_stopping_and_the_functional_api():
    from funcmlp import backprop

    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(60, 3)), rng.integers(0, 2, 60)
    model = MLPClassifier((6,), random_state=0, dtype="float64")
    for _ in range(3):
        model.partial_fit(X, y, classes=[0, 1])
    assert (
        model.n_iter_ == 1 and len(model.loss_curve_) == 3 and model.t_ == 180
    )  # n_iter_: this call's epochs, as scikit-learn
    with pytest.raises(ValueError, match="first call to partial_fit needs classes="):
        MLPClassifier().partial_fit(X, y)
    with pytest.raises(ValueError, match=r"y has labels not seen in the first fit or given as classes: \[2\]"):
        model.partial_fit(X, np.where(y == 0, 2, 1))
    mlp, params = model.to_funcmlp()
    assert (
        mlp.sizes == (3, 6, 1)
        and model.out_activation_ == "logistic"
        and model.funcmlp_loss_ == "sigmoid_binary_cross_entropy"
    )
    logits = np.asarray(mlp.apply(params, X))[:, 0]
    assert np.allclose(model.predict_proba(X)[:, 1], 1 / (1 + np.exp(-logits)), rtol=1e-12)
    assert backprop(mlp, params, X, y.astype(float), model.funcmlp_loss_).grads[0].W.shape == (3, 6)
    early = MLPClassifier((6,), early_stopping=True, n_iter_no_change=3, max_iter=500, random_state=0).fit(X, y)
    assert early.best_loss_ is None and len(early.validation_scores_) == early.n_iter_ < 500
    assert early.best_validation_score_ == max(early.validation_scores_)
    warm = MLPClassifier((6,), max_iter=2, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        first = [W.copy() for W in warm.fit(X, y).coefs_]
        second = warm.fit(X, y).coefs_
    assert warm.n_iter_ == 2 and len(warm.loss_curve_) == 4 and not np.array_equal(first[0], second[0])


def test_autodiff_trains_like_the_manual_backprop_and_bad_parameters_are_named():
    rng = np.random.default_rng(3)
    X, y = rng.normal(size=(50, 3)), rng.normal(size=(50, 2))
    options = dict(hidden_layer_sizes=(5,), max_iter=20, random_state=0, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        manual = MLPRegressor(**options).fit(X, y)
        autodiff = MLPRegressor(gradient="autodiff", **options).fit(X, y)
    for a, b in zip(manual.coefs_, autodiff.coefs_, strict=True):
        assert np.allclose(a, b, rtol=1e-10, atol=1e-13)
    for bad, message in [
        ({"solver": "newton"}, "solver='newton' is not supported; expected one of lbfgs, sgd, adam"),
        ({"activation": "sigmoidal"}, "sigmoidal"),
        ({"learning_rate": "optimal"}, "learning_rate must be one of constant, invscaling, adaptive"),
        ({"hidden_layer_sizes": (4, 0)}, "hidden_layer_sizes must be positive integers"),
    ]:
        with pytest.raises(ValueError, match=message):
            MLPRegressor(**bad).fit(X, y)


def test_adaptive_learning_rate_divides_the_rate_by_five_when_the_loss_stalls():
    rng = np.random.default_rng(4)
    X, y = rng.normal(size=(40, 2)), rng.integers(0, 2, 40)
    for alpha in (1e-4, 0.0):
        model = MLPClassifier(
            (4,),
            solver="sgd",
            learning_rate="adaptive",
            learning_rate_init=0.5,
            alpha=alpha,
            tol=0.5,
            n_iter_no_change=2,
            max_iter=30,
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model.fit(X, y)
        rate = _rate(model._opt_state)
        assert (
            model.n_iter_ > 3
            and rate < 0.5
            and np.isclose(0.5 / rate, 5 ** round(np.log(0.5 / rate) / np.log(5)), rtol=1e-5)
        )


def test_the_perceptron_learns_seed_003s_gates_and_pickles():
    import pickle

    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
    for gate, target in {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1]}.items():
        model = Perceptron(shuffle=False, tol=None).fit(X, target)
        assert model.predict(X).tolist() == target and model.mistakes_[-1] == 0, gate
    restored = pickle.loads(pickle.dumps(model))
    assert np.array_equal(restored.predict(X), model.predict(X))
    mlp, params = model.to_funcmlp()
    assert np.asarray(mlp.apply(params, X))[:, 0].tolist() == [0, 1, 1, 1]
    corners = np.vstack([X, X + [6, 0], X + [0, 6]])  # one-vs-rest separable: three units, the largest net input wins
    three = Perceptron(random_state=0).fit(corners, [0] * 4 + [1] * 4 + [2] * 4)
    assert three.coef_.shape == (3, 2) and three.score(corners, [0] * 4 + [1] * 4 + [2] * 4) == 1.0


def test_regressor_poisson_loss_as_scikit_learn_reports_it():
    """loss="poisson": predictions are the rate exp(a), loss_ scikit-learn's half Poisson deviance
    (written here with numpy from the fitted predictions), near scikit-learn's own fit."""
    from sklearn import neural_network

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 4))
    y = rng.poisson(np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1])).astype(float)
    options = dict(loss="poisson", hidden_layer_sizes=(16,), max_iter=150, learning_rate_init=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPRegressor(batch_size=300, dtype="float64", **options).fit(X, y)
        theirs = neural_network.MLPRegressor(batch_size=300, **options).fit(X, y)
    assert ours.out_activation_ == theirs.out_activation_ == "exp" and ours.get_params()["loss"] == "poisson"
    rate = ours.predict(X)
    assert (rate > 0).all()
    # one batch per epoch: loss_ is the deviance at the last epoch's starting weights, close to the final one
    deviance = np.mean(np.where(y > 0, y * np.log(np.where(y > 0, y, 1) / rate), 0) - y + rate)
    assert ours.loss_ == pytest.approx(deviance, rel=0.02)
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=0.1) and ours.score(X, y) == pytest.approx(
        theirs.score(X, y), abs=0.1
    )


def test_regressor_takes_funcmlp_regression_losses_and_refuses_the_others():
    X, y = np.random.default_rng(0).normal(size=(40, 3)), np.linspace(-2, 2, 40)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        assert MLPRegressor(loss="huber(1.35)", max_iter=2).fit(X, y).funcmlp_loss_ == "huber(1.35)"
    for loss, match in [
        ("hinge", "loss 'hinge' is a classification loss; MLPRegressor takes regression losses"),
        ("l1", "loss must be 'squared_error', 'poisson' or a regression loss of funcmlp's registry .* got 'l1'"),
    ]:
        with pytest.raises(ValueError, match=match):
            MLPRegressor(loss=loss).fit(X, y)


@pytest.mark.parametrize("class_weight", ["balanced", {"b": 4.0, "c": 0.5}])
def test_class_weight_trains_as_scikit_learns_mlp_on_the_weights_written_here(class_weight):
    """class_weight="balanced" is n / (n_classes * count) per class, a dict its own numbers (classes it
    does not name: 1), each times the row's sample_weight: 3 epochs in batches of 15 from the same
    weights equal scikit-learn's MLPClassifier given those products as sample_weight, to 1e-10."""
    from sklearn import neural_network

    rng = np.random.default_rng(3)
    X = rng.normal(size=(40, 5))
    y = np.array(["a"] * 26 + ["b"] * 10 + ["c"] * 4)[rng.permutation(40)]
    rows = rng.uniform(0.5, 2.0, 40)
    if class_weight == "balanced":
        per_class = {"a": 40 / (3 * 26), "b": 40 / (3 * 10), "c": 40 / (3 * 4)}
    else:
        per_class = {"a": 1.0, "b": 4.0, "c": 0.5}
    weights = rows * np.array([per_class[label] for label in y])
    options = dict(
        hidden_layer_sizes=(6,), activation="tanh", solver="adam", learning_rate_init=0.05, alpha=1e-3,
        batch_size=15, shuffle=False, max_iter=3, tol=0.0, n_iter_no_change=100, random_state=0, warm_start=True,
    )  # fmt: skip
    ours = MLPClassifier(dtype="float64", class_weight=class_weight, **options)
    theirs = neural_network.MLPClassifier(**options)
    _same_start(ours, theirs, X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours.fit(X, y, sample_weight=rows)
        theirs.fit(X, y, sample_weight=weights)
    _assert_same_weights(ours, theirs)
    unweighted = neural_network.MLPClassifier(**options)
    _same_start(ours, unweighted, X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        unweighted.fit(X, y, sample_weight=rows)
    assert np.max(np.abs(unweighted.coefs_[0] - ours.coefs_[0])) > 1e-3  # the class weights changed the fit


def test_class_weight_refuses_what_it_cannot_weigh_and_a_refusal_changes_nothing():
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.array([0, 1, 2] * 4)
    cases = [
        (dict(class_weight="balance"), "class_weight must be None, 'balanced' or a dict"),
        (dict(class_weight={3: 1.0}), r"class_weight names \[3\], not among the classes \[0, 1, 2\]"),
        (dict(class_weight={1: -1.0}), r"weights must be finite numbers >= 0, got \{1: -1.0\}"),
        (dict(class_weight={1: float("nan")}), "weights must be finite numbers >= 0"),
        (dict(class_weight={1: "3"}), r"weights must be finite numbers >= 0, got \{1: '3'\}"),
    ]
    for options, message in cases:
        with pytest.raises(ValueError, match=message):
            MLPClassifier((3,), max_iter=1, **options).fit(X, y)
    with pytest.raises(ValueError, match="class_weight='balanced' needs every label at once"):
        MLPClassifier((3,), class_weight="balanced").partial_fit(X, y, classes=[0, 1, 2])
    with pytest.raises(ValueError, match="y is a label-indicator matrix"):
        MLPClassifier((3,), max_iter=1, class_weight="balanced").fit(X, np.eye(3)[y])
    with warnings.catch_warnings():  # a fitted model refused a class_weight for other data: as it was
        warnings.simplefilter("ignore")
        for model in (MLPClassifier((3,), max_iter=5, random_state=0), Perceptron(max_iter=5)):
            model.fit(X, y)
            before = model.predict_proba(X) if hasattr(model, "predict_proba") else model.decision_function(X)
            with pytest.raises(ValueError, match=r"class_weight names \[2\], not among the classes \[0, 1\]"):
                model.set_params(class_weight={2: 1.0}).fit(X[y < 2], y[y < 2])
            after = model.predict_proba(X) if hasattr(model, "predict_proba") else model.decision_function(X)
            assert model.classes_.tolist() == [0, 1, 2] and np.array_equal(before, after)


def test_class_weight_in_partial_fit_lbfgs_and_column_labels_equals_the_sample_weights_written_here():
    X = np.random.default_rng(0).normal(size=(12, 2))
    y = np.array([0, 1, 2] * 4)
    per_row = np.array([1.0, 1.0, 3.0])[y]
    lbfgs = dict(hidden_layer_sizes=(3,), max_iter=5, solver="lbfgs", random_state=0, dtype="float64")
    adam = dict(hidden_layer_sizes=(3,), random_state=0, dtype="float64", learning_rate_init=0.1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pairs = [
            (
                MLPClassifier(class_weight={2: 3.0}, **adam).partial_fit(X, y, classes=[0, 1, 2]),
                MLPClassifier(**adam).partial_fit(X, y, classes=[0, 1, 2], sample_weight=per_row),
            ),
            (
                MLPClassifier(class_weight={0: 0.5, 2: 2.0}, **lbfgs).fit(X, y.reshape(-1, 1)),
                MLPClassifier(**lbfgs).fit(X, y, sample_weight=np.array([0.5, 1.0, 2.0])[y]),
            ),
        ]
        unweighted = MLPClassifier(**adam).partial_fit(X, y, classes=[0, 1, 2])
    for by_class, by_row in pairs:
        assert np.array_equal(by_class.coefs_[0], by_row.coefs_[0])
    assert not np.array_equal(pairs[0][0].coefs_[0], unweighted.coefs_[0])


def test_the_perceptrons_class_weight_scales_each_rows_step_as_its_sample_weight():
    """The perceptron rule with class_weight={1: 2.5} and row weights s: the weights of the rule
    given s * (2.5 for class 1, 1 otherwise) as sample_weight, which differ from the unweighted rule's."""
    rng = np.random.default_rng(4)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] + 0.5 * rng.normal(size=30) > 0.3).astype(int)
    rows = rng.uniform(0.5, 2.0, 30)
    options = dict(shuffle=False, tol=None, max_iter=8, dtype="float64")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        by_class = Perceptron(class_weight={1: 2.5}, **options).fit(X, y, sample_weight=rows)
        by_row = Perceptron(**options).fit(X, y, sample_weight=rows * np.where(y == 1, 2.5, 1.0))
        plain = Perceptron(**options).fit(X, y, sample_weight=rows)
    assert np.array_equal(by_class.coef_, by_row.coef_) and np.array_equal(by_class.intercept_, by_row.intercept_)
    assert not np.allclose(by_class.coef_, plain.coef_)
