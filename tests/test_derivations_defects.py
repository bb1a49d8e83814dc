"""Issue 35's first defects of derivations, each pinned with numbers worked out here (exact fractions, or a loop
written out in 40-digit mpmath), never produced by the code under test:

1. a spec without ``learning_rate`` whose printed number is wrong: the slip search ran the update with no learning
   rate (``SympifyError: None``); now it tries the slips of the gradients and says the update's were not tried;
2. an online run's closed form was a whole pass, the composition of its examples' steps: it grew about 15-fold per
   example (a 2-2-2 network with 3 examples took 48 s for two passes, 5 examples never ended); now one example's
   step is compiled once and applied example by example, so what is compiled does not grow with the examples;
3. ``--format python`` wrote a paired loss's registry record, memory addresses included: two runs, two files;
4. what a student reads named the seeds' equations ("(seed 003 eq. 33)", "eq. 39"): now textbook words.
"""

import os
import subprocess
import sys
from fractions import Fraction as F
from pathlib import Path

import mpmath
import pytest
import sympy as sp
from replayed import EXAMPLES, NETWORKS, ONLINE, replayed

from derivations.examples.replay import from_spec
from derivations.formats.expression_graph import dot, expression_graph
from derivations.formats.page import page
from derivations.formats.picture import mermaid
from derivations.formats.program import program
from derivations.formats.render import render
from derivations.model import cost

# ---------------------------------------------------------------------------------------------------------------
# 1. no learning rate


IDENTITY_L2 = {
    "activations": ["identity"],
    "loss": "half_sse",
    "l2": "0.5",
    "x": ["1", "2"],
    "y": ["2"],
    "layers": [{"W": [["0.5"], ["0.25"]], "b": ["0.125"]}],
}
"""n = 1/2 + 2/4 + 1/8 = 9/8 = a, s = a - y = -7/8; dL/dW = a^0 s + l2 W = [-7/8 + 1/4, -7/4 + 1/8] = [-5/8, -13/8]."""


def test_without_a_learning_rate_the_gradients_slips_are_found():
    """The text printed dL/dW without its L2 term, [-7/8, -7/4]: the slip search replays the variant without L2
    (before: it ran that variant's update with no learning rate and crashed)."""
    d = from_spec({**IDENTITY_L2, "printed": {"dL/dW^1": ["-0.875", "-1.75"]}})
    assert [sp.Rational(v) for v in d.values["dL/dW^1"]] == [F(-5, 8), F(-13, 8)]
    assert "W^1 new" not in d.values  # no learning rate: no update shown
    assert [(e.index, e.slip) for e in d.errata] == [
        (0, "found: the L2 term left out of the gradients gives -0.875"),
        (1, "found: the L2 term left out of the gradients gives -1.75"),
    ]


def test_without_a_learning_rate_an_unexplained_number_says_what_was_not_tried():
    """a^1 = sigmoid(1/2 - 2/4 + 0) = sigmoid(0) = 1/2, printed 0.600: no slip gives it; the note names the slips
    tried (none of the update's) and says that the update's were not tried."""
    d = from_spec(
        {
            "activations": ["sigmoid"],
            "loss": "half_sse",
            "x": ["1", "2"],
            "y": ["1"],
            "layers": [{"W": [["0.5"], ["-0.25"]], "b": ["0"]}],
            "printed": {"a^1": ["0.600"]},
        }
    )
    assert d.values["a^1"] == [sp.Rational(1, 2)]
    assert [(e.step, e.slip) for e in d.errata] == [("a^1", "unexplained")]
    tried = next(n for n in d.notes if "none of the slips tried reproduces it" in n)
    assert "a flipped sign" in tried and "learning rate" not in tried and "biases updated" not in tried
    assert any(n.startswith("no learning_rate, so no update: the slips of an update (") for n in d.notes)


# ---------------------------------------------------------------------------------------------------------------
# 2. an online run costs time in proportion to its passes

X5 = [["0.1", "0.2"], ["0.3", "-0.4"], ["0.5", "0.6"], ["-0.7", "0.8"], ["0.9", "1.0"]]
Y5 = [["1", "0"], ["0", "1"], ["1", "1"], ["0", "0"], ["1", "0"]]
W1, B1 = [["0.1", "0.2"], ["-0.3", "0.4"]], ["0.05", "-0.05"]
W2, B2 = [["0.15", "-0.25"], ["0.35", "0.45"]], ["0.1", "0.2"]


