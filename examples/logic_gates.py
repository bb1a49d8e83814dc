"""Logic gates (seed 003): hand-set perceptrons for AND and OR, the perceptron learning rule,
why XOR defeats one layer, the hand-set hard-limit XOR network, and a sigmoid MLP that
learns XOR by backprop. Writes decision_boundaries.png.

    python examples/logic_gates.py [--out DIR] [--fast]
"""

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcmlp import MLP, fit, params_from_arrays, predict
from funcmlp.data.datasets import logic_gate
from funcmlp.io.plots import plot_decision_boundaries
from funcmlp.training.perceptron import perceptron_epoch


def perceptron_rule(x, y, *, eta=1.0, max_epochs=50):
    """Seed 003 eq. 6 (funcmlp.training.perceptron): theta <- theta + eta [1 x]^T (y - a), one sample at a
    time, until an epoch makes no update. Returns theta = [b, w_1, w_2] and that epoch (or None)."""
    params = MLP((x.shape[1], 1), output="hardlimit").init(jax.random.key(0), init="zeros")
    for epoch in range(1, max_epochs + 1):
        params, mistakes = perceptron_epoch(params, x, y.reshape(-1, 1), jnp.arange(len(x)), eta)
        if mistakes == 0:
            return jnp.concatenate([params[0].b, params[0].W[:, 0]]), epoch
    return jnp.concatenate([params[0].b, params[0].W[:, 0]]), None


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/logic_gates")
    parser.add_argument("--fast", action="store_true", help="fewer epochs (for the tests)")
    args = parser.parse_args(argv)
    x = jnp.asarray(logic_gate("and").x_train)
    slp = MLP((2, 1), output="hardlimit")
    panels = []
    for gate, bias in (("and", -1.5), ("or", -0.5)):
        params = params_from_arrays([([1, 1], bias)])
        out = slp.apply(params, x).ravel().astype(int).tolist()
        print(
            f"hand-set {gate.upper()} perceptron, W = [1 1]^T, b = {bias}: {out} "
            f"(target {logic_gate(gate).y_train.tolist()})"
        )
        panels.append(
            (
                f"{gate.upper()}: hand-set",
                lambda p, params=params: slp.apply(params, jnp.asarray(p))[:, 0],
                x,
                logic_gate(gate).y_train,
            )
        )

    for gate in ("and", "or", "xor"):
        theta, epochs = perceptron_rule(
            x, jnp.asarray(logic_gate(gate).y_train, float), max_epochs=20 if args.fast else 50
        )
        verdict = (
            f"converged in {epochs} epochs: b = {float(theta[0]):g}, w = {np.asarray(theta[1:]).tolist()}"
            if epochs
            else "no convergence: XOR is not linearly separable, no single line splits {01, 10} from {00, 11}"
        )
        print(f"perceptron rule on {gate.upper()}: {verdict}")

    xor = MLP((2, 2, 1), "hardlimit", output="hardlimit")
    xor_params = params_from_arrays([([[1, -1], [-1, 1]], [-0.5, -0.5]), ([1, 1], -0.5)])
    print(
        f"hand-set hard-limit XOR network: {xor.apply(xor_params, x).ravel().astype(int).tolist()} "
        "(target [0, 1, 1, 0])"
    )
    panels.append(
        ("XOR: hand-set 2-2-1", lambda p: xor.apply(xor_params, jnp.asarray(p))[:, 0], x, logic_gate("xor").y_train)
    )

    mlp = MLP((2, 4, 1), "sigmoid", output="sigmoid")
    data = logic_gate("xor")
    params, history = fit(
        mlp,
        mlp.init(jax.random.key(0), init="normal(1.0)"),
        (data.x_train, data.y_train),
        loss="binary_cross_entropy",
        optimizer=optax.adam(0.1),
        epochs=150 if args.fast else 400,
        batch_size=4,
        key=jax.random.key(1),
    )
    print(
        f"sigmoid 2-4-1 MLP trained by backprop: predictions {predict(mlp, params, data.x_train).tolist()}, "
        f"loss {history.train_loss[-1]:.4f}, accuracy {history.train_accuracy[-1]:.2f}"
    )
    panels.append(
        ("XOR: sigmoid MLP, backprop", lambda p: mlp.apply(params, jnp.asarray(p))[:, 0] > 0.5, x, data.y_train)
    )
    path = plot_decision_boundaries(panels, os.path.join(args.out, "decision_boundaries.png"))
    print(f"wrote {path}")
    return history


if __name__ == "__main__":
    main()
