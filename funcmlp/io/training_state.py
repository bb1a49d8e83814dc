"""Training state on disk: ``DIR/checkpoint.npz``, everything a run needs to go on bit for bit.

The file holds the params (``layer{k}.W``, ``layer{k}.b``), the optimizer state (any optax
state pytree: its leaves ``opt{i}`` with their tree paths in the header, restored into the
template ``optimizer.init(params)`` after checking that the paths, shapes and dtypes agree),
the PRNG key (``jax.random.key_data`` and the key's implementation), the epoch reached, the
history and the run's options (JSON), the format and the library version. No pickle; written
to a temporary file in the folder and renamed over the old one, so a run killed at any
moment leaves the previous complete state.

Example:
    >>> import jax, optax, tempfile
    >>> from funcmlp.core.model import MLP
    >>> from funcmlp.training.history import History
    >>> mlp = MLP((2, 3, 1), "tanh"); params = mlp.init(jax.random.key(0)); adam = optax.adam(0.1)
    >>> folder = tempfile.mkdtemp()
    >>> _ = save_state(folder, mlp, TrainingState(params, adam.init(params), jax.random.key(7), 3, History(train_loss=[1.0, 0.5, 0.25])))
    >>> state = load_state(folder, mlp, params, adam)
    >>> state.epoch, state.history["train_loss"], bool((jax.random.key_data(state.key) == jax.random.key_data(jax.random.key(7))).all())
    (3, [1.0, 0.5, 0.25], True)
"""

from __future__ import annotations

import dataclasses
import json
import os
from typing import Any, NamedTuple

import jax
import numpy as np

from funcmlp.io.model_file import read_npz, write_npz_atomically
from funcmlp.checks import check_params
from funcmlp.core.model import MLP
from funcmlp.core.params import Layer, Params

STATE_FILE = "checkpoint.npz"
STATE_FORMAT = "funcmlp-training-state"
STATE_VERSION = 1


class TrainingState(NamedTuple):
    """Where a run stands after ``epoch`` epochs."""

    params: Params
    opt_state: Any
    key: jax.Array
    epoch: int
    history: Any  # funcmlp.training.History when saved; its fields as a dict when loaded
    options: dict = {}
    best_params: Params | None = None  # with early stopping: the best epoch's params


def state_path(folder) -> str:
    return os.path.join(os.fspath(folder), STATE_FILE)


def save_state(folder, mlp: MLP, state: TrainingState) -> str:
    """Write ``state`` to ``folder/checkpoint.npz`` atomically; returns the path."""
    from funcmlp.version import __version__

    leaves = jax.tree_util.tree_flatten_with_path(state.opt_state)[0]
    header = {
        "format": STATE_FORMAT, "version": STATE_VERSION, "library": __version__,
        "sizes": list(mlp.sizes), "activations": [str(a) for a in mlp.activations], "dropout": list(mlp.dropout),
        "epoch": int(state.epoch), "history": dataclasses.asdict(state.history), "options": state.options,
        "key_impl": str(jax.random.key_impl(state.key)), "optimizer_paths": [jax.tree_util.keystr(path) for path, _ in leaves],
    }
    arrays = {"meta": np.array(json.dumps(header)), "key": np.asarray(jax.random.key_data(state.key))}
    for k, layer in enumerate(state.params, start=1):
        arrays[f"layer{k}.W"], arrays[f"layer{k}.b"] = np.asarray(layer.W), np.asarray(layer.b)
    for k, layer in enumerate(state.best_params or (), start=1):
        arrays[f"best{k}.W"], arrays[f"best{k}.b"] = np.asarray(layer.W), np.asarray(layer.b)
    for i, (_, leaf) in enumerate(leaves):
        arrays[f"opt{i}"] = np.asarray(leaf)
    path = state_path(folder)
    write_npz_atomically(path, arrays)
    return path


def read_options(folder) -> dict:
    """The options a run saved with its state (the command line's, for ``--resume``)."""
    header, _ = read_npz(state_path(folder), STATE_FORMAT, STATE_VERSION)
    return header.get("options", {})


def load_state(folder, mlp: MLP, params: Params, optimizer) -> TrainingState:
    """The state saved in ``folder``, restored into the structure of ``params`` and
    ``optimizer.init(params)``; a ``ValueError`` names any disagreement (another network,
    another optimizer, a damaged file)."""
    path = state_path(folder)
    header, data = read_npz(path, STATE_FORMAT, STATE_VERSION)
    if header["sizes"] != list(mlp.sizes) or header["activations"] != [str(a) for a in mlp.activations]:
        raise ValueError(f"{path} is the state of network {header['sizes']} {header['activations']}, not of {mlp}; "
                         "resume with the options it was saved with")
    dtype = params[0].W.dtype
    restored = tuple(Layer(jax.numpy.asarray(data[f"layer{k}.W"], dtype), jax.numpy.asarray(data[f"layer{k}.b"], dtype))
                     for k in range(1, mlp.depth + 1))
    best = tuple(Layer(jax.numpy.asarray(data[f"best{k}.W"], dtype), jax.numpy.asarray(data[f"best{k}.b"], dtype))
                 for k in range(1, mlp.depth + 1)) if "best1.W" in data else None
    check_params(mlp, restored)
    template, treedef = jax.tree_util.tree_flatten_with_path(optimizer.init(params))
    paths = [jax.tree_util.keystr(p) for p, _ in template]
    if paths != header["optimizer_paths"]:
        saved = header["optimizer_paths"]
        first = next((i for i, (a, b) in enumerate(zip(saved, paths)) if a != b), min(len(saved), len(paths)))
        raise ValueError(f"{path} holds the state of another optimizer ({len(saved)} leaves, the {first + 1}th "
                         f"{saved[first] if first < len(saved) else 'missing'}; this one has {len(paths)}, the {first + 1}th "
                         f"{paths[first] if first < len(paths) else 'missing'}); resume with the optimizer it was saved with")
    leaves = []
    for i, (p, leaf) in enumerate(template):
        saved = data[f"opt{i}"]
        if saved.shape != np.shape(leaf) or saved.dtype != np.asarray(leaf).dtype:
            raise ValueError(f"{path}: optimizer state {jax.tree_util.keystr(p)} is {saved.dtype}{list(saved.shape)}, "
                             f"expected {np.asarray(leaf).dtype}{list(np.shape(leaf))}")
        leaves.append(jax.numpy.asarray(saved))
    key = jax.random.wrap_key_data(jax.numpy.asarray(data["key"]), impl=header["key_impl"])
    history = header["history"]
    return TrainingState(restored, jax.tree_util.tree_unflatten(treedef, leaves), key, int(header["epoch"]), history,
                         header.get("options", {}), best)
