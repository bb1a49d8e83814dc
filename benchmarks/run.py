"""funcmlp's benchmark suite: every row a ratio against a reference measured in the same run.

    python benchmarks/run.py [--quick] [--out benchmarks/RESULTS.md]

Rows (float32, medians of interleaved repeats, after one warm-up call each):

* ``step``: one jitted SGD step, manual backprop vs ``jax.grad`` of the same loss (funcmlp's
  ``objective``), vs a plain-JAX MLP written here (``jax.nn``, ``optax``) and vs one SGD step
  of scikit-learn's ``MLPClassifier`` (``partial_fit`` on one batch); 784-256-256-10, batch 128
  and 1024. Equinox and PyTorch rows when they are installed (the ``bench`` extra; PyTorch's
  CPU build: ``pip install torch --index-url https://download.pytorch.org/whl/cpu``), PyTorch
  with its thread count stated.
* ``fit``: a second ``fit`` call (nothing left to compile) vs a hand-written jitted
  ``lax.scan`` of the same SGD steps over the same shuffled batches.
* ``small``: 64-32-10 on the digits, batch 32: fit's compiled epoch vs a Python loop of
  jitted steps.
* ``per-example``: gradients of 256 examples, 784-256-10: ``vmap`` of the manual backprop vs
  ``vmap`` of ``jax.grad`` vs a Python loop of jitted single-example gradients.
* ``digits``: the embedded digits to >= 97 % test accuracy, funcmlp's ``fit`` (first call, with
  compilation, and second call) vs scikit-learn's ``MLPClassifier.fit`` with the same
  architecture and optimizer.
* ``compile``: compilation time of one epoch vs depth (1 to 16 hidden layers of 64).
* ``warm start``: ``funcmlp train`` of the digits in a new process with JAX's persistent
  compilation cache filled by a first run (a fresh cache folder) vs that first, cold run.
* ``beyond``: per-example norms, the clipped gradient and curvature against the plain step, and BackPACK's
  where installed (``benchmarks/beyond.py`` says what each row compares).
* ``symbolic``: ``funcmlp derive check`` of tanh networks, the cost per parameter against the
  smallest network's (``benchmarks/symbolic.py`` prints the full table with sympy's references).

Timings are never asserted in tests; ``--quick`` runs tiny sizes only (the tests run it).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # its sibling benchmarks/symbolic.py

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcmlp import MLP, backprop, evaluate, fit, objective
from funcmlp.data.datasets import load_dataset
from funcmlp.io.files import atomic_write


def publish(lines: list[str], out: str | None, title: str, command: str) -> None:
    """Print the table ``lines`` and, with ``out``, write it atomically under a ``title`` heading and the
    ``command`` that makes it (every benchmark script's Markdown file)."""
    table = "\n".join(lines)
    print(table)
    if out:
        with atomic_write(out) as handle:
            handle.write(f"# {title}\n\n`{command}`\n\n{table}\n")


def table(rows: list, notes: list) -> list[str]:
    """The machine line, the Markdown table of ``(benchmark, measured, seconds, reference, seconds)`` rows with
    their ratios, and the ``notes`` as a list below it."""
    lines = [
        f"Machine: {machine()}",
        "",
        "| benchmark | measured | ms | reference | ms | measured / reference |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {name} | {what} | {1e3 * seconds:.3f} | {reference} | {1e3 * reference_seconds:.3f} "
        f"| {seconds / reference_seconds:.2f} |"
        for name, what, seconds, reference, reference_seconds in rows
    ]
    return lines + (["", *(f"- {note}" for note in notes)] if notes else [])


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as handle:
            cpu = next((line.split(":", 1)[1].strip() for line in handle if line.startswith("model name")), cpu)
    except OSError:
        pass
    devices = ", ".join(sorted({d.device_kind for d in jax.devices()}))
    return (
        f"{cpu}, {os.cpu_count()} cores, JAX {jax.__version__} on {jax.default_backend()} ({devices}), "
        f"Python {platform.python_version()}"
    )


def median_seconds(functions: dict, repeats: int) -> dict:
    """Interleaved timing: each function once per round, ``repeats`` rounds; the median per function."""
    for function in functions.values():
        function()  # warm-up: compile
    times = {name: [] for name in functions}
    for _ in range(repeats):
        for name, function in functions.items():
            start = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in times.items()}


