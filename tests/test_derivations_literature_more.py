"""More published worked examples shipped with derivations (issue 35): softmax with cross-entropy, ReLU, an online
run over several passes and a network of three hidden layers, each replayed from its spec file.

Every expected value is worked out here from the text's network, in exact fractions (ReLU and linear units) or
30-digit mpmath (sigmoid, softmax, log), not by the code under test; the numbers each text printed are written here
again, and the errata expected are the printed numbers off the values worked out here by more than one unit in
their last digit, with the slips that produce them checked by hand."""

import functools
from decimal import Decimal
from fractions import Fraction as F
from pathlib import Path

import mpmath
import sympy as sp

from derivations.examples.replay import run
from derivations.examples.spec import read_spec

NAMES = ("nnfs_relu_neuron", "kushwaha_softmax", "and_delta_rule", "nafiz_relu_softmax")


@functools.cache
def replay(name: str):
    return run(read_spec(Path("derivations/examples") / f"{name}.toml", name=name))


def same(got, want) -> bool:
    """A replayed value equals one worked out here: a Fraction exactly, an mpmath number to 25 digits."""
    if isinstance(want, F | int):
        return got == sp.Rational(want.numerator, want.denominator) if isinstance(want, F) else got == want
    return abs(sp.N(got, 40) - sp.Float(mpmath.nstr(want, 30), 40)) < sp.Float(10) ** -25


def check(d, expected: dict) -> None:
    for step, values in expected.items():
        assert len(d.values[step]) == len(values), step
        for i, (got, want) in enumerate(zip(d.values[step], values, strict=True)):
            assert same(got, want), (step, i, got, want)


def mp(value):
    """A Fraction (or int) or an mpmath number as an mpmath number."""
    if isinstance(value, F | int):
        return mpmath.mpf(F(value).numerator) / F(value).denominator
    return mpmath.mpf(value)


def off(printed: str, exact) -> bool:
    """More than one unit in the printed number's last digit away from the exact value (SPEC.md's erratum)."""
    unit = Decimal(1).scaleb(Decimal(printed).as_tuple().exponent)
    return abs(mpmath.mpf(printed) - mp(exact)) > mpmath.mpf(str(unit))


def rounds_to(printed: str, exact) -> bool:
    """The printed number is the exact value rounded to its digits (within half a unit of the last one)."""
    unit = Decimal(1).scaleb(Decimal(printed).as_tuple().exponent)
    return abs(mpmath.mpf(printed) - mp(exact)) <= mpmath.mpf(str(unit)) / 2


def errata_of(printed: dict, exact: dict) -> set:
    return {(step, i) for step, values in printed.items() for i, p in enumerate(values) if off(p, exact[step][i])}


def outer(u, v):
    return [a * b for a in u for b in v]  # row-major: the column convention's dL/dW = s a^T in the file's layout


def test_nnfs_relu_neuron_minimizing_its_output():
    """Kinsley and Kukiela (2020), ch. 9: z = x.w + b = 6, ReLU, the derivative from the next layer 1, so
    dx = w, dw = x, db = 1, and w - 0.001 dw, b - 0.001 db; the neuron's output after the step is 5.985."""
    x, w, b, eta = [F(1), F(-2), F(3)], [F(-3), F(-1), F(2)], F(1), F(1, 1000)
    z = sum(xi * wi for xi, wi in zip(x, w, strict=True)) + b
    slope = 1 if z > 0 else 0
    new_w, new_b = [wi - eta * slope * xi for wi, xi in zip(w, x, strict=True)], b - eta * slope
    after = max(sum(xi * wi for xi, wi in zip(x, new_w, strict=True)) + new_b, 0)
    d = replay("nnfs_relu_neuron")
    check(
        d,
        {
            "n^1": [z],
            "a^1": [max(z, 0)],
            "L": [max(z, 0)],
            "s^1": [slope],
            "dL/da^0": [wi * slope for wi in w],
            "dL/dW^1": [xi * slope for xi in x],
            "dL/db^1": [slope],
            "W^1 new": new_w,
            "b^1 new": [new_b],
        },
    )
    assert z == 6 and new_w == [F("-3.001"), F("-0.998"), F("1.997")] and new_b == F("0.999")
    assert (
        after == F("5.985") and "L after step 1" not in d.values
    )  # printed by the text; the format shows it for steps >= 2
    assert d.errata == []


