"""funcmlp's scikit-learn estimators against scikit-learn's own, same hyper-parameters, same run.

    python benchmarks/estimators.py [--mnist DIR] [--quick] [--out benchmarks/ESTIMATORS.md]

Rows: the embedded digits (1,797 8x8 images, pixels scaled to [0, 1], a stratified 75/25
split) and, with ``--mnist DIR`` (IDX files or Kaggle's train.csv), MNIST. Each estimator is
fitted twice: the first fit includes funcmlp's compilation, the second (a refit of the same
shapes, as a grid search's folds are) does not. The first row, a grid search, is the first thing
the process fits: funcmlp's time there includes every compilation. Test accuracy and seconds; the ratio is
funcmlp's seconds over scikit-learn's. float32 (funcmlp's default); the machine is named.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np
from sklearn import linear_model, neural_network
from sklearn.model_selection import train_test_split

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import machine, publish

from funcmlp.sklearn import MLPClassifier, MLPRegressor, Perceptron


def timed_fit(model, X, y):
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning at max_iter, both libraries
        model.fit(X, y)
    return time.perf_counter() - start


def compare(name, ours, theirs, X, y, X_test, y_test) -> list:
    rows = []
    first = timed_fit(ours, X, y)
    second = timed_fit(ours, X, y)
    reference = timed_fit(theirs, X, y)
    score, reference_score = ours.score(X_test, y_test), theirs.score(X_test, y_test)
    rows.append(
        (name, "first fit (with compilation)", first, score, reference, reference_score, ours.n_iter_, theirs.n_iter_)
    )
    rows.append((name, "second fit", second, score, reference, reference_score, ours.n_iter_, theirs.n_iter_))
    return rows


def grid_search(X, y, X_test, y_test, label, quick) -> list:
    """GridSearchCV over alpha x learning_rate_init (2 x 2), cv=3, the default (100,) network, Adam,
    batch 200: the first thing the process fits, so funcmlp's time includes all its compilation."""
    from sklearn.model_selection import GridSearchCV

    grid = {"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 3e-3]}
    settings = dict(hidden_layer_sizes=(8,) if quick else (100,), max_iter=5 if quick else 200, random_state=0)
    ours = GridSearchCV(MLPClassifier(**settings), grid, cv=3)
    theirs = GridSearchCV(neural_network.MLPClassifier(**settings), grid, cv=3)
    seconds, reference = timed_fit(ours, X, y), timed_fit(theirs, X, y)
    best = ours.best_estimator_.n_iter_, theirs.best_estimator_.n_iter_
    name = f"{label}: GridSearchCV of MLPClassifier {settings['hidden_layer_sizes']}, 2 x 2 grid, cv=3, then the refit"
    score, reference_score = ours.score(X_test, y_test), theirs.score(X_test, y_test)
    what = "the whole search (first fits: with compilation)"
    return [(name, what, seconds, score, reference, reference_score, *best)]


def cases(X, y, X_test, y_test, label, quick) -> list:
    epochs = 5 if quick else 200
    rows = grid_search(X, y, X_test, y_test, label, quick)
    for solver, options in (("adam", {}), ("sgd", {"learning_rate_init": 0.1, "momentum": 0.9})):
        settings = dict(
            hidden_layer_sizes=(16,) if quick else (256,),
            solver=solver,
            max_iter=epochs,
            batch_size=32,
            random_state=0,
            **options,
        )
        rows += compare(
            f"{label}: MLPClassifier {settings['hidden_layer_sizes']}, {solver}, batch 32, up to {epochs} epochs",
            MLPClassifier(**settings),
            neural_network.MLPClassifier(**settings),
            X,
            y,
            X_test,
            y_test,
        )
    settings = dict(max_iter=5 if quick else 100, random_state=0)
    rows += compare(
        f"{label}: Perceptron (one-vs-rest)",
        Perceptron(**settings),
        linear_model.Perceptron(**settings),
        X,
        y,
        X_test,
        y_test,
    )
    regression = dict(hidden_layer_sizes=(16,) if quick else (128,), max_iter=epochs, batch_size=32, random_state=0)
    rows += compare(
        f"{label}: MLPRegressor {regression['hidden_layer_sizes']} on the one-hot labels (R^2)",
        MLPRegressor(**regression),
        neural_network.MLPRegressor(**regression),
        X,
        np.eye(10)[y],
        X_test,
        np.eye(10)[y_test],
    )
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mnist", help="also MNIST: a folder with the four IDX files or Kaggle's train.csv")
    parser.add_argument("--quick", action="store_true", help="tiny networks and few epochs (the tests run this)")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    X = (X / 16.0).astype(np.float32)
    X, X_test, y, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
    rows = cases(X, y, X_test, y_test, "digits", args.quick)
    if args.mnist:
        from funcmlp.data.datasets import load_dataset

        data = load_dataset("mnist", path=args.mnist)
        rows += cases(
            np.vstack([data.x_train, data.x_val]),
            np.concatenate([data.y_train, data.y_val]),
            data.x_test,
            data.y_test,
            "MNIST",
            args.quick,
        )
    lines = [
        f"Machine: {machine()}",
        "",
        "| data, estimator | funcmlp fit | s | test score | scikit-learn s | its test score | funcmlp / scikit-learn "
        "| epochs (funcmlp, scikit-learn) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {what} | {seconds:.3f} | {score:.4f} | {reference:.3f} | {reference_score:.4f} "
        f"| {seconds / reference:.2f} | {ours_epochs}, {their_epochs} |"
        for name, what, seconds, score, reference, reference_score, ours_epochs, their_epochs in rows
    ]
    publish(
        lines,
        args.out,
        "funcmlp.sklearn against scikit-learn",
        "python benchmarks/estimators.py --out benchmarks/ESTIMATORS.md",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