def _data(key, n, d_in, classes):
    kx, ky = jax.random.split(key)
    return jax.random.normal(kx, (n, d_in), jnp.float32), jax.random.randint(ky, (n,), 0, classes)


def _plain_loss(params, x, y):
    """A plain-JAX MLP (ReLU hidden layers, softmax cross-entropy), written here."""
    h = x
    for W, b in params[:-1]:
        h = jax.nn.relu(h @ W + b)
    W, b = params[-1]
    return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(h @ W + b, y))


def bench_step(sizes, batch, repeats) -> list:
    mlp = MLP(sizes, "relu", output="identity")
    params = mlp.init(jax.random.key(0), dtype=jnp.float32)
    x, y = _data(jax.random.key(1), batch, sizes[0], sizes[-1])
    sgd = optax.sgd(1e-3)
    state = sgd.init(params)

    def make(gradient):
        @jax.jit
        def step(params, state):
            grads = gradient(params)
            updates, state = sgd.update(grads, state, params)
            return optax.apply_updates(params, updates), state

        return lambda: jax.block_until_ready(step(params, state))

    plain = tuple((W, b) for W, b in params)
    plain_sgd_state = sgd.init(plain)

    @jax.jit
    def plain_step(params, state):
        grads = jax.grad(_plain_loss)(params, x, y)
        updates, state = sgd.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    functions = {
        "manual": make(lambda p: backprop(mlp, p, x, y, "softmax_cross_entropy").grads),
        "jax.grad": make(lambda p: jax.grad(lambda q: objective(mlp, q, x, y, "softmax_cross_entropy"))(p)),
        "plain JAX": lambda: jax.block_until_ready(plain_step(plain, plain_sgd_state)),
    }
    t = median_seconds(functions, repeats)
    name = f"step {'-'.join(map(str, sizes))}, batch {batch}"
    rows = [
        (name, "manual backprop step", t["manual"], "jax.grad step (same loss)", t["jax.grad"]),
        (name, "manual backprop step", t["manual"], "plain-JAX MLP step (jax.grad)", t["plain JAX"]),
    ]
    rows += _peer_steps(name, sizes, batch, repeats, t["manual"])
    return rows


