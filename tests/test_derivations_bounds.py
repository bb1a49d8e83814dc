"""Issue 33: a worked example's costs bounded before the work. Spec numbers bounded from their
operands before they are computed (a power tower, a nested exp), sizes counted in the raw lists
before any number is read, the replay's cost counted in what costs (the exact step, the compiled
closed form, the steps), the slip search replaying each variant once for every printed loss, the
spec read through funcmlp.sources, and the spec's title kept text in ``--format python`` and
``--plot``. (The cases that would hang run in processes of their own: tests/probe_specs.py.)"""

import io
import os
import subprocess
import sys
import tokenize

import pytest
import sympy as sp

from derivations.examples import specfile, variants
from derivations.examples.replay import from_spec, run
from derivations.examples.spec import read_spec
from derivations.formats.program import program
from derivations.model import cost
from derivations.model.grammar import parse

UNIT = {"activations": ["sigmoid"], "loss": "half_sse", "learning_rate": "1", "x": ["1"], "y": ["0"]}
UNIT_LAYERS = [{"W": [["0"]], "b": ["0"]}]


@pytest.mark.parametrize(
    "text, match",
    [
        ("((((9^99)^99)^99)^99)", r"a power of about 10\^9353 in magnitude, larger than 10\^100 .* at position 10"),
        ("sin(exp(exp(exp(5))))", r"exp\(...\) of about 10\^\(1.2e\+64\) in magnitude, larger than 10\^100"),
        ("exp(231)", r"a value larger than 10\^100 in magnitude at position 1"),
        ("((0.1^100)^100)^100", r"a power of about 10\^-10000 in magnitude, smaller than 10\^-100"),
        ("1e-99/1e99", r"a value smaller than 10\^-100 in magnitude \(and not zero\) at position 6"),
        ("((1 + 1e-99)^100)^100", "a power of an exact fraction of about 10000 digits; exact values hold at most 200"),
        ("0.123456789^100", "a power of an exact fraction of about 1000 digits"),
        ("1/7^50 + 1/11^50 + 1/13^50 + 1/17^50", "an exact fraction of more than 200 digits above or below its bar"),
    ],
)
def test_a_number_too_big_to_compute_is_refused_from_its_operands(text, match):
    with pytest.raises(ValueError, match=match) as error:
        parse(text, "x[0]")
    message = str(error.value)
    assert message.startswith(f"x[0] = {text!r}: ") and "write a decimal" in message and "\n" not in message


@pytest.mark.parametrize(
    "text, expected",
    [
        ("10^100", sp.Integer(10) ** 100),
        ("1e-100", sp.Rational(1, 10**100)),
        ("0.3^100", sp.Rational(3, 10) ** 100),
        ("exp(230)", sp.exp(230)),
        ("sin(exp(exp(5)))", sp.sin(sp.exp(sp.exp(5)))),
        ("sin(pi) * 10^99", sp.Integer(0)),
    ],
)
def test_numbers_within_the_bounds_are_read_exactly(text, expected):
    assert parse(text, "k") == expected


def test_sizes_are_refused_before_any_number_is_read():
    """The entries are not numbers at all: the size is what is refused, so nothing was parsed."""
    rows = [["not a number"]] * 1_000_000
    with pytest.raises(ValueError, match="x: 1,000,000 examples; a worked example replays a batch of at most 100"):
        read_spec({**UNIT, "x": rows, "y": rows, "layers": UNIT_LAYERS})
    with pytest.raises(ValueError, match=r"x: 1,000,000 values per example; .* \(give fewer inputs\)"):
        read_spec({**UNIT, "x": ["not a number"] * 1_000_000, "layers": UNIT_LAYERS})
    with pytest.raises(ValueError, match=r"y: 5,000 values per example; .* \(give fewer targets\)"):
        read_spec({**UNIT, "y": ["not a number"] * 5000, "layers": UNIT_LAYERS})


def _network(sizes, examples, steps, **more):
    numbers = iter(f"0.{i % 9 + 1}" for i in range(100_000))
    return {
        "activations": ["sigmoid"] * (len(sizes) - 1),
        "loss": "half_sse",
        "learning_rate": "0.5",
        "steps": steps,
        "x": [[next(numbers) for _ in range(sizes[0])] for _ in range(examples)],
        "y": [[next(numbers) for _ in range(sizes[-1])] for _ in range(examples)],
        "layers": [
            {"W": [[next(numbers) for _ in range(m)] for _ in range(n)], "b": [next(numbers) for _ in range(m)]}
            for n, m in zip(sizes[:-1], sizes[1:], strict=True)
        ],
        **more,
    }


