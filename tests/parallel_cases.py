"""Run by tests/test_parallel.py in a subprocess with JAX_NUM_CPU_DEVICES=8 (set before JAX
starts): fit on one device and on meshes of the eight CPU devices; the params and losses of
each case saved to an .npz the test compares (``python tests/parallel_cases.py OUT.npz``)."""

import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

jax.config.update("jax_enable_x64", True)

from funcmlp import DPSGD, MLP, fit  # noqa: E402
from funcmlp.training.parallel import data_mesh  # noqa: E402


def problem(dtype, dropout=0.0, units=3):
    x = jax.random.normal(jax.random.key(0), (101, 5), dtype)
    y = jnp.arange(101) % units
    mlp = MLP((5, 12, 7, units), "tanh", output="identity", dropout=dropout)
    return mlp, mlp.init(jax.random.key(1), dtype=dtype), x, y


def run(
    mesh,
    *,
    dtype=jnp.float64,
    batch=32,
    gradient="manual",
    reduction="mean",
    dropout=0.0,
    key=2,
    loss="softmax_cross_entropy",
    targets=None,
    sample_weight=None,
    dp_sgd=None,
):
    mlp, params, x, y = problem(dtype, dropout)
    y = y if targets is None else targets
    params, history = fit(
        mlp,
        params,
        (x, y),
        loss=loss,
        optimizer=optax.adam(0.01),
        epochs=3,
        batch_size=batch,
        key=jax.random.key(key),
        validation=(x[:20], y[:20]),
        gradient=gradient,
        reduction=reduction,
        mesh=mesh,
        sample_weight=sample_weight,
        dp_sgd=dp_sgd,
    )
    leaves = [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(jax.device_get(params))]
    return leaves, np.array(history.train_loss + history.val_loss + history.clipped_fraction)


def main(out):
    assert jax.device_count() == 8, jax.devices()
    eight, one = data_mesh("all"), data_mesh(1)
    two_axes = jax.sharding.Mesh(np.array(jax.devices()).reshape(4, 2), ("data", "model"))
    explicit = jax.make_mesh((8,), ("data",))  # JAX's documented way: Explicit axes
    explicit_two_axes = jax.make_mesh((4, 2), ("data", "model"))
    made_auto = jax.make_mesh((8,), ("data",), axis_types=(jax.sharding.AxisType.Auto,))
    soft = jax.nn.softmax(jax.random.normal(jax.random.key(5), (101, 3)) * 3)
    weights = jax.random.uniform(jax.random.key(6), (101,)) * (jnp.arange(101) % 5 != 0)  # some examples weigh 0
    cases = {
        "single": run(None),
        "eight": run(eight),
        "auto": run("auto"),
        "one": run(one),
        "two_axes": run(two_axes),
        "explicit": run(explicit),
        "explicit_two_axes": run(explicit_two_axes),
        "made_auto": run(made_auto),
        "single_b13": run(None, batch=13),
        "eight_b13": run(eight, batch=13),
        "single_b1": run(None, batch=1),
        "eight_b1": run(eight, batch=1),
        "eight_autodiff": run(eight, gradient="autodiff"),
        "single_sum": run(None, reduction="sum"),
        "eight_sum": run(eight, reduction="sum"),
        "single_soft": run(None, targets=soft),
        "eight_soft": run(eight, targets=soft),
        "single_weighted": run(None, batch=13, sample_weight=weights),
        "eight_weighted": run(eight, batch=13, sample_weight=weights),
        "single_f32": run(None, dtype=jnp.float32),
        "eight_f32": run(eight, dtype=jnp.float32),
        # dropout: the masks of each batch drawn once for the whole batch, so those of one device
        "single_dropout": run(None, dropout=0.3),
        "dropout_a": run(eight, dropout=0.3),
        "dropout_b": run(eight, dropout=0.3),
        "dropout_other_key": run(eight, dropout=0.3, key=3),
        "explicit_dropout": run(explicit, dropout=0.3),
        "single_b13_dropout": run(None, batch=13, dropout=0.3),
        "eight_b13_dropout": run(eight, batch=13, dropout=0.3),
        "single_autodiff_dropout": run(None, gradient="autodiff", dropout=0.3),
        "eight_autodiff_dropout": run(eight, gradient="autodiff", dropout=0.3),
        "single_dp_dropout": run(None, batch=13, dropout=0.3, dp_sgd=DPSGD(0.5, 1.1)),
        "eight_dp_dropout": run(eight, batch=13, dropout=0.3, dp_sgd=DPSGD(0.5, 1.1)),
        # DP-SGD: per-example clipping in each shard, the clipped counts summed, the noise added once
        "single_dp": run(None, batch=13, sample_weight=jnp.where(weights > 0, 1.0, 0.0), dp_sgd=DPSGD(0.5, 1.1)),
        "eight_dp": run(eight, batch=13, sample_weight=jnp.where(weights > 0, 1.0, 0.0), dp_sgd=DPSGD(0.5, 1.1)),
    }
    arrays = {}
    for name, (leaves, losses) in cases.items():
        arrays[f"{name}.losses"] = losses
        for i, leaf in enumerate(leaves):
            arrays[f"{name}.{i}"] = leaf
    np.savez(out + ".partial.npz", **arrays)
    os.replace(out + ".partial.npz", out)  # whole or absent: other test workers wait for this file


if __name__ == "__main__":
    main(sys.argv[1])
