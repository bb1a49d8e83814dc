"""Every gradient step of a worked example written out: which steps a replay of several batch steps writes in
full (all of a run of at most :data:`FIRST` + 1 steps; the first :data:`FIRST` and the last of a longer one;
or those ``show_steps`` names), each of them replayed in full (forward pass, loss, sensitivities, gradients,
with momentum each velocity, the update) from the parameters the run reached before it, and the final
parameters of a run.

Contract: a checked example (and the parameters and velocities before a step, from
:func:`derivations.examples.iterate.iterate`'s ``states``) in, steps of a
:class:`~derivations.model.derivation.Derivation` out, each with its :class:`~derivations.model.quantity.Key`; every
number is the engine's (:func:`derivations.model.engine.run_step`), laid out by
:func:`derivations.examples.layout.record`, written entry by entry by
:func:`derivations.examples.textbook.annotate`. A step ``t`` after the first is named as the first's with `` (step
t)`` after it (``n^1 (step 2)``, ``W^1 new (step 2)``); the rows it opens with are ``W^1 before step 2`` (and with
momentum ``v_W^1 before step 2``).

Example:
    >>> from derivations.examples.spec import read_spec
    >>> ex = read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.5", "x": ["1"],
    ...                 "y": ["0"], "steps": 6, "layers": [{"W": [["1"]], "b": ["0"]}]})
    >>> steps, notes = written(ex); print(steps, notes[0][:64])
    (1, 2, 3, 6) steps written out in full: 1, 2, 3 and 6 (steps 4 and 5 left out
    >>> state = ((([[sp.Rational(1, 2)]], [sp.Rational(-1, 2)]),), None)  # the parameters before step 2
    >>> [s.name for s in step_written(ex, 2, state)][:3]
    ['W^1 before step 2', 'b^1 before step 2', 'a^0 (step 2)']
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp  # noqa: F401 (the example above)

from derivations.examples import textbook
from derivations.examples.iterate import iterate
from derivations.examples.layout import WORKED, record
from derivations.examples.spec import OUTPUT, WorkedExample
from derivations.model import cost, engine
from derivations.model.derivation import Derivation
from derivations.model.formula import prose
from derivations.model.quantity import Key, asked

FIRST = 3
"""A run of more than ``FIRST + 1`` steps writes out its first ``FIRST`` steps and its last by default."""


def _ranges(left_out: list) -> str:
    """``[4, 5, 6, 9]`` -> ``"steps 4 to 6 and 9"``, ``[2, 3]`` -> ``"steps 2 and 3"``."""
    items, start = [], None
    for i, t in enumerate(left_out):
        start = t if start is None else start
        if i + 1 == len(left_out) or left_out[i + 1] != t + 1:
            items += [f"{start} to {t}"] if t > start + 1 else list(map(str, range(start, t + 1)))
            start = None
    return ("steps " if len(left_out) > 1 else "step ") + _listed(items)


def _listed(steps) -> str:
    words = [str(t) for t in steps]
    return ", ".join(words[:-1]) + " and " + words[-1] if len(words) > 1 else words[0]


def written(ex: WorkedExample) -> tuple[tuple, list]:
    """``(the gradient steps written out in full, notes)``: step 1 always (the step a text's printed numbers
    name), then those of ``ex.show_steps``, or by default all of a short run, the first :data:`FIRST` and the
    last of a long one, and each step a printed key names (``dL/dW^1 (step 5)``); the notes say which were left
    out and how to choose. A default that would cost more
    than a replay may (:mod:`derivations.model.cost`) writes out step 1 only, with a note; a chosen set is refused."""
    if ex.steps == 1 or ex.online:
        return (1,), []
    chosen = ex.show_steps
    steps = (
        tuple(sorted({1, *chosen}))
        if chosen is not None
        else tuple(range(1, ex.steps + 1))
        if ex.steps <= FIRST + 1
        else (*range(1, FIRST + 1), ex.steps)
    )
    printed = {key.t for key in asked(ex.printed) if key.stage in ("", "new", "before") and 1 < key.t <= ex.steps}
    steps = tuple(sorted({*steps, *printed}))  # a step a text prints a number of is written out
    notes = []
    units, extra = cost.replay_units(ex)[0], cost.written_units(ex, len(steps) - 1)
    if units + extra > cost.MAX_COST:
        if chosen is not None or printed:
            raise ValueError(
                f"show_steps: writing out {len(steps) - 1} more step(s) in full costs about {extra:,} units beside "
                f"the replay's {units:,}; a replay costs at most {cost.MAX_COST:,}: name fewer steps"
            )
        steps = (1,)
        notes.append(
            f"only step 1 is written out in full: writing out more costs about {extra:,} units beside the "
            f"replay's {units:,} (at most {cost.MAX_COST:,}); name a few with show_steps"
        )
    if chosen is not None and 1 not in chosen:
        notes.append("step 1 is always written out in full: it is the step the printed numbers name")
    left_out = [t for t in range(2, ex.steps + 1) if t not in steps]
    if left_out and not notes:
        example = sorted({1, 2, left_out[-1]})
        notes.append(
            f"steps written out in full: {_listed(steps)} ({_ranges(left_out)} left out; choose with show_steps = "
            f"{example} in the spec or --show-steps {','.join(map(str, example))})"
        )
    return steps, notes


def at_step(ex: WorkedExample, layers, changes) -> WorkedExample:
    """The example as it stands before a step: ``layers`` its parameters, ``changes`` the velocity before it."""
    return replace(
        ex,
        weights=tuple(W for W, _ in layers),
        biases=tuple(b for _, b in layers),
        velocity=changes if ex.momentum is not None else None,
    )


def step_written(ex: WorkedExample, t: int, state: tuple, lines: bool = True) -> list:
    """Step ``t`` (after the first) in full from ``state`` = (the parameters before it, the velocity before it):
    its steps named ``... (step t)``, entry by entry (no chain-rule factors: the first step has them) where the
    first step is."""
    at = at_step(ex, *state)
    inputs = ex.loss == OUTPUT or Key("dL/da", 0) in asked(ex.printed)
    result = engine.run_step(
        at.network(),
        ex.x,
        ex.y,
        ex.learning_rate,
        alg=WORKED,
        fixed=ex.fixed,
        inputs=inputs,
        momentum=ex.momentum,
        previous=state[1],
        l2=ex.l2,
    )
    part = Derivation(ex.name, ex.title, convention=ex.convention)
    record(part, at, result, t)
    if lines:
        textbook.annotate(part, at, t=t, chain=False)
    return part.steps


def write_final(d: Derivation, ex: WorkedExample, layers, unit: str, described: str, t: int) -> None:
    """The parameters ``layers`` after ``t`` ``unit`` (steps, passes; or after example ``t``) as steps ``W^k after
    ...`` (and ``b^k`` or ``theta^k``), in the file's layout."""
    for k, (W, b) in enumerate(layers, start=1):
        values, shape = ex.convention.matrix(W)
        d.add(Key("W", k, t, "after", unit), prose(f"W^{k} {described}"), values, shape)
        if b is not None and ex.thresholds and ex.thresholds[k - 1]:
            d.add(Key("theta", k, t, "after", unit), prose(f"theta^{k} {described}"), [-v for v in b])
        elif b is not None:
            d.add(Key("b", k, t, "after", unit), prose(f"b^{k} {described}"), b)


def values_at(ex: WorkedExample, t: int | None) -> dict:
    """``{step name: values}`` of the example's step ``t`` written out as a replay writes it (``t`` >= 2), or with
    ``t`` None its final parameters (``W^k after N steps``): replayed from the spec's parameters (the slip search
    replays its variants so)."""
    layers = tuple(zip(ex.weights, ex.biases, strict=True))
    d = Derivation(ex.name, ex.title)
    if t is None:
        write_final(d, ex, iterate(ex, layers, ex.steps, start=0)[1], "steps", "", ex.steps)
        return d.values
    states = {t: None}
    iterate(ex, layers, t - 1, start=0, states=states)
    return {s.name: list(s.values) for s in step_written(ex, t, states[t], lines=False)}
