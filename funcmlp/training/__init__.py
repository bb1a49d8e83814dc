"""Training: optax optimizers driving the manual (or autodiff) gradient, one compiled epoch at a time.

Contract::

    TrainConfig(loss, optimizer, batch_size, ...)      config.py: how to train, frozen, checked when built
    epoch_order(key, rows, size, shuffle=)             batching.py: an epoch's draw (order, key data), on the host
    run_epoch(mlp, TrainState, EpochDraw, TrainData, config)   epoch.py: one compiled epoch -> (state, metrics)
    Trainer / train_epochs                             loop.py: checked data, the epoch loop as an iterator
    fit                                                fit.py: the loop + callbacks.py (checkpoints, early stopping);
                                                       above io (a checkpoint is a file): import it from funcmlp
    History, EpochState, TrainingDiverged              history.py
    same_optimizer                                     reuse.py: optimizers computing the same update share the epoch
    DPSGD                                              private.py: DP-SGD's clipping and noise (TrainConfig(dp_sgd=))
    optimizers, batching, parallel, regularizers, perceptron: what the loop is made of

Imports: registry, core, checks, evaluation; fit.py and callbacks.py also io; never cli.
"""

from funcmlp.training.config import TrainConfig
from funcmlp.training.history import EpochState, History, TrainingDiverged
from funcmlp.training.loop import Trainer, train_epochs
from funcmlp.training.private import DPSGD

__all__ = ["DPSGD", "EpochState", "History", "TrainConfig", "Trainer", "TrainingDiverged", "train_epochs"]
