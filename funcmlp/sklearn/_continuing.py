"""What a fit of an MLP estimator checks before it starts from what an earlier one left: the
network a warm start or ``partial_fit`` goes on from, the optimizer state ``partial_fit`` goes on
with, and the memory the fit will take (:mod:`funcmlp.memory`), refused before anything is allocated.

scikit-learn's own MLP does not check the first two: a warm start after ``hidden_layer_sizes``
changed fails in NumPy's arithmetic, and ``partial_fit`` after ``solver`` changed goes on with the
old solver's optimizer. Here each is one ``ValueError`` naming what changed and the fix; a warm
start after ``solver`` or ``activation`` changed goes on as scikit-learn's does (the weights kept,
a new optimizer).

Example:
    >>> import numpy as np
    >>> from funcmlp.sklearn import MLPRegressor
    >>> model = MLPRegressor(hidden_layer_sizes=(3,), max_iter=2, warm_start=True).fit(np.eye(3), [0.0, 1, 2])
    >>> model.set_params(hidden_layer_sizes=(4,)).fit(np.eye(3), [0.0, 1, 2])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: warm_start=True goes on from the fitted weights of hidden_layer_sizes=(3,), ...
"""

from __future__ import annotations

import jax
import numpy as np

from funcmlp.memory import OPTIMIZER_SLOTS, check_fits, parameter_count, training_bytes
from funcmlp.sklearn._checks import hidden_sizes
from funcmlp.sklearn._lbfgs import MEMORY

OPTIMIZER_SETTINGS = ("solver", "momentum", "nesterovs_momentum")
"""The parameters that shape a stochastic solver's optimizer state (its numbers live in the state)."""


def check_same_network(estimator, incremental: bool) -> None:
    """A warm start or ``partial_fit`` goes on from the fitted weights: ``hidden_layer_sizes`` must
    be the fitted network's."""
    fitted = tuple(int(W.shape[1]) for W in estimator.coefs_[:-1])
    asked = hidden_sizes(estimator)
    if asked != fitted:
        how = "partial_fit" if incremental else "warm_start=True"
        raise ValueError(
            f"{how} goes on from the fitted weights of hidden_layer_sizes={fitted}, but hidden_layer_sizes is now "
            f"{asked}; set it back to {fitted}, or start anew: fit with warm_start=False"
        )


def optimizer_settings(estimator) -> dict:
    """The settings an optimizer state was made with, kept beside it (``_opt_settings``)."""
    return {name: getattr(estimator, name) for name in OPTIMIZER_SETTINGS}


def check_same_optimizer(estimator, optimizer, params, opt_state) -> None:
    """``partial_fit`` goes on with the optimizer state of the earlier calls: the solver (and, for
    SGD, momentum or none, Nesterov's or not) must be the one it was made by."""
    made = getattr(estimator, "_opt_settings", optimizer_settings(estimator))
    now = optimizer_settings(estimator)
    shape = jax.tree_util.tree_structure(jax.eval_shape(optimizer.init, params))
    if made["solver"] == now["solver"] and shape == jax.tree_util.tree_structure(opt_state):
        return
    changed = [name for name in OPTIMIZER_SETTINGS if made[name] != now[name]] or ["solver"]
    before = ", ".join(f"{name}={made[name]!r}" for name in changed)
    after = ", ".join(f"{name}={now[name]!r}" for name in changed)
    raise ValueError(
        f"partial_fit goes on with the optimizer state the earlier calls made with {before}, but the estimator now "
        f"has {after}; set it back, or fit anew (fit, or partial_fit on a clone)"
    )


def check_memory(estimator, samples: int) -> None:
    """The fit's arrays (:func:`funcmlp.memory.training_bytes`: params, gradients, update, the
    optimizer's slots, a batch's trace, the data) against what the process may use."""
    sizes = (estimator.n_features_in_, *hidden_sizes(estimator), estimator.n_outputs_)
    solver = estimator.solver
    if solver == "lbfgs":
        batch, slots = samples, 2 * MEMORY  # the whole data at once; the pairs of past steps
    else:
        given = estimator.batch_size
        batch = min(200 if given == "auto" else int(given), samples)
        slots = (1 if estimator.momentum else 0) if solver == "sgd" else OPTIMIZER_SLOTS.get(solver, 0)
    itemsize = np.dtype(estimator.dtype_).itemsize
    steps = f"the {samples} rows at once" if solver == "lbfgs" else f"batches of {batch}"
    check_fits(
        training_bytes(sizes, batch_size=batch, examples=samples, itemsize=itemsize, optimizer_slots=slots),
        f"{type(estimator).__name__}.fit of layer sizes {sizes} ({parameter_count(sizes):,} parameters, "
        f"solver={solver!r}, {steps}, {estimator.dtype_})",
        "use fewer or narrower hidden_layer_sizes, or a smaller batch_size",
    )
