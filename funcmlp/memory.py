"""What a computation will allocate, estimated before anything is, against the memory this process may use.

Contract::

    parameter_count(sizes) -> int                 weights and biases of an MLP of layer sizes
    training_bytes(sizes, batch_size=, examples=, itemsize=, optimizer_slots=) -> int
    gradient_check_bytes(sizes, batch) -> int     what check_gradients allocates (float64)
    memory_limits() -> {what limits: bytes left}  the accelerator's, or the host's, the process's, the cgroup's
    available_bytes() -> int | None               the least of them
    check_fits(needed, what, fix)                 a one-line ValueError where needed > available

Every estimate counts from below (only arrays that must exist at once), so a refusal is never
wrong; the limits are those the process is under: the accelerator's free memory where JAX
reports one, else the least of the machine's ``MemAvailable``, the address-space limit
(``RLIMIT_AS``, ``ulimit -v``) less what the process maps already (``VmSize``) and what JAX
maps as it goes on (:data:`JAX_GROWTH`), and the memory cgroup's limit less its usage (v2
``memory.max`` - ``memory.current``, v1 ``memory.limit_in_bytes`` - ``memory.usage_in_bytes``).
Read by :meth:`funcmlp.MLP.init`, :func:`funcmlp.fit`, the gradient checks, the estimators and
the command line. Imports nothing of funcmlp (the core reads it).

Example:
    >>> training_bytes((784, 512, 10), batch_size=128, examples=60000, itemsize=4, optimizer_slots=2)
    201532400
    >>> check_fits(10**14, "a network of 10**14 bytes", "use fewer units", available=10**9)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: a network of 10**14 bytes needs about 100.0 TB of memory, more than the 1.0 GB available; ...
"""

from __future__ import annotations

import os
import resource

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

JAX_GROWTH = (256 + 64 * (os.cpu_count() or 1)) << 20
"""Address space a JAX process maps beyond what it maps once its backend has started, as it
compiles and runs (thread pools: a stack and a malloc arena per thread). Measured on 2 cores:
0.43 GB mapped after ``import jax``, 1.26 GB after ``jax.devices()``, 1.56 GB after a training
run and a gradient check: 0.30 GB grown, within this 0.38 GB."""

UNLIMITED = 1 << 62
"""A cgroup limit at or above this is no limit (v1 writes 9223372036854771712 for none)."""


def parameter_count(sizes) -> int:
    """Weights and biases of an MLP of layer ``sizes``.

    Example:
        >>> parameter_count((3, 2, 1))
        11
    """
    return sum(d_in * d_out + d_out for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True))


def training_bytes(sizes, *, batch_size: int, examples: int, itemsize: int, optimizer_slots: int = 2) -> int:
    """Bytes training an MLP of layer ``sizes`` keeps at once (an estimate from below): the params,
    their gradients, update and new params, the optimizer's slots, one batch's trace and the data.

    Example:
        >>> training_bytes((2, 1), batch_size=4, examples=4, itemsize=8, optimizer_slots=0)
        352
    """
    params = parameter_count(sizes)
    trace = batch_size * (sizes[0] + 3 * sum(sizes[1:]))  # inputs; n, a and the sensitivity of each layer
    data = examples * (sizes[0] + sizes[-1])
    return itemsize * ((4 + optimizer_slots) * params + trace + data)  # params, gradients, update, new params


def gradient_check_bytes(sizes, batch: int, copies: int = 6) -> int:
    """Bytes a gradient check keeps at once, in float64 (from below): ``copies`` arrays of the
    params' size (:func:`funcmlp.check_gradients`: the params' copy, the manual and ``jax.grad``
    gradients, their flat copy, the finite differences and the parameters they perturb; 3 for
    :func:`funcmlp.finite_difference_grad`) and the batch's trace (its inputs; n, a and the
    sensitivity of each layer).

    Example:
        >>> gradient_check_bytes((3, 2, 1), batch=4)
        1296
    """
    return 8 * (copies * parameter_count(sizes) + 4 * batch * sum(sizes))


def _read_int(path: str) -> int | None:
    try:
        with open(path) as handle:
            return int(handle.read().split()[0])
    except (OSError, ValueError, IndexError):  # absent, unreadable, or "max" (no limit)
        return None