def _peer_steps(name, sizes, batch, repeats, manual_seconds) -> list:
    rows = []
    try:
        from sklearn.neural_network import MLPClassifier
    except ModuleNotFoundError:
        MLPClassifier = None
    if MLPClassifier is not None:
        x, y = (np.asarray(a) for a in _data(jax.random.key(1), batch, sizes[0], sizes[-1]))
        model = MLPClassifier(
            hidden_layer_sizes=sizes[1:-1], solver="sgd", learning_rate_init=1e-3, momentum=0.0, batch_size=batch
        )
        model.partial_fit(x, y, classes=np.arange(sizes[-1]))
        t = median_seconds({"sklearn": lambda: model.partial_fit(x, y)}, repeats)["sklearn"]
        rows.append(
            (
                name,
                "manual backprop step",
                manual_seconds,
                "scikit-learn MLPClassifier step (partial_fit of one batch)",
                t,
            )
        )
    try:
        import torch
    except ModuleNotFoundError:
        torch = None
    if torch is not None:
        layers = []
        for d_in, d_out in zip(sizes[:-1], sizes[1:], strict=True):
            layers += [torch.nn.Linear(d_in, d_out), torch.nn.ReLU()]
        model = torch.nn.Sequential(*layers[:-1])
        optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
        x = torch.randn(batch, sizes[0])
        y = torch.randint(0, sizes[-1], (batch,))

        def torch_step():
            optimizer.zero_grad()
            torch.nn.functional.cross_entropy(model(x), y).backward()
            optimizer.step()

        t = median_seconds({"torch": torch_step}, repeats)["torch"]
        rows.append(
            (
                name,
                "manual backprop step",
                manual_seconds,
                f"PyTorch {torch.__version__} step ({torch.get_num_threads()} threads)",
                t,
            )
        )
    try:
        import equinox as eqx
    except ModuleNotFoundError:
        eqx = None
    if eqx is not None:
        model = eqx.nn.MLP(
            sizes[0], sizes[-1], max(sizes[1:-1]), len(sizes) - 2, activation=jax.nn.relu, key=jax.random.key(0)
        )
        x, y = _data(jax.random.key(1), batch, sizes[0], sizes[-1])
        sgd = optax.sgd(1e-3)
        state = sgd.init(eqx.filter(model, eqx.is_array))

        @eqx.filter_jit
        def eqx_step(model, state):
            grads = eqx.filter_grad(
                lambda m: jnp.mean(optax.softmax_cross_entropy_with_integer_labels(jax.vmap(m)(x), y))
            )(model)
            updates, state = sgd.update(grads, state)
            return eqx.apply_updates(model, updates), state

        t = median_seconds({"eqx": lambda: jax.block_until_ready(eqx_step(model, state))}, repeats)["eqx"]
        rows.append((name, "manual backprop step", manual_seconds, f"Equinox {eqx.__version__} MLP step", t))
    return rows


def _sgd_fit(mlp, params, x, y, sgd, epochs, batch):
    """The params of ``fit`` with whole batches only (the hand-written loops it is timed against drop the rest)."""
    trained, _ = fit(
        mlp,
        params,
        (x, y),
        loss="softmax_cross_entropy",
        optimizer=sgd,
        epochs=epochs,
        batch_size=batch,
        key=jax.random.key(2),
        drop_last=True,
    )
    return jax.block_until_ready(trained)


def bench_fit(n, sizes, batch, epochs, repeats) -> list:
    mlp = MLP(sizes, "relu", output="identity")
    params = mlp.init(jax.random.key(0), dtype=jnp.float32)
    x, y = _data(jax.random.key(1), n, sizes[0], sizes[-1])
    sgd = optax.sgd(1e-2)
    steps = n // batch

    @jax.jit
    def floor(params, key):
        state = sgd.init(params)

        def epoch(carry, epoch_key):
            params, state = carry
            order = jax.random.permutation(epoch_key, n)[: steps * batch].reshape(steps, batch)

            def step(carry, indices):
                params, state = carry
                grads = backprop(mlp, params, x[indices], y[indices], "softmax_cross_entropy").grads
                updates, state = sgd.update(grads, state, params)
                return (optax.apply_updates(params, updates), state), None

            return jax.lax.scan(step, (params, state), order)[0], None

        return jax.lax.scan(epoch, (params, state), jax.random.split(key, epochs))[0][0]

    run_fit = lambda: _sgd_fit(mlp, params, x, y, optax.sgd(1e-2), epochs, batch)  # written again, as a sweep does
    t = median_seconds(
        {"fit": run_fit, "scan": lambda: jax.block_until_ready(floor(params, jax.random.key(2)))}, repeats
    )
    return [
        (
            f"fit {'-'.join(map(str, sizes))}, {n} x {epochs} epochs, batch {batch}",
            "second fit call, its optimizer written again",
            t["fit"],
            "hand-written jitted lax.scan of the same steps",
            t["scan"],
        )
    ]


