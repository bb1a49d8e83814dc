"""Issue 34 item 4 and issue 36 item 6, the mesh: backprop, the per-example and curvature quantities and the
gradient check of a batch sharded over eight CPU devices (a subprocess, tests/beyond_mesh_cases.py: the device
count is fixed when JAX starts) equal those of one device, float64, within 1e-12 of each leaf's largest entry,
on an Explicit axis (what ``jax.make_mesh`` makes) and on an Auto one, called directly and inside the user's own
``jax.jit``; backprop's gradient is jax.grad's of an independently written loss (tests/reference.py) within
1e-10. The rows stay on their devices: the sums over them round in another order than on one device (about
1e-15), a direct call computes what the user's jit does, and no call copies the sharded batch to the host
(its values are checked where they lie; a bad value is refused with the message of one device)."""

import json
from pathlib import Path

import numpy as np
import pytest
from eight_devices import arrays_of

HERE = Path(__file__).resolve().parent
NAMES = [
    "backprop",
    "backprop_dropout",
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
SHARDED = ["explicit/direct", "explicit/jit", "auto/direct", "auto/jit"]
BAD = ["nan_input", "label_out_of_range", "negative_weight", "weights_all_zero", "soft_target_above_one"]


class CallFailed(Exception):
    """The subprocess's call raised: its error and where."""


@pytest.fixture(scope="session")
def saved(tmp_path_factory, worker_id):
    """The eight-device subprocess runs once per test run: the first xdist worker to need it runs it under a
    lock in the folder the workers share, the others wait and read its file."""
    return arrays_of("beyond_mesh_cases.py", tmp_path_factory, worker_id)


@pytest.fixture(scope="session")
def results(saved):
    errors = json.loads(str(saved["errors"]))

    def get(case):
        if case in errors:
            error = errors[case]
            raise CallFailed(f"{case}: {error['error']} at {error['top']}; funcmlp's frames {error['funcmlp']}")
        count = len([name for name in saved if name.startswith(case + "/") and name.rsplit("/", 1)[1].isdigit()])
        assert count > 0, case
        return [saved[f"{case}/{i}"] for i in range(count)], bool(saved[f"{case}/split"])

    return get


@pytest.mark.parametrize("where", SHARDED)
@pytest.mark.parametrize("name", NAMES)
def test_a_sharded_batch_gives_the_numbers_of_one_device(results, name, where):
    (expected, _), (actual, _) = results(f"{name}/single/direct"), results(f"{name}/{where}")
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected, strict=True):
        assert a.dtype == e.dtype == np.float64 and a.shape == e.shape
        assert np.all(np.isfinite(e)) and np.any(e)
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12 * float(np.abs(e).max()))


@pytest.mark.parametrize("where", ["single/direct", *SHARDED])
def test_backprop_of_a_sharded_batch_is_jax_grad_of_an_independent_loss(results, saved, where):
    """grads of layers 1..3 against jax.grad of tests/reference.py's forward pass and softmax cross-entropy
    (weighted mean), computed on one device."""
    grads = results(f"backprop/{where}")[0][:6]
    expected = [saved[f"reference/{i}"] for i in range(6)]
    for a, e in zip(grads, expected, strict=True):
        assert a.shape == e.shape and np.any(e)
        np.testing.assert_allclose(a, e, rtol=1e-10, atol=1e-10 * float(np.abs(e).max()))


@pytest.mark.parametrize("mesh", ["explicit", "auto"])
@pytest.mark.parametrize("name", NAMES)
def test_a_direct_call_computes_what_the_users_jit_computes(results, name, mesh):
    """Called directly, the entry points check the sharded batch where it lies and run on its rows there: the
    same program as inside the user's jit, the same numbers to the bit."""
    (direct, _), (jitted, _) = results(f"{name}/{mesh}/direct"), results(f"{name}/{mesh}/jit")
    for a, b in zip(direct, jitted, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("where", SHARDED)
@pytest.mark.parametrize("name", ["per_example_grad_norms", "diag_ggn_per_example"])
def test_per_example_results_stay_on_the_devices_of_their_rows(results, name, where):
    assert results(f"{name}/{where}")[1]
    assert not results(f"{name}/single/direct")[1]


@pytest.mark.parametrize(
    "case",
    [f"{name}/{where}" for name in NAMES for where in SHARDED]
    + ["check_gradients/explicit/direct", "check_gradients/auto/direct"],
)
def test_no_call_copies_the_sharded_batch_to_the_host(saved, results, case):
    results(case)  # the call returned
    assert not saved[f"{case}/copied"]


@pytest.mark.parametrize("mesh", ["explicit", "auto"])
def test_the_gradient_check_of_a_sharded_batch_passes_as_on_one_device(results, mesh):
    (loss, passed, compared), _ = results(f"check_gradients/{mesh}/direct")
    (single_loss, single_passed, single_compared), _ = results("check_gradients/single/direct")
    assert bool(passed) and bool(single_passed)
    assert int(compared) == int(single_compared) == 4 * 6 + 6 + 6 * 5 + 5 + 5 * 3 + 3  # every entry differenced
    np.testing.assert_allclose(loss, single_loss, rtol=1e-12)


@pytest.mark.parametrize("mesh", ["explicit", "auto"])
@pytest.mark.parametrize("bad", BAD)
def test_a_bad_value_of_a_sharded_batch_is_refused_as_on_one_device(saved, bad, mesh):
    single = str(saved[f"refused/{bad}/single"])
    assert single  # refused on one device
    assert str(saved[f"refused/{bad}/{mesh}"]) == single
