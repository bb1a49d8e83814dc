"""scikit-learn's own MLP tests (the installed ``sklearn/neural_network/tests/test_mlp.py``, not a
copy) run against funcmlp.sklearn by swapping its two estimators in (tests/sklearn_peer_plugin.py),
in JAX's default configuration (its 64-bit mode off, as a scikit-learn user runs it); the four of
its tests that call scikit-learn's private functions rewritten through the public API here; and
solver="lbfgs" against scikit-learn's on the digits and a regression set."""

import ast
import os
import subprocess
import sys
import warnings
import xml.etree.ElementTree as ElementTree

import jax
import numpy as np
import pytest
import sklearn
from sklearn import neural_network
from sklearn.datasets import load_digits, make_regression
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import MinMaxScaler, StandardScaler
from sklearn_peer_plugin import SUMMARY

import funcmlp
from funcmlp.sklearn import MLPClassifier, MLPRegressor

SKLEARN = os.path.dirname(sklearn.__file__)
PEER = os.path.join(SKLEARN, "neural_network", "tests", "test_mlp.py")
CASES = 59
"""The test cases of scikit-learn 1.9.1's test_mlp.py (its parametrizations counted)."""
PRIVATE = {  # they call scikit-learn's private functions and attributes; rewritten below
    "test_fit": "sets _coef_grads, _intercept_velocity, ... by hand before partial_fit",
    "test_gradient": "calls _loss_grad_lbfgs",
    "test_learning_rate_warmstart": "reads _optimizer.learning_rate",
    "test_adaptive_learning_rate": "reads _optimizer.learning_rate",
}
TRAJECTORY = {  # scikit-learn's numbers of its own optimizer's path, which another correct one need not take
    "test_lbfgs_classification_maxfun[X1-y1]": "with the logistic activation optax's L-BFGS meets tol=1e-4 after 8 "
    "iterations and 9 evaluations of the loss, where scipy's takes more than max_fun=10 (the test expects the warning)",
    "test_predict_proba_multilabel": "the fit is closer than scikit-learn's (loss 6.3e-4 vs 7.4e-4): two labels' "
    "probabilities both round to 1.0 in 3 of 50 rows, and argmax of the tie differs from argmax of the log "
    "probabilities; every probability is on the right side of 1/2 (checked below)",
}
GROUP_STARTS = ("test_alpha", "test_multilabel_classification", "test_n_iter_no_change")
"""scikit-learn's file cut where these test functions start (file order), one new process each, so that the
suite's workers share them: about 20, 18 and 18 s of tests alone on 2 cores, each process ~4.5 s of start-up
(JAX, scikit-learn, funcmlp). The L-BFGS tests, which compile the same programs, are in one."""


def _peer_functions() -> list[str]:
    """The test functions of scikit-learn's file in its order, read from its source."""
    with open(PEER, encoding="utf-8") as file:
        tree = ast.parse(file.read())
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")]


def _group(index: int) -> list[str]:
    functions = _peer_functions()
    missing = [name for name in GROUP_STARTS if name not in functions]
    assert not missing and functions[0] == GROUP_STARTS[0], f"GROUP_STARTS {missing} not in {PEER}: cut it anew"
    cuts = [functions.index(name) for name in GROUP_STARTS] + [len(functions)]
    return functions[cuts[index] : cuts[index + 1]]


