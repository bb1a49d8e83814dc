"""Data loading: digits split and scaling, MNIST IDX and Kaggle CSV loaders with their errors."""

import os

import numpy as np
import pytest

from funcmlp.data.datasets import (
    load_dataset,
    load_digits,
    logic_gate,
    split_indices,
    standardize,
    synthetic_regression,
)
from funcmlp.data.mnist import IDX_NAMES, DataFileError, load_idx_folder, load_kaggle_csv, read_idx, write_idx


def test_digits_split_is_seeded_disjoint_and_standardized_on_train():
    a, b = load_digits(seed=3), load_digits(seed=3)
    np.testing.assert_array_equal(a.x_train, b.x_train)
    assert len(a.x_train) + len(a.x_val) + len(a.x_test) == 1797
    assert a.x_train.shape[1] == 64 and set(np.unique(a.y_train)) == set(range(10))
    # standardized on the training split: mean 0; std 1 where the pixel varies more than the floor
    np.testing.assert_allclose(a.x_train.mean(axis=0), 0, atol=1e-12)
    assert not np.allclose(load_digits(seed=4).x_train, a.x_train)


def test_digits_are_scikit_learns_read_without_importing_it():
    import subprocess
    import sys

    from sklearn.datasets import load_digits as sklearn_digits

    from funcmlp.data.datasets import _digits_arrays

    x, y = _digits_arrays()
    reference = sklearn_digits()
    np.testing.assert_array_equal(x, reference.data)
    np.testing.assert_array_equal(y, reference.target)
    probe = "import sys; from funcmlp.data.datasets import _digits_arrays; _digits_arrays(); print('sklearn' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout == "False\n"


def test_split_indices_partition_the_range():
    train, val, test = split_indices(0, 101, (0.2, 0.1))
    assert sorted(np.concatenate([train, val, test]).tolist()) == list(range(101))
    assert (len(val), len(test)) == (20, 10)


def test_standardize_uses_training_statistics_only():
    train = np.array([[0.0, 5.0], [2.0, 5.0]])
    test = np.array([[4.0, 7.0]])
    scaled_train, scaled_test = standardize(train, test)
    np.testing.assert_allclose(scaled_train, [[-1, 0], [1, 0]])
    np.testing.assert_allclose(scaled_test, [[3, 2]])  # (4 - 1) / 1, constant feature only centred


def test_small_data_sets():
    assert logic_gate("or").y_train.tolist() == [0, 1, 1, 1]
    reg = synthetic_regression(seed=1, n=100)
    assert reg.num_classes == 0 and reg.y_train.ndim == 2
    with pytest.raises(ValueError, match="unknown logic gate"):
        logic_gate("nand")
    with pytest.raises(ValueError, match="needs the path"):
        load_dataset("mnist")


def make_idx_folder(folder, n_train=12, n_test=5, compress=False):
    rng = np.random.default_rng(0)
    arrays = {
        "train_images": rng.integers(0, 256, (n_train, 28, 28)),
        "train_labels": rng.integers(0, 10, n_train),
        "test_images": rng.integers(0, 256, (n_test, 28, 28)),
        "test_labels": rng.integers(0, 10, n_test),
    }
    for key, array in arrays.items():
        write_idx(os.path.join(folder, IDX_NAMES[key] + (".gz" if compress else "")), array, compress=compress)
    return arrays


@pytest.mark.parametrize("compress", [False, True])
def test_idx_folder_round_trip(tmp_path, compress):
    arrays = make_idx_folder(str(tmp_path), compress=compress)
    x_train, y_train, x_test, y_test = load_idx_folder(str(tmp_path))
    np.testing.assert_array_equal(x_train, arrays["train_images"].reshape(12, 784))
    np.testing.assert_array_equal(y_test, arrays["test_labels"])


def test_mnist_data_set_from_idx(tmp_path):
    from funcmlp.data.datasets import load_mnist

    make_idx_folder(str(tmp_path))
    ds = load_mnist(str(tmp_path), validation=2)
    assert ds.num_classes == 10
    assert (len(ds.x_train), len(ds.x_val), len(ds.x_test)) == (10, 2, 5)
    assert ds.x_train.min() >= 0.0 and ds.x_train.max() <= 1.0


def test_idx_errors_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="put the four IDX files"):
        load_idx_folder(str(tmp_path))
    make_idx_folder(str(tmp_path))
    labels = tmp_path / IDX_NAMES["train_labels"]
    write_idx(str(labels), np.arange(11) % 10)  # 11 labels for 12 images
    with pytest.raises(DataFileError, match="11 labels for 12 images"):
        load_idx_folder(str(tmp_path))
    write_idx(str(labels), np.full(12, 12))
    with pytest.raises(DataFileError, match=r"label 12 at index 0 is outside 0\.\.9"):
        load_idx_folder(str(tmp_path))
    truncated = tmp_path / "bad"
    truncated.write_bytes(bytes([0, 0, 8, 1, 0, 0, 0, 5, 1, 2]))
    with pytest.raises(DataFileError, match=r"header says shape \(5,\) = 5 bytes, file has 2"):
        read_idx(str(truncated))


def write_csv(path, rows, labelled=True):
    header = (["label"] if labelled else []) + [f"pixel{i}" for i in range(784)]
    with open(path, "w") as handle:
        handle.write(",".join(header) + "\n")
        for row in rows:
            handle.write(",".join(str(v) for v in row) + "\n")


def test_kaggle_csv_round_trip(tmp_path):
    rows = [[3] + [i % 256 for i in range(784)], [7] + [0] * 784]
    write_csv(tmp_path / "train.csv", rows)
    pixels, labels = load_kaggle_csv(str(tmp_path / "train.csv"))
    assert labels.tolist() == [3, 7] and pixels.shape == (2, 784) and pixels[0, 300] == 300 % 256
    write_csv(tmp_path / "test.csv", [[1] * 784], labelled=False)
    pixels, labels = load_kaggle_csv(str(tmp_path / "test.csv"))
    assert labels is None and pixels.shape == (1, 784)


@pytest.mark.parametrize(
    "row, message",
    [
        ([3] + [0] * 783, r"train\.csv:3: 784 fields, expected 785"),
        ([3] + [0] * 100 + [300] + [0] * 683, r"train\.csv:3: pixel100 = 300 is outside 0\.\.255"),
        ([12] + [0] * 784, r"train\.csv:3: label 12 is outside 0\.\.9"),
        ([3] + ["x"] + [0] * 783, r"train\.csv:3: 'x' is not an integer"),
    ],
)
def test_kaggle_csv_errors_name_file_and_line(tmp_path, row, message):
    write_csv(tmp_path / "train.csv", [[1] + [0] * 784, row])
    with pytest.raises(DataFileError, match=message):
        load_kaggle_csv(str(tmp_path / "train.csv"))


def test_kaggle_csv_missing_file_says_what_to_do(tmp_path):
    with pytest.raises(FileNotFoundError, match="Digit Recognizer"):
        load_kaggle_csv(str(tmp_path / "train.csv"))
