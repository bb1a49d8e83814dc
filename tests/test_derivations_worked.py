"""derivations.examples.worked: the seeds' worked examples recomputed exactly, with their errata.
Expected values are worked out by hand in the comments (or with Fraction), not copied from the code."""

from fractions import Fraction as F

import pytest
import sympy as sp
from replayed import built

from derivations.examples.worked import EXAMPLES
from derivations.formats.render import render


def frac(values):
    return [F(int(v.p), int(v.q)) for v in values]


def flagged(derivation):
    return {(e.step, e.index): e.slip for e in derivation.errata}


@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_erratum_is_explained_and_every_format_renders(name):
    d = built(name)
    assert all(e.slip != "unexplained" for e in d.errata), [str(e) for e in d.errata if e.slip == "unexplained"]
    for fmt in ("text", "markdown", "latex"):
        text = render(d, fmt)
        assert d.title in text
        if fmt == "latex":  # read the LaTeX back as text: line-break hints out, the ten special characters unescaped
            unescape = [
                (r"\allowbreak{}", ""),
                (r"\textbackslash{}", "\\"),
                (r"\textasciitilde{}", "~"),
                (r"\textasciicircum{}", "^"),
            ] + [("\\" + c, c) for c in "&%$#_{}"]
            for latex_form, char in unescape:
                text = text.replace(latex_form, char)
        for e in d.errata:
            assert e.printed in text


def test_seed_003_relu_linear_eqs_39_to_51_are_right():
    d = built("seed003_relu_linear")
    assert frac(d.values["s^2"]) == [8]  # -2 (0 - 4) * 1, eq. 45
    assert frac(d.values["s^1"]) == [8, 8]  # 8 [1 1] I, eq. 47
    assert frac(d.values["W^1 new"]) == [F(1, 5)] * 4  # 1 - 0.1 * 8, eq. 48
    assert frac(d.values["W^2 new"]) == [F(-3, 5)] * 2  # 1 - 0.1 * 2 * 8, eq. 50
    assert frac(d.values["b^2 new"]) == [F(-4, 5)]  # eq. 51
    assert d.errata == []


def test_seed_000_house_price_errata():
    d = built("seed000_house_price")
    # by hand: z2 = [0.1*12.241 - 0.1*47.549 + 0.01, 0.1*12.241 + 0.1*47.549 + 0.01] = [-3.5208, 5.989]
    assert frac(d.values["n^2"]) == [F("-3.5208"), F("5.989")]
    assert frac(d.values["n^3"]) == [F("0.6089")]  # 0.1 * 5.989 + 0.01
    assert frac(d.values["L"]) == [F(1, 2) * (1 - F("0.6089")) ** 2]
    # s2 = [dL/da2_1 * relu'(-3.5208), dL/da2_2 * 1] = [0, 0.1 * -0.3911]
    assert frac(d.values["s^2"]) == [0, F("-0.03911")]
    # s1 = W2^T s2 (both n1 > 0): [0.1 * -0.03911, 0.1 * -0.03911]
    assert frac(d.values["s^1"]) == [F("-0.003911"), F("-0.003911")]
    slips = flagged(d)
    assert "bias" in slips[("n^2", 0)] and "bias" in slips[("n^2", 1)]
    assert ("n^1", 0) not in slips and ("n^1", 1) not in slips  # eq. 8 is right
    assert slips[("L", 0)].startswith("arithmetic")  # 1/2 (0.3921)^2 = 0.07687, printed 0.0762
    assert "derivative ignored" in slips[("dL/dW^2", 0)]  # eq. 24: the row of the dead unit must be 0
    assert "derivative ignored" in slips[("dL/da^1", 0)]  # eq. 27
    assert ("dL/da^1", 1) in slips  # printed 0, exact -0.003911


def test_seed_000_dropout_scaling_erratum():
    d = built("seed000_dropout")
    assert frac(d.values["a^1 scaled"]) == [0, F("47.549") * 2]  # divide by keep_prob 0.5
    assert "wrong scaling" in flagged(d)[("a^1 scaled", 1)]
    assert ("mask", 0) not in flagged(d)  # 0.38298 < 0.5 -> 0, 0.78923 -> 1: right


