"""Data sets: the embedded default (scikit-learn's bundled 8x8 digits), logic gates,
the seed-000 house-price toy and a seeded synthetic regression set.

Every loader returns a :class:`Dataset` of NumPy arrays: inputs ``(N, d)`` float, labels
``(N,)`` int for classification or targets ``(N, d_out)`` float for regression, already split
into train / validation / test with a seeded split, and standardized with statistics
fitted on the training split only.

Example:
    >>> ds = logic_gate("xor")
    >>> ds.x_train.tolist(), ds.y_train.tolist()
    ([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]], [0, 1, 1, 0])
"""

from __future__ import annotations

import importlib.util
import os
from typing import NamedTuple

import jax
import numpy as np

from funcmlp.data.scaling import scale_of, standardised


class Dataset(NamedTuple):
    """A split data set. ``num_classes`` is 0 for regression.

    Shapes: ``x_*`` ``(N, d)``; ``y_*`` ``(N,)`` int labels or ``(N, d_out)`` float targets.
    """

    name: str
    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    num_classes: int

    @property
    def num_features(self) -> int:
        return int(self.x_train.shape[1])

    def describe(self) -> str:
        kind = f"{self.num_classes} classes" if self.num_classes else "regression"
        return (
            f"{self.name}: {self.num_features} features, {kind}; "
            f"train {len(self.x_train)}, validation {len(self.x_val) or 'none'}, test {len(self.x_test)}"
        )


LOGIC_GATES = {
    "and": [0, 0, 0, 1],
    "or": [0, 1, 1, 1],
    "xor": [0, 1, 1, 0],
}


def logic_gate(name: str) -> Dataset:
    """The truth table of AND, OR or XOR (seed 003 tables 1-3); all four rows in every split."""
    if name not in LOGIC_GATES:
        raise ValueError(f"unknown logic gate {name!r}; expected one of {', '.join(LOGIC_GATES)}")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array(LOGIC_GATES[name], dtype=np.int64)
    return Dataset(name, x, y, x, y, x, y, 2)


def standardize(train: np.ndarray, *others: np.ndarray, min_std: float = 0.0) -> list[np.ndarray]:
    """Subtract the training mean and divide by the training std per feature.

    The std is floored at ``min_std`` (features constant in the training split are only
    centred), so that a near-constant feature does not blow up a test value.
    """
    mean, std = scale_of(train, min_std)
    return [standardised(a, mean, std) for a in (train, *others)]


