"""Every file funcmlp reads goes through :func:`open_source`: a regular file, or one clear error.

A path to read may name something that is not a file: a folder, a FIFO (opening it waits for a
writer for ever), a character device (``/dev/zero`` never ends), a socket. :func:`open_source`
opens without waiting (``O_NONBLOCK``), looks at what it opened (``fstat``: no race between a check
and the open) and refuses anything but a regular file, and a file larger than ``max_bytes``, with
one ``ValueError`` line naming the option, the path, what it is and what to give instead.

While a command runs (:func:`command_scope`, entered by the command line's ``main``), the files it
reads are remembered, so that the one writer (:func:`funcmlp.io.files.atomic_write`) can refuse to
write over any of them (``predict --out`` naming the table it reads, say).

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(path, "w").write("a,b\\n1,2\\n")
    >>> with command_scope():
    ...     with open_source(path, "--data-path", "r") as handle:
    ...         text = handle.read()
    ...     read_here(path)
    '--data-path'
    >>> text, read_here(path)
    ('a,b\\n1,2\\n', None)
    >>> open_source(os.path.dirname(path), "--data-path")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: --data-path /... is a folder, not a file: funcmlp reads only regular files; give the path of a file
"""

from __future__ import annotations

import contextlib
import os
import stat

import numpy as np

NOT_FILES = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
)
"""What a path to read (or write) may name besides a regular file, each with the words for it."""
_SCOPES: list[dict] = []
"""The files read by each command running in this process (innermost last): ``(device, inode) -> (what, path)``."""


def _size(n: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1000:
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def open_source(path, what: str = "", mode: str = "rb", *, encoding: str = "utf-8", newline=None, max_bytes=None):
    """Open the regular file ``path`` for reading (``mode`` ``"rb"``, or ``"r"``: text in ``encoding``);
    anything else there (a folder, a FIFO, a device, a socket), nothing there, or a file of more than
    ``max_bytes`` bytes is refused with one line that starts with ``what`` (an option such as
    ``"--data-path"``, or words such as ``"the spec file"``)."""
    if mode not in ("r", "rb"):
        raise ValueError(f"open_source reads text ('r') or bytes ('rb'), got mode {mode!r}")
    name = f"{what + ' ' if what else ''}{os.fspath(path)}"
    try:
        handle = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{name} does not exist; give the path of a file") from None
    except IsADirectoryError:  # (where a folder cannot be opened at all)
        raise ValueError(
            f"{name} is a folder, not a file: funcmlp reads only regular files; give the path of a file"
        ) from None
    except PermissionError:
        raise PermissionError(f"{name} cannot be read (permission denied); give a file you may read") from None
    try:
        info = os.fstat(handle)
        for test, kind in NOT_FILES:
            if test(info.st_mode):
                raise ValueError(
                    f"{name} is {kind}, not a file: funcmlp reads only regular files; give the path of a file"
                )
        if max_bytes is not None and info.st_size > max_bytes:
            raise ValueError(
                f"{name} holds {_size(info.st_size)}, more than the {_size(max_bytes)} funcmlp reads from such a "
                "file; give a smaller file"
            )
        if hasattr(os, "set_blocking"):
            os.set_blocking(handle, True)
        if _SCOPES:
            _SCOPES[-1].setdefault((info.st_dev, info.st_ino), (what or "an input", os.path.abspath(path)))
        text = {} if mode == "rb" else {"encoding": encoding, "newline": newline}
        return os.fdopen(handle, mode, **text)
    except BaseException:
        os.close(handle)
        raise


def read_source(path, what: str, mode: str, max_bytes: int, *, encoding: str = "utf-8"):
    """The whole content (``str`` for mode ``"r"``, ``bytes`` for ``"rb"``) of the file ``path``,
    opened by :func:`open_source` and read to at most ``max_bytes`` bytes: a file that grew past it
    after it was opened is refused as one larger from the start is.

    Example:
        >>> import os, tempfile
        >>> path = os.path.join(tempfile.mkdtemp(), "a.json"); _ = open(path, "w").write("[1, 2]")
        >>> read_source(path, "the list", "r", 100)
        '[1, 2]'
    """
    with open_source(path, what, mode, encoding=encoding, max_bytes=max_bytes) as handle:
        content = handle.read(max_bytes + 1) if mode == "rb" else handle.buffer.read(max_bytes + 1)
    if len(content) > max_bytes:
        raise ValueError(
            f"{what + ' ' if what else ''}{os.fspath(path)} holds more than the {_size(max_bytes)} funcmlp reads from "
            "such a file (it grew while read); give a smaller file"
        )
    return content if mode == "rb" else content.decode(encoding)


def check_source(path, what: str = "", *, max_bytes=None) -> int:
    """Refuse ``path`` as :func:`open_source` would (and remember it as read); its size in bytes."""
    with open_source(path, what, max_bytes=max_bytes) as handle:
        return os.fstat(handle.fileno()).st_size


@contextlib.contextmanager
def command_scope():
    """Remember the files read by :func:`open_source` while the block runs (one command)."""
    _SCOPES.append({})
    try:
        yield
    finally:
        _SCOPES.pop()


def read_here(path) -> str | None:
    """What the running command read ``path`` as (the option or words given to :func:`open_source`),
    or None where it did not read it (or no command runs). Links are followed: the file counts."""
    if not _SCOPES:
        return None
    try:
        info = os.stat(path)
    except OSError:
        return None
    found = _SCOPES[-1].get((info.st_dev, info.st_ino))
    return found[0] if found else None


def read_under(folder) -> list[str]:
    """The files the running command has read in ``folder`` or below it (absolute paths, sorted).

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp(); path = os.path.join(folder, "a.csv"); _ = open(path, "w").write("a")
        >>> with command_scope():
        ...     check_source(path)
        ...     read_under(folder) == [path], read_under(os.path.join(folder, "other"))
        1
        (True, [])
    """
    if not _SCOPES:
        return []
    top = os.path.join(os.path.abspath(folder), "")
    return sorted(path for _, path in _SCOPES[-1].values() if path.startswith(top))


def npy_header(handle) -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, header bytes)`` of the ``.npy`` data at ``handle``'s position, read without
    loading (or unpickling) anything; a ``ValueError`` with numpy's reason for what is no ``.npy`` header.

    Example:
        >>> import io
        >>> buffer = io.BytesIO(); np.save(buffer, np.zeros((3, 2))); _ = buffer.seek(0)
        >>> npy_header(buffer)
        ((3, 2), dtype('float64'), 128)
    """
    start = handle.tell()
    try:
        major, _ = np.lib.format.read_magic(handle)
        read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(handle, max_header_size=10000)
    except (ValueError, EOFError, OSError, SyntaxError, TypeError) as error:
        raise ValueError(str(error).splitlines()[0] if str(error).strip() else "empty") from None
    return tuple(int(n) for n in shape), dtype, handle.tell() - start
