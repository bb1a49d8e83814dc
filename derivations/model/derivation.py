"""The derivation model: a worked example is a list of steps (a name, the formula, the values),
the numbers a text printed for some of those steps, and the errata found by comparing them.

Values are sympy numbers: exact rationals where the arithmetic is rational (ReLU, linear and
hard-limit networks), exact closed forms such as ``1/(1 + exp(-13/25))`` for the sigmoid,
shown with 8 significant decimals beside.

A printed decimal is an erratum when it differs from the exact value by more than one unit
in its last printed digit (so a truncated or rounded last digit is not flagged); a printed
integer such as 0 or 8 must be exact. Each erratum carries the kind of slip: arithmetic, a
term left out, a derivative ignored, a sign, a transposed product, a wrong scaling, a wrong
quantity, or carried over from an earlier erratum.

Contract: the model every worked example is built into (steps, printed numbers, errata,
notes); numbers are compared here, written by :mod:`derivations.model.numbers`, shown by
:mod:`derivations.formats.render` (which it imports for Jupyter's display; render imports nothing back).

Example:
    >>> d = Derivation("demo", "one step")
    >>> d.add(Key("L"), "1/2 (y - a)^2", [sp.Rational(1, 8)])
    [1/8]
    >>> d.compare({"L": P("eq. 1", "0.15", slip="arithmetic")}); [str(e) for e in d.errata]
    ['eq. 1: L[0] printed 0.15, exact 1/8 = 0.125 (arithmetic)']
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from fractions import Fraction

import sympy as sp

from derivations.model.convention import ROW, Convention
from derivations.model.numbers import decimal
from derivations.model.quantity import Key, printing

GRADIENT_LINES = ("both", "formula", "chain", "none")
"""Which entry-by-entry lines of a gradient a derivation shows (:meth:`Derivation.only`)."""


@dataclass(frozen=True)
class Printed:
    """A number as the text printed it (a decimal string), the equation, and the kind of slip if it is wrong."""

    value: str
    where: str
    slip: str = ""
    index: int | None = None  # the entry of its step (a single entry printed, as "a^1_2"), or None: in order


FLOAT_DIGITS = 15
"""A printed number of at least this many significant digits may be a program's float64 output (16-17 digits)."""
FLOAT_ROUNDING = sp.Rational(1, 2**50)
"""float64 rounding: a few units in the last place of a value (2^-52 each), relative: about 8.9e-16."""


def _significant(printed: str) -> int:
    """Significant digits of a printed decimal ("0.500": 3, "0.0625": 3, "1.5e-3": 2)."""
    return len(Decimal(printed).as_tuple().digits) if Decimal(printed) != 0 else 1


def float_noise(printed: str, value) -> bool:
    """Whether a printed number of at least :data:`FLOAT_DIGITS` significant digits (a program's float64 output)
    is ``value`` to within float64 rounding (:data:`FLOAT_ROUNDING` of it, relative), though not to within one unit
    in its last digit.

    Example:
        >>> float_noise("0.30000000000000004", sp.Rational(3, 10)), float_noise("0.3000000000001", sp.Rational(3, 10))
        (True, False)
    """
    if _significant(printed) < FLOAT_DIGITS:
        return False
    exact = sp.N(value, 40)
    return exact.is_real is True and abs(sp.Rational(printed) - exact) <= FLOAT_ROUNDING * abs(exact)


def agrees(printed: str, value) -> bool:
    """Whether a printed decimal is ``value`` to within one unit in its last printed digit (rounded
    or truncated), or, printed with at least :data:`FLOAT_DIGITS` significant digits, to within float64 rounding
    (:func:`float_noise`); a printed integer must be exact. ``printed`` is a checked decimal, never an expression.

    Example:
        >>> agrees("0.333", sp.Rational(1, 3)), agrees("0.34", sp.Rational(1, 3)), agrees("0.35", sp.Rational(1, 3))
        (True, True, False)
    """
    unit = sp.Integer(10) ** Decimal(printed).as_tuple().exponent if "." in printed or "e" in printed.lower() else 0
    return abs(sp.Rational(printed) - sp.N(value, 40)) <= unit or float_noise(printed, value)


def _within_unit(printed: str, value) -> bool:
    unit = sp.Integer(10) ** Decimal(printed).as_tuple().exponent if "." in printed or "e" in printed.lower() else 0
    return abs(sp.Rational(printed) - sp.N(value, 40)) <= unit


def P(where: str, *values: str, slips: dict | None = None, slip: str = "") -> tuple:
    """Printed values of one step in their row-major order; ``slips`` maps an index to its slip."""
    slips = slips or {}
    return tuple(Printed(v, where, slips.get(i, slip)) for i, v in enumerate(values))


@dataclass(frozen=True)
class Step:
    """One quantity: its name, the formula in words, its values (row-major), the shape shown,
    optionally one :class:`derivations.examples.textbook.Line` per entry (formula, numbers, result), and the
    :class:`~derivations.model.quantity.Key` of a network quantity (its name is the key's text; None for the free-text
    steps of a hand-built example), with the formula's LaTeX where its words are not the math's."""

    name: str
    formula: str
    values: tuple
    shape: tuple = ()
    lines: tuple = ()
    key: Key | None = None
    formula_latex: str = ""