def split_indices(
    seed: int, n: int, fractions: tuple[float, float] = (0.2, 0.2)
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Seeded permutation of ``range(n)`` (numpy's ``default_rng(seed)``: host work, nothing compiled)
    cut into train / validation / test index arrays."""
    val_fraction, test_fraction = fractions
    if not (0 <= val_fraction < 1 and 0 <= test_fraction < 1 and val_fraction + test_fraction < 1):
        raise ValueError(f"validation and test fractions must be in [0, 1) and sum below 1, got {fractions}")
    order = np.random.default_rng(seed).permutation(n)
    n_test = int(round(n * test_fraction))
    n_val = int(round(n * val_fraction))
    return order[n_test + n_val :], order[n_test : n_test + n_val], order[:n_test]


def _split_and_scale(name, x, y, num_classes, seed, fractions, min_std=0.0) -> Dataset:
    train, val, test = split_indices(seed, len(x), fractions)
    x_train, x_val, x_test = standardize(x[train], x[val], x[test], min_std=min_std)
    return Dataset(name, x_train, y[train], x_val, y[val], x_test, y[test], num_classes)


def _digits_arrays() -> tuple[np.ndarray, np.ndarray]:
    """The digits as scikit-learn ships them (``datasets/data/digits.csv.gz``: 64 pixels and the
    digit per row), read from its installed files without importing it (its import takes seconds)."""
    spec = importlib.util.find_spec("sklearn")
    if spec is None:
        raise ModuleNotFoundError(
            "the embedded digits data set ships with scikit-learn; install it with: "
            "pip install 'funcmlp[examples]' (or pip install scikit-learn)"
        )
    path = os.path.join(spec.submodule_search_locations[0], "datasets", "data", "digits.csv.gz")
    if not os.path.exists(path):  # a scikit-learn that keeps it elsewhere: ask it
        from sklearn.datasets import load_digits as sklearn_digits

        bunch = sklearn_digits()
        return np.asarray(bunch.data, np.float64), np.asarray(bunch.target, np.int64)
    table = np.loadtxt(path, delimiter=",", dtype=np.float64)
    return table[:, :-1], table[:, -1].astype(np.int64)


def load_digits(seed: int = 0, *, fractions: tuple[float, float] = (0.2, 0.2)) -> Dataset:
    """scikit-learn's bundled 8x8 handwritten digits (1,797 images, 64 pixels in 0..16).

    Shipped inside scikit-learn, so no download. Split 60/20/20 by a seeded permutation,
    standardized per pixel on the training split, with the std floored at one intensity
    level (pixels that are almost always blank would otherwise be scaled up by 10-100x).

    Raises:
        ModuleNotFoundError: with the install command, if scikit-learn is missing.
    """
    x, y = _digits_arrays()
    return _split_and_scale("digits", x, y, 10, seed, fractions, min_std=1.0)


def synthetic_regression(seed: int = 0, *, n: int = 512, d_in: int = 4, d_out: int = 1, noise: float = 0.05) -> Dataset:
    """Seeded smooth nonlinear regression: ``y = sin(x @ A) + 0.5 (x @ B)^2 + noise``."""
    keys = jax.random.split(jax.random.key(seed), 4)
    x = np.asarray(jax.random.uniform(keys[0], (n, d_in), minval=-1.0, maxval=1.0), dtype=np.float64)
    A = np.asarray(jax.random.normal(keys[1], (d_in, d_out)), dtype=np.float64)
    B = np.asarray(jax.random.normal(keys[2], (d_in, d_out)), dtype=np.float64) / np.sqrt(d_in)
    eps = np.asarray(jax.random.normal(keys[3], (n, d_out)), dtype=np.float64)
    y = np.sin(x @ A) + 0.5 * (x @ B) ** 2 + noise * eps
    return _split_and_scale("synthetic_regression", x, y, 0, seed, (0.2, 0.2))


# Seed 000 eq. (6): one house (size 1200, 3 bedrooms, 10 years old), target y = 1 (eq. 16).
HOUSE_PRICE_X = np.array([[1200.0, 3.0, 10.0]])
HOUSE_PRICE_Y = np.array([[1.0]])


def house_price() -> Dataset:
    """The one-sample house-price toy of seed 000 (x = [1200, 3, 10], y = 1), unscaled."""
    return Dataset(
        "house_price", HOUSE_PRICE_X, HOUSE_PRICE_Y, HOUSE_PRICE_X, HOUSE_PRICE_Y, HOUSE_PRICE_X, HOUSE_PRICE_Y, 0
    )


def scale_pixels(a: np.ndarray) -> np.ndarray:
    """MNIST pixels 0..255 as the models see them: float64 in [0, 1] (training and ``funcmlp predict``)."""
    return a.astype(np.float64) / 255.0


def load_mnist(path: str, seed: int = 0, *, validation: int | None = None) -> Dataset:
    """MNIST from files the user has (no download): an IDX folder or Kaggle's ``train.csv``.

    IDX: the official 60,000/10,000 train/test split; ``validation`` training images (default
    5,000, or 1/12 of a smaller set), chosen by a seeded permutation, are held out. Kaggle:
    ``train.csv`` (42,000 labelled rows) is split 80/10/10 by a seeded permutation (its ``test.csv`` has no labels; see
    :func:`funcmlp.data.mnist.load_kaggle_csv`). Pixels are scaled to [0, 1] (divided by 255).

    Raises:
        FileNotFoundError: saying where to put the files.
        funcmlp.data.mnist.DataFileError: naming the file (and line) of a malformed entry.
    """
    from funcmlp.data.mnist import load_idx_folder, load_kaggle_csv

    if os.path.isdir(path):
        x_train, y_train, x_test, y_test = load_idx_folder(path)
        if validation is None:
            validation = min(5000, len(x_train) // 12)
        order = np.asarray(jax.random.permutation(jax.random.key(seed), len(x_train)))
        val, train = order[:validation], order[validation:]
        return Dataset(
            "mnist",
            scale_pixels(x_train[train]),
            y_train[train],
            scale_pixels(x_train[val]),
            y_train[val],
            scale_pixels(x_test),
            y_test,
            10,
        )
    x, y = load_kaggle_csv(path, labelled=True)
    train, val, test = split_indices(seed, len(x), (0.1, 0.1))
    return Dataset(
        "mnist_kaggle",
        scale_pixels(x[train]),
        y[train],
        scale_pixels(x[val]),
        y[val],
        scale_pixels(x[test]),
        y[test],
        10,
    )


DATASETS = {
    "digits": load_digits,
    "xor": lambda seed=0: logic_gate("xor"),
    "and": lambda seed=0: logic_gate("and"),
    "or": lambda seed=0: logic_gate("or"),
    "synthetic_regression": synthetic_regression,
    "house_price": lambda seed=0: house_price(),
}


def load_dataset(name: str, seed: int = 0, *, path: str | None = None) -> Dataset:
    """A data set by name (:data:`DATASETS`, or ``"mnist"`` with ``path`` to its files)."""
    if name == "mnist":
        if not path:
            raise ValueError(
                "the mnist data set needs the path of its files: an IDX folder or Kaggle's train.csv (--data-path)"
            )
        return load_mnist(path, seed)
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; expected one of {', '.join([*DATASETS, 'mnist'])}")
    return DATASETS[name](seed=seed)
