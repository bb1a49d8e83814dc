"""Beyond the gradient: per-example norms, the clipped gradient and curvature against the plain step.

    python benchmarks/beyond.py [--quick] [--out benchmarks/BEYOND.md]

Rows (784-256-256-10 ReLU, softmax cross-entropy, float32, batch 128 and 1024; medians of interleaved
repeats after a warm-up call, every function one jitted program):

* a ``fit`` epoch with DP-SGD (:class:`funcmlp.DPSGD`, clipping and noise) against the same epoch without;
* the clipped-gradient SGD step (norms and clipping from the one backward pass, :func:`funcmlp.clipped_grad`)
  and :func:`funcmlp.per_example_grad_norms` against the plain manual step; ``jax.vmap(jax.grad)`` plus
  optax's DP aggregate (noise 0) against the clipped step; the compiled programs' temporary memory (XLA's
  ``memory_analysis``);
* :func:`funcmlp.diag_ggn` (Monte Carlo, one sample; exact, ten columns), :func:`funcmlp.kfac_factors`
  (KFLR) and :func:`funcmlp.diag_hessian` against the plain step;
* with PyTorch and BackPACK installed (the ``bench`` extra): the same quantities from BackPACK on the same
  weights and batch, on the same CPU, each checked to agree with funcmlp's (largest relative difference
  printed) and timed against PyTorch's own gradient step, and funcmlp's time against BackPACK's.

Timings are never asserted in tests; ``--quick`` runs tiny sizes only (the tests run it).
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # its sibling benchmarks/run.py

import jax
import jax.numpy as jnp
import numpy as np
import optax
from run import median_seconds, publish, table

import funcmlp
from funcmlp import MLP

LOSS = "softmax_cross_entropy"


def _problem(sizes, batch):
    mlp = MLP(sizes, "relu", output="identity")
    params = mlp.init(jax.random.key(0), dtype=jnp.float32)
    kx, ky = jax.random.split(jax.random.key(1))
    x = jax.random.normal(kx, (batch, sizes[0]), jnp.float32)
    y = jax.random.randint(ky, (batch,), 0, sizes[-1])
    return mlp, params, x, y


def _programs(mlp, max_norm):
    """The functions compared, each ``(params, x, y) -> result`` (a step returns the updated params); the data are
    arguments, not constants XLA could fold at compile time."""
    sgd = optax.sgd(1e-3)

    def apply(params, grads):
        updates, _ = sgd.update(grads, sgd.init(params), params)
        return optax.apply_updates(params, updates)

    def one_example_loss(params, xi, yi):
        return funcmlp.objective(mlp, params, xi[None], yi[None], LOSS)

    aggregate = optax.contrib.differentially_private_aggregate(max_norm, 0.0, 0)

    def vmapped(params, x, y):
        per_example = jax.vmap(jax.grad(one_example_loss), in_axes=(None, 0, 0))(params, x, y)
        clipped, _ = aggregate.update(per_example, aggregate.init(params))
        return apply(params, clipped)

    key = jax.random.key(2)
    return {
        "plain": lambda p, x, y: apply(p, funcmlp.backprop(mlp, p, x, y, LOSS).grads),
        "clipped": lambda p, x, y: apply(p, funcmlp.clipped_grad(mlp, p, x, y, LOSS, max_norm)),
        "norms": lambda p, x, y: funcmlp.per_example_grad_norms(mlp, p, x, y, LOSS),
        "vmap": vmapped,
        "ggn_mc": lambda p, x, y: funcmlp.diag_ggn(mlp, p, x, y, LOSS, samples=1, key=key),
        "ggn": lambda p, x, y: funcmlp.diag_ggn(mlp, p, x, y, LOSS),
        "kflr": lambda p, x, y: funcmlp.kfac_factors(mlp, p, x, y, LOSS),
        "hessian": lambda p, x, y: funcmlp.diag_hessian(mlp, p, x, y, LOSS),
    }


def bench_dp_epoch(mlp, params, x, y, max_norm, batch, repeats, steps=8) -> tuple:
    """A second ``fit`` call of one epoch (nothing to compile) with DP-SGD (clipping and noise) against the
    same epoch without it: ``steps`` batches of ``batch`` rows."""
    rows = jnp.tile(x, (steps, 1)), jnp.tile(y, steps)
    options = dict(loss=LOSS, optimizer=optax.sgd(1e-3), batch_size=batch, epochs=1, key=jax.random.key(3))
    private = funcmlp.DPSGD(max_norm=max_norm, noise_multiplier=1.0)
    t = median_seconds(
        {
            "plain": lambda: jax.block_until_ready(funcmlp.fit(mlp, params, rows, **options)[0]),
            "dp": lambda: jax.block_until_ready(funcmlp.fit(mlp, params, rows, dp_sgd=private, **options)[0]),
        },
        max(3, repeats // 3),
    )
    name = f"{'-'.join(map(str, mlp.sizes))} ReLU, batch {batch}, {steps} steps"
    return (name, "fit epoch with DP-SGD (clipping, noise 1.0)", t["dp"], "the same epoch without DP-SGD", t["plain"])


def temporary_bytes(function, *arguments) -> int:
    """XLA's temporary allocation of the compiled ``function(*arguments)`` (bytes)."""
    return int(jax.jit(function).lower(*arguments).compile().memory_analysis().temp_size_in_bytes)