def bench_small(repeats, epochs=10) -> list:
    data = load_dataset("digits", seed=0)
    x, y = jnp.asarray(data.x_train, jnp.float32), jnp.asarray(data.y_train)
    mlp = MLP((64, 32, 10), "relu", output="identity")
    params = mlp.init(jax.random.key(0), dtype=jnp.float32)
    sgd = optax.sgd(1e-2)
    batch = 32
    steps = len(x) // batch

    @jax.jit
    def step(params, state, indices):
        grads = backprop(mlp, params, x[indices], y[indices], "softmax_cross_entropy").grads
        updates, state = sgd.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    def loop():
        p, s = params, sgd.init(params)
        rng = np.random.default_rng(0)
        for _ in range(epochs):
            for indices in rng.permutation(len(x))[: steps * batch].reshape(steps, batch):
                p, s = step(p, s, indices)
        jax.block_until_ready(p)

    run_fit = lambda: _sgd_fit(mlp, params, x, y, optax.sgd(1e-2), epochs, batch)  # written again, as a sweep does
    t = median_seconds({"fit": run_fit, "loop": loop}, repeats)
    return [
        (
            f"small: 64-32-10 digits, {epochs} epochs of batch 32",
            "fit (one compiled epoch each)",
            t["fit"],
            "Python loop of jitted steps, shuffled on the host",
            t["loop"],
        )
    ]


def bench_per_example(repeats, batch=256, sizes=(784, 256, 10)) -> list:
    mlp = MLP(sizes, "relu", output="identity")
    params = mlp.init(jax.random.key(0), dtype=jnp.float32)
    x, y = _data(jax.random.key(1), batch, sizes[0], sizes[-1])
    manual = jax.jit(jax.vmap(lambda xi, yi: backprop(mlp, params, xi, yi, "softmax_cross_entropy").grads))
    autodiff = jax.jit(
        jax.vmap(lambda xi, yi: jax.grad(lambda p: objective(mlp, p, xi, yi, "softmax_cross_entropy"))(params))
    )
    single = jax.jit(lambda xi, yi: backprop(mlp, params, xi, yi, "softmax_cross_entropy").grads)
    xs, ys = list(x), list(y)
    t = median_seconds(
        {
            "manual": lambda: jax.block_until_ready(manual(x, y)),
            "grad": lambda: jax.block_until_ready(autodiff(x, y)),
            "loop": lambda: jax.block_until_ready([single(a, b) for a, b in zip(xs, ys, strict=True)]),
        },
        repeats,
    )
    name = f"per-example gradients, {'-'.join(map(str, sizes))}, {batch} examples"
    return [
        (name, "vmap of manual backprop", t["manual"], "vmap of jax.grad", t["grad"]),
        (name, "vmap of manual backprop", t["manual"], "Python loop of jitted gradients", t["loop"]),
    ]


def bench_digits() -> list:
    from sklearn.neural_network import MLPClassifier

    data = load_dataset("digits", seed=0)
    x, x_test = data.x_train.astype(np.float32), data.x_test.astype(np.float32)
    mlp = MLP((64, 256, 10), "relu", output="identity")
    optimizer = optax.adam(2e-3)

    def run():
        start = time.perf_counter()
        params, _ = fit(
            mlp,
            mlp.init(jax.random.key(0), dtype=jnp.float32),
            (x, data.y_train),
            loss="softmax_cross_entropy",
            optimizer=optimizer,
            epochs=40,
            batch_size=32,
            key=jax.random.key(1),
        )
        jax.block_until_ready(params)
        return time.perf_counter() - start, evaluate(mlp, params, x_test, data.y_test, "softmax_cross_entropy").accuracy

    first, accuracy = run()
    second, _ = run()
    start = time.perf_counter()
    reference = MLPClassifier(
        hidden_layer_sizes=(256,),
        solver="adam",
        learning_rate_init=2e-3,
        batch_size=32,
        max_iter=40,
        random_state=0,
        tol=0.0,
        n_iter_no_change=1000,
    ).fit(x, data.y_train)
    sklearn_seconds = time.perf_counter() - start
    sklearn_accuracy = reference.score(x_test, data.y_test)
    name = (
        f"digits 64-256-10, adam, 40 epochs of 32 (test accuracy {accuracy:.3f} vs scikit-learn {sklearn_accuracy:.3f})"
    )
    return [
        (name, "funcmlp fit, first call (with compilation)", first, "scikit-learn MLPClassifier.fit", sklearn_seconds),
        (name, "funcmlp fit, second call", second, "scikit-learn MLPClassifier.fit", sklearn_seconds),
    ]


