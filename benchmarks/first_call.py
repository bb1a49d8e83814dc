"""The first call in a new process, compilation included: funcmlp against scikit-learn.

    python benchmarks/first_call.py [--runs 3] [--quick] [--out benchmarks/FIRST_CALL.md]

Each measurement is a new Python process (imports done before the clock starts), the median of
``--runs`` processes per row, funcmlp's and scikit-learn's processes interleaved; funcmlp's rows
twice: cold (every program compiled) and with JAX's persistent compilation cache
(``funcmlp.enable_compile_cache``, what the command line turns on) filled by one earlier process.
Rows, on the embedded digits (1,797 8x8 images scaled to [0, 1], the stratified 75/25 split of
``benchmarks/estimators.py``), float32:

* ``fit``: ``funcmlp.fit`` of 64-256-10 (ReLU, softmax cross-entropy), Adam 2e-3, 40 epochs of
  32, the init included, vs scikit-learn's ``MLPClassifier.fit`` with the same architecture,
  optimizer, batch and epochs.
* ``estimator``: ``funcmlp.sklearn.MLPClassifier`` vs scikit-learn's, the default (100,)
  network (Adam, batch 200, up to 200 epochs), and (256,) with batch 32 for 40 epochs.
* ``grid search``: ``GridSearchCV`` of each library's ``MLPClassifier`` (the default network)
  over alpha x learning_rate_init (2 x 2), ``cv=3``, then the refit: 13 fits.
* ``compile``: JAX's compilation of one epoch of a 64-64-10 network (the program ``fit`` runs per
  epoch) vs one of the same network's steps written by hand (``jax.grad``, optax's Adam) in a
  jitted ``lax.fori_loop``.

Test accuracy is printed beside each time. Nothing here is asserted; ``--quick`` (the tests)
runs tiny sizes once.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from run import machine, publish

PRELUDE = """
import json, time, warnings
import numpy as np
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
X, y = load_digits(return_X_y=True)
X = (X / 16.0).astype(np.float32)
X, X_test, y, y_test = train_test_split(X, y, test_size=0.25, stratify=y, random_state=0)
warnings.simplefilter("ignore")
QUICK = {quick}
"""

FIT = """
import jax, jax.numpy as jnp, optax
from funcmlp import MLP, fit, evaluate
start = time.perf_counter()
mlp = MLP((64, 8 if QUICK else 256, 10), "relu", output="identity")
params, _ = fit(mlp, mlp.init(jax.random.key(0), dtype=jnp.float32), (X, y), loss="softmax_cross_entropy",
                optimizer=optax.adam(2e-3), epochs=2 if QUICK else 40, batch_size=32, key=jax.random.key(1))
jax.block_until_ready(params)
seconds = time.perf_counter() - start
score = evaluate(mlp, params, X_test, y_test, "softmax_cross_entropy").accuracy
"""

SKLEARN_FIT = """
from sklearn.neural_network import MLPClassifier
model = MLPClassifier((8 if QUICK else 256,), learning_rate_init=2e-3, batch_size=32, max_iter=2 if QUICK else 40,
                      tol=0.0, n_iter_no_change=1000, random_state=0)
start = time.perf_counter()
model.fit(X, y)
seconds = time.perf_counter() - start
score = model.score(X_test, y_test)
"""

ESTIMATOR = """
from {module} import MLPClassifier
model = MLPClassifier({options})
start = time.perf_counter()
model.fit(X, y)
seconds = time.perf_counter() - start
score = model.score(X_test, y_test)
"""

GRID = """
from sklearn.model_selection import GridSearchCV
from {module} import MLPClassifier
grid = {{"alpha": [1e-4, 1e-2], "learning_rate_init": [1e-3, 3e-3]}}
search = GridSearchCV(MLPClassifier(hidden_layer_sizes=(8,) if QUICK else (100,), max_iter=3 if QUICK else 200,
                                    random_state=0), grid, cv=3)
start = time.perf_counter()
search.fit(X, y)
seconds = time.perf_counter() - start
score = search.score(X_test, y_test)
"""

COMPILE = """
import jax, jax.numpy as jnp, optax
from funcmlp import MLP
from funcmlp.training import TrainConfig
from funcmlp.training.batching import epoch_order
from funcmlp.training.epoch import run_epoch
from funcmlp.training.loop import Trainer
mlp = MLP((64, 64, 10), "relu", output="identity")
params = mlp.init(jax.random.key(0), dtype=jnp.float32)
trainer = Trainer(mlp, params, (X, y), TrainConfig("softmax_cross_entropy", optax.adam(2e-3), 32))
state = trainer.start(params, jax.random.key(1))
draw = epoch_order(state.key, trainer.rows, trainer.data.x.shape[0], shuffle=True)
lowered = run_epoch.lower(mlp, state, draw, trainer.data, trainer.config, checked=False)  # as fit runs it
start = time.perf_counter()
lowered.compile()
seconds = time.perf_counter() - start
score = float("nan")
"""

HAND_WRITTEN_COMPILE = """
import jax, jax.numpy as jnp, optax
adam = optax.adam(2e-3)
sizes = (64, 64, 10)
params = [(jnp.zeros((a, b)), jnp.zeros(b)) for a, b in zip(sizes[:-1], sizes[1:])]
x, labels = jnp.asarray(X), jnp.asarray(y)

def loss(params, xb, yb):
    for W, b in params[:-1]:
        xb = jax.nn.relu(xb @ W + b)
    W, b = params[-1]
    return optax.softmax_cross_entropy_with_integer_labels(xb @ W + b, yb).mean()

