"""The model file (``model.npz``): an MLP description and its params, one ``.npz`` written atomically.

The file holds ``layer{k}.W`` / ``layer{k}.b`` arrays and a JSON header (format
``funcmlp-model``, version, the network's sizes, activations and dropout rates, and
``extra``: what the run recorded, e.g. its data set, loss, seed, epoch and test loss), by the
one serialiser :mod:`funcmlp.io.arrays`. No pickle is written or read. Reading checks the
header and every array before building anything and answers a damaged, foreign or older
file with one ``ValueError`` line.

Example:
    >>> import jax, tempfile, os
    >>> mlp = funcmlp.MLP((3, 2, 1), "tanh", output="identity")
    >>> params = mlp.init(jax.random.key(0))
    >>> path = os.path.join(tempfile.mkdtemp(), MODEL_FILE)
    >>> save_model(path, mlp, params, extra={"loss": "mse"})
    >>> mlp2, params2, extra = read_model(path)
    >>> mlp2 == mlp, bool((params2[0].W == params[0].W).all()), extra
    (True, True, {'loss': 'mse'})
"""

from __future__ import annotations

import numbers
import os

import jax.numpy as jnp
import numpy as np

from funcmlp.checks import check_params
from funcmlp.checks.dtypes import is_floating
from funcmlp.core.model import MLP
from funcmlp.core.params import Layer
from funcmlp.io.arrays import read_header, read_npz, write_npz
from funcmlp.io.run_names import MODEL_FILE  # noqa: F401 (the example)
from funcmlp.registry.activations import Activation

MODEL_FORMAT = "funcmlp-model"
MODEL_VERSION = 1
OLD_FORMATS = {"funcmlp-checkpoint": "params.npz"}
"""Formats of earlier funcmlp versions (read no more) and the file name they had."""


def network_header(mlp) -> dict:
    """The JSON description of ``mlp`` stored in model and training-state files.

    Example:
        >>> network_header(funcmlp.MLP((2, 1), output="leaky_relu(0.2)"))
        {'sizes': [2, 1], 'activations': [{'name': 'leaky_relu', 'alpha': 0.2}], 'dropout': []}
    """
    return {
        "sizes": list(mlp.sizes),
        "activations": [{"name": a.name, "alpha": a.alpha} for a in mlp.activations],
        "dropout": list(mlp.dropout),
    }


