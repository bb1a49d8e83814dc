"""Progress of ``funcmlp train``: a tqdm bar on a terminal, or a line every tenth of the epochs."""

from __future__ import annotations

import sys


def progress_callback(args):
    """``fit``'s callback for ``funcmlp train``: a tqdm bar on a terminal, else a line every tenth
    of the run; None with ``--quiet``.

    Example:
        >>> import argparse
        >>> progress_callback(argparse.Namespace(quiet=True, epochs=10)) is None
        True
    """
    if args.quiet:
        return None
    try:
        from tqdm import tqdm
    except ModuleNotFoundError:
        tqdm = None
    if tqdm is not None and sys.stderr.isatty():
        bar = tqdm(total=args.epochs, unit="epoch", leave=False)

        def update(epoch, history):
            stats = {"loss": f"{history.train_loss[-1]:.4f}"}
            if history.val_accuracy:
                stats["val_acc"] = f"{history.val_accuracy[-1]:.4f}"
            bar.set_postfix(stats)
            bar.update(1)

        update.close = bar.close
        return update
    every = max(args.epochs // 10, 1)

    def report(epoch, history):
        if epoch % every == 0 or epoch == args.epochs:
            val = f", val loss {history.val_loss[-1]:.4f}" if history.val_loss else ""
            acc = f", val accuracy {history.val_accuracy[-1]:.4f}" if history.val_accuracy else ""
            print(f"epoch {epoch:>4}: train loss {history.train_loss[-1]:.4f}{val}{acc}", flush=True)

    return report
