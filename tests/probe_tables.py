"""Issue 33's probe cases of the tables funcmlp reads (run by tests/test_probe.py): a table path that is
a device or a FIFO (it read gigabytes, or hung), a ``.npz`` zip bomb (MemoryError), a million distinct
strings and 100,000 columns (minutes), numbers written with decimal commas or ``inf`` (one category per
number), a NUL byte, object or complex arrays, and a target near 1e300 in float32: each one line."""

import os
import stat
import zipfile

import numpy as np
from probe_case import Case


def _write(folder, name, text):
    path = os.path.join(folder, name)
    with open(path, "w") as handle:
        handle.write(text)
    return path


def _train(name, target, *options):
    return lambda folder, base: [
        "train",
        "--data",
        os.path.join(folder, name),
        *(("--target", target) if target else ()),
        "--epochs",
        "1",
        "--quiet",
        "--no-check",
        "--out",
        os.path.join(folder, "run"),
        *options,
    ]


def _table_device(folder, base):
    """A copy of /dev/zero named as a table: it was read to 3.8 GB."""
    os.mknod(os.path.join(folder, "zero.csv"), 0o666 | stat.S_IFCHR, os.stat("/dev/zero").st_rdev)
    return _train("zero.csv", "y")(folder, base)


def _table_fifo(folder, base):
    """A FIFO named as a table (nobody writes to it): it hung for ever."""
    os.mkfifo(os.path.join(folder, "fifo.csv"))
    return _train("fifo.csv", "y")(folder, base)


def _zip_bomb(folder, base):
    """A table .npz whose x is 512 MiB of zeros (float64, 2**26) deflated to about 2 MB."""
    path = os.path.join(folder, "bomb.npz")
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("x.npy", "w", force_zip64=True) as handle:
            np.lib.format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (2**25, 2)})
            block = bytes(1 << 24)
            for _ in range(32):
                handle.write(block)
        with archive.open("y.npy", "w") as handle:
            np.lib.format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (2**25,)})
            for _ in range(16):
                handle.write(block)
    return _train("bomb.npz", None)(folder, base)


def _million_ids(folder, base):
    """13 MB: an id column of a million distinct strings (ran for minutes: 800,000 one-hot features)."""
    lines = [f"u{i:07d},{i % 7},{'ab'[i % 2]}" for i in range(1_000_000)]
    _write(folder, "ids.csv", "id,x,label\n" + "\n".join(lines) + "\n")
    return _train("ids.csv", "label")(folder, base)


def _wide_header(folder, base):
    """4.7 MB: 100,000 columns, the last named as the sixth (the header check was quadratic: minutes)."""
    header = ",".join(f"c{j}" for j in range(100_000)) + ",c5\n"
    _write(folder, "wide.csv", header + (",".join(["1"] * 100_001) + "\n") * 20)
    return _train("wide.csv", "c5")(folder, base)


def _numbers_table(name, cell):
    def make(folder, base):
        rows = [f'"{cell(i)}",{"ab"[i % 2]}' for i in range(200)]
        _write(folder, name, "size,label\n" + "\n".join(rows) + "\n")
        return _train(name, "label")(folder, base)

    return make


def _nul_byte(folder, base):
    rows = [f"{i},{'ab'[i % 2]}" for i in range(40)]
    rows[4] = "4\x00,a"
    _write(folder, "nul.csv", "size,label\n" + "\n".join(rows) + "\n")
    return _train("nul.csv", "label")(folder, base)


def _npz(name, x, y):
    def make(folder, base):
        np.savez(os.path.join(folder, name), x=x, y=y)
        return _train(name, None)(folder, base)

    return make


def _huge_target(folder, base):
    """A regression target near 1e300 under a loss whose targets are not standardised (poisson), in float32."""
    rows = [f"{i / 100},{(i + 1) * 1e298}" for i in range(100)]
    _write(folder, "big.csv", "a,y\n" + "\n".join(rows) + "\n")
    return _train("big.csv", "y", "--loss", "poisson")(folder, base)


CASES = [
    Case("a device as a table", _table_device, ("zero.csv is a character device, not a file",), root_only=True),
    Case("a FIFO as a table", _table_fifo, ("fifo.csv is a FIFO (named pipe), not a file",), seconds=20),
    Case(
        "a zip bomb as a table", _zip_bomb, ("reading the table", "bomb.npz", "its array x", "needs about"), peak_mb=400
    ),
    Case(
        "a million distinct strings",
        _million_ids,
        ("ids.csv: column 'id' holds 1,000,000 distinct values in 1,000,000 rows", "--ignore id"),
    ),
    Case("100,000 columns, one name twice", _wide_header, ("wide.csv:1: the header has the column name 'c5' twice",)),
    Case(
        "decimal commas",
        _numbers_table("comma.csv", lambda i: f"{i % 9},{i % 7}5"),
        ("comma.csv:2: column 'size' holds numbers, but '0,05' is written with a decimal comma", "0.05"),
    ),
    Case(
        "inf in a tenth of the cells",
        _numbers_table("inf.csv", lambda i: "inf" if i % 10 == 3 else f"{i / 7:.3f}"),
        ("inf.csv:5: column 'size' holds numbers, but 'inf' is not a finite number", "20 such cells of 200"),
    ),
    Case(
        "thousands separators",
        _numbers_table("thousands.csv", lambda i: f"{i + 1},{(7 * i) % 1000:03d}.5"),
        ("thousands.csv:2: column 'size' holds numbers, but '1,000.5' has a thousands separator", "1000.5"),
    ),
    Case("a NUL byte in a CSV", _nul_byte, ("nul.csv:6: a NUL byte", "column 'size'", "UTF-8 CSV")),
    Case(
        "object arrays in a .npz",
        _npz("objects.npz", np.array([[1, "a"], [2, "b"]] * 10, dtype=object), np.arange(20) % 2),
        ("objects.npz: its array x holds Python objects; expected numbers",),
        never=("allow_pickle",),
    ),
    Case(
        "complex numbers in a .npz",
        _npz("complex.npz", np.ones((20, 2)) * (1 + 1j), np.arange(20) % 2),
        ("complex.npz: its array x holds complex128 values; expected numbers",),
    ),
    Case(
        "a y of bytes in a .npz",
        _npz("bytes.npz", np.ones((20, 2)), np.array([b"cat", b"dog"] * 10)),
        ("bytes.npz: its array y holds |S3 values", "np.asarray(y, str)"),
    ),
    Case("a target near 1e300 in float32", _huge_target, ("big.csv:", "column 'y'", "float32's range", "--float64")),
]
