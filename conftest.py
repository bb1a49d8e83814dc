"""Tests and doctests run with float64 enabled: correctness is checked in float64 (float32 tests ask for it)."""

import os
import shutil
import tempfile

# scikit-learn's array-API check of the estimators (tests/test_sklearn.py) runs only with SciPy's
# array-API mode, which must be set before SciPy is imported
os.environ.setdefault("SCIPY_ARRAY_API", "1")

# One persistent compilation cache for this test run, new with the run and removed after it, shared by
# the xdist workers and every subprocess a test starts (they inherit the environment): a program that
# another test already compiled (the same model, optimizer settings and shapes, rebuilt as a new Python
# object) is loaded from it instead of compiled again. Nothing carries over from one run to the next.
_OWN_CACHE = "FUNCMLP_TEST_JIT_CACHE" not in os.environ  # set: this process is a worker of the run that made it
if _OWN_CACHE:
    os.environ["FUNCMLP_TEST_JIT_CACHE"] = tempfile.mkdtemp(prefix="funcmlp-tests-jit-")
os.environ.update(
    JAX_COMPILATION_CACHE_DIR=os.environ["FUNCMLP_TEST_JIT_CACHE"],
    JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS="0",
    JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES="-1",
)

# XLA's CPU compiler at its cheapest: no LLVM optimisation and its older elemental emitters (about a third of
# the compile time of a training epoch, measured: 1.9 s -> 0.6 s for a 2-100-3 network). Compilation is most
# of the suite's time; the programs compute the same operations, unoptimised (no test measures speed).
# FUNCMLP_TEST_OPTIMISED_XLA=1 runs the suite with XLA's default flags instead.
_CHEAP_XLA = ("--xla_backend_optimization_level=0", "--xla_cpu_use_fusion_emitters=false")
if os.environ.get("FUNCMLP_TEST_OPTIMISED_XLA", "") in ("", "0"):
    _flags = os.environ.get("XLA_FLAGS", "").split()
    os.environ["XLA_FLAGS"] = " ".join([*_flags, *(flag for flag in _CHEAP_XLA if flag not in _flags)])

import jax  # noqa: E402
import pytest  # noqa: E402

jax.config.update("jax_enable_x64", True)
# (JAX read the cache settings above from the environment when it was imported.) The persistent cache serves the
# new processes the tests start (the command line, the examples, the multi-device scripts: each loads what another
# compiled); in the suite's own long-lived processes it is off. After about a thousand tests in one xdist worker,
# XLA's CPU executable.serialize() (the cache's write, jax/_src/compilation_cache.py put_executable_and_time)
# segfaulted inside libgcc_s's unwinder, in whichever test compiled next (jax 0.10.2: three local full runs and CI;
# a core dump read with gdb; never in a new process).
jax.config.update("jax_enable_compilation_cache", False)
# the command line run in-process by the tests must not point JAX at the user's compilation cache
# (tests/test_checkpoint_and_cli.py tests that cache in subprocesses of its own)
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


def pytest_unconfigure(config):
    if _OWN_CACHE and not hasattr(config, "workerinput"):
        shutil.rmtree(os.environ["FUNCMLP_TEST_JIT_CACHE"], ignore_errors=True)


WORKERS_AT_LEAST = 4
"""``-n auto`` starts at least this many workers, more than a 2-core machine's two: each worker process lives
through fewer tests. A worker that had compiled and freed XLA programs for about a thousand tests segfaulted inside
libgcc's unwinder during XLA's CPU compile (jax 0.10.2, Debian 12; seen at 85-100 % of a run, never in a short
process); a worker of half the tests has not been seen to."""


def pytest_xdist_auto_num_workers(config):
    return max(WORKERS_AT_LEAST, os.cpu_count() or 1)
