"""Kills a run's writer with SIGKILL at random moments of its saves, for tests/test_kill_during_save.py:
``python save_writer.py FOLDER KILLS SEED``.

The writer does what ``funcmlp train --resume`` does, with the functions the command calls (its
options settled by the command's own parser): it removes the manifest, saves the training state
(the checkpoint of an epoch), then the model, the history and, last, the manifest; then it
waits as long as that took, as between two runs. Epoch ``i`` writes params whose every
entry is ``i`` and a history of ``i`` epochs, so a folder that mixes two epochs' files shows it.
For each kill the runner (imported once, no JAX backend started in it) forks a writer that
locks the folder as the command does (removing what a killed writer left half-written) and
continues the folder's run, waits until it has saved twice, lets
it run for a random part of two saves' time more, sends SIGKILL and copies the folder to ``FOLDER-K`` as the
kill left it. It prints how long each writer took to start and to save; the test reads the copies.
"""

import os
import random
import shutil
import signal
import sys
import time
import traceback


def _write_forever(folder: str, first: int, ready: int, parent: int) -> None:
    """In the forked writer: save epoch after epoch, from ``first``; one byte on ``ready`` after
    each of the first two saves; it ends when its ``parent`` is gone (a test stopped by a timeout)."""
    import jax
    import numpy as np
    import optax

    from funcmlp import MLP, History, Layer
    from funcmlp.cli import run_output
    from funcmlp.cli.train_options import run_options, settle, train_parser
    from funcmlp.io.run_claim import start_writing
    from funcmlp.io.run_lock import lock_folder
    from funcmlp.io.training_state import TrainingState, save_state

    args = settle(train_parser().parse_args(["--data", "xor", "--hidden", "4", "--out", folder, "--epochs", "1000000"]))
    args.run_id = "0123456789abcdef" * 2  # every writer continues one run
    lock_folder(folder, "--resume")  # as the command does: removes the temporaries a killed writer left
    mlp = MLP((2, 4, 1), "tanh")
    key = jax.random.key(1)  # the only JAX array: nothing is compiled, the writer is ready in a moment
    for epoch in range(first, first + 10**6):
        params = tuple(Layer(np.full((m, n), float(epoch)), np.full(n, float(epoch))) for m, n in ((2, 4), (4, 1)))
        opt_state = optax.sgd(0.1).init(params)  # plain SGD keeps no state
        history = History(train_loss=[float(e) for e in range(1, epoch + 1)], epoch_seconds=[0.0] * epoch)
        options = run_options(args)
        started = time.monotonic()
        start_writing(args)  # as the command does before it trains: the manifest goes first
        save_state(folder, mlp, TrainingState(params, opt_state, key, epoch, history, options))
        run_output.save(args, mlp, params, history, epoch, "finished")
        if epoch < first + 2:
            os.write(ready, b"r")
        time.sleep(time.monotonic() - started)  # the run ended; another --resume comes as long after
        if os.getppid() != parent:
            return


def main(folder: str, kills: str, seed: str) -> None:
    # imported before the forks (no JAX backend is started by importing): each writer starts warm
    import optax  # noqa: F401

    import funcmlp.cli.train
    import funcmlp.cli.train_options
    import funcmlp.io.run_claim
    import funcmlp.io.run_lock
    import funcmlp.io.training_state  # noqa: F401

    rng, parent = random.Random(int(seed)), os.getpid()
    os.makedirs(folder, exist_ok=True)
    for kill in range(int(kills)):
        read, write = os.pipe()
        started = time.monotonic()
        pid = os.fork()
        if pid == 0:
            os.close(read)
            try:
                _write_forever(folder, 1 + 100 * kill, write, parent)
            except BaseException:
                traceback.print_exc()  # the test shows it: the writer ended before it saved twice
            finally:
                sys.stderr.flush()
                os._exit(70)
        os.close(write)
        marks = []
        for _ in range(2):
            if os.read(read, 1) != b"r":  # the writer ended before its second save: its error is on stderr
                raise SystemExit(f"the writer ended before it saved twice (kill {kill})")
            marks.append(time.monotonic())
        time.sleep(rng.uniform(0, 2 * (marks[1] - marks[0])))  # within the next save or the wait after it
        os.kill(pid, signal.SIGKILL)
        print(f"kill {kill}: writer ready in {marks[0] - started:.2f} s, a save takes {marks[1] - marks[0]:.3f} s")
        os.waitpid(pid, 0)
        os.close(read)
        shutil.copytree(folder, f"{folder}-{kill}", symlinks=True)


if __name__ == "__main__":
    main(*sys.argv[1:])