def bench_compile(depths) -> list:
    rows = []
    x, y = _data(jax.random.key(1), 256, 64, 10)
    warm = MLP(
        (64, 10), "relu", output="identity"
    )  # compiles fit's small eager helpers first, so each row is the epoch's alone
    fit(
        warm,
        warm.init(jax.random.key(0), dtype=jnp.float32),
        (x, y),
        loss="softmax_cross_entropy",
        optimizer=optax.sgd(0.1),
        epochs=1,
        batch_size=32,
        key=jax.random.key(2),
    )
    base = None
    for depth in depths:
        mlp = MLP((64, *[64] * depth, 10), "relu", output="identity")
        optimizer = optax.sgd(1e-2)  # the network is new at each depth: its epoch compiles once, then is reused
        params = mlp.init(jax.random.key(0), dtype=jnp.float32)
        run = lambda: jax.block_until_ready(
            fit(
                mlp,
                params,
                (x, y),
                loss="softmax_cross_entropy",
                optimizer=optimizer,
                epochs=1,
                batch_size=32,
                key=jax.random.key(2),
            )[0]
        )
        start = time.perf_counter()
        run()
        first = time.perf_counter() - start
        start = time.perf_counter()
        run()
        compile_seconds = first - (time.perf_counter() - start)
        base = base or compile_seconds
        rows.append(
            (
                f"compile: {depth} hidden layer(s) of 64",
                f"compilation of fit's epoch, depth {depth}",
                compile_seconds,
                f"the same at depth {depths[0]}",
                base,
            )
        )
    return rows


def bench_warm_start(epochs: int) -> list:
    """``funcmlp train`` in new processes: the first fills a fresh persistent compilation cache."""
    command = [sys.executable, "-m", "funcmlp.cli", "train", "--data", "digits", "--epochs", str(epochs), "--quiet"]
    with tempfile.TemporaryDirectory() as cache:
        environ = {**os.environ, "XDG_CACHE_HOME": cache}
        environ.pop("FUNCMLP_NO_COMPILE_CACHE", None)
        seconds = []
        for _ in range(2):
            start = time.perf_counter()
            subprocess.run(command, env=environ, check=True, capture_output=True)
            seconds.append(time.perf_counter() - start)
    name = f"funcmlp train --data digits --epochs {epochs} (new process, with the gradient check)"
    return [(name, "second run, warm compilation cache", seconds[1], "first run, cold cache", seconds[0])]


def bench_symbolic(shapes) -> list:
    from symbolic import timed  # benchmarks/symbolic.py: sympy's cache cleared, then timed

    from derivations.catalogue import architecture_check
    from derivations.proofs.network import Network

    rows, base = [], None
    for shape in shapes:
        activations = ("tanh",) * (len(shape) - 1)
        (_, passed), seconds = timed(architecture_check, shape, activations, "sse")
        assert passed
        per_parameter = seconds / Network(shape, activations, "sse").count_parameters()
        base = base or (shape, per_parameter)
        rows.append(
            (
                f"symbolic: derive check {'-'.join(map(str, shape))} tanh sse",
                "time per parameter",
                per_parameter,
                f"the same at {'-'.join(map(str, base[0]))}",
                base[1],
            )
        )
    return rows