@jax.jit
def epoch(params, state, order):
    def step(i, carry):
        params, state = carry
        batch = jax.lax.dynamic_slice_in_dim(order, i * 32, 32)
        updates, state = adam.update(jax.grad(loss)(params, x[batch], labels[batch]), state, params)
        return optax.apply_updates(params, updates), state
    return jax.lax.fori_loop(0, x.shape[0] // 32, step, (params, state))

lowered = epoch.lower(params, adam.init(params), jnp.arange(x.shape[0]))
start = time.perf_counter()
lowered.compile()
seconds = time.perf_counter() - start
score = float("nan")
"""


def in_new_process(body: str, quick: bool, cache: str | None = None) -> tuple[float, float]:
    """``(seconds, test score)`` that ``body`` measures in a new Python process; with ``cache``, JAX's
    persistent compilation cache in that folder (``funcmlp.enable_compile_cache``) is on."""
    code = PRELUDE.format(quick=quick)
    if cache is not None:
        code += f"import funcmlp; funcmlp.enable_compile_cache({cache!r})\n"
    code += textwrap.dedent(body) + "\nprint(json.dumps([seconds, score]))"
    environ = {key: value for key, value in os.environ.items() if not key.startswith("JAX_COMPILATION_CACHE")}
    result = subprocess.run([sys.executable, "-c", code], env=environ, check=True, capture_output=True, text=True)
    seconds, score = json.loads(result.stdout.strip().splitlines()[-1])
    return seconds, score


def median_pair(ours: str, theirs: str, runs: int, quick: bool, warm: bool = False):
    """Medians of ``runs`` new processes each, interleaved: (seconds, score) for ours and theirs. ``warm``:
    ours with a persistent compilation cache that one earlier process (not timed) filled."""
    mine, reference = [], []
    with tempfile.TemporaryDirectory() as folder:
        cache = folder if warm else None
        if warm:
            in_new_process(ours, quick, cache)
        for _ in range(runs):
            mine.append(in_new_process(ours, quick, cache))
            reference.append(in_new_process(theirs, quick))
    median = lambda pairs: (statistics.median(s for s, _ in pairs), statistics.median(a for _, a in pairs))
    return median(mine), median(reference)


def rows(runs: int, quick: bool) -> list:
    estimators = [
        ("default (100,), Adam, batch 200, up to 200 epochs", "hidden_layer_sizes=(8,) if QUICK else (100,), "
         "max_iter=3 if QUICK else 200, random_state=0"),
        ("(256,), Adam, batch 32, 40 epochs", "hidden_layer_sizes=(8,) if QUICK else (256,), batch_size=32, "
         "max_iter=2 if QUICK else 40, tol=0.0, n_iter_no_change=1000, random_state=0"),
    ]  # fmt: skip
    cases = [
        ("fit: 64-256-10, Adam, 40 epochs of 32", "funcmlp.fit (init included)", FIT,
         "scikit-learn MLPClassifier.fit", SKLEARN_FIT),
        *[
            (f"estimator: MLPClassifier {what}", "funcmlp.sklearn.MLPClassifier.fit",
             ESTIMATOR.format(module="funcmlp.sklearn", options=options), "scikit-learn MLPClassifier.fit",
             ESTIMATOR.format(module="sklearn.neural_network", options=options))
            for what, options in estimators
        ],
        ("grid search: GridSearchCV, 2 x 2 grid, cv=3, default (100,)", "funcmlp.sklearn.MLPClassifier",
         GRID.format(module="funcmlp.sklearn"), "scikit-learn MLPClassifier",
         GRID.format(module="sklearn.neural_network")),
        ("compile: one epoch of 64-64-10, Adam, batch 32", "funcmlp's compiled epoch", COMPILE,
         "the same steps written by hand (jax.grad, optax) in a jitted fori_loop", HAND_WRITTEN_COMPILE),
    ]  # fmt: skip
    table = []
    for name, what, ours, reference, theirs in cases:
        for warm in (False, True) if not name.startswith("compile") else (False,):
            (seconds, score), (reference_seconds, reference_score) = median_pair(ours, theirs, runs, quick, warm)
            measured = what + (", compilation cache filled by an earlier process" if warm else "")
            table.append((name, measured, seconds, score, reference, reference_seconds, reference_score))
            print(f"{name}, {measured}: {seconds:.3f} s vs {reference_seconds:.3f} s", file=sys.stderr)
    return table


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="new processes per measurement (the median is kept)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes, one run (the tests run this)")
    parser.add_argument("--out", help="also write the table to this Markdown file")
    args = parser.parse_args(argv)
    runs = 1 if args.quick else args.runs
    lines = [
        f"Machine: {machine()}; medians of {runs} new processes per figure",
        "",
        "| first call in a new process | funcmlp | s | test accuracy | reference | s | its test accuracy "
        "| funcmlp / reference |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, what, seconds, score, reference, reference_seconds, reference_score in rows(runs, args.quick):
        shown = lambda a: "" if a != a else f"{a:.4f}"  # NaN: no accuracy (a compilation)
        lines.append(
            f"| {name} | {what} | {seconds:.3f} | {shown(score)} | {reference} | {reference_seconds:.3f} "
            f"| {shown(reference_score)} | {seconds / reference_seconds:.2f} |"
        )
    publish(
        lines,
        args.out,
        "The first call, compilation included",
        "python benchmarks/first_call.py --out benchmarks/FIRST_CALL.md",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
