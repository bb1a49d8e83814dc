"""The hyper-parameters of ``MLPClassifier`` and ``MLPRegressor``, checked when ``fit`` starts
(scikit-learn's rule: ``__init__`` stores, ``fit`` validates).

Example:
    >>> from funcmlp.sklearn import MLPRegressor
    >>> check_params(MLPRegressor(solver="newton"))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: solver='newton' is not supported; ...
"""

from __future__ import annotations

import numpy as np

from funcmlp.core.backward import GRADIENT_SOURCES
from funcmlp.registry.activations import get_activation
from funcmlp.sklearn._dtype import check_dtype
from funcmlp.training.optimizers import OPTIMIZER_NAMES

SKLEARN_ACTIVATIONS = {"identity": "identity", "logistic": "sigmoid", "tanh": "tanh", "relu": "relu"}
"""scikit-learn's activation names and funcmlp's; any other funcmlp activation name works too."""
LEARNING_RATES = ("constant", "invscaling", "adaptive")
SOLVERS = ("lbfgs", "sgd", "adam", *(name for name in OPTIMIZER_NAMES if name not in ("sgd", "adam")))


def hidden_sizes(estimator) -> tuple[int, ...]:
    """``hidden_layer_sizes`` as a tuple of positive ints (an int alone is one layer).

    Example:
        >>> from funcmlp.sklearn import MLPClassifier
        >>> hidden_sizes(MLPClassifier(hidden_layer_sizes=64))
        (64,)
    """
    sizes = estimator.hidden_layer_sizes
    sizes = (sizes,) if np.ndim(sizes) == 0 else tuple(sizes)
    if not all(isinstance(s, (int, np.integer)) and s >= 1 for s in sizes):
        raise ValueError(
            "hidden_layer_sizes must be positive integers (e.g. (100,) or (64, 32)), "
            f"got {estimator.hidden_layer_sizes!r}"
        )
    return tuple(int(s) for s in sizes)


def check_params(estimator) -> None:
    """Every hyper-parameter of an MLP estimator, each refused with a ValueError naming it and what it takes.

    Example:
        >>> from funcmlp.sklearn import MLPClassifier
        >>> check_params(MLPClassifier(alpha=-1.0))
        Traceback (most recent call last):
        ValueError: alpha must be a non-negative L2 penalty, got -1.0
    """

    def need(condition, message):
        if not condition:
            raise ValueError(message)

    hidden_sizes(estimator)
    get_activation(
        SKLEARN_ACTIVATIONS.get(estimator.activation, estimator.activation)
    )  # names the known activations if unknown
    need(
        estimator.solver in SOLVERS,
        f"solver={estimator.solver!r} is not supported; expected one of {', '.join(SOLVERS)}",
    )
    need(
        np.isscalar(estimator.alpha) and estimator.alpha >= 0,
        f"alpha must be a non-negative L2 penalty, got {estimator.alpha!r}",
    )
    need(
        estimator.batch_size == "auto"
        or (isinstance(estimator.batch_size, (int, np.integer)) and estimator.batch_size >= 1),
        f"batch_size must be 'auto' or a positive integer, got {estimator.batch_size!r}",
    )
    need(
        estimator.learning_rate in LEARNING_RATES,
        f"learning_rate must be one of {', '.join(LEARNING_RATES)}, got {estimator.learning_rate!r}",
    )
    need(
        np.isfinite(estimator.learning_rate_init) and estimator.learning_rate_init > 0,
        f"learning_rate_init must be positive and finite, got {estimator.learning_rate_init!r}",
    )
    need(
        isinstance(estimator.max_iter, (int, np.integer)) and estimator.max_iter >= 1,
        f"max_iter must be a positive integer, got {estimator.max_iter!r}",
    )
    need(estimator.tol >= 0, f"tol must be >= 0, got {estimator.tol!r}")
    need(
        isinstance(estimator.max_fun, (int, np.integer)) and estimator.max_fun >= 1,
        f"max_fun must be a positive integer (evaluations of the loss for solver='lbfgs'), got {estimator.max_fun!r}",
    )
    need(0 <= estimator.momentum <= 1, f"momentum must be in [0, 1], got {estimator.momentum!r}")
    need(
        0 < estimator.validation_fraction < 1,
        f"validation_fraction must be in (0, 1), got {estimator.validation_fraction!r}",
    )
    need(
        0 <= estimator.beta_1 < 1 and 0 <= estimator.beta_2 < 1,
        f"beta_1 and beta_2 must be in [0, 1), got {estimator.beta_1!r}, {estimator.beta_2!r}",
    )
    need(estimator.epsilon > 0, f"epsilon must be > 0, got {estimator.epsilon!r}")
    need(
        (isinstance(estimator.n_iter_no_change, (int, np.integer)) or estimator.n_iter_no_change == np.inf)
        and not isinstance(estimator.n_iter_no_change, bool)
        and estimator.n_iter_no_change >= 1,
        f"n_iter_no_change must be a number of epochs >= 1 (np.inf: never stop), got {estimator.n_iter_no_change!r}",
    )
    need(
        estimator.gradient in GRADIENT_SOURCES,
        f"gradient must be one of {', '.join(GRADIENT_SOURCES)}, got {estimator.gradient!r}",
    )
    need(0 <= estimator.dropout < 1, f"dropout must be in [0, 1), got {estimator.dropout!r}")
    need(
        estimator.solver != "lbfgs" or estimator.dropout == 0,
        f"solver='lbfgs' takes no dropout (its line search needs one loss to minimise), got {estimator.dropout!r}; "
        "use solver='adam' or 'sgd' for dropout",
    )
    if estimator.dtype is not None:
        check_dtype(estimator.dtype)


def stochastic(estimator) -> bool:
    """``partial_fit`` is there for the stochastic solvers only (scikit-learn's rule).

    Example:
        >>> from funcmlp.sklearn import MLPClassifier
        >>> hasattr(MLPClassifier(solver="adam"), "partial_fit"), hasattr(MLPClassifier(solver="lbfgs"), "partial_fit")
        (True, False)
    """
    if estimator.solver == "lbfgs":
        raise AttributeError(
            "partial_fit is only available for stochastic optimizers; solver='lbfgs' minimises over the whole data"
        )
    return True
