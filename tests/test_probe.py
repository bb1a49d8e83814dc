"""Issue 22, item 8, and issue 33: the probe suite (its machinery: tests/probe_case.py). Each case the
probe of the command line found (a careless or hostile user's input) runs in its own process
(tests/probe_runner.py forks one per case) under ``resource.setrlimit`` limits: 4 GiB of address space, 60 s of CPU and of wall time, and, for the
full-disk case, a file-size limit. Each must end in exit 2 with one line on stderr, ``funcmlp:
error: ...`` naming what was wrong, within its limits, and leave every file
of its folder as it was (contents, kinds, links, the device node and the FIFO: nothing replaced,
nothing left behind)."""

import importlib
import json
import os
import pathlib
import shutil
import socket
import stat

import numpy as np
import pytest
from probe_case import XOR, Case, make_base, run_cases


def _copy(base, name, folder):
    return shutil.copytree(os.path.join(base, name), os.path.join(folder, name))


def _inputs(folder, rows=2):
    path = os.path.join(folder, "x.npy")
    np.save(path, np.tile([[0.0, 1.0], [1.0, 1.0]], (rows // 2, 1)))
    return path


def _user_file(path, text="the user's own file\n"):
    with open(path, "w") as handle:
        handle.write(text)
    return path


def _predict_to(target_maker):
    def make(folder, base):
        target = target_maker(folder)
        return ["predict", os.path.join(base, "run"), "--data-path", _inputs(folder), "--out", target]

    return make


def _device(folder):
    path = os.path.join(folder, "null")
    os.mknod(path, 0o666 | stat.S_IFCHR, os.stat("/dev/null").st_rdev)  # a copy of /dev/null, as the probe made
    return path


def _fifo(folder):
    os.mkfifo(os.path.join(folder, "fifo"))
    return os.path.join(folder, "fifo")


def _link(folder):
    os.symlink(_user_file(os.path.join(folder, "kept.csv")), os.path.join(folder, "link.csv"))
    return os.path.join(folder, "link.csv")


def _folder_target(folder):
    os.mkdir(os.path.join(folder, "a folder"))
    return os.path.join(folder, "a folder")


def _another_run_there(folder, base):
    return [*XOR, "--out", _copy(base, "run", folder)]


def _another_runs_state(folder, base):
    mine = _copy(base, "run", folder)
    shutil.copy(os.path.join(base, "other", "training_state.npz"), os.path.join(mine, "training_state.npz"))
    return [*XOR, "--resume", mine, "--epochs", "4"]


def _corrupt_manifest(folder, base):
    run = _copy(base, "run", folder)
    _user_file(os.path.join(run, "manifest.json"), '{"format": "funcmlp-run-manifest", "sha256": [}')
    return ["evaluate", run]


def _model_from_another_run(folder, base):
    run = _copy(base, "run", folder)
    shutil.copy(os.path.join(base, "other", "model.npz"), os.path.join(run, "model.npz"))
    return ["evaluate", run]


def _train(*options):
    return lambda folder, base: ["train", "--data", "xor", "--out", os.path.join(folder, "run"), *options]


def _command(*argv):
    return lambda folder, base: list(argv)


def _gzip_bomb(folder, base):
    """A gzip IDX file of 512 MiB of zeros (2 MB on disk) behind a header claiming 47 MB (MNIST's
    training images)."""
    import gzip
    import struct

    path = os.path.join(folder, "train-images-idx3-ubyte.gz")
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 60000, 28, 28))
        for _ in range(32):
            handle.write(bytes(1 << 24))
    return ["predict", os.path.join(base, "mnist"), "--data-path", path, "--out", os.path.join(folder, "p.csv")]


def _zip_bomb_in_a_model(folder, base):
    """The run's model with an extra entry of 512 MiB of zeros (float64, 2**26), deflated to 2 MB."""
    import zipfile

    path = shutil.copy(os.path.join(base, "run", "model.npz"), os.path.join(folder, "model.npz"))
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("extra.npy", "w", force_zip64=True) as handle:
            np.lib.format.write_array_header_1_0(handle, {"descr": "<f8", "fortran_order": False, "shape": (2**26,)})
            block = bytes(1 << 24)
            for _ in range(32):
                handle.write(block)
    return ["evaluate", path]


def _spec(folder, **changes):
    lines = {
        "name": '"probe"',
        "title": '"a probe"',
        "convention": '"row"',
        "activations": '["sigmoid"]',
        "loss": '"output"',
        "x": '["-1", "-2"]',
    }
    lines.update(changes)
    path = os.path.join(folder, "spec.toml")
    _user_file(
        path, "".join(f"{key} = {value}\n" for key, value in lines.items()) + '[[layers]]\nW = [["2"], ["-3"]]\n'
    )
    return path


def _secret_data_path(folder, base):
    """A model whose record names a data file the user did not give (a secret of theirs)."""
    import zipfile

    secret = _user_file(os.path.join(folder, "secret.csv"), "TOP-SECRET first line\n")
    path = shutil.copy(os.path.join(base, "run", "model.npz"), os.path.join(folder, "model.npz"))
    with zipfile.ZipFile(path) as archive:
        entries = {name: archive.read(name) for name in archive.namelist()}
    header = json.loads(np.lib.format.read_array(__import__("io").BytesIO(entries["meta.npy"])).item())
    header["extra"].update(data="mnist", data_path=secret)
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            if name == "meta.npy":
                buffer = __import__("io").BytesIO()
                np.save(buffer, np.array(json.dumps(header)))
                content = buffer.getvalue()
            archive.writestr(name, content)
    return ["evaluate", path]


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _alone(process_id):
    def make(folder, base):
        return [
            *XOR,
            "--out",
            os.path.join(folder, "run"),
            "--coordinator",
            f"127.0.0.1:{_free_port()}",
            "--num-processes",
            "2",
            "--process-id",
            str(process_id),
            "--join-timeout",
            "1",
        ]

    return make


def _random_bytes_npy(folder, base):
    path = os.path.join(folder, "x.npy")
    with open(path, "wb") as handle:
        handle.write(bytes(range(256)) * 8)
    return ["predict", os.path.join(base, "run"), "--data-path", path, "--out", os.path.join(folder, "p.csv")]


def _not_utf8_csv(folder, base):
    path = os.path.join(folder, "test.csv")
    with open(path, "wb") as handle:
        handle.write(b"pixel0,pixel1\n" + b"\xff\xfe\x00binary" * 50)
    return ["predict", os.path.join(base, "mnist"), "--data-path", path, "--out", os.path.join(folder, "p.csv")]


def _too_wide_inputs(folder, base):
    path = os.path.join(folder, "x.npy")
    np.save(path, np.ones((3, 5)))
    return ["predict", os.path.join(base, "run"), "--data-path", path, "--out", os.path.join(folder, "p.csv")]


def _idx_images(rows, cols):
    """IDX images of rows x cols pixels for a model of MNIST's 28 x 28 (10 x 10 was numpy's "cannot
    reshape"; 16 x 49 has MNIST's 784 pixels, in another shape)."""

    def make(folder, base):
        import struct

        path = os.path.join(folder, "images-idx3-ubyte")
        with open(path, "wb") as handle:
            handle.write(bytes([0, 0, 8, 3]) + struct.pack(">3I", 2, rows, cols) + bytes(2 * rows * cols))
        return ["predict", os.path.join(base, "mnist"), "--data-path", path, "--out", os.path.join(folder, "p.csv")]

    return make


def _full_disk(folder, base):
    """The file-size limit stands for a full disk: the predictions (about 40 KB) cannot be written."""
    out = _user_file(os.path.join(folder, "p.csv"))
    return ["predict", os.path.join(base, "run"), "--data-path", _inputs(folder, 4000), "--out", out]


CASES = [
    # outputs never written through what is not a regular file
    Case("predict into a device", _predict_to(_device), ("is a character device",), root_only=True),
    Case("predict into a FIFO", _predict_to(_fifo), ("is a FIFO",)),
    Case("predict into a link", _predict_to(_link), ("is a symbolic link",)),
    Case("predict into a folder", _predict_to(_folder_target), ("is a folder",)),
    # run folders never clobbered or mixed
    Case("train into another run", _another_run_there, ("already holds a run", "--resume", "--overwrite")),
    Case("resume another run's state", _another_runs_state, ("the folder mixes two runs' files",)),
    Case("a corrupt manifest", _corrupt_manifest, ("manifest.json is not JSON", "remove", "to use the files anyway")),
    Case("a model of another run", _model_from_another_run, ("is from another run",)),
    # options that would make a state lie
    Case("--lr 1e308 in float32", _train("--lr", "1e308"), ("--lr 1e+308 is more than float32 holds",)),
    Case("--min-delta nan", _train("--patience", "2", "--min-delta", "nan"), ("--min-delta must be a finite",)),
    Case("--momentum nan", _train("--optimizer", "momentum", "--momentum", "nan"), ("--momentum must be a finite",)),
    Case("--weight-decay nan", _train("--weight-decay", "nan"), ("--weight-decay must be a finite",)),
    # bounds on memory and time
    Case("a billion hidden units", _train("--hidden", "1000000000"), ("needs about", "GB")),
    Case("check a batch of 1e8", _command("check", "--batch", "100000000"), ("needs about", "GB")),
    Case("2000 hidden layers", _train("--hidden", ",".join(["4"] * 2000)), ("--hidden gives 2000 hidden layers",)),
    Case("check 3000,3000,10", _command("check", "--sizes", "3000,3000,10"), ("--fd-entries",)),
    Case("derive check 2000,2000", _command("derive", "check", "--sizes", "2000,2000"), ("at most 25,000",)),
    Case(
        "a gzip IDX bomb",
        _gzip_bomb,
        ("header says shape (60000, 28, 28) = 47040000 bytes, file has more",),
        peak_mb=400,
    ),
    Case("a zip bomb in a model", _zip_bomb_in_a_model, ("entry 'extra' is compressed",), peak_mb=400),
    Case(
        "1e999999 in a spec",
        lambda folder, base: ["derive", "--example", _spec(folder, x='["1e999999", "-2"]')],
        ("a decimal exponent beyond +-100",),
    ),
    # nothing read outside what was named
    Case("a data path in a model", _secret_data_path, ("pass --data-path",), never=("TOP-SECRET",)),
    Case(
        "a title with a line break",
        lambda folder, base: ["derive", "--example", _spec(folder, title='"one\\n\\\\input{/etc/hostname}"')],
        ("holds the control character",),
    ),
    # no hang when a process of a distributed run is missing
    Case("process 0 alone", _alone(0), ("process 1 did not join within 1 s",)),
    Case("process 1 alone", _alone(1), ("process 0 did not answer within 1 s",)),
    # the rest
    Case(
        "a random-bytes .npy",
        _random_bytes_npy,
        ("x.npy is not a NumPy .npy array", "numpy.save"),
        never=("allow_pickle",),
    ),
    Case("a non-UTF-8 CSV", _not_utf8_csv, ("test.csv: not a text CSV file", "UTF-8 text")),
    Case("inputs of another width", _too_wide_inputs, ("x.npy", "5"), never=("reshape",)),
    Case(
        "IDX images of 10 x 10", _idx_images(10, 10), ("shape (2, 10, 10), expected (N, 28, 28)",), never=("reshape",)
    ),
    Case("IDX images of 16 x 49", _idx_images(16, 49), ("shape (2, 16, 49), expected (N, 28, 28)",)),
    Case(
        "a full disk",
        _full_disk,
        ("error: /", "p.csv could not be written (File too large); the file there is unchanged", "ulimit -f"),
        file_size=16 << 10,
    ),
]


ROUND_2 = sorted(
    path.stem
    for path in pathlib.Path(__file__).parent.glob("probe_*.py")
    if path.stem not in ("probe_case", "probe_runner")
)
"""Issue 33's cases, one module of ``CASES`` per kind of door (tests/probe_*.py)."""


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Two finished xor runs (``run``, ``other``) and a model trained on mnist's shape (``mnist``)."""
    return make_base(tmp_path_factory.mktemp("base"))


def test_every_probe_case_ends_in_one_line_and_exit_2_within_its_limits_and_damages_nothing(base, tmp_path):
    failures = run_cases(CASES, base, tmp_path)
    assert not failures, "\n".join(failures)


@pytest.mark.parametrize("module", ROUND_2)
def test_every_round_2_case_ends_in_one_clear_error_within_its_limits_and_damages_nothing(module, base, tmp_path):
    failures = run_cases(importlib.import_module(module).CASES, base, tmp_path)
    assert not failures, "\n".join(failures)
