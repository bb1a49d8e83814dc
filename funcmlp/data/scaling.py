"""Standardising numbers that may be near float64's limits: a column's mean and std, finite also
for numbers near 1e300 (their squares overflow) or 1e-300 (underflow), and ``(x - mean) / std``
without the difference overflowing. Read by the tables' preprocessing and the built-in sets'
:func:`funcmlp.data.datasets.standardize`.
"""

from __future__ import annotations

import numpy as np

SQUARES_FIT = (1e-150, 1e150)
"""Magnitudes whose squares float64 holds: a column with its largest magnitude outside is divided by it first."""


def scale_of(train: np.ndarray, min_std: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, std)`` per feature (axis 0) of the training rows ``(N, d)``, finite also near float64's
    limits (as :func:`scale_of_column`), the std floored at ``min_std`` and 1 where it is 0 (a constant
    feature is only centred). Columns of ordinary numbers are computed as ``train.mean(axis=0)`` is.

    Example:
        >>> mean, std = scale_of(np.array([[1e300, 1.0], [-1e300, 3.0]]))
        >>> mean.tolist(), std.tolist()
        ([0.0, 2.0], [1e+300, 1.0])
    """
    train = np.asarray(train, np.float64)
    top = np.max(np.abs(train), axis=0) if len(train) else np.zeros(train.shape[1:])
    outside = (top > 0) & ((top <= SQUARES_FIT[0]) | (top >= SQUARES_FIT[1]))
    divisor = np.where(outside, top, 1.0)
    scaled = train / divisor
    std = np.maximum(scaled.std(axis=0) * divisor, min_std)
    return scaled.mean(axis=0) * divisor, np.where(std > 0, std, 1.0)


def scale_of_column(values: np.ndarray) -> tuple[float, float]:
    """``(mean, std)`` of a numeric column, finite and the std positive also for numbers near float64's
    largest (1e300: their squares overflow) or smallest (their squares underflow), which are divided
    by their largest magnitude first; the std is 1 for a constant column (then only centred).

    Example:
        >>> scale_of_column(np.array([1e300, -1e300])), scale_of_column(np.array([2.0, 4.0]))
        ((0.0, 1e+300), (3.0, 1.0))
    """
    top = float(np.max(np.abs(values))) if len(values) else 0.0
    if top == 0:
        return 0.0, 1.0
    if SQUARES_FIT[0] < top < SQUARES_FIT[1]:
        mean, std = float(np.mean(values)), float(np.std(values))
    else:
        scaled = values / top
        mean, std = float(np.mean(scaled)) * top, float(np.std(scaled)) * top
    return mean, (std if std > 0 else 1.0)


def standardised(values: np.ndarray, mean: float, std: float) -> np.ndarray:
    """``(values - mean) / std``, without the overflow of the difference for numbers near float64's largest.

    Example:
        >>> standardised(np.array([1.7e308, -1.7e308]), -1.7e308, 1.7e308).tolist()
        [2.0, 0.0]
    """
    with np.errstate(over="ignore"):
        result = (values - mean) / std
    if not np.isfinite(result).all():
        result = values / std - mean / std
    return result