def test_seed_000_vanishing_errata():
    d = built("seed000_vanishing")
    assert frac(d.values["dL/dW^3"]) == [0, F("-0.001") * F("5.979")]
    slips = flagged(d)
    assert {("dL/dW^3", 1), ("dL/db^3", 0), ("W^3 new", 1), ("b^3 new", 0)} <= set(slips)


def test_seed_000_exploding_is_right_under_its_assumptions():
    d = built("seed000_exploding")
    assert frac(d.values["W^3 new"]) == [F("10.3921")] * 2  # 10 - 0.1 * (-0.3921 * 10)
    assert d.errata == []
    assert frac(d.values["dL/da^3 (consistent)"]) == [F("199.01")]  # -(1 - 200.01)


def test_seed_002_sigmoid_network():
    d = built("seed002_sigmoid_221")
    sig = lambda v: 1 / (1 + sp.exp(-v))
    h = [sig(sp.Rational(13, 25)), sig(sp.Rational(57, 50))]  # z = [0.52, 1.14], computed by hand
    y_hat = sig(sp.Rational(3, 10) * h[0] + sp.Rational(1, 2) * h[1] + sp.Rational(2, 5))
    s_out = 2 * y_hat * y_hat * (1 - y_hat)  # -2 (0 - y_hat) y_hat (1 - y_hat)
    assert abs(sp.N(d.values["s^2"][0] - s_out, 40)) < 1e-35
    assert abs(sp.N(s_out, 10) - sp.Float("0.2892155201", 10)) < 1e-9
    slips = flagged(d)
    assert "sign" in slips[("s^2", 0)]
    assert "transposed" in slips[("dL/dW^1", 1)] and "transposed" in slips[("dL/dW^1", 2)]
    assert "wrong quantity" in slips[("W^2 new", 0)]
    assert ("a^1", 0) not in slips and ("L", 0) not in slips  # the forward pass is right


def test_seed_003_perceptrons_and_xor():
    slp = built("seed003_slp")
    assert frac(slp.values["and a^1"]) == [0, 0, 0, 1] and frac(slp.values["or a^1"]) == [0, 1, 1, 1]
    assert frac(built("seed003_xor").values["x=01 a^2"]) == [1]
    learned = built("seed003_perceptron_and")
    b, w1, w2 = learned.steps[-1].values
    # the learned perceptron classifies the AND table (checked here by hand-written hard limit)
    assert [1 if float(b + w1 * x1 + w2 * x2) >= 0 else 0 for x1, x2 in [(0, 0), (0, 1), (1, 0), (1, 1)]] == [
        0,
        0,
        0,
        1,
    ]
    assert any("converged" in n for n in learned.notes)
    assert any("no convergence" in n for n in built("seed003_perceptron_xor").notes)


def test_seed_003_jacobian_index_erratum():
    d = built("seed003_jacobian")
    assert any(e.where == "eq. 30" and "transposed" in e.slip for e in d.errata)


def test_seed_004_minibatch_and_formulas():
    mb = built("seed004_minibatch")
    assert any("difference simplifies to 0" in n for n in mb.notes)
    assert any("concrete instance equal: True" in n for n in mb.notes)
    formulas = built("seed004_formulas")
    assert any(e.where == "RMSprop" for e in formulas.errata)
    assert any("equal: True" in n for n in formulas.notes)  # AdaGrad's two forms agree


def test_text_writes_a_column_conventions_vectors_as_columns():
    """Hagan et al. ch. 11 (column convention): n^1 = W^1 a^0 + b^1 = (-0.27 - 0.48, -0.41 - 0.13)
    = (-0.75, -0.54), a column, written as a transposed row; the 1 x 2 matrix W^2 stays a row.
    CS231n's neuron (row convention): its input x = (-1, -2) is a row."""
    hagan = render(built("hagan_ch11"), "text").splitlines()
    n1 = hagan.index("n^1                    = W^1 a^0 + b^1")
    assert hagan[n1 + 1].split() == ["exact", "[-3/4,", "-27/50]^T"]
    assert hagan[n1 + 2].split() == ["decimal", "[-0.75,", "-0.54]^T"]
    w2 = hagan.index("W^2 new                = W^2 - eta dL/dW^2")
    assert not hagan[w2 + 2].endswith("^T")
    cs231n = render(built("cs231n_sigmoid"), "text").splitlines()
    assert cs231n[cs231n.index("a^0                    = x") + 2].split() == ["decimal", "[-1,", "-2]"]
