"""The numbers of a spec file: decimals, fractions and a small safe grammar of exact expressions,
read by a recursive-descent parser written for it (never ``eval``, ``sympify`` or ``parse_expr``).

Contract: a string (or a TOML/JSON number) in, an exact real sympy number out, or one
``ValueError`` line naming the key, the position and what is accepted; nothing in the text is
looked up, imported or called but the names below. Grammar (``^`` binds tightest, right to
left; a unary sign binds looser than ``^``, so ``-2^2`` is -4)::

    expr  := term (("+" | "-") term)*
    term  := unary (("*" | "/") unary)*
    unary := ("+" | "-") unary | power
    power := atom ("^" unary)?
    atom  := NUMBER | "pi" | "e" | FUNCTION "(" expr ")" | "(" expr ")"
    NUMBER   := 12 | 0.25 | .5 | 1e-3 | 2.5E+2 (a decimal, read exactly: "0.1" is 1/10)
    FUNCTION := sqrt | exp | log | sin | cos | tan

Limits: at most :data:`MAX_LENGTH` characters, :data:`MAX_DIGITS` digits in a literal, decimal
exponents and powers of at most :data:`MAX_EXPONENT`, parentheses nested at most
:data:`MAX_DEPTH` deep; every value, the intermediate ones too, of magnitude at most 10^100 (and
zero or at least 10^-100), an exact fraction of at most :data:`MAX_VALUE_DIGITS` digits above and
below its bar. A power or an ``exp`` is bounded from its operands before it is computed, so a
tower such as ``((9^99)^99)^99`` or ``exp(exp(exp(5)))`` is refused at once, never evaluated.

Example:
    >>> parse("1 + sin(pi/4)", "y[0]"), parse("3/8", "learning_rate"), parse(0.1, "x[0]")
    (sqrt(2)/2 + 1, 3/8, 1/10)
    >>> parse("__import__('os')", "x[0]")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x[0] = "__import__('os')": unknown name '__import__' at position 1; ...
    >>> parse("((((9^99)^99)^99)^99)", "x[0]")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x[0] = '((((9^99)^99)^99)^99)': a power of about 10^9353 in magnitude, larger than 10^100 ...
"""

from __future__ import annotations

import math
import re

import mpmath
import sympy as sp

MAX_LENGTH = 200
MAX_DIGITS = 100
MAX_EXPONENT = 100
MAX_DEPTH = 20
MAX_MAGNITUDE = 100
"""Every value, intermediate ones too, is zero or between 10^-MAX_MAGNITUDE and 10^MAX_MAGNITUDE in magnitude."""
MAX_VALUE_DIGITS = 200
"""An exact fraction holds at most this many digits above and below its bar (``0.3^100`` has 48 and 101)."""
CONSTANTS = {"pi": sp.pi, "e": sp.E}
FUNCTIONS = {"sqrt": sp.sqrt, "exp": sp.exp, "log": sp.log, "sin": sp.sin, "cos": sp.cos, "tan": sp.tan}
ACCEPTED = (
    'write a decimal ("0.25", "1e-3"), a fraction ("1/3") or an expression of pi, e, sqrt, exp, log, sin, '
    'cos, tan with + - * / ^ and parentheses ("1 + sin(pi/4)")'
)
_TOKEN = re.compile(r"\s*(?:(?P<number>(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)|(?P<name>[A-Za-z_]\w*)|(?P<op>[-+*/^()]))")


