"""derivations.spec: a worked example of one's own as a spec file (TOML or JSON), replayed
exactly. The expected numbers are computed here independently: Fractions in the file's own
column layout (the spec runs in the row convention inside), and mpmath in 30 digits for the
sigmoid."""
import json
from fractions import Fraction as F

import mpmath
import pytest
import sympy as sp

from derivations.render import render
from derivations.replay import from_spec
from derivations.spec import read_spec
from funcmlp.cli import main

OWN = {
    "title": "2-2-2 network, leaky ReLU then linear, one step",
    "convention": "column",
    "activations": ["leaky_relu(0.5)", "identity"],
    "loss": "half_sse",
    "learning_rate": "0.25",
    "x": ["1", "-2"],
    "y": ["0.5", -1],
    "layers": [{"W": [["0.5", "-1"], ["1.5", "2"]], "b": ["0.25", "-0.5"]},
               {"W": [[1, "-0.5"], ["2", "1"]], "b": ["0", "0.1"]}],
    "printed": {"n^1": ["2.75", "-3"], "L": ["17.7"], "s^1": ["13.2", "1.8"]},  # L is 17.505: a slip (off by more than 0.1)
}


def by_hand():
    """The same step in Fractions, column convention z = W a + b, written out here."""
    x, y, eta = [F(1), F(-2)], [F(1, 2), F(-1)], F(1, 4)
    W1, b1 = [[F(1, 2), F(-1)], [F(3, 2), F(2)]], [F(1, 4), F(-1, 2)]
    W2, b2 = [[F(1), F(-1, 2)], [F(2), F(1)]], [F(0), F(1, 10)]
    n1 = [sum(W1[i][j] * x[j] for j in range(2)) + b1[i] for i in range(2)]  # [2.75, -3]
    a1 = [v if v > 0 else v / 2 for v in n1]  # leaky relu, slope 1/2
    n2 = [sum(W2[i][j] * a1[j] for j in range(2)) + b2[i] for i in range(2)]  # [3.5, 4.1]
    loss = sum((yi - ai) ** 2 for yi, ai in zip(y, n2)) / 2
    s2 = [ai - yi for ai, yi in zip(n2, y)]
    s1 = [sum(W2[j][i] * s2[j] for j in range(2)) * (1 if n1[i] > 0 else F(1, 2)) for i in range(2)]
    dW2 = [[s2[i] * a1[j] for j in range(2)] for i in range(2)]
    dW1 = [[s1[i] * x[j] for j in range(2)] for i in range(2)]
    return {
        "n^1": n1, "a^1": a1, "n^2": n2, "L": [loss], "s^2": s2, "s^1": s1,
        "dL/dW^2": [v for row in dW2 for v in row], "dL/dW^1": [v for row in dW1 for v in row],
        "W^2 new": [W2[i][j] - eta * dW2[i][j] for i in range(2) for j in range(2)],
        "b^1 new": [b1[i] - eta * s1[i] for i in range(2)],
    }


def as_fractions(values):
    return [F(int(v.p), int(v.q)) for v in values]


def _check(d):
    for step, expected in by_hand().items():
        assert as_fractions(d.values[step]) == expected, step
    assert [(e.step, e.printed) for e in d.errata] == [("L", "17.7")]  # 17.505 printed as 17.7
    assert d.errata[0].slip == "unexplained"


def test_own_example_from_a_dict():
    _check(from_spec(OWN))
    assert by_hand()["L"] == [F(17505, 1000)]