def test_kushwaha_softmax_cross_entropy_and_its_z4_slip():
    """Kushwaha: sigmoid hidden units, softmax, L = -ln(y_hat_1); z^(4) = -0.1 a^(1) + 0.2 a^(2) + 0.1 = 0.1574,
    printed 0.185, and the softmax and the loss carry it (0.5605 and 0.5790 from the printed z's)."""
    with mpmath.workdps(30):
        sig = lambda v: 1 / (1 + mpmath.exp(-v))
        x, W1, b1 = [1, 2, -1], [["0.2", "-0.3", "0.4"], ["-0.5", "0.1", "0.2"]], mpmath.mpf("0.5")
        n1 = [sum(mpmath.mpf(w) * xi for w, xi in zip(row, x, strict=True)) + b1 for row in W1]
        a1 = [sig(v) for v in n1]
        W2 = [[mpmath.mpf("0.3"), mpmath.mpf("0.4")], [mpmath.mpf("-0.1"), mpmath.mpf("0.2")]]
        n2 = [W2[j][0] * a1[0] + W2[j][1] * a1[1] + mpmath.mpf("0.1") for j in range(2)]
        e = [mpmath.exp(v) for v in n2]
        a2 = [v / sum(e) for v in e]
        s2 = [a2[0] - 1, a2[1]]
        s1 = [(W2[0][i] * s2[0] + W2[1][i] * s2[1]) * a1[i] * (1 - a1[i]) for i in range(2)]
        exact = {"n^1": n1, "a^1": a1, "n^2": n2, "a^2": a2, "L": [-mpmath.log(a2[0])]}
        d = replay("kushwaha_softmax")
        check(d, {**exact, "s^2": s2, "dL/dW^2": outer(s2, a1), "s^1": s1, "dL/dW^1": outer(s1, x)})
        printed = {"n^1": ["-0.3", "0"], "a^1": ["0.426", "0.5"], "n^2": ["0.428", "0.185"]}
        printed |= {"a^2": ["0.561", "0.439"], "L": ["0.579"]}
        assert errata_of(printed, exact) == {("n^2", 1), ("a^2", 0), ("a^2", 1), ("L", 0)}
        assert {(e.step, e.index) for e in d.errata} == errata_of(printed, exact)
        assert mpmath.nstr(n2[1], 5) == "0.15744" and F("-0.1") * F("0.426") + F("0.2") * F("0.5") + F("0.1") == F(
            "0.1574"
        )
        text = sig(mpmath.mpf("0.428") - mpmath.mpf("0.185"))  # the text's own softmax of its printed z's
        assert mpmath.nstr(text, 4) == "0.5605" and mpmath.nstr(-mpmath.log(text), 4) == "0.579"
    assert all(e.slip.startswith(("arithmetic", "carried over")) for e in d.errata)


# The slide's table: k, W(k) = (w0, w1, w2), then net and d - net of the sample presented next (p_k mod 4).
AND_TABLE = """
1 0.4 1.6 -0.4 -1.6 0.6
2 0.58 1.42 -0.22 2.22 -3.22
3 -0.386 0.454 0.746 0.814 0.186
4 -0.3302 0.5098 0.8018 -1.6418 0.6418
5 -0.13766 0.31726 0.60926 0.15434 -1.15434
6 -0.48396 0.663562 0.262958 -0.08336 -0.91664
7 -0.75895 0.388569 0.537951 0.167565 0.832435
8 -0.50922 0.6383 0.787681 -1.9352 0.935205
9 -0.22866 0.357738 0.507119 -0.07928 -0.92072
10 -0.50488 0.633954 0.230904 -0.10183 -0.89817
11 -0.77433 0.364502 0.500355 0.090528 0.909472
12 -0.50149 0.637344 0.773197 -1.91203 0.912029
13 -0.22788 0.363735 0.499588 -0.09203 -0.90797
14 -0.50027 0.636127 0.227196 -0.09134 -0.90866
15 -0.77287 0.363529 0.499794 0.090454 0.909546
"""


