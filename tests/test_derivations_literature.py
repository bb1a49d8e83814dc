"""The published worked examples shipped with derivations, replayed, their printed numbers checked.

Matt Mazur, "A Step by Step Backpropagation Example" (2015): a 2-2-2 sigmoid network,
E = sum 1/2 (target - out)^2, eta = 0.5, biases never updated. Every expected value here is
computed by a loop written out in this file in 40-digit mpmath (forward pass, output and hidden
deltas, updates), not by the code under test; the slips named for the two numbers the text gets
wrong are reproduced the same way."""

import functools

import mpmath
import sympy as sp
from replayed import built

from derivations.examples.replay import from_spec
from derivations.examples.spec import seed_spec_path


@functools.cache  # two tests replay the same 10,000 steps: a worker computes them once
def mazur_losses(steps: int, updated_hidden: bool = False) -> tuple:
    """E after 0, 1, ..., steps updates of w1..w8 (biases kept), in 40 digits; ``updated_hidden``:
    the hidden deltas computed with the already updated w5..w8 (the slip)."""
    with mpmath.workdps(40):
        m = mpmath.mpf
        i1, i2, t1, t2, b1, b2, eta = m("0.05"), m("0.10"), m("0.01"), m("0.99"), m("0.35"), m("0.60"), m("0.5")
        w = [None, m("0.15"), m("0.20"), m("0.25"), m("0.30"), m("0.40"), m("0.45"), m("0.50"), m("0.55")]
        sig = lambda v: 1 / (1 + mpmath.exp(-v))
        losses = []
        for _ in range(steps + 1):
            h1, h2 = sig(w[1] * i1 + w[2] * i2 + b1), sig(w[3] * i1 + w[4] * i2 + b1)
            o1, o2 = sig(w[5] * h1 + w[6] * h2 + b2), sig(w[7] * h1 + w[8] * h2 + b2)
            losses.append((t1 - o1) ** 2 / 2 + (t2 - o2) ** 2 / 2)
            d1, d2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
            new = [w[5] - eta * d1 * h1, w[6] - eta * d1 * h2, w[7] - eta * d2 * h1, w[8] - eta * d2 * h2]
            w5, w6, w7, w8 = new if updated_hidden else w[5:]
            e1, e2 = (d1 * w5 + d2 * w7) * h1 * (1 - h1), (d1 * w6 + d2 * w8) * h2 * (1 - h2)
            w = [None, w[1] - eta * e1 * i1, w[2] - eta * e1 * i2, w[3] - eta * e2 * i1, w[4] - eta * e2 * i2] + new
        return tuple(losses)


def close(value, reference, digits=30):
    return abs(sp.N(value, 40) - sp.Float(mpmath.nstr(reference, 35), 40)) < sp.Float(10) ** -digits


def test_mazur_replayed_ten_thousand_steps():
    """Its "after 10,000 iterations" error, exact to 30 digits (how long the replay takes is
    benchmarks/'s to measure, not a test's to assert)."""
    reference = mazur_losses(10_000)
    d = built("mazur_2015")
    assert close(d.values["L"][0], reference[0])
    for t in (1, 2, 10, 100, 1000, 10_000):
        assert close(d.values[f"L after step {t}"][0], reference[t]), t
    assert (
        "L after step 11" not in d.values and "L after step 9999" not in d.values
    )  # the first ten, powers of ten, the last
    assert "b^1 new" not in d.values and d.values["b^2 after 10000 steps"] == [sp.Rational(3, 5)] * 2  # fixed biases


