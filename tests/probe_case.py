"""The probe suite's machinery (tests/test_probe.py): a :class:`Case`, the base runs every case may
use, a snapshot of a case's folder, and :func:`run_cases`, which runs a list of cases each in its own
process (tests/probe_runner.py forks one per case) under ``resource.setrlimit`` limits and returns
what each got wrong.

A case is a command line (``kind="cli"``: ``funcmlp.cli.main(argv)``, which must exit 2 with one
line ``funcmlp: error: ...`` on stderr) or a few lines of Python calling the library (``kind="python"``:
the code ``make`` returns, run in the child; it must raise ``error`` (``ValueError`` by default), shown
by the runner as one line ``ValueError: ...`` and exit 3, and must not crash, hang or pass). Either
way the case's folder must be left as it was (nothing replaced, nothing left behind) and the process
must stay within its memory.

The case lists: round 1 in tests/test_probe.py, round 2 (issue 33) in tests/probe_*.py, one file per
kind of door.
"""

import dataclasses
import hashlib
import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable

GiB = 1 << 30
XOR = ["train", "--data", "xor", "--hidden", "4", "--epochs", "2", "--quiet", "--no-check", "--no-compile-cache"]
RUNNER = os.path.join(os.path.dirname(__file__), "probe_runner.py")


@dataclasses.dataclass(frozen=True)
class Case:
    """One probe: ``make(folder, base)`` writes the case's files into ``folder`` (``base``: the
    folder of two finished xor runs, ``run`` and ``other``, and a model of MNIST's shape, ``mnist``)
    and returns the command line (``kind="cli"``) or Python code (``kind="python"``); the one line of
    stderr must hold every text of ``says`` and none of ``never``."""

    id: str
    make: Callable
    says: tuple
    never: tuple = ()
    file_size: int | None = None
    root_only: bool = False
    peak_mb: int = 1024
    """The most resident memory the case's process may reach (a bomb's payload is larger)."""
    kind: str = "cli"
    error: str = "ValueError"
    """The exception a ``python`` case must raise."""
    seconds: int = 60
    """The case's CPU and wall-clock limit (a hang is killed after it and fails the case)."""
    stdin: str | None = None
    """A file (made by ``make``) given to the child as its standard input, instead of nothing."""


def snapshot(folder) -> dict:
    """Every entry under ``folder`` (links not followed, FIFOs not opened): its kind and its content
    (a file's SHA-256, a link's target, a device's numbers)."""
    found = {}
    for root, folders, files in os.walk(folder):
        for name in folders + files:
            path = os.path.join(root, name)
            info = os.lstat(path)
            if stat.S_ISREG(info.st_mode):
                with open(path, "rb") as handle:
                    found[path] = ("file", hashlib.sha256(handle.read()).hexdigest())
            elif stat.S_ISLNK(info.st_mode):
                found[path] = ("link", os.readlink(path))
            else:
                found[path] = (stat.filemode(info.st_mode)[0], info.st_rdev)
    return found


def make_base(folder) -> str:
    """Two finished xor runs (``run``, ``other``) and a model trained on mnist's shape (``mnist``)."""
    import jax

    from funcmlp import MLP
    from funcmlp.cli import main
    from funcmlp.io.model_file import save_model

    for name in ("run", "other"):
        assert main([*XOR, "--out", str(folder / name)]) == 0
    (folder / "mnist").mkdir()
    mlp = MLP((784, 10), output="softmax")
    save_model(folder / "mnist" / "model.npz", mlp, mlp.init(jax.random.key(0)), extra={"data": "mnist"})
    return str(folder)


def run_cases(cases, base, tmp_path) -> list[str]:
    """Run ``cases`` (those a non-root user may run, when not root), each in its own process, and
    return one line per case that went wrong, naming what."""
    cases = [case for case in cases if not case.root_only or os.geteuid() == 0]
    if os.geteuid() != 0:
        assert os.environ.get("CI") != "true", "CI runs as root: the device-node case must run there"
    made, before = [], {}
    for number, case in enumerate(cases):
        folder = tmp_path / f"case{number}"
        folder.mkdir()
        made_by_case = case.make(str(folder), base)
        before[case.id] = snapshot(folder)
        made.append(
            {
                "id": case.id,
                "kind": case.kind,
                "argv": made_by_case if case.kind == "cli" else None,
                "code": made_by_case if case.kind == "python" else None,
                "cwd": str(folder),
                "memory": 4 * GiB,
                "seconds": case.seconds,
                "file_size": case.file_size,
                "stdin": case.stdin and os.path.join(str(folder), case.stdin),
            }
        )
    (tmp_path / "scratch").mkdir()
    with open(tmp_path / "cases.json", "w") as handle:
        json.dump(made, handle)
    results_path = tmp_path / "scratch" / "results.json"
    runner = [sys.executable, RUNNER, str(tmp_path / "cases.json"), str(results_path)]
    limit = sum(case.seconds for case in cases) + 120  # each case's own limit, and the runner's start
    subprocess.run(runner, check=True, timeout=limit)
    with open(results_path) as handle:
        results = json.load(handle)
    failures = []
    for number, case in enumerate(cases):
        result, folder = results[case.id], tmp_path / f"case{number}"
        lines = result["stderr"].strip().splitlines()
        first = "funcmlp: error: " if case.kind == "cli" else f"{case.error}: "
        checks = {
            f"exit {2 if case.kind == 'cli' else 3}": result["status"] == (2 if case.kind == "cli" else 3),
            "one line": len(lines) == 1 and lines[0].startswith(first),
            "says": all(text in result["stderr"] for text in case.says),
            "never says": not any(text in result["stderr"] + result["stdout"] for text in case.never),
            "no traceback on stdout": "Traceback" not in result["stdout"],
            "within its memory": result["peak_rss_mb"] <= case.peak_mb,
            "nothing damaged": snapshot(folder) == before[case.id],
        }
        failed = [name for name, ok in checks.items() if not ok]
        if failed:
            failures.append(
                f"{case.id}: {', '.join(failed)} (exit {result['status']}, {result['seconds']:.1f} s): "
                f"{result['stderr'][-600:]!r}"
            )
    return failures
