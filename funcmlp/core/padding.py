"""Size buckets: data padded with weight-0 rows so that data sets of other numbers of rows share
one compiled program (training's epochs, validation, evaluation, the estimators' forward pass).

Example:
    >>> padded_rows(10), padded_rows(200), pad_rows(np.ones(3), padded_rows(3)).sum()
    (64, 256, np.float64(3.0))
"""

from __future__ import annotations

import math

import numpy as np

ROW_BLOCK = 64
"""The smallest padded size, and the unit of every other."""


def padded_rows(rows: int) -> int:
    """The padded size of ``rows`` examples: the smallest ``64 * 2^k`` or ``64 * 3 * 2^k`` that holds them.

    Example:
        >>> [padded_rows(n) for n in (1, 64, 65, 129, 193, 1437, 30000)]
        [64, 64, 128, 192, 256, 1536, 32768]
    """
    blocks = max(math.ceil(rows / ROW_BLOCK), 1)
    power = 1 << (blocks - 1).bit_length()  # the smallest power of two >= blocks
    three = 3 * power // 4  # the three-quarters step below it, when that holds them
    return ROW_BLOCK * (three if three >= blocks else power)


def pad_rows(array, size: int) -> np.ndarray:
    """``array`` ``(N, ...)`` on the host with zero rows appended up to ``size`` rows.

    Example:
        >>> pad_rows(np.ones((2, 3)), 4).tolist()
        [[1.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    """
    array = np.asarray(array)
    return np.concatenate([array, np.zeros((size - array.shape[0], *array.shape[1:]), array.dtype)])
