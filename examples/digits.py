"""Handwritten digits: the embedded 8x8 digits (bundled with scikit-learn), or MNIST from
files you have (an IDX folder or Kaggle's train.csv). Progress bar, loss/accuracy curves,
confusion matrix and saved params; with --kaggle-test, a submission CSV (ImageId,Label),
written by ``funcmlp predict`` from the saved params (with --model, from a model trained
before: no training at all).

    python examples/digits.py [--mnist PATH] [--kaggle-test test.csv] [--out DIR] [--fast]
    python examples/digits.py --model runs/mnist/model.npz --kaggle-test test.csv --out DIR
"""

import argparse
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcmlp import MLP, evaluate, fit, predict, save_model
from funcmlp.cli import main as funcmlp_command
from funcmlp.data.datasets import load_digits, load_mnist
from funcmlp.io.plots import plot_confusion, plot_history
from funcmlp.training.batching import iterations_per_epoch


def progress_bar(epochs: int):
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        return None, None
    bar = tqdm(total=epochs, unit="epoch")

    def update(epoch, history):
        bar.set_postfix(loss=f"{history.train_loss[-1]:.4f}", val_acc=f"{history.val_accuracy[-1]:.4f}")
        bar.update(1)

    return update, bar


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", help="IDX folder or Kaggle train.csv (default: the embedded 8x8 digits)")
    parser.add_argument("--kaggle-test", help="Kaggle test.csv: write submission.csv with the predictions")
    parser.add_argument("--epochs", type=int)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/digits")
    parser.add_argument("--fast", action="store_true", help="a few epochs (for the tests)")
    parser.add_argument(
        "--model",
        help="with --kaggle-test: a model.npz trained on MNIST before (this script or funcmlp train): predict only",
    )
    args = parser.parse_args(argv)
    submission = os.path.join(args.out, "submission.csv")
    if args.model:
        if not args.kaggle_test:
            parser.error("--model predicts for --kaggle-test; give both")
        os.makedirs(args.out, exist_ok=True)
        return funcmlp_command(["predict", args.model, "--data-path", args.kaggle_test, "--out", submission])
    if args.mnist:
        data = load_mnist(args.mnist, seed=args.seed)
        mlp = MLP((784, 512, 256, 10), "relu", output="identity", dropout=0.2)
        epochs, batch_size, lr = args.epochs or 20, 128, 1e-3
    else:
        data = load_digits(seed=args.seed)
        mlp = MLP((64, 256, 10), "relu", output="identity", dropout=0.3)
        epochs, batch_size, lr = args.epochs or 80, 32, 2e-3
    if args.fast:
        epochs = 3
    print(data.describe())
    print(mlp)
    steps = epochs * iterations_per_epoch(len(data.x_train), batch_size)
    optimizer = optax.adamw(optax.cosine_decay_schedule(lr, steps), weight_decay=1e-4)
    k_init, k_fit = jax.random.split(jax.random.key(args.seed))
    as32 = lambda a: np.asarray(a, np.float32)
    callback, bar = progress_bar(epochs)
    params, history = fit(
        mlp,
        mlp.init(k_init, dtype=jnp.float32),
        (as32(data.x_train), data.y_train),
        loss="softmax_cross_entropy",
        optimizer=optimizer,
        epochs=epochs,
        batch_size=batch_size,
        key=k_fit,
        validation=(as32(data.x_val), data.y_val),
        callback=callback,
    )
    if bar is not None:
        bar.close()
    test = evaluate(mlp, params, as32(data.x_test), data.y_test, "softmax_cross_entropy")
    print(
        f"test accuracy {test.accuracy:.4f} ({len(data.x_test)} examples), loss {test.loss:.4f}; "
        f"{np.median(history.epoch_seconds[1:] or history.epoch_seconds) * 1e3:.1f} ms per epoch"
    )
    os.makedirs(args.out, exist_ok=True)
    save_model(
        os.path.join(args.out, "model.npz"),
        mlp,
        params,
        extra={
            "data": "mnist" if args.mnist else "digits",
            "loss": "softmax_cross_entropy",
            "test_accuracy": test.accuracy,
        },
    )
    plot_history(history, os.path.join(args.out, "curves.png"), title=f"{data.name}: {mlp}")
    predictions = np.asarray(predict(mlp, params, as32(data.x_test)))
    plot_confusion(
        data.y_test, predictions, os.path.join(args.out, "confusion.png"), 10, title=f"{data.name} test split"
    )
    if args.kaggle_test:
        funcmlp_command(
            ["predict", os.path.join(args.out, "model.npz"), "--data-path", args.kaggle_test, "--out", submission]
        )
    print(f"wrote {args.out}/model.npz, curves.png, confusion.png" + (", submission.csv" if args.kaggle_test else ""))
    return test


if __name__ == "__main__":
    main()
