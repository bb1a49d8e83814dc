"""What a worked example costs, bounded before the work: the sizes a person can read, counted in
a spec's raw data before any number is read (:func:`check_sizes`), and the replay's cost counted
in what it costs (:func:`check_replay`), not in a count that is not what costs.

What costs, measured on the 2-core machine (a unit is one parameter-step of the compiled
step in 50-digit decimals, about 13 microseconds):

- the steps after the first: parameters x examples x steps units (:data:`MAX_WORK` of them);
- the first step, exact in sympy: about :data:`FIRST_STEP` units per parameter and example,
  more for long numbers (a 90-digit weight costs three times a 2-digit one);
- the closed form of one step, built over parameter symbols and compiled once when there are
  steps after the first: about :data:`COMPILE` units per parameter squared and example (its
  expressions grow with the network: 165 parameters and 4 examples take 100 s); an online pass
  compiles one example's step and its loss (the example's numbers are arguments), whatever its examples.

Contract: a spec's raw keys, or a checked example, in; nothing out but one ``ValueError`` line naming
the key, the cost, the bound and the fix, raised before the work; the slip search's :class:`Budget`.
A replay may cost :data:`MAX_COST` units (about a minute), the slip search as much again
(:class:`Budget`: slips that would replay past it are left untried, with a note).

Example:
    >>> check_sizes({"x": [["1"]] * 1_000_000, "layers": []}, 1)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ValueError: x: 1,000,000 examples; a worked example replays a batch of at most 100 ...
    >>> units, what = replay_cost(parameters=9, examples=1, steps=10_000, digits=2)
    >>> units, what.split(", ")[1]
    (100575, 'compiling one step (6,075) and 9,999 more steps (90,000)')
"""

from __future__ import annotations

import math

MAX_PARAMETERS = 1_000
"""The largest network a worked example replays (every entry exact and shown): a textbook's size."""
MAX_EXAMPLES = 100
MAX_WORK = 2_000_000
"""The most parameter-steps (parameters x examples x steps) a replay runs: about half a minute."""
FIRST_STEP = 500
"""The exact first step's cost per parameter and example (2-digit numbers), in units."""
COMPILE = 75
"""The compiled step's cost per parameter squared and example, in units."""
MAX_COST = 4_000_000
"""The most units a replay costs in all (about a minute on the 2-core machine), and its slip search as much."""
ONLINE_COMPILED = 2
"""An online replay compiles one example's step and that example's loss: about two one-example steps."""


def _count(value) -> int:
    """The numbers in a raw list (a list of lists counted entry by entry); 0 for anything else."""
    if not isinstance(value, (list, tuple)):
        return 0
    return sum(len(row) if isinstance(row, (list, tuple)) else 1 for row in value)


def check_sizes(spec: dict, steps: int) -> None:
    """Refuse, before any number is read, a network, a batch or a replay too big to read or to wait for:
    the counts of the raw lists (a million inputs is refused at once, not after parsing them)."""
    layers = spec.get("layers")
    layers = layers if isinstance(layers, (list, tuple)) else []
    parameters = sum(
        _count(layer.get(key)) for layer in layers if isinstance(layer, dict) for key in ("W", "b", "theta")
    )
    if parameters > MAX_PARAMETERS:
        raise ValueError(
            f"layers: the network has {parameters:,} parameters; a worked example shows every entry of networks of at "
            f"most {MAX_PARAMETERS:,} (check a big network's gradients with funcmlp check or funcmlp derive check)"
        )
    for key in ("x", "y"):
        value = spec.get(key)
        batched = isinstance(value, (list, tuple)) and bool(value) and isinstance(value[0], (list, tuple))
        rows = len(value) if batched else 1
        if rows > MAX_EXAMPLES:
            raise ValueError(
                f"{key}: {rows:,} examples; a worked example replays a batch of at most {MAX_EXAMPLES} "
                "(give fewer rows)"
            )
        width = max((len(r) for r in value if isinstance(r, (list, tuple))), default=0) if batched else _count(value)
        if width > MAX_PARAMETERS:
            raise ValueError(
                f"{key}: {width:,} values per example; a network of at most {MAX_PARAMETERS:,} parameters takes at "
                f"most {MAX_PARAMETERS:,} (give fewer {'inputs' if key == 'x' else 'targets'})"
            )
    examples = len(spec["x"]) if _batched(spec.get("x")) else 1
    if parameters * examples * steps > MAX_WORK:
        raise ValueError(
            f"steps: {steps:,} steps of {parameters:,} parameters on {examples} example(s) is "
            f"{parameters * examples * steps:,} parameter-steps; a replay runs at most {MAX_WORK:,} "
            f"(about half a minute): at most {MAX_WORK // max(parameters * examples, 1):,} steps here"
        )


