"""Every gradient step written out (issue 35, "Every step shown"): a teacher's 2-3-2 network (ReLU hidden layer,
softmax output, cross-entropy), two steps with momentum 0.9, from rest and from a starting velocity. Each step's
numbers (outputs, sensitivities, gradients, velocities, new parameters) are worked out here, exactly, by a
forward and backward pass written in this file with sympy (exp and log; no derivations code), and compared with
what the replay holds and what each format prints for step 2: text, Markdown, LaTeX (compiled once), the page
(the numbers beside each weight at step 2 are step 2's) and the NumPy program. Then the slip "momentum left
out" found for printed numbers of step 2, the choice of the steps written out (show_steps, --show-steps) and
the refusals."""

import functools
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
import sympy as sp
from test_page import browser, load  # noqa: F401  (the browser fixture: fails in CI without Chromium)

from derivations.examples.replay import run
from derivations.examples.spec import read_spec
from derivations.formats.page import page
from derivations.formats.program import program
from derivations.formats.render import render
from funcmlp.cli import main

R = sp.Rational
ETA, MU = R(1, 2), R(9, 10)
X, Y = [R(1), R(2)], [R(0), R(1)]
W1 = [[R(1, 10), R(-2, 10), R(3, 10)], [R(4, 10), R(5, 10), R(-6, 10)]]  # (inputs, units): n = a W + b
B1 = [R(1, 10), R(0), R(-1, 10)]
W2 = [[R(2, 10), R(-3, 10)], [R(4, 10), R(1, 10)], [R(-5, 10), R(6, 10)]]
B2 = [R(0), R(1, 10)]
TEACHER = {
    "title": "2-3-2 ReLU/softmax, two steps with momentum",
    "activations": ["relu", "softmax"],
    "loss": "cross_entropy",
    "learning_rate": "0.5",
    "momentum": "0.9",
    "steps": 2,
    "x": ["1", "2"],
    "y": ["0", "1"],
    "layers": [
        {"W": [["0.1", "-0.2", "0.3"], ["0.4", "0.5", "-0.6"]], "b": ["0.1", "0", "-0.1"]},
        {"W": [["0.2", "-0.3"], ["0.4", "0.1"], ["-0.5", "0.6"]], "b": ["0", "0.1"]},
    ],
}
V2W, V2B, V1W = [["0.1", "0"], ["0", "-0.1"], ["0.05", "0.05"]], ["0.01", "-0.01"], [["0.2", "0", "0"], ["0", "0", "0"]]
STARTING = {  # the same with a starting velocity: layer 2's W and b, layer 1's W (its b from rest)
    **TEACHER,
    "layers": [
        {**TEACHER["layers"][0], "velocity": {"W": V1W}},
        {**TEACHER["layers"][1], "velocity": {"W": V2W, "b": V2B}},
    ],
}


def exact(rows):
    return [[R(v) for v in row] for row in rows] if isinstance(rows[0], list) else [R(v) for v in rows]


def flat(q) -> list:
    """A vector as it is, a matrix's rows one after the other."""
    return [v for row in q for v in (row if isinstance(row, list) else [row])]


def shaped(values, like):
    it = iter(values)
    return [[next(it) for _ in row] for row in like] if isinstance(like[0], list) else [next(it) for _ in like]


def momentum_step(p, v, g) -> tuple:
    """(the new velocity mu v - eta g, the new parameter p + that), entry by entry, shaped like ``p``."""
    velocity = [MU * vi - ETA * gi for vi, gi in zip(flat(v), flat(g), strict=True)]
    return shaped(velocity, p), shaped([pi + vi for pi, vi in zip(flat(p), velocity, strict=True)], p)


