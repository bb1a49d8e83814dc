"""Issue 35 item 4: what texts print that the spec format could not say. Each printed key is replayed, and the
expected numbers are worked out here by hand (Fractions, or sympy's exp for the closed forms), never by the code
under test."""

from dataclasses import replace
from fractions import Fraction as F

import pytest
import sympy as sp

from derivations.examples.replay import from_spec
from derivations.formats.render import render
from derivations.model.derivation import agrees
from derivations.model.quantity import Key, entry_text, parse

# 2-2-1, row convention: n^1 = x W^1 + b^1, relu, then identity, half_sse
TWO = {
    "activations": ["relu", "identity"],
    "loss": "half_sse",
    "learning_rate": "0.5",
    "x": ["1", "2"],
    "y": ["1"],
    "layers": [{"W": [["0.5", "-1"], ["1", "0.5"]], "b": ["0", "0.5"]}, {"W": [["1"], ["2"]], "b": ["0"]}],
}


ONLINE_PAIR = {
    "activations": ["identity"],
    "loss": "half_sse",
    "learning_rate": "0.5",
    "update": "online",
    "x": [["1"], ["2"]],
    "y": [["0"], ["1"]],
    "layers": [{"W": [["1"]], "b": ["0"]}],
}
"""Two examples online on one identity unit (x 1, y 0 then x 2, y 1), from W 1, b 0: worked out in tests 4 and 7."""


def _two_by_hand():
    x, y, eta = [F(1), F(2)], F(1), F(1, 2)
    W1, b1, W2, b2 = [[F(1, 2), F(-1)], [F(1), F(1, 2)]], [F(0), F(1, 2)], [F(1), F(2)], F(0)
    n1 = [x[0] * W1[0][j] + x[1] * W1[1][j] + b1[j] for j in range(2)]  # [5/2, 1/2]
    a1 = [max(v, F(0)) for v in n1]
    a2 = a1[0] * W2[0] + a1[1] * W2[1] + b2  # 7/2
    s2 = a2 - y  # half_sse: dL/da = a - y, identity: f' = 1
    dW2 = [a1[i] * s2 for i in range(2)]
    return {"n1": n1, "a2": a2, "L": (y - a2) ** 2 / 2, "dL/da2": a2 - y, "dW2": dW2, "db2": s2, "eta": eta}


def _spec(base, **changes):
    return {**base, **changes}


def _values(d, name):
    return [F(int(v.p), int(v.q)) for v in d.values[name]]


def test_1_the_output_layers_dL_da_is_written_when_printed():
    hand = _two_by_hand()
    assert hand["dL/da2"] == F(5, 2)
    d = from_spec(_spec(TWO, printed={"dL/da^2": "2.5"}))
    assert _values(d, "dL/da^2") == [hand["dL/da2"]] and d.errata == []
    assert "dL/da^2" not in from_spec(TWO).values  # not printed: not written
    # sse: dL/da = 2 (a - y); a batch's sensitivities carry 1/B
    sse = from_spec(_spec(TWO, loss="sse", printed={"dL/da^2_1": "5"}))
    assert _values(sse, "dL/da^2") == [2 * (hand["a2"] - 1)] and sse.errata == []
    wrong = from_spec(_spec(TWO, printed={"dL/da^2_1": "2.7"}))
    assert [(e.step, e.printed) for e in wrong.errata] == [("dL/da^2", "2.7")]


def test_2_the_activations_derivative_at_the_net_input():
    hand = _two_by_hand()
    relu = [F(1) if v > 0 else F(0) for v in hand["n1"]]
    d = from_spec(_spec(TWO, printed={"f'(n^1)": ["1", "1"], "f'(n^2_1)": "1"}))
    assert _values(d, "f'(n^1)") == relu and _values(d, "f'(n^2)") == [F(1)] and d.errata == []
    # a sigmoid paired with binary cross-entropy: sigma'(n) = sigma (1 - sigma) is still printed by texts
    spec = {
        "activations": ["sigmoid"],
        "loss": "binary_cross_entropy",
        "learning_rate": "1",
        "x": ["0.5"],
        "y": ["1"],
        "layers": [{"W": [["1"]], "b": ["0.5"]}],
        "printed": {"f'(n^1_1)": "0.1966"},
    }
    n = sp.Rational(1, 2) * 1 + sp.Rational(1, 2)  # 1
    sigma = 1 / (1 + sp.exp(-n))
    expected = sigma * (1 - sigma)  # 0.19661193...
    d = from_spec(spec)
    assert abs(sp.N(d.values["f'(n^1)"][0] - expected, 30)) < sp.Float("1e-25") and d.errata == []
    assert parse("f'(n^2_1) (step 2)") == (Key("f'", 2, 2), (1,))
    assert entry_text(Key("f'", 1), (2,)) == "f'(n^1_2)" and Key("f'", 3).latex() == "f'(n^{3})"


