"""Claiming a run folder for one run of ``funcmlp train``: the lock, and what the folder may hold.

A new run (``--out DIR``) needs a folder holding no other run's files (:data:`RUN_FILES`;
``--overwrite`` removes them, and nothing else, once every check has passed); ``--resume DIR``
a folder whose every file that carries a run id carries the training state's
(:func:`folder_run_ids`). When training starts the manifest is removed: the folder is a run in
progress until its files and a new manifest are written.

Example:
    >>> import argparse, tempfile
    >>> args = argparse.Namespace(out=tempfile.mkdtemp(), resume=None, overwrite=False, run_id="0" * 32)
    >>> notes = []; lock = claim_folder(args, notes); notes
    []
    >>> lock.release()
"""

from __future__ import annotations

import os

from funcmlp.io.files import holds_run_folder
from funcmlp.io.run_folder import clear_manifest, folder_run_ids
from funcmlp.io.run_lock import FolderLock, lock_folder
from funcmlp.io.run_names import RUN_FILES


def remove_run(folder) -> list[str]:
    """``--overwrite``: remove the files of the run in ``folder`` (:data:`RUN_FILES`, nothing else);
    their names."""
    removed = [name for name in RUN_FILES if os.path.lexists(os.path.join(folder, name))]
    for name in removed:
        os.remove(os.path.join(folder, name))
    return removed


def check_folder(args) -> None:
    """What ``args.out`` may hold for the run ``args`` settled: a new run a folder without another
    run's files (unless ``args.overwrite``), ``args.resume`` a folder whose every file that carries
    a run id carries ``args.run_id``. One ``ValueError`` line otherwise."""
    folder = args.out
    if args.resume:
        others = {name: run for name, run in folder_run_ids(folder).items() if run != args.run_id}
        if others:
            raise ValueError(
                f"--resume {folder}: its training_state.npz is of run {args.run_id}, but "
                f"{', '.join(f'{name} of run {run}' for name, run in others.items())}: the folder mixes two runs' "
                "files; start a new run with --out ANOTHER_DIR"
            )
        return
    held = [name for name in RUN_FILES if os.path.lexists(os.path.join(folder, name))]
    if held and not args.overwrite:
        raise ValueError(
            f"--out {folder} already holds a run ({', '.join(held)}); go on with it: funcmlp train --resume "
            f"{folder}, replace it: --overwrite, or give a new folder"
        )


def claim_folder(args, notes: list) -> FolderLock:
    """Lock ``args.out`` for the run ``args`` settled (one run at a time) and check what it holds
    (:func:`check_folder`, again under the lock); a line about a killed earlier run is added to
    ``notes``. Nothing is removed yet (:func:`start_writing`). Returns the lock."""
    lock = lock_folder(args.out, "--resume" if args.resume else "--out")
    try:
        if lock.note:
            notes.insert(0, lock.note)
        check_folder(args)
    except BaseException:
        lock.release()
        raise
    return lock


def start_writing(args) -> str:
    """Just before training writes anything (every check passed, the data loaded): the manifest
    removed until the run's files are written again and, with ``args.overwrite``, the earlier
    run's files removed. A line saying what was removed, or ``""``."""
    clear_manifest(args.out)
    if args.overwrite and not args.resume:
        removed = remove_run(args.out)
        if removed:
            return f"note    --overwrite: removed the earlier run's {', '.join(removed)}"
    return ""


def claim_checkpoint_dir(folder, *, resume: bool, run_id: str | None, overwrite: bool = False) -> FolderLock | None:
    """What :func:`funcmlp.fit` does with ``checkpoint_dir=folder`` before it trains: lock the folder
    (unless this process holds it already: the command line's ``train`` does) and check what it
    holds, as ``funcmlp train`` does: without ``resume`` a folder holding no run's files (with
    ``overwrite``, the run's files there are removed first, as ``--overwrite`` does); with it, a folder
    whose files carry ``run_id`` (``None``: a state ``fit`` wrote without one). One ``ValueError`` line
    otherwise, naming the ways on. Returns the lock to release (or None).

    Example:
        >>> import tempfile
        >>> folder = tempfile.mkdtemp(); lock = claim_checkpoint_dir(folder, resume=False, run_id=None)
        >>> holds_run_folder(folder), lock.release(), holds_run_folder(folder)
        (True, None, False)
    """
    if holds_run_folder(folder):
        return None  # the command line's train holds it and has checked it (check_folder)
    if resume and overwrite:
        raise ValueError("resume=True goes on with the run in checkpoint_dir, overwrite=True replaces it: give one")
    lock = lock_folder(folder, "checkpoint_dir")
    try:
        if overwrite:
            remove_run(folder)
        present = [name for name in RUN_FILES if os.path.lexists(os.path.join(folder, name))]
        others = {name: run for name, run in folder_run_ids(folder).items() if run != run_id}
        if others:
            runs = ", ".join(f"{name} of run {run}" for name, run in others.items())
            raise ValueError(
                f"checkpoint_dir {folder} holds another run's files ({runs}, written by funcmlp train): go on with "
                f"that run: funcmlp train --resume {folder}, replace it: overwrite=True, or give fit another folder"
            )
        if present and not resume:
            raise ValueError(
                f"checkpoint_dir {folder} already holds a run ({', '.join(present)}): fit replaces it only when told "
                "to; go on with it: resume=True, replace it: overwrite=True, or give another folder"
            )
    except BaseException:
        lock.release()
        raise
    return lock
