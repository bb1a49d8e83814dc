"""MNIST from files the user has: the four IDX files (gzip or not) or Kaggle's CSVs.

Nothing is downloaded. The IDX files (from the MNIST distribution) are looked up in a
folder under their usual names, with or without ``.gz``::

    train-images-idx3-ubyte  train-labels-idx1-ubyte  t10k-images-idx3-ubyte  t10k-labels-idx1-ubyte

Kaggle's "Digit Recognizer" has ``train.csv`` (header ``label,pixel0,...,pixel783``) and
``test.csv`` (``pixel0,...,pixel783``, no label). Every loader checks the format, the
shapes, the label range 0..9 and the pixel range 0..255, and names the file (and for CSV
the line) of the first problem.

Example:
    >>> import tempfile, os, numpy as np
    >>> folder = tempfile.mkdtemp()
    >>> write_idx(os.path.join(folder, "t10k-labels-idx1-ubyte"), np.array([7, 2], dtype=np.uint8))
    >>> read_idx(os.path.join(folder, "t10k-labels-idx1-ubyte")).tolist()
    [7, 2]
"""

from __future__ import annotations

import contextlib
import gzip
import math
import os
import struct
import zlib

import numpy as np

from funcmlp.sources import open_source

IDX_NAMES = {
    "train_images": "train-images-idx3-ubyte",
    "train_labels": "train-labels-idx1-ubyte",
    "test_images": "t10k-images-idx3-ubyte",
    "test_labels": "t10k-labels-idx1-ubyte",
}
PIXELS = 784
DEFLATE_RATIO = 1032
"""The most deflate (gzip) can shrink data: an IDX header claiming more than this times the file is refused unread."""


class DataFileError(ValueError):
    """A data file that is missing, malformed or out of range; the message names the file."""


@contextlib.contextmanager
def _open(path: str):
    """The IDX file's bytes, inflated where it is gzip."""
    with open_source(path, "the IDX file") as raw:
        zipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        if not zipped:
            yield raw
            return
        with gzip.GzipFile(fileobj=raw, mode="rb") as handle:
            yield handle


def read_idx(path: str) -> np.ndarray:
    """Read an IDX file of unsigned bytes (gzip or not) into an array of its stated shape."""
    try:
        with _open(path) as handle:
            header = handle.read(4)
            if len(header) < 4 or header[0] != 0 or header[1] != 0:
                raise DataFileError(f"{path}: not an IDX file (the first two bytes must be zero)")
            if header[2] != 0x08:
                raise DataFileError(f"{path}: IDX data type 0x{header[2]:02x}, expected 0x08 (unsigned bytes)")
            ndim = header[3]
            dims = struct.unpack(f">{ndim}I", handle.read(4 * ndim))
            expected = math.prod(dims)
            size, zipped = os.path.getsize(path), isinstance(handle, gzip.GzipFile)
            if expected > size * (DEFLATE_RATIO if zipped else 1):
                raise DataFileError(
                    f"{path}: header says shape {dims} = {expected} bytes, file has {size} bytes"
                    + (f", which inflate to at most {size * DEFLATE_RATIO}" if zipped else "")
                )
            data = handle.read(expected + 1)  # a stream longer than its header says is refused without reading it all
    except (OSError, EOFError, struct.error, zlib.error) as error:
        if isinstance(error, FileNotFoundError):
            raise
        raise DataFileError(f"{path}: cannot be read as IDX ({error})") from error
    if len(data) != expected:
        more = "more" if len(data) > expected else str(len(data))
        raise DataFileError(f"{path}: header says shape {dims} = {expected} bytes, file has {more}")
    return np.frombuffer(data, dtype=np.uint8).reshape(dims)


def write_idx(path: str, array: np.ndarray, *, compress: bool = False) -> None:
    """Write an array of unsigned bytes as an IDX file (for tests and small fixtures)."""
    array = np.asarray(array, dtype=np.uint8)
    payload = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    with gzip.open(path, "wb") if compress else open(path, "wb") as handle:
        handle.write(payload)


