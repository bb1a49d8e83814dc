"""Data-parallel fit on eight CPU devices (a subprocess: the device count is fixed when JAX
starts) equals fit on one device; two processes joined by jax.distributed equal one."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import jax
import numpy as np
import pytest
from eight_devices import arrays_of

from funcmlp.training.parallel import data_mesh, resolve_mesh

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def cases(tmp_path_factory, worker_id):
    """The eight-device subprocess runs once per test run: the first xdist worker to need it runs it
    under a lock in the folder the workers share, the others wait and read its file."""
    arrays = arrays_of("parallel_cases.py", tmp_path_factory, worker_id)
    return lambda name: ([arrays[f"{name}.{i}"] for i in range(6)], arrays[f"{name}.losses"])


def _relative(a, b):
    return max(float(np.max(np.abs(x - y)) / np.max(np.abs(y))) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize(
    "sharded, single",
    [
        ("eight", "single"),
        ("auto", "single"),
        ("two_axes", "single"),  # a mesh with a second axis: params replicated over it too
        ("explicit", "single"),
        ("explicit_two_axes", "single"),
        ("made_auto", "single"),  # jax.make_mesh, Explicit or Auto axes
        ("eight_b13", "single_b13"),
        ("eight_b1", "single_b1"),  # batches padded with weight-0 examples to a multiple of 8
        ("eight_autodiff", "single"),
        ("eight_sum", "single_sum"),
        ("eight_soft", "single_soft"),
        ("eight_weighted", "single_weighted"),
        ("eight_dp", "single_dp"),  # DP-SGD: the losses carry the clipped fractions too
    ],
)
def test_eight_devices_give_the_params_of_one_in_float64(cases, sharded, single):
    (params, losses), (reference, reference_losses) = cases(sharded), cases(single)
    assert all(p.dtype == np.float64 for p in params)
    assert _relative(params, reference) <= 1e-10
    assert np.allclose(losses, reference_losses, rtol=1e-10, atol=0)


def test_a_one_device_mesh_is_no_mesh(cases):
    (params, losses), (reference, reference_losses) = cases("one"), cases("single")
    assert all(np.array_equal(p, r) for p, r in zip(params, reference, strict=True)) and np.array_equal(
        losses, reference_losses
    )


def test_float32_sharded_stays_within_float32_rounding(cases):
    (params, _), (reference, _) = cases("eight_f32"), cases("single_f32")
    assert all(p.dtype == np.float32 for p in params)
    assert _relative(params, reference) <= 1e-5  # 3 epochs of Adam; the sums over shards round in another order


def test_dropout_masks_depend_on_the_key(cases):
    (a, _), (b, _), (other, _) = cases("dropout_a"), cases("dropout_b"), cases("dropout_other_key")
    assert all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))
    assert _relative(a, other) > 1e-3
    assert _relative(cases("single_dropout")[0], cases("single")[0]) > 1e-3  # dropout changes what one device ends with


@pytest.mark.parametrize(
    "sharded, single",
    [
        ("dropout_a", "single_dropout"),
        ("explicit_dropout", "single_dropout"),  # jax.make_mesh's Explicit axis
        ("eight_b13_dropout", "single_b13_dropout"),  # batches padded with weight-0 examples to a multiple of 8
        ("eight_autodiff_dropout", "single_autodiff_dropout"),
        ("eight_dp_dropout", "single_dp_dropout"),
    ],
)
def test_with_dropout_eight_devices_end_with_the_params_of_one(cases, sharded, single):
    """Issue 36 item 7: each batch's masks are drawn once for the whole batch and split with it, so every
    example is dropped as on one device; only the sums over the shards round in another order."""
    (params, losses), (reference, reference_losses) = cases(sharded), cases(single)
    assert all(p.dtype == np.float64 for p in params)
    assert _relative(params, reference) <= 1e-12
    assert np.allclose(losses, reference_losses, rtol=1e-12, atol=0)


def test_a_mesh_without_a_data_axis_is_refused():
    mesh = jax.sharding.Mesh(np.array(jax.devices()[:1]), ("batch",))
    with pytest.raises(ValueError, match="mesh needs an axis named 'data'"):
        resolve_mesh(mesh)
    with pytest.raises(ValueError, match="mesh must be None, 'auto'"):
        resolve_mesh("all")
    with pytest.raises(ValueError, match=r"2 devices asked for, 1 available \(cpu\)"):
        data_mesh(2)
    assert resolve_mesh("auto").shape["data"] == jax.device_count()


def test_the_command_line_refuses_bad_device_and_process_options(capsys):
    from funcmlp.cli import main

    cases = {
        (
            "--devices",
            "64",
        ): "64 devices asked for, 1 available (cpu); ask for 1 to 1 or 'all'; on CPU, JAX_NUM_CPU_DEVICES=N",
        ("--devices", "0"): "expected a number of devices (1 or more) or 'all', got '0'",
        ("--coordinator", "127.0.0.1:1234"): "--coordinator, --num-processes and --process-id go together",
        ("--coordinator", "localhost", "--num-processes", "2", "--process-id", "0"): "expected HOST:PORT",
        (
            "--coordinator",
            "127.0.0.1:1",
            "--num-processes",
            "2",
            "--process-id",
            "2",
        ): "expected 0 <= process id < number of processes",
        ("--distributed", "--process-id", "0"): "--distributed finds the processes itself",
    }
    for extra, message in cases.items():
        try:
            status = main(["train", "--data", "xor", "--quiet", "--no-check", *extra])
        except SystemExit as exit:  # argparse's refusal of the option's value
            status = exit.code
        err = capsys.readouterr().err
        assert status == 2, (extra, err)
        assert message in err and len(err.strip().splitlines()) == 1, (extra, err)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _two_processes(environ, *arguments):
    port = _free_port()
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "funcmlp.cli",
                *arguments,
                "--coordinator",
                f"127.0.0.1:{port}",
                "--num-processes",
                "2",
                "--process-id",
                str(i),
            ],
            env=environ,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    try:
        outputs = [process.communicate(timeout=120) for process in processes]
    finally:
        for process in processes:
            process.kill()
    assert [process.returncode for process in processes] == [0, 0], [err[-2000:] for _, err in outputs]
    assert not any(
        word in outputs[1][0] for word in ("data ", "model ", "test ", "saved ")
    )  # process 1 prints nothing (gloo's C++ log aside)
    return outputs[0][0]


def test_two_processes_train_and_resume_to_the_params_of_one(tmp_path):
    """funcmlp train --float64 in two processes (two CPU devices each, gloo collectives on
    127.0.0.1), stopped after one epoch and resumed for a second, writes from process 0 only
    the params of the same two epochs in one process."""
    common = [
        "train",
        "--data",
        "digits",
        "--hidden",
        "32",
        "--batch-size",
        "50",
        "--dropout",
        "0",
        "--schedule",
        "constant",
        "--float64",
        "--no-check",
        "--quiet",
    ]
    environ = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": "2"}
    one = subprocess.run(
        [sys.executable, "-m", "funcmlp.cli", *common, "--epochs", "2", "--out", str(tmp_path / "one")],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert one.returncode == 0, one.stderr
    assert "4 devices in 2 processes" in _two_processes(
        environ, *common, "--epochs", "1", "--out", str(tmp_path / "two")
    )
    _two_processes(environ, "train", "--resume", str(tmp_path / "two"), "--epochs", "2", "--no-check", "--quiet")
    _assert_same_model(tmp_path / "one", tmp_path / "two", 1e-10)
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == sorted(p.name for p in (tmp_path / "one").iterdir())
    with open(tmp_path / "two" / "history.csv") as handle:
        assert len(handle.read().splitlines()) == 3  # header and both epochs


def _assert_same_model(one, other, rtol):
    """The float64 params of the run folders ``one`` and ``other`` agree within ``rtol`` of each array's largest
    entry."""
    with np.load(one / "model.npz") as a, np.load(other / "model.npz") as b:
        names = [name for name in a.files if name != "meta"]
        assert names == [name for name in b.files if name != "meta"] and names
        for name in names:
            assert a[name].dtype == np.float64
            assert np.max(np.abs(a[name] - b[name])) <= rtol * np.max(np.abs(a[name])), name


def test_two_processes_with_dropout_end_with_the_params_of_one_device(tmp_path):
    """Issue 36 item 7: funcmlp train --dropout 0.3 --float64 in two processes (two CPU devices each; batches of
    50 padded to 52 for the four) ends with the params of the same run on one device: each batch's masks are
    drawn once for the whole batch and split with it, not drawn by each device for its shard."""
    common = ["train", "--data", "digits", "--hidden", "32", "--batch-size", "50", "--dropout", "0.3"]
    common += ["--schedule", "constant", "--float64", "--no-check", "--quiet", "--epochs", "2"]
    environ = {**os.environ, "JAX_PLATFORMS": "cpu", "JAX_NUM_CPU_DEVICES": "2"}
    one = subprocess.run(
        [sys.executable, "-m", "funcmlp.cli", *common, "--out", str(tmp_path / "one")],
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert one.returncode == 0, one.stderr
    assert "4 devices in 2 processes" in _two_processes(environ, *common, "--out", str(tmp_path / "two"))
    _assert_same_model(tmp_path / "one", tmp_path / "two", 1e-12)
    for run in ("one", "two"):  # trained with dropout on
        with np.load(tmp_path / run / "model.npz") as saved:
            assert json.loads(str(saved["meta"]))["dropout"] == [0.3]


def _stray_connection(port, within=10.0):
    """Connect to process 0 once it listens on ``port``, say nothing and go away."""
    deadline = time.monotonic() + within
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
            return
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.01)


def _meet_all(port, members, timeout=3.0, before_the_last=None):
    """Run ``meet`` for each (num_processes, process_id) in threads; each one's error line or None.
    ``before_the_last`` runs after every member but the last has started, before the last starts."""
    import threading

    from funcmlp.cli.rendezvous import meet

    results = [None] * len(members)

    def run(i, count, pid):
        try:
            meet(f"127.0.0.1:{port}", count, pid, timeout=timeout)
        except ValueError as error:
            results[i] = str(error)

    threads = [threading.Thread(target=run, args=(i, *member)) for i, member in enumerate(members)]
    for thread in threads:
        if thread is threads[-1] and before_the_last is not None:
            before_the_last()
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_processes_meet_before_jax_joins_them_and_every_mismatch_is_one_line():
    """Issue 22 item 6: the deadline names the missing ids; another --num-processes, a repeated
    --process-id and a second process 0 are refused, on every process that took part."""
    port = _free_port()
    assert _meet_all(port, [(3, 0), (3, 2), (3, 1)]) == [None, None, None]
    alone = _meet_all(_free_port(), [(3, 0), (3, 2)], timeout=1.0)
    assert alone[0].endswith(
        "process 1 did not join within 1 s; start every process with the same --coordinator "
        "and --num-processes and its own --process-id (or give a longer --join-timeout)"
    )
    assert "process 1 did not join within 1 s" in alone[1]
    lonely = _meet_all(_free_port(), [(2, 1)], timeout=1.0)
    assert "process 0 did not answer within 1 s; start it (with --process-id 0)" in lonely[0]
    mismatched = _meet_all(_free_port(), [(2, 0), (3, 1)])
    assert all("process 1 says --num-processes 3, process 0 says 2" in line for line in mismatched)
    twice = _meet_all(_free_port(), [(3, 0), (3, 1), (3, 1)])
    assert all("two processes say --process-id 1" in line for line in twice)
    port = _free_port()  # a stray connection that says nothing and goes away is not a process
    assert _meet_all(port, [(2, 0), (2, 1)], before_the_last=lambda: _stray_connection(port)) == [None, None]
    port = _free_port()
    with socket.socket() as taken:  # a process 0 already listening there
        taken.bind(("127.0.0.1", port))
        taken.listen()
        second = _meet_all(port, [(2, 0)])
    assert "process 0 cannot listen on port" in second[0] and "each process needs its own --process-id" in second[0]


def test_a_process_whose_peers_never_come_ends_in_one_line_not_a_stack_trace():
    command = [sys.executable, "-m", "funcmlp.cli", "train", "--data", "xor", "--no-check", "--quiet"]
    command += ["--coordinator", f"127.0.0.1:{_free_port()}", "--num-processes", "2", "--process-id", "0"]
    finished = subprocess.run(
        [*command, "--join-timeout", "2"],
        env={**os.environ, "JAX_PLATFORMS": "cpu"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert finished.returncode == 2 and finished.stderr.strip().splitlines() == [
        f"funcmlp: error: --coordinator {command[-5]}: process 1 did not join within 2 s; start every process with "
        "the same --coordinator and --num-processes and its own --process-id (or give a longer --join-timeout)"
    ]
