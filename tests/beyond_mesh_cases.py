"""Run by tests/test_beyond_mesh.py in a subprocess with JAX_NUM_CPU_DEVICES=8 (set before JAX starts):
backprop, the per-example and curvature quantities and the gradient check of one batch, on one device and
with the batch sharded over the eight CPU devices (``jax.make_mesh((8,), ("data",))``, its axis Explicit as
make_mesh makes it, or Auto; ``NamedSharding(mesh, P("data"))`` on the inputs, targets and weights, the params
replicated), called directly and inside the user's own ``jax.jit`` (the check: directly, it reports on the host).
Saves every result's leaves, whether a call copied the sharded batch to the host, the gradient of an
independently written loss (tests/reference.py, jax.grad on one device), the messages bad values of a sharded
batch are refused with, and for a call that raised its error and the innermost frame of its traceback, to an
.npz the test compares (``python tests/beyond_mesh_cases.py OUT.npz``)."""

import json
import os
import sys
import traceback

import jax
import jax.numpy as jnp
import numpy as np
import reference
from jax.sharding import AxisType, NamedSharding
from jax.sharding import PartitionSpec as P

jax.config.update("jax_enable_x64", True)

import funcmlp  # noqa: E402

ROWS = 24  # three per device
LOSS = "softmax_cross_entropy"


def problem():
    """A 4-6-5-3 network (elementwise hidden layers: diag_hessian takes it), dropout on the hidden layers for
    the train=True cases, biases drawn (not zeros), 24 rows of which the last 5 are padding (weight 0)."""
    mlp = funcmlp.MLP((4, 6, 5, 3), ("tanh", "softplus", "identity"), dropout=0.25)
    params = mlp.init(jax.random.key(0), dtype=jnp.float64)
    params = tuple(
        layer._replace(b=0.3 * jax.random.normal(jax.random.key(10 + k), layer.b.shape, jnp.float64))
        for k, layer in enumerate(params)
    )
    x = jax.random.normal(jax.random.key(1), (ROWS, 4), jnp.float64)
    y = jnp.arange(ROWS) % 3
    weights = jax.random.uniform(jax.random.key(2), (ROWS,), jnp.float64, 0.5, 2.0).at[ROWS - 5 :].set(0.0)
    return mlp, params, x, y, weights


def quantities(mlp):
    """name -> f(params, x, y, weights): backprop and every per-example and curvature entry point, with their
    options."""
    key, dropout_key = jax.random.key(3), jax.random.key(4)
    return {
        "backprop": lambda p, x, y, w: _backprop(funcmlp.backprop(mlp, p, x, y, LOSS, weights=w)),
        "backprop_dropout": lambda p, x, y, w: _backprop(
            funcmlp.backprop(mlp, p, x, y, LOSS, weights=w, key=dropout_key, train=True)
        ),
        "per_example_grad_norms": lambda p, x, y, w: funcmlp.per_example_grad_norms(mlp, p, x, y, LOSS, weights=w),
        "per_example_grad_norms_dropout": lambda p, x, y, w: funcmlp.per_example_grad_norms(
            mlp, p, x, y, LOSS, weights=w, key=dropout_key, train=True, reduction="sum"
        ),
        "clipped_grad": lambda p, x, y, w: funcmlp.clipped_grad(mlp, p, x, y, LOSS, 0.5, weights=w),
        "grad_moments": lambda p, x, y, w: funcmlp.grad_moments(mlp, p, x, y, LOSS, weights=w),
        "diag_ggn": lambda p, x, y, w: funcmlp.diag_ggn(mlp, p, x, y, LOSS, weights=w),
        "diag_ggn_samples": lambda p, x, y, w: funcmlp.diag_ggn(mlp, p, x, y, LOSS, weights=w, samples=2, key=key),
        "diag_ggn_per_example": lambda p, x, y, w: funcmlp.diag_ggn(mlp, p, x, y, LOSS, weights=w, per_example=True),
        "kfac_factors": lambda p, x, y, w: funcmlp.kfac_factors(mlp, p, x, y, LOSS, weights=w),
        "diag_hessian": lambda p, x, y, w: funcmlp.diag_hessian(mlp, p, x, y, LOSS, weights=w, dropout_key=dropout_key),
    }


def _backprop(result):
    return result.grads, result.sensitivities, result.loss


def gradient_check(mlp):
    """The gradient check of the batch (no weights: it takes none), every entry differenced: its loss, whether
    it passed, how many entries finite differences compared."""

    def check(p, x, y, w):
        report = funcmlp.check_gradients(mlp, p, x, y, LOSS, max_fd_entries=None)
        return np.array(report.loss), np.array(report.passed), np.array(report.fd_entries)

    return check


