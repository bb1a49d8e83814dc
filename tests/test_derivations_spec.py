"""derivations.examples.spec: a worked example of one's own as a spec file (TOML or JSON), replayed
exactly. The expected numbers are computed here independently: Fractions in the file's own
column layout (the spec runs in the row convention inside), and mpmath in 30 digits for the
sigmoid."""

import json
from fractions import Fraction as F

import mpmath
import pytest
import sympy as sp

from derivations.examples.replay import from_spec
from derivations.examples.spec import read_spec
from derivations.formats.render import render
from funcmlp.cli import main

OWN = {
    "title": "2-2-2 network, leaky ReLU then linear, one step",
    "convention": "column",
    "activations": ["leaky_relu(0.5)", "identity"],
    "loss": "half_sse",
    "learning_rate": "0.25",
    "x": ["1", "-2"],
    "y": ["0.5", -1],
    "layers": [
        {"W": [["0.5", "-1"], ["1.5", "2"]], "b": ["0.25", "-0.5"]},
        {"W": [[1, "-0.5"], ["2", "1"]], "b": ["0", "0.1"]},
    ],
    "printed": {
        "n^1": ["2.75", "-3"],
        "L": ["17.7"],
        "s^1": ["13.2", "1.8"],
    },  # L is 17.505: a slip (off by more than 0.1)
}


