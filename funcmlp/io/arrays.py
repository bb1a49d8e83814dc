"""The one serialiser under funcmlp's files: named arrays and a JSON header in one ``.npz``.

The header (a JSON object with at least ``format`` and ``version``) is stored as the text
entry ``meta``; every other entry is a plain numeric array (a floating dtype ``.npy`` cannot name,
``bfloat16``, is written as float32, which holds each of its numbers, and read back as itself:
the header's ``widened`` records which). Files are written by
:func:`funcmlp.io.files.atomic_write` (a crash leaves the old file whole) and read with
``allow_pickle=False``; each entry's ``.npy`` header is read and checked against the bytes
the file holds before the entry is loaded, so a damaged or forged file is refused in one
line, never with a traceback or an allocation of what it claims.

Example:
    >>> import os, tempfile, numpy as np
    >>> path = os.path.join(tempfile.mkdtemp(), "x.npz")
    >>> write_npz(path, {"format": "demo", "version": 1}, {"w": np.eye(2)})
    >>> header, arrays = read_npz(path, "demo", 1)
    >>> header["format"], arrays["w"].tolist()
    ('demo', [[1.0, 0.0], [0.0, 1.0]])
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import jax.numpy as jnp
import numpy as np

from funcmlp.checks.dtypes import is_floating
from funcmlp.io.files import atomic_write
from funcmlp.sources import npy_header, open_source

HEADER = "meta"
WIDENED = "widened"
"""The header's entry naming the arrays written as float32 for a floating dtype ``.npy`` cannot name: name -> dtype."""


def write_npz(path, header: dict, arrays: dict) -> None:
    """Write ``header`` (JSON) and ``arrays`` (name -> numeric array) to ``path`` atomically.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> write_npz(path, {"format": "demo", "version": 1}, {"w": jnp.array([0.1, 2.0], jnp.bfloat16)})
        >>> header, arrays = read_npz(path, "demo", 1)
        >>> header["widened"], arrays["w"].dtype.name, arrays["w"].tolist()  # bfloat16's 0.1 is 0.10009765625
        ({'w': 'bfloat16'}, 'bfloat16', [0.10009765625, 2.0])
    """
    arrays = {name: np.asarray(a) for name, a in arrays.items()}
    widened = {name: a.dtype.name for name, a in arrays.items() if a.dtype.kind == "V" and is_floating(a.dtype)}
    arrays.update({name: arrays[name].astype(np.float32) for name in widened})
    header = {**header, WIDENED: widened} if widened else header
    buffer = io.BytesIO()
    np.savez(buffer, **{HEADER: np.array(json.dumps(header))}, **arrays)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


def parse_json(text: str, what: str) -> object:
    """``json.loads`` whose every failure (bad syntax, nesting too deep) is a one-line ``ValueError``.

    Example:
        >>> parse_json('{"a": [1]}', "demo")
        {'a': [1]}
    """
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as error:
        reason = "nested too deeply" if isinstance(error, RecursionError) else f"not JSON: {str(error).splitlines()[0]}"
        raise ValueError(f"{what} is {reason}") from None


def read_npy_header(handle, what: str, kinds: str = "biuf") -> tuple[tuple[int, ...], np.dtype, int]:
    """``(shape, dtype, header bytes)`` of the ``.npy`` data at ``handle``'s position, read
    without loading the array; a ``ValueError`` naming ``what`` for anything else, or for values
    whose dtype kind is not in ``kinds`` (default: numbers).

    Example:
        >>> buffer = io.BytesIO(); np.save(buffer, np.zeros((3, 2))); _ = buffer.seek(0)
        >>> read_npy_header(buffer, "demo")[:2]
        ((3, 2), dtype('float64'))
    """
    try:
        shape, dtype, header_bytes = npy_header(handle)
    except ValueError as error:
        raise ValueError(f"{what} is not a NumPy .npy array ({error}); write it with numpy.save") from None
    if dtype.hasobject or dtype.kind not in kinds:
        raise ValueError(f"{what} holds {dtype} values; expected numbers (integer or floating point)")
    return shape, dtype, header_bytes


def _data_bytes(shape, dtype) -> int:
    return int(np.prod(shape, dtype=object)) * dtype.itemsize


def read_header(path, what: str = "funcmlp file") -> dict:
    """The JSON header of a funcmlp ``.npz`` (only ``meta`` is read), checked to be an object
    with a string ``format`` and an integer ``version``.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> write_npz(path, {"format": "demo", "version": 1}, {})
        >>> read_header(path)["format"]
        'demo'
    """
    return _read(path, what, arrays=False)[0]