def test_mazur_errata_and_their_slips():
    """Every number the text prints agrees (19 of them) but two: its error after the first round is
    the one of hidden deltas taken with the updated w5..w8, its error "after 10,000" is after 9,999."""
    d = built("mazur_2015")
    assert [(e.step, e.printed) for e in d.errata] == [
        ("L after step 1", "0.291027924"),
        ("L after step 10000", "0.0000351085"),
    ]
    assert [e.slip for e in d.errata] == [  # found by derivations.examples.slips, not written in the spec file
        "found: hidden sensitivities computed with the already updated weights of the next layer gives 0.291027924",
        "found: one step early: the loss after step 9999 gives 0.0000351085481",
    ]
    right, slipped = mazur_losses(1), mazur_losses(1, updated_hidden=True)
    assert mpmath.nstr(right[1], 9) == "0.291027774" and mpmath.nstr(slipped[1], 9) == "0.291027924"
    long_run = mazur_losses(10_000)
    assert mpmath.nstr(long_run[9999], 6) == "3.51085e-5" and mpmath.nstr(long_run[10_000], 6) == "3.51019e-5"
    assert mpmath.nstr(slipped[1], 9) == "0.291027924" and mpmath.nstr(long_run[9999], 9) == "3.51085481e-5"


def test_a_users_file_can_name_single_entries_and_later_losses(tmp_path):
    """Printed keys for single entries in the file's layout (w^2_{1,2} is row 1, column 2 of W^2 as
    written: Mazur's w6) and for the loss after any step, shown or not."""
    text = seed_spec_path("mazur_2015").read_text().replace("steps = 10000", "steps = 20")
    text = text.split("[printed]")[0] + '[printed]\n"w^2_{1,2} new" = "0.408666186"\n"L after step 13" = "0.25"\n'
    (tmp_path / "m.toml").write_text(text)
    d = from_spec(tmp_path / "m.toml")
    assert [(e.step, e.index) for e in d.errata] == [("L after step 13", 0)]
    assert close(d.values["L after step 13"][0], mazur_losses(13)[13]) and "L after step 12" not in d.values


def check(d, expected: dict):
    """Every expected value (mpmath, 30 digits, computed in the test) equals the replayed one to 1e-25."""
    for step, values in expected.items():
        assert len(d.values[step]) == len(values), step
        for got, want in zip(d.values[step], values, strict=False):
            assert abs(sp.N(got, 40) - sp.Float(mpmath.nstr(want, 30), 40)) < 1e-25, (step, got, want)


def test_negnevitsky_xor_first_iteration():
    """Negnevitsky (2005), sec. 6.4: y = sigmoid(x w - theta), delta5 = y5 (1 - y5)(0 - y5),
    delta_j = y_j (1 - y_j) delta5 w_j5, w + alpha y delta, theta + alpha (-1) delta; row convention."""
    with mpmath.workdps(30):
        m, sig = mpmath.mpf, lambda v: 1 / (1 + mpmath.exp(-v))
        y3, y4 = sig(m("0.5") + m("0.4") - m("0.8")), sig(m("0.9") + m("1.0") + m("0.1"))
        y5 = sig(y3 * m("-1.2") + y4 * m("1.1") - m("0.3"))
        d5 = y5 * (1 - y5) * (0 - y5)
        d3, d4 = y3 * (1 - y3) * d5 * m("-1.2"), y4 * (1 - y4) * d5 * m("1.1")
        a = m("0.1")
        expected = {
            "a^1": [y3, y4],
            "a^2": [y5],
            "delta^2": [d5],
            "delta^1": [d3, d4],
            "W^2 new": [m("-1.2") + a * y3 * d5, m("1.1") + a * y4 * d5],
            "theta^2 new": [m("0.3") - a * d5],
            "W^1 new": [m("0.5") + a * d3, m("0.9") + a * d4, m("0.4") + a * d3, m("1.0") + a * d4],
            "theta^1 new": [m("0.8") - a * d3, m("-0.1") - a * d4],
        }
    d = built("negnevitsky_xor")
    check(d, expected)
    assert d.errata == []  # every number printed to 4 decimals is right


