"""``funcmlp derive``: sympy proofs of the backprop formulas, worked examples with errata, a symbolic check.

Example:
    >>> from funcmlp.cli import main
    >>> main(["derive", "--list"])  # doctest: +ELLIPSIS
    check ...
    0
"""

from __future__ import annotations

import re
import sys
from dataclasses import replace

from funcmlp.cli.common import check_writable_file, int_list, loss_help, loss_name, str_list


def add_parser(sub) -> None:
    import derivations  # its front door loads the table of formats alone (names and flags)
    from funcmlp import ACTIVATION_NAMES

    derive = sub.add_parser(
        "derive",
        help="sympy: proofs of the backprop formulas, the seeds' worked examples with errata, a symbolic check",
        description="funcmlp derive --list; funcmlp derive NAME [--format]; funcmlp derive --example FILE [--format]; "
        "funcmlp derive check --sizes 4,8,8,3 --activations sigmoid --loss sse",
    )
    derive.add_argument(
        "name", nargs="?", help="what to derive (see --list), or 'check' for a symbolic check of an architecture"
    )
    derive.add_argument("--list", action="store_true", help="list the derivations")
    derive.add_argument(
        "--example",
        metavar="FILE",
        help="a worked example of your own: a spec file (.toml or .json, see README), replayed exactly with its errata",
    )
    derive.add_argument(
        "--steps",
        type=int,
        help="a network example (--example FILE or a seed's): gradient steps to replay (overrides the file's)",
    )
    derive.add_argument(
        "--show-steps",
        type=int_list,
        metavar="T1,T2",
        help="a network example of several gradient steps: the steps to write out in full, e.g. 1,2,10 (step 1 "
        "always; at most 20); default: every step of a run of up to 4, else steps 1, 2, 3 and the last (overrides "
        "the file's show_steps)",
    )
    derive.add_argument(
        "--layers",
        type=int_list,
        metavar="K1,K2",
        help=f"a network example in {derivations.formats_taking('selects')}: only the quantities of these layers "
        "(0 the inputs), "
        "e.g. 2 for the output layer of a 2-layer network",
    )
    derive.add_argument(
        "--gradient-lines",
        choices=("both", "formula", "chain", "none"),
        help=f"a network example in {derivations.formats_taking('selects')}: each dL/dw entry by its formula and its "
        "chain-rule "
        "factorisation (both, the default), by one of them, or none (the matrix alone)",
    )
    derive.add_argument(
        "--standalone", action="store_true", help="with --format latex: a complete document for pdflatex"
    )
    derive.add_argument(
        "--format",
        choices=tuple(derivations.FORMATS),
        default="text",
        help="output format (default text): "
        + "; ".join(f"{f.name}: {f.help}" for f in derivations.FORMATS.values() if not f.network)
        + "; a network example only: "
        + "; ".join(f"{f.name}: {f.help}" for f in derivations.FORMATS.values() if f.network),
    )
    derive.add_argument(
        "--open",
        action="store_true",
        help="with --format html: write the page to a file in the temporary folder and open it in the browser",
    )
    derive.add_argument(
        "--chain",
        metavar="PARAMETER",
        help="a network example: the chain-rule factors of one dL/dw, e.g. w^2_{1,3} "
        "(row 1, column 3 of W^2 as the file writes it), a bias b^1_2 or a threshold theta^1_2; networks of up to "
        "20 weights get every dL/dw factored anyway",
    )
    derive.add_argument(
        "--plot",
        metavar="FILE.png",
        help="a network example: also draw it to a PNG (values, sensitivities, weight updates)",
    )
    derive.add_argument(
        "--sizes", type=int_list, default=[2, 2, 1], help="check: layer sizes including inputs (default 2,2,1)"
    )
    derive.add_argument(
        "--activations",
        type=str_list,
        default=["sigmoid"],
        help=f"check: one activation for all layers or one per layer ({', '.join(ACTIVATION_NAMES)}; "
        "'leaky_relu(0.2)' sets a parameter)",
    )
    derive.add_argument("--loss", default="sse", type=loss_name, help="check: the " + loss_help("default sse"))
    derive.add_argument(
        "--convention",
        choices=("row", "column"),
        default="row",
        help="check: weight layout of the printed Jacobians (default row)",
    )
    derive.add_argument(
        "--show",
        action="store_true",
        help="check, the gradient: print every derived expression too (networks up to 100 parameters)",
    )
    derive.add_argument(
        "--quantities",
        type=str_list,
        metavar="Q1,Q2",
        help="check: what to prove, comma-separated (default gradient): gradient (dL/dw and dL/db, the closed forms "
        "of backprop), norms (each example's squared gradient norm sum_k ||s_i^k||^2 (||a_i^(k-1)||^2 + 1)), ggn "
        "(the GGN's diagonal from the loss's Hessian factor pushed down the recursion), hessian (the exact Hessian "
        "diagonal's recursion, elementwise activations), or all; norms, ggn and hessian are proved against "
        "sympy.diff on a batch of 2 symbolic examples, for networks of at most 40 parameters and 3 layers",
    )
    derive.add_argument(
        "--method",
        choices=("auto", "composed", "graph", "local"),
        default="auto",
        help="check, the gradient: sympy.diff of the composed loss (small networks), reverse accumulation over its "
        "expression graph, or the local definitions; auto = composed up to 40 parameters, graph beyond",
    )


