"""Every script in examples/ runs in its fast mode."""
import runpy
import sys

import pytest

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_example(name, *args, monkeypatch=None):
    argv = [str(EXAMPLES / name), *args]
    monkeypatch.setattr(sys, "argv", argv)
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")


def test_benchmark_backprop_quick(monkeypatch, capsys):
    run_example("benchmark_backprop.py", "--quick", monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert "manual/grad" in out and "64-32-10" in out


def test_benchmark_symbolic_quick(monkeypatch, capsys):
    run_example("benchmark_symbolic.py", "--quick", monkeypatch=monkeypatch)
    out = capsys.readouterr().out
    assert "3-4-2" in out and "ref/local" in out
