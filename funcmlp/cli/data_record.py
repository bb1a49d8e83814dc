"""The data a run was trained on is part of the run: each data file's size and SHA-256, recorded
with the run's options (``data_files``), and checked again by ``funcmlp train --resume``.

A table edited between two sessions of a run would otherwise be split and encoded afresh: weights
learned for one category would mean another, training rows would become test rows. A built-in
set is recorded by its name, seed and split (the run's options already); files are recorded by
what the command read (:func:`funcmlp.sources.read_under`): a data folder's files one by one.

Example:
    >>> import argparse, os, tempfile
    >>> from funcmlp.sources import command_scope, check_source
    >>> path = os.path.join(tempfile.mkdtemp(), "t.csv"); _ = open(path, "w").write("a,b\\n1,2\\n")
    >>> args = argparse.Namespace(data_path=path, test=None)
    >>> with command_scope():
    ...     _ = check_source(path)
    ...     record = fingerprints(args)
    >>> record["--data-path"]["files"]["t.csv"]["size"]
    8
    >>> _ = open(path, "a").write("3,4\\n")
    >>> with command_scope():
    ...     _ = check_source(path)
    ...     check_unchanged(args, record, "run")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: --resume run: --data-path .../t.csv changed since the run began (12 bytes, was 8; ...
"""

from __future__ import annotations

import hashlib
import os

from funcmlp.sources import open_source, read_under

OPTIONS = {"--data-path": "data_path", "--test": "test"}
"""The options whose files a run records."""


def _digest(path: str) -> dict:
    digest, size = hashlib.sha256(), 0
    with open_source(path, "the data file") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
            size += len(block)
    return {"size": size, "sha256": digest.hexdigest()}


def fingerprints(args) -> dict:
    """``{option: {"path": the path given, "files": {name: {"size", "sha256"}}}}`` of the data files
    the command has read: the file given, or the files it read in the folder given (names relative to it)."""
    record = {}
    for option, name in OPTIONS.items():
        path = getattr(args, name, None)
        if path is None or not os.path.exists(path):
            continue  # a built-in set's name: recorded by the options
        if os.path.isdir(path):
            files = {os.path.relpath(p, path): _digest(p) for p in read_under(path)}
        else:
            files = {os.path.basename(path): _digest(path)}
        record[option] = {"path": path, "files": files}
    return record


def _well_formed(recorded) -> bool:
    def file_ok(entry):
        return isinstance(entry, dict) and type(entry.get("size")) is int and isinstance(entry.get("sha256"), str)

    return isinstance(recorded, dict) and all(
        option in OPTIONS
        and isinstance(then, dict)
        and isinstance(then.get("path"), str)
        and isinstance(then.get("files"), dict)
        and all(isinstance(name, str) and file_ok(entry) for name, entry in then["files"].items())
        for option, then in recorded.items()
    )


def check_unchanged(args, recorded: dict | None, folder: str) -> list[str]:
    """Refuse (one ``ValueError`` line naming the file) data that differs from what the run
    ``folder`` recorded; the notes to print (a run of an earlier funcmlp recorded nothing)."""
    if recorded is None:
        return [f"resume  {folder}: the run recorded no fingerprint of its data (an earlier funcmlp): not checked"]
    if not _well_formed(recorded):
        raise ValueError(
            f"--resume {folder}: the saved record of the data files is not one funcmlp writes; the training state "
            "was edited or damaged: start a new run with --out ANOTHER_DIR"
        )
    now = fingerprints(args)
    for option, then in recorded.items():
        files = now.get(option, {}).get("files", {})
        for name, was in then.get("files", {}).items():
            found = files.get(name)
            if found == was:
                continue
            where = os.path.join(getattr(args, OPTIONS[option]), name) if len(then["files"]) > 1 else then["path"]
            change = (
                "it is no longer read"
                if found is None
                else f"{found['size']:,} bytes, was {was['size']:,}; SHA-256 {found['sha256'][:12]}..., "
                f"was {was['sha256'][:12]}..."
            )
            raise ValueError(
                f"--resume {folder}: {option} {where} changed since the run began ({change}): its split and "
                "encoding would be made again from other rows; give the file as the run read it, or start a new "
                "run with --out ANOTHER_DIR"
            )
    return []