def _find(folder: str, name: str) -> str:
    for candidate in (name, name + ".gz"):
        path = os.path.join(folder, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(
        f"MNIST file {name}[.gz] not found in {folder!r}; put the four IDX files "
        f"({', '.join(IDX_NAMES.values())}, gzip or not) there, or pass Kaggle's train.csv instead"
    )


def _check_images_labels(images, labels, image_path, label_path):
    if images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataFileError(f"{image_path}: images have shape {images.shape}, expected (N, 28, 28)")
    if labels.ndim != 1:
        raise DataFileError(f"{label_path}: labels have shape {labels.shape}, expected (N,)")
    if len(labels) != len(images):
        raise DataFileError(f"{label_path}: {len(labels)} labels for {len(images)} images in {image_path}")
    if labels.size and labels.max() > 9:
        bad = int(np.argmax(labels > 9))
        raise DataFileError(f"{label_path}: label {labels[bad]} at index {bad} is outside 0..9")


def load_idx_folder(folder: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(x_train (60000, 784) uint8, y_train, x_test (10000, 784), y_test)`` from an IDX folder."""
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"MNIST folder {folder!r} does not exist; create it and put the four IDX files in it")
    paths = {key: _find(folder, name) for key, name in IDX_NAMES.items()}
    arrays = {key: read_idx(path) for key, path in paths.items()}
    for split in ("train", "test"):
        _check_images_labels(
            arrays[f"{split}_images"], arrays[f"{split}_labels"], paths[f"{split}_images"], paths[f"{split}_labels"]
        )
    return (
        arrays["train_images"].reshape(-1, PIXELS),
        arrays["train_labels"].astype(np.int64),
        arrays["test_images"].reshape(-1, PIXELS),
        arrays["test_labels"].astype(np.int64),
    )


def load_kaggle_csv(path: str, *, labelled: bool | None = None) -> tuple[np.ndarray, np.ndarray | None]:
    """Kaggle digit-recognizer CSV: ``(pixels (N, 784) uint8, labels (N,) or None)``.

    ``labelled`` is read from the header (``label,pixel0,...``) unless given.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"Kaggle CSV {path!r} not found; "
            "download train.csv/test.csv of the Digit Recognizer competition and give their path"
        )
    if os.path.isdir(path):
        raise DataFileError(f"{path} is a folder; give the CSV file itself (e.g. {os.path.join(path, 'test.csv')})")
    # utf-8-sig: a byte-order mark (as some editors save CSV) is not part of the header
    try:
        with open_source(path, "the Kaggle CSV", "r", encoding="utf-8-sig") as handle:
            header = handle.readline().strip().split(",")
            has_label = header[0] == "label"
            if labelled is not None and labelled != has_label:
                raise DataFileError(
                    f"{path}:1: header starts with {header[0]!r}; expected {'label' if labelled else 'pixel0'}"
                )
            expected = [*(["label"] if has_label else []), *[f"pixel{i}" for i in range(PIXELS)]]
            if header != expected:
                raise DataFileError(
                    f"{path}:1: header has {len(header)} columns starting {header[:2]}; "
                    f"expected {len(expected)}: {', '.join(expected[:3])}, ..."
                )
            width = len(expected)
            rows = []
            for line_number, line in enumerate(handle, start=2):
                if not line.strip():
                    continue
                fields = line.split(",")
                if len(fields) != width:
                    raise DataFileError(f"{path}:{line_number}: {len(fields)} fields, expected {width}")
                try:
                    values = np.array(fields, dtype=np.int64)
                except (ValueError, OverflowError):  # OverflowError: a cell of more digits than int64 holds
                    bad = next(
                        f.strip() for f in fields if not (f.strip().lstrip("-").isdigit() and len(f.strip()) <= 18)
                    )
                    shown = repr(bad) if len(bad) <= 20 else f"{bad[:12]!r}... ({len(bad)} characters)"
                    raise DataFileError(f"{path}:{line_number}: {shown} is not an integer of 0..255") from None
                pixels = values[1:] if has_label else values
                if pixels.min() < 0 or pixels.max() > 255:
                    column = int(np.argmax((pixels < 0) | (pixels > 255)))
                    raise DataFileError(f"{path}:{line_number}: pixel{column} = {pixels[column]} is outside 0..255")
                if has_label and not 0 <= values[0] <= 9:
                    raise DataFileError(f"{path}:{line_number}: label {values[0]} is outside 0..9")
                rows.append(values)
    except UnicodeDecodeError as error:
        raise DataFileError(
            f"{path}: not a text CSV file ({error.reason} at byte {error.start}); give Kaggle's CSV as UTF-8 text "
            "(a header row of pixel0..pixel783, one image per line)"
        ) from None
    if not rows:
        raise DataFileError(f"{path}: no data rows after the header")
    table = np.stack(rows)
    if has_label:
        return table[:, 1:].astype(np.uint8), table[:, 0]
    return table.astype(np.uint8), None
