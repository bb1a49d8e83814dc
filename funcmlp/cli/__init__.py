"""The ``funcmlp`` command line: ``train``, ``evaluate``, ``predict``, ``check``, ``derive``.

Contract:
    What: one module per command (``add_parser(sub)`` adds its options, ``run(args)`` parses
        nothing more, calls the library and prints); :func:`main` dispatches and is the only
        place that turns errors into output.
    In: ``argv`` (a list of strings) and the files it names. Out: text on stdout, the files
        the command writes (atomically), an exit status: 0 done, 1 a check failed, 2 bad input
        (one line ``funcmlp: error: ...`` on stderr, never a traceback), 130 interrupted.
    Imports: anything below it (the ``funcmlp`` package's public names, ``funcmlp.io``,
        ``funcmlp.data``, ``funcmlp.tasks``, ``derivations`` for ``derive``); nothing imports it.

Example:
    >>> main(["check", "--sizes", "2,2", "--activations", "swoosh"])
    2
"""

from __future__ import annotations

import os
import signal
import sys

from funcmlp.cli import check, derive, evaluate, predict, train
from funcmlp.cli.common import Parser
from funcmlp.sources import command_scope

COMMANDS = {"train": train, "evaluate": evaluate, "predict": predict, "check": check, "derive": derive}
COMPILING = ("train", "evaluate", "predict", "check")
"""Commands that compile JAX programs: they use the persistent compilation cache (funcmlp.compile_cache)."""
ERRORS = (ValueError, FileNotFoundError, ModuleNotFoundError, FloatingPointError, OSError)
"""What bad input raises: printed as one line, exit status 2."""


def build_parser() -> Parser:
    """The parser of every command.

    Example:
        >>> build_parser().parse_args(["check", "--sizes", "3,2"]).sizes
        [3, 2]
    """
    parser = Parser(
        prog="funcmlp", description="Multi-layer perceptrons as pure JAX functions with a hand-written backprop."
    )
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    for module in COMMANDS.values():
        module.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Run one ``funcmlp`` command; returns its exit status.

    Example:
        >>> main(["derive", "no_such_thing"])
        2
    """
    try:
        args = build_parser().parse_args(argv)
        if args.command in COMPILING and not args.no_compile_cache:
            from funcmlp.compile_cache import cache_folder, disabled_by_environment, enable_compile_cache

            if enable_compile_cache() is None and not disabled_by_environment():
                note = f"note    the compile cache {cache_folder()} cannot be written: compiling afresh"
                print(note, file=sys.stderr)
        with command_scope():  # the files it reads, which no output of it may replace
            return COMMANDS[args.command].run(args)
    except MemoryError:  # an allocation no estimate foresaw: one line still, never a traceback
        print(
            "funcmlp: error: out of memory (an allocation failed); give smaller data or a smaller network, or raise "
            "the process's memory limit (ulimit -v)",
            file=sys.stderr,
        )
        return 2
    except ERRORS as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        print(f"funcmlp: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as interrupt:
        print("funcmlp: interrupted" + (f"; {interrupt}" if str(interrupt) else ""), file=sys.stderr)
        return 130
    except SystemError as error:  # a Ctrl-C that landed in a C callback (numpy's dtype lookup) arrives wrapped
        if not _interrupted_by(error):
            raise
        print("funcmlp: interrupted", file=sys.stderr)
        return 130


def _interrupted_by(error: BaseException) -> bool:
    """Whether a KeyboardInterrupt is among the causes of ``error`` (``SystemError: ... returned a
    result with an exception set`` carries the interrupt a C function was given back)."""
    seen = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, KeyboardInterrupt):
            return True
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return False


def run() -> int:
    """The ``funcmlp`` program: :func:`main`, then a Ctrl-C while the interpreter shuts down
    (JAX's exit handlers) is ignored, so the exit status stays main's. After an interrupt the
    process ends at once with 130 (its files are complete: each was written atomically): the
    interpreter's teardown could meet JAX work the interrupt cut short (it crashed with SIGSEGV
    in about one exit of six, after "funcmlp: interrupted" was printed)."""
    status = main()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if status == 130:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(130)
    return status
