"""derivations.formats.picture: the network of a worked example as Mermaid and as a PNG, and the
`funcmlp derive --format mermaid / --plot` command line."""

import os
import re

import pytest

from derivations.examples.replay import run
from derivations.examples.spec import read_spec, seed_spec_path
from derivations.formats.picture import mermaid, plot_network
from funcmlp.cli import main

MAZUR = os.path.join(os.path.dirname(__file__), "..", "examples", "worked", "mazur_222.toml")


def test_mermaid_has_every_weight_on_its_edge_and_the_values_on_the_nodes():
    ex = read_spec(MAZUR)
    text = mermaid(ex, run(ex))
    assert text.startswith("flowchart LR\n")
    edges = re.findall(r'^(\w+) -->\|"(.*?)"\| (\w+)$', text, flags=re.M)
    assert len(edges) == 8 + 4  # weights and biases
    # column convention: w^2_{1,2} joins hidden unit 2 to output unit 1 (Mazur's w6 = 0.45)
    assert ("u1_2", "w<sup>2</sup><sub>1,2</sub> = 0.45", "u2_1") in edges
    assert ("bias1", "b<sup>2</sup><sub>2</sub> = 0.6", "u2_2") in edges
    assert "a<sup>2</sup><sub>1</sub> = 0.751365070" in text and "s<sup>2</sup><sub>1</sub> = 0.138498562" in text
    assert 'loss@{ shape: dbl-circ, label: "L = 0.298371109" }' in text
    assert text.count("subgraph") == text.count("\nend") == 3


def test_row_convention_and_a_batch_show_the_first_example():
    ex = read_spec(
        {
            "activations": ["relu", "identity"],
            "loss": "sse",
            "learning_rate": "0.1",
            "x": [[1, 2], [3, 4]],
            "y": [[0], [1]],
            "layers": [{"W": [[1, -1], [2, 0.5]], "b": [0, 0]}, {"W": [[1], [1]], "b": [0]}],
        }
    )
    text = mermaid(ex, run(ex))
    assert ("x2", "w<sup>1</sup><sub>2,1</sub> = 2", "u1_1") in re.findall(
        r'^(\w+) -->\|"(.*?)"\| (\w+)$', text, flags=re.M
    )
    assert (
        "n<sup>1</sup><sub>1</sub> = 5" in text and "n<sup>1</sup><sub>2</sub> = 0" in text
    )  # x = (1, 2): 1*1 + 2*2, 1*(-1) + 2*0.5


def test_png_is_written_atomically(tmp_path, monkeypatch):
    """A save that fails halfway leaves the picture that was there, and no temporary file."""
    import matplotlib.figure

    ex = read_spec(seed_spec_path("seed000_house_price"))
    d = run(ex)
    path = plot_network(ex, d, str(tmp_path / "net.png"))
    data = (tmp_path / "net.png").read_bytes()
    assert path.endswith("net.png") and data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000

    def broken(self, handle, **kwargs):
        handle.write(b"\x89PNG half a picture")
        raise OSError("disk full")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(OSError, match="disk full"):
        plot_network(ex, d, str(tmp_path / "net.png"))
    assert (tmp_path / "net.png").read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.png"]


def test_pictures_refuse_networks_too_big_to_read():
    big = {
        "activations": ["relu", "identity"],
        "loss": "sse",
        "learning_rate": "0.1",
        "x": ["1"] * 10,
        "y": ["0"],
        "layers": [{"W": [["0.1"] * 5] * 10, "b": ["0"] * 5}, {"W": [["0.1"]] * 5, "b": ["0"]}],
    }  # 61 parameters
    ex = read_spec(big)
    with pytest.raises(ValueError, match="61 parameters; a picture shows every weight legibly up to 60"):
        mermaid(ex, run(ex))


def test_cli_mermaid_and_plot(tmp_path, capsys):
    assert main(["derive", "seed002_sigmoid_221", "--format", "mermaid"]) == 0  # every erratum of seed 002 is explained
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR")
    png = tmp_path / "own.png"
    assert main(["derive", "--example", MAZUR, "--plot", str(png)]) == 0
    captured = capsys.readouterr()
    assert "s^2_1 = (a^2_1 - y_1)*a^2_1*(1 - a^2_1)" in captured.out and f"wrote {png}" in captured.err
    assert png.stat().st_size > 20_000


