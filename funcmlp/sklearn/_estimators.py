"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's two MLP estimators on :class:`_BaseMLP`."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax, xlogy
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import column_or_1d

from funcmlp.checks import check_fits_dtype
from funcmlp.registry.losses import get_loss
from funcmlp.sklearn._checks import stochastic
from funcmlp.sklearn._dtype import computing_in
from funcmlp.sklearn._labels import check_first_partial_fit, encode_labels, weights_of_classes
from funcmlp.sklearn._mlp import SKLEARN_FLOAT64, _BaseMLP
from funcmlp.sklearn._parameters import estimator_init


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's ``MLPClassifier``, trained by funcmlp (see :mod:`funcmlp.sklearn`).

    Two classes: one logistic output unit and ``sigmoid_binary_cross_entropy``; more: a softmax
    over one unit per class and ``softmax_cross_entropy``; a label-indicator matrix
    (multi-label): one logistic unit per label. Labels may be strings or any sortable values.
    ``class_weight`` (funcmlp's; scikit-learn's MLP has none): ``"balanced"`` (each class weighs
    ``n / (n_classes * count)``, counted in ``y``) or ``{label: weight}`` multiplies each row's ``sample_weight``
    in the loss, the L-BFGS objective and the early-stopping score (the accuracy weighs each
    class as the loss does).

    Example:
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> model = MLPClassifier((16,), max_iter=300, learning_rate_init=0.01, random_state=0).fit(X, y)
        >>> model.score(X, y) > 0.95, model.predict_proba(X[:2]).shape, [w.shape for w in model.coefs_]
        (True, (2, 3), [(4, 16), (16, 3)])
    """

    __init__ = estimator_init(last=(("class_weight", None),))
    _y_numeric = False

    def _targets(self, y, first: bool, classes=None) -> np.ndarray:
        if y.ndim == 2 and y.shape[1] == 1:
            y = column_or_1d(y, warn=True)
        targets = encode_labels(self, y, first, classes)
        if first:
            self.out_activation_ = "softmax" if self._label_binarizer.y_type_ == "multiclass" else "logistic"
            self.funcmlp_loss_ = (
                "softmax_cross_entropy" if self.out_activation_ == "softmax" else "sigmoid_binary_cross_entropy"
            )
        return targets.astype(self.dtype_)

    def _weighted(self, y, sample_weight, *, keep: bool, classes, incremental: bool):
        return weights_of_classes(self, y, sample_weight, keep=keep, classes=classes, incremental=incremental)

    def _check_warm_start(self, y) -> None:
        if self._label_binarizer.y_type_ == "multilabel-indicator":
            return
        if not np.array_equal(np.unique(y), self.classes_):
            raise ValueError(
                "warm_start can only be used where `y` has the same classes as in the previous call to fit. "
                f"Previously got {self.classes_}, `y` has {np.unique(y)}; set warm_start=False to fit anew"
            )

    @available_if(stochastic)
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over ``X``, ``y``; the first call needs ``classes`` (every label there will be)."""
        check_first_partial_fit(self, classes)
        return self._fit(X, y, sample_weight, incremental=True, classes=classes)

    def _score_checked(self, X, y, sample_weight, params) -> float:
        return accuracy_score(y, self._labels(self._outputs(X, params)), sample_weight=sample_weight)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities ``(n, n_classes)`` (multi-label: ``(n, n_labels)``, each label's)."""
        logits = self._outputs(X)
        if self.out_activation_ == "softmax":
            return softmax(logits, axis=1)
        p = expit(logits)
        return np.hstack([1 - p, p]) if self._label_binarizer.y_type_ == "binary" else p

    def predict_log_proba(self, X) -> np.ndarray:
        """The logarithm of :meth:`predict_proba`, computed from the logits (no log of 0)."""
        logits = self._outputs(X)
        if self.out_activation_ == "softmax":
            return log_softmax(logits, axis=1)
        if self._label_binarizer.y_type_ == "binary":
            return np.hstack([log_expit(-logits), log_expit(logits)])
        return log_expit(logits)

    def predict(self, X) -> np.ndarray:
        """Labels ``(n,)`` (multi-label: an indicator matrix ``(n, n_labels)``)."""
        return self._labels(self._outputs(X))

    def _labels(self, logits) -> np.ndarray:
        if len(self.classes_) == 1:  # fitted on one class (as scikit-learn allows): it is every prediction
            return np.full(logits.shape[0], self.classes_[0])
        if self.out_activation_ == "softmax":
            return self.classes_[np.argmax(logits, axis=1)]
        if self._label_binarizer.y_type_ == "binary":
            return self.classes_[(logits[:, 0] > 0).astype(int)]
        return (logits > 0).astype(int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


REGRESSION_LOSSES = {"squared_error": "half_sse", "poisson": "poisson"}
"""scikit-learn's names of ``MLPRegressor``'s losses and funcmlp's (any funcmlp regression loss works too)."""


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's ``MLPRegressor``, trained by funcmlp (see :mod:`funcmlp.sklearn`): identity
    outputs, one per target column. ``loss="squared_error"`` trains as scikit-learn trains on
    funcmlp's ``half_sse`` (``1/2 sum_j (y_j - a_j)^2``, mean over the batch); ``loss_`` is reported
    as scikit-learn reports it, per output (``half_sse / n_outputs_``). ``loss="poisson"``: the
    outputs are the log of the rate, predictions the rate ``exp(a)`` (``out_activation_ = "exp"``),
    and ``loss_`` is scikit-learn's half Poisson deviance (funcmlp's ``poisson`` plus its
    constant, the mean of ``y log y - y``). Any other regression loss of funcmlp's registry
    works by name: ``"huber(1.35)"``, ``"absolute_error"``, or a loss of one's own
    (:func:`funcmlp.register_loss`).

    Example:
        >>> import numpy as np
        >>> X = np.linspace(-1, 1, 64).reshape(-1, 1); y = np.hstack([X ** 2, -X])
        >>> model = MLPRegressor(
        ...     hidden_layer_sizes=(32,), activation="tanh", learning_rate_init=0.01, max_iter=300,
        ...     n_iter_no_change=300, random_state=0
        ... ).fit(X, y)
        >>> model.predict(X).shape, model.score(X, y) > 0.9
        ((64, 2), True)
    """

    _y_numeric = True

    __init__ = estimator_init(first=(("loss", "squared_error"),))

    def _loss_scale(self) -> float:
        return 1.0 / self.n_outputs_ if self.funcmlp_loss_ == "half_sse" else 1.0

    def _targets(self, y, first: bool, classes=None) -> np.ndarray:
        check_fits_dtype(np.asarray(y), self.dtype_, "y", SKLEARN_FLOAT64)
        y = np.asarray(y, self.dtype_)
        y = y.reshape(-1, 1) if y.ndim == 1 else y
        if first:
            loss = self._funcmlp_loss()
            self.funcmlp_loss_ = str(loss)
            self.out_activation_ = "exp" if loss.spec.mean is not None else "identity"
        return y

    def _constant_of_loss(self, Y, sample_weight) -> float:
        # scikit-learn's half Poisson deviance is funcmlp's poisson plus the (weighted) mean of y log y - y
        if self.funcmlp_loss_ != "poisson":
            return 0.0
        return float(np.sum(np.average(xlogy(Y, Y) - Y, axis=0, weights=sample_weight)))

    def _funcmlp_loss(self):
        name = REGRESSION_LOSSES.get(self.loss, self.loss)
        try:
            loss = get_loss(name)
        except ValueError as error:
            raise ValueError(
                f"loss must be 'squared_error', 'poisson' or a regression loss of funcmlp's registry "
                f"('huber(1.35)', 'absolute_error', ...), got {self.loss!r}: {error}"
            ) from None
        if loss.is_classification:
            raise ValueError(f"loss {self.loss!r} is a classification loss; MLPRegressor takes regression losses")
        return loss

    def predict(self, X) -> np.ndarray:
        """Predictions ``(n,)``, or ``(n, n_outputs)`` for several targets (the rate for ``poisson``)."""
        outputs = self._predictions(self._outputs(X))
        return outputs[:, 0] if self.n_outputs_ == 1 else outputs

    def _predictions(self, outputs: np.ndarray) -> np.ndarray:
        with computing_in(self.dtype_):  # the loss's mean (exp for poisson) in JAX, in the fitted dtype
            return np.asarray(get_loss(self.funcmlp_loss_).mean(outputs), self.dtype_)

    def _score_checked(self, X, y, sample_weight, params) -> float:
        return r2_score(y, self._predictions(self._outputs(X, params)), sample_weight=sample_weight)
