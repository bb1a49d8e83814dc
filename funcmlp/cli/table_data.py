"""The command line's tables: ``--data FILE.csv`` / ``FILE.npz`` (or scikit-learn's ``iris``, ``wine``,
``breast_cancer``, ``diabetes``) with ``--target``, ``--task``, ``--missing``, ``--unknown``, ``--split``,
``--test``, ``--ignore`` and ``--describe``; the preprocessing (with its rules for gaps and unseen values)
saved in the model's record with the test file's name, and applied again by ``predict`` and
``evaluate``. A table file is read only if the memory it will take is available.

Example:
    >>> table_source("iris", None), table_source("table", "data/houses.csv"), table_source("xor", None)
    ('iris', 'data/houses.csv', None)
"""

from __future__ import annotations

import os

from funcmlp.data.table import SKLEARN_TABLES

TABLE = "table"
"""``--data``'s value for a table file (its path is ``--data-path``)."""
TABLE_SUFFIXES = (".csv", ".npz")
TABLE_OPTIONS = ("target", "task", "missing", "unknown", "split", "test", "ignore")
"""train's options for tables alone (saved with the run; ``--describe`` is not)."""
DEFAULT_TARGET = "target"
"""The target column of scikit-learn's tables."""


def add_arguments(add) -> None:
    """train's data options: --data, --data-path and a table's."""
    from funcmlp.data.datasets import DATASETS
    from funcmlp.data.gaps import MISSING_RULES, UNKNOWN_RULES
    from funcmlp.data.preprocessing import TABLE_TASKS

    add(
        "--data",
        help=f"data set: {', '.join(sorted([*DATASETS, 'mnist', *SKLEARN_TABLES]))}, or a table file (.csv with "
        "a header row, or .npz with arrays x and y; with --target) (default: digits, bundled with scikit-learn); "
        "mnist needs --data-path",
    )
    add("--data-path", help="for --data mnist: a folder with the four IDX files (gzip or not) or Kaggle's train.csv")
    add("--target", help="a table's column to predict (scikit-learn's sets: target; .npz: y)")
    add("--task", choices=TABLE_TASKS, help="a table's task (default: classification for text or few integer targets)")
    add(
        "--missing",
        choices=MISSING_RULES,
        help="a table's empty or NA cells: refuse them (default, naming each), drop their rows, or impute them (a "
        "number: the training rows' median; text: their most frequent value; a row without a target is left out); "
        "saved in the model: the validation and test rows, evaluate and predict follow it",
    )
    add(
        "--unknown",
        choices=UNKNOWN_RULES,
        help="a text value the training rows do not hold (in the validation or test rows, or later in evaluate or "
        "predict): refuse it (default, naming it) or ignore it (encoded as none of the known values, as "
        "scikit-learn's OneHotEncoder(handle_unknown='ignore')); saved in the model",
    )
    add(
        "--split",
        help="a table's train,validation,test fractions, seeded (default 0.8,0.1,0.1; with --test 0.9,0.1, or 1,0 "
        "for no validation rows); a validation fraction of 0: none (then no --patience)",
    )
    add("--test", help="a table file of test rows (the same columns); the --data table is split into train,validation")
    add(
        "--ignore",
        metavar="COLUMNS",
        help="a table's columns to leave out, comma-separated (an id or free-text column, say): no feature is made "
        "of them, and predict and evaluate do not read them",
    )
    add(
        "--describe",
        action="store_true",
        default=None,
        help="read the table and print each column as read (number, or text and its number of levels; missing "
        "cells; columns that look like dates or ids), then stop: nothing is trained or written",
    )


def name_the_data(args) -> None:
    """``--data``: a built-in name, or a table file (then ``--data table --data-path FILE``)."""
    from funcmlp.data.datasets import DATASETS
    from funcmlp.data.table import SKLEARN_TABLES

    if args.data is not None and is_table_file(args.data):
        if args.data_path is not None:
            raise ValueError(f"--data {args.data} is the table; leave out --data-path {args.data_path}")
        args.data, args.data_path = TABLE, args.data
    names = [*DATASETS, "mnist", *SKLEARN_TABLES, TABLE]
    if args.data is not None and args.data not in names:
        raise ValueError(
            f"--data {args.data!r} is neither a data set ({', '.join(names[:-1])}) nor a table file (.csv or .npz)"
        )


def is_table_file(text: str) -> bool:
    return isinstance(text, str) and text.lower().endswith(TABLE_SUFFIXES)


def table_source(data: str, data_path: str | None) -> str | None:
    """The table a run reads: a scikit-learn set's name, the file of ``--data table``, or ``None``."""
    if data in SKLEARN_TABLES:
        return data
    return data_path if data == TABLE else None


