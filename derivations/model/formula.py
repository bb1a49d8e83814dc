"""A step's formula as typed parts, printed by type: the quantities it reads (:class:`~derivations.model.quantity.Key`
and :class:`Entry`), functions and constants by name (:class:`Name`), words within the math (:class:`Words`), a
remark after it (:class:`Note`), a formula that is words only (:class:`Prose`), and operators (plain strings,
written alike in text and LaTeX but for ``" * "``, the elementwise product, and ``"^T"``, the transpose).

A :class:`Formula` is the ``str`` of its text (what the text format prints and every reader of a step's formula
reads) and carries its parts, so LaTeX is printed from the parts: one rule per type, nothing parsed back.

Contract: parts in, text (``str(formula)``) and LaTeX (:meth:`Formula.latex`, None for prose; its remark after the
values, :meth:`Formula.remark`) out; free text escaped
by :mod:`derivations.model.text`. Imports only the step keys and the escaping.

Example:
    >>> f = formula(Key("dL/da", 1), " * ", Name("f'"), "(", Key("n", 1), ")", Note("the sensitivity recursion"))
    >>> print(f); print(f.latex()); print(f.remark())
    dL/da^1 * f'(n^1)  (the sensitivity recursion)
    \\frac{\\partial L}{\\partial a^{1}} \\odot f'(n^{1})
    \\quad\\text{(the sensitivity recursion)}
"""

from __future__ import annotations

from dataclasses import dataclass

from derivations.model.quantity import Key
from derivations.model.text import escape


@dataclass(frozen=True)
class Entry:
    """Entry ``index`` (a letter such as ``j``) of a layer quantity: ``a^2_j``."""

    key: Key
    index: str


@dataclass(frozen=True)
class Name:
    """A function or a constant by its name: ``sigmoid``, ``eta``, ``sum_j``, ``f'``, an activation's name."""

    name: str


@dataclass(frozen=True)
class Jacobian:
    """The Jacobian of a vector activation by its name: ``J_softmax``."""

    name: str


@dataclass(frozen=True)
class Words:
    """Words within the math (``", mean over 2 examples"``), upright in LaTeX."""

    text: str


@dataclass(frozen=True)
class Note:
    """A remark after the formula, in parentheses: ``(the sensitivity recursion)``, ``gap`` spaces after it in text
    (after the values in LaTeX); ``latex``: its LaTeX where it holds math (else its words, upright)."""

    text: str
    gap: int = 2
    latex: str = ""


@dataclass(frozen=True)
class Prose:
    """A formula that is words only (``W^1 after step 2``): no math is printed for it."""

    text: str


_NAMES = {
    "sigmoid": r"\sigma",
    "tanh": r"\tanh",
    "eta": r"\eta",
    "alpha": r"\alpha",
    "mu": r"\mu",
    "log": r"\log",
    "sum_j": r"\sum_j",
    "f'": "f'",
    "x": "x",
    "y": "y",
}
"""Names with their own LaTeX; any other name is an operator (``\\operatorname{relu}``)."""

_OPERATORS = {" * ": r" \odot ", "^T": r"^{\top}"}
"""The operators LaTeX writes otherwise than text."""


class Formula(str):
    """A formula: the ``str`` of its text, with its ``parts`` for the other formats (see the module docstring)."""

    parts: tuple

    def __new__(cls, parts: tuple) -> Formula:
        made = super().__new__(cls, "".join(_text(part) for part in parts))
        made.parts = parts
        return made

    def latex(self) -> str | None:
        """The formula in LaTeX, its notes aside; None for prose (a formula of words only)."""
        if any(isinstance(part, Prose) for part in self.parts):
            return None
        return "".join(_latex(part) for part in self.parts if not isinstance(part, Note))

    def remark(self) -> str:
        """The formula's notes in LaTeX (written after the step's values), or ``""``."""
        return "".join(_latex(part) for part in self.parts if isinstance(part, Note))


def formula(*parts) -> Formula:
    """A :class:`Formula` of ``parts`` (keys, entries, names, words, notes, prose and operator strings)."""
    return Formula(tuple(parts))


def prose(text: str) -> Formula:
    """A formula of words only."""
    return Formula((Prose(text),))


def _text(part) -> str:
    if isinstance(part, Key):
        return part.text() if part.stage else part.symbol()
    if isinstance(part, Entry):
        return f"{part.key.symbol()}_{part.index}"
    if isinstance(part, Name):
        return part.name
    if isinstance(part, Jacobian):
        return f"J_{part.name}"
    if isinstance(part, Note):
        return " " * part.gap + f"({part.text})"
    if isinstance(part, (Words, Prose)):
        return part.text
    return part


def _latex(part) -> str:
    if isinstance(part, Key):
        return part.latex()
    if isinstance(part, Entry):
        return f"{part.key.latex()}_{part.index}"
    if isinstance(part, Name):
        return _NAMES.get(part.name) or r"\operatorname{" + part.name.replace("_", r"\_") + "}"
    if isinstance(part, Jacobian):
        return r"J_{\operatorname{" + part.name.replace("_", r"\_") + "}}"
    if isinstance(part, Note):
        return r"\quad" + (part.latex or rf"\text{{({escape(part.text)})}}")
    if isinstance(part, Words):
        return rf"\text{{{escape(part.text)}}}"
    return _OPERATORS.get(part, part)