def reference_gradient(params, x, y, weights):
    """jax.grad of the batch loss written in tests/reference.py (no funcmlp code), on one device: ((W, b), ...)."""
    activations = (("tanh", None), ("softplus", None), ("identity", None))
    targets = jax.nn.one_hot(y, 3, dtype=jnp.float64)
    return reference.gradient(params, x, targets, activations, LOSS, weights=weights)


def bad_batches(x, y, weights):
    """name -> (x, y, weights) with one bad value, each refused by the entry points' checks."""
    return {
        "nan_input": (x.at[13, 2].set(jnp.nan), y, weights),
        "label_out_of_range": (x, y.at[9].set(3), weights),
        "negative_weight": (x, y, weights.at[17].set(-1.0)),
        "weights_all_zero": (x, y, jnp.zeros_like(weights)),
        "soft_target_above_one": (x, jax.nn.one_hot(y, 3, dtype=jnp.float64).at[5, 1].set(1.5), weights),
    }


def copied_to_host(array) -> bool:
    """Whether a ``jax.Array`` holds a host copy of its value: every way to one (``np.asarray``, ``jax.device_get``,
    ``float``) goes through its ``_value``, which keeps the copy in ``_npy_value`` (JAX's own attribute, read here,
    never set; a JAX without it fails this script rather than passing)."""
    return array._npy_value is not None


def placements():
    """name -> (data placement, params placement, the calls made there): one device unsharded (the reference,
    called directly); the batch over an Explicit axis (what ``jax.make_mesh`` makes) and over an Auto axis, each
    called directly and inside the user's ``jax.jit``."""
    explicit = jax.make_mesh((8,), ("data",))
    auto = jax.make_mesh((8,), ("data",), axis_types=(AxisType.Auto,))
    return {
        "single": (None, None, ("direct",)),
        "explicit": (NamedSharding(explicit, P("data")), NamedSharding(explicit, P()), ("direct", "jit")),
        "auto": (NamedSharding(auto, P("data")), NamedSharding(auto, P()), ("direct", "jit")),
    }


def innermost(error):
    """The traceback's innermost frame, ``file:line in function``, and the frames of funcmlp in it."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f"{os.path.relpath(f.filename)}:{f.lineno} in {f.name}" for f in frames if "funcmlp" in f.filename]
    top = frames[-1]
    return f"{top.filename}:{top.lineno} in {top.name}", ours


def place(data, replicated, params, x, y, weights):
    """Fresh copies (none of them read back yet): the batch split over the devices, the params on every one."""
    if data is None:
        return params, x, y, weights
    inputs = (jax.device_put(params, replicated), *(jax.device_put(a, data) for a in (x, y, weights)))
    assert len(inputs[1].sharding.device_set) == 8 and not inputs[1].sharding.is_fully_replicated
    return inputs


def main(out):
    assert jax.device_count() == 8, jax.devices()
    mlp, params, x, y, weights = problem()
    arrays, errors = {}, {}
    for i, leaf in enumerate(jax.tree_util.tree_leaves(reference_gradient(params, x, y, weights))):
        arrays[f"reference/{i}"] = np.asarray(leaf)
    calls = {**quantities(mlp), "check_gradients": gradient_check(mlp)}
    for where, (data, replicated, hows) in placements().items():
        for name, function in calls.items():
            for how in hows if name != "check_gradients" else ("direct",):
                inputs = place(data, replicated, params, x, y, weights)
                call = function if how == "direct" else jax.jit(function)
                case = f"{name}/{where}/{how}"
                try:
                    result = jax.tree_util.tree_leaves(call(*inputs))
                    copied = data is not None and any(copied_to_host(a) for a in inputs[1:])
                    leaves = jax.device_get(result)
                except Exception as error:  # recorded for the test to report (the test fails on it)
                    top, ours = innermost(error)
                    message = f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
                    errors[case] = {"error": message, "top": top, "funcmlp": ours}
                    continue
                for i, leaf in enumerate(leaves):
                    arrays[f"{case}/{i}"] = np.asarray(leaf)
                arrays[f"{case}/copied"] = np.array(copied)
                # where the first result lies: the devices holding it, and whether its rows are split over them
                first = result[0].sharding if isinstance(result[0], jax.Array) else None
                arrays[f"{case}/split"] = np.array(first is not None and not first.is_fully_replicated)
        for bad, batch in bad_batches(x, y, weights).items():
            try:
                p, bad_x, bad_y, bad_weights = place(data, replicated, params, *batch)
                funcmlp.backprop(mlp, p, bad_x, bad_y, LOSS, weights=bad_weights)
                arrays[f"refused/{bad}/{where}"] = np.array("")
            except ValueError as error:
                arrays[f"refused/{bad}/{where}"] = np.array(str(error))
    arrays["errors"] = np.array(json.dumps(errors))
    np.savez(out + ".partial.npz", **arrays)
    os.replace(out + ".partial.npz", out)  # whole or absent: other test workers wait for this file


if __name__ == "__main__":
    main(sys.argv[1])
