"""What a run will allocate, estimated before anything is, against the memory the machine has.

:func:`training_bytes` counts the arrays training keeps at once: the params, their gradients
and update, the optimizer's per-parameter slots, one batch's forward trace and
sensitivities, and the data on the device. :func:`available_bytes` is the accelerator's limit
where JAX reports one, else the host's available memory (``MemAvailable`` of
``/proc/meminfo``, or all physical pages). :func:`check_fits` turns "too big" into one line.

Example:
    >>> training_bytes((784, 512, 10), batch_size=128, examples=60000, itemsize=4, optimizer_slots=2)
    201532400
    >>> check_fits(10**14, "a network of 10**14 bytes", "use fewer units", available=10**9)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: a network of 10**14 bytes needs about 100.0 TB of memory, more than the 1.0 GB available; ...
"""

from __future__ import annotations

import os

OPTIMIZER_SLOTS = {
    "sgd": 0,
    "momentum": 1,
    "nesterov": 1,
    "adagrad": 1,
    "rmsprop": 1,
    "adam": 2,
    "adamw": 2,
    "radam": 2,
}
"""Arrays of the params' size each optimizer keeps (momentum, second moments...)."""


def parameter_count(sizes) -> int:
    """Weights and biases of an MLP of layer ``sizes``.

    Example:
        >>> parameter_count((3, 2, 1))
        11
    """
    return sum(d_in * d_out + d_out for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True))


def training_bytes(sizes, *, batch_size: int, examples: int, itemsize: int, optimizer_slots: int = 2) -> int:
    """Bytes training an MLP of layer ``sizes`` keeps at once (an estimate from below).

    Example:
        >>> training_bytes((2, 1), batch_size=4, examples=4, itemsize=8, optimizer_slots=0)
        352
    """
    params = parameter_count(sizes)
    trace = batch_size * (sizes[0] + 3 * sum(sizes[1:]))  # inputs; n, a and the sensitivity of each layer
    data = examples * (sizes[0] + sizes[-1])
    return itemsize * ((4 + optimizer_slots) * params + trace + data)  # params, gradients, update, new params


def available_bytes() -> int | None:
    """Memory this process may still use: the first JAX device's limit where it has one (GPU, TPU),
    else the host's available memory; ``None`` where neither can be read.

    Example:
        >>> available_bytes() > 0
        True
    """
    try:
        import jax

        stats = jax.devices()[0].memory_stats() or {}
    except Exception:
        stats = {}
    if stats.get("bytes_limit"):
        return int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.1f} {unit}" if unit != "bytes" else f"{int(n)} bytes"
        n /= 1000
    return f"{n:.1f} TB" if n < 1000 else f"{n:.2g} TB"


def check_fits(needed: int, what: str, fix: str, *, available: int | None = None) -> None:
    """A one-line ``ValueError`` naming ``what``, the bytes and ``fix`` where ``needed`` bytes
    exceed what is available (:func:`available_bytes` unless given).

    Example:
        >>> check_fits(100, "a tiny network", "nothing", available=10**6)
    """
    available = available_bytes() if available is None else available
    if available is not None and needed > available:
        raise ValueError(
            f"{what} needs about {_size(needed)} of memory, more than the {_size(available)} available; {fix}"
        )
