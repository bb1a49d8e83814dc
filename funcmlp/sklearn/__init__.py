"""scikit-learn estimators trained by funcmlp: drop-in ``MLPClassifier``, ``MLPRegressor`` and
seed 003's ``Perceptron``, with scikit-learn's parameter names, attributes and methods, so
pipelines, grid searches and cross-validation work unchanged.

The gradient is funcmlp's manual backprop (``gradient="autodiff"``: ``jax.grad``); funcmlp's own
parameters are ``gradient``, ``dropout`` and ``dtype``. The dtype follows scikit-learn's rule
whatever JAX's 64-bit flag says (:mod:`._dtype`): float64 input gives float64 weights, arithmetic
and outputs, float32 stays float32, ``dtype=`` overrides; the estimators turn JAX's 64-bit mode on
for their own float64 work only and restore the caller's setting. ``solver="lbfgs"`` is optax's
L-BFGS (:mod:`._lbfgs`), the stochastic solvers funcmlp's compiled epochs; ``to_funcmlp()`` gives
``(mlp, params)`` for the functional API and the derivations. Needs scikit-learn (``pip install
funcmlp[sklearn]``); the rest of funcmlp does not import it.

Example:
    >>> from sklearn.datasets import load_digits
    >>> from sklearn.model_selection import cross_val_score
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import MinMaxScaler
    >>> X, y = load_digits(return_X_y=True)
    >>> model = make_pipeline(MinMaxScaler(), MLPClassifier((64,), max_iter=30, random_state=0))
    >>> bool(cross_val_score(model, X, y, cv=3).mean() > 0.85)
    True
"""

try:
    import sklearn  # noqa: F401
except ModuleNotFoundError as error:  # pragma: no cover - depends on the installation
    raise ModuleNotFoundError(
        "funcmlp.sklearn needs scikit-learn: pip install 'funcmlp[sklearn]' (or scikit-learn>=1.6)"
    ) from error

from funcmlp.sklearn._estimators import MLPClassifier, MLPRegressor
from funcmlp.sklearn._perceptron import Perceptron

__all__ = ["MLPClassifier", "MLPRegressor", "Perceptron"]