def test_own_example_round_trips_through_toml_and_json(tmp_path):
    toml_text = "\n".join([
        f'title = "{OWN["title"]}"', 'convention = "column"', 'activations = ["leaky_relu(0.5)", "identity"]',
        'loss = "half_sse"', 'learning_rate = "0.25"', 'x = ["1", "-2"]', 'y = ["0.5", -1]',
        "[[layers]]", 'W = [["0.5", "-1"], ["1.5", "2"]]', 'b = ["0.25", "-0.5"]',
        "[[layers]]", 'W = [[1, "-0.5"], ["2", "1"]]', 'b = ["0", "0.1"]',
        "[printed]", '"n^1" = ["2.75", "-3"]', '"L" = ["17.7"]', '"s^1" = ["13.2", "1.8"]',
    ])
    (tmp_path / "own.toml").write_text(toml_text)
    (tmp_path / "own.json").write_text(json.dumps(OWN))
    for path in (tmp_path / "own.toml", tmp_path / "own.json"):
        d = from_spec(path)
        _check(d)
        assert d.name == "own" and d.title == OWN["title"]
        for fmt in ("text", "markdown", "latex"):
            text = render(d, fmt)
            assert "17.7" in text and d.title in text


def test_own_sigmoid_example_in_30_digits():
    spec = {"activations": ["sigmoid"], "loss": "binary_cross_entropy", "learning_rate": "1", "x": ["0.5", "-1"], "y": ["1"],
            "layers": [{"W": [["0.3"], ["0.8"]], "b": ["0.1"]}]}
    d = from_spec(spec)
    with mpmath.workdps(30):
        n = mpmath.mpf("0.5") * mpmath.mpf("0.3") + mpmath.mpf(-1) * mpmath.mpf("0.8") + mpmath.mpf("0.1")  # -0.55
        a = 1 / (1 + mpmath.exp(-n))
        loss = -mpmath.log(a)
        s = a - 1
        for step, expected in (("a^1", a), ("L", loss), ("s^1", s), ("W^1 new", mpmath.mpf("0.3") - mpmath.mpf("0.5") * s)):
            assert abs(sp.N(d.values[step][0], 30) - sp.Float(mpmath.nstr(expected, 28), 30)) < sp.Float(10) ** -25, step