def one_step(params, velocity):
    """One step by hand: the forward pass, L = -sum y log a^2, s^2 = a^2 - y (softmax with cross-entropy, sum y
    = 1), s^1 = (W^2 s^2) relu'(n^1), the gradients, v = mu v_before - eta g and w + v."""
    (w1, b1), (w2, b2) = params
    n1 = [X[0] * w1[0][j] + X[1] * w1[1][j] + b1[j] for j in range(3)]
    a1 = [v if sp.N(v) > 0 else R(0) for v in n1]
    n2 = [sum(a1[i] * w2[i][j] for i in range(3)) + b2[j] for j in range(2)]
    e = [sp.exp(v) for v in n2]
    a2 = [v / (e[0] + e[1]) for v in e]
    s2 = [a2[j] - Y[j] for j in range(2)]
    g1 = [w2[i][0] * s2[0] + w2[i][1] * s2[1] for i in range(3)]
    s1 = [g1[i] if sp.N(n1[i]) > 0 else R(0) for i in range(3)]
    grads = (
        ([[X[i] * s1[j] for j in range(3)] for i in range(2)], s1),
        ([[a1[i] * s2[j] for j in range(2)] for i in range(3)], s2),
    )
    quantities = {"n^1": n1, "a^1": a1, "n^2": n2, "a^2": a2, "L": [-Y[0] * sp.log(a2[0]) - Y[1] * sp.log(a2[1])]}
    quantities |= {"s^2": s2, "dL/da^1": g1, "s^1": s1, "dL/dW^1": grads[0][0], "dL/db^1": s1}
    quantities |= {"dL/dW^2": grads[1][0], "dL/db^2": s2}
    new_params, new_velocity = [], []
    for k, ((W, b), (vW, vb), (gW, gb)) in enumerate(zip(params, velocity, grads, strict=True), start=1):
        (vW, W), (vb, b) = momentum_step(W, vW, gW), momentum_step(b, vb, gb)
        quantities |= {f"v_W^{k}": vW, f"W^{k} new": W, f"v_b^{k}": vb, f"b^{k} new": b}
        new_params.append((W, b))
        new_velocity.append((vW, vb))
    return quantities, tuple(new_params), tuple(new_velocity)


@functools.cache
def worked(start: bool):
    """{t: step t's quantities by name, flat} for steps 1 and 2, and the loss after step 2, by hand: exact
    expressions, evaluated to 50 digits."""
    zero = lambda rows: [[R(0)] * len(rows[0]) for _ in rows] if isinstance(rows[0], list) else [R(0)] * len(rows)
    params = ((W1, B1), (W2, B2))
    velocity = (
        ((exact(V1W), zero(B1)), (exact(V2W), exact(V2B))) if start else tuple((zero(W), zero(b)) for W, b in params)
    )
    steps = {}
    settled = lambda pairs: tuple(tuple(shaped([sp.N(v, 60) for v in flat(p)], p) for p in pair) for pair in pairs)
    for t in (1, 2):
        quantities, params, velocity = one_step(params, velocity)
        params, velocity = settled(params), settled(velocity)  # step 1 exact; what follows from it to 60 digits
        steps[t] = {name: [sp.N(v, 50) for v in flat(q)] for name, q in quantities.items()}  # exact, to 50 digits
    steps["L after step 2"] = [sp.N(one_step(params, velocity)[0]["L"][0], 50)]
    return steps


@functools.cache
def replayed(start: bool):
    ex = read_spec(STARTING if start else TEACHER)
    return ex, run(ex)


def close(printed: float, value, digits: int) -> bool:
    """``printed`` is ``value`` to ``digits`` significant digits (a rounded last digit)."""
    value = float(sp.N(value, 30))
    return abs(printed - value) <= 0.6 * 10 ** (-digits + 1) * max(abs(value), 1e-300) + 1e-300


