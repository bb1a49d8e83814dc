"""What ``funcmlp train`` writes into its run folder: the model, the history and the plots, then the
manifest (written last), after a finished, stopped, diverged or interrupted run.

Contract::

    save(args, mlp, params, history, epoch, status, extra=None, plots=None) -> the names written
    save_interrupted(args, mlp, initial) -> the line saying where the model is
    plots(args, mlp, params, history, data, x_test) -> a function writing the plots asked for, or None
"""

from __future__ import annotations

import os

from funcmlp.cli import train_options


def save(args, mlp, params, history, epoch: int, status: str, extra: dict | None = None, plots=None) -> list[str]:
    """The run folder's model, history and plots, then its manifest (written last); the names."""
    from funcmlp.io.model_file import save_model
    from funcmlp.io.run_folder import clear_manifest, write_history, write_manifest
    from funcmlp.io.run_names import MANIFEST, MODEL_FILE, STATE_FILE

    os.makedirs(args.out, exist_ok=True)
    clear_manifest(args.out)
    record = {
        "data": args.data,
        "data_path": args.data_path,
        "loss": args.loss,
        "seed": args.seed,
        "epoch": epoch,
        "epochs": args.epochs,
        "status": status,
        "run_id": args.run_id,
        **(extra or {}),
    }
    save_model(os.path.join(args.out, MODEL_FILE), mlp, params, extra=record)
    names = [MODEL_FILE, *write_history(args.out, history, train_options.run_options(args))]
    names += [os.path.basename(path) for path in (plots() if plots else [])]
    names += [STATE_FILE] if os.path.isfile(os.path.join(args.out, STATE_FILE)) else []
    write_manifest(args.out, names, args.run_id)
    return [*names, MANIFEST]


def save_interrupted(args, mlp, initial) -> str:
    """After a Ctrl-C in training: the model of the training state fit saved (or the initial
    params where it saved none); the line that says where it is."""
    from funcmlp import History
    from funcmlp.io.training_state import read_state_model, state_path

    params, epoch, history = initial, 0, History()
    if os.path.exists(state_path(args.out)):
        saved_mlp, saved, header = read_state_model(state_path(args.out))
        if saved_mlp == mlp:  # fit saved it (or the run resumed from it)
            params, epoch, history = saved, header["epoch"], History(**header["history"])
    save(args, mlp, params, history, epoch, "interrupted")
    return (
        f"the model of epoch {epoch} is saved in {os.path.join(args.out, 'model.npz')}; go on with: "
        f"funcmlp train --resume {args.out}"
    )


def plots(args, mlp, params, history, data, x_test):
    """A function writing the plots asked for (after the model, before the manifest); their paths."""
    if not args.plots:
        return None

    def write() -> list[str]:
        import numpy as np

        from funcmlp import predict
        from funcmlp.io.plots import plot_confusion, plot_history

        written = [plot_history(history, os.path.join(args.out, "curves.png"), title=f"{args.data}: {mlp}")]
        if data.num_classes > 2:
            predictions = np.asarray(predict(mlp, params, x_test))
            written.append(
                plot_confusion(
                    data.y_test,
                    predictions,
                    os.path.join(args.out, "confusion.png"),
                    data.num_classes,
                    title=f"{args.data} test split",
                )
            )
        if not args.quiet:
            print(f"plots   {', '.join(written)}")
        return written

    return write