def test_the_cli_prints_an_example(tmp_path, capsys):
    (tmp_path / "own.json").write_text(json.dumps(OWN))
    assert main(["derive", "--example", str(tmp_path / "own.json"), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "$$ n^{1} = W^{1} a^{0} + b^{1} = \\begin{bmatrix}2.75 & -3\\end{bmatrix} $$" in out and "17.7" in out
    assert main(["derive", "--example", str(tmp_path / "missing.toml")]) == 2
    assert main(["derive", "--example", str(tmp_path / "own.json"), "--steps", "2"]) == 0
    assert "L after step 2" in capsys.readouterr().out
    assert main(["derive", "--example", str(tmp_path / "own.json"), "--steps", "0"]) == 2


def _with(**changes):
    spec = json.loads(json.dumps(OWN))
    for key, value in changes.items():
        if value is None:
            spec.pop(key)
        else:
            spec[key] = value
    return spec


@pytest.mark.parametrize("spec, match", [
    (_with(colour="red"), "unknown key 'colour'; the keys are name, title, convention"),
    (_with(loss=None), "missing key 'loss'"),
    (_with(convention="diagonal"), "convention is 'diagonal'; expected \"row\""),
    (_with(layers=[{"W": [["0.5", "-1"], ["1.5", "2"]], "b": ["0.25", "-0.5"]}, {"W": [["1", "-0.5"]], "b": ["0", "0.1"]}]),
     r"layers\[2\].W has 1 rows, expected 2 \(units of layer 2, column convention\)"),
    (_with(layers=[{"W": [["0.5"], ["1.5"]], "b": ["0.25", "-0.5"]}, {"W": [["1", "-0.5"], ["2", "1"]], "b": ["0", "0.1"]}]),
     r"layers\[1\].W has 1 columns, expected 2 \(inputs of layer 1, column convention\)"),
    (_with(x=["1", "2*x"]), r"x\[1\] = '2\*x': unknown name 'x' at position 3; write a decimal"),
    (_with(learning_rate="1/0"), "learning_rate = '1/0': division by zero at position 2"),
    (_with(printed={"L": ["1/2"]}), r"printed.'L'\[0\] is '1/2', not a decimal as a text prints it"),
    (_with(y=["1"]), r"y has 1 values, expected 2 \(units of the last layer\)"),
    (_with(activations=["swoosh", "identity"]), "unknown activation 'swoosh'"),
    (_with(loss="cross_entropy"), "takes the probabilities of a 'softmax' output layer"),
    (_with(steps=0), "steps must be a whole number of gradient steps from 1 to 100000, got 0"),
    (_with(steps=100_001), "steps must be a whole number of gradient steps from 1 to 100000, got 100001"),
    (_with(x=[["1", "-2"], ["0", "1"]]), r"y has 1 values per example, expected 2 \(units of the last layer\)"),
    (_with(x=[["1", "-2"], ["0", "1"]], y=[["1", "0"]]), "y has 1 examples, x has 2; give one target per example"),
    (_with(x=[["1", "-2"], ["0", "1"]], y=[["1", "0"], ["0"]]), r"y has rows of different lengths \[2, 1\]"),
    (_with(printed={"z^9": ["1"]}), r"printed step 'z\^9' is not a step of this example; the steps are a\^0, n\^1"),
    (_with(printed={"n^1": ["1"]}), r"step 'n\^1' has 2 values, 1 printed"),
])
def test_bad_specs_name_the_key_and_the_fix(spec, match):
    with pytest.raises(ValueError, match=match):
        from_spec(spec)


def test_bad_files_are_named(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("title = \n")
    with pytest.raises(ValueError, match="bad.toml is not valid TOML"):
        read_spec(bad)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_spec(tmp_path / "nowhere.toml")


def test_a_batch_replays_the_mean_loss():
    """Row convention, two examples, relu then identity, sse: by hand in Fractions, gradients of
    the mean loss = sum over the examples of a^T s with s carrying 1/2."""
    spec = {"activations": ["relu", "identity"], "loss": "sse", "learning_rate": "0.5", "x": [["1", "2"], ["-1", "1"]], "y": ["1", "0"],
            "layers": [{"W": [["1", "-1"], ["0.5", "1"]], "b": ["0", "0.5"]}, {"W": [["2"], ["1"]], "b": ["-1"]}]}
    d = from_spec(spec)
    W1, b1, W2, b2 = [[F(1), F(-1)], [F(1, 2), F(1)]], [F(0), F(1, 2)], [F(2), F(1)], F(-1)
    xs, ys = [[F(1), F(2)], [F(-1), F(1)]], [F(1), F(0)]
    losses, dW1, db2 = [], [[F(0)] * 2 for _ in range(2)], F(0)
    for x, y in zip(xs, ys):
        n1 = [x[0] * W1[0][j] + x[1] * W1[1][j] + b1[j] for j in range(2)]
        a1 = [max(v, F(0)) for v in n1]
        out = a1[0] * W2[0] + a1[1] * W2[1] + b2
        losses.append((y - out) ** 2)
        s2 = -2 * (y - out) / 2  # the mean over 2 examples
        s1 = [s2 * W2[j] * (1 if n1[j] > 0 else 0) for j in range(2)]
        for i in range(2):
            for j in range(2):
                dW1[i][j] += x[i] * s1[j]
        db2 += s2
    assert as_fractions(d.values["L"]) == [sum(losses) / 2]
    assert as_fractions(d.values["dL/dW^1"]) == [v for row in dW1 for v in row]
    assert as_fractions(d.values["b^2 new"]) == [b2 - F(1, 2) * db2]
    # n^1 = x W^1 + b^1: [1*1 + 2*0.5, 1*-1 + 2*1 + 0.5] = [2, 3/2] and [-1 + 0.5, 1 + 1 + 0.5] = [-1/2, 5/2]
    assert as_fractions(d.values["n^1"]) == [F(2), F(3, 2), F(-1, 2), F(5, 2)]  # (batch, units) in the row convention
    column = from_spec({**spec, "convention": "column",
                        "layers": [{"W": [["1", "0.5"], ["-1", "1"]], "b": ["0", "0.5"]}, {"W": [["2", "1"]], "b": ["-1"]}]})
    assert as_fractions(column.values["n^1"]) == [F(2), F(-1, 2), F(3, 2), F(5, 2)]  # (units, batch) in the column one
    assert column.values["L"] == d.values["L"]


def test_steps_replay_the_loss_after_each_step_and_the_final_weights():
    """a = W x + b with x = 1, y = 0, L = a^2 / 2, eta = 1/4: each step halves a (a' = a - a/4 - a/4),
    so L after step t is (1/2)^(2t) / 2; W: 1 -> 3/4 -> 5/8 -> 9/16, b: 0 -> -1/4 -> -3/8 -> -7/16."""
    d = from_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.25", "x": ["1"], "y": ["0"], "steps": 3,
                   "layers": [{"W": [["1"]], "b": ["0"]}]})
    assert [as_fractions(d.values[f"L after step {t}"]) for t in (1, 2, 3)] == [[F(1, 8)], [F(1, 32)], [F(1, 128)]]
    assert as_fractions(d.values["W^1 after 3 steps"]) == [F(9, 16)]
    assert as_fractions(d.values["b^1 after 3 steps"]) == [F(-7, 16)]


def test_steps_of_a_sigmoid_network_stay_small():
    """Closed forms are carried as 50-digit decimals from the second step (seed 002's network, 20
    steps): the final weights are plain numbers, not nested exponentials."""
    from dataclasses import replace

    from derivations.replay import run
    from derivations.spec import seed_spec_path
    d = run(replace(read_spec(seed_spec_path("seed002_sigmoid_221")), steps=20, printed={}))
    losses = [float(d.values[f"L after step {t}"][0]) for t in [*range(1, 11), 20]]  # the first ten and the last are shown
    assert all(b < a for a, b in zip(losses, losses[1:]))  # gradient descent with eta = 0.7 lowers the loss
    assert "L after step 11" not in d.values
    assert all(v.is_Number for v in d.values["W^1 after 20 steps"] + d.values["b^2 after 20 steps"])


def test_a_layer_without_biases_shows_and_updates_none():
    """hmkcode's / Rashid's shape: no biases in layer 1. Row convention, relu then identity, sse,
    by hand in Fractions: n^1 = x W^1 (no b), the output has its b^2; two steps later still no b^1."""
    spec = {"activations": ["relu", "identity"], "loss": "sse", "learning_rate": "0.1", "x": ["1", "2"], "y": ["1"], "steps": 2,
            "layers": [{"W": [["0.5", "-1"], ["0.25", "1"]]}, {"W": [["1"], ["2"]], "b": ["0.5"]}]}
    d = from_spec(spec)
    x, W1, W2, b2, eta = [F(1), F(2)], [[F(1, 2), F(-1)], [F(1, 4), F(1)]], [F(1), F(2)], F(1, 2), F(1, 10)
    n1 = [x[0] * W1[0][j] + x[1] * W1[1][j] for j in range(2)]  # [1, 1]
    out = n1[0] * W2[0] + n1[1] * W2[1] + b2  # 3.5
    s2 = -2 * (1 - out)  # 5
    s1 = [s2 * W2[j] * (1 if n1[j] > 0 else 0) for j in range(2)]
    assert as_fractions(d.values["n^1"]) == n1 and as_fractions(d.values["L"]) == [(1 - out) ** 2]
    assert as_fractions(d.values["W^1 new"]) == [W1[i][j] - eta * x[i] * s1[j] for i in range(2) for j in range(2)]
    assert as_fractions(d.values["b^2 new"]) == [b2 - eta * s2]
    assert not {"dL/db^1", "b^1 new", "b^1 after 2 steps"} & set(d.values) and "b^2 after 2 steps" in d.values
    assert "layer 1 has no biases" in d.notes
    text = render(d, "text")
    assert "n^1_1 = w^1_{1,1}*x_1 + w^1_{2,1}*x_2 = 0.5*1 + 0.25*2 = 1" in text and "b^1" not in text
    for fmt in ("markdown", "latex"):
        assert r"b^{1}" not in render(d, fmt)


def test_fixed_parameters_are_kept():
    """fixed = ["b"] (Mazur's biases) and fixed = ["W"]: gradients shown, no update, the same after N steps."""
    spec = {"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.25", "x": ["1"], "y": ["0"], "steps": 3,
            "layers": [{"W": [["1"]], "b": ["0.5"], "fixed": ["b"]}]}
    d = from_spec(spec)
    # a = w + 1/2, s = a; only w moves: w <- w - a/4 = (3/4) w - 1/8: 1 -> 5/8 -> 11/32 -> 17/128
    assert as_fractions(d.values["dL/db^1"]) == [F(3, 2)] and "b^1 new" not in d.values
    assert as_fractions(d.values["W^1 after 3 steps"]) == [F(17, 128)] and as_fractions(d.values["b^1 after 3 steps"]) == [F(1, 2)]
    assert "fixed (kept, not updated): b^1" in d.notes
    kept_W = from_spec({**spec, "layers": [{"W": [["1"]], "b": ["0.5"], "fixed": ["W"]}]})
    # b <- b - a/4 with a = 1 + b: 1/2 -> 1/8 -> -5/32 -> -47/128
    assert "W^1 new" not in kept_W.values and as_fractions(kept_W.values["W^1 after 3 steps"]) == [F(1)]
    assert as_fractions(kept_W.values["b^1 after 3 steps"]) == [F(-47, 128)]


@pytest.mark.parametrize("layer, match", [
    ({"W": [["1"]], "b": ["0"], "fixed": ["c"]}, r"layers\[1\].fixed is \['c'\]; expected a list of the parameters kept"),
    ({"W": [["1"]], "b": ["0"], "fixed": "b"}, r"layers\[1\].fixed is 'b'; expected a list"),
    ({"W": [["1"]], "b": ["0"], "fixed": ["b", "b"]}, r"layers\[1\].fixed is \['b', 'b'\]"),
    ({"W": [["1"]], "fixed": ["b"]}, r"layers\[1\].fixed names b, but the layer has no b; give b or take \"b\" out of fixed"),
    ({"b": ["0"]}, r"layers\[1\] takes the keys W \(required\), b \(left out: a layer without biases\) and fixed; got \['b'\]"),
    ({"W": [["1"]], "bias": ["0"]}, r"layers\[1\] takes the keys W \(required\), b"),
    ({"W": "1"}, r"layers\[1\].W must be a list of rows"),
    ({"W": [["1"]], "b": "0"}, r"layers\[1\].b must be a non-empty list of numbers"),
])
def test_layer_keys_refused_with_the_fix(layer, match):
    with pytest.raises(ValueError, match=match):
        read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "1", "x": ["1"], "y": ["0"], "layers": [layer]})


@pytest.mark.parametrize("printed, match", [
    ({"a^1_3": "1"}, r"printed 'a\^1_3': a\^1 has 2 entries"),
    ({"w^1_{3,1} new": "1"}, r"printed 'w\^1_\{3,1\} new': W\^1 new has 2 rows and 2 columns in the file's layout"),
    ({"w^1_2 new": "1"}, r"printed 'w\^1_2 new' must be one number of the vector W\^1 new"),
    ({"q^1_1": "1"}, r"printed step 'q\^1_1' is not a step of this example"),
    ({"L after step 7": "1"}, r"printed step 'L after step 7' is not a step of this example"),
    ({"n^1": ["1", "2"], "n^1_1": "1"}, r"printed 'n\^1' is given whole and by its entries"),
])
def test_printed_single_entries_refused_with_the_fix(printed, match):
    with pytest.raises(ValueError, match=match):
        from_spec(_with(printed=printed))
