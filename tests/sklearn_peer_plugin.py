"""A pytest plugin (``-p sklearn_peer_plugin``) that runs scikit-learn's own MLP tests against
funcmlp.sklearn: it swaps ``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor`` for
funcmlp's before the test file imports them, and turns JAX's 64-bit mode on (scikit-learn's
tests give float64 data and expect float64 weights). Nothing of scikit-learn's test code is
copied: the file is the installed one."""

import jax

jax.config.update("jax_enable_x64", True)

import sklearn.neural_network  # noqa: E402

import funcmlp.sklearn  # noqa: E402

sklearn.neural_network.MLPClassifier = funcmlp.sklearn.MLPClassifier
sklearn.neural_network.MLPRegressor = funcmlp.sklearn.MLPRegressor