def test_3_a_number_printed_twice():
    # L = (1 - 7/2)^2 / 2 = 25/8 = 3.125, printed 3.13 in one place and 3.1 in another
    hand = _two_by_hand()
    assert hand["L"] == F(25, 8)
    d = from_spec(_spec(TWO, printed={"L": "3.13", "L #2": "3.1", "a^1_1": "2.5", "a^1_1 #2": "2.50"}))
    assert d.errata == []
    wrong = from_spec(_spec(TWO, printed={"L": "3.13", "L #2": "3.3"}))
    assert [(e.step, e.printed, e.where) for e in wrong.errata] == [("L", "3.3", "L #2")]
    assert parse("a^1_2 #2") == parse("a^1_2")


def test_4_a_later_online_examples_step():
    # online, identity, half_sse: example 1 (x 1, y 0) from W 1, b 0; example 2 (x 2, y 1) from its result
    eta, W, b = F(1, 2), F(1), F(0)
    a = W * 1 + b
    W, b = W - eta * (a - 0) * 1, b - eta * (a - 0)  # 1/2, -1/2
    n2 = W * 2 + b  # 1/2
    s2 = n2 - 1
    spec = {
        **ONLINE_PAIR,
        "printed": {"a^1 (example 2)": "0.5", "s^1_1 (example 2)": "-0.5", "dL/dw^1_{1,1} (example 2)": "-1"},
    }
    d = from_spec(spec)
    assert _values(d, "n^1 (example 2)") == [n2] and _values(d, "s^1 (example 2)") == [s2]
    assert _values(d, "dL/dW^1 (example 2)") == [s2 * 2] and _values(d, "dL/db^1 (example 2)") == [s2]
    assert _values(d, "W^1 after example 2") == [W - eta * s2 * 2] and d.errata == []
    assert "a^1 (example 2)" not in from_spec(_spec(spec, printed={})).values


def test_5_weight_changes():
    hand = _two_by_hand()
    eta = hand["eta"]
    d = from_spec(_spec(TWO, printed={"delta_W^2": ["-3.125", "-0.625"], "delta_b^2_1": "-1.25"}))
    assert _values(d, "delta_W^2") == [-eta * g for g in hand["dW2"]] and d.errata == []
    assert _values(d, "delta_b^2") == [-eta * hand["db2"]]
    # with momentum from rest, the change is the velocity, v = -eta dL/dw; from a starting velocity mu v - eta dL/dw
    layers = [TWO["layers"][0], {**TWO["layers"][1], "velocity": {"W": [["0.1"], ["0"]]}}]
    moving = from_spec(_spec(TWO, momentum="0.5", layers=layers, printed={"delta_w^2_{1,1}": "-3.075"}))
    assert _values(moving, "delta_W^2")[0] == F(1, 2) * F(1, 10) - eta * hand["dW2"][0] and moving.errata == []
    assert parse("delta_w^2_{1,1}") == (Key("delta_W", 2), (1, 1)) and parse("delta^2_1")[0].quantity == "delta"
    assert Key("delta_W", 2).latex() == r"\Delta W^{2}"


ONE = {
    "activations": ["identity"],
    "loss": "half_sse",
    "learning_rate": "0.25",
    "x": ["1"],
    "y": ["0"],
    "layers": [{"W": [["1"]], "b": ["0"]}],
}


def _one_by_hand(steps):
    """[(W, b, dL/dW) before each step], and the final (W, b): a = W + b, dL/dW = dL/db = a."""
    W, b, out = F(1), F(0), []
    for _ in range(steps):
        a = W + b
        out.append((W, b, a))
        W, b = W - F(1, 4) * a, b - F(1, 4) * a
    return out, (W, b)