def test_and_delta_rule_online_over_three_passes():
    """The slides' delta rule, W(k+1) = W(k) + 0.3 (d - net) p presented p0, p1, p2, p3 in turn from W(0) = (1, 1, -1):
    the first pass step by step, the mean loss 1/2 (d - net)^2 after each pass, W(12) after three passes; every row
    of the slide's table is the exact value rounded to the digits printed."""
    samples, targets, eta = [(1, -1, -1), (1, -1, 1), (1, 1, -1), (1, 1, 1)], [-1, -1, -1, 1], F(3, 10)
    net = lambda w, p: sum(wi * pi for wi, pi in zip(w, p, strict=True))
    weights, nets = [[F(1), F(1), F(-1)]], []
    for k in range(16):
        p, t = samples[k % 4], targets[k % 4]
        nets.append(net(weights[-1], p))
        weights.append([wi + eta * (t - nets[-1]) * pi for wi, pi in zip(weights[-1], p, strict=True)])
    for row in AND_TABLE.split("\n")[1:-1]:
        k, *printed = row.split()
        k = int(k)
        exact = [*weights[k], nets[k], targets[k % 4] - nets[k]]
        assert all(rounds_to(p, mp(v)) for p, v in zip(printed, exact, strict=True)), row
    mean_loss = lambda w: sum((t - net(w, p)) ** 2 / 2 for p, t in zip(samples, targets, strict=True)) / 4
    d = replay("and_delta_rule")
    check(
        d,
        {
            "n^1": [nets[0]],
            "delta^1": [targets[0] - nets[0]],
            "W^1 new": weights[1],
            **{f"W^1 after example {k}": weights[k] for k in (2, 3, 4)},
            **{f"L (example {k})": [(targets[k - 1] - nets[k - 1]) ** 2 / 2] for k in (2, 3, 4)},
            **{f"L after pass {t}": [mean_loss(weights[4 * t])] for t in (1, 2, 3)},
            "W^1 after 3 passes": weights[12],
        },
    )
    assert weights[1] == [F("0.4"), F("1.6"), F("-0.4")] and net(weights[1], samples[0]) == F("-0.8")  # "New net"
    assert d.errata == [] and "W^1 after 4 passes" not in d.values


def nafiz_network():
    rows = [
        [["0.2", "-0.1", "0.4"], ["0.5", "0.3", "-0.6"], ["-0.2", "0.1", "0.3"]],
        [["0.1", "-0.2", "0.5"], ["0.4", "0.1", "-0.3"], ["-0.1", "0.3", "0.2"]],
        [["0.3", "0.1", "-0.4"], ["0.2", "-0.5", "0.6"], ["-0.3", "0.2", "0.4"]],
        [["0.2", "-0.1", "0.5"], ["0.4", "0.1", "-0.3"], ["-0.2", "0.3", "0.2"]],
    ]
    return [[[F(v) for v in row] for row in W] for W in rows]


# Nafiz (2024) as printed, in the file's layout (matrices row-major)
NAFIZ_PRINTED = {
    "n^1": ["2.6", "-2.5", "2.3"],
    "a^1": ["2.6", "0", "2.3"],
    "n^2": ["1.41", "0.35", "0.20"],
    "a^2": ["1.41", "0.35", "0.20"],
    "n^3": ["0.378", "0.227", "-0.273"],
    "a^3": ["0.378", "0.227", "0"],
    "n^4": ["0.0529", "0.1739", "-0.0075"],
    "a^4": ["0.3252", "0.3685", "0.3063"],
    "s^4": ["-0.9471", "0.1739", "-0.0075"],
    "dL/dW^4": ["-0.3576", "-0.2144", "0", "0.0657", "0.0395", "0", "0.0014", "0.0008", "0"],
    "dL/db^4": ["-0.9471", "0.1739", "-0.0075"],
    "dL/da^3": ["-0.11836", "0.10985", "-0.99612"],
    "s^3": ["-0.11836", "0.10985", "0"],
    "dL/dW^3": ["-0.16738", "-0.04149", "-0.02367", "0.15576", "0.03849", "0.02197", "0", "0", "0"],
    "dL/db^3": ["-0.11836", "0.10985", "0"],
    "dL/da^2": ["-0.01354", "-0.06677", "0.53935"],
    "s^2": ["-0.01354", "-0.06677", "0.53935"],
    "dL/dW^2": ["-0.03519", "0", "-0.03111", "0.17335", "0", "0.13535", "0.37574", "0", "0.20557"],
    "dL/db^2": ["-0.01354", "-0.06677", "0.53935"],
    "dL/da^1": ["-0.081997", "0.157836", "0.121131"],
    "s^1": ["-0.081997", "0", "0.121131"],
    "dL/dW^1": ["-0.081997", "-0.327988", "-0.57392", "0", "0", "0", "0.121131", "0.484524", "0.847917"],
    "dL/db^1": ["-0.081997", "0", "0.121131"],
}


