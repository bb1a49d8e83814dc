"""Files written atomically: the whole new content or the old file, never half of either.

Example:
    >>> import os, tempfile
    >>> path = os.path.join(tempfile.mkdtemp(), "notes.txt")
    >>> with atomic_write(path) as handle:
    ...     _ = handle.write("done")
    >>> open(path).read(), sorted(os.listdir(os.path.dirname(path)))
    ('done', ['notes.txt'])
"""

from __future__ import annotations

import contextlib
import os
import uuid


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", *, newline=None):
    """Open a new temporary file beside ``path`` (mode ``"w"`` text, UTF-8, or ``"wb"``), and
    when the block ends without an error, flush, fsync and ``os.replace`` it over ``path``; on
    an error (or Ctrl-C) the temporary file is removed and ``path`` is left as it was. The file
    is created as any new file is: mode 0666 less the umask (``mkstemp``'s 0600 would hide it
    from the group)."""
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write writes text ('w') or bytes ('wb'), got mode {mode!r}")
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".tmp-{uuid.uuid4().hex}-{os.path.basename(path)}")
    try:
        text = {} if "b" in mode else {"encoding": "utf-8", "newline": newline}
        with open(tmp, mode.replace("w", "x"), **text) as handle:  # "x": a new file, never an existing one
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)
