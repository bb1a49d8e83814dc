"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's two MLP estimators on :class:`_BaseMLP`."""

from __future__ import annotations

import numpy as np
from scipy.special import expit, log_expit, log_softmax, softmax
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils.validation import column_or_1d

from funcmlp.sklearn._labels import check_first_partial_fit, encode_labels
from funcmlp.sklearn._mlp import _BaseMLP


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """scikit-learn's ``MLPClassifier``, trained by funcmlp (see :mod:`funcmlp.sklearn`).

    Two classes: one logistic output unit and ``sigmoid_binary_cross_entropy``; more: a softmax
    over one unit per class and ``softmax_cross_entropy``; a label-indicator matrix
    (multi-label): one logistic unit per label. Labels may be strings or any sortable values.

    Example:
        >>> from sklearn.datasets import load_iris
        >>> X, y = load_iris(return_X_y=True)
        >>> model = MLPClassifier((16,), max_iter=300, learning_rate_init=0.01, random_state=0).fit(X, y)
        >>> model.score(X, y) > 0.95, model.predict_proba(X[:2]).shape, [w.shape for w in model.coefs_]
        (True, (2, 3), [(4, 16), (16, 3)])
    """

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
        return targets.astype(self.dtype)

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
        if self.out_activation_ == "softmax":
            return self.classes_[np.argmax(logits, axis=1)]
        if self._label_binarizer.y_type_ == "binary":
            return self.classes_[(logits[:, 0] > 0).astype(int)]
        return (logits > 0).astype(int)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, _BaseMLP):
    """scikit-learn's ``MLPRegressor``, trained by funcmlp (see :mod:`funcmlp.sklearn`): identity
    outputs, one per target column, trained as scikit-learn trains them on funcmlp's
    ``half_sse`` (``1/2 sum_j (y_j - a_j)^2``, mean over the batch); ``loss_`` is reported as
    scikit-learn reports it, per output (``half_sse / n_outputs_``).

    Example:
        >>> import numpy as np
        >>> X = np.linspace(-1, 1, 64).reshape(-1, 1); y = np.hstack([X ** 2, -X])
        >>> model = MLPRegressor(
        ...     (32,), activation="tanh", learning_rate_init=0.01, max_iter=300, n_iter_no_change=300, random_state=0
        ... ).fit(X, y)
        >>> model.predict(X).shape, model.score(X, y) > 0.9
        ((64, 2), True)
    """

    _y_numeric = True

    def _reported_loss(self, loss: float) -> float:
        return loss / self.n_outputs_

    def _targets(self, y, first: bool, classes=None) -> np.ndarray:
        if first:
            self.out_activation_, self.funcmlp_loss_ = "identity", "half_sse"
        y = np.asarray(y, self.dtype)
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def predict(self, X) -> np.ndarray:
        """Predictions ``(n,)``, or ``(n, n_outputs)`` for several targets."""
        outputs = self._outputs(X)
        return outputs[:, 0] if self.n_outputs_ == 1 else outputs

    def _score_checked(self, X, y, sample_weight, params) -> float:
        return r2_score(y, self._outputs(X, params), sample_weight=sample_weight)
