"""A long derivation shown in part: only some layers' quantities, or each gradient entry by one form (its formula
or its chain-rule factorisation) or by none, from the library (Derivation.only) and the command line (--layers,
--gradient-lines); options that a format cannot honour are refused, never ignored."""

import pytest
from replayed import built

from funcmlp.cli import main


def _gradients(d):
    return [s for s in d.steps if s.key is not None and s.key.quantity in ("dL/dW", "dL/db")]


def test_only_the_chosen_layers():
    d = built("seed002_sigmoid_221")
    names = [s.name for s in d.only(layers=[2]).steps]
    assert names == ["n^2", "a^2", "s^2", "dL/dW^2", "dL/db^2", "W^2 new", "b^2 new"]
    assert [s.name for s in d.only(layers=[0]).steps] == ["a^0"]
    assert d.only().steps == d.steps and d.only(layers=[2]).errata == d.errata


@pytest.mark.parametrize("form", ["formula", "chain", "none"])
def test_each_gradient_by_one_form(form):
    d = built("seed002_sigmoid_221")
    whole = {s.name: s.lines for s in _gradients(d)}
    weights = [name for name in whole if name.startswith("dL/dW")]
    assert weights and all(
        any(line.chain for line in whole[n]) and not all(line.chain for line in whole[n]) for n in weights
    )
    for step in _gradients(d.only(gradient_lines=form)):
        factored = step.name in weights  # a bias's gradient has no chain-rule lines: it keeps its formula
        if form == "none":
            assert step.lines == ()
        else:
            assert len(step.lines) == len(step.values)
            assert all(line.chain == (form == "chain" and factored) for line in step.lines)
            assert set(step.lines) <= set(whole[step.name])
    updates = [s for s in d.only(gradient_lines=form).steps if s.name == "W^2 new"]
    assert updates[0].lines  # only the gradients' lines are chosen


def test_a_gradient_without_a_factorisation_keeps_its_formula():
    d = built("nafiz_relu_softmax")  # 36 weights: no chain-rule lines
    for step in _gradients(d.only(gradient_lines="chain")):
        assert not any(line.chain for line in step.lines)
        assert step.lines == next(s for s in _gradients(d) if s.name == step.name).lines


def test_an_unknown_form_is_refused():
    with pytest.raises(ValueError, match="expected one of both, formula, chain, none"):
        built("seed002_sigmoid_221").only(gradient_lines="matrix")


def test_the_command_line_shows_one_layer_and_one_form(capsys):
    main(["derive", "seed002_sigmoid_221", "--layers", "2", "--gradient-lines", "chain"])
    out = capsys.readouterr().out
    assert "dL/dw^2_{1,1} = dL/da^2_1 * da^2_1/dn^2_1 * dn^2_1/dw^2_{1,1}" in out
    assert "n^1 " not in out and "dL/dW^1" not in out.split("errata")[0] and "dL/dw^2_{1,1} = s^2_1" not in out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--layers", "3"], "--layers [3]: the network has layers 0 (the inputs) to 2"),
        (["--layers", "2", "--format", "python"], "--layers chooses what text, markdown and latex write"),
        (["--gradient-lines", "none", "--format", "html"], "--gradient-lines chooses what text, markdown and latex"),
    ],
)
def test_what_cannot_be_honoured_is_refused(argv, message, capsys):
    assert main(["derive", "seed002_sigmoid_221", *argv]) == 2
    assert message in capsys.readouterr().err


def test_a_derivation_that_is_not_a_network_example_refuses_them(capsys):
    assert main(["derive", "seed003_slp", "--layers", "1"]) == 2
    assert "is for a network worked example" in capsys.readouterr().err


def test_derive_offers_the_formats_of_the_one_table(capsys):
    """--format's choices and help are the table's; write() refuses a name outside it and --standalone where the
    format makes no document; each network format of the table written by the command line as by write()."""
    import derivations

    with pytest.raises(SystemExit):
        main(["derive", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "{" + ",".join(derivations.FORMATS) + "}" in text
    assert all(" ".join(f"{f.name}: {f.help}".split()) in text for f in derivations.FORMATS.values())
    ex = derivations.read_spec(derivations.seed_spec_path("seed002_sigmoid_221"))
    d = derivations.replay(ex)
    with pytest.raises(ValueError, match="unknown format 'pdf'; expected one of text, markdown, latex, html"):
        derivations.write("pdf", ex, d)
    with pytest.raises(ValueError, match="--standalone makes a whole document of latex; --format python is none"):
        derivations.write("python", ex, d, standalone=True)
    for name in ("mermaid", "python"):
        assert main(["derive", "seed002_sigmoid_221", "--format", name]) == 0
        printed = capsys.readouterr().out
        assert printed.rstrip("\n") == derivations.write(name, ex, d).rstrip("\n") and printed.endswith("\n")