@pytest.mark.parametrize("group", range(len(GROUP_STARTS)), ids=GROUP_STARTS)
def test_scikit_learns_mlp_tests_pass_against_funcmlp(group, tmp_path):
    """Every case of the group's test functions passes but the six named above, which fail (none
    skipped, none an error); the process started with JAX's 64-bit mode off and every test left it
    off (the plugin refuses otherwise); it collected the file's 59 cases of the functions read here."""
    names = _group(group)
    report = tmp_path / "peer.xml"
    env = {name: value for name, value in os.environ.items() if name != "JAX_ENABLE_X64"}
    # no plugin of the environment's (xdist, hypothesis: 1-3 s of imports a process), this project's only
    env.update(PYTHONPATH=os.path.dirname(__file__), JAX_PLATFORMS="cpu", PYTEST_DISABLE_PLUGIN_AUTOLOAD="1")
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "sklearn_peer_plugin"]
    # scikit-learn's conftest.py (its fixtures) is loaded, this project's (which turns 64-bit mode on) is not
    command += ["-o", "addopts=", f"--confcutdir={SKLEARN}", f"--junitxml={report}", f"--peer-tests={','.join(names)}"]
    done = subprocess.run([*command, PEER], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=900)
    summary = [line for line in done.stdout.splitlines() if line.startswith(SUMMARY)]
    assert summary and report.exists(), done.stdout[-3000:] + done.stderr[-3000:]
    cases, functions = summary[0][len(SUMMARY) :].split(" cases of: ")
    assert int(cases) == CASES and functions.split() == _peer_functions()
    outcomes = {}
    for case in ElementTree.parse(report).getroot().iter("testcase"):
        kinds = {child.tag for child in case} & {"failure", "error", "skipped"}
        outcomes[case.get("name")] = kinds.pop() if kinds else "passed"
    assert {name.split("[")[0] for name in outcomes} == set(names), done.stdout[-3000:]
    failed = {name for name, outcome in outcomes.items() if outcome != "passed"}
    expected = {name for name in {**PRIVATE, **TRAJECTORY} if name.split("[")[0] in names}
    assert failed == expected, done.stdout[-5000:]
    assert all(outcomes[name] == "failure" for name in failed)  # none skipped, none an error of collection


def test_fit_rewritten_the_worked_example():
    """scikit-learn's test_fit through the public API: the weights set as attributes, one SGD step
    by partial_fit; the numbers are the ones worked out by hand in scikit-learn's test."""
    X, y = np.array([[0.6, 0.8, 0.7]]), np.array([0])
    options = dict(solver="sgd", learning_rate_init=0.1, alpha=0.1, activation="logistic", momentum=0)
    mlp = MLPClassifier(hidden_layer_sizes=2, random_state=1, dtype="float64", **options)
    mlp.partial_fit(X, y, classes=[0, 1])  # the network and the optimizer, then the example's weights
    mlp.coefs_ = [np.array([[0.1, 0.2], [0.3, 0.1], [0.5, 0]]), np.array([[0.1], [0.2]])]
    mlp.intercepts_ = [np.array([0.1, 0.1]), np.array([1.0])]
    mlp.partial_fit(X, y)
    np.testing.assert_allclose(
        mlp.coefs_[0], [[0.098, 0.195756], [0.2956664, 0.096008], [0.4939998, -0.002244]], atol=1e-3
    )
    np.testing.assert_allclose(mlp.coefs_[1], [[0.04706], [0.154089]], atol=1e-3)
    np.testing.assert_allclose(mlp.intercepts_[0], [0.098333, 0.09626], atol=1e-3)
    np.testing.assert_allclose(mlp.intercepts_[1], [0.9235], atol=1e-3)
    assert mlp.predict_proba(X)[0, 1] == pytest.approx(0.739, abs=1e-3)