def bench_beyond(sizes, batch, repeats) -> tuple[list, list]:
    """(timing rows, notes): funcmlp's quantities against the plain step, and BackPACK's where installed."""
    rows, notes, peers = bench_funcmlp(sizes, batch, repeats)
    peer_rows, peer_notes = peers()
    return rows + peer_rows, notes + peer_notes


def bench_funcmlp(sizes, batch, repeats) -> tuple[list, list, object]:
    """(timing rows, notes, a function giving BackPACK's rows and notes): funcmlp's part, measured before PyTorch
    runs anything (its OpenMP threads wait spinning after each operation, taking the cores from XLA)."""
    mlp, params, x, y = _problem(sizes, batch)
    norms = np.asarray(funcmlp.per_example_grad_norms(mlp, params, x, y, LOSS))
    max_norm = float(np.median(norms))  # half the examples clipped
    programs = {name: jax.jit(function) for name, function in _programs(mlp, max_norm).items()}
    t = median_seconds(
        {name: (lambda f=f: jax.block_until_ready(f(params, x, y))) for name, f in programs.items()}, repeats
    )
    name = f"{'-'.join(map(str, sizes))} ReLU, batch {batch}"
    plain = ("manual backprop SGD step", t["plain"])
    rows = [
        (name, "clipped-gradient SGD step (one pass)", t["clipped"], *plain),
        (name, "per_example_grad_norms", t["norms"], *plain),
        (
            name,
            "clipped-gradient SGD step (one pass)",
            t["clipped"],
            "vmap(jax.grad) + optax DP clipping step",
            t["vmap"],
        ),
        (name, "diag_ggn, Monte Carlo (1 sample)", t["ggn_mc"], *plain),
        (name, f"diag_ggn, exact ({sizes[-1]} columns)", t["ggn"], *plain),
        (name, "kfac_factors, KFLR (exact columns)", t["kflr"], *plain),
        (name, "diag_hessian (exact)", t["hessian"], *plain),
    ]
    rows.append(bench_dp_epoch(mlp, params, x, y, max_norm, batch, repeats))
    plain_bytes = temporary_bytes(programs["plain"], params, x, y)
    notes = [
        f"{name}: temporary memory of the compiled clipped step {temporary_bytes(programs['clipped'], params, x, y):,} "
        f"bytes, of the plain step {plain_bytes:,} bytes, of vmap(jax.grad) + clipping "
        f"{temporary_bytes(programs['vmap'], params, x, y):,} bytes"
    ]
    return rows, notes, lambda: _backpack_rows(name, mlp, params, x, y, programs, t, repeats)


def _backpack_rows(name, mlp, params, x, y, programs, t, repeats) -> tuple[list, list]:
    try:
        import torch
        from backpack import backpack, extend
        from backpack.extensions import KFLR, BatchL2Grad, DiagGGNExact, DiagGGNMC
    except ImportError:
        return [], [f"{name}: BackPACK not installed (pip install -e '.[bench]'): no peer rows"]
    torch.set_num_threads(os.cpu_count() or 1)
    # BackPACK's module hooks fire on outputs when the inputs need no gradient, as here: PyTorch warns each time
    warnings.filterwarnings("ignore", message="Full backward hook is firing")
    layers = []
    for k, layer in enumerate(params):
        linear = torch.nn.Linear(*layer.W.shape)
        with torch.no_grad():  # torch's weight is (out, in): funcmlp's W transposed
            linear.weight.copy_(torch.from_numpy(np.asarray(layer.W).T.copy()))
            linear.bias.copy_(torch.from_numpy(np.asarray(layer.b).copy()))
        layers += [linear] + ([torch.nn.ReLU()] if k < len(params) - 1 else [])
    model = extend(torch.nn.Sequential(*layers))
    loss_function = extend(torch.nn.CrossEntropyLoss())
    tx, ty = torch.from_numpy(np.asarray(x)), torch.from_numpy(np.asarray(y)).long()

    def run(extension=None):
        model.zero_grad()
        loss = loss_function(model(tx), ty)
        if extension is None:
            loss.backward()
        else:
            with backpack(extension):
                loss.backward()

    peers = {
        "torch": lambda: run(),
        "l2": lambda: run(BatchL2Grad()),
        "ggn": lambda: run(DiagGGNExact()),
        "ggn_mc": lambda: run(DiagGGNMC(mc_samples=1)),
        "kflr": lambda: run(KFLR()),
    }
    bt = median_seconds(peers, repeats)
    notes = _agreement(name, mlp, params, x, y, model, run, (BatchL2Grad, DiagGGNExact, KFLR))
    torch_step = ("PyTorch gradient (backward)", bt["torch"])
    rows = [
        (name, "BackPACK BatchL2Grad", bt["l2"], *torch_step),
        (name, "BackPACK DiagGGNExact", bt["ggn"], *torch_step),
        (name, "BackPACK DiagGGNMC (1 sample)", bt["ggn_mc"], *torch_step),
        (name, "BackPACK KFLR", bt["kflr"], *torch_step),
        (name, "funcmlp per_example_grad_norms", t["norms"], "BackPACK BatchL2Grad", bt["l2"]),
        (name, "funcmlp diag_ggn, exact", t["ggn"], "BackPACK DiagGGNExact", bt["ggn"]),
        (name, "funcmlp diag_ggn, Monte Carlo", t["ggn_mc"], "BackPACK DiagGGNMC", bt["ggn_mc"]),
        (name, "funcmlp kfac_factors (KFLR)", t["kflr"], "BackPACK KFLR", bt["kflr"]),
    ]
    return rows, notes