def read_npz(path, expected_format: str, version: int, what: str | None = None) -> tuple[dict, dict]:
    """``(header, arrays)`` of a file written by :func:`write_npz` with header format
    ``expected_format`` and ``version``; a ``ValueError`` saying what the file is not (empty,
    truncated, foreign, forged: never a hint to unpickle), ``FileNotFoundError`` if missing.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "a.npz")
        >>> write_npz(path, {"format": "demo", "version": 2}, {})
        >>> read_npz(path, "demo", 1)
        Traceback (most recent call last):
        ValueError: ... is a demo file of format version 2; this funcmlp reads version 1
    """
    what = what or expected_format.removeprefix("funcmlp-").replace("-", " ")
    header, arrays = _read(path, f"funcmlp {what} file", arrays=True)
    widened = header.get(WIDENED, {})
    if not (isinstance(widened, dict) and all(name in arrays and _floating(kind) for name, kind in widened.items())):
        raise ValueError(
            f"{os.fspath(path)!r}: the header's {WIDENED} is {str(widened)[:80]}, expected its arrays' floating "
            "dtypes; the file is damaged or was edited"
        )
    arrays.update({name: arrays[name].astype(jnp.dtype(kind)) for name, kind in widened.items()})
    if header["format"] != expected_format:
        raise ValueError(
            f"not a funcmlp {what} file: {os.fspath(path)!r} (a {header['format']} file, no {expected_format} header)"
        )
    if header["version"] != version:
        raise ValueError(
            f"{os.fspath(path)!r} is a {what} file of format version {header['version']}; "
            f"this funcmlp reads version {version}"
        )
    return header, arrays


def _floating(name) -> bool:
    try:
        return isinstance(name, str) and is_floating(jnp.dtype(name))
    except TypeError:
        return False


def _read(path, what: str, *, arrays: bool) -> tuple[dict, dict]:
    name = os.fspath(path)
    if not os.path.exists(name):
        raise FileNotFoundError(f"{name!r} does not exist")
    if os.path.isdir(name):
        raise ValueError(f"{name!r} is a folder, not a {what}")
    with open_source(name, f"the {what}") as source:
        return _read_archive(source, name, what, arrays=arrays)


def _read_archive(source, name: str, what: str, *, arrays: bool) -> tuple[dict, dict]:
    try:
        with zipfile.ZipFile(source) as archive:
            members = {info.filename.removesuffix(".npy"): info for info in archive.infolist()}
            if HEADER not in members:
                raise ValueError("no funcmlp header")
            loaded = {}
            for entry, info in members.items():
                if info.compress_type != zipfile.ZIP_STORED:  # np.savez stores: a compressed entry may be a bomb
                    raise ValueError(
                        f"entry {entry!r} is compressed ({info.compress_size:,} bytes of {info.file_size:,}); "
                        "funcmlp writes its entries uncompressed: this file was made by something else"
                    )
                if entry != HEADER and not arrays:
                    continue
                with archive.open(info) as handle:
                    shape, dtype, header_bytes = read_npy_header(
                        handle, f"entry {entry!r}", "U" if entry == HEADER else "biuf"
                    )
                    expected = _data_bytes(shape, dtype)
                    if expected != info.file_size - header_bytes:
                        raise ValueError(
                            f"entry {entry!r} claims shape {shape} ({expected} bytes) but holds "
                            f"{info.file_size - header_bytes}"
                        )
                with archive.open(info) as handle:
                    loaded[entry] = np.lib.format.read_array(handle, allow_pickle=False)
    except (
        ValueError,
        EOFError,
        OSError,
        zipfile.BadZipFile,
        zipfile.LargeZipFile,
        MemoryError,
        NotImplementedError,
    ) as error:
        reason = (
            "not an .npz archive" if isinstance(error, (zipfile.BadZipFile, EOFError)) else str(error).splitlines()[0]
        )
        raise ValueError(f"not a {what}: {name!r} ({reason})") from None
    meta = loaded.pop(HEADER)
    if meta.shape != () or meta.dtype.kind not in "U":
        raise ValueError(f"not a {what}: {name!r} (its header is not JSON text)")
    header = parse_json(str(meta), f"the header of {name!r}")
    if (
        not isinstance(header, dict)
        or not isinstance(header.get("format"), str)
        or type(header.get("version")) is not int
    ):
        raise ValueError(f"not a {what}: {name!r} (its header is not an object with a format name and version)")
    return header, loaded


def load_npy(path, what: str, *, max_bytes: int | None = None) -> np.ndarray:
    """A numeric ``.npy`` array, its header read and checked first: the bytes it claims must be
    in the file and at most ``max_bytes``.

    Example:
        >>> import tempfile, os
        >>> path = os.path.join(tempfile.mkdtemp(), "x.npy"); np.save(path, np.ones((2, 3)))
        >>> load_npy(path, "x.npy").shape
        (2, 3)
    """
    with open_source(path, "the .npy file") as handle:
        size = os.fstat(handle.fileno()).st_size
        shape, dtype, header_bytes = read_npy_header(handle, what)
        claimed = _data_bytes(shape, dtype)
        if claimed != size - header_bytes:
            raise ValueError(
                f"{what}: its header says shape {shape} of {dtype} ({claimed:,} bytes) but the file holds "
                f"{size - header_bytes:,}; the file is damaged or was cut short"
            )
        if max_bytes is not None and claimed > max_bytes:
            raise ValueError(
                f"{what}: shape {shape} of {dtype} needs {claimed:,} bytes, more than the {max_bytes:,} available"
            )
        handle.seek(0)
        return np.load(handle, allow_pickle=False)