def test_6_parameters_and_gradients_of_middle_steps():
    before, _ = _one_by_hand(6)
    W4, b4 = before[4][0], before[4][1]  # after step 4 = before step 5
    assert (W4, b4) == (F(17, 32), F(-15, 32))
    d = from_spec(_spec(ONE, steps=6, printed={"W^1 after step 4": "0.53125", "dL/dW^1 (step 5)": "0.0625"}))
    assert _values(d, "W^1 after step 4") == [W4] and _values(d, "b^1 after step 4") == [b4]
    assert _values(d, "dL/dW^1 (step 5)") == [before[4][2]] and d.errata == []
    assert "dL/dW^1 (step 5)" not in from_spec(_spec(ONE, steps=6)).values  # (steps 1, 2, 3 and 6 by default)
    # online: the parameters after pass 2 of two examples (x 1, y 0; x 2, y 1), eta 1/2, from W 1, b 0
    W, b, eta = F(1), F(0), F(1, 2)
    for _ in range(2):
        for x, y in ((F(1), F(0)), (F(2), F(1))):
            s = W * x + b - y
            W, b = W - eta * s * x, b - eta * s
    assert (W, b) == (F(1), F(-7, 16))
    online = {
        **ONE,
        "learning_rate": "0.5",
        "update": "online",
        "steps": 3,
        "x": [["1"], ["2"]],
        "y": [["0"], ["1"]],
        "printed": {"W^1 after pass 2": "1", "b^1 after pass 2": "-0.4375"},
    }
    d = from_spec(online)
    assert _values(d, "W^1 after pass 2") == [W] and _values(d, "b^1 after pass 2") == [b] and d.errata == []


def test_7_the_running_loss_of_an_online_pass():
    # example 1: a = 1, L = 1/2; after it W = 1/2, b = -1/2; example 2: a = 1/2, L = (1 - 1/2)^2 / 2 = 1/8
    losses = [F(1, 2), F(1, 8)]
    spec = {
        **ONLINE_PAIR,
        "printed": {"L running sum (example 2)": "0.625", "L running mean (example 2)": "0.3125"},
    }
    d = from_spec(spec)
    assert _values(d, "L running sum (example 2)") == [sum(losses)]
    assert _values(d, "L running mean (example 2)") == [sum(losses) / 2] and d.errata == []
    assert Key("L", None, 2, "running", "mean").latex() == r"\bar{L}_{\text{examples 1 to 2}}"


def test_8_the_loss_after_the_one_step():
    # a = 2 W + b = 2, dL/dW = 2 a = 4, dL/db = 2; after: W = 1 - 0.4, b = -0.2, a = 1, L = 1/2
    W, b = F(1) - F(1, 10) * 4, F(0) - F(1, 10) * 2
    loss = (2 * W + b) ** 2 / 2
    spec = _spec(ONE, x=["2"], learning_rate="0.1", printed={"L after step 1": "0.5"})
    d = from_spec(spec)
    assert _values(d, "L after step 1") == [loss] == [F(1, 2)] and d.errata == []
    wrong = from_spec(_spec(spec, printed={"L after step 1": "0.45"}))
    assert [e.step for e in wrong.errata] == ["L after step 1"]


def test_11_softmaxs_exponentials():
    spec = {
        "activations": ["softmax"],
        "loss": "cross_entropy",
        "learning_rate": "0.5",
        "x": ["1"],
        "y": ["1", "0"],
        "layers": [{"W": [["1", "-1"]], "b": ["0", "0.5"]}],
        "printed": {"exp(n^1)": ["2.718", "0.6065"]},
    }
    d = from_spec(spec)
    expected = [sp.exp(1), sp.exp(sp.Rational(-1, 2))]  # n = [1, -1 + 0.5]
    assert [sp.simplify(v - e) for v, e in zip(d.values["exp(n^1)"], expected, strict=True)] == [0, 0]
    assert d.errata == []


def test_12_a_programs_float64_digits_are_not_an_erratum():
    # exact L = 25/8 = 3.125; a program prints 3.1250000000000004 (float64 noise): no erratum, a note
    d = from_spec(_spec(TWO, printed={"L": "3.1250000000000004"}))
    assert d.errata == [] and any("float64 rounding" in note for note in d.notes)
    far = from_spec(_spec(TWO, printed={"L": "3.1250000000004"}))  # 13 digits off by 4e-13: an erratum
    assert [e.printed for e in far.errata] == ["3.1250000000004"]
    assert not agrees("3.13", F(25, 8) + F(1, 50)) and agrees("0.30000000000000004", sp.Rational(3, 10))


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
def test_every_format_names_the_new_steps(fmt):
    d = from_spec(_spec(TWO, printed={"dL/da^2": "2.5", "f'(n^1)": ["1", "1"], "delta_W^2": ["-3.125", "-0.625"]}))
    out = render(d, fmt)
    names = ["dL/da^2", "f'(n^1)", "delta_W^2"] if fmt == "text" else [r"\Delta W^{2}", "f'(n^{1})"]
    assert all(name in out for name in names), fmt