@pytest.mark.parametrize(
    "argv, match",
    [
        (
            ["derive", "seed003_xor", "--format", "mermaid"],
            "--format mermaid is for a network worked example: give --example FILE or one of seed000_house_price",
        ),
        (["derive", "--example", MAZUR, "--plot", "net.pdf"], "give a file name ending in .png, got 'net.pdf'"),
        (
            ["derive", "--example", MAZUR, "--plot", "/no/such/folder/net.png"],
            "the folder /no/such/folder does not exist",
        ),
        (["derive", "--example", MAZUR, "--plot", os.path.dirname(MAZUR) + ".png"], None),
        (["derive", "seed003_xor", "--steps", "2"], "--steps replays gradient steps of a network example"),
    ],
)
def test_cli_picture_refusals(argv, match, capsys, tmp_path):
    if match is None:  # a folder named like a PNG
        folder = tmp_path / "dir.png"
        folder.mkdir()
        argv, match = argv[:-1] + [str(folder)], "that is a folder"
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert match in err and len(err.strip().splitlines()) == 1


def test_steps_of_a_seed_example(capsys):
    assert main(["derive", "seed002_sigmoid_221", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "L after step 3" in out and "W^1 after 3 steps" in out


def test_pictures_show_thresholds_and_layers_without_biases(tmp_path):
    """Negnevitsky's thresholds on a "-1" input, named theta with their updates; a layer without biases has no
    bias node and no bias edges."""
    ex = read_spec(seed_spec_path("negnevitsky_xor"))
    text = mermaid(ex, run(ex))
    edges = re.findall(r'^(\w+) -->\|"(.*?)"\| (\w+)$', text, flags=re.M)
    assert ("bias0", "θ<sup>1</sup><sub>1</sub> = 0.8", "u1_1") in edges and 'bias0(["-1"])' in text
    assert path_png_written(ex, tmp_path)
    bare = read_spec(seed_spec_path("hmkcode_221"))
    text = mermaid(bare, run(bare))
    assert "bias" not in text and len(re.findall(r"-->\|", text)) == 6  # the six weights only


def path_png_written(ex, tmp_path) -> bool:
    path = plot_network(ex, run(ex), str(tmp_path / "net.png"))
    return (tmp_path / "net.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.endswith("net.png")


def test_cli_draws_and_replays_the_published_examples(capsys):
    assert main(["derive", "hagan_ch11", "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR")
    assert main(["derive", "negnevitsky_xor", "--steps", "3"]) == 0
    out = capsys.readouterr().out
    assert "L after step 3" in out and "theta^1 after 3 steps" in out


def _png_texts(ex, tmp_path, monkeypatch) -> list[str]:
    """The texts drawn on the PNG (its labels and its title), read from the figure as it is saved."""
    import funcmlp.io.plots

    seen = []
    real = funcmlp.io.plots.save_figure

    def keep(fig, path):
        seen.extend(t.get_text() for ax in fig.axes for t in [*ax.texts, ax.title])
        return real(fig, path)

    monkeypatch.setattr(funcmlp.io.plots, "save_figure", keep)
    plot_network(ex, run(ex), str(tmp_path / "net.png"))
    return seen


def test_pictures_mark_the_parameters_a_spec_keeps_fixed(tmp_path, monkeypatch):
    """Mazur (2015) keeps his biases: their edges are dotted and marked fixed, and the PNG shows no
    update for them; his weights are updated, w5 = 0.4 -> 0.35891648 as his text prints (4 digits here)."""
    from dataclasses import replace

    ex = replace(read_spec(seed_spec_path("mazur_2015")), steps=1, printed={})  # the first step only: quick
    text = mermaid(ex, run(ex))
    assert 'bias1 -.->|"b<sup>2</sup><sub>1</sub> = 0.6 (fixed)"| u2_1' in text
    assert 'u1_1 -->|"w<sup>2</sup><sub>1,1</sub> = 0.4"| u2_1' in text
    assert len(re.findall(r"-\.->", text)) == 4 and len(re.findall(r" -->\|", text)) == 8
    texts = _png_texts(ex, tmp_path, monkeypatch)
    assert "b: 0.35 (fixed)" in texts and "b: 0.6 (fixed)" in texts and "0.4 → 0.3589" in texts


def test_pictures_say_which_example_of_an_online_batch_they_show(tmp_path, monkeypatch):
    ex = read_spec(
        {
            "activations": ["identity"],
            "loss": "half_sse",
            "learning_rate": "0.1",
            "update": "online",
            "x": [[1], [2]],
            "y": [[0], [1]],
            "layers": [{"W": [[3]], "b": [0]}],
        }
    )
    assert 'subgraph layer0["input: example 1 of 2 (online: one step per example)"]' in mermaid(ex, run(ex))
    assert "input: example 1 of 2 (online: one step per example)" in _png_texts(ex, tmp_path, monkeypatch)
