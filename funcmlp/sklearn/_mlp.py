"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's estimators, trained by funcmlp.

Each epoch is :class:`funcmlp.Trainer`'s compiled epoch (the manual backprop, or
``jax.grad`` with ``gradient="autodiff"``); between epochs the estimator applies
scikit-learn's stopping rules (``tol``, ``n_iter_no_change``, ``early_stopping`` on the
validation score) and its adaptive learning rate. A refit of equal hyper-parameters on data of
the same size bucket (a grid search's folds) compiles nothing. The estimators check and prepare
the data here; the stochastic solvers' loop is ``_stochastic.py``, L-BFGS ``_lbfgs.py``. Every
piece of JAX work (fit, predict, ``to_funcmlp``) runs in the fitted dtype's 64-bit mode
(``_dtype.computing_in``): float64 input is fitted and predicted in float64 with JAX's flag off.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from funcmlp.checks import check_fits_dtype
from funcmlp.core.model import MLP
from funcmlp.core.padding import pad_rows, padded_rows
from funcmlp.core.params import Layer
from funcmlp.evaluation import compiled_apply
from funcmlp.sklearn._checks import SKLEARN_ACTIVATIONS, check_params, hidden_sizes, stochastic
from funcmlp.sklearn._continuing import check_memory, check_same_network
from funcmlp.sklearn._dtype import computing_in, fitted_dtype
from funcmlp.sklearn._lbfgs import fit_lbfgs
from funcmlp.sklearn._parameters import estimator_init
from funcmlp.sklearn._stochastic import fit_stochastic

SKLEARN_FLOAT64 = "fit with dtype='float64' (or give float64 X)"


class _BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: scikit-learn's parameters and fitting loop."""

    __init__ = estimator_init()

    # -- what the subclasses define ------------------------------------------------------------
    def _loss_scale(self) -> float:
        """scikit-learn's loss over funcmlp's (the regressor's squared error is per output)."""
        return 1.0

    def _reported_loss(self, loss: float) -> float:
        """``loss_`` from funcmlp's loss: scaled, plus the constant funcmlp leaves out."""
        return loss * self._loss_scale() + self._loss_offset

    def _check_warm_start(self, y) -> None:
        """A warm-started ``fit`` takes the targets it fitted before (the classifier: the same classes)."""

    def _weighted(self, y, sample_weight, *, keep: bool, classes, incremental: bool):
        """The rows' weights in training (the classifier multiplies in its ``class_weight``); before
        anything of the estimator changes."""
        return sample_weight

    def _constant_of_loss(self, Y, sample_weight) -> float:
        """What ``loss_`` adds to funcmlp's training loss (a constant of the training rows): 0."""
        return 0.0

    def _targets(self, y, first: bool, classes=None) -> np.ndarray:  # pragma: no cover - abstract
        raise NotImplementedError

    def _score_checked(self, X, y, sample_weight, params) -> float:  # pragma: no cover - abstract
        """The score (accuracy, R^2) of ``params`` on data already checked (the validation split)."""
        raise NotImplementedError

    # -- the network -----------------------------------------------------------------------------
    def _mlp(self) -> MLP:
        sizes = (self.n_features_in_, *hidden_sizes(self), self.n_outputs_)
        return MLP(
            sizes, SKLEARN_ACTIVATIONS.get(self.activation, self.activation), output="identity", dropout=self.dropout
        )

    def to_funcmlp(self):
        """``(mlp, params)`` of the fitted network for funcmlp's functional API and derivations;
        its outputs are logits for the classifier (loss ``self.funcmlp_loss_``). The params are JAX
        arrays of ``dtype_``: use float64 ones where JAX computes in float64 (its 64-bit mode on, or
        inside ``with jax.enable_x64(True):``), or JAX casts them to float32.

        Example:
            >>> import numpy as np
            >>> from funcmlp.sklearn import MLPRegressor
            >>> model = MLPRegressor(hidden_layer_sizes=(4,), max_iter=3, random_state=0)
            >>> model = model.fit(np.eye(3), [0.0, 1.0, 2.0])
            >>> mlp, params = model.to_funcmlp()
            >>> mlp.sizes, params[0].W.shape
            ((3, 4, 1), (3, 4))
        """
        check_is_fitted(self)
        with computing_in(self.dtype_):
            params = tuple(
                Layer(jnp.asarray(W, self.dtype_), jnp.asarray(b, self.dtype_))
                for W, b in zip(self.coefs_, self.intercepts_, strict=True)
            )
        return self._mlp(), params

    def _outputs(self, X, params=None) -> np.ndarray:
        """The network's outputs ``(n, n_outputs_)`` (logits for the classifier), float64; with
        ``params``, those of ``params`` on ``X`` already checked."""
        if params is None:
            check_is_fitted(self)
            X = validate_data(self, X, reset=False, dtype=(np.float64, np.float32), accept_sparse=("csr", "csc"))
            X = X.toarray() if hasattr(X, "toarray") else X
        # rows padded to training's size buckets (multiples of 64): one compiled program per bucket, and XLA's CPU
        # matmul rounds a row by where it falls in the last, partial tile, so without this a row's float32 output
        # could change by one unit in the last place when the batch around it changes (scikit-learn checks subset
        # and order invariance)
        check_fits_dtype(np.asarray(X), self.dtype_, "X", SKLEARN_FLOAT64)
        padded = pad_rows(np.asarray(X, self.dtype_), padded_rows(X.shape[0]))
        with computing_in(self.dtype_):
            params = self.to_funcmlp()[1] if params is None else params
            return np.asarray(compiled_apply(self._mlp(), params, padded), np.float64)[: X.shape[0]]

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` ``(n_samples, n_features)``, ``y`` for up to ``max_iter`` epochs; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, *, incremental: bool, classes=None):
        check_params(self)
        fitted = hasattr(self, "coefs_")
        keep = fitted and (incremental or self.warm_start)
        if keep:
            check_same_network(self, incremental)
        if incremental and self.early_stopping:
            raise ValueError(
                "partial_fit does not support early_stopping=True; fit with early stopping, or set it False"
            )
        X, y = validate_data(
            self,
            X,
            y,
            reset=not keep,
            dtype=(np.float64, np.float32),
            multi_output=True,
            y_numeric=self._y_numeric,
            accept_sparse=("csr", "csc"),
        )
        if hasattr(X, "toarray"):  # scipy sparse inputs: dense for the network (funcmlp's layers are dense)
            X = X.toarray()
        if keep and not incremental:
            self._check_warm_start(y)
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight, X, dtype=np.float64)
        sample_weight = self._weighted(y, sample_weight, keep=keep, classes=classes, incremental=incremental)
        if not keep:
            self.dtype_ = fitted_dtype(self.dtype, X)
        with computing_in(self.dtype_):  # JAX's 64-bit mode for a float64 fit, the caller's setting restored after
            check_fits_dtype(np.asarray(X), self.dtype_, "X", SKLEARN_FLOAT64)
            if sample_weight is not None:  # (class weights included) in the estimator's words, as X and y
                check_fits_dtype(np.asarray(sample_weight), self.dtype_, "sample_weight", SKLEARN_FLOAT64)
            Y = self._targets(y, first=not keep, classes=classes)
            if not keep:
                self.n_outputs_ = Y.shape[1]
                self.n_layers_ = len(hidden_sizes(self)) + 2
            check_memory(self, X.shape[0])
            rng = check_random_state(self.random_state)
            if keep and incremental and hasattr(self, "_key_data"):
                key = jax.random.wrap_key_data(jnp.asarray(self._key_data))
            else:
                key = jax.random.key(rng.randint(np.iinfo(np.int32).max))
            key_init, key = jax.random.split(key)
            mlp = self._mlp()
            if keep:
                params = self.to_funcmlp()[1]
            else:
                # drawn in float32 and cast: float32 and float64 fits of one random_state start from the same weights
                params = jax.tree_util.tree_map(
                    lambda a: a.astype(self.dtype_), mlp.init(key_init, init="glorot_uniform", dtype="float32")
                )
            if self.solver == "lbfgs":  # the whole data at once: no batches, epochs or validation split
                self._loss_offset = self._constant_of_loss(Y, sample_weight)
                return fit_lbfgs(self, mlp, params, X, Y, sample_weight)
            return fit_stochastic(
                self, mlp, params, (X, Y, y, sample_weight), key, rng, keep=keep, incremental=incremental
            )

    @staticmethod
    def _arrays(params):
        layers = jax.device_get(params)
        return [np.asarray(layer.W) for layer in layers], [np.asarray(layer.b) for layer in layers]

    @available_if(stochastic)
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over ``X``, ``y``, going on from the current weights and optimizer state."""
        return self._fit(X, y, sample_weight, incremental=True)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.input_tags.sparse = True  # densified (the layers are dense)
        return tags
