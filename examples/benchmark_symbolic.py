"""Benchmark: time of the whole-chain symbolic check (derivations.chain) by network size.

Prints a table: parameters, the 'graph' check (the whole loss differentiated by reverse
accumulation over its expression graph), the 'local' check (one symbol per n^k, a^k, s^k
entry), the 'composed' check (sympy.diff of the whole loss per parameter, small networks
only), and the reference,
a plain ``Matrix.jacobian`` of the composed loss with respect to every parameter, measured
in the same run (sympy's cache cleared before each); the ratio is reference / graph.
The reference only differentiates; the two checks also build the closed form and compare.

    python examples/benchmark_symbolic.py [--quick]
"""

import argparse
import time

import sympy as sp
from sympy.core.cache import clear_cache

from derivations.chain import Network, check_composed, check_graph, check_local, composed_loss


def reference_jacobian_seconds(net: Network) -> float:
    clear_cache()
    start = time.perf_counter()
    layers = net.parameter_symbols()
    xs, ys = net.data_symbols()
    loss = composed_loss(net, layers, xs, ys)
    params = [s for W, b in layers for s in list(W) + b]
    sp.Matrix([loss]).jacobian(params)
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (for the tests)")
    args = parser.parse_args(argv)
    sizes = [(2, 3, 2), (3, 4, 2)] if args.quick else [(4, 8, 8, 3), (8, 8, 8, 8), (16, 16, 16, 16), (32, 32, 32, 32)]
    print(f"{'network':>14} {'params':>7} {'graph s':>8} {'local s':>8} {'composed s':>11} {'jacobian s':>11} {'ref/graph':>10}")
    for shape in sizes:
        net = Network(shape, ("sigmoid",) * (len(shape) - 1), "sse")
        clear_cache()  # each measurement starts with sympy's cache empty
        graph = check_graph(net)
        assert graph.passed, str(graph)
        clear_cache()
        local = check_local(net)
        assert local.passed, str(local)
        composed = reference = None
        if net.count_parameters() <= 160:
            clear_cache()
            composed = check_composed(net)
            assert composed.passed, str(composed)
            reference = reference_jacobian_seconds(net)
        fmt = lambda v: f"{v:.2f}" if v is not None else "-"
        ratio = f"{reference / graph.seconds:.0f}x" if reference else "-"
        print(f"{'-'.join(map(str, shape)):>14} {net.count_parameters():>7} {graph.seconds:>8.2f} {local.seconds:>8.2f} "
              f"{fmt(composed.seconds if composed else None):>11} {fmt(reference):>11} {ratio:>10}", flush=True)


if __name__ == "__main__":
    main()
