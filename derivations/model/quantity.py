"""What a step of a derivation holds, as data: a :class:`Key` (the quantity, its layer, the gradient step, the
stage of a parameter) and the one table that names each quantity in text and in LaTeX. Every step name of a
network replay is written here from its key, and a printed key of a spec file (a whole step or one entry of it)
is read back into a key by the one parser here: nothing else builds or parses a step name.

Contract: keys in, names out (:meth:`Key.text`, :meth:`Key.latex`, :func:`entry_text`); a printed key's text in,
``(Key, entry)`` out (:func:`parse`), or None for text that names no quantity. Imports nothing of derivations.

Example:
    >>> Key("W", 2, stage="new").text(), Key("W", 2, stage="new").latex()
    ('W^2 new', 'W^{2}_{\\\\mathrm{new}}')
    >>> Key("dL/dW", 1, t=2).text(), Key("L", stage="after", t=3, unit="step").latex()
    ('dL/dW^1 (step 2)', 'L_{(3)}')
    >>> parse("w^2_{1,3} new (step 2)")
    (Key(quantity='W', layer=2, t=2, stage='new', unit=''), (1, 3))
"""

from __future__ import annotations

import re
from dataclasses import dataclass

PARAMETERS = ("W", "b", "theta")
"""A layer's parameters: its weights, its biases, or its thresholds (theta = -b, where a text uses them)."""

_LATEX = {
    "a": "a",
    "n": "n",
    "s": "s",
    "delta": r"\delta",
    "W": "W",
    "b": "b",
    "theta": r"\theta",
}
"""The letter of each layer quantity and parameter in LaTeX (a derivative's denominator and a velocity's
subscript are built from it)."""

OF_N = ("f'", "exp")
"""Quantities written as a function of a layer's net input: the activation's derivative ``f'(n^k)`` and the
exponentials ``exp(n^k)`` (a softmax's numerators)."""

QUANTITIES = (
    *_LATEX,
    *(f"dL/d{q}" for q in ("a", "W", "b", "theta")),
    *(f"v_{p}" for p in PARAMETERS),
    *(f"delta_{p}" for p in PARAMETERS),
    *OF_N,
    "L",
)
"""Every quantity a network step holds: a layer's net input n, activation a, sensitivity s = dL/dn (and a text's
delta = -s), the loss's derivatives, the parameters (their values before, after and new), momentum's velocity v of
each parameter, a parameter's change in the step ``delta_W`` (new - old: -eta dL/dW, or the velocity with momentum),
f'(n^k) and exp(n^k), and the loss L."""

STAGES = ("", "new", "before", "after", "example", "running")
"""A key's stage: the quantity of its gradient step (""), a parameter after the update (new), the value a step
starts from (before: parameters and velocities), the parameters or the loss after some steps, passes or an online
example (after), the loss of an online example before its step (example), and an online pass's running loss up
to an example (running: the ``sum`` or the ``mean``, as ``unit``, of its examples' losses so far, each taken
before its example's step)."""

UNITS = ("", "step", "pass", "steps", "passes", "example", "sum", "mean")
"""What an ``after`` key counts: ``L after step t`` / ``pass t``, ``W^k after N steps`` / ``passes``, ``W^k after
example e``."""


