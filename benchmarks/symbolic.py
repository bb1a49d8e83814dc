"""Benchmark: ``funcmlp derive check`` by network size, and its parts.

Prints, for tanh networks with loss sse: the parameters, the whole check
(:func:`derivations.catalogue.architecture_check`, what ``funcmlp derive check`` runs: the
Jacobians of every layer pair by sympy.diff, the gradient by the ``auto`` method), its cost
per parameter, the ``graph`` and ``local`` gradient checks alone, and the reference measured
in the same run: a plain ``Matrix.jacobian`` of the composed loss with respect to every
parameter (small networks only; it only differentiates, it compares nothing), with the ratio
reference / graph. sympy's cache is cleared before each measurement. The machine is named
in the header.

    python benchmarks/symbolic.py [--quick]
"""

import argparse
import os
import platform
import time

import sympy as sp
from sympy.core.cache import clear_cache

from derivations.catalogue import architecture_check
from derivations.proofs.chain import check_graph, check_local, composed_loss
from derivations.proofs.network import Network


def reference_jacobian_seconds(net: Network) -> float:
    clear_cache()
    start = time.perf_counter()
    layers = net.parameter_symbols()
    xs, ys = net.data_symbols()
    loss = composed_loss(net, layers, xs, ys)
    params = [s for W, b in layers for s in list(W) + b]
    sp.Matrix([loss]).jacobian(params)
    return time.perf_counter() - start


def timed(function, *args, **kwargs):
    clear_cache()  # each measurement starts with sympy's cache empty
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (for the tests)")
    args = parser.parse_args(argv)
    sizes = (
        [(2, 3, 2), (3, 4, 2)]
        if args.quick
        else [(4, 8, 8, 3), (16, 16, 16, 16), (32, 32, 32, 32), (64, 64, 64, 64), (128, 128, 128)]
    )
    print(
        f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, sympy {sp.__version__}"
    )
    print(
        "| network | params | derive check (s) | us / param | graph (s) | local (s) "
        "| Matrix.jacobian only (s) | jacobian / graph |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for shape in sizes:
        activations = ("tanh",) * (len(shape) - 1)
        net = Network(shape, activations, "sse")
        (_, passed), whole = timed(architecture_check, shape, activations, "sse")
        assert passed
        graph, _ = timed(check_graph, net)
        local, _ = timed(check_local, net)
        assert graph.passed and local.passed
        reference = reference_jacobian_seconds(net) if net.count_parameters() <= 160 else None
        fmt = lambda v: f"{v:.2f}" if v is not None else "-"
        ratio = f"{reference / graph.seconds:.0f}x" if reference else "-"
        print(
            f"| {'-'.join(map(str, shape))} | {net.count_parameters():,} | {whole:.2f} "
            f"| {1e6 * whole / net.count_parameters():.0f} | "
            f"{graph.seconds:.2f} | {local.seconds:.2f} | {fmt(reference)} | {ratio} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