def test_hagan_chapter_11_example():
    """Hagan et al. (2014), ch. 11: t = 1 + sin(pi/4) (a spec expression), F = e^2, s^2 = -2 (t - a^2),
    s^1 = a^1 (1 - a^1) W^2^T s^2, W(1) = W - alpha s a^T, b(1) = b - alpha s; column convention."""
    with mpmath.workdps(30):
        m, sig = mpmath.mpf, lambda v: 1 / (1 + mpmath.exp(-v))
        t = 1 + mpmath.sin(mpmath.pi / 4)
        a1 = [sig(m("-0.27") + m("-0.48")), sig(m("-0.41") + m("-0.13"))]
        a2 = m("0.09") * a1[0] + m("-0.17") * a1[1] + m("0.48")
        s2 = -2 * (t - a2)
        s1 = [a1[0] * (1 - a1[0]) * m("0.09") * s2, a1[1] * (1 - a1[1]) * m("-0.17") * s2]
        alpha = m("0.1")
        expected = {
            "a^1": a1,
            "a^2": [a2],
            "L": [(t - a2) ** 2],
            "s^2": [s2],
            "s^1": s1,
            "W^2 new": [m("0.09") - alpha * s2 * a1[0], m("-0.17") - alpha * s2 * a1[1]],
            "b^2 new": [m("0.48") - alpha * s2],
            "W^1 new": [m("-0.27") - alpha * s1[0], m("-0.41") - alpha * s1[1]],
            "b^1 new": [m("-0.48") - alpha * s1[0], m("-0.13") - alpha * s1[1]],
        }
    d = built("hagan_ch11")
    check(d, expected)
    assert d.errata == [] and mpmath.nstr(expected["s^2"][0], 4) == "-2.522"


def test_hmkcode_linear_network_without_biases():
    """hmkcode (2018): h = W^1 x, out = W^2 h (no biases, no activation), delta = out - 1,
    w5 - eta delta h1, w1 - eta delta w5 i1, ...: no bias appears or is updated."""
    with mpmath.workdps(30):
        m = mpmath.mpf
        i1, i2, w1, w2, w3, w4, w5, w6, eta = (
            m(2),
            m(3),
            m("0.11"),
            m("0.21"),
            m("0.12"),
            m("0.08"),
            m("0.14"),
            m("0.15"),
            m("0.05"),
        )
        h1, h2 = i1 * w1 + i2 * w2, i1 * w3 + i2 * w4
        out = h1 * w5 + h2 * w6
        delta = out - 1
        expected = {
            "n^1": [h1, h2],
            "a^2": [out],
            "L": [delta**2 / 2],
            "s^2": [delta],
            "W^2 new": [w5 - eta * delta * h1, w6 - eta * delta * h2],
            "W^1 new": [
                w1 - eta * delta * w5 * i1,
                w2 - eta * delta * w5 * i2,
                w3 - eta * delta * w6 * i1,
                w4 - eta * delta * w6 * i2,
            ],
        }
    d = built("hmkcode_221")
    check(d, expected)
    assert d.errata == [] and not any(name.startswith(("b^", "dL/db")) for name in d.values)


def test_cs231n_sigmoid_neuron_and_micrograd_tanh_neuron():
    """The network's own gradients (loss = "output"): cs231n's ddot = (1 - f) f, dx = w ddot, dw = x ddot;
    micrograd's n.grad = 1 - o^2 = 0.5, x1.grad = w1 n.grad = -1.5, w1.grad = x1 n.grad = 1."""
    with mpmath.workdps(30):
        m = mpmath.mpf
        f = 1 / (1 + mpmath.exp(-(m(2) * -1 + m(-3) * -2 - 3)))
        ddot = (1 - f) * f
        cs231n = {
            "a^1": [f],
            "s^1": [ddot],
            "dL/da^0": [2 * ddot, -3 * ddot],
            "dL/dW^1": [-ddot, -2 * ddot],
            "dL/db^1": [ddot],
        }
        o = mpmath.tanh(m(2) * -3 + 0 * 1 + m("6.8813735870195432"))
        grad = 1 - o**2
        micrograd = {"a^1": [o], "s^1": [grad], "dL/da^0": [-3 * grad, 1 * grad], "dL/dW^1": [2 * grad, 0 * grad]}
    for name, expected in (("cs231n_sigmoid", cs231n), ("micrograd_tanh", micrograd)):
        d = built(name)
        check(d, expected)
        assert d.errata == [] and not any(step.endswith("new") for step in d.values)  # no learning rate: no update
