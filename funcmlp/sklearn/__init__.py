"""scikit-learn estimators trained by funcmlp: drop-in ``MLPClassifier``, ``MLPRegressor`` and
seed 003's ``Perceptron``, with scikit-learn's parameter names, attributes and methods, so
pipelines, grid searches and cross-validation work unchanged.

The gradient is funcmlp's manual backprop (``gradient="autodiff"``: ``jax.grad``); funcmlp's own
parameters are ``gradient``, ``dropout`` and ``dtype`` (default: the input's, float64 where JAX's
64-bit mode is on, else float32); ``solver="lbfgs"`` is optax's L-BFGS (:mod:`._lbfgs`), the
stochastic solvers funcmlp's compiled epochs; ``to_funcmlp()`` gives ``(mlp, params)``
for the functional API and the derivations. Needs scikit-learn (``pip install funcmlp[sklearn]``);
the rest of funcmlp does not import it.

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
