"""Issue 33, item 5: the probe cases of bounds on what costs (run by tests/test_probe.py, each in a
forked process under a 4 GiB address-space limit, RLIMIT_AS). One memory estimate
(funcmlp/memory.py) is compared with what the process may use, its own limits included, and refused
with one line before anything is allocated, by the library (MLP.init, fit, the gradient checks, the
estimators) as by the command line: the process died by SIGABRT (the library) or ended in a
traceback (the command line under ``ulimit -v``). The distributed options are numbers in their
ranges, checked before any work: a port of 65536 or of text was a traceback, a billion processes a
wait."""

import os

from probe_case import XOR, Case

SETUP = "import numpy as np, jax, jax.numpy as jnp, funcmlp\nfrom funcmlp import MLP, Layer\n"


def _python(code):
    return lambda folder, base: SETUP + code


def _zeros_params(sizes):
    """Params of ``sizes`` as NumPy zeros in float32 (calloc'd: mapped, not touched)."""
    return (
        f"sizes = {sizes}\n"
        "params = tuple(Layer(np.zeros((a, b), np.float32), np.zeros(b, np.float32)) "
        "for a, b in zip(sizes[:-1], sizes[1:]))\n"
    )


def _train(*options):
    return lambda folder, base: ["train", "--data", "xor", "--out", os.path.join(folder, "run"), *options]


def _distributed(coordinator, processes="2", process_id="0"):
    return lambda folder, base: [
        *XOR,
        "--out",
        os.path.join(folder, "run"),
        "--coordinator",
        coordinator,
        "--num-processes",
        processes,
        "--process-id",
        process_id,
    ]


CASES = [
    # the library: refused before allocating (each died by SIGABRT)
    Case(
        "check_function on a leaf of 1e8 entries",
        _python("x = np.zeros(10**8)\nfuncmlp.check_function(lambda v: jnp.sum(v ** 2), x)\n"),
        ("check_function on 100,000,000 floating-point entries", "needs about", "check f at smaller arguments"),
        kind="python",
    ),
    Case(
        "MLP((4, 10**9, 3)).init",
        _python("MLP((4, 10**9, 3)).init(jax.random.key(0))\n"),
        ("MLP.init of MLP 4 -> 1000000000(relu) -> 3(identity) (8,000,000,003 parameters, float32) needs about",),
        kind="python",
    ),
    Case(
        "MLPClassifier(hidden_layer_sizes=(10**9,)).fit",
        _python(
            "from funcmlp.sklearn import MLPClassifier\n"
            "MLPClassifier(hidden_layer_sizes=(10**9,)).fit(np.eye(4), [0, 1, 0, 1])\n"
        ),
        ("MLPClassifier.fit of layer sizes (4, 1000000000, 1)", "needs about", "hidden_layer_sizes"),
        kind="python",
    ),
    # within the machine's memory (24 GiB) but beyond what the process may map (4 GiB): the limit named
    Case(
        "MLP.init beyond the address-space limit",
        _python("MLP((1000, 300000, 10)).init(jax.random.key(0))\n"),
        ("MLP.init of MLP 1000 -> 300000", "the address-space limit (ulimit -v) leaves available"),
        kind="python",
    ),
    Case(
        "fit beyond the address-space limit",
        _python(
            _zeros_params((1000, 150000, 1))
            + "import optax\nfuncmlp.fit(MLP(sizes), params, (np.zeros((8, 1000), np.float32), np.zeros(8, np.float32)),"
            " loss='sse', optimizer=optax.adam(1e-3), batch_size=8, epochs=1, key=jax.random.key(0))\n"
        ),
        ("fit of MLP 1000 -> 150000", "the address-space limit (ulimit -v) leaves available"),
        kind="python",
    ),
    Case(
        "check_gradients beyond the address-space limit",
        _python(
            _zeros_params((1000, 100000, 10))
            + "funcmlp.check_gradients(MLP(sizes), params, np.zeros((8, 1000)), np.zeros((8, 10)), 'sse')\n"
        ),
        ("the gradient check of MLP 1000 -> 100000", "the address-space limit (ulimit -v) leaves available"),
        kind="python",
    ),
    # the command line under the limit (a traceback): the estimate within the machine's memory, not the process's
    Case(
        "train beyond the address-space limit",
        _train("--hidden", "50000000", "--no-check"),
        ("training MLP 2 -> 50000000", "the address-space limit (ulimit -v) leaves available"),
    ),
    Case(
        "check beyond the address-space limit",
        lambda folder, base: ["check", "--sizes", "10000,10000,10"],
        ("--sizes 10000,10000,10", "the address-space limit (ulimit -v) leaves available"),
    ),
    # distributed options: numbers in their ranges before any work (a traceback, or a wait)
    Case(
        "--coordinator port 65536",
        _distributed("127.0.0.1:65536"),
        ("--coordinator 127.0.0.1:65536: the port must be a number from 1 to 65535, got '65536'",),
    ),
    Case(
        "--coordinator port -1",
        _distributed("127.0.0.1:-1"),
        ("--coordinator 127.0.0.1:-1: the port must be a number from 1 to 65535, got '-1'",),
    ),
    Case(
        "--coordinator port of text",
        _distributed("127.0.0.1:http"),
        ("--coordinator 127.0.0.1:http: the port must be a number from 1 to 65535, got 'http'",),
    ),
    Case(
        "--num-processes 1000000000",
        _distributed("127.0.0.1:1234", processes="1000000000"),
        ("--num-processes 1000000000: expected 1 to 4096 processes",),
    ),
    Case(
        "--process-id -1",
        _distributed("127.0.0.1:1234", process_id="-1"),
        ("--process-id -1 with --num-processes 2: expected 0 <= process id < number of processes (0 to 1)",),
    ),
    Case(
        "--join-timeout 1e300",
        lambda folder, base: [*_distributed("127.0.0.1:1234")(folder, base), "--join-timeout", "1e300"],
        ("--join-timeout must be a positive number of seconds, at most 86400 (a day), got 1e+300",),
    ),
]
