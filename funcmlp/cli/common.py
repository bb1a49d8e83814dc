"""Small pieces the commands share: the parser class, option types, checks of output paths.

Example:
    >>> int_list("64,32"), str_list("tanh, relu"), seed("7"), loss_name("Huber(0.5)")
    ([64, 32], ['tanh', 'relu'], 7, 'huber(0.5)')
"""

from __future__ import annotations

import argparse
import os

from funcmlp.io.files import check_target
from funcmlp.io.run_folder import SEEDS


class UsageError(ValueError):
    """A command line argparse refused; ``main`` prints it as one ``funcmlp: error:`` line."""


class Interrupted(KeyboardInterrupt):
    """A Ctrl-C after which the command saved something; the message says what and how to go on."""


class Parser(argparse.ArgumentParser):
    """argparse whose refusals raise :class:`UsageError` (one line, exit 2, from ``main``)."""

    def error(self, message):
        raise UsageError(f"{message} (see: {self.prog} --help)")


def int_list(text: str) -> list[int]:
    """``"64,32"`` -> ``[64, 32]`` (comma-separated positive integers)."""
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 64,32, got {text!r}") from None
    return values


def str_list(text: str) -> list[str]:
    """``"tanh, relu"`` -> ``["tanh", "relu"]``."""
    return [v.strip() for v in text.split(",") if v.strip()]


def loss_name(text: str) -> str:
    """--loss: a loss of the registry (registered ones too), ``huber(0.5)`` with its parameter;
    the name as the run records it."""
    from funcmlp.registry.losses import get_loss

    try:
        return str(get_loss(text))
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def loss_help(default: str) -> str:
    """--loss's help: the registry's names at the time the parser is built, and the default."""
    from funcmlp.registry.loss_registry import LOSSES

    return f"loss: {', '.join(LOSSES)}; 'huber(0.5)' sets Huber's delta ({default})"


def seed(text: str) -> int:
    """A seed of every ``jax.random`` key: a whole number from 0 to 2**32 - 1."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value < SEEDS:
        raise argparse.ArgumentTypeError(f"expected a whole number from 0 to {SEEDS - 1}, got {text!r}")
    return value


def devices(text: str):
    """--devices: a positive count or 'all'."""
    if text == "all":
        return text
    try:
        count = int(text)
    except ValueError:
        count = 0
    if count < 1:
        raise argparse.ArgumentTypeError(f"expected a number of devices (1 or more) or 'all', got {text!r}")
    return count


def add_compile_cache_option(parser) -> None:
    parser.add_argument(
        "--no-compile-cache",
        action="store_true",
        help="compile everything afresh instead of using JAX's persistent cache in $XDG_CACHE_HOME/funcmlp "
        "or ~/.cache/funcmlp (also: FUNCMLP_NO_COMPILE_CACHE=1)",
    )


def check_writable_folder(folder: str, option: str = "--out") -> None:
    """A one-line error, before any data is loaded, where ``folder`` could not be written."""
    path = os.path.abspath(folder)
    existing = path
    while not os.path.exists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        raise ValueError(f"{option} {folder}: {existing} is a file, not a folder; give a folder path")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise ValueError(f"{option} {folder}: {existing} is not writable; give a folder you can write to")


def check_writable_file(path: str, option: str, suffix: str = "", *, reads: dict | None = None) -> None:
    """A one-line error, before any work, where the file ``path`` could not be written, or is one
    of the files the command will read (``reads``: option -> path, such as ``{"--data-path": ...}``)."""
    for what, source in (reads or {}).items():
        if os.path.exists(path) and os.path.exists(source) and os.path.samefile(path, source):
            raise ValueError(
                f"{option} {path} is a file this command reads ({what}): writing there would replace it; give "
                "another file name"
            )
    if suffix and not path.lower().endswith(suffix):
        raise ValueError(f"{option} writes a {suffix} file; give a file name ending in {suffix}, got {path!r}")
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path) and not os.path.islink(path):
        raise ValueError(
            f"{option} {path}: that is a folder; give a file name such as {os.path.join(path, 'out' + suffix)}"
        )
    check_target(path, option)
    if not os.path.isdir(folder):
        raise ValueError(f"{option} {path}: the folder {folder} does not exist; create it or give another path")
    if not os.access(folder, os.W_OK):
        raise ValueError(
            f"{option} {path}: the folder {folder} is not writable; give a path in a folder you can write to"
        )
