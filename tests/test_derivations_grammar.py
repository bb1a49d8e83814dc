"""derivations.model.grammar: the numbers of a spec file, read by a parser written for them. Expected
values are written here as sympy expressions built directly (not parsed), and every refusal is
one line naming the key and the position."""

import os

import pytest
import sympy as sp

from derivations.examples.replay import from_spec
from derivations.model.grammar import parse, printed_decimal

R = sp.Rational


@pytest.mark.parametrize(
    "text, expected",
    [
        ("0.1", R(1, 10)),
        ("-.5", R(-1, 2)),
        ("1e-3", R(1, 1000)),
        ("2.5E+2", R(250)),
        ("3/8", R(3, 8)),
        ("1 + sin(pi/4)", 1 + sp.sqrt(2) / 2),  # Hagan et al., ch. 11: the target g(p) = 1 + sin(pi p / 4) at p = 1
        ("-2^2", R(-4)),
        ("2^-1", R(1, 2)),
        ("2^3^2", R(512)),
        ("(1 + 2) * 3 - 4 / 8", R(17, 2)),
        ("sqrt(2) * sqrt(2)", R(2)),
        ("e^2", sp.exp(2)),
        ("log(e)", R(1)),
        ("exp(-1)", sp.exp(-1)),
        ("cos(pi)", R(-1)),
        ("tan(pi/4)", R(1)),
        ("  7  ", R(7)),
        (3, R(3)),
        (0.1, R(1, 10)),
        (-2.5, R(-5, 2)),
    ],
)
def test_accepted_numbers_are_exact(text, expected):
    assert sp.simplify(parse(text, "k") - expected) == 0


@pytest.mark.parametrize(
    "text, match",
    [
        ("__import__('os')", r"k = \"__import__\('os'\)\": unknown name '__import__' at position 1"),
        ("__import__('os').system('touch /tmp/funcmlp-grammar-pwned')", "unknown name '__import__' at position 1"),
        ("().__class__", "at position 2"),
        ("2*x", "unknown name 'x' at position 3"),
        ("1/0", "division by zero at position 2"),
        ("2**3", r"a power is written with \^, not \*\* at position 2"),
        ("sqrt(-1)", "is I, not a real finite number"),
        ("log(0)", "is zoo, not a real finite number"),
        ("0^0", "0 to a power that is not positive at position 2"),
        ("(1", "expected '\\)', found 'the end' at position 3"),
        ("1 2", "unexpected '2' at position 3"),
        ("1;2", "unexpected character ';' at position 2"),
        ("sin 1", "expected '\\(', found '1' at position 5"),
        ("1e999", r"a decimal exponent beyond \+-100 at position 1"),
        ("10^1000", "an exponent of at most 100 in magnitude is accepted at position 3"),
        ("9" * 150, "a number of more than 100 digits at position 1"),
        ("(" * 25 + "1" + ")" * 25, "parentheses nested more than 20 deep at position 21"),
        ("1" + " + 1" * 60, "has 241 characters; a number or expression of at most 200 is accepted"),
        ("10^99 * 100", "larger than 10\\^100 in magnitude"),
        ("", "k is empty"),
        (True, "k must be a number or a string"),
        (None, "k must be a number or a string"),
        ([1], "k must be a number or a string"),
        (float("nan"), "k is nan, not a finite number"),
    ],
)
def test_everything_else_is_refused_naming_the_key_and_the_position(text, match):
    with pytest.raises(ValueError, match=match) as error:
        parse(text, "k")
    assert "\n" not in str(error.value)
    assert not os.path.exists("/tmp/funcmlp-grammar-pwned")


def test_printed_numbers_are_decimals_only():
    assert printed_decimal("3.51085e-5", "printed") == "3.51085e-5" and printed_decimal(0.25, "printed") == "0.25"
    with pytest.raises(ValueError, match="printed is 'pi', not a decimal as a text prints it"):
        printed_decimal("pi", "printed")


def test_a_spec_takes_expressions_where_it_takes_numbers():
    """Hagan et al. ch. 11's target 1 + sin(pi/4) in a spec: a 1-1 identity network, L = 1/2 (y - a)^2,
    so s = a - y and a = w x + b: all exact."""
    d = from_spec(
        {
            "activations": ["identity"],
            "loss": "half_sse",
            "learning_rate": "1/10",
            "x": ["1"],
            "y": ["1 + sin(pi/4)"],
            "layers": [{"W": [["sqrt(2)"]], "b": ["-1/2"]}],
        }
    )
    a = sp.sqrt(2) - R(1, 2)
    assert sp.simplify(d.values["s^1"][0] - (a - 1 - sp.sqrt(2) / 2)) == 0
    with pytest.raises(ValueError, match=r"layers\[1\].b\[0\] = '-1/2 \+ os': unknown name 'os' at position 8"):
        from_spec(
            {
                "activations": ["identity"],
                "loss": "half_sse",
                "learning_rate": "1",
                "x": ["1"],
                "y": ["1"],
                "layers": [{"W": [["1"]], "b": ["-1/2 + os"]}],
            }
        )
