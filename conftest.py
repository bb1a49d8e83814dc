"""Tests and doctests run with float64 enabled: correctness is checked in float64 (float32 tests ask for it)."""

import os

# scikit-learn's array-API check of the estimators (tests/test_sklearn.py) runs only with SciPy's
# array-API mode, which must be set before SciPy is imported
os.environ.setdefault("SCIPY_ARRAY_API", "1")

import jax
import pytest

jax.config.update("jax_enable_x64", True)
# the command line run in-process by the tests must not write into the user's compilation
# cache (tests/test_checkpoint_and_cli.py checks the cache in subprocesses of its own)
os.environ["FUNCMLP_NO_COMPILE_CACHE"] = "1"

try:  # CI draws the same examples every run; a developer's runs explore new ones
    from hypothesis import settings

    settings.register_profile("ci", derandomize=True)
    if os.environ.get("CI") == "true":
        settings.load_profile("ci")
except ModuleNotFoundError:
    pass


@pytest.fixture(autouse=True)
def _funcmlp_in_doctests(doctest_namespace):
    """Docstring examples may write ``funcmlp.MLP`` without importing funcmlp (a module below the
    package's root cannot import it: tests/test_layering.py)."""
    import funcmlp

    doctest_namespace["funcmlp"] = funcmlp
