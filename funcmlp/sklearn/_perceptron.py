"""``Perceptron``: seed 003's single-layer perceptron and its learning rule (eq. 6) as a
scikit-learn classifier (:func:`funcmlp.training.perceptron.perceptron_epoch` runs each epoch)."""

from __future__ import annotations

import warnings

import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, column_or_1d, validate_data

from funcmlp.core.model import MLP
from funcmlp.core.params import Layer
from funcmlp.sklearn._dtype import check_dtype, computing_in
from funcmlp.sklearn._labels import check_first_partial_fit, encode_labels, weights_of_classes
from funcmlp.training.perceptron import perceptron_epoch


class Perceptron(ClassifierMixin, BaseEstimator):
    """Seed 003's perceptron: one layer of hard-limit units, ``a = hardlimit(b + x W)`` (1 where
    the net input is >= 0), trained one example at a time by the perceptron rule
    ``theta <- theta + eta0 [1 x]^T (y - a)`` (eq. 6). Two classes: one unit; more: one unit per
    class (one-vs-rest), the class of the largest net input wins.

    Parameters (scikit-learn's names): ``eta0`` (eta), ``max_iter`` (epochs), ``tol`` and
    ``n_iter_no_change`` (stop when the epoch's error rate has not dropped by ``tol`` for that
    many epochs; ``tol=None``: only at ``max_iter`` or when an epoch makes no mistake),
    ``shuffle``, ``random_state``, ``fit_intercept``, ``warm_start``, ``verbose``,
    ``class_weight`` (``"balanced"`` or ``{label: weight}``: each row's step, on every unit,
    times its class's weight and its ``sample_weight``; scikit-learn's ``Perceptron`` weighs, on
    the unit of class c, only the rows of class c: the two agree for two classes); ``dtype``.
    Attributes: ``coef_`` ``(1 or n_classes, n_features)``, ``intercept_``, ``classes_``,
    ``n_iter_``, ``t_`` (examples seen + 1), ``mistakes_`` (per epoch: examples that moved the
    weights), ``n_features_in_``.

    Example (seed 003: AND is learned, XOR never is):
        >>> import numpy as np
        >>> X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]])
        >>> model = Perceptron(shuffle=False, tol=None).fit(X, [0, 0, 0, 1])
        >>> model.predict(X).tolist(), model.coef_.tolist(), model.intercept_.tolist(), model.n_iter_
        ([0, 0, 0, 1], [[2.0, 1.0]], [-3.0], 6)
        >>> xor = Perceptron(shuffle=False, tol=None, max_iter=20).fit(X, [0, 1, 1, 0])  # warns: no convergence
        >>> xor.score(X, [0, 1, 1, 0]) < 1, min(xor.mistakes_) > 0
        (True, True)
    """

    def __init__(
        self,
        *,
        eta0=1.0,
        max_iter=1000,
        tol=1e-3,
        n_iter_no_change=5,
        shuffle=True,
        random_state=0,
        fit_intercept=True,
        warm_start=False,
        verbose=0,
        class_weight=None,
        dtype="float32",
    ):
        self.eta0 = eta0
        self.max_iter = max_iter
        self.tol = tol
        self.n_iter_no_change = n_iter_no_change
        self.shuffle = shuffle
        self.random_state = random_state
        self.fit_intercept = fit_intercept
        self.warm_start = warm_start
        self.verbose = verbose
        self.class_weight = class_weight
        self.dtype = dtype

    def _check_params(self) -> None:
        problems = [
            (np.isfinite(self.eta0) and self.eta0 > 0, f"eta0 must be a positive learning rate, got {self.eta0!r}"),
            (
                isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1,
                f"max_iter must be a positive integer, got {self.max_iter!r}",
            ),
            (self.tol is None or self.tol >= 0, f"tol must be >= 0 or None, got {self.tol!r}"),
            (
                isinstance(self.n_iter_no_change, (int, np.integer)) and self.n_iter_no_change >= 1,
                f"n_iter_no_change must be a positive integer, got {self.n_iter_no_change!r}",
            ),
        ]
        for ok, message in problems:
            if not ok:
                raise ValueError(message)
        check_dtype(self.dtype)

    def fit(self, X, y, sample_weight=None):
        """Train for up to ``max_iter`` epochs (fresh weights unless ``warm_start``); returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """One epoch of the rule; the first call needs ``classes`` (every label there will be)."""
        check_first_partial_fit(self, classes)
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _fit(self, X, y, sample_weight, *, incremental: bool, classes=None):
        self._check_params()
        with computing_in(self.dtype):  # JAX's 64-bit mode for a float64 perceptron, the caller's flag restored
            return self._train(X, y, sample_weight, incremental=incremental, classes=classes)

    def _train(self, X, y, sample_weight, *, incremental: bool, classes):
        keep = hasattr(self, "coef_") and (incremental or self.warm_start)
        X, y = validate_data(self, X, y, reset=not keep, dtype=(np.float64, np.float32))
        y = column_or_1d(y, warn=True)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        weights = weights_of_classes(self, y, sample_weight, keep=keep, classes=classes, incremental=incremental)
        targets = jnp.asarray(encode_labels(self, y, not keep, classes), self.dtype)
        if not keep:
            self.coef_ = np.zeros((targets.shape[1], X.shape[1]), self.dtype)
            self.intercept_ = np.zeros(targets.shape[1], self.dtype)
            self.t_, self.mistakes_ = 1, []
        self.n_iter_ = 0  # the epochs of this call, as scikit-learn counts them
        weights = None if weights is None else jnp.asarray(weights, self.dtype)
        x = jnp.asarray(X, self.dtype)
        params = (Layer(jnp.asarray(self.coef_.T), jnp.asarray(self.intercept_)),)
        rng = check_random_state(self.random_state)
        best, no_improvement, converged = np.inf, 0, False
        for _ in range(1 if incremental else self.max_iter):
            order = rng.permutation(len(x)) if self.shuffle else np.arange(len(x))
            params, mistakes = perceptron_epoch(
                params,
                x,
                targets,
                jnp.asarray(order),
                jnp.asarray(self.eta0, self.dtype),
                weights,
                fit_intercept=bool(self.fit_intercept),
            )
            mistakes = int(mistakes)
            self.n_iter_ += 1
            self.t_ += len(x)
            self.mistakes_.append(mistakes)
            if self.verbose:
                print(f"-- Epoch {self.n_iter_}: {mistakes} of {len(x)} examples moved the weights")
            if mistakes == 0:
                converged = True
                break
            error = mistakes / len(x)
            no_improvement = no_improvement + 1 if self.tol is not None and error > best - self.tol else 0
            best = min(best, error)
            if no_improvement >= self.n_iter_no_change:
                converged = True
                break
        self.coef_ = np.asarray(params[0].W).T.copy()
        self.intercept_ = np.asarray(params[0].b).copy()
        if not incremental and not converged:
            warnings.warn(
                f"Maximum number of iteration reached ({self.max_iter}) before convergence. "
                "Consider increasing max_iter.",
                ConvergenceWarning,
                stacklevel=4,
            )
        return self

    def decision_function(self, X) -> np.ndarray:
        """Net inputs ``b + x W``: ``(n,)`` for two classes, ``(n, n_classes)`` for more."""
        check_is_fitted(self)
        X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32))
        scores = np.asarray(X, np.float64) @ self.coef_.T.astype(np.float64) + self.intercept_.astype(np.float64)
        return scores[:, 0] if scores.shape[1] == 1 else scores

    def predict(self, X) -> np.ndarray:
        """Labels ``(n,)``: the hard limit (net input >= 0) for two classes, else the largest net input."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores >= 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def to_funcmlp(self):
        """``(MLP((n_features, units), output="hardlimit"), params)`` for funcmlp's API and derivations."""
        check_is_fitted(self)
        with computing_in(self.coef_.dtype):
            params = (Layer(jnp.asarray(self.coef_.T), jnp.asarray(self.intercept_)),)
        return MLP((self.n_features_in_, self.coef_.shape[0]), output="hardlimit"), params