def bench_worked_steps(steps: int) -> list:
    """A worked example's long replay (Mazur's 2-2-2 sigmoid network, biases fixed, derivations.examples.iterate: the
    engine's closed form of one step compiled once, iterated in 50-digit decimals) against the same steps in a
    plain 50-digit mpmath loop written here."""
    import mpmath

    from derivations.examples.iterate import iterate
    from derivations.examples.spec import read_spec, seed_spec_path

    ex = read_spec(seed_spec_path("mazur_2015"))
    start = time.perf_counter()
    iterate(ex, tuple(zip(ex.weights, ex.biases, strict=False)), steps, start=0, keep=lambda t: t == steps)
    seconds = time.perf_counter() - start
    start = time.perf_counter()
    with mpmath.workdps(50):
        m, sig = mpmath.mpf, lambda v: 1 / (1 + mpmath.exp(-v))
        i1, i2, t1, t2, b1, b2, eta = m("0.05"), m("0.10"), m("0.01"), m("0.99"), m("0.35"), m("0.60"), m("0.5")
        w = [None] + [m(v) for v in ("0.15", "0.20", "0.25", "0.30", "0.40", "0.45", "0.50", "0.55")]
        for _ in range(steps + 1):
            h1, h2 = sig(w[1] * i1 + w[2] * i2 + b1), sig(w[3] * i1 + w[4] * i2 + b1)
            o1, o2 = sig(w[5] * h1 + w[6] * h2 + b2), sig(w[7] * h1 + w[8] * h2 + b2)
            d1, d2 = (o1 - t1) * o1 * (1 - o1), (o2 - t2) * o2 * (1 - o2)
            e1, e2 = (d1 * w[5] + d2 * w[7]) * h1 * (1 - h1), (d1 * w[6] + d2 * w[8]) * h2 * (1 - h2)
            grads = [None, e1 * i1, e1 * i2, e2 * i1, e2 * i2, d1 * h1, d1 * h2, d2 * h1, d2 * h2]
            w = [None] + [w[k] - eta * grads[k] for k in range(1, 9)]
    reference = time.perf_counter() - start
    return [
        (
            f"worked example: {steps:,} steps of Mazur's 2-2-2 sigmoid network (50 digits)",
            "derivations.examples.iterate",
            seconds,
            "a hand-written 50-digit mpmath loop of the same steps",
            reference,
        )
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the tests run this)")
    parser.add_argument("--out", help="also write the table to this Markdown file (e.g. benchmarks/RESULTS.md)")
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 15
    from beyond import bench_beyond  # benchmarks/beyond.py: per-example quantities and curvature

    rows, notes = [], []
    if args.quick:
        rows += bench_step((16, 8, 4), 8, repeats)
        rows += bench_fit(256, (16, 8, 4), 32, 2, repeats)
        rows += bench_per_example(repeats, batch=8, sizes=(16, 8, 4))
        rows += bench_compile([1, 2])
        rows += bench_symbolic([(2, 3, 2), (3, 4, 2)])
        rows += bench_worked_steps(100)
        beyond_rows, notes = bench_beyond((16, 8, 4), 8, repeats)
        rows += beyond_rows
    else:
        for batch in (128, 1024):
            rows += bench_step((784, 256, 256, 10), batch, repeats)
        rows += bench_fit(30000, (784, 256, 256, 10), 128, 2, 5)
        rows += bench_small(repeats)
        rows += bench_per_example(repeats)
        rows += bench_digits()
        rows += bench_compile([1, 2, 4, 8, 16])
        rows += bench_warm_start(10)
        rows += bench_symbolic([(16, 16, 16, 16), (32, 32, 32, 32), (64, 64, 64, 64)])
        rows += bench_worked_steps(10_000)
        for batch, beyond_repeats in ((128, repeats), (1024, 7)):
            beyond_rows, beyond_notes = bench_beyond((784, 256, 256, 10), batch, beyond_repeats)
            rows += beyond_rows
            notes += beyond_notes
    publish(table(rows, notes), args.out, "funcmlp benchmarks", "python benchmarks/run.py --out benchmarks/RESULTS.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
