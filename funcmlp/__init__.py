"""funcmlp: multi-layer perceptrons as pure functions on JAX, with a hand-written backprop.

Row convention (seed 003): ``n^k = a^{k-1} @ W^k + b^k``, ``W^k`` of shape ``(d_{k-1}, d_k)``.
Params are a tuple of ``Layer(W, b)``; gradients have the same structure.

The packages, each importing only those above it::

    registry/     activations and losses: one entry each, JAX and sympy forms side by side
    core/         the network, its forward trace, the backward recursion: pure, traceable, never checks
    checks        every eager check, once, at the entry points -> a checked Batch
    gradients, evaluation, gradcheck     backprop / objective / autodiff_grad; predict, evaluate; the three-way check
    training/     TrainConfig, the compiled epoch, the loop (fit, with checkpoints, sits above io)
    io/           one array serialiser, the model file, the training state, the run folder, plots
    data/, tasks  data sets and the task presets
    cli/, sklearn/   the funcmlp command line; scikit-learn estimators

Example:
    >>> import jax, jax.numpy as jnp
    >>> mlp = MLP((2, 2, 1), ["relu", "identity"])
    >>> params = params_from_arrays([([[1, 1], [1, 1]], [0, 0]), ([[1], [1]], [0])])
    >>> [s.tolist() for s in backprop(mlp, params, jnp.array([1.0, 1.0]), 0.0, "sse").sensitivities]
    [[8.0, 8.0], [8.0]]
"""

from funcmlp.compile_cache import enable_compile_cache
from funcmlp.core.backward import backward
from funcmlp.core.initializers import get_initializer
from funcmlp.core.model import MLP, Trace
from funcmlp.core.params import Layer, params_from_arrays, to_column_convention
from funcmlp.curvature import diag_ggn, diag_hessian, kfac_factors
from funcmlp.evaluation import Evaluation, accuracy, decision_threshold, evaluate, predict
from funcmlp.function_check import FunctionCheckReport, check_function
from funcmlp.gradcheck import GradCheckReport, check_gradients, finite_difference_grad
from funcmlp.gradients import Backprop, autodiff_grad, backprop, objective
from funcmlp.io.model_file import load_model, save_model
from funcmlp.per_example import GradMoments, clipped_grad, grad_moments, per_example_grad_norms
from funcmlp.registry.activations import (
    ACTIVATION_NAMES,
    ACTIVATIONS,
    Activation,
    ActivationSpec,
    get_activation,
    register_activation,
    unregister_activation,
)
from funcmlp.registry.loss_pairing import OutputActivationWarning
from funcmlp.registry.loss_registry import LOSS_NAMES, LOSSES, register_loss, unregister_loss
from funcmlp.registry.losses import Loss, LossSpec, get_loss
from funcmlp.training import EpochState, History, TrainConfig, Trainer, TrainingDiverged, train_epochs
from funcmlp.training.fit import fit
from funcmlp.training.optimizers import make_optimizer, make_schedule
from funcmlp.training.private import DPSGD

__all__ = [
    "ACTIVATIONS",
    "ACTIVATION_NAMES",
    "Activation",
    "ActivationSpec",
    "Backprop",
    "DPSGD",
    "EpochState",
    "Evaluation",
    "FunctionCheckReport",
    "GradCheckReport",
    "GradMoments",
    "History",
    "LOSSES",
    "LOSS_NAMES",
    "Layer",
    "Loss",
    "LossSpec",
    "MLP",
    "OutputActivationWarning",
    "Trace",
    "TrainConfig",
    "Trainer",
    "TrainingDiverged",
    "accuracy",
    "autodiff_grad",
    "backprop",
    "backward",
    "check_function",
    "check_gradients",
    "clipped_grad",
    "decision_threshold",
    "diag_ggn",
    "diag_hessian",
    "enable_compile_cache",
    "evaluate",
    "finite_difference_grad",
    "fit",
    "get_activation",
    "get_initializer",
    "get_loss",
    "grad_moments",
    "kfac_factors",
    "load_model",
    "make_optimizer",
    "make_schedule",
    "objective",
    "params_from_arrays",
    "per_example_grad_norms",
    "predict",
    "register_activation",
    "register_loss",
    "save_model",
    "to_column_convention",
    "train_epochs",
    "unregister_activation",
    "unregister_loss",
]
from funcmlp.version import __version__ as __version__