def by_hand():
    """The same step in Fractions, column convention z = W a + b, written out here."""
    x, y, eta = [F(1), F(-2)], [F(1, 2), F(-1)], F(1, 4)
    W1, b1 = [[F(1, 2), F(-1)], [F(3, 2), F(2)]], [F(1, 4), F(-1, 2)]
    W2, b2 = [[F(1), F(-1, 2)], [F(2), F(1)]], [F(0), F(1, 10)]
    n1 = [sum(W1[i][j] * x[j] for j in range(2)) + b1[i] for i in range(2)]  # [2.75, -3]
    a1 = [v if v > 0 else v / 2 for v in n1]  # leaky relu, slope 1/2
    n2 = [sum(W2[i][j] * a1[j] for j in range(2)) + b2[i] for i in range(2)]  # [3.5, 4.1]
    loss = sum((yi - ai) ** 2 for yi, ai in zip(y, n2, strict=False)) / 2
    s2 = [ai - yi for ai, yi in zip(n2, y, strict=False)]
    s1 = [sum(W2[j][i] * s2[j] for j in range(2)) * (1 if n1[i] > 0 else F(1, 2)) for i in range(2)]
    dW2 = [[s2[i] * a1[j] for j in range(2)] for i in range(2)]
    dW1 = [[s1[i] * x[j] for j in range(2)] for i in range(2)]
    return {
        "n^1": n1,
        "a^1": a1,
        "n^2": n2,
        "L": [loss],
        "s^2": s2,
        "s^1": s1,
        "dL/dW^2": [v for row in dW2 for v in row],
        "dL/dW^1": [v for row in dW1 for v in row],
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
    toml_text = "\n".join(
        [
            f'title = "{OWN["title"]}"',
            'convention = "column"',
            'activations = ["leaky_relu(0.5)", "identity"]',
            'loss = "half_sse"',
            'learning_rate = "0.25"',
            'x = ["1", "-2"]',
            'y = ["0.5", -1]',
            "[[layers]]",
            'W = [["0.5", "-1"], ["1.5", "2"]]',
            'b = ["0.25", "-0.5"]',
            "[[layers]]",
            'W = [[1, "-0.5"], ["2", "1"]]',
            'b = ["0", "0.1"]',
            "[printed]",
            '"n^1" = ["2.75", "-3"]',
            '"L" = ["17.7"]',
            '"s^1" = ["13.2", "1.8"]',
        ]
    )
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
    spec = {
        "activations": ["sigmoid"],
        "loss": "binary_cross_entropy",
        "learning_rate": "1",
        "x": ["0.5", "-1"],
        "y": ["1"],
        "layers": [{"W": [["0.3"], ["0.8"]], "b": ["0.1"]}],
    }
    d = from_spec(spec)
    with mpmath.workdps(30):
        n = mpmath.mpf("0.5") * mpmath.mpf("0.3") + mpmath.mpf(-1) * mpmath.mpf("0.8") + mpmath.mpf("0.1")  # -0.55
        a = 1 / (1 + mpmath.exp(-n))
        loss = -mpmath.log(a)
        s = a - 1
        for step, expected in (
            ("a^1", a),
            ("L", loss),
            ("s^1", s),
            ("W^1 new", mpmath.mpf("0.3") - mpmath.mpf("0.5") * s),
        ):
            assert abs(sp.N(d.values[step][0], 30) - sp.Float(mpmath.nstr(expected, 28), 30)) < sp.Float(10) ** -25, (
                step
            )


def test_the_cli_prints_an_example(tmp_path, capsys):
    (tmp_path / "own.json").write_text(json.dumps(OWN))
    assert main(["derive", "--example", str(tmp_path / "own.json"), "--format", "markdown"]) == 0
    out = capsys.readouterr().out
    assert "$$ n^{1} = W^{1} a^{0} + b^{1} = \\begin{bmatrix}2.75 \\\\ -3\\end{bmatrix} $$" in out and "17.7" in out
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


@pytest.mark.parametrize(
    "spec, match",
    [
        (_with(colour="red"), "unknown key 'colour'; the keys are name, title, convention"),
        (_with(loss=None), "missing key 'loss'"),
        (_with(convention="diagonal"), "convention is 'diagonal'; expected \"row\""),
        (
            _with(
                layers=[
                    {"W": [["0.5", "-1"], ["1.5", "2"]], "b": ["0.25", "-0.5"]},
                    {"W": [["1", "-0.5"]], "b": ["0", "0.1"]},
                ]
            ),
            r"layers\[2\].W has 1 rows, expected 2 \(units of layer 2, column convention\)",
        ),
        (
            _with(
                layers=[
                    {"W": [["0.5"], ["1.5"]], "b": ["0.25", "-0.5"]},
                    {"W": [["1", "-0.5"], ["2", "1"]], "b": ["0", "0.1"]},
                ]
            ),
            r"layers\[1\].W has 1 columns, expected 2 \(inputs of layer 1, column convention\)",
        ),
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
    ],
)
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
    spec = {
        "activations": ["relu", "identity"],
        "loss": "sse",
        "learning_rate": "0.5",
        "x": [["1", "2"], ["-1", "1"]],
        "y": ["1", "0"],
        "layers": [{"W": [["1", "-1"], ["0.5", "1"]], "b": ["0", "0.5"]}, {"W": [["2"], ["1"]], "b": ["-1"]}],
    }
    d = from_spec(spec)
    W1, b1, W2, b2 = [[F(1), F(-1)], [F(1, 2), F(1)]], [F(0), F(1, 2)], [F(2), F(1)], F(-1)
    xs, ys = [[F(1), F(2)], [F(-1), F(1)]], [F(1), F(0)]
    losses, dW1, db2 = [], [[F(0)] * 2 for _ in range(2)], F(0)
    for x, y in zip(xs, ys, strict=False):
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
    column = from_spec(
        {
            **spec,
            "convention": "column",
            "layers": [{"W": [["1", "0.5"], ["-1", "1"]], "b": ["0", "0.5"]}, {"W": [["2", "1"]], "b": ["-1"]}],
        }
    )
    assert as_fractions(column.values["n^1"]) == [F(2), F(-1, 2), F(3, 2), F(5, 2)]  # (units, batch) in the column one
    assert column.values["L"] == d.values["L"]


def test_steps_replay_the_loss_after_each_step_and_the_final_weights():
    """a = W x + b with x = 1, y = 0, L = a^2 / 2, eta = 1/4: each step halves a (a' = a - a/4 - a/4),
    so L after step t is (1/2)^(2t) / 2; W: 1 -> 3/4 -> 5/8 -> 9/16, b: 0 -> -1/4 -> -3/8 -> -7/16."""
    d = from_spec(
        {
            "activations": ["identity"],
            "loss": "half_sse",
            "learning_rate": "0.25",
            "x": ["1"],
            "y": ["0"],
            "steps": 3,
            "layers": [{"W": [["1"]], "b": ["0"]}],
        }
    )
    assert [as_fractions(d.values[f"L after step {t}"]) for t in (1, 2, 3)] == [[F(1, 8)], [F(1, 32)], [F(1, 128)]]
    assert as_fractions(d.values["W^1 after 3 steps"]) == [F(9, 16)]
    assert as_fractions(d.values["b^1 after 3 steps"]) == [F(-7, 16)]


def test_steps_of_a_sigmoid_network_stay_small():
    """Closed forms are carried as 50-digit decimals from the second step (seed 002's network, 20
    steps): the final weights are plain numbers, not nested exponentials."""
    from dataclasses import replace

    from derivations.examples.replay import run
    from derivations.examples.spec import seed_spec_path

    d = run(replace(read_spec(seed_spec_path("seed002_sigmoid_221")), steps=20, printed={}))
    losses = [
        float(d.values[f"L after step {t}"][0]) for t in [*range(1, 11), 20]
    ]  # the first ten and the last are shown
    assert all(
        b < a for a, b in zip(losses, losses[1:], strict=False)
    )  # gradient descent with eta = 0.7 lowers the loss
    assert "L after step 11" not in d.values
    assert all(v.is_Number for v in d.values["W^1 after 20 steps"] + d.values["b^2 after 20 steps"])


def test_a_layer_without_biases_shows_and_updates_none():
    """hmkcode's / Rashid's shape: no biases in layer 1. Row convention, relu then identity, sse,
    by hand in Fractions: n^1 = x W^1 (no b), the output has its b^2; two steps later still no b^1."""
    spec = {
        "activations": ["relu", "identity"],
        "loss": "sse",
        "learning_rate": "0.1",
        "x": ["1", "2"],
        "y": ["1"],
        "steps": 2,
        "layers": [{"W": [["0.5", "-1"], ["0.25", "1"]]}, {"W": [["1"], ["2"]], "b": ["0.5"]}],
    }
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
    spec = {
        "activations": ["identity"],
        "loss": "half_sse",
        "learning_rate": "0.25",
        "x": ["1"],
        "y": ["0"],
        "steps": 3,
        "layers": [{"W": [["1"]], "b": ["0.5"], "fixed": ["b"]}],
    }
    d = from_spec(spec)
    # a = w + 1/2, s = a; only w moves: w <- w - a/4 = (3/4) w - 1/8: 1 -> 5/8 -> 11/32 -> 17/128
    assert as_fractions(d.values["dL/db^1"]) == [F(3, 2)] and "b^1 new" not in d.values
    assert as_fractions(d.values["W^1 after 3 steps"]) == [F(17, 128)] and as_fractions(
        d.values["b^1 after 3 steps"]
    ) == [F(1, 2)]
    assert "fixed (kept, not updated): b^1" in d.notes
    kept_W = from_spec({**spec, "layers": [{"W": [["1"]], "b": ["0.5"], "fixed": ["W"]}]})
    # b <- b - a/4 with a = 1 + b: 1/2 -> 1/8 -> -5/32 -> -47/128
    assert "W^1 new" not in kept_W.values and as_fractions(kept_W.values["W^1 after 3 steps"]) == [F(1)]
    assert as_fractions(kept_W.values["b^1 after 3 steps"]) == [F(-47, 128)]


@pytest.mark.parametrize(
    "layer, match",
    [
        (
            {"W": [["1"]], "b": ["0"], "fixed": ["c"]},
            r"layers\[1\].fixed is \['c'\]; expected a list of the parameters kept",
        ),
        ({"W": [["1"]], "b": ["0"], "fixed": "b"}, r"layers\[1\].fixed is 'b'; expected a list"),
        ({"W": [["1"]], "b": ["0"], "fixed": ["b", "b"]}, r"layers\[1\].fixed is \['b', 'b'\]"),
        (
            {"W": [["1"]], "fixed": ["b"]},
            r"layers\[1\].fixed names b, but the layer has no b; give b \(or theta\) or take \"b\" out of fixed",
        ),
        (
            {"b": ["0"]},
            r"layers\[1\] takes the keys W \(required\), b or theta \(thresholds, b = -theta; neither: a layer "
            r"without biases\) and fixed; got \['b'\]",
        ),
        ({"W": [["1"]], "bias": ["0"]}, r"layers\[1\] takes the keys W \(required\), b"),
        ({"W": "1"}, r"layers\[1\].W must be a list of rows"),
        ({"W": [["1"]], "b": "0"}, r"layers\[1\].b must be a non-empty list of numbers"),
    ],
)
def test_layer_keys_refused_with_the_fix(layer, match):
    with pytest.raises(ValueError, match=match):
        read_spec(
            {
                "activations": ["identity"],
                "loss": "half_sse",
                "learning_rate": "1",
                "x": ["1"],
                "y": ["0"],
                "layers": [layer],
            }
        )


@pytest.mark.parametrize(
    "printed, match",
    [
        ({"a^1_3": "1"}, r"printed 'a\^1_3': a\^1 has 2 entries"),
        ({"w^1_{3,1} new": "1"}, r"printed 'w\^1_\{3,1\} new': W\^1 new has 2 rows and 2 columns in the file's layout"),
        ({"w^1_2 new": "1"}, r"printed 'w\^1_2 new' must be one number of the vector W\^1 new"),
        ({"q^1_1": "1"}, r"printed step 'q\^1_1' is not a step of this example"),
        ({"L after step 7": "1"}, r"printed step 'L after step 7' is not a step of this example"),
        ({"n^1": ["1", "2"], "n^1_1": "1"}, r"printed 'n\^1' is given whole and by its entries"),
    ],
)
def test_printed_single_entries_refused_with_the_fix(printed, match):
    with pytest.raises(ValueError, match=match):
        from_spec(_with(printed=printed))


def test_thresholds_are_shown_and_updated_as_theta():
    """theta = [...] (Negnevitsky, Han-Kamber-Pei: b = -theta). One identity unit, x = [1, 1], W = [0.4, 1],
    theta = 0.1, y = 0, L = 1/2 a^2, eta = 0.1: a = 1.3, s = 1.3, dL/dtheta = -1.3, theta + 0.13 = 0.23."""
    d = from_spec(
        {
            "activations": ["identity"],
            "loss": "half_sse",
            "learning_rate": "0.1",
            "x": ["1", "1"],
            "y": ["0"],
            "steps": 2,
            "layers": [{"W": [["0.4"], ["1"]], "theta": ["0.1"]}],
            "printed": {"theta^1_1 new": "0.23", "dL/dtheta^1": ["-1.25"]},
        }
    )
    assert as_fractions(d.values["n^1"]) == [F(13, 10)] and as_fractions(d.values["dL/dtheta^1"]) == [F(-13, 10)]
    assert as_fractions(d.values["theta^1 new"]) == [F(23, 100)] and not {"b^1 new", "dL/db^1"} & set(d.values)
    # step 2 from W = [0.27, 0.87], theta = 0.23: a = 0.91, theta + 0.091 = 0.321
    assert as_fractions(d.values["theta^1 after 2 steps"]) == [F(321, 1000)]
    assert [(e.step, e.printed) for e in d.errata] == [("dL/dtheta^1", "-1.25")]
    assert "n^1_1 = w^1_{1,1}*x_1 + w^1_{2,1}*x_2 - theta^1_1 = 0.4*1 + 1*1 - 0.1 = 1.3" in render(d, "text")
    with pytest.raises(
        ValueError, match=r"layers\[1\] has both b and theta; give the biases b or the thresholds theta"
    ):
        from_spec(
            {
                "activations": ["identity"],
                "loss": "half_sse",
                "learning_rate": "1",
                "x": ["1"],
                "y": ["0"],
                "layers": [{"W": [["1"]], "b": ["0"], "theta": ["0"]}],
            }
        )


def test_momentum_and_l2():
    """One identity unit, w = 1, b = 0, x = 1, y = 0, eta = 1/2, l2 = 1/10 (on w only), momentum 1/2,
    by hand: L = a^2/2 + l2/2 w^2 = 0.55; dW = a x + l2 w = 1.1, db = 1; Delta = -0.55, -0.5: w = 0.45,
    b = -0.5; a = -0.05, L = 0.011375; dW = -0.005, db = -0.05; Delta w = 0.0025 - 0.275, Delta b = 0.025 - 0.25:
    w = 0.1775, b = -0.725, L = (0.5475)^2 / 2 + 0.05 * 0.1775^2 = 0.1514534375."""
    d = from_spec(
        {
            "activations": ["identity"],
            "loss": "half_sse",
            "learning_rate": "0.5",
            "x": ["1"],
            "y": ["0"],
            "steps": 2,
            "l2": "0.1",
            "momentum": "0.5",
            "layers": [{"W": [["1"]], "b": ["0"]}],
        }
    )
    assert as_fractions(d.values["L"]) == [F(55, 100)] and as_fractions(d.values["dL/dW^1"]) == [F(11, 10)]
    assert as_fractions(d.values["W^1 new"]) == [F(45, 100)] and as_fractions(d.values["b^1 new"]) == [F(-1, 2)]
    assert as_fractions(d.values["L after step 1"]) == [F(11375, 1000000)]
    assert as_fractions(d.values["L after step 2"]) == [F(1514534375, 10**10)]
    assert as_fractions(d.values["W^1 after 2 steps"]) == [F(1775, 10000)] and as_fractions(
        d.values["b^1 after 2 steps"]
    ) == [F(-725, 1000)]
    assert "dL/dw^1_{1,1} = s^1_1*x_1 + l2*w^1_{1,1} = 1*1 + 0.1*1 = 1.1" in render(d, "text")


@pytest.mark.parametrize(
    "key, value, match",
    [
        ("momentum", "1", "momentum is '1'; expected a number from 0 up to \\(not including\\) 1"),
        ("momentum", "-0.5", "momentum is '-0.5'; expected a number from 0"),
        ("l2", "-1", "l2 is '-1'; expected a number of at least 0"),
        ("l2", "x", "l2 = 'x': unknown name 'x' at position 1"),
    ],
)
def test_coefficients_refused(key, value, match):
    with pytest.raises(ValueError, match=match):
        read_spec(_with(**{key: value}))


def test_loss_output_gives_the_networks_own_gradients():
    """cs231n's sigmoid neuron f = sigmoid(w0 x0 + w1 x1 + w2), w = [2, -3, -3], x = [-1, -2]: n = 1,
    df/dn = f (1 - f), df/dx = [2, -3] df/dn, df/dw = [-1, -2] df/dn (the notes' 0.393, -0.590, -0.197, -0.393)."""
    d = from_spec(
        {
            "activations": ["sigmoid"],
            "loss": "output",
            "learning_rate": "1",
            "x": ["-1", "-2"],
            "layers": [{"W": [["2"], ["-3"]], "b": ["-3"]}],
            "printed": {"dL/da^0": ["0.393", "-0.590"]},
        }
    )
    f = 1 / (1 + sp.exp(-1))
    slope = f * (1 - f)
    assert sp.simplify(d.values["L"][0] - f) == 0
    assert all(sp.simplify(v - e) == 0 for v, e in zip(d.values["dL/da^0"], [2 * slope, -3 * slope], strict=False))
    assert all(sp.simplify(v - e) == 0 for v, e in zip(d.values["dL/dW^1"], [-slope, -2 * slope], strict=False))
    assert d.errata == []
    assert "dL/dx_2 = w^1_{2,1}*s^1_1 = (-3)*0.196611933 = -0.589835800" in render(d, "text")
    with pytest.raises(ValueError, match='y: loss = "output" takes no target; leave y out'):
        read_spec(
            {
                "activations": ["sigmoid"],
                "loss": "output",
                "learning_rate": "1",
                "x": ["1"],
                "y": ["0"],
                "layers": [{"W": [["1"]], "b": ["0"]}],
            }
        )
    with pytest.raises(ValueError, match="missing key 'y': the targets"):
        read_spec(
            {
                "activations": ["sigmoid"],
                "loss": "sse",
                "learning_rate": "1",
                "x": ["1"],
                "layers": [{"W": [["1"]], "b": ["0"]}],
            }
        )


def test_sizes_a_person_can_read_refused_beyond(tmp_path):
    """A 1000 x 1000 network is refused at once (before a number is read), a deeply nested file, a 150-digit
    number and a scalar where a list belongs each get one line naming the key and the limit."""

    big = {
        "activations": ["sigmoid"],
        "loss": "sse",
        "learning_rate": "1",
        "x": ["1"] * 1000,
        "y": ["0"] * 1000,
        "layers": [{"W": [["0.1"] * 1000] * 1000, "b": ["0"] * 1000}],
    }
    with pytest.raises(
        ValueError,
        match=r"layers: the network has 1,001,000 parameters; .* at most 1,000 \(check a big network's "
        r"gradients with funcmlp check or funcmlp derive check\)",
    ):
        read_spec(big)
    nested = tmp_path / "nested.json"
    nested.write_text('{"x": ' + "[" * 100_000 + "]" * 100_000 + "}")
    with pytest.raises(
        ValueError, match="nested.json nests arrays deeper than its parser can read; a spec nests at most 3 levels"
    ):
        read_spec(nested)
    with pytest.raises(ValueError, match=r"x\[0\] = '9{100}.*: a number of more than 100 digits at position 1"):
        read_spec(_with(x=["9" * 150, "1"]))
    with pytest.raises(
        ValueError, match=r"layers\[1\].W must be a list of rows \(a list of lists of numbers\), got '0.5'"
    ):
        read_spec(_with(layers=[{"W": "0.5", "b": ["0"]}, OWN["layers"][1]]))
    with pytest.raises(ValueError, match="x must be a non-empty list of numbers, got 3"):
        read_spec(_with(x=3))
    with pytest.raises(
        ValueError,
        match=r"steps: 100,000 steps of 12 parameters on 2 example\(s\) is 2,400,000 parameter-steps; "
        r"a replay runs at most 2,000,000 \(about half a minute\): at most 83,333 steps here",
    ):
        read_spec(_with(steps=100_000, x=[["1", "-2"], ["0", "1"]], y=[["1", "0"], ["0", "1"]]))


def test_online_updates_one_example_at_a_time():
    """update = "online": identity unit, w = 1, b = 0, eta = 1/2, L = 1/2 (y - a)^2, examples (1, 1), (2, 0), by hand:
    example 1: a = 1, no change; example 2: a = 2, L = 2, s = 2: w = 1 - 2, b = -1. Mean loss after pass 1: 9/2;
    pass 2: example 1 (a = -2, s = -3): w = b = 1/2; example 2 (a = 3/2): w = -1, b = -1/4; mean loss 81/32."""
    d = from_spec(
        {
            "activations": ["identity"],
            "loss": "half_sse",
            "learning_rate": "0.5",
            "x": [["1"], ["2"]],
            "y": [["1"], ["0"]],
            "update": "online",
            "steps": 2,
            "layers": [{"W": [["1"]], "b": ["0"]}],
            "printed": {"L (example 2)": "2", "L after pass 2": "2.53125"},
        }
    )
    assert as_fractions(d.values["L"]) == [0] and as_fractions(d.values["W^1 new"]) == [1]  # the first example, in full
    assert as_fractions(d.values["L (example 2)"]) == [2]
    assert as_fractions(d.values["W^1 after example 2"]) == [-1] and as_fractions(d.values["b^1 after example 2"]) == [
        -1
    ]
    assert as_fractions(d.values["L after pass 1"]) == [F(9, 2)] and as_fractions(d.values["L after pass 2"]) == [
        F(81, 32)
    ]
    assert as_fractions(d.values["W^1 after 2 passes"]) == [-1] and as_fractions(d.values["b^1 after 2 passes"]) == [
        F(-1, 4)
    ]
    assert d.errata == [] and any("online: one step per example" in n for n in d.notes)
    with pytest.raises(ValueError, match='update is \'stochastic\'; expected "batch" .* or "online"'):
        read_spec(_with(update="stochastic"))


@pytest.mark.parametrize("source", [5, None, ["a.toml"]])
def test_a_spec_that_is_neither_a_path_nor_a_dict_is_named(source):
    with pytest.raises(TypeError, match=r"a spec is a path to a \.toml or \.json file or a dict of its keys, got "):
        from_spec(source)
