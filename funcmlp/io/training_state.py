"""The training state (``DIR/training_state.npz``): everything a run needs to go on bit for bit.

The file holds the params (``layer{k}.W``, ``layer{k}.b``; with early stopping also the best
epoch's, ``best{k}.W``/``.b``), the optimizer state (any optax state pytree: its leaves
``opt{i}`` with their tree paths in the header, restored into the template
``optimizer.init(params)`` after checking that the paths, shapes and dtypes agree), the PRNG
key (``jax.random.key_data`` and the key's implementation), the epoch reached, the history
and the run's options (JSON), the format and the library version, by the one serialiser
:mod:`funcmlp.io.arrays`. Written atomically, so a run killed at any moment leaves the
previous complete state. Its params make it a model too (:func:`read_state_model`).

Example:
    >>> import jax, optax, tempfile
    >>> mlp = funcmlp.MLP((2, 3, 1), "tanh"); params = mlp.init(jax.random.key(0)); adam = optax.adam(0.1)
    >>> folder = tempfile.mkdtemp()
    >>> history = funcmlp.History(train_loss=[1.0, 0.5, 0.25])
    >>> _ = save_state(folder, mlp, TrainingState(params, adam.init(params), jax.random.key(7), 3, history))
    >>> state = load_state(folder, mlp, params, adam)
    >>> same_key = bool((jax.random.key_data(state.key) == jax.random.key_data(jax.random.key(7))).all())
    >>> state.epoch, state.history.train_loss, same_key
    (3, [1.0, 0.5, 0.25], True)
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, NamedTuple

import jax
import numpy as np

from funcmlp.io.arrays import read_header, read_npz, write_npz
from funcmlp.io.model_file import check_not_old, layer_arrays, layers_from_arrays, network_from_header, network_header
from funcmlp.io.run_names import STATE_FILE
from funcmlp.training.history import History
from funcmlp.version import __version__

STATE_FORMAT = "funcmlp-training-state"
STATE_VERSION = 2


class TrainingState(NamedTuple):
    """Where a run stands after ``epoch`` epochs."""

    params: Any
    opt_state: Any
    key: jax.Array
    epoch: int
    history: Any  # a funcmlp.History
    options: dict = {}
    best_params: Any = None  # with early stopping: the best epoch's params


def state_path(folder) -> str:
    """``folder/training_state.npz``.

    Example:
        >>> state_path("runs/a")
        'runs/a/training_state.npz'
    """
    return os.path.join(os.fspath(folder), STATE_FILE)


def save_state(folder, mlp, state: TrainingState) -> str:
    """Write ``state`` to ``folder/training_state.npz`` atomically; returns the path."""
    leaves = jax.tree_util.tree_flatten_with_path(state.opt_state)[0]
    header = {
        "format": STATE_FORMAT,
        "version": STATE_VERSION,
        "library": __version__,
        **network_header(mlp),
        "epoch": int(state.epoch),
        "history": dataclasses.asdict(state.history),
        "options": state.options,
        "key_impl": str(jax.random.key_impl(state.key)),
        "optimizer_paths": [jax.tree_util.keystr(path) for path, _ in leaves],
    }
    arrays = {"key": np.asarray(jax.random.key_data(state.key)), **layer_arrays(state.params)}
    arrays.update(layer_arrays(state.best_params or (), prefix="best"))
    arrays.update({f"opt{i}": np.asarray(leaf) for i, (_, leaf) in enumerate(leaves)})
    path = state_path(folder)
    write_npz(path, header, arrays)
    return path


def _damaged(path, what: str, value) -> ValueError:
    return ValueError(
        f"{os.fspath(path)!r}: the header's {what} is {str(value)[:80]}; the training state is damaged or was edited: "
        "start a new run (funcmlp train --out ANOTHER_DIR)"
    )


def read_state_header(path) -> dict:
    """The checked header of a training-state file: its epoch, history, options and network are
    what funcmlp writes (a ``ValueError`` naming the field otherwise).

    Example:
        >>> read_state_header("nowhere/training_state.npz")
        Traceback (most recent call last):
        FileNotFoundError: 'nowhere/training_state.npz' does not exist
    """
    check_not_old(read_header(path, "funcmlp training state file"), path)
    header, _ = read_npz(path, STATE_FORMAT, STATE_VERSION, "training state")
    return _checked(header, path)


def _checked(header: dict, path) -> dict:
    epoch, history, options = header.get("epoch"), header.get("history"), header.get("options", {})
    if type(epoch) is not int or epoch < 0:
        raise _damaged(path, "epoch", epoch)
    if not isinstance(options, dict):
        raise _damaged(path, "options", options)
    fields = {f.name: f for f in dataclasses.fields(History)}
    if not isinstance(history, dict) or set(history) - set(fields):
        raise _damaged(path, "history", history)
    for name, values in history.items():
        numbers = values if isinstance(values, list) else [values]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in numbers) or (
            isinstance(values, list) and name != "skipped_steps" and len(values) > epoch
        ):
            raise _damaged(path, f"history {name!r}", values)
    if not isinstance(header.get("key_impl"), str) or not (
        isinstance(header.get("optimizer_paths"), list) and all(isinstance(p, str) for p in header["optimizer_paths"])
    ):
        raise _damaged(path, "key or optimizer description", header.get("key_impl"))
    return header


def read_options(folder) -> dict:
    """The options a run saved with its state (the command line's, for ``--resume``)."""
    return read_state_header(state_path(folder)).get("options", {})


def read_state_model(path, *, dtype=None) -> tuple:
    """``(mlp, params, header)`` of a training-state file: the model it holds, without a template.

    Example:
        >>> import jax, optax, tempfile
        >>> mlp = funcmlp.MLP((2, 1), output="sigmoid"); params = mlp.init(jax.random.key(0))
        >>> state = TrainingState(params, (), jax.random.key(1), 2, funcmlp.History())
        >>> path = save_state(tempfile.mkdtemp(), mlp, state)
        >>> read_state_model(path)[0] == mlp, read_state_model(path)[2]["epoch"]
        (True, 2)
    """
    mlp, params, header, _ = _read_state(path, dtype)
    return mlp, params, header


def _read_state(path, dtype) -> tuple:
    """``(mlp, params, header, arrays)`` of a training-state file, read once and checked."""
    check_not_old(read_header(path, "funcmlp training state file"), path)
    header, arrays = read_npz(path, STATE_FORMAT, STATE_VERSION, "training state")
    header = _checked(header, path)
    mlp = network_from_header(header, path)
    return mlp, layers_from_arrays(arrays, mlp, path, dtype=dtype), header, arrays


def load_state(folder, mlp, params, optimizer) -> TrainingState:
    """The state saved in ``folder``, restored into the structure of ``params`` and
    ``optimizer.init(params)``; a ``ValueError`` names any disagreement (another network,
    another optimizer, a damaged file)."""
    path = state_path(folder)
    saved_mlp, restored, header, data = _read_state(path, params[0].W.dtype)
    if saved_mlp != mlp:
        raise ValueError(
            f"{path} is the state of network {saved_mlp}, not of {mlp}; resume with the options it was saved with"
        )
    best = layers_from_arrays(data, mlp, path, prefix="best", dtype=params[0].W.dtype) if "best1.W" in data else None
    template, treedef = jax.tree_util.tree_flatten_with_path(optimizer.init(params))
    paths = [jax.tree_util.keystr(p) for p, _ in template]
    saved = header["optimizer_paths"]
    if paths != saved:
        first = next(
            (i for i, (a, b) in enumerate(zip(saved, paths, strict=False)) if a != b), min(len(saved), len(paths))
        )
        raise ValueError(
            f"{path} holds the state of another optimizer ({len(saved)} leaves, the {first + 1}th "
            f"{saved[first] if first < len(saved) else 'missing'}; this one has {len(paths)}, the {first + 1}th "
            f"{paths[first] if first < len(paths) else 'missing'}); resume with the optimizer it was saved with"
        )
    leaves = []
    for i, (p, leaf) in enumerate(template):
        stored = data.get(f"opt{i}")
        if stored is None or stored.shape != np.shape(leaf) or stored.dtype != np.asarray(leaf).dtype:
            found = "missing" if stored is None else f"{stored.dtype}{list(stored.shape)}"
            raise ValueError(
                f"{path}: optimizer state {jax.tree_util.keystr(p)} is {found}, "
                f"expected {np.asarray(leaf).dtype}{list(np.shape(leaf))}"
            )
        leaves.append(jax.numpy.asarray(stored))
    try:
        key = jax.random.wrap_key_data(jax.numpy.asarray(data["key"]), impl=header["key_impl"])
    except (KeyError, ValueError, TypeError) as error:
        raise _damaged(path, "PRNG key", error) from None
    history = History(**header["history"])
    return TrainingState(
        restored,
        jax.tree_util.tree_unflatten(treedef, leaves),
        key,
        header["epoch"],
        history,
        header.get("options", {}),
        best,
    )
