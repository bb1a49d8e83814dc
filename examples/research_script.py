"""The functional API the way a research script uses it: jit-compiled steps, per-example
gradients with vmap of the manual backprop, per-example clipping (as in DP-SGD), a custom
loss (Huber) pushed through the same sensitivity recursion with funcmlp.backward and checked
against jax.grad, the same loss as a function given to backprop, the batch sharded over a device mesh under
one's own jit, and an optax chain.

    python examples/research_script.py [--fast]
    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/research_script.py  # 8 CPU devices
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

from funcmlp import MLP, backprop, backward
from funcmlp.data.datasets import synthetic_regression


def huber(residual, delta=1.0):
    return jnp.where(jnp.abs(residual) <= delta, 0.5 * residual**2, delta * (jnp.abs(residual) - 0.5 * delta))


def huber_sensitivity(residual, delta=1.0):
    """d huber / d residual: the residual, clipped to [-delta, delta]."""
    return jnp.clip(residual, -delta, delta)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    data = synthetic_regression(seed=0, n=512)
    x, y = jnp.asarray(data.x_train, jnp.float32), jnp.asarray(data.y_train, jnp.float32)
    mlp = MLP((4, 64, 64, 1), "tanh", output="identity")
    params = mlp.init(jax.random.key(0), init="glorot_normal", dtype=jnp.float32)

    # 1. per-example gradients: vmap the single-example backprop
    per_example = jax.jit(jax.vmap(lambda xi, yi: backprop(mlp, params, xi, yi, "half_sse").grads))(x[:8], y[:8])
    norms = jnp.sqrt(sum(jnp.sum(g.reshape(8, -1) ** 2, axis=1) for g in jax.tree_util.tree_leaves(per_example)))
    print("per-example gradient norms of the first 8 examples:", np.round(np.asarray(norms), 4).tolist())

    # 2. a custom loss through the manual recursion: Huber on the residual a - y, mean over the batch
    def huber_grads(params, x, y):
        trace = mlp.trace(params, x)
        residual = trace.a[-1] - y
        grads, _ = backward(mlp, params, trace, huber_sensitivity(residual) / x.shape[0])
        return jnp.mean(jnp.sum(huber(residual), axis=-1)), grads

    value, manual = jax.jit(huber_grads)(params, x, y)
    reference = jax.grad(lambda p: jnp.mean(jnp.sum(huber(mlp.apply(p, x) - y), axis=-1)))(params)
    worst = max(
        float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))
        for a, b in zip(jax.tree_util.tree_leaves(manual), jax.tree_util.tree_leaves(reference), strict=True)
    )
    print(f"Huber loss {float(value):.4f}; manual recursion vs jax.grad, worst relative error {worst:.1e} (float32)")

    # the same loss as a function where a loss name goes (dL/da by jax.grad, the layers' recursion the manual one),
    # the network passed to jit as an argument
    def huber_loss(a, targets):
        return jnp.sum(huber(a - targets), axis=-1)  # one value per example

    by_function = jax.jit(lambda network, p: backprop(network, p, x, y, huber_loss).grads)(mlp, params)
    agree = max(
        float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))
        for a, b in zip(jax.tree_util.tree_leaves(by_function), jax.tree_util.tree_leaves(reference), strict=True)
    )
    print(f"the loss as a function through backprop vs jax.grad: relative error {agree:.1e}")

    # the batch over every device (jax.make_mesh's axis is Explicit): the same jit, the same gradients
    devices = len(jax.devices())
    rows = x.shape[0] // devices * devices  # rows split evenly over the devices
    grads_of = jax.jit(lambda network, p, xb, yb: backprop(network, p, xb, yb, huber_loss).grads)
    mesh = jax.make_mesh((devices,), ("data",))
    x_sharded, y_sharded = (jax.device_put(a[:rows], NamedSharding(mesh, P("data"))) for a in (x, y))
    on_mesh = grads_of(mlp, jax.device_put(params, NamedSharding(mesh, P())), x_sharded, y_sharded)
    on_one = grads_of(mlp, params, x[:rows], y[:rows])
    apart = max(
        float(jnp.max(jnp.abs(a - b)) / jnp.max(jnp.abs(b)))
        for a, b in zip(jax.tree_util.tree_leaves(on_mesh), jax.tree_util.tree_leaves(on_one), strict=True)
    )
    print(f"the batch over {devices} device(s) of a mesh vs one: relative difference {apart:.1e}")

    # 3. training: per-example clipping to norm 1, mean, then an optax chain
    optimizer = optax.chain(
        optax.clip_by_global_norm(5.0), optax.adamw(optax.cosine_decay_schedule(3e-3, 400), weight_decay=1e-4)
    )
    opt_state = optimizer.init(params)

    def clipped_mean_gradient(params, xb, yb):
        def one(xi, yi):
            trace = mlp.trace(params, xi[None])
            residual = trace.a[-1] - yi[None]
            grads, _ = backward(mlp, params, trace, huber_sensitivity(residual))
            norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree_util.tree_leaves(grads)))
            return jax.tree_util.tree_map(lambda g: g / jnp.maximum(1.0, norm), grads)

        return jax.tree_util.tree_map(lambda g: g.mean(0), jax.vmap(one)(xb, yb))

    @jax.jit
    def step(params, opt_state, key):
        idx = jax.random.choice(key, x.shape[0], (64,), replace=False)
        grads = clipped_mean_gradient(params, x[idx], y[idx])
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    loss_of = jax.jit(lambda p: jnp.mean(jnp.sum(huber(mlp.apply(p, x) - y), axis=-1)))
    start = float(loss_of(params))
    key = jax.random.key(1)
    for _ in range(60 if args.fast else 400):
        key, sub = jax.random.split(key)
        params, opt_state = step(params, opt_state, sub)
    final = float(loss_of(params))
    print(f"clipped per-example training: Huber loss {start:.4f} -> {final:.4f}")
    return start, final, worst


if __name__ == "__main__":
    main()
