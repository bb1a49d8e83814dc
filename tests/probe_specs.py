"""Issue 33, round 2, the worked-example spec's doors (``funcmlp derive --example``): numbers that are
cheap to write and endless to evaluate, a FIFO as the spec, specs whose replay costs minutes inside the
old parameter-step bound, and a million inputs or examples. Each case runs in its own process
(tests/probe_case.py) and must end at once in one line naming the key, the bound and the fix."""

import json
import os

from probe_case import Case


def _spec(folder, name="spec.toml", **changes):
    """A small valid spec (2 inputs, one sigmoid unit, loss = "output") with ``changes`` (TOML values)."""
    lines = {"title": '"a probe"', "activations": '["sigmoid"]', "loss": '"output"', "x": '["-1", "-2"]'}
    lines.update(changes)
    path = os.path.join(folder, name)
    with open(path, "w") as handle:
        handle.write(
            "".join(f"{key} = {value}\n" for key, value in lines.items()) + '[[layers]]\nW = [["2"], ["-3"]]\n'
        )
    return path


def _network(folder, sizes, examples, steps, update="batch"):
    """A sigmoid network of ``sizes`` with 2-digit weights, ``examples`` examples and ``steps`` steps (JSON)."""
    number = iter(f"{(i * 37 % 199 - 99) / 100:.2f}" for i in range(10**6))
    spec = {
        "activations": ["sigmoid"] * (len(sizes) - 1),
        "loss": "half_sse",
        "learning_rate": "0.5",
        "update": update,
        "steps": steps,
        "x": [[next(number) for _ in range(sizes[0])] for _ in range(examples)],
        "y": [[next(number) for _ in range(sizes[-1])] for _ in range(examples)],
        "layers": [
            {"W": [[next(number) for _ in range(m)] for _ in range(n)], "b": [next(number) for _ in range(m)]}
            for n, m in zip(sizes[:-1], sizes[1:], strict=True)
        ],
    }
    path = os.path.join(folder, "network.json")
    with open(path, "w") as handle:
        json.dump(spec, handle)
    return ["derive", "--example", path]


def _fifo(folder, base):
    path = os.path.join(folder, "spec.toml")
    os.mkfifo(path)
    return ["derive", "--example", path]


def _million_inputs(folder, base):
    path = os.path.join(folder, "spec.json")
    with open(path, "w") as handle:
        json.dump(
            {"activations": ["sigmoid"], "loss": "output", "x": [1] * 1_000_000, "layers": [{"W": [[1]]}]}, handle
        )
    return ["derive", "--example", path]


MILLION_EXAMPLES = """
from derivations.examples.replay import from_spec
from_spec({"activations": ["sigmoid"], "loss": "half_sse", "x": [["1"]] * 1_000_000, "y": [["0"]] * 1_000_000,
           "layers": [{"W": [["1"]], "b": ["0"]}]})
"""
MILLION_INPUTS = """
from derivations.examples.replay import from_spec
from_spec({"activations": ["sigmoid"], "loss": "output", "x": ["1"] * 1_000_000, "layers": [{"W": [["1"]]}]})
"""

CASES = [
    Case(
        "a power tower in a spec",
        lambda folder, base: ["derive", "--example", _spec(folder, x='["((((9^99)^99)^99)^99)", "-2"]')],
        (
            "x[0] = '((((9^99)^99)^99)^99)': a power of about 10^9353 in magnitude, larger than 10^100",
            "write a decimal",
        ),
    ),
    Case(
        "nested exp in a spec",
        lambda folder, base: ["derive", "--example", _spec(folder, x='["sin(exp(exp(exp(5))))", "-2"]')],
        ("x[0] = 'sin(exp(exp(exp(5))))': exp(...) of about 10^(1.2e+64) in magnitude, larger than 10^100",),
    ),
    Case(
        "a power of a long fraction in a spec",
        lambda folder, base: ["derive", "--example", _spec(folder, learning_rate='"((1 + 1e-99)^100)^100"')],
        (
            "learning_rate",
            "a power of an exact fraction of about 10000 digits; exact values hold at most 200",
        ),
    ),
    Case(
        "a FIFO as the spec",
        _fifo,
        (
            "worked-example spec",
            "is a FIFO (named pipe), not a file",
        ),
    ),
    Case(
        "a spec inside 2,000,000 parameter-steps that costs minutes",
        lambda folder, base: _network(folder, (20, 20, 5), 1, 3),
        ("steps: replaying this example costs about", "compiling one step", "a replay costs at most 4,000,000"),
    ),
    Case(
        "an online spec whose one example's step costs minutes to compile",
        lambda folder, base: _network(folder, (20, 20, 5), 2, 3, update="online"),
        ("compiling one example's step", "fewer passes, parameters or examples"),
    ),
    Case(
        "a spec file of a million inputs",
        _million_inputs,
        ("worked-example spec", "holds 3.0 MB, more than the 2.0 MB funcmlp reads from such a file"),
    ),
    Case(
        "a spec of a million examples",
        lambda folder, base: MILLION_EXAMPLES,
        ("x: 1,000,000 examples; a worked example replays a batch of at most 100",),
        kind="python",
    ),
    Case(
        "a spec of a million inputs",
        lambda folder, base: MILLION_INPUTS,
        ("x: 1,000,000 values per example", "at most 1,000 (give fewer inputs)"),
        kind="python",
    ),
]