def numbers(text: str) -> list:
    """The numbers of a bracketed row list or a bmatrix (``7.2 \\times 10^{-5}`` as 7.2e-5)."""
    text = re.sub(r" \\times 10\^\{(-?\d+)\}", r"e\1", text)
    return [float(v) for v in re.findall(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", text)]


STEP_2 = ["n^1", "a^1", "n^2", "a^2", "L", "s^2", "dL/da^1", "s^1", "dL/dW^2", "dL/db^2", "v_W^2", "W^2 new"]
STEP_2 += ["v_b^2", "b^2 new", "dL/dW^1", "dL/db^1", "v_W^1", "W^1 new", "v_b^1", "b^1 new"]


@pytest.mark.parametrize("start", [False, True], ids=["from rest", "from a starting velocity"])
def test_each_step_is_the_steps_worked_out_here(start):
    ex, d = replayed(start)
    for t in (1, 2):
        for name, values in worked(start)[t].items():
            shown = d.values[name if t == 1 else f"{name} (step 2)"]
            assert len(shown) == len(values), name
            assert all(abs(sp.N(a, 50) - b) < 1e-30 for a, b in zip(shown, values, strict=True)), (t, name)
    assert abs(sp.N(d.values["L after step 2"][0], 50) - worked(start)["L after step 2"][0]) < 1e-30
    for name in ("W^1", "b^2", "v_W^2", "v_b^1"):  # step 2 starts where step 1 ends
        before, after = d.values[f"{name} before step 2"], d.values[name if name[0] == "v" else f"{name} new"]
        assert all(abs(sp.N(a - b, 50)) < 1e-40 for a, b in zip(before, after, strict=True))
    assert ("v_W^2 before step 1" in d.values) == start and d.errata == []
    if start:  # the velocity before step 1, as the file gives it (row convention: as written)
        assert d.values["v_W^2 before step 1"] == [R(v) for row in V2W for v in row]
        assert d.values["v_b^2 before step 1"] == [R(v) for v in V2B]


def test_the_text_writes_step_2_out_under_its_heading():
    _, d = replayed(False)
    text = render(d, "text")
    assert (
        "step 1 of 2 (from the spec's parameters)" in text and "step 2 of 2 (from the parameters after step 1)" in text
    )
    rows = text.splitlines()
    for name in STEP_2:
        at = next(i for i, row in enumerate(rows) if row.startswith(f"{name + ' (step 2)':<22} = "))
        assert rows[at + 2].lstrip().startswith("decimal [")
        assert all(
            close(p, v, 8)
            for p, v in zip(numbers(rows[at + 2].split("decimal", 1)[1]), worked(False)[2][name], strict=True)
        ), name
    v = worked(False)[2]
    assert "v_W^2 (step 2)         = mu (v_W^2 before step 2) - eta dL/dW^2" in text
    line = next(
        row.strip() for row in rows if row.strip().startswith("v_w^2_{1,1} = -eta*dL/dw^2_{1,1} + mu*v_w^2_{1,1}(1) = ")
    )
    substituted = [-ETA, v["dL/dW^2"][0], MU, worked(False)[1]["v_W^2"][0]]  # -eta g + mu v(1)
    assert all(close(p, value, 9) for p, value in zip(numbers(line.split(" = ")[-2]), substituted, strict=True))
    assert close(numbers(line.split(" = ")[-1])[0], v["v_W^2"][0], 9)
    assert "w^2_{1,1} new = w^2_{1,1} + v_w^2_{1,1} = " in text


def _displays(source: str, heading: str, opening: str) -> dict:
    """{the LaTeX of a display's start: its numbers} for the displays of the section under ``heading``."""
    section = source.split(heading, 1)[1]
    out = {}
    for display in re.findall(re.escape(opening) + r" (.*?) (?:\$\$|\\\])", section):
        display = display.replace(r"\resizebox{\linewidth}{!}{$\displaystyle ", "")
        head, _, values = display.rpartition(r" \approx " if r" \approx " in display else " = ")
        out.setdefault(head.split(" = ")[0], numbers(values))  # the first display of each name: step 2's own
    return out


MATH = {"n^1": "n^{1}", "a^2": "a^{2}", "s^1": "s^{1}", "dL/dW^2": r"\frac{\partial L}{\partial W^{2}}"}
MATH |= {
    "v_W^2": "v^{2}_{W}",
    "W^2 new": r"W^{2}_{\mathrm{new}}",
    "v_b^1": "v^{1}_{b}",
    "b^1 new": r"b^{1}_{\mathrm{new}}",
}


@pytest.mark.skipif(
    shutil.which("pdflatex") is None and os.environ.get("CI") != "true",
    reason="pdflatex not installed (CI installs it)",
)
def test_markdown_and_latex_typeset_step_2_and_the_momentum_rule(tmp_path):
    _, d = replayed(True)
    markdown, latex = render(d, "markdown"), render(d, "latex", standalone=True)
    assert r"$$ v^{2}_{W} = \mu\, v^{2}_{W,(1)} - \eta\, \frac{\partial L}{\partial W^{2}} \approx" in markdown
    assert r"v^{2}_{W} = \mu\, v^{2}_{W,(0)} - \eta\, \frac{\partial L}{\partial W^{2}} \approx" in latex  # step 1
    assert r"W^{2}_{\mathrm{new}} = W^{2} + v^{2}_{W}" in latex and "Delta w" not in latex + markdown
    for source, heading, opening in (
        (markdown, "### Step 2 of 2 (from the parameters after step 1)", "$$"),
        (latex, r"\subsubsection*{Step 2 of 2 (from the parameters after step 1)}", r"\["),
    ):
        shown = _displays(source, heading, opening)
        for name, head in MATH.items():
            values = worked(True)[2][name]
            assert all(close(p, v, 9) for p, v in zip(shown[head][-len(values) :], values, strict=True)), name
    (tmp_path / "doc.tex").write_text(latex)
    done = subprocess.run(
        ["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    log = (tmp_path / "doc.log").read_text(errors="replace")
    assert done.returncode == 0 and "Overfull \\hbox" not in log


def test_the_numbers_beside_each_weight_at_step_2_are_step_2s():
    """The page's data: within step 2, w^2_{1,1} shows its value after step 1, step 2's dL/dw and velocity, and
    new = w + v; the final parameters are a group of their own (nothing of step 1 beside them)."""
    ex, d = replayed(False)
    html = page(ex, d)
    data = json.loads(re.search(r'<script id="data" type="application/json">(.*?)</script>', html, re.S).group(1))
    names = [s.name for s in d.steps]
    mark = lambda name, key: next(
        m[2] for m in data["stages"][names.index(name)]["marks"] if m[:2] == ["weight-2-0-0", key]
    )
    one, two = worked(False)[1], worked(False)[2]
    near = lambda text, value: close(float(text), value, 4)
    assert near(mark("W^2 before step 2", "w"), one["W^2 new"][0]) and near(
        mark("dL/dW^2 (step 2)", "dL/dw"), two["dL/dW^2"][0]
    )
    assert near(mark("v_W^2 (step 2)", "v"), two["v_W^2"][0]) and near(
        mark("W^2 new (step 2)", "new"), two["W^2 new"][0]
    )
    groups = [
        data["stages"][names.index(n)]["group"]
        for n in ("dL/dW^2", "W^2 before step 2", "W^2 new (step 2)", "W^2 after 2 steps")
    ]
    assert groups[0] != groups[1] == groups[2] != groups[3]
    assert near(mark("W^2 after 2 steps", "w"), two["W^2 new"][0])
    stage = html.split(f"<h3>{names.index('W^2 new (step 2)') + 1}. W^2 new (step 2)</h3>", 1)[1].split("</section>")[0]
    cells = [
        re.sub(r"<[^>]+>", "", c).replace("\u2212", "-").replace("&#x02212;", "-")
        for c in re.findall(r"<mtd[^>]*>(.*?)</mtd>", stage.split('class="lines"')[0])
    ]
    assert all(close(float(c), v, 9) for c, v in zip(cells, two["W^2 new"], strict=True))
    assert '<optgroup label="step 2 of 2 (from the parameters after step 1)">' in html


def test_the_program_prints_each_step(tmp_path):
    ex, d = replayed(True)
    (tmp_path / "example.py").write_text(program(ex, d))
    done = subprocess.run([sys.executable, "example.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    printed = {
        line.split(": ")[0]: [float(v) for v in line.split(": ")[1].split()] for line in done.stdout.splitlines()
    }
    assert set(printed) - {"dL/da^0"} == set(d.values) - {"dL/da^0"}
    for name in STEP_2:
        assert all(
            abs(p - float(sp.N(v, 30))) < 1e-12
            for p, v in zip(printed[f"{name} (step 2)"], worked(True)[2][name], strict=True)
        )


def test_a_printed_step_2_number_that_leaves_momentum_out_is_named():
    """Step 2 without momentum (w - eta dL/dw from the parameters after step 1): w^2_{1,1} = -0.130137844, the
    loss after step 2 0.260869660; printed so, the slip search names momentum left out."""
    printed = {
        "w^2_{1,1} new (step 2)": "-0.130137844",
        "L after step 2": "0.260869660",
        "v_w^2_{1,1} (step 2)": "-0.297400171",
    }
    d = run(read_spec({**TEACHER, "printed": printed}))
    slips = {e.step: e.slip for e in d.errata}
    assert set(slips) == {"W^2 new (step 2)", "L after step 2"}  # the printed velocity of step 2 is right
    assert all(slip.startswith("found: momentum left out") for slip in slips.values()), slips
    assert "gives -0.130137844" in slips["W^2 new (step 2)"] and "gives 0.260869660" in slips["L after step 2"]


def test_the_steps_written_out_are_chosen_by_show_steps_or_the_command_line(tmp_path, capsys):
    one = {
        **TEACHER,
        "momentum": "0.5",
        "steps": 6,
        "activations": ["relu", "identity"],
        "loss": "sse",
        "y": ["0", "1"],
    }
    d = run(read_spec(one))
    assert {s.key.t for s in d.steps if s.key and s.key.stage != "after"} == {1, 2, 3, 6}  # the first 3 and the last
    assert any(
        "steps written out in full: 1, 2, 3 and 6 (steps 4 and 5 left out; choose with show_steps" in n for n in d.notes
    )
    d = run(read_spec({**one, "show_steps": [5, 2]}))
    assert {s.key.t for s in d.steps if s.key and s.key.stage != "after"} == {1, 2, 5} and "n^1 (step 5)" in d.values
    assert any(n.startswith("step 1 is always written out in full") for n in d.notes)
    path = tmp_path / "teacher.json"
    path.write_text(json.dumps(one))
    assert main(["derive", "--example", str(path), "--show-steps", "1,4"]) == 0
    out = capsys.readouterr().out
    assert (
        "n^1 (step 4)" in out and "n^1 (step 2)" not in out and "step 4 of 6 (from the parameters after step 3)" in out
    )
    assert "steps written out in full: 1 and 4 (steps 2, 3, 5 and 6 left out" in out


@pytest.mark.parametrize(
    "change, message",
    [
        ({"show_steps": [3]}, r"^show_steps names step 3; this replay has 2 steps: give steps from 1 to 2"),
        ({"show_steps": [0]}, r"^show_steps names step 0; this replay has 2 steps"),
        ({"show_steps": [2, 2]}, r"^show_steps names step 2 twice; name each step once$"),
        (
            {"show_steps": "2"},
            r"^show_steps is '2'; expected a list of gradient steps to write out, e.g. \[1, 2, 10\]$",
        ),
        ({"show_steps": [1.5]}, r"^show_steps is \[1.5\]; expected a list"),
        (
            {"steps": 30, "show_steps": list(range(1, 22))},
            r"^show_steps names 21 steps; a replay writes out at most 20",
        ),
        (
            {"update": "online", "x": [["1", "2"], ["2", "1"]], "y": [["0", "1"], ["1", "0"]], "show_steps": [1]},
            r'^show_steps: update = "online" writes its first',
        ),
        ({"momentum": None}, r'^layers\[1\].velocity is the starting velocity of momentum: give momentum, e.g. "0.9"$'),
        (
            {"layers": [TEACHER["layers"][0], {**TEACHER["layers"][1], "velocity": {"W": [["1"]]}}]},
            r"^layers\[2\].velocity.W is 1 x 1; expected 3 x 2",
        ),
        (
            {"layers": [TEACHER["layers"][0], {**TEACHER["layers"][1], "velocity": {"b": ["1"]}}]},
            r"^layers\[2\].velocity.b has 1 values; expected 2",
        ),
        (
            {"layers": [TEACHER["layers"][0], {**TEACHER["layers"][1], "velocity": {"V": ["1"]}}]},
            r"^layers\[2\].velocity is a table of the starting velocity of momentum",
        ),
        (
            {"layers": [TEACHER["layers"][0], {**TEACHER["layers"][1], "fixed": ["b"], "velocity": {"b": ["1", "2"]}}]},
            r"^layers\[2\].velocity.b: b is fixed",
        ),
    ],
)
def test_bad_choices_and_velocities_are_refused_in_one_line(change, message):
    spec = {**STARTING, **{k: v for k, v in change.items() if v is not None}}
    spec = {k: v for k, v in spec.items() if change.get(k, 0) is not None}
    with pytest.raises(ValueError, match=message):
        read_spec(spec)


@pytest.mark.parametrize(
    "arguments, message",
    [
        (["--show-steps", "3"], "--show-steps names step 3; this replay has 2 steps"),
        (["--show-steps", "x"], "argument --show-steps: expected comma-separated integers"),
        (
            ["--show-steps", "1", "--format", "mermaid"],
            "--format mermaid draws the network at the first step; --show-steps",
        ),
        (
            ["--show-steps", "1", "--format", "graph"],
            "--format graph draws the loss before the first step; --show-steps",
        ),
    ],
)
def test_the_command_line_refuses_a_bad_choice(arguments, message, tmp_path, capsys):
    path = tmp_path / "teacher.json"
    path.write_text(json.dumps(TEACHER))
    assert main(["derive", "--example", str(path), *arguments]) == 2
    assert message in capsys.readouterr().err
    assert main(["derive", "sigmoid", "--show-steps", "2"]) == 2
    assert "--show-steps writes out chosen gradient steps of a network example" in capsys.readouterr().err


def test_the_page_in_a_browser_shows_each_steps_own_numbers_and_follows_its_address(tmp_path, browser):  # noqa: F811
    """The teacher's page, walked in headless Chromium: at W^2 new (step 2) the weight w^2_{1,1} reads its value
    after step 1, step 2's dL/dw and v, and new = w + v; after the steps, its final value alone."""
    from selenium.webdriver.support.ui import WebDriverWait

    ex, d = replayed(False)
    (tmp_path / "teacher.html").write_text(page(ex, d), encoding="utf-8")
    names = [s.name for s in d.steps]
    one, two = worked(False)[1], worked(False)[2]

    def label(step: str) -> dict:
        browser.execute_script(f"location.hash = '#step={names.index(step) + 1}'")  # a changed address goes there
        WebDriverWait(browser, 10).until(
            lambda b: b.find_element("id", "position").text.startswith(f"{names.index(step) + 1} /")
        )
        box, *rows = browser.execute_script(
            "const g = document.getElementById('weight-2-0-0');"
            "return [g.querySelector('text:not(.values)').textContent,"
            " ...Array.from(g.querySelectorAll('tspan'), (t) => t.textContent).filter((t) => t)];"
        )
        return {"w": float(box), **{row.rsplit(" ", 1)[0]: float(row.rsplit(" ", 1)[1]) for row in rows}}

    load(browser, (tmp_path / "teacher.html").as_uri())
    shown = label("W^2 new (step 2)")
    assert close(shown["w"], one["W^2 new"][0], 4) and close(shown["dL/dw"], two["dL/dW^2"][0], 4)
    assert close(shown["v"], two["v_W^2"][0], 4) and close(shown["new"], two["W^2 new"][0], 4)
    assert label("W^2 after 2 steps") == {"w": pytest.approx(float(two["W^2 new"][0]), rel=1e-3)}
    browser.find_element("id", "previous").click()
    assert browser.execute_script("return location.hash") == f"#step={names.index('W^2 after 2 steps')}"


def test_a_default_past_the_cost_writes_step_1_only_and_a_chosen_set_past_it_is_refused(monkeypatch):
    from derivations.model import cost

    ex = read_spec({**TEACHER, "steps": 6})
    monkeypatch.setattr(cost, "MAX_COST", cost.replay_units(ex)[0] + 1)  # the replay fits, a step more does not
    d = run(ex)
    written = {s.key.t for s in d.steps if s.key and s.key.quantity != "L"}
    assert written == {1, 6} and "n^1 (step 2)" not in d.values  # (6: the final)
    assert any(n.startswith("only step 1 is written out in full: writing out more costs about") for n in d.notes)
    with pytest.raises(ValueError, match=r"^show_steps: writing out 1 more step\(s\) in full costs about [\d,]+ units"):
        run(read_spec({**TEACHER, "steps": 6, "show_steps": [4]}))


def test_a_one_step_example_is_written_as_before():
    """No heading, no velocity of its own without momentum: one step reads as it always did."""
    d = run(read_spec({**TEACHER, "steps": 1, "momentum": "0"}))
    text = render(d, "text")
    assert "step 1 of" not in text and "W^2 new                = W^2 + v_W^2" in text  # momentum 0: still v
    plain = {k: v for k, v in TEACHER.items() if k != "momentum"}
    text = render(run(read_spec({**plain, "steps": 1})), "text")
    assert "step 1 of" not in text and "v_W" not in text and "W^2 new                = W^2 - eta dL/dW^2" in text
