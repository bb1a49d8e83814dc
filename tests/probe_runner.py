"""Runs command lines of ``funcmlp`` each in its own process under resource limits, for the probe
suite (tests/test_probe.py): ``python probe_runner.py CASES.json RESULTS.json``.

The runner imports funcmlp once (no JAX backend is started in it) and forks a child per case, as a
server of processes does; the child sets its limits (``resource.setrlimit``: address space, CPU
seconds, the largest file it may write), changes to the case's folder, sends its standard output
and error to files and calls ``funcmlp.cli.main(argv)``; its exit status is what main returns (an
exception escaping main is printed with its traceback and exits 70). The runner kills a child that
runs past its wall-clock limit (SIGKILL) and records, per case: the exit status (or minus the signal
that ended the child), its stdout and stderr, the seconds it ran and its peak resident memory.

A case of ``kind`` ``"python"`` runs its ``code`` instead of ``main`` (a test's own lines calling
the library): an exception escaping it is written as one line, ``TypeName: message``, and exits 3
(a crash, a hang or no exception at all is what the test looks for); ``stdin``, where given, is a
file opened as the child's standard input (otherwise it reads nothing: /dev/null).

CASES.json: a list of ``{"id", "kind", "argv" or "code", "cwd", "memory", "seconds", "file_size" (or null),
"stdin" (or null)}``.
"""

import importlib
import json
import os
import resource
import signal
import sys
import time
import traceback


def _child(case: dict, out: str, err: str) -> None:
    """In the forked process: limits, folder, output files, then ``main``; never returns."""
    code = 70
    try:
        for fd, path in ((1, out), (2, err)):  # first: whatever fails below is written there
            handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            os.dup2(handle, fd)
            os.close(handle)
        handle = os.open(case.get("stdin") or os.devnull, os.O_RDONLY)
        os.dup2(handle, 0)
        os.close(handle)
        memory, seconds = case["memory"], case["seconds"]
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
        if case.get("file_size") is not None:
            resource.setrlimit(resource.RLIMIT_FSIZE, (case["file_size"], case["file_size"]))
            signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
        os.chdir(case["cwd"])
        if case.get("kind", "cli") == "python":
            code = _python(case["code"])
        else:
            from funcmlp.cli import main

            code = main(case["argv"])
    except BaseException:  # what escapes main is a finding: shown as Python would show it
        traceback.print_exc()
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code if isinstance(code, int) else 70)


def _python(code: str) -> int:
    """Run a python case's code: 0 when it ends, 3 with one line ``TypeName: message`` when it raises."""
    try:
        exec(compile(code, "<probe case>", "exec"), {"__name__": "__probe__"})
    except Exception as error:
        sys.stderr.write(f"{type(error).__name__}: {error}\n")
        return 3
    return 0


def run_case(case: dict, scratch: str) -> dict:
    """Fork, wait at most ``case["seconds"]`` of wall time (then SIGKILL), and report."""
    out, err = os.path.join(scratch, f"{case['id']}.out"), os.path.join(scratch, f"{case['id']}.err")
    start = time.monotonic()
    pid = os.fork()
    if pid == 0:
        _child(case, out, err)
    killed = False
    while True:
        done, status, usage = os.wait4(pid, os.WNOHANG)
        if done:
            break
        if time.monotonic() - start > case["seconds"] and not killed:
            os.kill(pid, signal.SIGKILL)
            killed = True
        time.sleep(0.005)
    report = {"status": os.waitstatus_to_exitcode(status), "seconds": time.monotonic() - start}
    report.update(killed=killed, peak_rss_mb=usage.ru_maxrss / 1024)
    for name, path in (("stdout", out), ("stderr", err)):
        if os.path.exists(path):  # a child that failed before it opened them left none
            with open(path, encoding="utf-8", errors="replace") as handle:
                report[name] = handle.read()
        else:
            report[name] = ""
    return report


def main(cases_path: str, results_path: str) -> None:
    # imported once, before the forks (no JAX backend is started by importing): each child starts warm
    for module in (
        "funcmlp.cli",
        "derivations.formats.render",
        "derivations.examples.replay",
        "derivations.examples.spec",
    ):
        importlib.import_module(module)

    with open(cases_path) as handle:
        cases = json.load(handle)
    scratch = os.path.dirname(os.path.abspath(results_path))
    results = {case["id"]: run_case(case, scratch) for case in cases}
    with open(results_path, "w") as handle:
        json.dump(results, handle)


if __name__ == "__main__":
    main(*sys.argv[1:])
