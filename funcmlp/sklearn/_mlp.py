"""``MLPClassifier`` and ``MLPRegressor``: scikit-learn's estimators, trained by funcmlp.

Each epoch is :class:`funcmlp.Trainer`'s compiled epoch (the manual backprop, or
``jax.grad`` with ``gradient="autodiff"``); between epochs the estimator applies
scikit-learn's stopping rules (``tol``, ``n_iter_no_change``, ``early_stopping`` on the
validation score) and its adaptive learning rate. A refit of equal hyper-parameters on data of
the same size bucket (a grid search's folds) compiles nothing.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.utils import check_random_state
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from funcmlp.core.model import MLP
from funcmlp.core.padding import pad_rows, padded_rows
from funcmlp.core.params import Layer
from funcmlp.evaluation import compiled_apply
from funcmlp.sklearn._checks import SKLEARN_ACTIVATIONS, check_params, hidden_sizes, stochastic
from funcmlp.sklearn._labels import fitted_dtype
from funcmlp.sklearn._lbfgs import fit_lbfgs
from funcmlp.sklearn._optimizers import _optimizer, _rate, _squared_weights, _with_rate
from funcmlp.sklearn._parameters import estimator_init
from funcmlp.training import TrainConfig, Trainer, TrainingDiverged


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
        its outputs are logits for the classifier (loss ``self.funcmlp_loss_``).

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
            params = self.to_funcmlp()[1]
        # rows padded to training's size buckets (multiples of 64): one compiled program per bucket, and XLA's CPU
        # matmul rounds a row by where it falls in the last, partial tile, so without this a row's float32 output
        # could change by one unit in the last place when the batch around it changes (scikit-learn checks subset
        # and order invariance)
        padded = pad_rows(np.asarray(X, self.dtype_), padded_rows(X.shape[0]))
        return np.asarray(compiled_apply(self._mlp(), params, padded), np.float64)[: X.shape[0]]

    # -- fitting ---------------------------------------------------------------------------------
    def fit(self, X, y, sample_weight=None):
        """Train on ``X`` ``(n_samples, n_features)``, ``y`` for up to ``max_iter`` epochs; returns self."""
        return self._fit(X, y, sample_weight, incremental=False)

    def _fit(self, X, y, sample_weight, *, incremental: bool, classes=None):
        check_params(self)
        fitted = hasattr(self, "coefs_")
        keep = fitted and (incremental or self.warm_start)
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
        Y = self._targets(y, first=not keep, classes=classes)
        if not keep:
            self.n_outputs_ = Y.shape[1]
            self.n_layers_ = len(hidden_sizes(self)) + 2
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
        X_val = y_val = weight_val = None
        early = self.early_stopping and not incremental
        if early:
            classifier = isinstance(self, ClassifierMixin) and self._label_binarizer.y_type_ != "multilabel-indicator"
            stratify = Y.astype(bool) if classifier else None  # scikit-learn stratifies its 0/1 targets
            parts = train_test_split(
                X,
                Y,
                y,
                *(() if sample_weight is None else (sample_weight,)),
                random_state=rng,
                test_size=self.validation_fraction,
                stratify=stratify,
            )
            X, X_val, Y, _, _, y_val = parts[:6]
            if sample_weight is not None:
                sample_weight, weight_val = parts[6:]
            if X_val.shape[0] < 2:
                raise ValueError(
                    f"The validation set is too small: {X_val.shape[0]} sample of validation_fraction="
                    f"{self.validation_fraction} of {X_val.shape[0] + X.shape[0]}; increase 'validation_fraction' or "
                    "the size of your dataset (a score needs at least 2 samples)"
                )
        samples = X.shape[0]
        self._loss_offset = self._constant_of_loss(Y, sample_weight)
        batch = min(200, samples) if self.batch_size == "auto" else int(self.batch_size)
        if batch > samples:
            warnings.warn(
                f"Got `batch_size` larger than the {samples} training samples; it is clipped to {samples}", stacklevel=3
            )
            batch = samples
        optimizer = _optimizer(
            self.solver,
            float(self.learning_rate_init),
            float(self.momentum),
            bool(self.nesterovs_momentum),
            float(self.beta_1),
            float(self.beta_2),
            float(self.epsilon),
            float(self.alpha),
            str(np.dtype(self.dtype_)),
        )
        opt_state = self._opt_state if incremental and keep and hasattr(self, "_opt_state") else None
        if not keep:
            self.loss_curve_, self.t_ = [], 0
            self.best_loss_ = None if self.early_stopping else np.inf
            self.validation_scores_ = [] if self.early_stopping else None
            self.best_validation_score_ = -np.inf if self.early_stopping else None
            self._no_improvement_count = 0
        self.n_iter_ = 0  # scikit-learn: the epochs of this call
        best_params = before = params
        batch_weight = batch * (
            1.0 if sample_weight is None else float(np.mean(sample_weight))
        )  # a batch's typical weight
        last_epoch = 1 if incremental else self.max_iter
        config = TrainConfig(
            loss=self.funcmlp_loss_,
            optimizer=optimizer,
            batch_size=batch,
            gradient=self.gradient,
            classification=False,
            shuffle=bool(self.shuffle),
        )
        trainer = Trainer(mlp, params, (X, Y), config, sample_weight=sample_weight)
        state, last = trainer.start(params, key, opt_state), None
        validation = (X_val, y_val, weight_val) if early else None
        stopped = False
        try:
            for epoch in range(1, last_epoch + 1):
                try:
                    state, record = trainer.epoch(state, epoch, validate=False)
                except TrainingDiverged as diverged:
                    if not early:
                        raise ValueError(
                            "Solver produced non-finite parameter weights. The input data may contain large values "
                            f"and need to be preprocessed ({diverged.where}); scale the inputs, or lower "
                            "learning_rate_init"
                        ) from None
                    # scikit-learn goes on with NaN scores until early stopping ends it: the best params stay
                    self.n_iter_ += 1
                    self.loss_curve_.append(float("nan"))
                    self.validation_scores_.append(float("nan"))
                    stopped = True
                    break
                last = state
                if self._record_epoch(record.train_loss, state.params, before, samples, batch_weight, validation):
                    best_params = state.params
                before = state.params
                rate, stopped = self._next_rate(state.opt_state)
                if rate is not None:  # scikit-learn sets the SGD rate between epochs: in the state, nothing recompiles
                    state = state._replace(opt_state=_with_rate(state.opt_state, rate))
                    last = state
                if stopped:
                    break
        except KeyboardInterrupt:
            warnings.warn("Training interrupted by user.", stacklevel=3)
            if last is None:
                raise
            state = last
        final = best_params if early else state.params
        self.coefs_, self.intercepts_ = self._arrays(final)
        self._opt_state = jax.device_get(state.opt_state)
        # the rate the next epoch would take: SGD's as its schedule left it (invscaling, adaptive), Adam's constant
        self.learning_rate_ = _rate(self._opt_state) if self.solver == "sgd" else float(self.learning_rate_init)
        self._key_data = np.asarray(jax.random.key_data(state.key))
        if not incremental and not stopped and self.n_iter_ >= self.max_iter:
            warnings.warn(
                f"Stochastic Optimizer: Maximum iterations ({self.max_iter}) reached "
                "and the optimization hasn't converged yet.",
                ConvergenceWarning,
                stacklevel=3,
            )
        return self

    def _record_epoch(
        self, train_loss: float, params, start_params, samples: int, batch_weight: float, validation
    ) -> bool:
        """scikit-learn's bookkeeping after an epoch: ``n_iter_``, ``t_``, ``loss_`` (with the L2
        penalty at the epoch's starting weights: exact for one batch per epoch), ``loss_curve_``,
        the validation score and the count of epochs without improvement; True when the
        validation score is the best so far."""
        self.n_iter_ += 1
        self.t_ += samples
        penalty = 0.5 * self.alpha * float(_squared_weights(start_params)) / batch_weight if self.alpha else 0.0
        self.loss_ = self._reported_loss(train_loss) + penalty
        self.loss_curve_.append(self.loss_)
        if self.verbose:
            print(f"Iteration {self.n_iter_}, loss = {self.loss_:.8f}")
        if validation is None:
            if (
                self.best_loss_ is not None
            ):  # None: early_stopping's fit, here partial_fit's epoch (no validation split)
                self._no_improvement_count = (
                    self._no_improvement_count + 1 if self.loss_ > self.best_loss_ - self.tol else 0
                )
                self.best_loss_ = min(self.best_loss_, self.loss_)
            return False
        score = self._score_checked(*validation, params)
        self.validation_scores_.append(score)
        if self.verbose:
            print(f"Validation score: {score:f}")
        self._no_improvement_count = (
            self._no_improvement_count + 1 if score < self.best_validation_score_ + self.tol else 0
        )
        best = score > self.best_validation_score_
        self.best_validation_score_ = max(score, self.best_validation_score_)
        return best

    def _next_rate(self, opt_state) -> tuple[float | None, bool]:
        """After an epoch, scikit-learn's optimizer: the SGD rate for the next epoch (None: it stays)
        and whether to stop (``n_iter_no_change`` epochs without improvement; with
        ``learning_rate="adaptive"`` the rate is divided by 5 instead, down to 1e-6)."""
        sgd = self.solver == "sgd"
        rate = None
        if (
            sgd and self.learning_rate == "invscaling"
        ):  # scikit-learn's iteration_ends: eta_0 / (samples seen + 1)^power_t
            rate = float(self.learning_rate_init) / (self.t_ + 1) ** float(self.power_t)
        if self._no_improvement_count <= self.n_iter_no_change:
            return rate, False
        current = rate if rate is not None else _rate(opt_state) if sgd else None
        if sgd and self.learning_rate == "adaptive" and current > 1e-6:
            self._no_improvement_count = 0
            if self.verbose:
                print(f"Setting learning rate to {current / 5.0:f}")
            return current / 5.0, False
        if self.verbose:
            print(
                f"{'Validation score' if self.early_stopping else 'Training loss'} "
                f"did not improve more than tol={self.tol} "
                f"for {self.n_iter_no_change} consecutive epochs. Stopping."
            )
        return rate, True

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
