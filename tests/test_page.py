"""`funcmlp derive --format html`: every shipped example's page, loaded in a real browser (headless
Chromium driven by Selenium), runs without a console error and without fetching anything, walks
its steps, and shows a clicked weight's chain rule with the replay's numbers (read from the DOM).
CI installs Chromium and its driver (.ci/run); elsewhere the browser tests skip without them."""

import functools
import os
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest
import sympy as sp
from replayed import EXAMPLES, NETWORKS, replayed

from derivations.examples.factors import chain_rule
from derivations.examples.replay import run
from derivations.examples.spec import read_spec
from derivations.formats.page import page
from derivations.model.numbers import number_text
from funcmlp.cli import main


@functools.cache
def page_of(path: Path) -> str:
    return page(*replayed(path))


def written(path: Path, tmp_path: Path) -> Path:
    out = tmp_path / f"{path.stem}.html"
    out.write_text(page_of(path), encoding="utf-8")
    return out


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_page_is_one_file_that_fetches_nothing(path, tmp_path):
    text = written(path, tmp_path).read_text(encoding="utf-8")
    ex, derivation = replayed(path)
    assert text.startswith("<!DOCTYPE html>") and text.count('<section class="stage"') == len(derivation.steps)
    assert not re.search(r"\b(src|href)\s*=|url\(|@import|<link\b|\bfetch\(|XMLHttpRequest", text)
    assert set(re.findall(r"https?://[^\s\"'<\\]+", text)) <= {
        "http://www.w3.org/1998/Math/MathML",  # namespaces, never fetched
        "http://www.w3.org/2000/svg",
    }
    assert "<math" in text and "<svg" in text
    assert text.count('class="weight"') == sum(
        len(W) * len(W[0]) + (0 if b is None else len(b)) for W, b in zip(ex.weights, ex.biases, strict=True)
    )


def test_open_writes_the_page_and_opens_it(monkeypatch, tmp_path, capsys):
    opened = []
    monkeypatch.setattr("tempfile.gettempdir", lambda: str(tmp_path))
    monkeypatch.setattr("webbrowser.open", lambda uri: opened.append(uri) or True)
    assert main(["derive", "micrograd_tanh", "--format", "html", "--open"]) == 0
    page_file = tmp_path / "funcmlp-micrograd_tanh.html"
    assert opened == [page_file.as_uri()] and f"wrote {page_file}" in capsys.readouterr().err
    assert page_file.read_text(encoding="utf-8") == page(*replayed(Path("derivations/examples/micrograd_tanh.toml")))
    assert main(["derive", "micrograd_tanh", "--open"]) == 2
    assert "--open opens the page of a network example in the browser; add --format html" in capsys.readouterr().err


