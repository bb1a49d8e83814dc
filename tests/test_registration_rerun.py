"""Registration a notebook can re-run (issue 36, item 2): a cell that registers a loss or an activation, run
again, makes new function objects from the same source: the same definition, so nothing changes (the entry
and the compiled programs keyed on it are kept). Another definition under a taken name (other code, another
value captured or read, another argument) is refused naming what differs, unless ``replace=True``; built-ins
are never replaced."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import funcmlp
from funcmlp import MLP

LOSS_CELL = """
import jax.numpy as jnp
import funcmlp

def quartic(a, y):
    return jnp.sum(jnp.abs(a - y) ** {power}, axis=-1)

spec = funcmlp.register_loss("rerun_quartic", quartic, sympy_value=lambda a, y: (a - y) ** 4{replace})
"""

ACTIVATION_CELL = """
import jax
import funcmlp

def make(beta):
    return lambda n, alpha: n * jax.nn.sigmoid(beta * n)

spec = funcmlp.register_activation(
    "rerun_swish", make({beta}), lambda n, alpha: jax.nn.sigmoid({beta} * n) * (1 + {beta} * n * (1 - jax.nn.sigmoid({beta} * n))){replace}
)
"""


def _run(cell: str, namespace: dict, **values):
    exec(cell.format(**{"replace": "", **values}), namespace)
    return namespace["spec"]


@pytest.fixture
def cleanup():
    yield
    for name, registry, remove in (
        ("rerun_quartic", funcmlp.LOSSES, funcmlp.unregister_loss),
        ("rerun_swish", funcmlp.ACTIVATIONS, funcmlp.unregister_activation),
    ):
        if name in registry:
            remove(name)


def test_a_loss_cell_run_again_changes_nothing(cleanup):
    notebook = {}
    first = _run(LOSS_CELL, notebook, power=4)
    first_quartic = notebook["quartic"]
    again = _run(LOSS_CELL, notebook, power=4)
    assert notebook["quartic"] is not first_quartic  # a new function object, the same definition
    assert again is first and funcmlp.get_loss("rerun_quartic").spec is first
    elsewhere = _run(LOSS_CELL, {}, power=4)  # the same source in another namespace (another kernel's module)
    assert elsewhere is first


def test_another_loss_definition_is_refused_unless_replaced(cleanup):
    notebook = {}
    first = _run(LOSS_CELL, notebook, power=4)
    before = funcmlp.get_loss("rerun_quartic")
    with pytest.raises(
        ValueError,
        match=r"^loss 'rerun_quartic' is already registered, with another value; pass replace=True to replace it, "
        r"or choose another name$",
    ):
        _run(LOSS_CELL, notebook, power=3)  # the cell edited: another power
    assert funcmlp.LOSSES["rerun_quartic"] is first
    replaced = _run(LOSS_CELL, notebook, power=3, replace=", replace=True")
    assert replaced is not first and funcmlp.LOSSES["rerun_quartic"] is replaced
    after = funcmlp.get_loss("rerun_quartic")
    a, y = jnp.array([[3.0]]), jnp.array([[1.0]])
    assert before != after  # a loss made before keeps its definition (and the programs compiled for it)
    assert float(before.per_example(a, y)[0]) == 16.0 and float(after.per_example(a, y)[0]) == 8.0


def test_a_global_the_function_reads_is_part_of_its_definition(cleanup):
    cell = "POWER = {power}\n\ndef quartic(a, y):\n    return jnp.sum(jnp.abs(a - y) ** POWER, axis=-1)\n"
    first, second = {"jnp": jnp}, {"jnp": jnp}
    exec(cell.format(power=4), first)
    exec(cell.format(power=3), second)
    funcmlp.register_loss("rerun_quartic", first["quartic"])
    with pytest.raises(ValueError, match="with another value; pass replace=True"):
        funcmlp.register_loss("rerun_quartic", second["quartic"])
    exec(cell.format(power=4), second)
    assert funcmlp.register_loss("rerun_quartic", second["quartic"]) is funcmlp.LOSSES["rerun_quartic"]


def test_a_loss_registered_without_a_gradient_twice_is_the_same(cleanup):
    def first(a, y):
        return jnp.sum((a - y) ** 2, axis=-1)

    def second(a, y):
        return jnp.sum((a - y) ** 2, axis=-1)

    def other(a, y):
        return jnp.sum((a - y) ** 2 + 0.0, axis=-1)

    spec = funcmlp.register_loss("rerun_quartic", first)
    assert funcmlp.register_loss("rerun_quartic", second) is spec
    with pytest.raises(ValueError, match="with another value"):
        funcmlp.register_loss("rerun_quartic", other)
    with pytest.raises(ValueError, match="with another gradient"):
        funcmlp.register_loss("rerun_quartic", first, lambda a, y: 2 * (a - y))
    with pytest.raises(ValueError, match="with another targets"):
        funcmlp.register_loss("rerun_quartic", first, targets="nonnegative")


def test_an_activation_cell_run_again_changes_nothing_and_a_captured_value_is_a_definition(cleanup):
    notebook = {}
    first = _run(ACTIVATION_CELL, notebook, beta=1.5)
    mlp = MLP((2, 3, 1), "rerun_swish")
    params = mlp.init(jax.random.key(0), dtype=jnp.float64)
    x = jnp.ones((4, 2))
    grads = funcmlp.backprop(mlp, params, x, jnp.zeros((4, 1)), "sse").grads
    assert _run(ACTIVATION_CELL, notebook, beta=1.5) is first
    assert MLP((2, 3, 1), "rerun_swish") == mlp  # the same entry: the same network, its programs reused
    with pytest.raises(ValueError, match=r"^activation 'rerun_swish' is already registered, with another forward"):
        _run(ACTIVATION_CELL, notebook, beta=2.0)  # the closure captures another beta
    replaced = _run(ACTIVATION_CELL, notebook, beta=2.0, replace=", replace=True")
    assert replaced is not first and MLP((2, 3, 1), "rerun_swish") != mlp
    again = funcmlp.backprop(mlp, params, x, jnp.zeros((4, 1)), "sse").grads  # the old network keeps its entry
    np.testing.assert_array_equal(again[0].W, grads[0].W)


def test_built_ins_and_aliases_are_never_replaced():
    with pytest.raises(ValueError, match=r"loss 'sse' is already registered; choose another name \(a built-in"):
        funcmlp.register_loss("sse", lambda a, y: jnp.sum((a - y) ** 2, axis=-1), replace=True)
    with pytest.raises(ValueError, match=r"activation 'linear' is already registered; choose another name"):
        funcmlp.register_activation("linear", lambda n, alpha: n, lambda n, alpha: jnp.ones_like(n), replace=True)
    with pytest.raises(TypeError, match="replace must be True or False, got str 'yes'"):
        funcmlp.register_loss("rerun_never", lambda a, y: jnp.sum(a - y, axis=-1), replace="yes")
    assert "rerun_never" not in funcmlp.LOSSES
