"""Checkpoints: the MLP description and its params in one ``.npz`` file, written atomically.

The file holds ``layer{k}.W`` / ``layer{k}.b`` arrays and a ``meta`` entry with JSON text
(sizes, activations, dropout, format version). No pickle is written or read
(``allow_pickle=False``). Writing goes to a temporary file in the same folder, flushed and
fsynced, then ``os.replace``d over the target: a crash leaves the old checkpoint intact.

Example:
    >>> import jax, tempfile, os
    >>> from funcmlp.core.model import MLP
    >>> mlp = MLP((3, 2, 1), "tanh", output="identity")
    >>> params = mlp.init(jax.random.key(0))
    >>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
    >>> save_checkpoint(path, mlp, params)
    >>> mlp2, params2 = load_checkpoint(path)
    >>> mlp2 == mlp and bool((params2[0].W == params[0].W).all())
    True
"""

from __future__ import annotations

import io
import json
import os
import zipfile

import jax.numpy as jnp
import numpy as np

from funcmlp.registry.activations import Activation
from funcmlp.checks import check_params
from funcmlp.io.files import atomic_write
from funcmlp.core.model import MLP
from funcmlp.core.params import Layer, Params

FORMAT_VERSION = 1


def save_checkpoint(path: str | os.PathLike, mlp: MLP, params: Params, *, extra: dict | None = None) -> None:
    """Write ``mlp`` and ``params`` to ``path`` (``.npz``) atomically.

    Args:
        extra: JSON-serialisable metadata stored beside (e.g. the training options).
    """
    check_params(mlp, params)
    meta = {
        "format": "funcmlp-checkpoint",
        "version": FORMAT_VERSION,
        "sizes": list(mlp.sizes),
        "activations": [{"name": a.name, "alpha": a.alpha} for a in mlp.activations],
        "dropout": list(mlp.dropout),
        "extra": extra or {},
    }
    arrays = {"meta": np.array(json.dumps(meta))}
    for k, layer in enumerate(params, start=1):
        arrays[f"layer{k}.W"] = np.asarray(layer.W)
        arrays[f"layer{k}.b"] = np.asarray(layer.b)
    write_npz_atomically(path, arrays)


def write_npz_atomically(path, arrays: dict) -> None:
    """``np.savez`` of ``arrays`` written to ``path`` by :func:`funcmlp.io.files.atomic_write`."""
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with atomic_write(path, "wb") as handle:
        handle.write(buffer.getvalue())


def read_npz(path, expected_format: str, version: int) -> tuple[dict, dict]:
    """(the JSON header, the arrays) of a funcmlp ``.npz`` file, or a ``ValueError`` saying it
    is not one (empty, truncated, foreign, random bytes: never a hint to unpickle)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"{os.fspath(path)!r} does not exist")
    try:
        with np.load(path, allow_pickle=False) as data:
            header = json.loads(str(data["meta"]))
            if header.get("format") != expected_format:
                raise ValueError(f"no {expected_format} header")
            if header.get("version") != version:
                raise ValueError(f"format version {header.get('version')}, this funcmlp reads version {version}")
            return header, {name: data[name] for name in data.files if name != "meta"}
    except (KeyError, ValueError, EOFError, zipfile.BadZipFile, json.JSONDecodeError, OSError) as error:
        reason = "not an .npz archive" if "pickle" in str(error) or isinstance(error, EOFError) else str(error)  # numpy would suggest unpickling
        raise ValueError(f"not a funcmlp {expected_format.removeprefix('funcmlp-')} file: {os.fspath(path)!r} ({reason})") from None


def load_checkpoint(path: str | os.PathLike, *, dtype=None) -> tuple[MLP, Params]:
    """Read a checkpoint written by :func:`save_checkpoint`; returns ``(mlp, params)``.

    Raises:
        FileNotFoundError: if ``path`` does not exist.
        ValueError: if the file is not a funcmlp checkpoint or is damaged.
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"checkpoint {os.fspath(path)!r} does not exist; train first with: funcmlp train --out DIR")
    meta, data = read_npz(path, "funcmlp-checkpoint", FORMAT_VERSION)
    try:
        activations = [Activation(a["name"], a["alpha"]) for a in meta["activations"]]
        mlp = MLP(tuple(meta["sizes"]), activations, dropout=tuple(meta["dropout"]))
        params = tuple(
            Layer(jnp.asarray(data[f"layer{k}.W"], dtype=dtype), jnp.asarray(data[f"layer{k}.b"], dtype=dtype))
            for k in range(1, mlp.depth + 1)
        )
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"not a funcmlp checkpoint file: {os.fspath(path)!r} ({error})") from None
    check_params(mlp, params)
    return mlp, params


def checkpoint_extra(path: str | os.PathLike) -> dict:
    """The ``extra`` metadata stored with a checkpoint."""
    with np.load(path, allow_pickle=False) as data:
        return json.loads(str(data["meta"])).get("extra", {})