@dataclass
class Erratum:
    """A printed number that is not the exact value: its step (name, and the step's key where it is a network
    quantity), the entry, what was printed, the exact value, where it was printed and the slip found."""

    step: str
    index: int
    printed: str
    exact: sp.Expr
    where: str
    slip: str
    key: Key | None = None

    def __str__(self) -> str:
        if self.exact.free_symbols:
            return f"{self.where}: {self.step} printed {self.printed}, right: {self.exact} ({self.slip})"
        exact = f"{self.exact} = " if self.exact.is_Rational else ""
        return (
            f"{self.where}: {self.step}[{self.index}] printed {self.printed}, exact {exact}{decimal(self.exact)} "
            f"({self.slip})"
        )


@dataclass
class Derivation:
    name: str
    title: str
    steps: list = field(default_factory=list)
    errata: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    convention: Convention = ROW  # the text's layout: in the column one, vectors shown as columns
    gradient_steps: int = 1  # the steps replayed (batch steps; the keyed steps are those written out)

    def _repr_markdown_(self) -> str:
        """Jupyter shows a derivation rendered (Markdown with $$ math)."""
        from derivations.formats.render import markdown  # its printer, imported when called (as sympy's __str__)

        return markdown(self)

    def _repr_latex_(self) -> str:
        """Jupyter's LaTeX display: the steps as one aligned block of math."""
        from derivations.formats.render import latex_block

        return latex_block(self)

    @property
    def values(self) -> dict:
        return {s.name: list(s.values) for s in self.steps}

    @property
    def quantities(self) -> dict:
        """The values of the network quantities of the first gradient step, by their
        :class:`~derivations.model.quantity.Key`."""
        return {s.key: list(s.values) for s in self.steps if s.key is not None and s.key.t == 1}

    def add(self, name: str | Key, formula: str, values, shape=(), formula_latex: str = "") -> list:
        """Append a step named by a :class:`~derivations.model.quantity.Key` (or free text) and return its values."""
        values = [sp.nsimplify(v) if isinstance(v, (int, Fraction)) else sp.sympify(v) for v in values]
        key = name if isinstance(name, Key) else None
        text = name.text() if key else name
        self.steps.append(Step(text, formula, tuple(values), tuple(shape), key=key, formula_latex=formula_latex))
        return values

    def only(self, layers=None, gradient_lines: str = "both") -> Derivation:
        """The derivation with only the steps of ``layers`` (their layer numbers; None: every step, the loss and
        the free-text steps too) and of each gradient's entry-by-entry lines ``gradient_lines``: ``"both"`` its
        formula and its chain-rule factorisation, ``"formula"`` or ``"chain"`` one of them (a gradient without a
        factorisation keeps its formula), ``"none"`` the matrix alone.

        Example:
            >>> d = Derivation("demo", "one step"); _ = d.add(Key("a", 1), "x", [1]); _ = d.add(Key("L"), "a", [1])
            >>> [s.name for s in d.only(layers=[1]).steps]
            ['a^1']
        """
        if gradient_lines not in GRADIENT_LINES:
            raise ValueError(f"gradient lines {gradient_lines!r}: expected one of {', '.join(GRADIENT_LINES)}")
        steps = [s for s in self.steps if layers is None or (s.key is not None and s.key.layer in layers)]

        def kept(step):
            parameter = step.key is not None and step.key.quantity in ("dL/dW", "dL/db", "dL/dtheta")
            if not parameter or gradient_lines == "both":
                return step
            if gradient_lines == "none":
                return replace(step, lines=())
            if not any(line.chain for line in step.lines):  # no factorisation: its formula stays
                return step
            return replace(step, lines=tuple(line for line in step.lines if line.chain == (gradient_lines == "chain")))

        return replace(self, steps=[kept(s) for s in steps])

    def step(self, key: Key) -> Step | None:
        """The step of ``key``, or None where the replay has none."""
        return next((s for s in self.steps if s.key == key), None)

    def compare(self, printed: dict) -> None:
        """Flag every printed number more than one unit in its last digit from the exact value (a number printed
        with 15 or more significant digits that is the exact value to within float64 rounding is not: a note says
        so); a step printed again (``"L #2"``) is compared with the step's values as the first printing is."""
        values, keys = self.values, {s.name: s.key for s in self.steps}
        for printed_as, entries in printed.items():
            step = printed_as if printed_as in values else printing(printed_as)[0]
            if all(p.index is not None for p in entries):
                pairs = [(p.index, p) for p in entries]
            elif len(entries) != len(values[step]):
                raise ValueError(f"{self.name}: step {step!r} has {len(values[step])} values, {len(entries)} printed")
            else:
                pairs = list(enumerate(entries))
            for index, p in pairs:
                exact = values[step][index]
                if not _within_unit(p.value, exact) and float_noise(p.value, exact):
                    self.notes.append(
                        f"{p.where}: {step}[{index}] printed {p.value}: float64 rounding of the exact value "
                        f"{decimal(exact, 20)} (a program's 16-17 digits), not an erratum"
                    )
                elif not agrees(p.value, exact):
                    slip = p.slip or "unexplained"
                    self.errata.append(Erratum(step, index, p.value, exact, p.where, slip, keys.get(step)))
