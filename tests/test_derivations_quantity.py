"""The step model's keys: every key's name read back by the one parser into the same key, each quantity's LaTeX
written out here by hand, and the texts that name no quantity refused."""

import itertools

import pytest

from derivations.model.quantity import QUANTITIES, Key, asked, entry_text, parse


def _keys():
    for quantity in QUANTITIES:
        for layer in (None,) if quantity == "L" else (0, 2, 13):
            yield Key(quantity, layer)
            yield Key(quantity, layer, 4)
            if quantity in ("W", "b", "theta", "v_W", "v_b", "v_theta"):
                yield Key(quantity, layer, 3, "before")
            if quantity in ("W", "b", "theta"):
                yield Key(quantity, layer, stage="new")
                yield Key(quantity, layer, 2, "new")
        if quantity in ("W", "b", "theta", "L"):
            layer = None if quantity == "L" else 1
            units = ("step", "pass") if quantity == "L" else ("steps", "passes", "example")
            yield from (Key(quantity, layer, 7, "after", unit) for unit in units)
    yield Key("L", None, 2, "example")


@pytest.mark.parametrize("key", list(_keys()), ids=lambda k: k.text())
def test_every_name_is_read_back_into_its_key(key):
    assert parse(key.text()) == (key, None)


@pytest.mark.parametrize(
    ("key", "entry", "text"),
    [
        (Key("a", 1), (2,), "a^1_2"),
        (Key("W", 2, stage="new"), (1, 3), "w^2_{1,3} new"),
        (Key("dL/dW", 2, 2), (3, 1), "dL/dw^2_{3,1} (step 2)"),
        (Key("v_W", 1), (1, 1), "v_w^1_{1,1}"),
        (Key("theta", 1, stage="new"), (2,), "theta^1_2 new"),
        (Key("dL/db", 3), (1,), "dL/db^3_1"),
    ],
)
def test_one_entry_is_named_as_a_text_names_it_and_read_back(key, entry, text):
    assert entry_text(key, entry) == text
    assert parse(text) == (key, entry)


def test_a_bias_entry_may_be_braced():
    assert parse("b^1_{2} new") == (Key("b", 1, stage="new"), (2,))


@pytest.mark.parametrize(
    ("key", "latex"),
    [
        (Key("n", 2), "n^{2}"),
        (Key("delta", 1), r"\delta^{1}"),
        (Key("dL/da", 0), r"\frac{\partial L}{\partial a^{0}}"),
        (Key("dL/dtheta", 2), r"\frac{\partial L}{\partial \theta^{2}}"),
        (Key("theta", 1, stage="new"), r"\theta^{1}_{\mathrm{new}}"),
        (Key("W", 1, 3, "before"), "W^{1}_{(2)}"),
        (Key("v_W", 2), "v^{2}_{W}"),
        (Key("v_theta", 1, 3, "before"), r"v^{1}_{\theta,(2)}"),
        (Key("W", 2, 5, "after", "steps"), "W^{2}_{(5)}"),
        (Key("b", 1, 2, "after", "example"), r"b^{1}_{(\text{example 2})}"),
        (Key("L", None, 4, "after", "pass"), "L_{(4)}"),
        (Key("L", None, 3, "example"), r"L_{\text{example 3}}"),
        (Key("s", 1, 2), "s^{1}"),  # a later step's quantity is named as the first's: its heading says which step
    ],
)
def test_each_quantity_in_latex(key, latex):
    assert key.latex() == latex


@pytest.mark.parametrize(
    "text",
    [
        "w^2 new",  # a whole matrix is W
        "W^2_{1,1}",  # one weight is w
        "L^1",
        "a",
        "a^1 (step 1)",
        "W^1 before step 2 (step 2)",
        "x^1",
        "epoch 1 x=00",
        "a^1_2 new new",
        "L_1",
    ],
)
def test_texts_that_name_no_quantity(text):
    assert parse(text) is None


def test_bad_keys_are_refused():
    for bad in (dict(quantity="z"), dict(quantity="a", stage="later"), dict(quantity="L", unit="epochs")):
        with pytest.raises(ValueError, match="no such step key"):
            Key(**bad)


def test_the_keys_a_spec_prints():
    assert asked(["a^1_2", "W^2 new", "L after step 3", "a^1"]) == {
        Key("a", 1),
        Key("W", 2, stage="new"),
        Key("L", None, 3, "after", "step"),
    }
    assert not set(itertools.chain(asked(["nonsense", ""])))