def _batched(value) -> bool:
    return isinstance(value, (list, tuple)) and bool(value) and isinstance(value[0], (list, tuple))


def digits(values) -> int:
    """The most decimal digits of an exact number among ``values`` (numerator or denominator); 1 for closed forms."""
    most = 1
    for v in values:
        if getattr(v, "is_Rational", False):
            most = max(most, math.ceil(max(abs(int(v.p)), int(v.q)).bit_length() * math.log10(2)))
    return most


def replay_cost(*, parameters: int, examples: int, steps: int, digits: int = 1, online: bool = False) -> tuple:
    """``(units, what)``: the cost of replaying ``steps`` steps (the first exact, the rest compiled and
    iterated) of a network of ``parameters`` on ``examples`` examples whose numbers have ``digits`` digits."""
    first = FIRST_STEP * parameters * examples * (1 + digits // 40)
    what = f"the exact first step of {parameters:,} parameters on {examples} example(s) ({first:,})"
    if steps == 1:
        return first, what
    iterated = parameters * examples * steps
    compiled = COMPILE * parameters**2 * (ONLINE_COMPILED if online else examples)
    one = "one example's step" if online else "one step"  # online: the closed form of a pass would grow with it
    return first + iterated + compiled, (
        f"{what}, compiling {one} ({compiled:,}) and {steps - 1:,} more "
        f"{'passes' if online else 'steps'} ({iterated:,})"
    )


def _parameters(ex) -> list:
    return [v for W, b in zip(ex.weights, ex.biases, strict=True) for v in [*(w for r in W for w in r), *(b or [])]]


def replay_units(ex) -> tuple:
    """``(units, what)``: :func:`replay_cost` of the checked example ``ex``."""
    values = _parameters(ex)
    return replay_cost(
        parameters=len(values),
        examples=len(ex.x),
        steps=ex.steps,
        digits=digits(values + [v for row in ex.x + ex.y for v in row]),
        online=ex.online,
    )


def written_units(ex, count: int) -> int:
    """What writing out ``count`` more steps in full costs (each as the exact first step of 2-digit numbers)."""
    return FIRST_STEP * len(_parameters(ex)) * len(ex.x) * count


def check_replay(ex) -> None:
    """Refuse, before any work, a replay of the checked example ``ex`` that would cost more than :data:`MAX_COST`."""
    online = ex.online
    units, what = replay_units(ex)
    if units > MAX_COST:
        raise ValueError(
            f"steps: replaying this example costs about {units:,} units (parameter-steps): {what}; a replay costs "
            f"at most {MAX_COST:,} (about a minute): give steps = 1, fewer "
            + ("passes, parameters or examples" if online else "parameters or examples, or shorter numbers")
        )


class Budget:
    """What the slip search may still spend on replays (:data:`MAX_COST` units): :meth:`spend` says
    whether a replay fits, and counts it when it does."""

    def __init__(self, units: int = MAX_COST):
        self.left = self.limit = units

    def spend(self, units: int) -> bool:
        if units > self.left:
            return False
        self.left -= units
        return True