def _number(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def network_from_header(header: dict, path) -> MLP:
    """The MLP a header describes (see :func:`network_header`); a ``ValueError`` naming the file
    and the field that is not what funcmlp writes.

    Example:
        >>> header = {"sizes": [2, 1], "activations": [{"name": "tanh", "alpha": None}], "dropout": []}
        >>> network_from_header(header, "m.npz")
        MLP(sizes=(2, 1), activations=(Activation(name='tanh', alpha=None),), dropout=())
    """
    where = f"{os.fspath(path)!r}"
    sizes, activations, dropout = (header.get(name) for name in ("sizes", "activations", "dropout"))
    if not (isinstance(sizes, list) and len(sizes) >= 2 and all(type(s) is int and s >= 1 for s in sizes)):
        raise ValueError(
            f"{where}: the header's sizes are {str(sizes)[:80]}, expected a list of at least two positive integers; "
            "the file is damaged or was edited: train again"
        )
    if not (
        isinstance(activations, list)
        and len(activations) == len(sizes) - 1
        and all(
            isinstance(a, dict) and isinstance(a.get("name"), str) and (a.get("alpha") is None or _number(a["alpha"]))
            for a in activations
        )
    ):
        raise ValueError(
            f"{where}: the header's activations are {str(activations)[:80]}, expected {len(sizes) - 1} objects "
            '{"name": NAME, "alpha": NUMBER or null}; the file is damaged or was edited: train again'
        )
    if not (isinstance(dropout, list) and all(_number(r) for r in dropout)):
        raise ValueError(
            f"{where}: the header's dropout is {str(dropout)[:80]}, expected a list of rates; "
            "the file is damaged or was edited: train again"
        )
    try:
        return MLP(tuple(sizes), [Activation(a["name"], a["alpha"]) for a in activations], dropout=tuple(dropout))
    except ValueError as error:
        raise ValueError(f"{where}: {str(error).splitlines()[0]}") from None


def layer_arrays(params, prefix: str = "layer") -> dict:
    """``{prefix1.W: W^1, prefix1.b: b^1, ...}`` as NumPy arrays.

    Example:
        >>> sorted(layer_arrays(funcmlp.params_from_arrays([([[1.0]], [0.0])])))
        ['layer1.W', 'layer1.b']
    """
    arrays = {}
    for k, layer in enumerate(params, start=1):
        arrays[f"{prefix}{k}.W"], arrays[f"{prefix}{k}.b"] = np.asarray(layer.W), np.asarray(layer.b)
    return arrays


def layers_from_arrays(arrays: dict, mlp, path, prefix: str = "layer", dtype=None):
    """The params of ``mlp`` stored as ``prefix{k}.W``/``.b`` (see :func:`layer_arrays`), checked.

    Example:
        >>> mlp = funcmlp.MLP((1, 1), "identity")
        >>> layers_from_arrays({"layer1.W": np.ones((1, 1)), "layer1.b": np.zeros(1)}, mlp, "m.npz")[0].W.shape
        (1, 1)
    """
    names = [f"{prefix}{k}.{part}" for k in range(1, mlp.depth + 1) for part in "Wb"]
    missing = [name for name in names if name not in arrays]
    if missing:
        raise ValueError(
            f"{os.fspath(path)!r} lacks the arrays {', '.join(missing)} of {mlp}; the file is damaged: train again"
        )
    if not all(is_floating(arrays[name].dtype) for name in names):
        kinds = sorted({str(arrays[name].dtype) for name in names})
        raise ValueError(
            f"{os.fspath(path)!r}: params of dtype {', '.join(kinds)}, expected floating point; the file is damaged"
        )
    params = tuple(
        Layer(jnp.asarray(arrays[f"{prefix}{k}.W"], dtype), jnp.asarray(arrays[f"{prefix}{k}.b"], dtype))
        for k in range(1, mlp.depth + 1)
    )
    try:
        check_params(mlp, params)
    except ValueError as error:
        raise ValueError(
            f"{os.fspath(path)!r}: {str(error).splitlines()[0]}; the file is damaged: train again"
        ) from None
    return params


def save_model(path, mlp, params, *, extra: dict | None = None) -> None:
    """Write ``mlp`` and ``params`` to ``path`` (``.npz``) atomically: the model file, which
    :func:`load_model` reads back (a run's training state, to resume it, is another file:
    ``training_state.npz``, written by ``fit(checkpoint_dir=)``, :mod:`funcmlp.io.training_state`).

    Args:
        extra: JSON-serialisable metadata stored beside (e.g. the data set, loss and seed).

    Example:
        >>> import jax, tempfile, os
        >>> mlp = funcmlp.MLP((2, 1), output="sigmoid"); params = mlp.init(jax.random.key(0))
        >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> funcmlp.save_model(path, mlp, params, extra={"data": "xor"})
        >>> mlp2, params2 = funcmlp.load_model(path)
        >>> mlp2 == mlp, bool((params2[0].W == params[0].W).all())
        (True, True)
    """
    check_params(mlp, params)
    header = {"format": MODEL_FORMAT, "version": MODEL_VERSION, **network_header(mlp), "extra": extra or {}}
    write_npz(path, header, layer_arrays(params))


def read_model(path, *, dtype=None) -> tuple:
    """``(mlp, params, extra)`` from a file written by :func:`save_model`.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a funcmlp model file, or is damaged or edited.

    Example:
        >>> read_model("nowhere/model.npz")
        Traceback (most recent call last):
        FileNotFoundError: model file 'nowhere/model.npz' does not exist; train first with: funcmlp train --out DIR
    """
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"model file {os.fspath(path)!r} does not exist; train first with: funcmlp train --out DIR"
        )
    check_not_old(read_header(path, "funcmlp model file"), path)
    header, arrays = read_npz(path, MODEL_FORMAT, MODEL_VERSION, "model")
    mlp = network_from_header(header, path)
    extra = header.get("extra", {})
    if not isinstance(extra, dict):
        raise ValueError(
            f"{os.fspath(path)!r}: the header's extra is {str(extra)[:80]}, expected an object; the file was edited"
        )
    return mlp, layers_from_arrays(arrays, mlp, path, dtype=dtype), extra


def check_not_old(header: dict, path) -> None:
    """A ``ValueError`` saying so where ``header`` is of a format earlier funcmlp versions wrote.

    Example:
        >>> check_not_old({"format": "funcmlp-checkpoint"}, "run/params.npz")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: 'run/params.npz' is a params.npz of an earlier funcmlp, which this one reads no more; ...
    """
    if header.get("format") in OLD_FORMATS:
        raise ValueError(
            f"{os.fspath(path)!r} is a {OLD_FORMATS[header['format']]} of an earlier funcmlp, "
            "which this one reads no more; "
            "train again: funcmlp train --out DIR"
        )


def load_model(path, *, dtype=None) -> tuple:
    """``(mlp, params)`` from a model file written by :func:`save_model` (its ``extra``: :func:`model_extra`;
    all three: :func:`read_model`), the params in ``dtype`` where given (default: as saved).

    Example:
        >>> import jax, tempfile, os
        >>> mlp = funcmlp.MLP((2, 1), output="sigmoid"); path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> funcmlp.save_model(path, mlp, mlp.init(jax.random.key(0), dtype="float64"))
        >>> mlp2, params = funcmlp.load_model(path, dtype="float32")
        >>> mlp2 == mlp, params[0].W.dtype
        (True, dtype('float32'))
    """
    return read_model(path, dtype=dtype)[:2]


def model_extra(path) -> dict:
    """The ``extra`` metadata stored with a model (see :func:`read_model`).

    Example:
        >>> import jax, tempfile, os
        >>> mlp = funcmlp.MLP((2, 1), output="sigmoid"); path = os.path.join(tempfile.mkdtemp(), "model.npz")
        >>> save_model(path, mlp, mlp.init(jax.random.key(0)), extra={"data": "xor"})
        >>> model_extra(path)
        {'data': 'xor'}
    """
    return read_model(path)[2]