class _Parser:
    def __init__(self, text: str, where: str):
        self.text, self.where, self.depth, self.position, self.next = text, where, 0, 0, None

    def _read(self):
        """The next token ``(kind, text, column)`` (columns from 1), read only when reached: the
        first problem in reading order is the one reported."""
        rest = self.text[self.position :]
        if not rest.strip():
            return "end", "", len(self.text) + 1
        match = _TOKEN.match(self.text, self.position)
        if match is None:
            column = self.position + len(rest) - len(rest.lstrip()) + 1
            self.fail(f"unexpected character {self.text[column - 1]!r}", column)
        kind = match.lastgroup
        self.position = match.end()
        return kind, match.group(kind), match.start(kind) + 1

    def fail(self, problem: str, column: int):
        raise ValueError(f"{self.where} = {self.text!r}: {problem} at position {column}; {ACCEPTED}")

    def peek(self):
        if self.next is None:
            self.next = self._read()
        return self.next

    def take(self, *values):
        kind, value, column = self.peek()
        if values and value not in values:
            self.fail(f"expected {' or '.join(repr(v) for v in values)}, found {value or 'the end'!r}", column)
        self.next = None
        return kind, value, column

    def expr(self):
        value = self.term()
        while self.peek()[1] in ("+", "-"):
            _, op, column = self.take()
            value = self.bounded(value + self.term() if op == "+" else value - self.term(), column)
        return value

    def term(self):
        value = self.unary()
        while self.peek()[1] in ("*", "/"):
            _, op, column = self.take()
            if op == "*" and self.peek()[1] == "*":
                self.fail("a power is written with ^, not **", column)
            right = self.unary()
            if op == "/" and right == 0:
                self.fail("division by zero", column)
            value = self.bounded(value * right if op == "*" else value / right, column)
        return value

    def unary(self):
        if self.peek()[1] in ("+", "-"):
            _, op, _ = self.take()
            return self.unary() if op == "+" else -self.unary()
        return self.power()

    def power(self):
        base = self.atom()
        if self.peek()[1] != "^":
            return base
        _, _, column = self.take()
        exponent = self.unary()
        if not exponent.is_number or abs(sp.N(exponent, 30)) > MAX_EXPONENT:
            self.fail(f"an exponent of at most {MAX_EXPONENT} in magnitude is accepted", column)
        if base == 0 and sp.N(exponent, 30) <= 0:
            self.fail("0 to a power that is not positive", column)
        self.power_fits(base, exponent, column)
        return self.bounded(base**exponent, column)

    def atom(self):
        kind, value, column = self.take()
        if kind == "number":
            mantissa, _, exponent = value.lower().partition("e")
            if len(mantissa.replace(".", "").lstrip("0")) > MAX_DIGITS:
                self.fail(f"a number of more than {MAX_DIGITS} digits", column)
            if exponent and abs(int(exponent)) > MAX_EXPONENT:
                self.fail(f"a decimal exponent beyond +-{MAX_EXPONENT}", column)
            return sp.Rational(value)
        if kind == "name":
            if value in CONSTANTS:
                return CONSTANTS[value]
            if value not in FUNCTIONS:
                self.fail(f"unknown name {value!r}", column)
            argument = self.nested(self.take("(")[2])
            self.take(")")
            if value == "exp":
                self.power_fits(sp.E, argument, column)
            return self.bounded(FUNCTIONS[value](argument), column)
        if value == "(":
            inner = self.nested(column)
            self.take(")")
            return inner
        self.fail(f"expected a number, a name or '(', found {value or 'the end'!r}", column)

    def power_fits(self, base, exponent, column: int):
        """Refuse ``base^exponent`` (both bounded already) from its operands' sizes, before it is computed:
        its magnitude (exponent x log10|base|) and, for a fraction to a rational power, its digits."""
        size = _log10(base)
        power = sp.N(exponent, 15)
        if size is None or not power.is_comparable:
            return  # zero, or not a real number: the value itself is refused at the end
        magnitude = float(power) * size
        if abs(magnitude) > MAX_MAGNITUDE + 1:  # (the exact value decides at the bound: bounded())
            what = "exp(...)" if base == sp.E else "a power"
            self.fail(
                f"{what} of about 10^{_exponent(magnitude)} in magnitude, "
                + (f"larger than 10^{MAX_MAGNITUDE}" if magnitude > 0 else f"smaller than 10^-{MAX_MAGNITUDE}")
                + " (every value, intermediate ones too, must be within them)",
                column,
            )
        if base.is_Rational and exponent.is_Rational:
            digits = abs(int(exponent.p)) * max(_digits(base.p), _digits(base.q))
            if digits > MAX_VALUE_DIGITS:
                self.fail(
                    f"a power of an exact fraction of about {digits} digits; exact values hold at most "
                    f"{MAX_VALUE_DIGITS} (write the number as a decimal of at most {MAX_DIGITS} digits)",
                    column,
                )

    def bounded(self, value, column: int):
        """``value`` (the operation's at ``column``) when it is within the bounds on every value; the
        operands were, so the value was cheap to compute."""
        if value.is_Rational and max(_digits(value.p), _digits(value.q)) > MAX_VALUE_DIGITS:
            self.fail(
                f"an exact fraction of more than {MAX_VALUE_DIGITS} digits above or below its bar "
                f"(write the number as a decimal of at most {MAX_DIGITS} digits)",
                column,
            )
        size = _log10(value)
        if size is not None and abs(size) > MAX_MAGNITUDE:
            self.fail(
                f"a value larger than 10^{MAX_MAGNITUDE} in magnitude"
                if size > 0
                else f"a value smaller than 10^-{MAX_MAGNITUDE} in magnitude (and not zero)",
                column,
            )
        return value

    def nested(self, column: int):
        """The expression inside the parenthesis opened at ``column``."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"parentheses nested more than {MAX_DEPTH} deep", column)
        value = self.expr()
        self.depth -= 1
        return value


def _exponent(magnitude: float) -> str:
    return f"{magnitude:.0f}" if abs(magnitude) < 1e6 else f"({magnitude:.2g})"


def _digits(n) -> int:
    """The decimal digits of the integer ``n`` (within one: from its bits, without writing it out)."""
    return max(1, math.ceil(abs(int(n)).bit_length() * math.log10(2)))


def _log10(value) -> float | None:
    """log10 of ``|value|``, from 15 digits of it; None for zero or what is not a finite real number."""
    approx = sp.N(value, 15)
    if not approx.is_Number or not approx.is_finite or approx.is_zero or not approx.is_real:
        return None
    return float(mpmath.log10(abs(mpmath.mpf(approx._mpf_))))


_DECIMAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def printed_decimal(value, where: str) -> str:
    """A number as a text printed it: a decimal (``"0.291027924"``, ``"3.51085e-5"``, or a TOML/JSON
    number), returned as its text; compared digit by digit, so no expressions here."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f'{where} must be a number as the text printed it, e.g. "0.291027924", got {value!r}')
    text = repr(value) if isinstance(value, float) else str(value).strip()
    if len(text) > MAX_LENGTH or not _DECIMAL.fullmatch(text):
        raise ValueError(f'{where} is {value!r}, not a decimal as a text prints it; write e.g. "-0.25" or "3.51e-5"')
    return text


