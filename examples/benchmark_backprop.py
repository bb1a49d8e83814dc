"""Benchmark: one jit-compiled gradient of the batch loss, manual backprop vs jax.grad.

Prints the median time per call over repeated calls (after compilation) and the ratio
manual / jax.grad, measured in the same run on whatever device JAX uses.

    python examples/benchmark_backprop.py [--quick] [--float64]
"""

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp import MLP, autodiff_grad, backprop


def median_seconds(fn, *args, repeats=30):
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small case (for the tests)")
    parser.add_argument("--float64", action="store_true")
    args = parser.parse_args(argv)
    if args.float64:
        jax.config.update("jax_enable_x64", True)
    dtype = jnp.float64 if args.float64 else jnp.float32
    cases = [((64, 32, 10), 32)] if args.quick else [((64, 256, 10), 32), ((64, 256, 10), 1024), ((784, 512, 512, 10), 128), ((784, 1024, 1024, 1024, 10), 256)]
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), dtype {jnp.dtype(dtype).name}")
    print(f"{'network':>24} {'batch':>6} {'manual ms':>10} {'jax.grad ms':>12} {'manual/grad':>12}")
    for sizes, batch in cases:
        mlp = MLP(sizes, "relu", output="identity")
        params = mlp.init(jax.random.key(0), dtype=dtype)
        x = jax.random.normal(jax.random.key(1), (batch, sizes[0]), dtype)
        y = jax.random.randint(jax.random.key(2), (batch,), 0, sizes[-1])
        manual = jax.jit(lambda p, x, y: backprop(mlp, p, x, y, "softmax_cross_entropy").grads)
        auto = jax.jit(lambda p, x, y: autodiff_grad(mlp, p, x, y, "softmax_cross_entropy"))
        t_manual = median_seconds(manual, params, x, y)
        t_auto = median_seconds(auto, params, x, y)
        print(f"{'-'.join(map(str, sizes)):>24} {batch:>6} {t_manual * 1e3:>10.3f} {t_auto * 1e3:>12.3f} {t_manual / t_auto:>12.2f}", flush=True)


if __name__ == "__main__":
    main()
