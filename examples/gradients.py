"""Vanishing and exploding gradients (seed 000 sections 13-14): the norm of dL/dW^k per layer
of 10-layer networks at initialization, by the manual backprop, for sigmoid, tanh and ReLU
(vanishing: each sigmoid layer multiplies the sensitivity by at most 1/4) and for weights
drawn too large (exploding). Writes gradient_norms.png.

    python examples/gradients.py [--out DIR] [--fast]
"""

import argparse
import os

import jax
import jax.numpy as jnp

from funcmlp import MLP, backprop
from funcmlp.data.datasets import load_digits
from funcmlp.io.plots import plot_layer_norms


def layer_norms(mlp, params, x, y):
    grads = backprop(mlp, params, x, y, "softmax_cross_entropy").grads
    return [float(jnp.linalg.norm(g.W)) for g in grads]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/gradients")
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    data = load_digits(seed=0)
    x, y = jnp.asarray(data.x_train[:256], jnp.float32), data.y_train[:256]
    width = 32
    sizes = (64, *[width] * (args.depth - 1), 10)
    setups = {
        "sigmoid, glorot": ("sigmoid", "glorot_normal"),
        "tanh, glorot": ("tanh", "glorot_normal"),
        "relu, he": ("relu", "he_normal"),
        "relu, normal(0.5) (too large)": ("relu", "normal(0.5)"),
        "tanh, normal(1.0) (too large)": ("tanh", "normal(1.0)"),
    }
    norms = {}
    print(f"{'network':>32} " + " ".join(f"{'W' + str(k):>9}" for k in range(1, len(sizes))))
    for label, (activation, init) in setups.items():
        mlp = MLP(sizes, activation, output="identity")
        params = mlp.init(jax.random.key(0), init=init, dtype=jnp.float32)
        norms[label] = layer_norms(mlp, params, x, y)
        print(f"{label:>32} " + " ".join(f"{v:>9.2e}" for v in norms[label]))
    ratio = norms["sigmoid, glorot"][0] / norms["sigmoid, glorot"][-1]
    print(
        f"sigmoid: ||dL/dW^1|| / ||dL/dW^{len(sizes) - 1}|| = {ratio:.1e} (vanishing); "
        f"relu with normal(0.5): first layer {norms['relu, normal(0.5) (too large)'][0]:.1e} (exploding)"
    )
    path = plot_layer_norms(
        norms,
        os.path.join(args.out, "gradient_norms.png"),
        title=f"{args.depth}-layer MLPs of width {width} at initialization (digits batch of 256)",
    )
    print(f"wrote {path}")
    return norms


if __name__ == "__main__":
    main()
