"""derivations.examples.iterate: many gradient steps, fast, in 50-digit decimals after the exact first step
(exact rationals while they are short). Expected values are computed here: by hand (the identity
unit) and by a loop written out in 40-digit mpmath. Mazur's 10,000 steps: test_derivations_literature."""

import mpmath
import sympy as sp

from derivations.examples.iterate import iterate, shown
from derivations.examples.spec import read_spec


def test_exact_while_short_then_decimals():
    """An identity unit, x = 1, y = 0, L = a^2/2, eta = 1/4: a halves each step, L after step t is (1/4)^t / 2,
    exact rationals; with eta = 0.3 the rationals grow past 40 digits and become 50-digit decimals."""
    ex = read_spec(
        {
            "activations": ["identity"],
            "loss": "half_sse",
            "learning_rate": "0.25",
            "x": ["1"],
            "y": ["0"],
            "layers": [{"W": [["1"]], "b": ["0"]}],
        }
    )
    losses, layers = iterate(ex, tuple(zip(ex.weights, ex.biases, strict=False)), 40, start=0)
    assert [losses[t] for t in (0, 1, 2, 40)] == [
        sp.Rational(1, 2),
        sp.Rational(1, 8),
        sp.Rational(1, 32),
        sp.Rational(1, 2 * 4**40),
    ]
    assert layers[0][0][0][0].is_Rational
    grown = read_spec(
        {
            "activations": ["tanh"],
            "loss": "half_sse",
            "learning_rate": "0.3",
            "x": ["1"],
            "y": ["0.5"],
            "layers": [{"W": [["1"]], "b": ["0"]}],
        }
    )
    losses, layers = iterate(grown, tuple(zip(grown.weights, grown.biases, strict=False)), 30, start=0)
    with mpmath.workdps(40):
        w, b = mpmath.mpf(1), mpmath.mpf(0)
        for _ in range(30):
            a = mpmath.tanh(w + b)
            s = (a - mpmath.mpf("0.5")) * (1 - a**2)
            w, b = w - mpmath.mpf("0.3") * s, b - mpmath.mpf("0.3") * s
        expected = (mpmath.tanh(w + b) - mpmath.mpf("0.5")) ** 2 / 2
    assert abs(sp.N(losses[30], 40) - sp.Float(mpmath.nstr(expected, 35), 40)) < 1e-30
    assert isinstance(layers[0][0][0][0], sp.Float)


def test_shown_steps():
    assert [t for t in range(1, 10_001) if shown(t, 10_000)] == list(range(1, 11)) + [100, 1000, 10_000]
    assert [t for t in range(1, 1235) if shown(t, 1234)] == list(range(1, 11)) + [100, 1000, 1234]


def test_online_passes_in_decimals():
    """update = "online", a sigmoid unit, examples (x, y) = (1, 1), (-1, 0), eta = 1, L = 1/2 (y - a)^2, 50 passes:
    the mean loss after pass 50 against a loop written here in 40-digit mpmath."""
    from derivations.examples.replay import from_spec

    d = from_spec(
        {
            "activations": ["sigmoid"],
            "loss": "half_sse",
            "learning_rate": "1",
            "x": [["1"], ["-1"]],
            "y": [["1"], ["0"]],
            "update": "online",
            "steps": 50,
            "layers": [{"W": [["0.5"]], "b": ["-0.5"]}],
        }
    )
    with mpmath.workdps(40):
        w, b = mpmath.mpf("0.5"), mpmath.mpf("-0.5")
        sig = lambda v: 1 / (1 + mpmath.exp(-v))
        for _ in range(50):
            for x, y in ((1, 1), (-1, 0)):
                a = sig(w * x + b)
                s = (a - y) * a * (1 - a)
                w, b = w - s * x, b - s
        mean = sum((y - sig(w * x + b)) ** 2 / 2 for x, y in ((1, 1), (-1, 0))) / 2
    assert abs(sp.N(d.values["L after pass 50"][0], 40) - sp.Float(mpmath.nstr(mean, 35), 40)) < 1e-30
