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
:data:`MAX_DEPTH` deep, and a value of magnitude at most 10^100.

Example:
    >>> parse("1 + sin(pi/4)", "y[0]"), parse("3/8", "learning_rate"), parse(0.1, "x[0]")
    (sqrt(2)/2 + 1, 3/8, 1/10)
    >>> parse("__import__('os')", "x[0]")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: x[0] = "__import__('os')": unknown name '__import__' at position 1; ...
"""

from __future__ import annotations

import re

import sympy as sp

MAX_LENGTH = 200
MAX_DIGITS = 100
MAX_EXPONENT = 100
MAX_DEPTH = 20
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
            _, op, _ = self.take()
            value = value + self.term() if op == "+" else value - self.term()
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
            value = value * right if op == "*" else value / right
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
        return base**exponent

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
            return FUNCTIONS[value](argument)
        if value == "(":
            inner = self.nested(column)
            self.take(")")
            return inner
        self.fail(f"expected a number, a name or '(', found {value or 'the end'!r}", column)

    def nested(self, column: int):
        """The expression inside the parenthesis opened at ``column``."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            self.fail(f"parentheses nested more than {MAX_DEPTH} deep", column)
        value = self.expr()
        self.depth -= 1
        return value


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