@dataclass(frozen=True)
class Key:
    """A step of a network replay: ``quantity`` (one of :data:`QUANTITIES`) of ``layer`` (None for the loss) at
    gradient step ``t``, at a ``stage`` (:data:`STAGES`); an ``after`` key says in ``unit`` what ``t`` counts."""

    quantity: str
    layer: int | None = None
    t: int = 1
    stage: str = ""
    unit: str = ""

    def __post_init__(self):
        if self.quantity not in QUANTITIES or self.stage not in STAGES or self.unit not in UNITS:
            raise ValueError(f"no such step key: {self!r}")

    @property
    def parameter(self) -> tuple | None:
        """``(kind, layer)`` of a parameter's or a velocity's key (kind W, b or theta), else None."""
        kind = self.quantity.removeprefix("v_")
        return (kind, self.layer) if kind in PARAMETERS else None

    @property
    def velocity(self) -> bool:
        return self.quantity.startswith("v_")

    def symbol(self) -> str:
        """The quantity of its layer in text, no stage: ``W^2``, ``dL/da^1``, ``v_W^1``, ``L``."""
        if self.quantity in OF_N:
            return f"{self.quantity}(n^{self.layer})"
        return self.quantity if self.layer is None else f"{self.quantity}^{self.layer}"

    def text(self) -> str:
        """The step's name, as every format writes it in text: ``W^2 new``, ``s^1 (step 2)``, ``L after step 3``."""
        words = {
            "new": " new",
            "before": f" before step {self.t}",
            "after": f" after {self.unit} {self.t}"
            if self.unit in ("step", "pass", "example")
            else f" after {self.t} {self.unit}",
            "example": f" (example {self.t})",
            "running": f" running {self.unit} (example {self.t})",
        }.get(self.stage, "")
        return self.symbol() + words + (f" (step {self.t})" if self.t > 1 and self.stage in ("", "new") else "")

    def latex(self) -> str:
        """The step's name in LaTeX (a written-out step after the first is named as the first: its heading says
        which step): ``\\frac{\\partial L}{\\partial W^{2}}``, ``W^{2}_{\\mathrm{new}}``, ``v^{1}_{W,(1)}``."""
        if self.layer is None:
            base, up = (
                {"sum": r"\Sigma L", "mean": r"\bar{L}"}.get(self.unit, "L") if self.stage == "running" else "L",
                "",
            )
        elif self.quantity.startswith("dL/d"):
            letter = _LATEX[self.quantity[4:]]
            return rf"\frac{{\partial L}}{{\partial {letter}^{{{self.layer}}}}}"
        elif self.quantity in OF_N:
            base, up = (f"f'(n^{{{self.layer}}})" if self.quantity == "f'" else rf"e^{{n^{{{self.layer}}}}}"), ""
        elif self.quantity.startswith("delta_"):
            base, up = rf"\Delta {_LATEX[self.quantity[6:]]}", f"^{{{self.layer}}}"
        else:
            base, up = _LATEX[self.quantity.removeprefix("v_")], f"^{{{self.layer}}}"
        below = {
            "new": r"\mathrm{new}",
            "before": f"({self.t - 1})",
            "after": f"({self.t})" if self.unit != "example" else rf"(\text{{example {self.t}}})",
            "example": rf"\text{{example {self.t}}}",
            "running": rf"\text{{examples 1 to {self.t}}}",
        }.get(self.stage, "")
        if self.velocity:
            return f"v{up}_{{{base}" + (f",{below}" if below else "") + "}"
        return f"{base}{up}" + (f"_{{{below}}}" if below else "")

    def at(self, t: int) -> Key:
        """The same quantity at gradient step ``t``."""
        return Key(self.quantity, self.layer, t, self.stage, self.unit)


def entry_text(key: Key, entry: tuple) -> str:
    """One entry of a step, as a text writes it: ``a^1_2``, ``w^2_{1,3} new``, ``dL/dw^2_{1,3}`` (row r, column c
    of W^k as the spec file writes it; 1-based), ``theta^1_2``.

    Example:
        >>> entry_text(Key("W", 2, stage="new"), (1, 3)), entry_text(Key("s", 1), (2,))
        ('w^2_{1,3} new', 's^1_2')
    """
    base = key.quantity.replace("W", "w")
    index = f"{{{entry[0]},{entry[1]}}}" if len(entry) == 2 else str(entry[0])
    rest = key.text()[len(key.symbol()) :]
    if key.quantity in OF_N:
        return f"{base}(n^{key.layer}_{index}){rest}"
    return f"{base}^{key.layer}_{index}{rest}"