def run(args) -> int:
    import derivations

    entries, NETWORK_EXAMPLES = derivations.ENTRIES, derivations.NETWORK_EXAMPLES
    form = derivations.FORMATS[args.format]
    if args.standalone and not form.standalone:
        raise ValueError(
            f"--standalone makes a LaTeX document; add --format {derivations.formats_taking('standalone')}"
        )
    if args.open and args.format != "html":
        raise ValueError("--open opens the page of a network example in the browser; add --format html")
    if args.example and args.name:
        raise ValueError(f"give either a derivation name ({args.name!r}) or --example FILE, not both")
    if (
        form.network
        or args.plot
        or args.example
        or args.chain
        or args.layers is not None
        or args.gradient_lines is not None
        or ((args.steps is not None or args.show_steps is not None) and args.name in NETWORK_EXAMPLES)
    ):
        return _network(args)
    for option, value, what in (
        ("--steps", args.steps, "replays gradient steps"),
        ("--show-steps", args.show_steps, "writes out chosen gradient steps"),
    ):
        if value is not None:
            raise ValueError(
                f"{option} {what} of a network example: give --example FILE or one of " + ", ".join(NETWORK_EXAMPLES)
            )
    if args.quantities is not None and args.name != "check":
        raise ValueError("--quantities chooses what derive check proves: give it with check (funcmlp derive check ...)")
    if args.list or not args.name:
        print(
            f"{'check':<26} symbolic check of an architecture: "
            "funcmlp derive check --sizes 4,8,8,3 --activations sigmoid --loss sse "
            "(--quantities all: per-example norms, the GGN's and the Hessian's diagonals too)"
        )
        print("\n".join(f"{name:<26} {title}" for name, (title, _) in entries.items()))
        return 0
    if args.name == "check":
        activations = args.activations * (len(args.sizes) - 1) if len(args.activations) == 1 else args.activations
        quantities = ["gradient"] if args.quantities is None else args.quantities
        text, passed = derivations.architecture_check(
            tuple(args.sizes),
            tuple(activations),
            args.loss,
            args.convention,
            args.method,
            show=args.show,
            quantities=tuple(derivations.QUANTITIES if "all" in quantities else quantities),
        )
        print(text)
        return 0 if passed else 1
    if args.name not in entries:
        raise ValueError(
            f"unknown derivation {args.name!r}; expected check or one of {', '.join(entries)} (funcmlp derive --list)"
        )
    text, passed = entries[args.name][1](args.format)
    if args.standalone:
        text = derivations.document(text)
    print(text)
    return 0 if passed else 1


