"""A pytest plugin (``-p sklearn_peer_plugin``) that runs scikit-learn's own MLP tests against
funcmlp.sklearn: it swaps ``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor`` for
funcmlp's before the test file imports them, and turns JAX's 64-bit mode on (scikit-learn's
tests give float64 data and expect float64 weights). Nothing of scikit-learn's test code is
copied: the file is the installed one.

The swap happens in ``pytest_configure``, when pytest loads this module as a plugin, not when the
module is imported: the suite's doctest collection imports every module of tests/, and a swap on
import made scikit-learn's MLPs funcmlp's in the suite's own processes (the comparisons with
scikit-learn's MLP in tests/test_sklearn.py and tests/test_sklearn_peer.py then compared funcmlp
with itself)."""


def pytest_configure(config):
    import jax

    jax.config.update("jax_enable_x64", True)

    import sklearn.neural_network

    import funcmlp.sklearn

    sklearn.neural_network.MLPClassifier = funcmlp.sklearn.MLPClassifier
    sklearn.neural_network.MLPRegressor = funcmlp.sklearn.MLPRegressor
