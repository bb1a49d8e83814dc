"""Each step as a textbook writes it (derivations.examples.textbook): the formula, the numbers
substituted, the result, and the chain-rule factorisation of dL/dw.

References: Matt Mazur's widely used "A Step by Step Backpropagation Example" (2-2-2 sigmoid
network, E = sum 1/2 (t - o)^2, eta = 0.5), whose printed numbers were checked by hand; and,
for every line of every example, the printed numbers themselves: the substituted form is
evaluated here (sympy parses the text; the activations' rules are written here) and must give
the printed result."""

import re

import pytest
import sympy as sp
from sympy.parsing.sympy_parser import convert_xor, implicit_multiplication, parse_expr, standard_transformations

from derivations.examples.replay import from_spec
from derivations.examples.spec import SEED_EXAMPLES, read_spec, seed_spec_path
from derivations.formats.render import render

MAZUR = {
    "title": "Mazur's step-by-step backpropagation example",
    "convention": "column",
    "activations": ["sigmoid", "sigmoid"],
    "loss": "half_sse",
    "learning_rate": "0.5",
    "x": ["0.05", "0.10"],
    "y": ["0.01", "0.99"],
    "layers": [
        {"W": [["0.15", "0.20"], ["0.25", "0.30"]], "b": ["0.35", "0.35"]},
        {"W": [["0.40", "0.45"], ["0.50", "0.55"]], "b": ["0.60", "0.60"]},
    ],
}

# the text's numbers (its w5..w8 are W^2 row-major in the column convention, w1..w4 W^1)
MAZUR_PRINTED = {
    "n^1_1": "0.3775",
    "a^1_1": "0.593269992",
    "a^1_2": "0.596884378",
    "n^2_1": "1.105905967",
    "a^2_1": "0.75136507",
    "a^2_2": "0.772928465",
    "L": "0.298371109",
    "dL/dw^2_{1,1}": "0.082167041",
    "w^2_{1,1} new": "0.35891648",
    "w^2_{1,2} new": "0.408666186",
    "w^2_{2,1} new": "0.511301270",
    "w^2_{2,2} new": "0.561370121",
    "dL/dw^1_{1,1}": "0.000438568",
    "w^1_{1,1} new": "0.149780716",
    "w^1_{1,2} new": "0.19956143",
    "w^1_{2,1} new": "0.24975114",
    "w^1_{2,2} new": "0.29950229",
}


def _lines(d) -> dict:
    return {line.text_parts[0]: line for step in d.steps for line in step.lines}


def test_mazur_numbers_appear_as_the_text_printed_them():
    lines = _lines(from_spec(MAZUR))
    for name, printed in MAZUR_PRINTED.items():
        value = sp.N(lines[name].value, 30)
        assert abs(value - sp.Float(printed, 30)) <= sp.Float(10) ** -(len(printed.split(".")[1])), (
            name,
            value,
            printed,
        )


def test_mazur_chain_rule_factors_are_the_texts():
    """dE/dw5 = dE/dout_o1 * dout_o1/dnet_o1 * dnet_o1/dw5 = 0.74136507 * 0.186815602 * 0.593269992."""
    d = from_spec(MAZUR)
    chain = [line for step in d.steps for line in step.lines if line.text_parts[0] == "dL/dw^2_{1,1}"][1]
    assert chain.text_parts[1] == "dL/da^2_1 * da^2_1/dn^2_1 * dn^2_1/dw^2_{1,1}"
    assert chain.text_parts[2] == "(0.741365070)(0.186815602)(0.593269992)"
    assert chain.text().endswith("= 0.0821670406")
    assert r"\frac{\partial L}{\partial a^{2}_{1}} \cdot \frac{\partial a^{2}_{1}}{\partial n^{2}_{1}}" in chain.latex()


def test_the_shipped_mazur_file_is_this_example_and_the_text_has_no_errata():
    from pathlib import Path

    from derivations.examples.spec import read_spec

    path = Path(__file__).parent.parent / "examples" / "worked" / "mazur_222.toml"
    shipped, here = read_spec(path), read_spec(MAZUR)
    assert (shipped.weights, shipped.biases, shipped.x, shipped.y, shipped.loss, shipped.learning_rate) == (
        here.weights,
        here.biases,
        here.x,
        here.y,
        here.loss,
        here.learning_rate,
    )
    assert len(shipped.printed) == 5 and from_spec(path).errata == []


