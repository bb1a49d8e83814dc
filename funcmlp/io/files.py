"""Files written atomically: the whole new content or the old file, never half of either.

Every file funcmlp writes goes through :func:`atomic_write`: a new temporary file in the
target's folder, fsync'd, then renamed over the target. Only a regular file (or nothing) may
stand at the target: a symbolic link, a device, a FIFO, a socket or a folder there is refused
(:func:`check_target`), never followed and never replaced; so is a file the running command
reads (:func:`funcmlp.sources.read_here`: ``predict --out`` naming its own ``--data-path``), and a
run folder's own files (:data:`funcmlp.io.run_names.RUN_FILES` in a folder holding a run) written by
anything but that run's writer: the process holding the folder's lock (:func:`hold_run_folder`,
called by :func:`funcmlp.io.run_lock.lock_folder`). Temporary files carry their
writer's process id; those of a writer that no longer runs (killed in the middle of a write)
are removed by :func:`remove_stale_temporaries`.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_write(path) as handle:
    ...     _ = handle.write("done")
    >>> open(path).read(), sorted(os.listdir(os.path.dirname(path)))
    ('done', ['notes.txt'])
    >>> check_target("/dev/null", "--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: --out /dev/null is a character device, not a regular file: funcmlp writes only regular files ...
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
import uuid

from funcmlp.io.run_names import RUN_FILES, RUN_MARKERS
from funcmlp.sources import NOT_FILES, read_here

_KINDS = ((stat.S_ISLNK, "a symbolic link"), *NOT_FILES)
"""What may not stand at an output path: a link (never followed) and whatever is not a file."""
_TEMPORARY = re.compile(r"^\.tmp-(\d+)-[0-9a-f]{32}-")
_HELD: dict[str, int] = {}
"""The run folders this process holds the lock of (their real paths), each with its count of holds."""


def hold_run_folder(folder) -> None:
    """This process writes the run in ``folder`` (it holds the folder's lock): its run files may be replaced."""
    key = os.path.realpath(folder)
    _HELD[key] = _HELD.get(key, 0) + 1


def let_go_run_folder(folder) -> None:
    """The end of one :func:`hold_run_folder`."""
    key = os.path.realpath(folder)
    if _HELD.get(key, 0) > 1:
        _HELD[key] -= 1
    else:
        _HELD.pop(key, None)


def holds_run_folder(folder) -> bool:
    """Whether this process holds ``folder``'s lock (is the writer of the run there)."""
    return os.path.realpath(folder) in _HELD


def _check_owner(path, option: str) -> None:
    """Refuse to replace a file the running command reads, or a run's file from outside its writer."""
    shown = f"{option + ' ' if option else ''}{os.fspath(path)}"
    folder, name = os.path.split(os.path.abspath(path))
    is_run = name in RUN_FILES and any(os.path.lexists(os.path.join(folder, m)) for m in RUN_MARKERS)
    if is_run and holds_run_folder(folder):
        return  # the run's own writer (it may also have read the file: a resumed state)
    if is_run:
        raise ValueError(
            f"{shown} is the {name} of the run in {folder}: only that run's training (funcmlp train --out/--resume, "
            "funcmlp.fit(checkpoint_dir=)) replaces it; give another file name"
        )
    reads = read_here(path)
    if reads is not None:
        raise ValueError(
            f"{shown} is a file this command reads ({reads}): writing there would replace it; give another file name"
        )


def check_target(path, option: str = "") -> None:
    """Refuse, with one ``ValueError`` line, a ``path`` where something other than a regular file
    stands (checked with ``lstat``: a link is never followed), a file the running command reads, or a
    run's own file (from anything but the run's writer). Nothing there, or another regular file,
    passes. ``option`` (e.g. ``"--out"``) starts the message."""
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    _check_owner(path, option)
    for test, kind in _KINDS:
        if test(mode):
            raise ValueError(
                f"{option + ' ' if option else ''}{os.fspath(path)} is {kind}, not a regular file: funcmlp writes "
                "only regular files (it never replaces or writes through a device, link or folder); give the path "
                "of a new or regular file"
            )


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # no such process (a number beyond any pid included)
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_temporaries(folder) -> list[str]:
    """Remove the temporary files :func:`atomic_write` left in ``folder`` when its writer was
    killed (their process no longer runs); the names removed. A running writer's are kept.

    Example:
        >>> import os, tempfile
        >>> folder = tempfile.mkdtemp(); dead = 2**22 + 1  # above Linux's largest process id
        >>> open(os.path.join(folder, f".tmp-{dead}-{'0' * 32}-model.npz"), "w").close()
        >>> remove_stale_temporaries(folder), os.listdir(folder)
        (['.tmp-4194305-00000000000000000000000000000000-model.npz'], [])
    """
    removed = []
    for entry in os.scandir(folder):
        match = _TEMPORARY.match(entry.name)
        if match and entry.is_file(follow_symlinks=False) and not _running(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                os.remove(entry.path)
                removed.append(entry.name)
    return sorted(removed)


def _sync_folder(folder: str) -> None:
    """fsync a folder, so that a rename in it survives a power cut (where the system allows it)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", *, newline=None):
    """Open a new temporary file beside ``path`` (mode ``"w"`` text, UTF-8, or ``"wb"``), and
    when the block ends without an error, flush, fsync and ``os.replace`` it over ``path``; on
    an error (or Ctrl-C) the temporary file is removed and ``path`` is left as it was. Anything
    but a regular file at ``path`` is refused before and again just before the rename
    (:func:`check_target`). The file is created as any new file is: mode 0666 less the umask
    (``mkstemp``'s 0600 would hide it from the group)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes text ('w') or bytes ('wb'), got mode {mode!r}")
    check_target(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".tmp-{os.getpid()}-{uuid.uuid4().hex}-{os.path.basename(path)}")
    try:
        text = {} if "b" in mode else {"encoding": "utf-8", "newline": newline}
        with open(tmp, mode.replace("w", "x"), **text) as handle:  # "x": a new file, never an existing one
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        check_target(path)  # something may have been put there while the file was written
        os.replace(tmp, path)
        _sync_folder(folder)
    except OSError as error:  # a full disk, a quota, a size limit, a folder gone: name the file and the way out
        way = {
            errno.ENOSPC: "free some space or write elsewhere",
            errno.EDQUOT: "free some space or write elsewhere",
            errno.EFBIG: "it is larger than this process may write (ulimit -f); raise the limit or write elsewhere",
        }.get(error.errno, "check the folder, or write elsewhere")
        refused = type(error)(
            f"{os.fspath(path)} could not be written ({error.strerror or error}); the file there is unchanged: {way}"
        )
        refused.errno = error.errno  # the same kind of OSError; str(refused) is the line alone, without "[Errno N]"
        raise refused from None
    finally:
        if os.path.lexists(tmp):
            os.remove(tmp)
