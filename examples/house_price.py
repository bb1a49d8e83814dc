"""Seed 000's house-price network (3-2-2-1, ReLU, L = 1/2 (y - a)^2): its given weights in the
column convention, one training iteration printed layer by layer and checked against the
exact values of derivations.examples.worked, then training to convergence. Writes house_price_loss.png.

    python examples/house_price.py [--out DIR] [--fast]
"""

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

from derivations.examples.worked import build
from funcmlp import MLP, Layer, backprop, fit, params_from_arrays, to_column_convention
from funcmlp.data.datasets import house_price
from funcmlp.io.plots import plot_curves

WEIGHTS = [  # seed 000 eqs. 7, 10, 13, column convention z = W a + b
    ([[0.01, -0.02, 0.03], [0.04, 0.05, -0.06]], [0.001, -0.001]),
    ([[0.1, -0.1], [0.1, 0.1]], [0.01, 0.01]),
    ([[0.1, 0.1]], [0.01]),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/house_price")
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    data = house_price()
    mlp = MLP((3, 2, 2, 1), "relu", output="relu")  # seed 000: ReLU on every layer
    params = params_from_arrays(WEIGHTS, convention="column", dtype=jnp.float64)
    result = backprop(mlp, params, data.x_train, data.y_train, "half_sse")
    exact = build("seed000_house_price").values
    print(
        f"one iteration of seed 000 (x = {data.x_train[0].tolist()}, y = 1, alpha = 0.1), funcmlp in float64 vs exact:"
    )
    for k in range(1, 4):
        n = np.asarray(result.trace.n[k - 1][0])
        print(f"  n^{k} = {np.round(n, 6).tolist()}   exact {[float(v) for v in exact[f'n^{k}']]}")
    print(f"  L   = {float(result.loss):.6f}   exact {float(exact['L'][0]):.6f} (the text prints 0.0762)")
    updated = tuple(
        Layer(layer.W - 0.1 * g.W, layer.b - 0.1 * g.b) for layer, g in zip(params, result.grads, strict=True)
    )
    for k, (Wc, _bc) in enumerate(to_column_convention(updated), start=1):
        W_exact = np.array([float(v) for v in exact[f"W^{k} new"]]).reshape(np.asarray(Wc).shape)
        assert np.allclose(np.asarray(Wc), W_exact, rtol=1e-12), (k, Wc, W_exact)
        print(f"  W^{k} new (column convention) = {np.round(np.asarray(Wc), 7).tolist()}  matches the exact update")
    print("  (the text's own numbers differ: see `funcmlp derive seed000_house_price` for its errata)")

    # Training to convergence on the one example. The raw input 1200 makes the text's alpha = 0.1
    # overshoot (W^1_11 jumps from 0.01 to 0.48); SGD needs a rate near 1 / |x|^2, Adam does not.
    curves = {}
    for name, optimizer in (
        ("SGD lr 1e-6", optax.sgd(1e-6)),
        ("SGD lr 0.1 (the text's)", optax.sgd(0.1)),
        ("Adam lr 1e-3", optax.adam(1e-3)),
    ):
        try:
            _, history = fit(
                mlp,
                params,
                (data.x_train, data.y_train),
                loss="half_sse",
                optimizer=optimizer,
                epochs=60 if args.fast else 300,
                batch_size=1,
                key=jax.random.key(0),
            )
        except FloatingPointError as error:
            print(f"{name}: {error}")
            continue
        curves[name] = history.train_loss
        print(
            f"{name}: loss {history.train_loss[0]:.6f} -> {history.train_loss[-1]:.3e} "
            f"after {len(history.train_loss)} steps"
        )
    print(
        "with the text's alpha = 0.1 the first step overshoots and the ReLUs die (output 0, loss 1/2 for ever); "
        "Adam converges"
    )
    path = plot_curves(
        curves,
        os.path.join(args.out, "house_price_loss.png"),
        xlabel="step",
        ylabel="1/2 (y - a)^2",
        title="seed 000 house-price network, one example",
    )
    print(f"wrote {path}")
    return curves


if __name__ == "__main__":
    main()
