"""The shipped worked examples replayed once per test process (Mazur's 10,000 steps take seconds)."""

import functools
from pathlib import Path

from derivations.examples.replay import run
from derivations.examples.spec import read_spec

EXAMPLES = sorted(Path("derivations/examples").glob("*.toml"))


@functools.cache
def replayed(path: Path) -> tuple:
    """(the checked example, its derivation) of a spec file."""
    ex = read_spec(path)
    return ex, run(ex)


# networks of every kind of layer, loss and update: spec dicts (a learning rate of 0.1 unless given)
NETWORKS = {
    "softmax output, cross-entropy, a batch in columns": dict(
        convention="column",
        activations=["tanh", "softmax"],
        loss="cross_entropy",
        x=[["0.5", "-1"], ["1.5", "0.25"]],
        y=[["1", "0", "0"], ["0", "0.3", "0.7"]],
        layers=[
            {"W": [["0.1", "-0.2"], ["0.3", "0.4"]], "b": ["0.05", "-0.1"]},
            {"W": [["0.2", "-0.5"], ["0.6", "0.1"], ["-0.3", "0.25"]], "b": ["0", "0.1", "-0.1"]},
        ],
    ),
    "sigmoid with binary cross-entropy, paired on the net input": dict(
        activations=["relu", "sigmoid"],
        loss="binary_cross_entropy",
        x=[["1", "2"], ["-1", "0.5"]],
        y=[["1"], ["0"]],
        layers=[{"W": [["0.5", "-1"], ["0.25", "0.75"]], "b": ["0.1", "0"]}, {"W": [["1.5"], ["-0.5"]], "b": ["0.2"]}],
    ),
    "gelu, elu and huber": dict(
        activations=["gelu", "elu(0.5)", "identity"],
        loss="huber(0.5)",
        x=[["0.3", "-0.7"]],
        y=[["2", "-1"]],
        layers=[
            {"W": [["0.5", "-1"], ["0.25", "0.75"]], "b": ["0.1", "0"]},
            {"W": [["1", "-2"], ["0.5", "0.5"]], "b": ["-1", "0"]},
            {"W": [["0.3", "0.2"], ["-0.4", "0.1"]], "b": ["0", "0"]},
        ],
    ),
    "leaky ReLU at its kink, softplus, absolute error": dict(
        activations=["leaky_relu(0.2)", "softplus"],
        loss="absolute_error",
        x=[["1", "-1"]],
        y=[["3"]],
        layers=[{"W": [["1", "0.5"], ["1", "2"]], "b": ["0", "0.5"]}, {"W": [["1"], ["-1"]], "b": ["0"]}],
    ),
    "Poisson and hinge outputs": dict(
        activations=["sigmoid", "identity"],
        loss="poisson",
        x=[["1", "2"]],
        y=[["3", "0"]],
        layers=[{"W": [["0.1", "0.2"], ["0.3", "-0.4"]], "b": ["0", "0"]}, {"W": [["1", "0"], ["0", "1"]]}],
    ),
    "hinge": dict(
        activations=["tanh", "identity"],
        loss="hinge",
        x=[["1", "2"], ["0", "1"]],
        y=[["1"], ["0"]],
        layers=[{"W": [["0.1", "0.2"], ["0.3", "-0.4"]], "b": ["0", "0"]}, {"W": [["1"], ["0.5"]], "b": ["0.1"]}],
    ),
    "softmax logits, momentum and L2, three steps": dict(
        activations=["relu", "identity"],
        loss="softmax_cross_entropy",
        learning_rate="0.5",
        momentum="0.9",
        l2="0.01",
        steps=3,
        x=[["1", "2"]],
        y=[["0", "1"]],
        layers=[
            {"W": [["0.5", "-1"], ["0.25", "0.75"]], "b": ["0.1", "0"]},
            {"W": [["1", "-1"], ["0.5", "0.5"]], "b": ["0", "0"]},
        ],
    ),
    "thresholds in columns, a layer without biases, fixed parameters": dict(
        convention="column",
        activations=["sigmoid", "sigmoid", "identity"],
        loss="sse",
        x=[["1", "0"], ["0", "1"]],
        y=[["1"], ["0"]],
        layers=[
            {"W": [["0.5", "0.4"], ["0.9", "1.0"]], "theta": ["0.8", "-0.1"]},
            {"W": [["-1.2", "1.1"]], "theta": ["0.3"], "fixed": ["W"]},
            {"W": [["2"]]},
        ],
    ),
    "two elu parameters: two functions": dict(
        activations=["elu(0.5)", "elu(2)", "identity"],
        loss="sse",
        x=[["-1", "-2"]],
        y=[["0.5"]],
        layers=[
            {"W": [["1", "0"], ["0", "1"]], "b": ["0", "0"]},
            {"W": [["1", "0"], ["0", "1"]], "b": ["0", "0"]},
            {"W": [["1"], ["1"]]},
        ],
    ),
}


@functools.cache
def built(name: str):
    """derivations.examples.worked.build(name), once per test process (its derivations are only read)."""
    from derivations.examples.worked import build

    return build(name)


ONLINE = {
    "activations": ["identity"],
    "loss": "half_sse",
    "learning_rate": "0.1",
    "update": "online",
    "x": [["1"], ["2"]],
    "y": [["0"], ["1"]],
    "layers": [{"W": [["1"]], "b": ["0"]}],
}
"""Two examples, one online step each."""


@functools.cache
def replayed_network(name: str) -> tuple:
    """(the checked example, its derivation) of ``NETWORKS[name]``, at a learning rate of 0.1 unless it gives one."""
    ex = read_spec({"learning_rate": "0.1", **NETWORKS[name]})
    return ex, run(ex)
