"""The one number formatter of ``derivations``: how every value is written, in text and in LaTeX.

Contract: sympy numbers (or expressions with symbols) in, strings out; nothing else of
``derivations`` is imported. :func:`number_text` writes the entry-by-entry lines, the matrices of
the math formats, the pictures and the errata tables; :func:`decimal` and :func:`exact` the text
format's two columns; :func:`latex_number` turns either into math mode.

Example:
    >>> number_text(sp.Rational(3, 8)), decimal(sp.Rational(1, 3)), exact(sp.Rational(1, 3))
    (('0.375', True), '0.33333333', '1/3')
"""

from __future__ import annotations

import mpmath
import sympy as sp


def exact_decimal(value) -> str | None:
    """The exact decimal of a rational whose denominator has only the factors 2 and 5 (in
    scientific notation when it would need more than 6 leading zeros), or None."""
    if not value.is_Rational:
        return None
    p, q = int(value.p), int(value.q)
    twos = fives = 0
    while q % 2 == 0:
        q //= 2
        twos += 1
    while q % 5 == 0:
        q //= 5
        fives += 1
    if q != 1:
        return None
    places = max(twos, fives)
    scaled = abs(p) * 10**places // int(value.q)  # exact: the value times 10^places is an integer
    digits = str(scaled).rstrip("0") or "0"
    exponent = len(str(scaled)) - 1 - places  # the power of ten of the leading digit
    sign = "-" if p < 0 else ""
    if scaled == 0:
        return "0"
    if -7 < exponent < 16:
        text = str(scaled).rjust(places + 1, "0")
        text = (text[:-places] + "." + text[-places:]).rstrip("0").rstrip(".") if places else text
        return sign + text
    return f"{sign}{digits[0]}{'.' + digits[1:] if len(digits) > 1 else ''}e{exponent}"


def number_text(value, digits: int = 9) -> tuple[str, bool]:
    """(the value as a decimal, exact?): terminating decimals exactly when they have at most 12
    significant digits, others to ``digits`` significant digits (trailing zeros kept) computed
    in 30-digit arithmetic; scientific notation (``7.17827792e-5``) outside 1e-6 .. 1e10.

    Example:
        >>> number_text(sp.Rational(3, 8)), number_text(sp.Rational(-1, 10**40)), number_text(1 / (1 + sp.exp(-1)))
        (('0.375', True), ('-1e-40', True), ('0.731058579', False))
    """
    if value.free_symbols:
        return sp.latex(value), True
    exact = exact_decimal(value)
    if exact is not None and len(exact.split("e")[0].replace("-", "").replace(".", "").lstrip("0")) <= 12:
        return exact, True
    if value == 0:
        return "0", True
    text = mpmath.nstr(mpmath.mpf(str(sp.N(value, 30))), digits, strip_zeros=False, min_fixed=-6, max_fixed=10)
    return text.rstrip("."), False


def latex_number(text: str) -> str:
    """A number of :func:`number_text` for math mode: ``7.2e-5`` -> ``7.2 \\times 10^{-5}``.

    Example:
        >>> print(latex_number("7.17827792e-5"), latex_number("-0.25"))
        7.17827792 \\times 10^{-5} -0.25
    """
    mantissa, e, exponent = text.partition("e")
    if not e:
        return text
    exponent = str(int(exponent))
    return (
        f"10^{{{exponent}}}"
        if mantissa in ("1", "1.0")
        else (f"-10^{{{exponent}}}" if mantissa == "-1" else rf"{mantissa} \times 10^{{{exponent}}}")
    )


def decimal(value, digits: int = 8) -> str:
    """The value to ``digits`` significant digits, as Python's ``g`` format writes it (the text
    format's "decimal" column and the errata lines); an expression with symbols as it is."""
    if value.free_symbols:
        return str(value)
    value = sp.N(value, 30)
    if value == 0:
        return "0"
    return f"{float(value):.{digits}g}"


def exact(value) -> str:
    """The exact value: a rational, a short closed form, or (for long closed forms) 12 digits marked ~."""
    text = str(value)
    return text if value.is_Rational or len(text) <= 40 else decimal(value, 12) + "~"
