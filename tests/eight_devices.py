"""A script of tests/ run once per test run in a subprocess with eight CPU devices (the device count is fixed when
JAX starts): the first xdist worker to need it runs it under a lock in the folder the workers share, the others wait
and read the .npz it wrote."""

import fcntl
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def arrays_of(script: str, tmp_path_factory, worker_id) -> dict:
    """The arrays ``tests/<script> OUT.npz`` saved, run (once) with ``JAX_NUM_CPU_DEVICES=8``."""
    shared = tmp_path_factory.getbasetemp() if worker_id == "master" else tmp_path_factory.getbasetemp().parent
    stem = Path(script).stem
    out = shared / f"{stem}.npz"
    with open(shared / f"{stem}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.exists():
            environ = {**os.environ, "JAX_NUM_CPU_DEVICES": "8", "JAX_PLATFORMS": "cpu"}
            finished = subprocess.run(
                [sys.executable, str(HERE / script), str(out)], env=environ, capture_output=True, text=True, timeout=300
            )
            assert finished.returncode == 0, finished.stderr[-3000:]
    with np.load(out) as saved:
        return dict(saved)
