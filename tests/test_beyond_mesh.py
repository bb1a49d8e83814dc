"""Issue 34 item 4, the mesh: per-example and curvature quantities of a batch sharded over eight CPU devices
(a subprocess, tests/beyond_mesh_cases.py: the device count is fixed when JAX starts) equal those of one
device, float64, within 1e-12 of each leaf's largest entry. Called directly, the entry points' eager checks
take the batch to the host (``np.asarray``) and the devices each compute it whole: the same numbers to the
bit. Inside the user's ``jax.jit`` over an Auto axis the rows stay split over the devices and the sums over
them round in another order (about 1e-15). Inside the user's ``jax.jit`` over an Explicit axis (what
``jax.make_mesh`` makes) every one of them fails to trace (see EXPLICIT_JIT)."""

import json
from pathlib import Path

import numpy as np
import pytest
from eight_devices import arrays_of

HERE = Path(__file__).resolve().parent
NAMES = [
    "per_example_grad_norms",
    "per_example_grad_norms_dropout",
    "clipped_grad",
    "grad_moments",
    "diag_ggn",
    "diag_ggn_samples",
    "diag_ggn_per_example",
    "kfac_factors",
    "diag_hessian",
]
EXPLICIT_JIT = (
    "under the user's jax.jit with the batch on an Explicit mesh axis, funcmlp/core/backward.py:73 "
    "(a_prev.T @ s, the contraction over the batch) raises ShardingTypeError: Contracting dimensions are sharded "
    "and it is ambiguous how the output should be sharded (jax/_src/numpy/tensor_contractions.py in matmul)"
)


class CallFailed(Exception):
    """The subprocess's call raised: its error and where."""


@pytest.fixture(scope="session")
def results(tmp_path_factory, worker_id):
    """The eight-device subprocess runs once per test run: the first xdist worker to need it runs it under a
    lock in the folder the workers share, the others wait and read its file."""
    arrays = arrays_of("beyond_mesh_cases.py", tmp_path_factory, worker_id)
    errors = json.loads(str(arrays.pop("errors")))

    def get(case):
        if case in errors:
            error = errors[case]
            raise CallFailed(f"{case}: {error['error']} at {error['top']}; funcmlp's frames {error['funcmlp']}")
        count = len([name for name in arrays if name.startswith(case + "/") and name.rsplit("/", 1)[1].isdigit()])
        assert count > 0, case
        return [arrays[f"{case}/{i}"] for i in range(count)], bool(arrays[f"{case}/split"])

    return get


@pytest.mark.parametrize(
    "where",
    [
        "explicit/direct",
        pytest.param("explicit/jit", marks=pytest.mark.xfail(strict=True, raises=CallFailed, reason=EXPLICIT_JIT)),
        "auto/jit",
    ],
)
@pytest.mark.parametrize("name", NAMES)
def test_a_sharded_batch_gives_the_numbers_of_one_device(results, name, where):
    (expected, _), (actual, _) = results(f"{name}/single/direct"), results(f"{name}/{where}")
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.dtype == e.dtype == np.float64 and a.shape == e.shape
        assert np.all(np.isfinite(e)) and np.any(e)
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12 * float(np.abs(e).max()))
        if where.endswith("direct"):  # the batch taken to the host, computed whole on each device
            np.testing.assert_array_equal(a, e)


@pytest.mark.parametrize("name", ["per_example_grad_norms", "diag_ggn_per_example"])
def test_in_the_users_jit_on_an_auto_axis_the_rows_stay_on_their_devices(results, name):
    assert results(f"{name}/auto/jit")[1]


@pytest.mark.xfail(
    strict=True,
    reason="a direct call's eager checks take a sharded batch to the host (np.asarray in funcmlp/checks/__init__.py: "
    "check_inputs :101, check_targets :165, check_weights :229) and the devices each compute it whole",
)
def test_a_direct_call_keeps_the_rows_on_their_devices(results):
    assert results("per_example_grad_norms/explicit/direct")[1]
