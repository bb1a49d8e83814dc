"""What training records and reports: :class:`History`, :class:`EpochState`, :class:`TrainingDiverged`.

Contract::

    History: per-epoch lists (train/val loss and accuracy, seconds, skipped steps, clipped fraction), best_epoch;
             iterated, one dict per epoch: pandas.DataFrame(history)
    EpochState(epoch, params, opt_state, key, history): where a run stands after an epoch
    TrainingDiverged(message, params=, opt_state=, history=, epoch=, step=, layer=, cause=)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import jax

from funcmlp.core.params import Params


@dataclass
class History:
    """Per-epoch record of training. Accuracy lists are empty for regression.

    ``train_loss`` / ``train_accuracy`` are the epoch's own: over its examples, each as the
    step that used it found it before its update (with dropout, if any), as Keras and
    PyTorch loops report; ``val_*`` are measured after the epoch without dropout.
    ``skipped_steps`` is kept with ``on_nonfinite="skip"`` only; ``clipped_fraction`` with DP-SGD only
    (``TrainConfig(dp_sgd=...)``): the fraction of the epoch's examples (of its applied steps) whose
    gradient was clipped to ``max_norm``.

    Iterating over a history gives its epochs, one dict each (:meth:`rows`): ``pandas.DataFrame(history)`` is
    a table of one row per epoch and a column per recorded list, ``epoch`` first.

    Example:
        >>> h = History(train_loss=[0.5, 0.25], epoch_seconds=[0.1, 0.1])
        >>> h.rows()[0]["train_loss"], list(h)[1]
        (0.5, {'epoch': 2, 'train_loss': 0.25, 'epoch_seconds': 0.1})
    """

    train_loss: list[float] = field(default_factory=list)
    train_accuracy: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_accuracy: list[float] = field(default_factory=list)
    epoch_seconds: list[float] = field(default_factory=list)
    skipped_steps: list[int] = field(default_factory=list)
    clipped_fraction: list[float] = field(default_factory=list)
    best_epoch: int = 0  # with early stopping: the epoch whose params fit returned

    @property
    def epochs(self) -> int:
        """Epochs recorded."""
        return len(self.train_loss)

    def rows(self) -> list[dict]:
        """One dict per epoch (for CSV/JSON): ``epoch`` (from 1) and each list recorded."""
        columns = {name: values for name, values in vars(self).items() if isinstance(values, list) and values}
        return [{"epoch": i + 1, **{name: values[i] for name, values in columns.items()}} for i in range(self.epochs)]

    def __iter__(self) -> Iterator[dict]:
        """The epochs' rows (:meth:`rows`), what ``pandas.DataFrame(history)`` reads."""
        return iter(self.rows())

    def upto(self, epoch: int) -> History:
        """The history of the first ``epoch`` epochs (a copy).

        Example:
            >>> History(train_loss=[3.0, 2.0, 1.0]).upto(2).train_loss
            [3.0, 2.0]
        """
        lists = {name: values[:epoch] for name, values in vars(self).items() if isinstance(values, list)}
        return dataclasses.replace(self, **lists)


class EpochState(NamedTuple):
    """Where training stands after an epoch of :func:`funcmlp.train_epochs`."""

    epoch: int  # the epoch just finished, from 1
    params: Params
    opt_state: Any
    key: jax.Array  # the key the next epoch starts from
    history: History  # every epoch so far, this one included


class TrainingDiverged(FloatingPointError):
    """The loss or a gradient became NaN or infinite. ``params`` and ``opt_state`` are those after
    the last whole epoch (the diverging epoch's steps are dropped: a state that goes on
    consistently, e.g. with a lower learning rate), ``history`` the epochs completed before it;
    ``epoch``, ``step`` (1-based, within the epoch), ``cause`` (``"loss"``, ``"gradient"``: a
    gradient is non-finite, or ``"update"``: the gradients are finite but the updated params are
    not, the step overflowed) and ``layer`` (the first such layer; 0 for the loss) say where;
    :attr:`where` says it in words.

    Example:
        >>> error = TrainingDiverged("diverged", params=(), opt_state=(), history=History(), epoch=3, step=2, layer=1)
        >>> isinstance(error, FloatingPointError), error.epoch, error.where
        (True, 3, 'the gradient of layer 1 is not finite')
    """

    def __init__(self, message, *, params, opt_state, history, epoch, step, layer, cause=None):
        super().__init__(message)
        self.params, self.opt_state, self.history = params, opt_state, history
        self.epoch, self.step, self.layer = epoch, step, layer
        self.cause = cause or ("gradient" if layer else "loss")

    @property
    def where(self) -> str:
        """What was not finite, in words."""
        return self.describe(self.cause, self.layer)

    @staticmethod
    def describe(cause: str, layer: int) -> str:
        """What was not finite, in words, for a ``cause`` and ``layer`` as the attributes hold them."""
        if cause == "update":
            return f"the update of layer {layer} overflowed (its gradient is finite, its new params are not)"
        if cause == "gradient":
            return f"the gradient of layer {layer} is not finite"
        return "the loss is not finite"