def test_a_step_as_a_textbook_writes_it():
    d = from_spec(MAZUR)
    text = render(d, "text")
    assert (
        "s^2_1 = (a^2_1 - y_1)*a^2_1*(1 - a^2_1) = (0.751365070 - 0.01)*0.751365070*(1 - 0.751365070) = 0.138498562"
        in text
    )
    assert "n^1_1 = w^1_{1,1}*x_1 + w^1_{1,2}*x_2 + b^1_1 = 0.15*0.05 + 0.2*0.1 + 0.35 = 0.3775" in text
    assert "w^2_{1,1} new = w^2_{1,1} - eta*dL/dw^2_{1,1} = 0.4 - 0.5*0.0821670406 = 0.358916480" in text
    latex = render(d, "latex")
    assert r"s^{2}_{1} &= \left(a^{2}_{1} - y_{1}\right) a^{2}_{1} \left(1 - a^{2}_{1}\right) \\ " in latex
    assert r"&\approx 0.138498562" in latex
    assert "\\begin{aligned}" in render(d, "markdown")


TRANSFORMS = standard_transformations + (implicit_multiplication, convert_xor)  # the lines write powers with ^
RULES = {  # written here: the kinked activations by their definitions, alpha as in the specs below
    "relu": lambda v: sp.Max(0, v),
    "relu_prime": lambda v: sp.Integer(1) if v > 0 else sp.Integer(0),
    "leaky_relu": lambda v: v if v > 0 else v / 5,
    "leaky_relu_prime": lambda v: sp.Integer(1) if v > 0 else sp.Rational(1, 5),
    "elu": lambda v: v if v >= 0 else sp.exp(v) - 1,
    "elu_prime": lambda v: sp.Integer(1) if v >= 0 else sp.exp(v),
}
SPECS = [
    MAZUR,
    {
        "activations": ["tanh", "softmax"],
        "loss": "cross_entropy",
        "learning_rate": "0.1",
        "x": ["0.5", "-1.5"],
        "y": ["0", "1", "0"],
        "layers": [
            {"W": [["0.2", "-0.4"], ["0.7", "0.1"]], "b": ["0.1", "-0.2"]},
            {"W": [["0.3", "-0.6", "0.2"], ["0.5", "0.4", "-0.9"]], "b": ["0", "0.1", "-0.1"]},
        ],
    },
    {
        "activations": ["leaky_relu(0.2)", "sigmoid"],
        "loss": "binary_cross_entropy",
        "learning_rate": "1",
        "x": ["2", "-1"],
        "y": ["0.25"],
        "layers": [{"W": [["0.5", "-1"], ["1", "0.5"]], "b": ["-0.5", "0"]}, {"W": [["1.5"], ["-2"]], "b": ["0.25"]}],
    },
    {
        "activations": ["elu", "softmax"],
        "loss": "half_sse",
        "learning_rate": "0.5",
        "x": ["-1", "0.5"],
        "y": ["0.2", "0.8"],
        "convention": "column",
        "layers": [{"W": [["0.5", "0.25"]], "b": ["-0.1"]}, {"W": [["1"], ["-1"]], "b": ["0", "0.5"]}],
    },
    {
        "activations": ["gelu", "identity"],
        "loss": "softmax_cross_entropy",
        "learning_rate": "0.3",
        "x": ["1"],
        "y": ["0.3", "0.7"],
        "layers": [{"W": [["0.5", "-0.75"]], "b": ["0.1", "0.2"]}, {"W": [["1", "-1"], ["0.5", "2"]], "b": ["0", "0"]}],
    },
]


def _evaluate(text: str):
    text = text.replace("'(", "_prime(").replace(")(", ")*(")
    return sp.N(
        parse_expr(
            text,
            local_dict={"exp": sp.exp, "log": sp.log, "erfc": sp.erfc, "sqrt": sp.sqrt, "pi": sp.pi, **RULES},
            transformations=TRANSFORMS,
        ),
        30,
    )


NUMBER = re.compile(r"\d+\.?\d*(?:e-?\d+)?")


@pytest.mark.parametrize(
    "spec", [*SPECS, *SEED_EXAMPLES], ids=lambda s: s if isinstance(s, str) else "-".join(s["activations"])
)
def test_every_substituted_form_gives_the_printed_result(spec):
    """The numbers written into each formula, evaluated here, give the line's result: to 1e-7
    of it, or 1e-8 of the largest number written (9 significant digits each: a sum of terms
    larger than the result carries their rounding), and each chain-rule line's product equals
    its dL/dw."""
    d = from_spec(seed_spec_path(spec) if isinstance(spec, str) else spec)
    checked = 0
    for step in d.steps:
        for line in (line for line in step.lines if len(line.text_parts) > 2):  # not "dL/db = s = value"
            substituted = line.text_parts[-1]
            evaluated, value = _evaluate(substituted), sp.N(line.value, 30)
            assert evaluated.is_Number, (step.name, line.text())  # every symbol had its number
            largest = max(float(v) for v in NUMBER.findall(substituted))
            assert abs(evaluated - value) <= 1e-7 * abs(value) + 1e-8 * largest, (step.name, line.text())
            checked += 1
        chains = [line for line in step.lines if " * " in line.text_parts[1]]  # dL/da * da/dn * dn/dw
        for chain, value in zip(chains, step.values if chains else (), strict=True):
            assert abs(sp.N(chain.value - value, 50)) <= sp.Float("1e-40") * max(1, abs(sp.N(value, 50))), chain.text()
    assert checked > 10