def test_nafiz_three_relu_layers_softmax_and_its_errata():
    """Nafiz (2024): Z[l] = W[l] A[l-1] (no biases), three ReLU layers, softmax with cross-entropy, dZ[4] = A[4] - Y,
    dZ[l] = W[l+1]^T dZ[l+1] * relu'(Z[l]), dW[l] = dZ[l] A[l-1]^T. The forward pass to Z[4] is right; the softmax is
    off (e^0.1739 = 1.1899, printed 1.1904); every backward number follows dZ[4] = Z[4] - Y ("assuming A[4] = Z[4]")
    with arithmetic slips on the way: 56 errata."""
    W, x, y = nafiz_network(), [F(1), F(4), F(7)], [1, 0, 0]
    mat = lambda M, v: [sum(m * vi for m, vi in zip(row, v, strict=True)) for row in M]
    matT = lambda M, v: [sum(M[i][j] * v[i] for i in range(3)) for j in range(3)]
    n, a = [None], [x]
    for k in range(3):
        n.append(mat(W[k], a[-1]))
        a.append([max(v, 0) for v in n[-1]])
    n.append(mat(W[3], a[-1]))
    with mpmath.workdps(30):
        e = [mpmath.exp(mp(v)) for v in n[4]]
        a4 = [v / sum(e) for v in e]
        s = {4: [a4[i] - y[i] for i in range(3)]}
        up = {}
        for k in (3, 2, 1):
            up[k] = matT([[mp(v) for v in row] for row in W[k]], s[k + 1])
            s[k] = [up[k][i] * (1 if n[k][i] > 0 else 0) for i in range(3)]
        exact = {f"n^{k}": n[k] for k in (1, 2, 3, 4)} | {f"a^{k}": a[k] for k in (1, 2, 3)} | {"a^4": a4}
        for k in (4, 3, 2, 1):
            exact |= {f"s^{k}": s[k], f"dL/db^{k}": s[k], f"dL/dW^{k}": outer(s[k], [mp(v) for v in a[k - 1]])}
        exact |= {f"dL/da^{k}": up[k] for k in (3, 2, 1)} | {"L": [-mpmath.log(a4[0])]}
        d = replay("nafiz_relu_softmax")
        check(d, exact)
        expected = errata_of(NAFIZ_PRINTED, exact)
        assert len(expected) == 56 and {(e.step, e.index) for e in d.errata} == expected
        assert not any(step.startswith(("n^", "a^1", "a^2", "a^3")) for step, _ in expected)  # Z[1]..Z[4] right
        assert mpmath.nstr(e[1], 5) == "1.1899" and [mpmath.nstr(v, 4) for v in a4] == ["0.3257", "0.3676", "0.3066"]
    # the text's own backward pass, from its printed numbers: dZ[4] = Z[4] - Y and its arithmetic slips
    text = {step: [F(v) for v in values] for step, values in NAFIZ_PRINTED.items()}
    assert text["s^4"] == [text["n^4"][i] - y[i] for i in range(3)]  # A[4] taken as Z[4]
    assert matT(W[3], text["s^4"])[:2] == text["dL/da^3"][:2] and matT(W[3], text["s^4"])[2] == F("-0.52722")
    assert F("-0.3") * F("0.1739") == F("-0.05217")  # written -0.52107 in the third entry (printed -0.99612)
    assert matT(W[2], text["s^3"])[2] == F("0.113254") and F("-0.4") * F("-0.11836") == F("0.047344")  # written 0.47344
    assert matT(W[1], text["s^2"]) == text["dL/da^1"]  # from its dZ[2], W[2]^T dZ[2] is right
    assert [F("-0.9471") * v for v in (F("0.378"), F("0.227"))] == [F("-0.3580038"), F("-0.2149917")]
    assert F("-0.081997") * 7 == F("-0.573979")  # printed -0.57392
    slips = {(e.step, e.index): e.slip for e in d.errata}
    assert all(slips[("s^4", i)].startswith("the softmax left out") for i in range(3))
    assert all(slips[("a^4", i)].startswith("arithmetic: e^0.1739 = 1.1899") for i in range(3))
    assert all(slip.startswith("carried over") for (step, _), slip in slips.items() if step not in ("s^4", "a^4"))


def test_the_catalogue_lists_them(capsys):
    """Shipped like the others: `funcmlp derive --list` names each, with its title."""
    from funcmlp.cli import main

    assert main(["derive", "--list"]) == 0
    listing = capsys.readouterr().out
    for name in NAMES:
        assert name in listing and read_spec(Path("derivations/examples") / f"{name}.toml").title in listing, name
