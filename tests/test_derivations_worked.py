"""derivations.worked: the seeds' worked examples in exact rational arithmetic, with errata.
Expected values are computed by hand (in the comments), not copied from the code."""
from fractions import Fraction

import pytest

from derivations.worked import EXAMPLES, SEED_000_HOUSE_PRICE, SEED_003_RELU_LINEAR, render, run


def frac(values):
    return [Fraction(int(v.p), int(v.q)) for v in values]


def test_seed_003_relu_linear_eqs_39_to_51_are_right():
    result = run(SEED_003_RELU_LINEAR)
    assert frac(result.values["s^2"]) == [8]  # -2 (0 - 4) * 1, eq. 45
    assert frac(result.values["s^1"]) == [8, 8]  # 8 [1 1] I, eq. 47
    assert frac(result.values["W^1 new"]) == [Fraction(1, 5)] * 4  # 1 - 0.1 * 8, eq. 48
    assert frac(result.values["W^2 new"]) == [Fraction(-3, 5)] * 2  # 1 - 0.1 * 2 * 8, eq. 50
    assert frac(result.values["b^2 new"]) == [Fraction(-4, 5)]  # eq. 51
    assert result.errata == []


def test_seed_000_house_price_forward_errata():
    result = run(SEED_000_HOUSE_PRICE)
    # by hand: 0.1 * 12.241 - 0.1 * 47.549 + 0.01 = -3.5208; 0.1 * 12.241 + 0.1 * 47.549 + 0.01 = 5.989
    assert frac(result.values["n^2"]) == [Fraction("-3.5208"), Fraction("5.989")]
    assert frac(result.values["n^3"]) == [Fraction("0.6089")]  # 0.1 * 5.989 + 0.01
    assert frac(result.values["L"]) == [Fraction(1, 2) * (1 - Fraction("0.6089")) ** 2]
    flagged = {(e.step, e.index): e for e in result.errata}
    assert {("n^2", 0), ("n^2", 1), ("n^3", 0), ("L", 0)} <= set(flagged)
    assert "bias" in flagged[("n^2", 0)].slip
    assert ("n^1", 0) not in flagged  # eq. 8 is right: 12.241, 47.549


@pytest.mark.parametrize("fmt", ["text", "markdown", "latex"])
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_renders(name, fmt):
    result = run(EXAMPLES[name])
    text = render(result, fmt)
    assert result.example.title in text
    for erratum in result.errata:  # every erratum is shown with the printed value
        assert erratum.printed in text