def _network(sizes, activation="tanh"):
    return {
        "activations": [activation] * (len(sizes) - 1),
        "loss": "sse",
        "learning_rate": "0.1",
        "x": ["0.5"] * sizes[0],
        "y": ["0"] * sizes[-1],
        "layers": [
            {"W": [["0.1"] * b for _ in range(a)], "b": ["0"] * b} for a, b in zip(sizes, sizes[1:], strict=False)
        ],
    }


@pytest.mark.parametrize(
    "sizes, entries, chain",
    [
        ((4, 4, 1), True, True),  # 20 weights, 25 parameters: every entry and every chain-rule factorisation
        ((3, 3, 4), True, False),  # 21 weights: entries, and a note pointing to --chain
        ((5, 5, 5), True, False),  # 60 parameters: still entry by entry
        ((10, 5, 1), False, False),  # 61 parameters: the steps as vectors and matrices only, and a note saying why
    ],
)
def test_entries_and_chain_lines_switch_at_their_limits(sizes, entries, chain):
    d = from_spec(_network(sizes))
    lines = [line for step in d.steps for line in step.lines]
    factored = [line for line in lines if " * " in line.text_parts[1]]
    weights = sum(a * b for a, b in zip(sizes, sizes[1:], strict=False))
    assert bool(lines) == entries and len(factored) == (weights if chain else 0)
    notes = " ".join(d.notes)
    assert ("at most 60 parameters; this network has 61" in notes) == (not entries)
    assert (f"at most 20 weights (this one has {weights})" in notes) == (entries and not chain)


def test_no_entries_for_a_batch():
    batch = dict(MAZUR, x=[["0.05", "0.10"], ["0.1", "0.2"]], y=[["0.01", "0.99"], ["0.5", "0.5"]])
    d = from_spec(batch)
    assert all(not step.lines for step in d.steps) and "this is a batch" in " ".join(d.notes)


def test_a_three_layer_sigmoid_network_prints_in_seconds_and_right():
    """Exact closed forms of deep sigmoid networks nest exponentials; past a size they are carried
    as 50-digit decimals (the values checked here against mpmath, computed independently)."""
    import mpmath

    spec = {
        "activations": ["sigmoid"] * 3,
        "loss": "half_sse",
        "learning_rate": "0.5",
        "x": ["0.5", "0.5"],
        "y": ["0", "1"],
        "layers": [{"W": [["0.1", "0.2"], ["0.3", "0.4"]], "b": ["0.1", "0.1"]}] * 3,
    }
    d = from_spec(spec)
    text = render(d, "text")
    with mpmath.workdps(40):
        a = [mpmath.mpf("0.5")] * 2
        W = [[mpmath.mpf("0.1"), mpmath.mpf("0.2")], [mpmath.mpf("0.3"), mpmath.mpf("0.4")]]
        for _ in range(3):
            a = [1 / (1 + mpmath.exp(-(a[0] * W[0][j] + a[1] * W[1][j] + mpmath.mpf("0.1")))) for j in range(2)]
        loss = ((a[0] - 0) ** 2 + (a[1] - 1) ** 2) / 2
    assert abs(sp.N(d.values["L"][0], 40) - sp.Float(mpmath.nstr(loss, 35), 40)) < sp.Float("1e-30")
    assert "L = (y_1 - a^3_1)^2/2 + (y_2 - a^3_2)^2/2" in text and len(text.splitlines()) > 100


