"""The gradient check never passes on nothing: eps must be positive and finite, any NaN/inf
among the values compared is a FAIL naming the layer, parameter and entry, zero entries
compared by finite differences is a FAIL, and the report counts what was compared and left out."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

from funcmlp import MLP, check_gradients, params_from_arrays
from funcmlp.gradcheck import finite_difference_grad
from funcmlp.gradcheck_report import compare
from funcmlp.registry import activations as activations_module


def _problem():
    mlp = MLP((3, 4, 2), "tanh", output="identity")
    params = params_from_arrays(
        [(np.linspace(-1, 1, 12).reshape(3, 4), np.zeros(4)), (np.linspace(-0.5, 0.7, 8).reshape(4, 2), [0.1, -0.2])],
        dtype=jnp.float64,
    )
    x = jnp.asarray(np.linspace(-2, 2, 15).reshape(5, 3))
    return mlp, params, x, jnp.zeros((5, 2))


@pytest.mark.parametrize("eps", [0.0, -1e-6, float("nan"), float("inf")])
def test_a_step_that_is_not_positive_and_finite_is_refused(eps):
    mlp, params, x, y = _problem()
    with pytest.raises(ValueError, match="the finite-difference step eps must be a finite number above 0"):
        check_gradients(mlp, params, x, y, "half_sse", eps=eps)
    with pytest.raises(ValueError, match="the finite-difference step eps must be a finite number above 0"):
        finite_difference_grad(mlp, params, x, y, "half_sse", eps=eps)


def test_a_step_that_is_not_a_number_is_a_type_error():
    mlp, params, x, y = _problem()
    with pytest.raises(TypeError, match="the finite-difference step eps must be a number, got str 'small'"):
        check_gradients(mlp, params, x, y, "half_sse", eps="small")


def test_the_report_counts_what_was_compared():
    mlp, params, x, y = _problem()
    report = check_gradients(mlp, params, x, y, "half_sse", max_fd_entries=10)
    assert report.passed and report.total_entries == 26 and report.fd_sampled == 10 and report.fd_entries == 10
    assert sum(r.compared for r in report.rows if r.reference == "finite differences") == 10
    assert sum(r.compared for r in report.rows if r.reference == "autodiff") == 26
    assert "on 26 entries" in report.summary() and "on 10 of 10 sampled entries" in report.summary()


def test_nan_in_the_manual_gradient_is_a_fail_naming_the_entry(monkeypatch):
    tanh = activations_module.ACTIVATIONS["tanh"]
    broken = dataclasses.replace(
        tanh, derivative=lambda n, alpha: jnp.where(n > 1.5, jnp.nan, tanh.derivative(n, alpha))
    )
    monkeypatch.setitem(activations_module.ACTIVATIONS, "tanh", broken)
    mlp, params, x, y = _problem()
    report = check_gradients(mlp, params, x, y, "half_sse")
    assert not report.passed
    assert any(r.nonfinite == "manual is nan (not finite)" and r.layer == 1 for r in report.rows)
    assert "FAIL (layer 1 W[" in report.summary() and "manual is nan (not finite)" in report.summary()


def test_non_finite_finite_differences_are_a_fail():
    value = np.array([[1.0, 2.0], [3.0, 4.0]])
    row = compare(2, "W", value, np.array([[1.0, np.inf], [3.0, 4.0]]), "finite differences", np.ones((2, 2), bool))
    assert (
        row.nonfinite == "finite differences is inf (not finite)"
        and row.worst_index == (0, 1)
        and row.rel_error == np.inf
    )
    # an entry left out (a kink) does not count, even if it is NaN
    row = compare(
        2,
        "W",
        value,
        np.array([[1.0, np.nan], [3.0, 4.0]]),
        "finite differences",
        np.array([[True, False], [True, True]]),
    )
    assert row.nonfinite == "" and row.abs_error == 0.0 and row.compared == 3


def test_zero_entries_compared_is_a_fail_not_a_pass():
    """Net input exactly at the relu kink: every perturbation crosses it, nothing is left to compare."""
    mlp = MLP((1, 1), output="relu")
    params = params_from_arrays([([[0.0]], [0.0])], dtype=jnp.float64)
    report = check_gradients(mlp, params, jnp.array([[1.0]]), jnp.array([[1.0]]), "half_sse")
    assert report.fd_entries == 0 and report.kink_entries == 2
    assert not report.passed
    assert "no entry compared by finite differences (2 of 2 crossed a kink)" in report.summary()
    without = check_gradients(mlp, params, jnp.array([[1.0]]), jnp.array([[1.0]]), "half_sse", finite_differences=False)
    assert without.passed and "finite differences" not in without.summary()


def test_chosen_indices_give_the_full_differences_there_and_bad_ones_are_named():
    """A subset of flat positions (across both layers) gets the same quotients as the full run
    and NaN elsewhere; a position outside the parameters or a non-integer index is refused."""
    mlp, params, x, y = _problem()
    full, _ = finite_difference_grad(mlp, params, x, y, "half_sse")
    chosen = [25, 3, 12, 3]  # unsorted, repeated, in layer 1 W, layer 2 W and layer 2 b
    some, kinks = finite_difference_grad(mlp, params, x, y, "half_sse", indices=chosen)
    assert np.array_equal(some[[3, 12, 25]], full[[3, 12, 25]]) and not kinks.any()
    assert np.isnan(np.delete(some, [3, 12, 25])).all()
    unsigned, _ = finite_difference_grad(mlp, params, x, y, "half_sse", indices=np.array(chosen, np.uint64))
    assert np.array_equal(unsigned, some, equal_nan=True)
    assert np.isnan(finite_difference_grad(mlp, params, x, y, "half_sse", indices=[])[0]).all()
    with pytest.raises(ValueError, match=r"index 26 is outside the parameters' flat positions 0\.\.25"):
        finite_difference_grad(mlp, params, x, y, "half_sse", indices=[0, 26])
    with pytest.raises(ValueError, match="index -1 is outside"):
        finite_difference_grad(mlp, params, x, y, "half_sse", indices=[-1])
    with pytest.raises(ValueError, match="indices must be integers"):
        finite_difference_grad(mlp, params, x, y, "half_sse", indices=[0.5])
