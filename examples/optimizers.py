"""Optimizers and learning-rate schedules of seed 004 on one problem (the embedded digits,
64-64-10 tanh MLP, same initial params and batches): SGD, momentum, Nesterov, AdaGrad,
RMSprop, Adam, RAdam, and SGD with momentum under the step, linear, exponential, cosine and
warm-up schedules. Prints a table of final losses; writes optimizers.png.

    python examples/optimizers.py [--out DIR] [--fast]
"""

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp import MLP, fit, make_optimizer, make_schedule
from funcmlp.data.datasets import load_digits
from funcmlp.io.plots import plot_curves
from funcmlp.training.batching import iterations_per_epoch

RATES = {"sgd": 0.1, "momentum": 0.05, "nesterov": 0.05, "adagrad": 0.05, "rmsprop": 1e-3, "adam": 1e-3, "radam": 1e-3}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs/optimizers")
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    epochs = 3 if args.fast else args.epochs
    data = load_digits(seed=0)
    x = np.asarray(data.x_train, np.float32)
    mlp = MLP((64, 64, 10), "tanh", output="identity")
    start = mlp.init(jax.random.key(0), init="glorot_normal", dtype=jnp.float32)
    total = epochs * iterations_per_epoch(len(x), 64)
    runs = {name: make_optimizer(name, lr) for name, lr in RATES.items()}
    for schedule in ("step", "linear", "exponential", "cosine", "warmup"):
        runs[f"momentum + {schedule}"] = make_optimizer("momentum", make_schedule(schedule, 0.1, total_steps=total))
    curves = {}
    print(f"{'optimizer':>24} {'final train loss':>17} {'val loss':>9} {'val acc':>8}")
    for name, optimizer in runs.items():
        _, history = fit(
            mlp,
            start,
            (x, data.y_train),
            loss="softmax_cross_entropy",
            optimizer=optimizer,
            epochs=epochs,
            batch_size=64,
            key=jax.random.key(1),
            validation=(np.asarray(data.x_val, np.float32), data.y_val),
        )
        curves[name] = history.train_loss
        print(
            f"{name:>24} {history.train_loss[-1]:>17.5f} {history.val_loss[-1]:>9.4f} {history.val_accuracy[-1]:>8.4f}"
        )
    path = plot_curves(
        curves,
        os.path.join(args.out, "optimizers.png"),
        xlabel="epoch",
        ylabel="train loss (softmax cross-entropy)",
        title="digits, 64-64-10 tanh: optimizers and schedules",
    )
    print(f"wrote {path}")
    return curves


if __name__ == "__main__":
    main()