def test_chain_rule_on_request_for_one_weight_of_a_bigger_network(capsys):
    """Past 20 weights the factorisation comes on request: funcmlp derive --example FILE --chain w^k_{r,c}."""
    import json
    import tempfile

    from funcmlp.cli import main

    big = {
        "activations": ["tanh", "identity"],
        "loss": "sse",
        "learning_rate": "0.1",
        "x": ["1", "0.5", "-1", "2", "0"],
        "y": ["0", "1"],
        "layers": [
            {"W": [[str(0.1 * (i - j)) for j in range(4)] for i in range(5)], "b": ["0"] * 4},
            {"W": [["0.5", "-0.5"]] * 4, "b": ["0", "0"]},
        ],
    }
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/big.json"
        with open(path, "w") as handle:
            json.dump(big, handle)
        assert main(["derive", "--example", path, "--chain", "w^1_{4,3}"]) == 0
        out = capsys.readouterr().out
        assert main(["derive", "--example", path, "--chain", "w^1_{6,1}"]) == 2
        assert "W^1 has 5 rows and 4 columns in the row convention" in capsys.readouterr().err
        assert main(["derive", "--example", path, "--chain", "w13"]) == 2
        assert "a weight is named w^k_{r,c}" in capsys.readouterr().err
    # row convention: w^1_{4,3} joins input 4 (x_4 = 2) to unit 3; independent: dL/dw = dL/da^1_3 tanh'(n^1_3) x_4
    x = [sp.Rational(v) for v in big["x"]]
    n3 = sum(x[i] * sp.Rational(big["layers"][0]["W"][i][2]) for i in range(5))
    a = [sp.tanh(sum(x[i] * sp.Rational(big["layers"][0]["W"][i][j]) for i in range(5))) for j in range(4)]
    out2 = [sum(a[j] * sp.Rational(big["layers"][1]["W"][j][m]) for j in range(4)) for m in range(2)]
    dL_da3 = sum(2 * (out2[m] - [0, 1][m]) * sp.Rational(big["layers"][1]["W"][2][m]) for m in range(2))
    expected = sp.N(dL_da3 * (1 - sp.tanh(n3) ** 2) * x[3], 30)
    line = [
        row
        for row in out.splitlines()
        if row.strip().startswith("dL/dw^1_{4,3} = dL/da^1_3 * da^1_3/dn^1_3 * dn^1_3/dw^1_{4,3}")
    ]
    assert len(line) == 1 and line[0].endswith(f"= {sp.N(expected, 9)}"), (line, expected)


def test_text_as_a_textbook_writes_it():
    """The loss by its formula, not its code name; (y_1 - a^2_1)^2, not (-a^2_1 + y_1)**2 (Mazur's
    E_total = sum 1/2 (target - out)^2)."""
    text = render(from_spec(MAZUR), "text")
    assert "L                      = 1/2 sum_j (y_j - a^2_j)^2\n" in text and "half_sse(y, a^2)" not in text
    assert "L = (y_1 - a^2_1)^2/2 + (y_2 - a^2_2)^2/2 = (0.01 - 0.751365070)^2/2 + (0.99 - 0.772928465)^2/2" in text
    latex = render(from_spec(MAZUR), "latex")
    assert r"\[ L = 1/2 \sum_j (y_j - a^{2}_j)^2 \approx 0.298371109 \]" in latex


def test_chain_rule_of_a_bias_and_of_a_threshold():
    """One identity unit, w = 3, x = 2, y = 1, half SSE: n = 3*2 + 0.5 = 6.5, dL/da = a - y = 5.5,
    so dL/db = 5.5 * 1 * 1 = 5.5. With a threshold theta = 0.5 instead (n = 3*2 - 0.5 = 5.5,
    dL/da = 4.5), dL/dtheta = 4.5 * 1 * (-1) = -4.5. A bias where the file gives thresholds, a
    layer without biases and a unit out of range are refused naming the way."""
    from derivations.examples.factors import chain_rule
    from derivations.examples.replay import run

    one = {"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.1", "x": ["2"], "y": ["1"]}
    ex = read_spec({**one, "layers": [{"W": [["3"]], "b": ["0.5"]}]})
    line = chain_rule(run(ex), ex, "b^1_1")
    assert line.text() == "dL/db^1_1 = dL/da^1_1 * da^1_1/dn^1_1 * dn^1_1/db^1_1 = (5.5)(1)(1) = 5.5"
    assert line.value == sp.Rational(11, 2)
    ex = read_spec({**one, "layers": [{"W": [["3"]], "theta": ["0.5"]}]})
    line = chain_rule(run(ex), ex, "theta^1_{1}")
    assert line.text() == "dL/dtheta^1_1 = dL/da^1_1 * da^1_1/dn^1_1 * dn^1_1/dtheta^1_1 = (4.5)(1)(-1) = -4.5"
    assert line.value == sp.Rational(-9, 2)
    assert r"\frac{\partial L}{\partial \theta^{1}_{1}}" in line.latex()
    for spec, name, match in [
        (ex, "b^1_1", "layer 1 has thresholds in the spec file; name it theta^1_1"),
        (read_spec({**one, "layers": [{"W": [["3"]]}]}), "b^1_1", "layer 1 has no biases"),
        (ex, "theta^1_2", "layer 1 has units 1 to 1"),
        (ex, "theta^1_{1", "a weight is named w^k_{r,c}"),
    ]:
        with pytest.raises(ValueError, match=re.escape(match)):
            chain_rule(run(spec), spec, name)