def _online_222(examples: int, passes: int) -> dict:
    return {
        "activations": ["sigmoid", "sigmoid"],
        "loss": "half_sse",
        "learning_rate": "0.5",
        "update": "online",
        "steps": passes,
        "x": X5[:examples],
        "y": Y5[:examples],
        "layers": [{"W": W1, "b": B1}, {"W": W2, "b": B2}],
    }


def _mpmath_online_222(passes: int) -> list:
    """The mean loss after each pass of the five examples, one step per example, in 40-digit mpmath:
    a^1 = sigmoid(x W1 + b1), a^2 = sigmoid(a^1 W2 + b2), L = 1/2 sum_j (y_j - a^2_j)^2,
    s^2 = (a^2 - y) a^2 (1 - a^2), s^1 = (s^2 W2^T) a^1 (1 - a^1), w -= 1/2 a_in s."""
    with mpmath.workdps(40):
        M = mpmath.mpf
        xs, ys = [[M(v) for v in row] for row in X5], [[M(v) for v in row] for row in Y5]
        w1, b1 = [[M(v) for v in row] for row in W1], [M(v) for v in B1]
        w2, b2 = [[M(v) for v in row] for row in W2], [M(v) for v in B2]
        sig = lambda v: 1 / (1 + mpmath.exp(-v))

        def forward(x):
            a1 = [sig(sum(x[i] * w1[i][j] for i in range(2)) + b1[j]) for j in range(2)]
            return a1, [sig(sum(a1[i] * w2[i][j] for i in range(2)) + b2[j]) for j in range(2)]

        def mean_loss():
            return (
                sum(sum((y[j] - forward(x)[1][j]) ** 2 for j in range(2)) / 2 for x, y in zip(xs, ys, strict=True)) / 5
            )

        means = []
        for _ in range(passes):
            for x, y in zip(xs, ys, strict=True):
                a1, a2 = forward(x)
                s2 = [(a2[j] - y[j]) * a2[j] * (1 - a2[j]) for j in range(2)]
                s1 = [sum(w2[i][j] * s2[j] for j in range(2)) * a1[i] * (1 - a1[i]) for i in range(2)]
                for i in range(2):
                    for j in range(2):
                        w2[i][j] -= a1[i] * s2[j] / 2
                        w1[i][j] -= x[i] * s1[j] / 2
                for j in range(2):
                    b2[j] -= s2[j] / 2
                    b1[j] -= s1[j] / 2
            means.append(mean_loss())
        return [sp.Float(mpmath.nstr(m, 35), 40) for m in means]


def test_twenty_online_passes_of_five_examples_against_a_loop_written_here():
    """A 2-2-2 sigmoid network, five examples online, 20 passes (before: two passes did not end in 300 s)."""
    d = from_spec(_online_222(5, 20))
    expected = _mpmath_online_222(20)
    for t in (1, 2, 10, 20):
        assert abs(sp.N(d.values[f"L after pass {t}"][0], 40) - expected[t - 1]) < 1e-30, t


LAMBDIFY = sp.lambdify


def _compiled_sizes(monkeypatch, spec: dict) -> list:
    """The size (nodes of the expression trees) of each closed form the replay of ``spec`` compiles."""
    sizes = []

    def spy(symbols, outputs, *args, **kwargs):
        sizes.append(sum(sum(1 for _ in sp.preorder_traversal(e)) for e in outputs))
        return LAMBDIFY(symbols, outputs, *args, **kwargs)

    monkeypatch.setattr(sp, "lambdify", spy)
    from_spec(spec)
    return sizes


def test_what_an_online_run_compiles_does_not_grow_with_its_examples_or_passes(monkeypatch):
    """Two closed forms, one example's step and one example's loss, the same for 2 or 5 examples and 2 or 20 passes:
    the work per pass is the examples' steps through them, so a replay's time is in proportion to its passes
    (a whole pass compiled grew about 15-fold per example)."""
    two = _compiled_sizes(monkeypatch, _online_222(2, 2))
    assert len(two) == 2
    assert _compiled_sizes(monkeypatch, _online_222(5, 2)) == two
    assert _compiled_sizes(monkeypatch, _online_222(5, 20)) == two