def read(source: str, what: str = "the table"):
    """The :class:`~funcmlp.data.table.Table` of a scikit-learn set's name or of a file (``what``: the
    option that names it, for its errors), read only where the memory it takes is available."""
    from funcmlp.data.table import read_table, sklearn_table
    from funcmlp.memory import check_fits

    if source in SKLEARN_TABLES:
        return sklearn_table(source)

    def fits(needed: int, doing: str) -> None:
        check_fits(needed, doing, "give a smaller table (a sample of its rows), or train from Python with funcmlp.fit")

    try:
        info = os.stat(source)
        key = (source, what, info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
        key = key if info.st_size > 1 << 20 else None
    except OSError:
        key = None  # (refused by read_table, in words)
    if key is not None and key in _LAST_READ:
        from funcmlp.sources import check_source

        check_source(source, what)  # read by this command too: no output of it may replace the file
        return _LAST_READ[key]
    table = read_table(source, what, fits=fits)
    _LAST_READ.clear()
    if key is not None:
        _LAST_READ[key] = table
    return table


_LAST_READ: dict = {}
"""The last large table read, by its path and its file's identity, size and time of change: train reads
its table to choose the task's preset and again to load it (a million rows take a second to read); the
table is let go when loaded (:func:`load`)."""


def ignored(args, table):
    """``table`` less the columns of ``--ignore`` (each must be one of its columns, and not the target).

    Example:
        >>> import argparse
        >>> from funcmlp.data.table import Table
        >>> table = Table("t.csv", ("id", "size", "kind"), (("u1", "1", "a"),), (2,))
        >>> ignored(argparse.Namespace(ignore="id", target="kind", data="table"), table).names
        ('size', 'kind')
    """
    if args.ignore is None:
        return table
    names = table_dropped(args)
    target = target_column(args, table)
    for name in names:
        if name not in table.positions:
            shown = ", ".join(repr(n) for n in table.names[:20]) + (", ..." if len(table.names) > 20 else "")
            raise ValueError(f"--ignore {args.ignore}: {table.source} has no column {name!r}; its columns: {shown}")
        if name == target:
            raise ValueError(f"--ignore {args.ignore} names the target {name!r}; leave it out of --ignore")
    return table.without(names)


def check_options(args) -> None:
    """The table options of a fresh run: given only with a table, ``--target`` with every file."""
    source = table_source(args.data, args.data_path)
    given = [f"--{name}" for name in TABLE_OPTIONS if getattr(args, name, None) is not None]
    if source is None and given:
        raise ValueError(
            f"{', '.join(given)} {'is' if len(given) == 1 else 'are'} for a table: --data FILE.csv, FILE.npz, "
            f"or one of {', '.join(SKLEARN_TABLES)}; --data {args.data} is not one"
        )
    if source is not None and source not in SKLEARN_TABLES and args.target is None and not source.endswith(".npz"):
        columns = ""
        if os.path.isfile(source):
            try:
                columns = f" (its columns: {', '.join(read(source, '--data').names[:20])})"
            except ValueError:
                pass
        raise ValueError(f"--data {source}: give --target COLUMN, the column to predict{columns}")
    if args.data == TABLE and args.data_path is None:
        raise ValueError("--data table reads the table file --data-path names; give --data FILE.csv (or .npz)")
    if getattr(args, "describe", None) and source is None:
        raise ValueError(f"--describe reads a table: --data FILE.csv, FILE.npz or one of {', '.join(SKLEARN_TABLES)}")
    if getattr(args, "describe", None) and (args.out or args.resume):
        given = "--out" if args.out else "--resume"
        raise ValueError(f"--describe only reads the table, it trains and writes nothing: leave out {given}")
    if args.split is not None:
        from funcmlp.data.table_split import parse_split

        fractions = parse_split(args.split, with_test=args.test is not None)
        if fractions[1] == 0 and getattr(args, "patience", None) is not None:
            raise ValueError(
                f"--patience stops on the validation loss, and --split {args.split} leaves no validation rows: give "
                "a validation fraction (e.g. --split 0.9,0.1), or leave out --patience"
            )


def task_of(args) -> str:
    """The task of a fresh table run, for its preset: ``--task``; regression for a ``--loss`` on
    numbers (then ``--task regression`` is set: a count of few values is not read as classes);
    else inferred from the target column."""
    from funcmlp.data.preprocessing import infer_task
    from funcmlp.registry.losses import get_loss

    check_options(args)
    if args.task is None and args.loss is not None and not get_loss(args.loss).is_classification:
        args.task = "regression"
    table = read(table_source(args.data, args.data_path), _option(args))
    return args.task or infer_task(table, target_column(args, table))[0]


def _option(args) -> str:
    return "--data" if args.data_path is not None and args.data == TABLE else "the table"


def target_column(args, table) -> str:
    if args.target is not None:
        return args.target
    return "y" if "y" in table.names else DEFAULT_TARGET


def load(args, scale_target: bool):
    """A table run's :class:`~funcmlp.data.table_split.TableData` (split, preprocessing fitted, notes;
    a value beyond the params' dtype refused, naming its column and ``--float64``)."""
    from funcmlp.data.table_split import parse_split, split_table

    table = ignored(args, read(table_source(args.data, args.data_path), _option(args)))
    test = read(args.test, "--test") if args.test is not None else None
    if test is not None and args.ignore is not None:
        test = test.without([name for name in table_dropped(args) if name in test.positions])
    _LAST_READ.clear()
    fractions = parse_split(args.split, with_test=test is not None)
    return split_table(
        table,
        target_column(args, table),
        task=args.task,
        missing=args.missing or "refuse",
        unknown=args.unknown or "refuse",
        fractions=fractions,
        seed=args.seed,
        test=test,
        scale_target=scale_target,
        dtype="float64" if getattr(args, "float64", False) else "float32",
    )


def table_dropped(args) -> list[str]:
    """The column names ``--ignore`` gives."""
    return [name.strip() for name in args.ignore.split(",")] if args.ignore is not None else []


def describe(args) -> int:
    """``funcmlp train --describe``: each column of the table as read, then stop."""
    from funcmlp.data.table_columns import numeric_columns
    from funcmlp.data.table_report import describe_columns, warnings

    table = ignored(args, read(table_source(args.data, args.data_path), _option(args)))
    target = target_column(args, table)
    table.index(target)
    reports = describe_columns(table, target, numeric_columns(table))
    print(f"table   {table.source}: {len(table):,} rows, {len(table.names):,} columns")
    for report in reports:
        print(f"column  {report.name!r}: {'the target, ' if report.target else ''}{report.summary()}")
    for name in table_dropped(args):
        print(f"column  {name!r}: left out (--ignore)")
    for line in warnings(reports):
        print(f"note    {line}")
    return 0