@pytest.fixture(scope="module")
def browser():
    chromium = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    driver_path = shutil.which("chromedriver")
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        webdriver = None
    if not (chromium and driver_path and webdriver):
        if os.environ.get("CI"):
            pytest.fail("CI needs Chromium, chromedriver and selenium for the browser tests (.ci/run installs them)")
        pytest.skip("needs Chromium, chromedriver and selenium (apt-get install chromium chromium-driver)")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1200,1000",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def load(browser, uri: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(uri)
    WebDriverWait(browser, 20).until(lambda d: d.execute_script("return document.body.dataset.ready === 'true'"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_every_page_runs_in_the_browser_and_shows_a_clicked_weights_chain_rule(path, tmp_path, browser):
    from selenium.webdriver.common.by import By

    page_file = written(path, tmp_path)
    ex, derivation = replayed(path)
    load(browser, page_file.as_uri())
    assert browser.execute_script("return performance.getEntriesByType('resource').length") == 0  # nothing fetched
    position = browser.find_element(By.ID, "position")
    assert position.text == f"1 / {len(derivation.steps)}"
    for _ in range(3):
        browser.find_element(By.ID, "next").click()
    visible = [s.get_attribute("id") for s in browser.find_elements(By.CSS_SELECTOR, ".stage") if s.is_displayed()]
    assert position.text == f"4 / {len(derivation.steps)}" and visible == ["stage-3"]
    assert browser.find_elements(By.CSS_SELECTOR, ".writes"), "the step highlights what it writes"
    weight = browser.find_elements(By.CSS_SELECTOR, ".weight")[0]
    name = weight.get_attribute("data-name")
    weight.find_element(By.CSS_SELECTOR, "text:not(.values)").click()  # where a reader clicks: its value
    chain = browser.find_element(By.ID, "chain")
    assert chain.get_attribute("data-weight") == name
    if len(ex.x) == 1 or ex.update == "online":  # online: the step shown in full is the first example's alone
        line = chain_rule(derivation, replace(ex, x=ex.x[:1], y=ex.y[:1]), name)
        assert chain.find_elements(By.TAG_NAME, "math"), "the chain rule is MathML"
        shown = "".join(chain.text.split()).replace("\u2212", "-")  # MathML puts each token on a line of its own
        assert "≈" + number_text(line.value)[0] in shown or "=" + number_text(line.value)[0] in shown, (name, shown)
    else:
        assert "the batch's dL/dw, the mean:" in chain.text
    errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert not errors, errors


def test_the_screenshot_of_a_page(tmp_path, browser):
    """The README's gallery image is such a screenshot: a page at a step, a weight chosen (by the link's hash)."""
    from selenium.webdriver.common.by import By

    page_file = written(Path("derivations/examples/mazur_2015.toml"), tmp_path)
    load(browser, page_file.as_uri() + "#step=12&weight=w^2_{1,1}")
    chain = browser.find_element(By.ID, "chain")
    assert chain.get_attribute("data-weight") == "w^2_{1,1}" and "≈0.0821670406" in "".join(chain.text.split())
    assert browser.find_element(By.ID, "position").text.startswith("12 / ")
    shot = tmp_path / "page.png"
    assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 20_000


def test_a_network_too_big_to_draw_is_refused(capsys):
    ex = read_spec(
        {
            "activations": ["tanh", "identity"],
            "loss": "sse",
            "learning_rate": "0.1",
            "x": [str(i) for i in range(12)],
            "y": ["1"] * 12,
            "layers": [{"W": [["0.1"] * 12] * 12}, {"W": [["0.1"] * 12] * 12}],
        }
    )
    with pytest.raises(ValueError, match="a picture shows every weight legibly up to"):
        page(ex, run(ex))


def test_a_step_outlines_what_it_reads_and_fills_what_it_writes(tmp_path, browser):
    """n^2 = a^1 W^2 + b^2 of Mazur's network reads layer 1's units, W^2 and b^2, and writes layer 2's units."""
    from selenium.webdriver.common.by import By

    path = Path("derivations/examples/mazur_2015.toml")
    ex, derivation = replayed(path)
    step = [s.name for s in derivation.steps].index("n^2") + 1
    load(browser, written(path, tmp_path).as_uri() + f"#step={step}")
    classes = lambda css: {e.get_attribute("id") for e in browser.find_elements(By.CSS_SELECTOR, css)}
    assert classes(".writes") == {"unit-2-0", "unit-2-1"}
    assert classes(".reads") == {"unit-1-0", "unit-1-1", "bias-2-0", "bias-2-1"} | {
        f"{kind}-2-{i}-{j}" for kind in ("edge", "weight") for i in range(2) for j in range(2)
    }
    n2 = browser.find_element(By.ID, "unit-2-0").text
    assert "n 1.106" in n2 and "a 0.7514" not in n2  # a^2 comes at the next step
    browser.find_element(By.ID, "next").click()
    assert "a 0.7514" in browser.find_element(By.ID, "unit-2-0").text


@pytest.mark.parametrize("link", ["#step=abc", "#step=50%", "#step=-3", "#step=99999&weight=nothing"])
def test_a_bad_link_opens_the_first_step(link, tmp_path, browser):
    from selenium.webdriver.common.by import By

    page_file = written(Path("derivations/examples/hmkcode_221.toml"), tmp_path)
    load(browser, page_file.as_uri() + link)
    steps = len(replayed(Path("derivations/examples/hmkcode_221.toml"))[1].steps)
    expected = f"{steps} / {steps}" if link.startswith("#step=99999") else f"1 / {steps}"
    assert browser.find_element(By.ID, "position").text == expected
    browser.find_element(By.ID, "previous").click()
    assert not [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


@pytest.mark.parametrize("update", ["batch", "online"])
def test_a_batch_page_shows_each_examples_chain_rule_and_their_mean_an_online_page_the_first_examples(
    update, tmp_path, browser
):
    from selenium.webdriver.common.by import By

    ex = read_spec(
        {
            "activations": ["sigmoid", "identity"],
            "loss": "half_sse",
            "learning_rate": "0.5",
            "update": update,
            "x": [["1", "2"], ["0", "1"]],
            "y": [["1"], ["0"]],
            "layers": [{"W": [["0.1", "0.2"], ["0.3", "0.4"]], "b": ["0", "0"]}, {"W": [["1"], ["-1"]], "b": ["0.5"]}],
        }
    )
    derivation = run(ex)
    page_file = tmp_path / "batch.html"
    page_file.write_text(page(ex, derivation), encoding="utf-8")
    load(browser, page_file.as_uri() + "#weight=w^2_{1,1}")
    chain = "".join(browser.find_element(By.ID, "chain").text.split()).replace("\u2212", "-")
    if update == "batch":  # each example's chain rule (its own replay), then their mean: the batch's dL/dw
        assert "example1:" in chain and "example2:" in chain and "thebatch'sdL/dw,themean:" in chain
        assert chain.endswith(number_text(derivation.values["dL/dW^2"][0])[0])
    else:
        first = read_spec(
            {
                **{"activations": ["sigmoid", "identity"], "loss": "half_sse", "learning_rate": "0.5"},
                "x": [["1", "2"]],
                "y": [["1"]],
                "layers": [
                    {"W": [["0.1", "0.2"], ["0.3", "0.4"]], "b": ["0", "0"]},
                    {"W": [["1"], ["-1"]], "b": ["0.5"]},
                ],
            }
        )
        value = number_text(chain_rule(run(first), first, "w^2_{1,1}").value)[0]
        assert chain.endswith(value) and "∂L" in chain
    assert not [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]


def test_a_batch_chain_rule_is_each_examples_gradient_and_their_mean():
    """Thresholds in columns, a layer without biases, L2: the page's chain rule of every weight, bias and
    threshold shows each example's dL_e/dw (funcmlp.backprop on that example alone, float64, here) and
    the batch's dL/dw, which is their mean plus l2 w: the replay's exact value."""
    import numpy as np
    from jax import numpy as jnp

    from derivations.formats.page import _chains
    from derivations.formats.picture import network
    from funcmlp import MLP, backprop, params_from_arrays

    ex = read_spec(
        {
            **NETWORKS["thresholds in columns, a layer without biases, fixed parameters"],
            "learning_rate": "0.1",
            "l2": "0.01",
        }
    )
    derivation = run(ex)
    layers, edges, _ = network(ex, derivation)
    chains = _chains(ex, derivation, edges, [len(layer) for layer in layers])
    arrays = [
        (np.array(W, float), np.zeros(len(W[0])) if b is None else np.array(b, float))
        for W, b in zip(ex.weights, ex.biases, strict=True)
    ]
    mlp = MLP((2, 2, 1, 1), ["sigmoid", "sigmoid", "identity"])
    per_example = [
        backprop(
            mlp, params_from_arrays(arrays, dtype=jnp.float64), np.array([x], float), np.array([y], float), "sse"
        ).grads
        for x, y in zip(ex.x, ex.y, strict=True)
    ]
    column = ex.convention.name == "column"
    for edge in edges:
        k = edge.k
        if edge.i is None:
            sign = -1 if edge.name.startswith("theta") else 1  # dL/dtheta = -dL/db
            values = [sign * float(g[k - 1].b[edge.j]) for g in per_example]
            exact = derivation.values[f"dL/d{'theta' if sign < 0 else 'b'}^{k}"][edge.j]
            mean = sum(values) / len(values)
        else:
            values = [float(g[k - 1].W[edge.i, edge.j]) for g in per_example]
            cols = len(ex.weights[k - 1]) if column else len(ex.weights[k - 1][0])
            exact = derivation.values[f"dL/dW^{k}"][edge.j * cols + edge.i]
            mean = sum(values) / len(values) + 0.01 * float(edge.weight)
        assert abs(mean - float(exact)) <= 1e-12 * max(1.0, abs(float(exact))), edge.name
        shown = "".join(re.sub(r"<[^>]+>", " ", chains[edge.name]).split()).replace("\u2212", "-")
        for e, value in enumerate(values, start=1):
            assert f"example{e}:" in shown and number_text(sp.Float(value))[0].lstrip("-") in shown, (edge.name, value)
        assert shown.endswith(number_text(exact)[0].lstrip("-")), (edge.name, shown[-60:])


def shaped(sizes: list, activations: list, loss: str = "half_sse", **extra) -> dict:
    """A spec of a network of these layer sizes: weights of both signs, biases, inputs 1/2 to 2, target one-hot."""
    layers = [
        {
            "W": [[str(((3 * i + 5 * j + 2 * k) % 9 - 4) / 8) for j in range(sizes[k])] for i in range(sizes[k - 1])],
            "b": [str((j % 3 - 1) / 10) for j in range(sizes[k])],
        }
        for k in range(1, len(sizes))
    ]
    x, y = [str((i % 4 + 1) / 2) for i in range(sizes[0])], ["1"] + ["0"] * (sizes[-1] - 1)
    return {"activations": activations, "loss": loss, "learning_rate": "0.1", "x": x, "y": y, "layers": layers, **extra}


SHAPES = {  # the largest networks the page draws have 60 parameters (picture.network refuses more)
    "2-3-2 ReLU and softmax, momentum": shaped([2, 3, 2], ["relu", "softmax"], "cross_entropy", momentum="0.9"),
    "2-3-1": shaped([2, 3, 1], ["sigmoid", "identity"]),
    "3-4-3-2": shaped([3, 4, 3, 2], ["tanh", "sigmoid", "identity"]),
    "5-5-5, 60 parameters, the most crossings": shaped([5, 5, 5], ["sigmoid", "identity"]),
    "59-1, 60 parameters, the tallest": shaped([59, 1], ["identity"]),
    "30 layers of one unit, 60 parameters, the deepest": shaped([1] * 31, ["identity"] * 30),
    **{  # the loss after three steps, velocities; thresholds, a layer without biases; a batch
        name: {"learning_rate": "0.1", **NETWORKS[name]}
        for name in [
            "softmax logits, momentum and L2, three steps",
            "thresholds in columns, a layer without biases, fixed parameters",
            "softmax output, cross-entropy, a batch in columns",
        ]
    },
}


@functools.cache
def shaped_page(name: str) -> str:
    ex = read_spec(SHAPES[name])
    return page(ex, run(ex))


LABELS = """
const svg = document.getElementById("network"), steps = [];
const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
for (let step = 0; step < arguments[0]; step += 1) {
  if (step) document.getElementById("next").click();
  const labels = [], inside = [];
  svg.querySelectorAll(".weight, .unit, .loss").forEach((g) => {
    const shape = g.querySelector("rect, circle"), text = g.querySelector("text:not(.values)");
    labels.push([g.id, box(shape)]);
    inside.push([g.id + " " + text.textContent, box(text), box(shape)]);
  });
  svg.querySelectorAll(".values tspan").forEach((span) => {
    if (span.textContent.trim()) labels.push([span.parentNode.dataset.values + " " + span.textContent, box(span)]);
  });
  steps.push([document.getElementById("position").textContent, labels, inside, box(svg)]);
}
return steps;
"""


def overlapping(labels: list) -> list:
    """The pairs of labels whose boxes share a positive area (touching edges do not)."""
    labels = sorted(labels, key=lambda label: label[1][0])
    pairs = []
    for n, (name, (_, top, right, bottom)) in enumerate(labels):
        for other, (left2, top2, right2, bottom2) in labels[n + 1 :]:
            if left2 >= right:
                break
            if min(bottom, bottom2) > max(top, top2) and min(right, right2) > left2:
                pairs.append((name, other))
    return pairs


@pytest.mark.parametrize("name", [*SHAPES, *(p.stem for p in EXAMPLES)])
def test_no_two_labels_of_the_drawing_overlap_at_any_step(name, tmp_path, browser):
    """Every step, clicked through: the weights' and biases' boxes, the units, the loss and every number a step
    puts beside them lie apart inside the drawing, and each box's text inside its box."""
    paths = {p.stem: p for p in EXAMPLES}
    page_file = tmp_path / "shape.html"
    page_file.write_text(page_of(paths[name]) if name in paths else shaped_page(name), encoding="utf-8")
    load(browser, page_file.as_uri())
    count = len(browser.find_elements("css selector", ".stage"))
    steps = browser.execute_script(LABELS, count)
    assert [position for position, *_ in steps] == [f"{n} / {count}" for n in range(1, count + 1)]
    within = lambda inner, outer: (
        outer[0] <= inner[0] <= inner[2] <= outer[2] and outer[1] <= inner[1] <= inner[3] <= outer[3]
    )
    for position, labels, inside, frame in steps:
        assert not overlapping(labels), (position, overlapping(labels)[:5])
        assert [label for label, where in labels if not within(where, frame)] == [], position
        assert [text for text, where, shape in inside if not within(where, shape)] == [], position


@pytest.mark.parametrize("name", ["2-3-2 ReLU and softmax, momentum", "3-4-3-2", "mazur_2015", "nafiz_relu_softmax"])
def test_the_drawing_and_the_steps_math_are_seen_together_in_a_1024_by_768_window(name, tmp_path, browser):
    """At every step, as the page opens (not scrolled): the whole drawing and the step's formula are in the window
    (the window's inner size is what is left of 1024 by 768 to the page)."""
    paths = {p.stem: p for p in EXAMPLES}
    page_file = tmp_path / "window.html"
    page_file.write_text(page_of(paths[name]) if name in paths else shaped_page(name), encoding="utf-8")
    browser.set_window_size(1024, 768)
    try:
        load(browser, page_file.as_uri())
        seen = browser.execute_script(
            """const box = (e) => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
            const seen = [], count = document.querySelectorAll(".stage").length;
            for (let step = 0; step < count; step += 1) {
              if (step) document.getElementById("next").click();
              const math = document.querySelector(".stage:not([hidden]) > div");
              const content = Array.from(math.querySelectorAll("math > *")).map(box);
              const drawing = document.getElementById("network"), frame = drawing.parentNode;  // its frame scrolls
              seen.push([step + 1, box(frame === document.body ? drawing : frame), box(drawing), box(math), ...content]);
            }
            return [innerWidth, innerHeight, scrollY, seen];"""
        )
    finally:
        browser.set_window_size(1200, 1000)
    width, height, scrolled, steps = seen
    assert width <= 1024 and height <= 768 and scrolled == 0
    for step, figure, drawing, *math in steps:  # the drawing not cut off by its frame (which scrolls a big one)
        assert figure[0] <= drawing[0] <= drawing[2] <= figure[2] and figure[1] <= drawing[1] <= drawing[3] <= figure[3]
        outside = [b for b in [drawing, *math] if not (0 <= b[0] <= b[2] <= width and 0 <= b[1] <= b[3] <= height)]
        assert not outside, (step, outside, drawing)
