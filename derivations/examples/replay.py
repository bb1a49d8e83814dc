"""A worked example replayed: the :class:`~derivations.examples.spec.WorkedExample` of a spec file run
through :mod:`derivations.model.engine` (forward pass, loss, sensitivities, gradients, one update, then
``steps - 1`` more: :mod:`derivations.examples.iterate`), every quantity recorded as a step of a
:class:`~derivations.model.derivation.Derivation` in the file's layout, the textbook lines attached and
the printed numbers compared.

Contract: a checked example in, a derivation out; every number comes from the engine (exact
sympy numbers for the first step, closed forms carried as 50-digit decimals after it); nothing
here computes a network quantity itself.

Example:
    >>> d = from_spec({"activations": ["relu", "identity"], "loss": "sse", "learning_rate": "0.1",
    ...                "x": [1, 1], "y": [0],
    ...                "layers": [{"W": [[1, 1], [1, 1]], "b": [0, 0]}, {"W": [[1], [1]], "b": [0]}],
    ...                "printed": {"s^1": ["8", "8"]}})
    >>> [str(v) for v in d.values["W^1 new"]], d.errata
    (['1/5', '1/5', '1/5', '1/5'], [])
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derivations.examples import slips, textbook
from derivations.examples.every_step import at_step, step_written, write_final, written
from derivations.examples.iterate import iterate, shown
from derivations.examples.layout import WORKED, record, resolve_printed
from derivations.examples.printed_steps import wanted
from derivations.examples.spec import OUTPUT, WorkedExample, read_spec
from derivations.model import cost, engine
from derivations.model.derivation import Derivation
from derivations.model.formula import prose
from derivations.model.quantity import Key, asked


def _kept_notes(ex: WorkedExample) -> list:
    """What is not updated: the layers without biases and the fixed parameters."""
    notes = []
    if ex.momentum is not None:
        notes.append(
            f"momentum mu = {ex.momentum}: each step's update is written out as each parameter's velocity v (the "
            "rows v_W^k, v_b^k) and its new value w + v; "
            + ("the velocity before step 1 is the spec's" if ex.velocity else "there is no velocity before step 1")
        )
    bare = [str(k) for k, b in enumerate(ex.biases, start=1) if b is None]
    if bare:
        notes.append(
            f"layer{'s' if len(bare) > 1 else ''} {', '.join(bare)} ha{'ve' if len(bare) > 1 else 's'} no biases"
        )
    kept = [f"{name}^{k}" for k, names in enumerate(ex.fixed, start=1) for name in ("W", "b") if name in names]
    if kept:
        notes.append(f"fixed (kept, not updated): {', '.join(kept)}")
    return notes


def run(ex: WorkedExample) -> Derivation:
    """Forward pass, loss, sensitivities (seed 003 eqs. 24, 33), gradients and one update (with momentum each
    velocity first), exactly, for one example or a batch (mean loss); then, with ``steps = N``, each step chosen
    by :func:`derivations.examples.every_step.written` in full, the loss after each further full-batch step and the
    final weights. Matrices are shown in the file's convention; printed numbers are compared."""
    cost.check_replay(ex)  # refused before any work when it would cost more than a minute
    steps_written, steps_notes = written(ex)
    d = Derivation(ex.name, ex.title, notes=list(ex.notes), convention=ex.convention)
    online = ex.online
    d.gradient_steps = 1 if online else ex.steps
    inputs = ex.loss == OUTPUT or Key("dL/da", 0) in asked(ex.printed)
    eta = sp.Integer(0) if ex.learning_rate is None else ex.learning_rate  # no learning rate: no update shown
    first = replace(ex, x=ex.x[:1], y=ex.y[:1]) if online else ex  # online: the first example's step in full
    result = engine.run_step(
        first.network(),
        first.x,
        first.y,
        eta,
        alg=WORKED,
        fixed=ex.fixed,
        inputs=inputs,
        momentum=ex.momentum,
        previous=ex.velocity,
        l2=ex.l2,
    )
    record(d, first, result)
    d.notes += _kept_notes(ex) + steps_notes
    textbook.annotate(d, first)
    layers, changes = result.new_layers, result.changes
    if online:
        d.notes.append(f"online: one step per example, in order; the first in full, then examples 2 to {len(ex.x)}")
        layers, changes = _online_rest(d, ex, layers, changes)
    unit, printed = ("pass" if online else "step"), asked(ex.printed)
    middle = sorted({k.t for k in printed if k.stage == "after" and k.unit == unit and k.parameter and k.t < ex.steps})
    if ex.steps == 1:
        _after_one(d, ex, layers, unit, printed)
    if ex.steps > 1:
        keep = lambda t: shown(t, ex.steps) or Key("L", None, t, "after", unit) in printed
        states = {t: None for t in steps_written if t > 1}  # each filled with the parameters before step t
        states.update({t + 1: None for t in middle})  # the parameters after a step printed (W^1 after step 3)
        losses, layers = iterate(ex, layers, ex.steps, keep=keep, changes=changes, online=online, states=states)
        for t in sorted(states):
            if t in steps_written:
                d.steps += step_written(ex, t, states[t])
        for t in middle:
            write_final(d, ex, states[t + 1][0], unit, f"after {unit} {t}", t)
        for t, loss in losses.items():  # the first ten, every power of ten, the last, and those printed
            d.add(
                Key("L", None, t, "after", unit),
                prose(f"L with the weights after {unit} {t}" + (" (mean over the examples)" if online else "")),
                [loss],
            )
        write_final(
            d,
            ex,
            layers,
            "passes" if online else "steps",
            f"after {ex.steps} {'online passes' if online else 'gradient steps'}",
            ex.steps,
        )
    d.compare(resolve_printed(ex, d))
    slips.explain(ex, d)
    return d


