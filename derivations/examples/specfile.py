"""A spec file's text read into checked Python data: the file loaded (TOML or JSON), its
numbers (:mod:`derivations.model.grammar`), lists and matrices of them, the printed values, and the
sizes a person can read checked before any number is read (:mod:`derivations.model.cost`).

Contract: raw data from a file (or a dict) in, exact sympy numbers, lists and
:class:`~derivations.model.derivation.Printed` values out, or one ``ValueError`` line naming the key,
what was expected and the fix; nothing in the file is evaluated. :mod:`derivations.examples.spec` builds
the example from them.

Example:
    >>> vector(["0.5", "1/3"], "x"), brief(list(range(100)), 20)
    ([1/2, 1/3], '[0, 1, 2, 3, 4, ...')
"""

from __future__ import annotations

import json
import os
import re

import sympy as sp

from derivations.model import grammar
from derivations.model.derivation import Printed
from funcmlp.sources import read_source


def number(value, where: str) -> sp.Expr:
    """A spec number, read exactly by :func:`derivations.model.grammar.parse` (decimals, fractions, a safe grammar)."""
    return grammar.parse(value, where)


def brief(value, width: int = 60) -> str:
    """``repr(value)`` cut to ``width`` characters (a message stays one readable line)."""
    text = repr(value)
    return text if len(text) <= width else text[: width - 4] + " ..."


MAX_TEXT = 2000
"""The longest free text (a title, a note, an erratum's label or slip) a spec may hold, in characters."""
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")
"""Control characters: line breaks, escapes (a terminal's), zero-width and direction overrides."""


def free_text(value, where: str) -> str:
    """A spec's free text: one line of printable characters (no line break, terminal escape or
    direction override: text reaches LaTeX comments, Markdown headings and terminals), at most
    :data:`MAX_TEXT` characters. Each format's renderer escapes its own special characters.

    Example:
        >>> free_text("2-2-1 network, one step", "title")
        '2-2-1 network, one step'
        >>> free_text("x" + chr(10) + chr(92) + "input{/etc/passwd}", "title")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ValueError: title holds the control character '\\n' at position 1; free text is one line of printable ...
    """
    if not isinstance(value, str):
        raise ValueError(f"{where} must be text, got {brief(value)}")
    if len(value) > MAX_TEXT:
        raise ValueError(f"{where} is {len(value)} characters long; free text holds at most {MAX_TEXT}: shorten it")
    control = _CONTROL.search(value)
    if control:
        raise ValueError(
            f"{where} holds the control character {control.group()!r} at position {control.start()}; free text is one "
            "line of printable characters: remove it"
        )
    return value


def vector(values, where: str) -> list:
    if not isinstance(values, (list, tuple)) or not values:
        raise ValueError(f"{where} must be a non-empty list of numbers, got {brief(values)}")
    return [number(v, f"{where}[{i}]") for i, v in enumerate(values)]


def matrix(rows, where: str) -> list:
    if not isinstance(rows, (list, tuple)) or not rows or not all(isinstance(r, (list, tuple)) for r in rows):
        raise ValueError(f"{where} must be a list of rows (a list of lists of numbers), got {brief(rows)}")
    if len({len(r) for r in rows}) != 1:
        raise ValueError(
            f"{where} has rows of different lengths {brief([len(r) for r in rows])}; every row needs the same "
            "number of "
            "entries"
        )
    return [[number(v, f"{where}[{i}][{j}]") for j, v in enumerate(row)] for i, row in enumerate(rows)]


MAX_BYTES = 2_000_000
"""The largest spec file read, in bytes (a network of 1,000 parameters and 100 examples takes far less)."""


def load(source) -> tuple[dict, str]:
    """The spec's keys and where they came from: a dict as it is, or a ``.toml``/``.json`` file read through
    :func:`funcmlp.sources.open_source` (a folder, FIFO, device or a file over :data:`MAX_BYTES` refused)."""
    if isinstance(source, dict):
        return source, "spec"
    if not isinstance(source, (str, os.PathLike)):
        raise TypeError(
            f"a spec is a path to a .toml or .json file or a dict of its keys, got {type(source).__name__} "
            f"{source!r:.60}; e.g. from_spec('derivations/examples/seed003_relu_linear.toml')"
        )
    path = os.fspath(source)
    json_file = path.endswith(".json")
    try:
        text = read_source(path, "worked-example spec", "r", MAX_BYTES)
        if json_file:
            return json.loads(text), path
        try:
            import tomllib
        except ModuleNotFoundError:  # Python 3.10
            import tomli as tomllib
        return tomllib.loads(text), path
    except (UnicodeDecodeError, json.JSONDecodeError, _toml_error()) as error:
        raise ValueError(f"{path} is not valid {'JSON' if json_file else 'TOML'}: {error}") from None
    except RecursionError:
        raise ValueError(
            f"{path} nests arrays deeper than its parser can read; a spec nests at most 3 levels "
            "(a matrix of numbers, a batch of examples)"
        ) from None


def _toml_error() -> type:
    try:
        import tomllib
    except ModuleNotFoundError:  # Python 3.10
        import tomli as tomllib
    return tomllib.TOMLDecodeError


def printed_values(entries: dict, where: str) -> dict:
    if not isinstance(entries, dict):
        raise ValueError(f"{where}.printed must be a table of step name -> printed values, got {entries!r}")
    printed = {}
    for step, entry in entries.items():
        if isinstance(entry, dict):
            unknown = set(entry) - {"values", "where", "slip", "slips"}
            if unknown or "values" not in entry:
                raise ValueError(
                    f"printed.{step!r} takes values (required), where, slip and slips; got keys {sorted(entry)}"
                )
            values, label, slip, slips = (
                entry["values"],
                entry.get("where", step),
                entry.get("slip", ""),
                entry.get("slips", {}),
            )
        else:
            values, label, slip, slips = entry, step, "", {}
        if not isinstance(values, (list, tuple)):
            values = [values]  # one number: a single entry ("a^1_2") or a one-value step ("L")
        flat = [v for row in values for v in row] if values and isinstance(values[0], (list, tuple)) else list(values)
        texts = [grammar.printed_decimal(v, f"printed.{step!r}[{i}]") for i, v in enumerate(flat)]
        if not isinstance(slips, dict):
            raise ValueError(f"printed.{step!r}.slips must be a table of entry index -> slip, got {brief(slips)}")
        label = free_text(label, f"printed.{step!r}.where")
        slip = free_text(slip, f"printed.{step!r}.slip")
        kinds = [free_text(slips.get(str(i), slip), f"printed.{step!r}.slips.{i}") for i in range(len(texts))]
        printed[step] = tuple(Printed(text, label, kind) for text, kind in zip(texts, kinds, strict=True))
    return printed
