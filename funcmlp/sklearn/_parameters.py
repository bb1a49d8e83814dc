"""The parameters of ``MLPClassifier`` and ``MLPRegressor``, written once: scikit-learn's list and
funcmlp's own, and the ``__init__`` each estimator builds from them.

scikit-learn reads an estimator's parameters from the signature of its ``__init__`` (``get_params``,
``clone``, the grid searches); :func:`estimator_init` gives an ``__init__`` whose signature
(``inspect.signature``, ``help``) is the list here plus the estimator's own parameters, and which
stores each argument unchanged as scikit-learn's rule asks (checks happen when ``fit`` starts).

Example:
    >>> import inspect
    >>> init = estimator_init(last=(("class_weight", None),))
    >>> list(inspect.signature(init).parameters)[-4:]
    ['gradient', 'dropout', 'dtype', 'class_weight']
"""

from __future__ import annotations

from inspect import Parameter, Signature

POSITIONAL = (("hidden_layer_sizes", (100,)), ("activation", "relu"))
"""The parameters that may be given by position, in scikit-learn's order."""

KEYWORD_ONLY = (
    ("solver", "adam"),
    ("alpha", 0.0001),
    ("batch_size", "auto"),
    ("learning_rate", "constant"),
    ("learning_rate_init", 0.001),
    ("power_t", 0.5),
    ("max_iter", 200),
    ("shuffle", True),
    ("random_state", None),
    ("tol", 1e-4),
    ("verbose", False),
    ("warm_start", False),
    ("momentum", 0.9),
    ("nesterovs_momentum", True),
    ("early_stopping", False),
    ("validation_fraction", 0.1),
    ("beta_1", 0.9),
    ("beta_2", 0.999),
    ("epsilon", 1e-8),
    ("n_iter_no_change", 10),
    ("max_fun", 15000),
    ("gradient", "manual"),  # funcmlp's from here on
    ("dropout", 0.0),
    ("dtype", None),
)
"""scikit-learn's keyword-only parameters (its defaults), then funcmlp's ``gradient``, ``dropout``, ``dtype``."""


def estimator_init(*, first=(), last=()):
    """An ``__init__`` taking ``first`` (``(name, default)`` pairs, by position before
    ``hidden_layer_sizes``: the regressor's ``loss``), the shared parameters, then ``last``
    (keyword-only: the classifier's ``class_weight``); it stores every argument as an attribute
    of the same name. A misspelt or extra argument is a TypeError, as for any Python function.

    Example:
        >>> class Model:
        ...     __init__ = estimator_init(first=(("loss", "squared_error"),))
        >>> model = Model("poisson", (8,), solver="sgd")
        >>> model.loss, model.hidden_layer_sizes, model.activation, model.solver
        ('poisson', (8,), 'relu', 'sgd')
        >>> Model(solvr="sgd")
        Traceback (most recent call last):
        TypeError: Model(): got an unexpected keyword argument 'solvr'
    """
    signature = Signature(
        [
            Parameter("self", Parameter.POSITIONAL_OR_KEYWORD),
            *(Parameter(name, Parameter.POSITIONAL_OR_KEYWORD, default=value) for name, value in (*first, *POSITIONAL)),
            *(Parameter(name, Parameter.KEYWORD_ONLY, default=value) for name, value in (*KEYWORD_ONLY, *last)),
        ]
    )

    def __init__(self, *args, **kwargs):
        try:
            arguments = signature.bind(self, *args, **kwargs)
        except TypeError as error:
            raise TypeError(f"{type(self).__name__}(): {error}") from None
        arguments.apply_defaults()
        for name, value in arguments.arguments.items():
            if name != "self":
                setattr(self, name, value)

    __init__.__signature__ = signature
    __init__.__doc__ = "Store every parameter as an attribute of the same name (checked when ``fit`` starts)."
    return __init__