@pytest.mark.parametrize("activation", ["identity", "logistic", "tanh", "relu"])
def test_gradient_rewritten_loss_and_l2_against_finite_differences(activation):
    """scikit-learn's test_gradient through the public API: the gradient L-BFGS minimises with (the
    mean loss plus alpha/2 ||W||^2 / n) from funcmlp's manual backprop, against central differences
    (funcmlp.check_function), for 2 and 3 classes and a regression."""
    rng = np.random.RandomState(0)
    X = rng.random_sample((5, 10))
    alpha = 1e-5
    for estimator, y in [
        (MLPClassifier, 1 + np.mod(np.arange(5) + 1, 2)),
        (MLPClassifier, 1 + np.mod(np.arange(5) + 1, 3)),
        (MLPRegressor, rng.standard_normal(5)),
    ]:
        # the fit only shapes the network and moves its weights from the start: one SGD epoch (scikit-learn's test
        # takes one L-BFGS iteration, whose program, compiled for each of the 12 networks, was 60 % of this test)
        model = estimator(activation=activation, hidden_layer_sizes=10, solver="sgd", alpha=alpha, max_iter=1)
        model.set_params(dtype="float64", random_state=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X, y)
        mlp, params = model.to_funcmlp()
        Y = model._targets(y, first=False) if estimator is MLPRegressor else None
        targets = Y if Y is not None else model._label_binarizer.transform(y).astype(np.float64)
        scale = 1.0 / model.n_outputs_ if estimator is MLPRegressor else 1.0

        def objective(p):
            penalty = 0.5 * alpha * sum(jax.numpy.sum(layer.W**2) for layer in p) / len(X)
            return scale * funcmlp.objective(mlp, p, X, targets, model.funcmlp_loss_) + penalty

        def by_hand(p):
            grads = funcmlp.backprop(mlp, p, X, targets, model.funcmlp_loss_).grads
            return (
                tuple(
                    funcmlp.Layer(scale * g.W + alpha * w.W / len(X), scale * g.b)
                    for g, w in zip(grads, p, strict=True)
                ),
            )

        # both compiled: one program each, not jax's operations one by one (the same functions)
        report = funcmlp.check_function(jax.jit(objective), params, grad=jax.jit(by_hand), eps=1e-5)
        assert report.passed, str(report)


