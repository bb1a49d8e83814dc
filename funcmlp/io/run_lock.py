"""One run at a time per run folder: a lock the operating system lets go of when its holder ends.

:func:`lock_folder` takes an exclusive ``flock`` on ``DIR/.funcmlp-lock`` (created if needed)
and writes the holder's process id, host and start time into it, for the messages. The kernel
releases the lock when the process ends however it ends (SIGKILL too), so a lock is never
stale; a run that ends removes the file, so a lock file whose lock nobody holds is a run that
was killed: :func:`lock_folder` says so and removes that run's temporary files
(:func:`funcmlp.io.files.remove_stale_temporaries`).
:func:`holder` tells a reader whether a run is writing the folder now.

Example:
    >>> import tempfile
    >>> folder = tempfile.mkdtemp()
    >>> lock = lock_folder(folder, "--out")
    >>> holder(folder) is not None
    True
    >>> lock_folder(folder, "--out")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: --out ...: another funcmlp train is writing this folder (process ...); wait for it to end, ...
    >>> lock.release(); holder(folder) is None
    True
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import stat
import time

from funcmlp.io.files import hold_run_folder, let_go_run_folder, remove_stale_temporaries
from funcmlp.io.run_names import LOCK_FILE

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no advisory locks; the folder checks still run
    fcntl = None


@dataclasses.dataclass
class FolderLock:
    """A held lock on a run folder; ``note`` is a line about a killed earlier run (or empty)."""

    path: str
    handle: int | None
    note: str = ""
    made: tuple = ()
    """The folders :func:`lock_folder` created (the run folder first, then its new parents)."""

    def release(self) -> None:
        """Let go of the lock and remove its file (a killed run's lock file stays, naming its holder:
        the next run says so), and the folders the lock created where they are still empty (a run
        refused before it wrote anything leaves no trace); the process ending lets go of the lock too."""
        if self.handle is not None:
            with contextlib.suppress(FileNotFoundError):
                os.remove(self.path)
            os.close(self.handle)
            self.handle = None
            let_go_run_folder(os.path.dirname(self.path))
            for folder in self.made:
                try:
                    os.rmdir(folder)
                except OSError:  # not empty: the run wrote there
                    break


_NO_WAIT = os.O_NOFOLLOW | os.O_NONBLOCK if hasattr(os, "O_NONBLOCK") else getattr(os, "O_NOFOLLOW", 0)
"""A lock file is opened without following a link and without waiting (a FIFO there would block for ever)."""


def _open_lock_file(path: str, flags: int) -> int:
    """Open the lock file ``path``; anything there but a regular file is refused in one line."""
    handle = os.open(path, flags | _NO_WAIT, 0o644)
    if not stat.S_ISREG(os.fstat(handle).st_mode):
        os.close(handle)
        raise ValueError(
            f"{path} is not a regular file: funcmlp's lock file of this folder was replaced by something else; "
            "remove it (no funcmlp runs there now) and run again"
        )
    return handle


def _try_lock(handle: int) -> bool:
    if fcntl is None:  # pragma: no cover
        return True
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _read(handle: int) -> str:
    os.lseek(handle, 0, os.SEEK_SET)
    return os.read(handle, 400).decode("utf-8", "replace").strip()


def lock_folder(folder, option: str = "--out") -> FolderLock:
    """Lock ``folder`` (created if missing) for one run; a ``ValueError`` naming the holder if
    another process holds it. Removes the temporary files of writers that no longer run."""
    folder = os.path.abspath(os.fspath(folder))  # "a/../b" would make a, which the lock could not find again
    made, missing = [], folder
    while not os.path.lexists(missing):
        made.append(missing)
        missing = os.path.dirname(missing)
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, LOCK_FILE)
    while True:  # a lock taken on a file its holder removed meanwhile is no lock: take the new file's
        handle = _open_lock_file(path, os.O_RDWR | os.O_CREAT)
        if not _try_lock(handle):
            who = _read(handle) or "unknown"
            os.close(handle)
            raise ValueError(
                f"{option} {folder}: another funcmlp train is writing this folder (process {who}); wait for it to "
                "end, or give another folder"
            )
        try:
            if os.stat(path, follow_symlinks=False).st_ino == os.fstat(handle).st_ino:
                break
        except FileNotFoundError:
            pass
        os.close(handle)
    try:
        earlier = _read(handle)
        os.ftruncate(handle, 0)
        os.lseek(handle, 0, os.SEEK_SET)
        os.write(
            handle, f"{os.getpid()} on {socket.gethostname()} since {time.strftime('%Y-%m-%dT%H:%M:%S%z')}".encode()
        )
        removed = remove_stale_temporaries(folder)
    except BaseException:
        os.close(handle)
        raise
    note = ""
    if earlier or removed:
        files = f"; removed {len(removed)} half-written temporary file{'s' if len(removed) > 1 else ''}"
        note = (
            f"note    {folder}: an earlier run here was killed"
            + (f" (process {earlier})" if earlier else "")
            + (files if removed else "")
        )
    hold_run_folder(folder)
    return FolderLock(path, handle, note, tuple(made))


def holder(folder) -> str | None:
    """Who holds ``folder``'s lock now (``"PID on HOST since TIME"``), or None when no run does."""
    path = os.path.join(os.fspath(folder), LOCK_FILE)
    try:
        handle = _open_lock_file(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        if fcntl is None:  # pragma: no cover
            return None
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(handle) or "unknown"
        return None
    finally:
        os.close(handle)
