"""``funcmlp train`` across processes: joining ``jax.distributed`` from the command's options.

Example:
    >>> import argparse
    >>> join_processes(argparse.Namespace(coordinator=None, num_processes=None, process_id=None, distributed=False))
"""

from __future__ import annotations

import math

from funcmlp.cli.rendezvous import coordinator_address, meet

SCALE_OPTIONS = ("devices", "coordinator", "num_processes", "process_id", "join_timeout", "distributed")
"""train's options about where it runs: always the command's own, never a saved run's."""


def add_arguments(train) -> None:
    from funcmlp.cli.common import devices

    scale = train.add_argument_group("several devices and hosts (data parallel: each batch split over the devices)")
    scale.add_argument(
        "--devices",
        type=devices,
        metavar="N|all",
        help="train on N local devices (or all), params replicated, gradients summed across them (default: one device)",
    )
    scale.add_argument(
        "--coordinator",
        metavar="HOST:PORT",
        help="several processes joined by jax.distributed: process 0's address; "
        "give --num-processes and --process-id too",
    )
    scale.add_argument(
        "--num-processes", type=int, metavar="N", help="with --coordinator: how many processes take part"
    )
    scale.add_argument(
        "--process-id",
        type=int,
        metavar="I",
        help="with --coordinator: this process's index, 0 to N-1 (0 writes the outputs)",
    )
    scale.add_argument(
        "--join-timeout",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="with --coordinator: how long the processes wait for one another before giving up (default 60)",
    )
    scale.add_argument(
        "--distributed",
        action="store_true",
        help="join the other processes of a SLURM job or TPU pod slice, found by jax.distributed itself",
    )


MAX_PROCESSES = 4096
"""The most processes ``--num-processes`` takes: process 0 holds a connection to each while they meet."""
MAX_JOIN_TIMEOUT = 86400.0
"""The longest ``--join-timeout``, in seconds (a day)."""


def check_options(args) -> None:
    """--coordinator, --num-processes, --process-id, --join-timeout and --distributed as numbers in
    their ranges, before any work and without waiting: one line each.

    Example:
        >>> import argparse
        >>> check_options(argparse.Namespace(coordinator="10.0.0.1:1234", num_processes=10**9, process_id=0,
        ...                                  join_timeout=60.0, distributed=False))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: --num-processes 1000000000: expected 1 to 4096 processes (process 0 holds a connection ...
    """
    given = [args.coordinator, args.num_processes, args.process_id]
    if args.distributed and any(v is not None for v in given):
        raise ValueError(
            "--distributed finds the processes itself; leave out --coordinator, --num-processes and --process-id, "
            "or --distributed"
        )
    if any(v is not None for v in given) and not all(v is not None for v in given):
        raise ValueError(
            "--coordinator, --num-processes and --process-id go together; e.g. "
            "--coordinator 10.0.0.1:1234 --num-processes 2 --process-id 0 (and --process-id 1 on the other host)"
        )
    if args.coordinator is None:
        return
    if ":" not in args.coordinator:
        raise ValueError(f"--coordinator {args.coordinator[:80]}: expected HOST:PORT, e.g. 10.0.0.1:1234")
    coordinator_address(args.coordinator)
    if not 1 <= args.num_processes <= MAX_PROCESSES:
        raise ValueError(
            f"--num-processes {args.num_processes}: expected 1 to {MAX_PROCESSES} processes (process 0 holds a "
            "connection to each while they meet)"
        )
    if not 0 <= args.process_id < args.num_processes:
        raise ValueError(
            f"--process-id {args.process_id} with --num-processes {args.num_processes}: "
            f"expected 0 <= process id < number of processes (0 to {args.num_processes - 1})"
        )
    if not (math.isfinite(args.join_timeout) and 0 < args.join_timeout <= MAX_JOIN_TIMEOUT):
        raise ValueError(
            f"--join-timeout must be a positive number of seconds, at most {MAX_JOIN_TIMEOUT:g} (a day), got "
            f"{args.join_timeout:g}"
        )


def join_processes(args) -> None:
    """jax.distributed.initialize from --coordinator/--num-processes/--process-id, or from the
    cluster's environment with --distributed; nothing without them."""
    check_options(args)
    if args.coordinator is not None:
        meet(args.coordinator, args.num_processes, args.process_id, timeout=args.join_timeout)
        options = dict(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
            initialization_timeout=max(1, math.ceil(args.join_timeout)),
        )
    elif args.distributed:
        options = {}
    else:
        return
    import jax

    try:
        jax.distributed.initialize(**options)
    except Exception as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(
            f"could not join the other processes (jax.distributed.initialize): {first}; every process needs the same "
            "--coordinator and --num-processes and its own --process-id"
        ) from error
