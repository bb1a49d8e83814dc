"""``funcmlp check``: manual backprop against jax.grad and finite differences, in float64, on a random batch.

Example:
    >>> from funcmlp.cli import main
    >>> main(["check", "--sizes", "2,3,1", "--loss", "sse", "--batch", "2", "--no-compile-cache"])  # doctest: +ELLIPSIS
    MLP 2 -> 3(sigmoid) -> 1(identity), loss sse (mean), random batch of 2, seed 0
    ...
    0
"""

from __future__ import annotations

from funcmlp.cli.common import add_compile_cache_option, int_list, loss_help, loss_name, seed, str_list
from funcmlp.memory import check_fits, gradient_check_bytes, parameter_count

FD_BUDGET = 10**11
"""Multiply-adds the finite differences may take (two forward passes per entry): about a minute on a CPU."""


def add_parser(sub) -> None:
    check = sub.add_parser("check", help="gradient check: manual backprop vs jax.grad vs finite differences (float64)")
    check.add_argument(
        "--sizes", type=int_list, default=[4, 8, 8, 3], help="layer sizes including inputs (default 4,8,8,3)"
    )
    check.add_argument(
        "--activations",
        type=str_list,
        default=["sigmoid"],
        help="the hidden layers' activation, or one per hidden layer, or one per layer (the output's last) "
        "(default sigmoid)",
    )
    check.add_argument(
        "--output", help="output activation (default identity, or the last of --activations given one per layer)"
    )
    check.add_argument(
        "--loss", type=loss_name, default="softmax_cross_entropy", help=loss_help("default softmax_cross_entropy")
    )
    check.add_argument("--reduction", choices=("mean", "sum"), default="mean")
    check.add_argument("--batch", type=int, default=8, help="examples in the random batch (default 8)")
    check.add_argument("--init", default="glorot_normal", help="weight initializer (default glorot_normal)")
    check.add_argument("--seed", type=seed, default=0, help="seed of the random params and batch (default 0)")
    check.add_argument("--eps", type=float, default=1e-6, help="finite-difference step, positive (default 1e-6)")
    check.add_argument(
        "--fd-entries",
        type=int,
        metavar="N",
        help="finite differences at N parameter entries drawn at random (default: every entry, up to about "
        f"{FD_BUDGET:.0e} multiply-adds of forward passes)",
    )
    add_compile_cache_option(check)


def run(args) -> int:
    import jax

    from funcmlp import MLP, check_gradients, get_loss

    activations = args.activations[0] if len(args.activations) == 1 else args.activations
    output = args.output
    if len(args.sizes) == 2 and len(args.activations) == 1 and output is None:
        output = "identity"  # one layer, no hidden one: the output is --output's default (the name is still checked)
    mlp = MLP(tuple(args.sizes), activations, output=output)
    if args.batch < 1:
        raise ValueError(f"--batch must be at least 1, got {args.batch}")
    count = parameter_count(mlp.sizes)
    check_fits(
        gradient_check_bytes(mlp.sizes, args.batch),  # what check_gradients allocates (it checks too)
        f"--sizes {','.join(map(str, mlp.sizes))} ({count:,} parameters)",
        "check a smaller network",
    )
    if args.fd_entries is not None and args.fd_entries < 1:
        raise ValueError(f"--fd-entries must be at least 1, got {args.fd_entries}")
    per_entry = 2 * args.batch * sum(a * b for a, b in zip(mlp.sizes[:-1], mlp.sizes[1:], strict=True))
    entries = count if args.fd_entries is None else min(args.fd_entries, count)
    if entries * per_entry > FD_BUDGET:
        fits = FD_BUDGET // per_entry
        way = (
            f"give --fd-entries {min(fits, count):,} (entries drawn at random) or"
            if fits >= 1
            else "give a smaller --batch or"
        )
        raise ValueError(
            f"--sizes {','.join(map(str, mlp.sizes))}: finite differences at {entries:,} entries take about "
            f"{entries * per_entry:.1e} multiply-adds, more than the {FD_BUDGET:.0e} this command allows (about a "
            f"minute); {way} a smaller network"
        )
    with jax.enable_x64(True):
        kp, kx, ky = jax.random.split(jax.random.key(args.seed), 3)
        params = mlp.init(kp, init=args.init, dtype="float64")
        x = jax.random.normal(kx, (args.batch, mlp.sizes[0]), "float64")
        d_out = mlp.sizes[-1]
        loss = get_loss(args.loss)
        if loss.spec.targets == "class":
            y = jax.random.randint(ky, (args.batch,), 0, d_out)
        elif loss.is_classification:  # probabilities, binary labels: 0 or 1
            y = jax.random.bernoulli(ky, 0.5, (args.batch, d_out)).astype("float64")
        elif loss.target_kind.low is not None:  # counts, rates
            y = jax.random.poisson(ky, 3.0, (args.batch, d_out)).astype("float64")
        else:
            y = jax.random.normal(ky, (args.batch, d_out), "float64")
        report = check_gradients(
            mlp, params, x, y, args.loss, reduction=args.reduction, eps=args.eps, max_fd_entries=args.fd_entries
        )
    print(f"{mlp}, loss {args.loss} ({args.reduction}), random batch of {args.batch}, seed {args.seed}")
    print(report)
    return 0 if report.passed else 1