def cgroup_left(root: str = "/sys/fs/cgroup", membership: str = "/proc/self/cgroup") -> int | None:
    """Bytes the memory cgroups of this process still allow: the least of limit minus usage over
    its cgroup and each one above it (v2: ``memory.max`` - ``memory.current``; v1, under
    ``root/memory``: ``memory.limit_in_bytes`` - ``memory.usage_in_bytes``); ``None`` where none
    sets a limit.

    Example:
        >>> left = cgroup_left()
        >>> left is None or left >= 0
        True
    """
    try:
        with open(membership) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return None
    found = []
    for line in lines:
        hierarchy, _, rest = line.partition(":")
        controllers, _, path = rest.partition(":")
        if hierarchy == "0" and controllers == "":
            base, files = root, ("memory.max", "memory.current")
        elif "memory" in controllers.split(","):
            base, files = os.path.join(root, "memory"), ("memory.limit_in_bytes", "memory.usage_in_bytes")
        else:
            continue
        parts = [part for part in path.split("/") if part not in ("", ".", "..")]
        for depth in range(len(parts), -1, -1):  # the process's own cgroup, then each above it (as mounted here)
            folder = os.path.join(base, *parts[:depth])
            limit, usage = _read_int(os.path.join(folder, files[0])), _read_int(os.path.join(folder, files[1]))
            if limit is not None and usage is not None and limit < UNLIMITED:
                found.append(max(0, limit - usage))
    return min(found) if found else None


def _proc_bytes(path: str, field: str) -> int | None:
    """The bytes of a ``field: N kB`` line of a /proc file (``VmSize`` of /proc/self/status,
    ``MemAvailable`` of /proc/meminfo); ``None`` where there is none."""
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(field + ":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def address_space_left() -> int | None:
    """Bytes the address-space limit (``RLIMIT_AS``, ``ulimit -v``) still allows: the limit less
    what the process maps (``VmSize``) and :data:`JAX_GROWTH`; ``None`` without a limit.

    Example:
        >>> import resource
        >>> left = address_space_left()
        >>> left is None or left < resource.getrlimit(resource.RLIMIT_AS)[0]
        True
    """
    limit = resource.getrlimit(resource.RLIMIT_AS)[0]
    if limit == resource.RLIM_INFINITY:
        return None
    mapped = _proc_bytes("/proc/self/status", "VmSize")  # the address space this process maps now
    return max(0, limit - (mapped or 0) - JAX_GROWTH)


def _machine_available() -> int | None:
    available = _proc_bytes("/proc/meminfo", "MemAvailable")
    if available is not None:
        return available
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def memory_limits() -> dict[str, int]:
    """Each limit this process is under, as the words naming it and the bytes it leaves: the machine's
    available memory, the address-space limit and the cgroup's (those set), and the first JAX
    device's free memory where it reports one (a GPU, a TPU). JAX's backend is started first,
    so that what it maps is counted.

    Example:
        >>> limits = memory_limits()
        >>> bool(limits) and all(left >= 0 for left in limits.values())
        True
    """
    try:
        import jax

        device = jax.devices()[0]
        stats = device.memory_stats() or {}
    except Exception:
        device, stats = None, {}
    found = {
        "the machine has": _machine_available(),
        "the address-space limit (ulimit -v) leaves": address_space_left(),
        "the memory cgroup's limit leaves": cgroup_left(),
    }
    if stats.get("bytes_limit"):  # the arrays live on the accelerator, their host copies in the process
        free = int(stats["bytes_limit"]) - int(stats.get("bytes_in_use", 0))
        found[f"the accelerator ({device}) has"] = max(0, free)
    return {what: left for what, left in found.items() if left is not None}


def available_bytes() -> int | None:
    """Memory this process may still use: the least of :func:`memory_limits`; ``None`` where none
    can be read.

    Example:
        >>> available_bytes() > 0
        True
    """
    limits = memory_limits()
    return min(limits.values()) if limits else None


def _size(n: float) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n:.1f} {unit}" if unit != "bytes" else f"{int(n)} bytes"
        n /= 1000
    return f"{n:.1f} TB" if n < 1000 else f"{n:.2g} TB"


def check_fits(needed: int, what: str, fix: str, *, available: int | None = None) -> None:
    """A one-line ``ValueError`` naming ``what``, the bytes, what is available (and which limit
    leaves it) and ``fix``, where ``needed`` bytes exceed the least of :func:`memory_limits` (or
    ``available``, where given).

    Example:
        >>> check_fits(100, "a tiny network", "nothing", available=10**6)
    """
    if available is not None:
        where = f"the {_size(available)} available"
    else:
        limits = memory_limits()
        if not limits:
            return
        limit = min(limits, key=limits.get)
        available = limits[limit]
        where = f"the {_size(available)} of memory {limit} available"
    if needed > available:
        raise ValueError(f"{what} needs about {_size(needed)} of memory, more than {where}; {fix}")
