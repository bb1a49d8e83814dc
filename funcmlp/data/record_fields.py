"""The checks of the fields of a JSON record read back from a file (a model's table preprocessing):
each returns the value or raises ``ValueError`` saying what it is not.

Example:
    >>> text("age"), texts(["a", "b"]), finite(2), scale(0.5), one_of("text", ("numeric", "text"), "kind")
    ('age', ('a', 'b'), 2.0, 0.5, 'text')
"""

from __future__ import annotations

import math


def text(value) -> str:
    """A name (text)."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a name")
    return value


def texts(values) -> tuple[str, ...]:
    """A list of names."""
    if not isinstance(values, list):
        raise ValueError(f"{values!r} is not a list of names")
    return tuple(text(v) for v in values)


def finite(value) -> float:
    """A finite number (not a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def scale(value) -> float:
    """A finite positive number."""
    if finite(value) <= 0:
        raise ValueError(f"a scale of {value!r}")
    return float(value)


def one_of(value, allowed, what: str):
    """One of ``allowed``."""
    if value not in allowed:
        raise ValueError(f"{what} {value!r}")
    return value
