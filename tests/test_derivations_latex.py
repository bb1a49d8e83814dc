"""The worked examples in real math notation: LaTeX that compiles with pdflatex without an
overfull line (every seed example and one of our own), Markdown with $$ math, and the Jupyter
display. pdflatex is installed by .ci/run in CI (texlive-latex-base, -recommended); a
developer without it skips the compile test, CI never does."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from replayed import built

from derivations.examples.formulas import activation, loss, recursion, upstream, weight_gradient
from derivations.examples.replay import from_spec
from derivations.examples.worked import EXAMPLES
from derivations.formats.render import render
from derivations.model.convention import COLUMN, ROW
from derivations.model.quantity import Key
from derivations.model.text import escape

OWN = {
    "title": "Own: 2-2-1, tanh then sigmoid, binary cross-entropy & a 50% learning rate",
    "activations": ["tanh", "sigmoid"],
    "loss": "binary_cross_entropy",
    "learning_rate": "0.5",
    "x": [["0.5", "-1"], ["2", "0.25"]],
    "y": ["1", "0"],
    "steps": 3,
    "layers": [{"W": [["0.3", "-0.2"], ["0.8", "0.1"]], "b": ["0", "0.05"]}, {"W": [["1.5"], ["-0.7"]], "b": ["0.2"]}],
    "printed": {"L": ["0.7"]},
}

PDFLATEX = shutil.which("pdflatex")


MAZUR = (
    Path(__file__).parent.parent / "examples" / "worked" / "mazur_222.toml"
)  # one example: every step entry by entry


WIDE = {
    "new_keys": {  # thresholds, a layer without biases, fixed weights, online steps, momentum, L2, printed deltas
        "title": "2-2-1 with theta, no biases, fixed W, online, momentum and L2",
        "activations": ["sigmoid", "sigmoid"],
        "loss": "half_sse",
        "learning_rate": "0.5",
        "update": "online",
        "momentum": "0.9",
        "l2": "0.01",
        "steps": 3,
        "x": [["1", "0"], ["0", "1"]],
        "y": [["1"], ["0"]],
        "layers": [
            {"W": [["0.5", "-0.5"], ["0.25", "0.75"]], "theta": ["0.1", "-0.2"]},
            {"W": [["1"], ["-1"]], "fixed": ["W"]},
        ],
        "printed": {"delta^2_1": "0.01", "theta^1_1 new": "0.2"},
    },  # the widest examples written entry by entry: 9 inputs (56 parameters); 5 classes with a long loss line
    "wide": {
        "title": "9-5-1 sigmoid",
        "activations": ["sigmoid", "sigmoid"],
        "loss": "half_sse",
        "learning_rate": "0.5",
        "x": [str(round(0.1 * i - 0.4, 2)) for i in range(9)],
        "y": ["1"],
        "layers": [
            {"W": [[str(round(0.05 * (i - j), 2)) for j in range(5)] for i in range(9)], "b": ["0.1"] * 5},
            {"W": [["0.3"], ["-0.2"], ["0.5"], ["0.1"], ["-0.4"]], "b": ["0"]},
        ],
    },
    "five_classes": {
        "title": "2-2-5, leaky ReLU, softmax cross-entropy",
        "convention": "column",
        "activations": ["leaky_relu(0.2)", "identity"],
        "loss": "softmax_cross_entropy",
        "learning_rate": "0.1",
        "x": ["0.37", "0.74"],
        "y": ["0", "0", "1", "0", "0"],
        "layers": [
            {"W": [["0.5", "-0.25"], ["0.75", "1"]], "b": ["0", "0.1"]},
            {"W": [["0.1", "0.2"], ["-0.3", "0.4"], ["0.5", "-0.6"], ["0.7", "0.8"], ["-0.9", "1"]], "b": ["0"] * 5},
        ],
    },
    "tiny_and_huge": {
        "title": "tiny and huge numbers",
        "activations": ["sigmoid"],
        "loss": "half_sse",
        "learning_rate": "0.1",
        "x": ["1e-40", "3"],
        "y": ["1e12"],
        "layers": [{"W": [["-20"], ["0.5"]], "b": ["0"]}],
    },
}


def compile_latex(folder, source: str, *options) -> str:
    """pdflatex on ``source`` as ``folder/doc.tex`` (it must compile: the first errors shown otherwise); its log."""
    (folder / "doc.tex").write_text(source)
    result = subprocess.run(
        [PDFLATEX or "pdflatex", "-interaction=nonstopmode", "-halt-on-error", *options, "doc.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
    )
    log = (folder / "doc.log").read_text(errors="replace")
    assert result.returncode == 0, [line for line in log.splitlines() if line.startswith("!")]
    return log


@pytest.mark.skipif(
    PDFLATEX is None and os.environ.get("CI") != "true", reason="pdflatex not installed (CI installs it)"
)
@pytest.mark.parametrize("name", [*EXAMPLES, "own", "mazur", *WIDE])
def test_latex_compiles_without_overfull_lines(name, tmp_path):
    derivation = {"own": lambda: from_spec(OWN), "mazur": lambda: from_spec(MAZUR)}.get(
        name, lambda: from_spec(WIDE[name]) if name in WIDE else built(name)
    )()
    log = compile_latex(tmp_path, render(derivation, "latex", standalone=True))
    assert "Overfull \\hbox" not in log, log[log.index("Overfull") :][:300]
    assert (tmp_path / "doc.pdf").stat().st_size > 1000


def test_math_notation_of_step_names_and_formulas():
    assert Key("n", 2).latex() == "n^{2}"
    assert Key("dL/dW", 3).latex() == r"\frac{\partial L}{\partial W^{3}}"
    assert Key("W", 1, stage="new").latex() == r"W^{1}_{\mathrm{new}}"
    assert Key("L", None, 4, "after", "step").latex() == "L_{(4)}"
    assert (str(upstream(1, COLUMN)), upstream(1, COLUMN).latex()) == ("(W^2)^T s^2", r"(W^{2})^{\top} s^{2}")
    assert activation("sigmoid", 1).latex() == r"\sigma(n^{1})"
    assert activation("leaky_relu", 2).latex() == r"\operatorname{leaky\_relu}(n^{2})"
    f = recursion(1, "tanh", True)
    assert str(f) == "dL/da^1 * f'(n^1)  (the sensitivity recursion)"
    assert (f.latex(), f.remark()) == (
        r"\frac{\partial L}{\partial a^{1}} \odot f'(n^{1})",
        r"\quad\text{(the sensitivity recursion)}",
    )
    # a batch's words stay words, upright and spaced, within the math
    f = weight_gradient(1, ROW, 2, "1/100")
    assert str(f) == "(a^0)^T s^1 summed over the batch + l2 W^1"
    assert f.latex() == r"(a^{0})^{\top} s^{1}\text{ summed over the batch} + l2 W^{1}"
    f = loss("half_sse", 2, 1, 3, None)
    assert str(f) == "1/2 sum_j (y_j - a^2_j)^2, mean over 3 examples"
    assert f.latex() == r"1/2 \sum_j (y_j - a^{2}_j)^2\text{, mean over 3 examples}"
    assert loss("half_sse", 2, 1, 1, "1/100").latex() is None  # with the L2 penalty's words: no math
    assert escape("50% of y_1 & {a}^2") == r"50\% of y\_1 \& \{a\}\textasciicircum{}2"


def test_markdown_has_math_and_an_errata_table():
    d = built("seed000_house_price")
    text = render(d, "markdown")
    assert r"$$ n^{2} = W^{2} a^{1} + b^{2} = \begin{bmatrix}-3.5208 \\ 5.989\end{bmatrix} $$"  # a column in text
    assert "| forward pass: z^[2] | n^2[0] | `-3.5308` | -3.5208 | a term left out: the bias b^[2] = 0.01 |" in text
    assert d._repr_markdown_() == text


def test_decimals_have_nine_significant_digits_where_not_exact():
    text = render(built("seed002_sigmoid_221"), "latex")
    assert r"a^{1} = \sigma(n^{1}) \approx \begin{bmatrix}0.627147766 \\ 0.757679639\end{bmatrix}" in text
    assert r"n^{1} = W^{1} a^{0} + b^{1} = \begin{bmatrix}0.52 \\ 1.14\end{bmatrix}" in text  # exact: stay exact


def test_jupyter_latex_display_is_one_aligned_block():
    text = built("seed003_relu_linear")._repr_latex_()
    assert text.startswith("$$\\begin{aligned}") and text.endswith("\\end{aligned}$$")
    assert r"s^{1} & = \frac{\partial L}{\partial a^{1}} \odot f'(n^{1}) = \begin{bmatrix}8 & 8\end{bmatrix}" in text
    assert r"a^{2} & = \operatorname{linear}(n^{2}) = 4" in text


def test_activation_names_and_small_numbers_in_math_notation():
    d = from_spec(WIDE["five_classes"])
    latex = render(d, "latex")
    assert r"\operatorname{leaky\_relu}\left(n^{1}_{1}\right)" in latex and r"\operatorname{leaky\_relu'}" in latex
    assert "leaky}_{relu" not in latex
    tiny = render(from_spec(WIDE["tiny_and_huge"]), "latex")
    assert r"10^{-40}" in tiny and "e-40" not in tiny and r"\times 10^{" in tiny
    text = render(from_spec(WIDE["tiny_and_huge"]), "text")
    assert (
        "(-20)*1e-40 + 0.5*3 + 0 = 1.50000000\n" in text
    )  # 1.5 - 2e-39 is not 1.5: 9 significant digits, not an exact "1.5"


HOSTILE = (
    r"\input{/etc/hostname} \immediate\write18{touch pwned} $x$ <script>alert(1)</script> `code` 50% #1 a_b ~ ^ & {}"
)


@pytest.mark.skipif(
    PDFLATEX is None and os.environ.get("CI") != "true", reason="pdflatex not installed (CI installs it)"
)
def test_a_specs_text_reaches_latex_and_markdown_as_text_only(tmp_path):
    """Issue 22 item 5: a title, note, erratum label and slip holding TeX commands, math, HTML and
    backticks are printed as those characters (the LaTeX compiles, reads no file, writes none);
    a line break in them is refused, naming the key."""
    spec = {
        **OWN,
        "title": HOSTILE,
        "notes": [HOSTILE],
        "printed": {"L": {"values": ["17.7"], "where": HOSTILE, "slip": HOSTILE}},
    }
    derivation = from_spec(spec)
    source = render(derivation, "latex", standalone=True)
    code = "\n".join(line for line in source.splitlines() if not line.startswith("%"))  # what TeX reads
    for command in (r"\input{", r"\write18", r"\immediate"):
        assert command not in code.replace(r"\textbackslash{}", "/"), command
    compile_latex(tmp_path, source, "-shell-escape", "-recorder")
    opened = (tmp_path / "doc.fls").read_text()  # -recorder: every file pdflatex opened
    assert "INPUT doc.tex" in opened and "hostname" not in opened and not (tmp_path / "pwned").exists()
    page = render(derivation, "markdown")
    assert "<script" not in page.replace(r"\<", "") and r"\`code\`" in page and r"\$x\$" in page
    assert page.count(r"\<script>") == 4  # the title, the erratum's label and slip, the note
    for key, change in [
        ("title", {"title": "one\n" + r"\input{/etc/passwd}"}),
        ("notes[0]", {"notes": ["fine", "\x1b[2J"]}),
        ("printed.'L'.slip", {"printed": {"L": {"values": ["17.7"], "slip": "a\rb"}}}),
    ]:
        with pytest.raises(ValueError, match=r"holds the control character") as caught:
            from_spec({**OWN, **change})
        assert str(caught.value).startswith(key.replace("notes[0]", "notes[1]")), caught.value