def test_a_replay_is_refused_by_what_it_costs_before_any_work():
    """525 parameters and 3 steps: 1,575 parameter-steps, far inside the old bound, but compiling the closed
    form of one step of 525 parameters took 270 s; online, one example's step is compiled (2 x 75 x 525^2 units)."""
    ex = read_spec(_network((20, 20, 5), 1, 3))
    with pytest.raises(ValueError) as error:
        run(ex)
    assert str(error.value) == (
        "steps: replaying this example costs about 20,935,950 units (parameter-steps): the exact first step of 525 "
        "parameters on 1 example(s) (262,500), compiling one step (20,671,875) and 2 more steps (1,575); a replay "
        "costs at most 4,000,000 (about a minute): give steps = 1, fewer parameters or examples, or shorter numbers"
    )
    run(read_spec(_network((20, 20, 5), 1, 1)))  # one step: no closed form compiled, about 3 s
    with pytest.raises(ValueError, match=r"compiling one example's step \(41,343,750\).* fewer passes, parameters or"):
        run(read_spec(_network((20, 20, 5), 2, 3, update="online")))  # one example's step: not a pass composed


def test_long_numbers_count_in_the_cost():
    short = cost.replay_cost(parameters=993, examples=1, steps=1, digits=2)[0]
    assert cost.replay_cost(parameters=993, examples=1, steps=1, digits=90)[0] == 3 * short


def _five_wrong_losses(steps=40):
    printed = {f"L after step {t}": f"0.0{t}1234" for t in (5, 10, 20, 30, steps)}
    return {**UNIT, "steps": steps, "layers": UNIT_LAYERS, "printed": printed}


def test_the_slip_search_replays_each_variant_once_for_all_the_printed_losses(monkeypatch):
    """Five wrong losses after N steps: the biases variant, the updated-weights variant and the step
    early or late each replayed once (before: once per wrong loss, fifteen replays)."""
    calls = []
    real = variants.losses_after
    monkeypatch.setattr(variants, "losses_after", lambda *a: calls.append(a[2]) or real(*a))
    d = from_spec(_five_wrong_losses())
    assert len(d.errata) == 5 and all(e.slip == "unexplained" for e in d.errata)
    assert calls == [{4, 5, 6, 9, 10, 11, 19, 20, 21, 29, 30, 31, 39, 40, 41}] * 3


def test_the_slips_found_are_the_ones_found_one_replay_per_number():
    """The losses of a variant replayed once are those replayed for each step alone."""
    ex = read_spec({**UNIT, "steps": 12, "layers": UNIT_LAYERS})
    together = variants.losses_after(ex, None, {3, 7, 12})
    assert [together[t] for t in (3, 7, 12)] == [variants.losses_after(ex, None, {t})[t] for t in (3, 7, 12)]


def test_slips_past_the_budget_are_left_untried_with_a_note(monkeypatch):
    from derivations.examples import slips

    monkeypatch.setattr(slips, "Budget", lambda: cost.Budget(10))
    d = from_spec(_five_wrong_losses())
    untried = [note for note in d.notes if note.startswith("slip not tried: ")]
    assert len(untried) == 3 and all("the slip search spends at most 10" in note for note in untried)
    assert any(note.startswith("slip not tried: a step early or late (replaying 41 steps") for note in untried)
    budget = cost.Budget(100)
    assert budget.spend(60) and not budget.spend(60) and budget.left == 40


def test_a_spec_path_is_read_only_when_it_is_a_regular_file(tmp_path, monkeypatch):
    fifo = tmp_path / "spec.toml"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match=r"worked-example spec .*spec.toml is a FIFO \(named pipe\), not a file"):
        read_spec(fifo)
    with pytest.raises(ValueError, match=r"worked-example spec .* is a folder, not a file"):
        read_spec(tmp_path)
    big = tmp_path / "big.json"
    big.write_text('{"title": "' + "x" * 3000 + '"}')
    monkeypatch.setattr(specfile, "MAX_BYTES", 1000)
    with pytest.raises(ValueError, match=r"big.json holds 3.0 KB, more than the 1.0 KB funcmlp reads"):
        read_spec(big)


HOSTILE_TITLES = ["-*- coding: rot13 -*-", "vim: set fileencoding=utf-16 :", "coding=latin-1 é", "# coding:ascii"]


@pytest.mark.parametrize("title", HOSTILE_TITLES)
def test_a_title_never_declares_the_programs_encoding(title, tmp_path):
    """The program with the hostile title prints what the one with a plain title prints, read as UTF-8."""
    spec = {**UNIT, "layers": UNIT_LAYERS}
    outputs = []
    for name, text in (("plain", "a plain title"), ("hostile", title)):
        ex = read_spec({**spec, "title": text})
        source = program(ex, run(ex))
        assert tokenize.detect_encoding(io.BytesIO(source.encode()).readline)[0] == "utf-8"
        path = tmp_path / f"{name}.py"
        path.write_text(source, encoding="utf-8")
        done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        outputs.append(done.stdout)
    assert outputs[0] == outputs[1] and "L: " in outputs[0]


@pytest.mark.parametrize("title", [r"$\frac{$", "$$", r"\$", "}{ {{ }", r"$a$ and $\sqrt{x$ and \\ end"])
def test_a_plot_title_is_text_never_mathtext(title, tmp_path):
    from derivations.formats.picture import plot_network

    ex = read_spec({**UNIT, "title": title, "layers": UNIT_LAYERS})
    path = plot_network(ex, run(ex), str(tmp_path / "net.png"))
    with open(path, "rb") as handle:
        assert handle.read(8) == b"\x89PNG\r\n\x1a\n"