def test_9_the_bipolar_sigmoid():
    import jax
    import jax.numpy as jnp
    import numpy as np

    from funcmlp.registry.activations import ACTIVATIONS, get_activation

    spec = ACTIVATIONS["bipolar_sigmoid"]
    v = sp.Symbol("v", real=True)
    assert sp.simplify((2 / (1 + sp.exp(-v)) - 1 - sp.tanh(v / 2)).rewrite(sp.exp)) == 0
    assert sp.simplify(spec.sympy_derivative(v, None) - sp.diff(sp.tanh(v / 2), v)) == 0
    act, points = get_activation("bipolar_sigmoid"), jnp.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    assert np.allclose(act(points), np.tanh(np.asarray(points) / 2), atol=1e-6)
    grads = jax.vmap(jax.grad(lambda n: act(n)))(points)
    assert np.allclose(act.derivative(points), grads, atol=1e-6)
    # a replay: n = 1 * 1 + 0 = 1, a = tanh(1/2), f'(n) = (1 - a^2) / 2 = 0.3932...
    d = from_spec(
        {
            "activations": ["bipolar_sigmoid"],
            "loss": "half_sse",
            "learning_rate": "0.5",
            "x": ["1"],
            "y": ["1"],
            "layers": [{"W": [["1"]], "b": ["0"]}],
            "printed": {"a^1": "0.4621", "f'(n^1)": "0.3932"},
        }
    )
    a = sp.tanh(sp.Rational(1, 2))
    assert abs(sp.N(d.values["a^1"][0] - a, 30)) < sp.Float("1e-25")
    assert abs(sp.N(d.values["f'(n^1)"][0] - (1 - a**2) / 2, 30)) < sp.Float("1e-25") and d.errata == []


def test_10_the_delta_rules_learning_rate():
    # Adaline: a = x w + b = 1 * 0.2 + 0.5 * 0.4 = 0.4; the delta rule w + eta (y - a) x with eta = 0.1
    x, y, w, b, eta = [F(1), F(1, 2)], F(1), [F(1, 5), F(2, 5)], F(0), F(1, 10)
    a = x[0] * w[0] + x[1] * w[1] + b
    new_w, new_b = [w[i] + eta * (y - a) * x[i] for i in range(2)], b + eta * (y - a)
    assert new_w == [F(26, 100), F(43, 100)]
    spec = {
        "activations": ["identity"],
        "loss": "sse",
        "learning_rate": "0.1",
        "learning_rate_convention": "delta_rule",
        "x": ["1", "0.5"],
        "y": ["1"],
        "layers": [{"W": [["0.2"], ["0.4"]], "b": ["0"]}],
        "printed": {"W^1 new": ["0.26", "0.43"], "b^1 new": "0.06"},
    }
    d = from_spec(spec)
    assert _values(d, "W^1 new") == new_w and _values(d, "b^1 new") == [new_b] and d.errata == []
    assert any("delta_rule" in note for note in d.notes)
    # the gradient convention (the default) on sse takes the step w - eta 2 (a - y) x: twice as long
    plain = from_spec({**spec, "learning_rate_convention": "gradient", "printed": {}})
    assert _values(plain, "W^1 new") == [w[i] + 2 * eta * (y - a) * x[i] for i in range(2)]
    with pytest.raises(ValueError, match="learning_rate_convention"):
        from_spec({**spec, "learning_rate_convention": "adaline"})


def test_the_page_and_the_program_take_the_new_steps(tmp_path):
    """A page outlines the new steps (on the units, the weights and the loss) and the program still runs and prints
    the replay's numbers for what it computes, with the new quantities printed at step 1 and step 2."""
    from test_derivations_program import assert_equals_the_replay, run_script

    from derivations.examples.replay import run
    from derivations.examples.spec import read_spec
    from derivations.formats.page import page
    from derivations.formats.program import program

    printed = {"dL/da^2": "2.5", "f'(n^1)": ["1", "1"], "delta_W^2": ["-3.125", "-0.625"], "exp(n^2)": "33.1155"}
    printed["f'(n^1) (step 2)"] = ["1", "1"]
    ex = read_spec(_spec(TWO, steps=2, printed=printed))
    d = run(ex)
    assert {"dL/da^2", "f'(n^1)", "delta_W^2", "exp(n^2)", "f'(n^1) (step 2)"} <= set(d.values)
    html = page(ex, d)
    assert "f'(n^{1})" in html or "f&#x02032;" in html or "delta_W^2" in html
    printed_by_program = run_script(program(ex, d), tmp_path)
    new = {"dL/da^2", "f'(n^1)", "delta_W^2", "exp(n^2)", "f'(n^1) (step 2)"}
    assert not new & set(printed_by_program)  # the program computes the network's own quantities only
    assert_equals_the_replay(printed_by_program, replace(d, steps=[s for s in d.steps if s.name not in new]))
