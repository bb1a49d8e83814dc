"""The run folder ``funcmlp train --out DIR`` writes, and reading a model back from it.

A run folder holds ``model.npz`` (:mod:`funcmlp.io.model_file`), ``training_state.npz``
(:mod:`funcmlp.io.training_state`), ``history.csv`` and ``history.json`` (one row per
epoch), optional plots, and ``manifest.json``, written last: every output with its SHA-256,
so that a reader can tell the files are one run's set (a file whose hash differs was left by
another run or changed since). :func:`open_model` takes the folder, its model file or its
training state and says which it found.

Example:
    >>> import jax, tempfile, os
    >>> folder = tempfile.mkdtemp(); mlp = funcmlp.MLP((2, 1), output="sigmoid")
    >>> extra = {"data": "xor", "epoch": 3, "epochs": 3}
    >>> save_model(os.path.join(folder, MODEL_FILE), mlp, mlp.init(jax.random.key(0)), extra=extra)
    >>> write_manifest(folder, [MODEL_FILE])
    >>> found = open_model(folder)
    >>> found.kind, found.record["data"], found.describe().endswith("is a model (epoch 3 of 3)")
    ('model', 'xor', True)
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import os
import time
from typing import Any

from funcmlp.io.arrays import parse_json, read_header
from funcmlp.io.files import atomic_write
from funcmlp.io.model_file import MODEL_FORMAT, OLD_FORMATS, read_model, save_model  # noqa: F401 (the examples)
from funcmlp.io.run_lock import holder
from funcmlp.io.run_names import MANIFEST, MODEL_FILE, OLD_NAMES, STATE_FILE
from funcmlp.io.training_state import STATE_FORMAT, read_state_model
from funcmlp.sources import open_source, read_source

MANIFEST_FORMAT = "funcmlp-run-manifest"
MANIFEST_BYTES = 1 << 24
"""The largest manifest read (a run's has a few hundred bytes)."""
HISTORY_BYTES = 1 << 26
"""The largest history.json read (a million epochs' rows)."""
SEEDS = 2**32
"""Seeds run from 0 to 2**32 - 1 (``jax.random.key`` keeps 32 bits of a seed without float64)."""
RECORD = {
    "data": str,
    "data_path": str,
    "loss": str,
    "seed": int,
    "epoch": int,
    "epochs": int,
    "status": str,
    "run_id": str,
    "table": dict,
}
"""What a model's record may hold and of which type (each may be absent or null)."""


def sha256(path) -> str:
    """The SHA-256 of a file's bytes, in hex."""
    digest = hashlib.sha256()
    with open_source(path, "the file") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def clear_manifest(folder) -> None:
    """Remove ``folder/manifest.json`` before a run's outputs are rewritten (a crash in between
    then leaves files no manifest vouches for, rather than a manifest that contradicts them)."""
    path = os.path.join(os.fspath(folder), MANIFEST)
    if os.path.lexists(path):
        os.remove(path)


def write_manifest(folder, names: list, run_id: str | None = None) -> None:
    """``folder/manifest.json``, written last (atomically): the run id and the files ``names``
    with their SHA-256."""
    digests = {name: sha256(os.path.join(folder, name)) for name in names}
    content = {"format": MANIFEST_FORMAT, "written": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "run_id": run_id}
    with atomic_write(os.path.join(folder, MANIFEST)) as handle:
        json.dump({**content, "sha256": digests}, handle, indent=1)


def read_manifest(folder) -> dict | None:
    """``folder/manifest.json`` checked (``{"run_id": ..., "sha256": {name: hex}}``), or None where
    there is none; a manifest funcmlp cannot read is a one-line ``ValueError``, never a skipped check."""
    path = os.path.join(os.fspath(folder), MANIFEST)
    if not os.path.lexists(path):
        return None
    fix = f"train again into another folder, or remove {path} to use the files anyway"
    if not os.path.isfile(path) or os.path.islink(path):
        raise ValueError(f"{path} is not a regular file; {fix}")
    try:
        text = read_source(path, "the manifest", "r", MANIFEST_BYTES)
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} cannot be read ({error}); {fix}") from None
    try:
        content = parse_json(text, path)
    except ValueError as error:
        raise ValueError(f"{error}; {fix}") from None
    digests = content.get("sha256") if isinstance(content, dict) and content.get("format") == MANIFEST_FORMAT else None
    if (
        not isinstance(digests, dict)
        or not all(isinstance(v, str) for v in digests.values())
        or not isinstance(content.get("run_id"), (str, type(None)))
    ):
        raise ValueError(
            f"{path} is not a funcmlp run manifest (an object with format {MANIFEST_FORMAT!r}, a run id and sha256 "
            f"hashes); {fix}"
        )
    return content


def check_manifest(path, run_id: str | None = None, *, alone: bool = False) -> None:
    """``path`` is what its folder's manifest records: the same SHA-256 and, for a file of a run
    (``run_id``: the run id it carries), the manifest's run. A run's model with no manifest
    beside it is refused where its run's training state is there too (the run is being written
    now, or was killed before it saved its files); a model copied out of its folder, or a file
    that stands ``alone`` (the training state: one atomic file, a checkpoint), needs none.
    One ``ValueError`` line each."""
    folder = os.path.dirname(os.path.abspath(path))
    manifest = read_manifest(folder)
    if manifest is None:
        if run_id is None or alone:
            return  # a file the library wrote, or a run's checkpoint on its own
        writer = holder(folder)
        if writer is not None:
            raise ValueError(f"{path}: a funcmlp train is writing {folder} now (process {writer}); wait for it to end")
        if folder_run_ids(folder).get(STATE_FILE) == run_id:
            raise ValueError(
                f"{path}: {folder} has no {MANIFEST}: its run was stopped before it saved its files (killed); "
                f"go on with: funcmlp train --resume {folder}"
            )
        return  # a model on its own, copied out of its run folder
    where = os.path.join(folder, MANIFEST)
    recorded = manifest["sha256"].get(os.path.basename(path))
    if run_id is not None and (manifest["run_id"] != run_id or recorded is None):
        raise ValueError(
            f"{path} is from another run (run {run_id}) than {where} records (run {manifest['run_id']}): the folder "
            "mixes two runs' files; train again into another folder"
        )
    if recorded is not None and sha256(path) != recorded:
        raise ValueError(
            f"{path} is not the file {where} records (its SHA-256 differs): it is from another run or was "
            "changed since; retrain into the folder, or remove manifest.json to use the file anyway"
        )