def parse(value, where: str) -> sp.Expr:
    """A spec number read exactly: a TOML/JSON integer or float (a float as the decimal it prints
    as: ``0.1`` is 1/10) or a string of the grammar above; ``where`` names the key in messages."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(
            f'{where} must be a number or a string such as "0.25" or "1 + sin(pi/4)", got {repr(value)[:60]}'
        )
    if isinstance(value, float) and not sp.Float(value).is_finite:
        raise ValueError(f"{where} is {value!r}, not a finite number; {ACCEPTED}")
    text = repr(value) if isinstance(value, float) else str(value)
    if len(text) > MAX_LENGTH:
        raise ValueError(
            f"{where} has {len(text)} characters; a number or expression of at most {MAX_LENGTH} is accepted"
        )
    if not text.strip():
        raise ValueError(f"{where} is empty; {ACCEPTED}")
    parser = _Parser(text, where)
    result = parser.expr()
    kind, rest, column = parser.peek()
    if kind != "end":
        parser.fail(f"unexpected {rest!r}", column)
    if not (result.is_number and result.is_extended_real and result.is_finite):
        raise ValueError(f"{where} = {text!r} is {result}, not a real finite number; {ACCEPTED}")
    if abs(sp.N(result, 30)) > sp.Integer(10) ** 100:
        raise ValueError(f"{where} = {text!r} is larger than 10^100 in magnitude; use numbers a text would print")
    return result