def test_learning_rate_warmstart_and_adaptive_rewritten():
    """scikit-learn's two tests of the SGD rate through the public learning_rate_: invscaling after
    two warm-started fits of 4 samples is eta_0 / (8 + 1)^power_t, constant stays; "adaptive"
    divides by 5 until it is below 1e-6 and then stops before max_iter."""
    X, y = [[3, 2], [1, 6], [5, 6], [-2, -4]], [1, 1, 1, 0]
    for learning_rate in ["invscaling", "constant"]:
        mlp = MLPClassifier(solver="sgd", hidden_layer_sizes=4, learning_rate=learning_rate, max_iter=1)
        mlp.set_params(power_t=0.25, warm_start=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            mlp.fit(X, y)
            before = mlp.learning_rate_
            mlp.fit(X, y)
        if learning_rate == "constant":
            assert mlp.learning_rate_ == before == mlp.learning_rate_init
        else:
            assert mlp.learning_rate_ == pytest.approx(mlp.learning_rate_init / (8 + 1) ** mlp.power_t, rel=1e-6)
    clf = MLPClassifier(tol=0.5, max_iter=3000, solver="sgd", learning_rate="adaptive").fit([[3, 2], [1, 6]], [1, 0])
    assert clf.n_iter_ < clf.max_iter and clf.learning_rate_ < 1e-6


def test_the_two_trajectory_cases_in_their_own_terms():
    """What the two peer tests check that does not depend on scipy's path: L-BFGS stopped by
    max_fun warns and keeps n_iter_ <= max_fun; multi-label probabilities are on the right side of
    1/2, do not sum to 1, and their logarithms are predict_log_proba."""
    from sklearn.datasets import make_multilabel_classification

    X, y = load_digits(n_class=2, return_X_y=True)
    X = MinMaxScaler().fit_transform(X[:200])
    mlp = MLPClassifier(solver="lbfgs", hidden_layer_sizes=50, max_iter=150, max_fun=5, random_state=1)
    with pytest.warns(ConvergenceWarning, match="it reached max_fun=5"):
        mlp.set_params(activation="logistic", dtype="float64").fit(X, y[:200])
    assert mlp.n_iter_ <= 5
    X, Y = make_multilabel_classification(n_samples=50, random_state=0, return_indicator=True)
    clf = MLPClassifier(solver="lbfgs", hidden_layer_sizes=30, random_state=0, dtype="float64").fit(X, Y)
    proba = clf.predict_proba(X)
    np.testing.assert_array_equal(proba > 0.5, Y)
    assert np.abs(proba.sum(1) - 1).max() > 0.1
    np.testing.assert_allclose(clf.predict_log_proba(X), np.log(proba), rtol=1e-6, atol=1e-12)


def test_lbfgs_matches_scikit_learns_accuracy_on_the_digits_and_a_regression():
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(MinMaxScaler().fit_transform(X), y, random_state=0)
    options = dict(solver="lbfgs", hidden_layer_sizes=(64,), max_iter=200, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPClassifier(dtype="float64", **options).fit(X_train, y_train).score(X_test, y_test)
        theirs = neural_network.MLPClassifier(**options).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= theirs - 0.015 and ours > 0.9
    X, y = make_regression(n_samples=400, n_features=8, noise=5.0, random_state=0)
    X_train, X_test, y_train, y_test = train_test_split(StandardScaler().fit_transform(X), y, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        ours = MLPRegressor(dtype="float64", **options).fit(X_train, y_train).score(X_test, y_test)
        theirs = neural_network.MLPRegressor(**options).fit(X_train, y_train).score(X_test, y_test)
    assert ours >= theirs - 0.01 and ours > 0.95


@pytest.mark.parametrize("gradient", ["manual", "autodiff"])
def test_the_lbfgs_objective_and_its_gradient(gradient):
    """What solver="lbfgs" minimises: scale x the weighted mean loss + alpha/2 sum ||W||^2 / sum w,
    written here with jax.numpy (squared error on 2 outputs, non-uniform weights); its gradient
    (the manual backprop through a custom_vjp, or jax.grad) against central differences."""
    from funcmlp.sklearn._lbfgs import _objective

    rng = np.random.default_rng(0)
    mlp = funcmlp.MLP((3, 4, 2), ["tanh", "identity"])
    params = mlp.init(jax.random.key(0), dtype="float64")
    x, y, w = rng.normal(size=(6, 3)), rng.normal(size=(6, 2)), rng.uniform(0.5, 2.0, size=6)
    alpha, scale = 0.3, 0.5
    objective = _objective(mlp, funcmlp.get_loss("half_sse"), gradient, scale, alpha, x, y, w)

    def written_here(p):
        hidden = jax.numpy.tanh(x @ p[0].W + p[0].b)
        per_example = 0.5 * jax.numpy.sum((hidden @ p[1].W + p[1].b - y) ** 2, axis=1)
        penalty = 0.5 * alpha * (jax.numpy.sum(p[0].W ** 2) + jax.numpy.sum(p[1].W ** 2)) / w.sum()
        return scale * jax.numpy.sum(w * per_example) / w.sum() + penalty

    assert float(objective(params)) == pytest.approx(float(written_here(params)), rel=1e-14)
    report = funcmlp.check_function(objective, params, grad=lambda p: (jax.grad(written_here)(p),))
    assert report.passed, str(report)


def test_lbfgs_goes_on_past_a_line_search_that_accepts_a_rise():
    """A review found it: optax's zoom line search accepted a rise of 1e-6 |f| by default and the fit
    stopped at iteration 431 warning "no decrease" (largest gradient entry 0.73); with scipy's strict
    sufficient decrease it converges; and lbfgs refuses dropout."""
    X, y = make_regression(n_samples=200, n_features=5, noise=10, random_state=0)
    X = StandardScaler().fit_transform(X)
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        model = MLPRegressor(solver="lbfgs", hidden_layer_sizes=(10,), max_iter=5000, random_state=0, dtype="float64")
        model.fit(X, y)
    # converged (no warning) past where it stopped, to a lower loss (the minimum reached depends on rounding:
    # 37.25 in a plain process, 40.82 under this suite's settings, both local minima with the gradient <= tol)
    assert model.n_iter_ > 431 and model.loss_ < 41.1213 and model.learning_rate_ is None
    with pytest.raises(ValueError, match="solver='lbfgs' takes no dropout"):
        MLPRegressor(solver="lbfgs", dropout=0.5).fit(X, y)
