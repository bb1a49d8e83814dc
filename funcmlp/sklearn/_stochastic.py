"""scikit-learn's stochastic solvers (``"sgd"``, ``"adam"``) on funcmlp's compiled epochs: the
early-stopping split (stratified as scikit-learn's), the batch size rule, the optimizer whose
numbers live in its state (another rate or momentum compiles nothing), one
:class:`~funcmlp.training.Trainer` epoch after another with scikit-learn's bookkeeping between
them (``loss_curve_``, ``t_``, the validation scores, ``n_iter_no_change``, the invscaling and
adaptive rates), a diverging fit as scikit-learn reports it, Ctrl-C keeping the last whole epoch.

Contract: called by the estimators' ``_fit`` with the checked data, the starting params and key;
sets scikit-learn's fitted attributes on the estimator and returns it. L-BFGS is ``_lbfgs.py``.
"""

from __future__ import annotations

import warnings

import jax
import numpy as np
from sklearn.base import ClassifierMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split

from funcmlp.sklearn._continuing import check_same_optimizer, optimizer_settings
from funcmlp.sklearn._optimizers import _optimizer, _rate, _squared_weights, _with_rate
from funcmlp.training import TrainConfig, Trainer, TrainingDiverged


def fit_stochastic(estimator, mlp, params, data: tuple, key, rng, *, keep: bool, incremental: bool):
    """``estimator.fit`` (or one ``partial_fit`` epoch) with ``solver="sgd"`` or ``"adam"``:
    ``data`` is ``(X, Y, y, sample_weight)``, the checked inputs, the network's targets, the
    labels as given (for the stratified split) and the weights or None."""
    X, Y, y, sample_weight = data
    X_val = y_val = weight_val = None
    early = estimator.early_stopping and not incremental
    if early:
        classifier = (
            isinstance(estimator, ClassifierMixin) and estimator._label_binarizer.y_type_ != "multilabel-indicator"
        )
        stratify = Y.astype(bool) if classifier else None  # scikit-learn stratifies its 0/1 targets
        parts = train_test_split(
            X,
            Y,
            y,
            *(() if sample_weight is None else (sample_weight,)),
            random_state=rng,
            test_size=estimator.validation_fraction,
            stratify=stratify,
        )
        X, X_val, Y, _, _, y_val = parts[:6]
        if sample_weight is not None:
            sample_weight, weight_val = parts[6:]
        if X_val.shape[0] < 2:
            raise ValueError(
                f"The validation set is too small: {X_val.shape[0]} sample of validation_fraction="
                f"{estimator.validation_fraction} of {X_val.shape[0] + X.shape[0]}; increase 'validation_fraction' or "
                "the size of your dataset (a score needs at least 2 samples)"
            )
    samples = X.shape[0]
    estimator._loss_offset = estimator._constant_of_loss(Y, sample_weight)
    batch = min(200, samples) if estimator.batch_size == "auto" else int(estimator.batch_size)
    if batch > samples:
        warnings.warn(
            f"Got `batch_size` larger than the {samples} training samples; it is clipped to {samples}", stacklevel=4
        )
        batch = samples
    optimizer = _optimizer(
        estimator.solver,
        float(estimator.learning_rate_init),
        float(estimator.momentum),
        bool(estimator.nesterovs_momentum),
        float(estimator.beta_1),
        float(estimator.beta_2),
        float(estimator.epsilon),
        float(estimator.alpha),
        str(np.dtype(estimator.dtype_)),
    )
    opt_state = estimator._opt_state if incremental and keep and hasattr(estimator, "_opt_state") else None
    if opt_state is not None:
        check_same_optimizer(estimator, optimizer, params, opt_state)
    if not keep:
        estimator.loss_curve_, estimator.t_ = [], 0
        estimator.best_loss_ = None if estimator.early_stopping else np.inf
        estimator.validation_scores_ = [] if estimator.early_stopping else None
        estimator.best_validation_score_ = -np.inf if estimator.early_stopping else None
        estimator._no_improvement_count = 0
    estimator.n_iter_ = 0  # scikit-learn: the epochs of this call
    best_params = before = params
    batch_weight = batch * (1.0 if sample_weight is None else float(np.mean(sample_weight)))  # a batch's typical weight
    last_epoch = 1 if incremental else estimator.max_iter
    config = TrainConfig(
        loss=estimator.funcmlp_loss_,
        optimizer=optimizer,
        batch_size=batch,
        gradient=estimator.gradient,
        classification=False,
        shuffle=bool(estimator.shuffle),
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
                estimator.n_iter_ += 1
                estimator.loss_curve_.append(float("nan"))
                estimator.validation_scores_.append(float("nan"))
                stopped = True
                break
            last = state
            if _record_epoch(estimator, record.train_loss, state.params, before, samples, batch_weight, validation):
                best_params = state.params
            before = state.params
            rate, stopped = _next_rate(estimator, state.opt_state)
            if rate is not None:  # scikit-learn sets the SGD rate between epochs: in the state, nothing recompiles
                state = state._replace(opt_state=_with_rate(state.opt_state, rate))
                last = state
            if stopped:
                break
    except KeyboardInterrupt:
        warnings.warn("Training interrupted by user.", stacklevel=4)
        if last is None:
            raise
        state = last
    final = best_params if early else state.params
    estimator.coefs_, estimator.intercepts_ = estimator._arrays(final)
    estimator._opt_state = jax.device_get(state.opt_state)
    estimator._opt_settings = optimizer_settings(estimator)
    # the rate the next epoch would take: SGD's as its schedule left it (invscaling, adaptive), Adam's constant
    estimator.learning_rate_ = (
        _rate(estimator._opt_state) if estimator.solver == "sgd" else float(estimator.learning_rate_init)
    )
    estimator._key_data = np.asarray(jax.random.key_data(state.key))
    if not incremental and not stopped and estimator.n_iter_ >= estimator.max_iter:
        warnings.warn(
            f"Stochastic Optimizer: Maximum iterations ({estimator.max_iter}) reached "
            "and the optimization hasn't converged yet.",
            ConvergenceWarning,
            stacklevel=4,
        )
    return estimator


def _record_epoch(
    estimator, train_loss: float, params, start_params, samples: int, batch_weight: float, validation
) -> bool:
    """scikit-learn's bookkeeping after an epoch: ``n_iter_``, ``t_``, ``loss_`` (with the L2
    penalty at the epoch's starting weights: exact for one batch per epoch), ``loss_curve_``,
    the validation score and the count of epochs without improvement; True when the
    validation score is the best so far."""
    estimator.n_iter_ += 1
    estimator.t_ += samples
    penalty = 0.5 * estimator.alpha * float(_squared_weights(start_params)) / batch_weight if estimator.alpha else 0.0
    estimator.loss_ = estimator._reported_loss(train_loss) + penalty
    estimator.loss_curve_.append(estimator.loss_)
    if estimator.verbose:
        print(f"Iteration {estimator.n_iter_}, loss = {estimator.loss_:.8f}")
    if validation is None:
        if (
            estimator.best_loss_ is not None
        ):  # None: early_stopping's fit, here partial_fit's epoch (no validation split)
            estimator._no_improvement_count = (
                estimator._no_improvement_count + 1 if estimator.loss_ > estimator.best_loss_ - estimator.tol else 0
            )
            estimator.best_loss_ = min(estimator.best_loss_, estimator.loss_)
        return False
    score = estimator._score_checked(*validation, params)
    estimator.validation_scores_.append(score)
    if estimator.verbose:
        print(f"Validation score: {score:f}")
    estimator._no_improvement_count = (
        estimator._no_improvement_count + 1 if score < estimator.best_validation_score_ + estimator.tol else 0
    )
    best = score > estimator.best_validation_score_
    estimator.best_validation_score_ = max(score, estimator.best_validation_score_)
    return best


def _next_rate(estimator, opt_state) -> tuple[float | None, bool]:
    """After an epoch, scikit-learn's optimizer: the SGD rate for the next epoch (None: it stays)
    and whether to stop (``n_iter_no_change`` epochs without improvement; with
    ``learning_rate="adaptive"`` the rate is divided by 5 instead, down to 1e-6)."""
    sgd = estimator.solver == "sgd"
    rate = None
    if (
        sgd and estimator.learning_rate == "invscaling"
    ):  # scikit-learn's iteration_ends: eta_0 / (samples seen + 1)^power_t
        rate = float(estimator.learning_rate_init) / (estimator.t_ + 1) ** float(estimator.power_t)
    if estimator._no_improvement_count <= estimator.n_iter_no_change:
        return rate, False
    current = rate if rate is not None else _rate(opt_state) if sgd else None
    if sgd and estimator.learning_rate == "adaptive" and current > 1e-6:
        estimator._no_improvement_count = 0
        if estimator.verbose:
            print(f"Setting learning rate to {current / 5.0:f}")
        return current / 5.0, False
    if estimator.verbose:
        print(
            f"{'Validation score' if estimator.early_stopping else 'Training loss'} "
            f"did not improve more than tol={estimator.tol} "
            f"for {estimator.n_iter_no_change} consecutive epochs. Stopping."
        )
    return rate, True