def _network(args) -> int:
    """A network worked example (--example FILE or a seed's network): printed, drawn as
    Mermaid, and/or plotted to a PNG."""
    import derivations

    form = derivations.FORMATS[args.format]
    if args.example:
        source = args.example
    elif args.name in derivations.NETWORK_EXAMPLES:
        source = derivations.seed_spec_path(args.name)
    else:
        what = f"--format {args.format}" if form.network else ("--plot" if args.plot else "--chain")
        raise ValueError(
            f"{what} is for a network worked example: give --example FILE or one of "
            + ", ".join(derivations.NETWORK_EXAMPLES)
            + (f"; {args.name!r} is not one" if args.name else "")
        )
    if args.plot:
        check_writable_file(args.plot, "--plot", ".png")
    if args.chain and not form.chain:
        raise ValueError(
            f"--chain adds a chain-rule step to the {derivations.formats_taking('chain')} of an example; --format "
            f"{args.format} has no place for it: leave out --chain or take one of those formats"
        )
    for option, value in (("--steps", args.steps), ("--show-steps", args.show_steps)):
        if not form.steps and value is not None:
            raise ValueError(
                f"--format {args.format} draws the loss before the first step; {option} changes nothing there"
            )
    for option, value in (("--layers", args.layers), ("--gradient-lines", args.gradient_lines)):
        if value is not None and not form.selects:
            raise ValueError(
                f"{option} chooses what {derivations.formats_taking('selects').replace(' or ', ' and ')} write of an "
                f"example; --format {args.format} shows every quantity: leave it out or take one of those formats"
            )
    if not form.show_steps and args.show_steps is not None:
        raise ValueError(
            f"--format {args.format} draws the network at the first step; --show-steps chooses the steps that "
            f"{derivations.formats_taking('show_steps').replace(' or ', ' and ')} write out: leave it out or take one "
            "of those formats"
        )
    example = derivations.read_spec(source, steps=args.steps, show_steps=args.show_steps)
    if not form.replayed:  # the graph needs no replay (but a --plot does)
        print(derivations.write(args.format, example, None), end="")
        if args.plot:
            plotted = derivations.plot_network(example, derivations.replay(example), args.plot)
            print(f"wrote {plotted}", file=sys.stderr)
        return 0
    derivation = derivations.replay(example)
    if args.layers is not None or args.gradient_lines is not None:
        depth = len(example.weights)
        if args.layers is not None and not all(0 <= k <= depth for k in args.layers):
            raise ValueError(f"--layers {args.layers}: the network has layers 0 (the inputs) to {depth}")
        derivation = derivation.only(args.layers, args.gradient_lines or "both")
    if args.chain:
        line = derivations.chain_rule(derivation, example, args.chain)
        derivation.add(line.text_parts[0], f"chain rule: {line.text_parts[1]}", [line.value])
        derivation.steps[-1] = replace(derivation.steps[-1], lines=(line,))
    if args.open:
        _open(example, derivation)
    else:
        text = derivations.write(args.format, example, derivation, standalone=args.standalone)
        print(text, end="" if text.endswith("\n") else "\n")
    if args.plot:
        print(f"wrote {derivations.plot_network(example, derivation, args.plot)}", file=sys.stderr)
    return 0 if not any(e.slip == "unexplained" for e in derivation.errata) or args.example else 1


def _open(example, derivation) -> None:
    """The page written to the temporary folder and opened in the browser."""
    import tempfile

    import derivations

    text = derivations.write("html", example, derivation)
    import webbrowser
    from pathlib import Path

    from funcmlp.io.files import atomic_write

    path = Path(tempfile.gettempdir()) / f"funcmlp-{re.sub(r'[^A-Za-z0-9_.-]', '_', example.name)}.html"
    with atomic_write(path) as handle:
        handle.write(text)
    print(f"wrote {path}", file=sys.stderr)
    if not webbrowser.open(path.as_uri()):
        print(f"no browser could be started: open {path} yourself", file=sys.stderr)