def folder_run_ids(folder) -> dict[str, str]:
    """The run id each of ``folder``'s files carries: its model's, its training state's, its
    history's and its manifest's (a file that carries none is left out)."""
    ids = {}
    state = os.path.join(folder, STATE_FILE)
    if os.path.isfile(state):
        options = read_header(state, "funcmlp training state file").get("options")
        ids[STATE_FILE] = options.get("run_id") if isinstance(options, dict) else None
    model = os.path.join(folder, MODEL_FILE)
    if os.path.isfile(model):
        extra = read_header(model, "funcmlp model file").get("extra")
        ids[MODEL_FILE] = extra.get("run_id") if isinstance(extra, dict) else None
    manifest = read_manifest(folder)
    if manifest is not None:
        ids[MANIFEST] = manifest["run_id"]
    history = os.path.join(folder, "history.json")
    if os.path.isfile(history):
        content = parse_json(read_source(history, "the history", "r", HISTORY_BYTES), history)
        options = content.get("options") if isinstance(content, dict) else None
        ids["history.json"] = options.get("run_id") if isinstance(options, dict) else None
    return {name: value for name, value in ids.items() if isinstance(value, str)}


def write_history(folder, history, options: dict) -> list[str]:
    """``history.csv`` (one row per epoch) and ``history.json`` (the options and the rows); the names."""
    rows = history.rows()
    with atomic_write(os.path.join(folder, "history.csv"), newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else ["epoch"])
        writer.writeheader()
        writer.writerows(rows)
    with atomic_write(os.path.join(folder, "history.json")) as handle:
        json.dump({"options": options, "history": rows}, handle, indent=1)
    return ["history.csv", "history.json"]


@dataclasses.dataclass(frozen=True)
class SavedModel:
    """A model read from a run: ``kind`` ``"model"`` or ``"training state"``, the file's ``path``,
    the ``mlp`` and its ``params``, and the ``record`` of its run (keys of :data:`RECORD`)."""

    path: str
    kind: str
    mlp: Any
    params: Any
    record: dict

    def describe(self) -> str:
        """One line: what the file is and how far its run got."""
        epoch, epochs, status = (self.record.get(k) for k in ("epoch", "epochs", "status"))
        where = (
            f"epoch {epoch}" + (f" of {epochs}" if epochs is not None else "") if epoch is not None else "epoch unknown"
        )
        status = f"; training {status}" if status and status != "finished" else ""
        return f"{self.path} is a {self.kind} ({where}{status})"


def _record(values: dict, path) -> dict:
    record = {}
    for name, kind in RECORD.items():
        value = values.get(name)
        if value is not None and (type(value) is not kind or (kind is int and not 0 <= value < SEEDS)):
            raise ValueError(
                f"{path}: the recorded {name} is {str(value)[:80]!r}, expected "
                f"{'a whole number from 0 to 2**32 - 1' if kind is int else 'text' if kind is str else 'an object'}; "
                "the file was edited or damaged: "
                "train again"
            )
        record[name] = value
    return record


def _file_in(folder: str) -> str:
    for name in (MODEL_FILE, STATE_FILE):
        if os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    old = [name for name in OLD_NAMES if os.path.exists(os.path.join(folder, name))]
    if old:
        raise ValueError(
            f"{folder} holds {' and '.join(old)} of an earlier funcmlp, which this one reads no more; "
            f"train again: funcmlp train --out {folder}"
        )
    raise FileNotFoundError(
        f"{folder} holds neither {MODEL_FILE} nor {STATE_FILE}; give a folder written by funcmlp train --out "
        "or one of those files"
    )


def open_model(path, *, dtype=None) -> SavedModel:
    """The model of a run folder (its ``model.npz``, else its ``training_state.npz``) or of
    either file, checked against the folder's manifest.

    Raises:
        FileNotFoundError: nothing at ``path``, or a folder without either file.
        ValueError: a file that is not funcmlp's, of an earlier funcmlp, damaged or edited.
    """
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(
            f"{path} does not exist; give a folder written by funcmlp train --out DIR, or its {MODEL_FILE}"
        )
    if os.path.isdir(path):
        path = _file_in(path)
    kind = read_header(path, "funcmlp model or training state file")["format"]
    if kind not in (MODEL_FORMAT, STATE_FORMAT, *OLD_FORMATS):
        raise ValueError(
            f"{path} is a {kind} file, not a funcmlp model ({MODEL_FILE}) or training state ({STATE_FILE})"
        )
    if kind == STATE_FORMAT:
        mlp, params, header = read_state_model(path, dtype=dtype)
        record = _record({**header["options"], "epoch": header["epoch"]}, path)
        check_manifest(path, record["run_id"], alone=True)
        return SavedModel(path, "training state", mlp, params, record)
    mlp, params, extra = read_model(path, dtype=dtype)
    record = _record(extra, path)
    check_manifest(path, record["run_id"])
    return SavedModel(path, "model", mlp, params, record)