def _agreement(name, mlp, params, x, y, model, run, extensions) -> list:
    """BackPACK's BatchL2Grad, DiagGGNExact and KFLR against funcmlp's, largest relative differences."""
    BatchL2Grad, DiagGGNExact, KFLR = extensions
    linears = [m for m in model if hasattr(m, "weight")]
    run(BatchL2Grad())
    # BackPACK's batch_l2 is of each example's term of the mean loss (1/B L_i): B times it is L_i's
    batch = x.shape[0]
    squares = sum(m.weight.batch_l2 + m.bias.batch_l2 for m in linears).detach().numpy()
    ours = np.asarray(funcmlp.per_example_grad_norms(mlp, params, x, y, LOSS)) ** 2
    norm_gap = np.max(np.abs(batch**2 * squares - ours) / np.abs(ours))
    run(DiagGGNExact())
    ggn = funcmlp.diag_ggn(mlp, params, x, y, LOSS)
    ggn_gap = max(
        np.max(np.abs(m.weight.diag_ggn_exact.detach().numpy().T - np.asarray(layer.W)))
        / np.max(np.abs(np.asarray(layer.W)))
        for m, layer in zip(linears, ggn, strict=True)
    )
    run(KFLR())
    gaps = []
    for m, (A, G) in zip(linears, funcmlp.kfac_factors(mlp, params, x, y, LOSS), strict=True):
        # torch's weight is (out, in), so BackPACK's factors are (G, A) with kron(G, A) over it; the weights' block
        # kron(A_w, G) is the same up to a scale moved from one factor to the other: compare after matching it
        G_peer, A_peer = (f.detach().numpy().astype(np.float64) for f in m.weight.kflr)
        A_w, G_ours = np.asarray(A, np.float64)[:-1, :-1], np.asarray(G, np.float64)
        scale = np.trace(A_w) / np.trace(A_peer)
        gaps.append(np.max(np.abs(A_w - scale * A_peer)) / np.max(np.abs(A_w)))
        gaps.append(np.max(np.abs(scale * G_ours - G_peer)) / np.max(np.abs(G_peer)))
    return [
        f"{name}: BackPACK agrees (float32, largest difference relative to the largest entry): BatchL2Grad "
        f"{norm_gap:.1e}, DiagGGNExact {ggn_gap:.1e}, KFLR (weights' block) {max(gaps):.1e}"
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes (the tests run this)")
    parser.add_argument("--out", help="also write the table to this Markdown file (e.g. benchmarks/BEYOND.md)")
    args = parser.parse_args(argv)
    rows, notes = [], []
    settings = [((16, 8, 4), 8, 3)] if args.quick else [((784, 256, 256, 10), 128, 15), ((784, 256, 256, 10), 1024, 7)]
    peers = []
    for sizes, batch, repeats in settings:  # funcmlp's rows first, every size, then BackPACK's
        more_rows, more_notes, peer = bench_funcmlp(sizes, batch, repeats)
        rows += more_rows
        notes += more_notes
        peers.append(peer)
    for peer in peers:
        more_rows, more_notes = peer()
        rows += more_rows
        notes += more_notes
    publish(
        table(rows, notes), args.out, "Beyond the gradient", "python benchmarks/beyond.py --out benchmarks/BEYOND.md"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