def _after_one(d: Derivation, ex: WorkedExample, layers, unit: str, printed: set) -> None:
    """A replay of one step (or one online pass): the loss and the parameters after it, where printed (``L after
    step 1``, ``W^1 after step 1``)."""
    if ex.learning_rate is None:
        return
    if Key("L", None, 1, "after", unit) in printed:
        loss = engine.gradients(WORKED, ex.network(layers), ex.x, ex.y, ex.l2).loss
        d.add(Key("L", None, 1, "after", unit), prose(f"L with the weights after {unit} 1"), [loss])
    if any(k.stage == "after" and k.unit == unit and k.parameter and k.t == 1 for k in printed):
        write_final(d, ex, layers, unit, f"after {unit} 1", 1)


def _running(d: Derivation, printed: set, losses: list) -> None:
    """An online pass's running loss up to example ``len(losses)``: the sum and the mean of its examples' losses
    so far (each before its example's step), where printed (``L running sum (example 3)``)."""
    e = len(losses)
    for unit, value in (("sum", sp.Add(*losses)), ("mean", sp.Add(*losses) / e)):
        if Key("L", None, e, "running", unit) in printed:
            words = "sum" if unit == "sum" else "mean"
            d.add(Key("L", None, e, "running", unit), prose(f"the {words} of the losses of examples 1 to {e}"), [value])


def _example_step(d: Derivation, ex: WorkedExample, e: int, state: tuple, result, want: set) -> None:
    """Online example ``e``'s step (from ``state``: the parameters and the velocity before it), its quantities
    named ``a^1 (example e)``, where one of them is printed (``want``); its new parameters are ``W^k after example
    e``, its loss ``L (example e)``."""
    at = at_step(replace(ex, x=ex.x[e - 1 : e], y=ex.y[e - 1 : e]), *state)
    part = Derivation(ex.name, ex.title, convention=ex.convention)
    record(part, at, result, want=want)
    for step in part.steps:
        key = step.key
        if key.stage == "" and key.quantity != "L":
            renamed = Key(key.quantity, key.layer, e, "example")
            d.add(renamed, step.formula, step.values, step.shape, step.formula_latex)


def _online_rest(d: Derivation, ex: WorkedExample, layers, changes) -> tuple:
    """Examples 2.. of the first online pass: each example's loss before its step and the parameters after it,
    and where printed the running loss and an example's step (``a^1 (example 2)``)."""
    printed, losses = asked(ex.printed), [d.step(Key("L")).values[0]]
    _running(d, printed, losses)
    for e in range(1, len(ex.x)):
        want = wanted(ex, example=e + 1) - {("L", None)}  # (the loss of each example is written anyway)
        result = engine.run_step(
            ex.network(layers),
            ex.x[e : e + 1],
            ex.y[e : e + 1],
            ex.learning_rate,
            alg=WORKED,
            fixed=ex.fixed,
            momentum=ex.momentum,
            previous=changes,
            l2=ex.l2,
            inputs=("dL/da", 0) in want,
        )
        d.add(Key("L", None, e + 1, "example"), prose(f"the loss of example {e + 1} before its step"), [result.loss])
        losses.append(result.loss)
        _running(d, printed, losses)
        if want:
            _example_step(d, ex, e + 1, (layers, changes), result, want)
        layers, changes = result.new_layers, result.changes
        write_final(d, ex, layers, "example", f"after the step on example {e + 1}", e + 1)
    return layers, changes


def from_spec(
    source, *, name: str | None = None, steps: int | None = None, show_steps: list | None = None
) -> Derivation:
    """The derivation of a spec (path to ``.toml``/``.json``, or a dict): :func:`read_spec` then :func:`run`."""
    return run(read_spec(source, name=name, steps=steps, show_steps=show_steps))
