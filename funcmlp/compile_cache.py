"""JAX's persistent compilation cache, for the command line (and for scripts that ask).

A second ``funcmlp train`` of the same model in a new process then loads its compiled
programs from disk instead of compiling them. JAX stores a program only when it took at
least ``jax_persistent_cache_min_compile_time_secs`` to compile (1 s by default) and is at
least ``jax_persistent_cache_min_entry_size_bytes`` big; on CPU most of funcmlp's programs
compile in well under a second, so both thresholds are lowered to store every one.

The library never turns this on by itself (it leaves the user's JAX configuration alone);
``funcmlp`` commands do, unless ``--no-compile-cache`` is given or the environment variable
``FUNCMLP_NO_COMPILE_CACHE`` is set to anything but ``""`` or ``0``.

Example:
    >>> import os
    >>> cache_folder({"XDG_CACHE_HOME": "/tmp/c"}), os.path.basename(cache_folder({"HOME": "/home/u"}))
    ('/tmp/c/funcmlp', 'funcmlp')
"""

from __future__ import annotations

import os

ENVIRONMENT_SWITCH = "FUNCMLP_NO_COMPILE_CACHE"


def cache_folder(environ=None) -> str:
    """``$XDG_CACHE_HOME/funcmlp``, or ``~/.cache/funcmlp``."""
    environ = os.environ if environ is None else environ
    base = environ.get("XDG_CACHE_HOME") or os.path.join(environ.get("HOME") or os.path.expanduser("~"), ".cache")
    return os.path.join(base, "funcmlp")


def disabled_by_environment(environ=None) -> bool:
    """True when ``FUNCMLP_NO_COMPILE_CACHE`` is set (to anything but ``""`` or ``"0"``)."""
    environ = os.environ if environ is None else environ
    return environ.get(ENVIRONMENT_SWITCH, "") not in ("", "0")


def enable_compile_cache(folder: str | None = None) -> str | None:
    """Store every compiled program in ``folder`` (default :func:`cache_folder`) and load it
    from there next time; returns the folder, or None when the environment turns it off or
    the folder cannot be created or written (the run then compiles as usual: JAX would warn once
    per program it fails to store). A script's first ``fit`` in a new process then loads what an
    earlier process compiled (``benchmarks/first_call.py`` measures it).

    Example (the environment switch wins; nothing is changed then):
        >>> import os
        >>> os.environ[ENVIRONMENT_SWITCH] = "1"
        >>> enable_compile_cache("/tmp/funcmlp-cache") is None
        True
        >>> del os.environ[ENVIRONMENT_SWITCH]
    """
    if disabled_by_environment():
        return None
    folder = folder or cache_folder()
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError:
        return None
    if not os.access(folder, os.W_OK | os.X_OK):
        return None
    import jax

    jax.config.update("jax_compilation_cache_dir", folder)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    return folder
