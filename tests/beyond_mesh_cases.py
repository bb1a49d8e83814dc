"""Run by tests/test_beyond_mesh.py in a subprocess with JAX_NUM_CPU_DEVICES=8 (set before JAX starts):
the per-example and curvature quantities of one batch, on one device and with the batch sharded over
the eight CPU devices (``jax.make_mesh((8,), ("data",))``, its axis Explicit as make_mesh makes it, or
Auto; ``NamedSharding(mesh, P("data"))`` on the inputs, targets and weights, the params replicated),
called directly and inside the user's own ``jax.jit``. Saves every result's leaves, and for a call that
raised its error and the innermost frame of its traceback, to an .npz the test compares
(``python tests/beyond_mesh_cases.py OUT.npz``)."""

import json
import os
import sys
import traceback

import jax
import jax.numpy as jnp
import numpy as np
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
    """name -> f(params, x, y, weights): every per-example and curvature entry point, with their options."""
    key, dropout_key = jax.random.key(3), jax.random.key(4)
    return {
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


def placements():
    """name -> (data placement, params placement, the calls made there): one device unsharded (the reference,
    called directly); the batch over an Explicit axis (what ``jax.make_mesh`` makes), called directly and
    inside the user's ``jax.jit``; over an Auto axis, inside the user's ``jax.jit``."""
    explicit = jax.make_mesh((8,), ("data",))
    auto = jax.make_mesh((8,), ("data",), axis_types=(AxisType.Auto,))
    return {
        "single": (None, None, ("direct",)),
        "explicit": (NamedSharding(explicit, P("data")), NamedSharding(explicit, P()), ("direct", "jit")),
        "auto": (NamedSharding(auto, P("data")), NamedSharding(auto, P()), ("jit",)),
    }


def innermost(error):
    """The traceback's innermost frame, ``file:line in function``, and the frames of funcmlp in it."""
    frames = traceback.extract_tb(error.__traceback__)
    ours = [f"{os.path.relpath(f.filename)}:{f.lineno} in {f.name}" for f in frames if "funcmlp" in f.filename]
    top = frames[-1]
    return f"{top.filename}:{top.lineno} in {top.name}", ours


def main(out):
    assert jax.device_count() == 8, jax.devices()
    mlp, params, x, y, weights = problem()
    arrays, errors = {}, {}
    for where, (data, replicated, calls) in placements().items():
        inputs = (params, x, y, weights)
        if data is not None:
            inputs = (jax.device_put(params, replicated), *(jax.device_put(a, data) for a in (x, y, weights)))
            assert len(inputs[1].sharding.device_set) == 8 and not inputs[1].sharding.is_fully_replicated
        for name, function in quantities(mlp).items():
            for how in calls:
                call = function if how == "direct" else jax.jit(function)
                case = f"{name}/{where}/{how}"
                try:
                    result = jax.tree_util.tree_leaves(call(*inputs))
                    leaves = jax.device_get(result)
                except Exception as error:  # recorded for the test to report (the test fails or xfails on it)
                    top, ours = innermost(error)
                    message = f"{type(error).__name__}: {str(error).strip().splitlines()[0]}"
                    errors[case] = {"error": message, "top": top, "funcmlp": ours}
                    continue
                for i, leaf in enumerate(leaves):
                    arrays[f"{case}/{i}"] = np.asarray(leaf)
                # where the first result lies: the devices holding it, and whether its rows are split over them
                first = result[0].sharding
                arrays[f"{case}/devices"] = np.array(len(first.device_set))
                arrays[f"{case}/split"] = np.array(not first.is_fully_replicated)
    arrays["errors"] = np.array(json.dumps(errors))
    np.savez(out + ".partial.npz", **arrays)
    os.replace(out + ".partial.npz", out)  # whole or absent: other test workers wait for this file


if __name__ == "__main__":
    main(sys.argv[1])
