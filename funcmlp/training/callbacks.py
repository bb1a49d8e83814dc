"""What :func:`funcmlp.fit` does after each epoch besides training: early stopping and checkpoints.

Contract::

    EarlyStopping(patience, min_delta).update(state) -> stop?       keeps .best (params) and history.best_epoch
    Checkpoints(folder, mlp, optimizer, every=, last=, options=, early=).after(state, stop)   writes the
        training state (funcmlp.io.training_state) every ``every`` epochs, after ``last`` and when stopping;
        .save(state) on Ctrl-C or divergence; only process 0 writes
"""

from __future__ import annotations

import math

import jax
import numpy as np

from funcmlp.arguments import check_positive_int
from funcmlp.core.model import MLP
from funcmlp.io.training_state import TrainingState, save_state
from funcmlp.training.history import EpochState


class EarlyStopping:
    """Stop when the validation loss has not improved by more than ``min_delta`` for ``patience``
    epochs; :attr:`best` holds the params of the best epoch (``history.best_epoch``).

    Example:
        >>> from funcmlp.training.history import History
        >>> rule, history = EarlyStopping(patience=1, min_delta=0.0), History(val_loss=[1.0])
        >>> rule.update(EpochState(1, "p1", None, None, history)), history.best_epoch
        (False, 1)
        >>> history.val_loss.append(2.0); rule.update(EpochState(2, "p2", None, None, history)), rule.best
        (True, 'p1')
    """

    def __init__(self, patience: int, min_delta: float = 0.0, best=None):
        patience = check_positive_int(patience, "early_stopping", "epochs without improvement before stopping")
        if not (isinstance(min_delta, (int, float)) and math.isfinite(min_delta) and min_delta >= 0):
            raise ValueError(f"min_delta must be a finite number >= 0 (the improvement that counts), got {min_delta!r}")
        self.patience, self.min_delta, self.best = patience, float(min_delta), best

    def update(self, state: EpochState) -> bool:
        """Note the epoch's validation loss; True when training should stop."""
        history = state.history
        best_loss = history.val_loss[history.best_epoch - 1] if history.best_epoch else np.inf
        if history.val_loss[-1] < best_loss - self.min_delta:
            self.best, history.best_epoch = state.params, state.epoch
        return state.epoch - history.best_epoch >= self.patience


class Checkpoints:
    """The training state of a run in ``folder`` (:mod:`funcmlp.io.training_state`), written atomically."""

    def __init__(
        self,
        folder,
        mlp: MLP,
        optimizer,
        *,
        every: int = 1,
        last: int | None = None,
        options: dict | None = None,
        early: EarlyStopping | None = None,
    ):
        every = check_positive_int(every, "checkpoint_every", "epochs between checkpoints")
        self.folder, self.mlp, self.optimizer, self.every, self.last = folder, mlp, optimizer, every, last
        self.options, self.early = options or {}, early

    def save(self, state: EpochState) -> None:
        """Write ``state`` (its history up to its epoch: an interrupt may land after the next epoch's row was added)."""
        if jax.process_index() != 0:
            return
        opt_state = state.opt_state if state.opt_state is not None else self.optimizer.init(state.params)
        best = self.early.best if self.early is not None else None
        save_state(
            self.folder,
            self.mlp,
            TrainingState(
                state.params, opt_state, state.key, state.epoch, state.history.upto(state.epoch), self.options, best
            ),
        )

    def after(self, state: EpochState, stop: bool) -> None:
        """After an epoch: write when due (every ``every`` epochs, the last one, or when stopping)."""
        if state.epoch % self.every == 0 or state.epoch == self.last or stop:
            self.save(state)