_TAIL = (
    r"(?:\^(?P<k>\d+))?"
    r"(?:_(?:\{(?P<r>\d+),(?P<c>\d+)\}|\{(?P<jb>\d+)\}|(?P<j>\d+)))?"
    r"(?P<stage> new| before step (?P<before>\d+)| after (?P<unit>step|pass|example) (?P<after>\d+)"
    r"| after (?P<count>\d+) (?P<units>steps|passes)| \(example (?P<example>\d+)\)"
    r"| running (?P<running>sum|mean) \(example (?P<upto>\d+)\))?"
    r"(?: \(step (?P<t>\d+)\))?"
)
_NAME = re.compile(
    r"(?P<q>dL/d(?:theta|[aWbw])|v_(?:theta|[Wbw])|delta_(?:theta|[Wbw])|theta|delta|[ansWbw]|L)" + _TAIL
)
_FN = re.compile(r"(?P<q>f'|exp)" + _TAIL)
_OF_N = re.compile(r"(?P<q>f'|exp)\(n\^(?P<k>\d+)(?P<entry>_\{\d+\}|_\d+)?\)(?P<rest>.*)")
_AGAIN = re.compile(r"(?P<text>.*?) #(?P<n>\d+)")
"""A second printing of a step or entry: the key with `` #2`` (`` #3`` ...) after it."""


def printing(text: str) -> tuple[str, int]:
    """``(the printed key without its printing number, the number)``: ``"L #2"`` -> ("L", 2), ``"L"`` -> ("L", 1);
    a text printing one number twice (rounded differently in two places) gives the second as ``"L #2"``.

    Example:
        >>> printing("a^1_2 (step 2) #3"), printing("a^1")
        (('a^1_2 (step 2)', 3), ('a^1', 1))
    """
    m = _AGAIN.fullmatch(text.strip())
    return (m["text"], int(m["n"])) if m and int(m["n"]) >= 2 else (text.strip(), 1)


def asked(printed) -> set:
    """The keys of a spec's printed numbers (``printed``: its keys, texts), each entry's key as its step's.

    Example:
        >>> sorted(key.text() for key in asked(["a^1_2", "L after step 3", "not a step"]))
        ['L after step 3', 'a^1']
    """
    return {parsed[0] for parsed in map(parse, printed) if parsed is not None}


def parse(text: str) -> tuple[Key, tuple | None] | None:
    """A printed key read into ``(Key, entry)``: a whole step (``W^2 new``, ``L after step 1``, ``s^1 (step 2)``;
    entry None) or one entry of it (``a^1_2`` -> (2,), ``w^2_{1,3} new`` -> (1, 3): a weight is named with a small
    w); None when ``text`` names no quantity. The one reader of step names: spec files' printed keys and the
    chain rule's ``--chain`` weight go through it."""
    text = printing(text)[0]  # a second printing (``L #2``) names the same step
    of_n = _OF_N.fullmatch(text)
    if of_n is not None:  # f'(n^1_2) (step 2): read as the entry of a quantity of layer 1
        text = f"{of_n['q']}^{of_n['k']}{of_n['entry'] or ''}{of_n['rest']}"
    m = (_FN if of_n is not None else _NAME).fullmatch(text)
    if m is None:
        return None
    quantity, entry = m["q"].replace("w", "W"), None
    if m["r"] is not None:
        entry = (int(m["r"]), int(m["c"]))
    elif m["j"] is not None or m["jb"] is not None:
        entry = (int(m["j"] or m["jb"]),)
    if (m["k"] is None) != (quantity == "L") or (entry is not None and quantity == "L"):
        return None
    if ("w" in m["q"] and entry is None) or ("W" in m["q"] and entry is not None):  # a matrix W, one weight w
        return None
    stage, t, unit = "", int(m["t"] or 1), ""
    if m["stage"] == " new":
        stage = "new"
    elif m["before"]:
        stage, t = "before", int(m["before"])
    elif m["after"]:
        stage, t, unit = "after", int(m["after"]), m["unit"]
    elif m["count"]:
        stage, t, unit = "after", int(m["count"]), m["units"]
    elif m["example"]:
        stage, t = "example", int(m["example"])
    elif m["running"]:
        stage, t, unit = "running", int(m["upto"]), m["running"]
    if m["t"] is not None and (stage not in ("", "new") or t < 2):
        return None
    try:
        key = Key(quantity, None if m["k"] is None else int(m["k"]), t, stage, unit)
    except ValueError:
        return None
    return key, entry