def test_the_cost_of_an_online_replay_is_linear_in_its_passes_and_examples():
    """12 parameters: the exact first pass 500 x 12 x examples, one example's step and its loss compiled
    (2 x 75 x 12^2 = 21,600), then parameters x examples x passes."""
    units = {
        (e, t): cost.replay_cost(parameters=12, examples=e, steps=t, online=True)[0] for e in (2, 5) for t in (2, 20)
    }
    assert units == {
        (2, 2): 12_000 + 21_600 + 48,
        (2, 20): 12_000 + 21_600 + 480,
        (5, 2): 30_000 + 21_600 + 120,
        (5, 20): 30_000 + 21_600 + 1_200,
    }


def test_online_passes_with_momentum_and_l2_against_fractions():
    """An identity unit, w = 1, b = 0, eta = 1/10, examples (1, 0), (2, 1), momentum 1/2, l2 1/10, three passes,
    exact: L = 1/2 (y - a)^2 + l2/2 w^2 per example; Delta = -eta g + 1/2 Delta_prev; g_w = s x + l2 w, g_b = s."""
    d = from_spec({**ONLINE, "momentum": "0.5", "l2": "0.1", "steps": 3})
    eta, mu, l2 = F(1, 10), F(1, 2), F(1, 10)
    w, b, dw, db, means = F(1), F(0), F(0), F(0), []
    examples = ((F(1), F(0)), (F(2), F(1)))
    for _ in range(3):
        for x, y in examples:
            s = w * x + b - y
            dw, db = -eta * (s * x + l2 * w) + mu * dw, -eta * s + mu * db
            w, b = w + dw, b + db
        means.append(sum((y - (w * x + b)) ** 2 / 2 for x, y in examples) / 2 + l2 / 2 * w**2)
    assert [sp.Rational(d.values[f"L after pass {t}"][0]) for t in (1, 2, 3)] == means
    assert [sp.Rational(d.values["W^1 after 3 passes"][0]), sp.Rational(d.values["b^1 after 3 passes"][0])] == [w, b]


# ---------------------------------------------------------------------------------------------------------------
# 3. the program is the same file on every run

ROOT = Path(__file__).resolve().parent.parent
PAIRED = [name for name in NETWORKS if "cross-entropy" in name]
_WRITE = """
import sys
sys.path.insert(0, "tests")  # (run in the repository root)
from replayed import NETWORKS
from derivations.formats.program import program
from derivations.examples.replay import run
from derivations.examples.spec import read_spec
for name in {names!r}:
    ex = read_spec({{"learning_rate": "0.1", **NETWORKS[name]}})
    sys.stdout.write(program(ex, run(ex)))
"""


def test_a_paired_loss_program_is_byte_identical_in_two_processes():
    """Softmax with cross-entropy and sigmoid with binary cross-entropy (the registry pairs them on the net input),
    each written by two fresh processes with different string hashing: the same bytes, no memory address."""
    assert len(PAIRED) == 2
    outputs = [
        subprocess.run(
            [sys.executable, "-c", _WRITE.format(names=PAIRED)],
            capture_output=True,
            timeout=300,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
            cwd=ROOT,
        ).stdout
        for seed in ("1", "2")
    ]
    assert outputs[0] == outputs[1]
    assert b"softmax_cross_entropy of the net input" in outputs[0] and b" at 0x" not in outputs[0]


# ---------------------------------------------------------------------------------------------------------------
# 4. textbook words, not the seeds' equation numbers


def _outputs(path) -> dict:
    """Every format of a shipped example: {format: text}."""
    ex, d = replayed(path)
    out = {fmt: render(d, fmt) for fmt in ("text", "markdown", "latex")}
    out["latex --standalone"] = render(d, "latex", standalone=True)
    out["mermaid"], out["html"] = mermaid(ex, d), page(ex, d)
    if ex.update != "online" or len(ex.x) == 1:
        out["python"] = program(ex, d)
    out["graph"] = dot(ex, expression_graph(ex))
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_no_output_names_a_seed_or_an_equation_number(path):
    """Every shipped example, every format: no "seed 0..", no "eq. NN", no object repr."""
    for fmt, text in _outputs(path).items():
        lower = text.lower()
        for internal in ("seed 0", "seed&#x000a0;0", "eq. ", "eq.&#x000a0;", "eqs. ", " object at 0x", " at 0x"):
            assert internal not in lower, f"{path.stem} --format {fmt}: {internal!r}"
