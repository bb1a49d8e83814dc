"""A pytest plugin (``-p sklearn_peer_plugin``) that runs scikit-learn's own MLP tests against
funcmlp.sklearn: it swaps ``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor`` for
funcmlp's before the test file imports them. Nothing of scikit-learn's test code is copied: the
file is the installed one. JAX runs as a scikit-learn user runs it, its 64-bit mode off (JAX's
default): the plugin refuses to start where something turned it on (this project's conftest.py
does: the run must not load it, ``--confcutdir`` at scikit-learn's package), and a test after
which it is on fails (the estimators turn it on for their own float64 work only, and restore it).

``--peer-tests NAME,NAME`` runs those test functions of the file only (every parametrization of
each), the others deselected; a name the file does not have is refused. The terminal summary
ends with one line naming every test function collected and the number of cases, in file order:
``sklearn_peer_plugin: collected N cases of: name name ...`` (what the caller checks its groups
against).

The swap happens in ``pytest_configure``, when pytest loads this module as a plugin, not when the
module is imported: the suite's doctest collection imports every module of tests/, and a swap on
import made scikit-learn's MLPs funcmlp's in the suite's own processes (the comparisons with
scikit-learn's MLP in tests/test_sklearn.py and tests/test_sklearn_peer.py then compared funcmlp
with itself)."""

import pytest

SUMMARY = "sklearn_peer_plugin: collected"
"""How the summary line the caller reads starts."""
_collected = pytest.StashKey[tuple]()
"""(cases collected, their test functions in file order), for the summary line."""


def pytest_addoption(parser):
    parser.addoption("--peer-tests", default=None, help="comma-separated test functions of the file to run")


def _jax_64_bit_mode() -> bool:
    import jax

    return bool(jax.config.jax_enable_x64)


def pytest_configure(config):
    if _jax_64_bit_mode():
        raise pytest.UsageError(
            "the peer suite runs in JAX's default configuration, and JAX's 64-bit mode is on when it starts: run "
            "it without the project's conftest.py (--confcutdir at scikit-learn's package) and JAX_ENABLE_X64"
        )

    import sklearn.neural_network

    import funcmlp.sklearn

    sklearn.neural_network.MLPClassifier = funcmlp.sklearn.MLPClassifier
    sklearn.neural_network.MLPRegressor = funcmlp.sklearn.MLPRegressor


def pytest_collection_modifyitems(config, items):
    functions = list(dict.fromkeys(getattr(item, "originalname", item.name) for item in items))
    config.stash[_collected] = (len(items), functions)
    wanted = config.getoption("--peer-tests")
    if wanted is None:
        return
    wanted = set(wanted.split(","))
    unknown = sorted(wanted - set(functions))
    if unknown:
        raise pytest.UsageError(f"--peer-tests names {unknown}, not test functions of the file")
    kept = [item for item in items if getattr(item, "originalname", item.name) in wanted]
    config.hook.pytest_deselected(items=[item for item in items if item not in kept])
    items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    result = yield
    if _jax_64_bit_mode():
        import jax

        jax.config.update("jax_enable_x64", False)  # for the next test: only this one fails
        raise AssertionError(
            "JAX's 64-bit mode is on after the test: an estimator did not restore the caller's setting"
        )
    return result


def pytest_terminal_summary(terminalreporter, config):
    cases, functions = config.stash.get(_collected, (0, []))
    terminalreporter.write_line(f"{SUMMARY} {cases} cases of: {' '.join(functions)}")
