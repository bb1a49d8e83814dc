"""Errata explained: for each printed number of a network example that is off by more than a unit
in its last digit and that the spec file does not explain, try the slips texts make and name the
one that reproduces the printed number, or say that none does.

Contract: a checked example and its replayed derivation in; each unexplained
:class:`~derivations.model.derivation.Erratum` gets the slip found (``"found: ..."`` with the value the
slip gives) or stays ``"unexplained"`` with a note naming the slips tried. Every value tried is computed by the
engine (a variant of its step where the slip changes the computation: :mod:`derivations.examples.variants`), laid out by
:mod:`derivations.examples.layout`; the match is :func:`~derivations.model.derivation.agrees`.

The slips, in the order tried: a flipped sign; a missing or extra factor 2 (the 1/2 of the
loss); a batch's losses or gradients summed instead of averaged (and the step taken on the sum);
a transposed matrix; the learning rate applied twice or not at all; biases updated or not; the
L2 term left out; momentum left out (each step plain gradient descent: tried on the steps written out
after the first, the losses after each step and the final parameters too); one step per example
(online) for one batch step, or the other way round;
hidden sensitivities computed with the already updated weights of the next layer; an
intermediate rounded to the printed digits and carried on; a loss one step early or late. The
variants are replayed as the example is (momentum, L2, fixed parameters, online steps).
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derivations.examples.layout import WORKED, resolve_printed
from derivations.examples.spec import WorkedExample
from derivations.examples.variants import Replays, reproduce, updated_next_step, variants
from derivations.model import engine
from derivations.model.cost import Budget
from derivations.model.derivation import Derivation, agrees
from derivations.model.numbers import number_text

TRIED = (
    "a flipped sign",
    "a factor 2",
    "a batch summed, not averaged",
    "a transposed matrix",
    "the learning rate twice or not at all",
    "biases updated or not",
    "the L2 term left out",
    "momentum left out",
    "online steps for a batch step or the other way round",
    "hidden sensitivities with the updated weights",
    "printed intermediates carried on",
    "a step early or late",
)

UPDATE_SLIPS = (
    "the learning rate twice or not at all",
    "biases updated or not",
    "momentum left out",
    "online steps for a batch step or the other way round",
    "hidden sensitivities with the updated weights",
    "printed intermediates carried on",
    "a step early or late",
)
"""The slips of an update: not tried for a spec without a learning rate (no update is shown)."""

MIN_DIGITS = 3
"""Slips are named only for printed numbers of at least this many significant digits."""


def _significant(printed: str) -> int:
    """Significant digits as printed ("0.500": 3, "0.0625": 3, "14.0": 3, "0.3": 1)."""
    mantissa = printed.lower().lstrip("+-").split("e")[0].replace(".", "").lstrip("0")
    return max(len(mantissa), 1)


def _number(value) -> str:
    return number_text(sp.sympify(value))[0]


def _candidates(ex: WorkedExample, d: Derivation, erratum) -> list:
    """(slip, value) pairs to try for one erratum, in order."""
    step, index, exact = erratum.step, erratum.index, erratum.exact
    values, shapes = d.values, {s.name: s.shape for s in d.steps}
    out = [
        ("a flipped sign", -exact),
        ("a missing factor 2 (the 1/2 of the loss taken twice)", exact / 2),
        ("an extra factor 2 (the 1/2 of the loss left out)", 2 * exact),
    ]
    examples = len(ex.x) if ex.update == "batch" else 1
    if examples > 1 and (step == "L" or step.startswith("dL/d")):
        penalty = _penalty(ex, d, step, index)  # the L2 term is added once, to the sum as to the mean
        out.append(
            (
                f"the {examples} examples' {'losses' if step == 'L' else 'gradients'} summed, not averaged",
                examples * (exact - penalty) + penalty,
            )
        )
    shape = shapes.get(step, ())
    if len(shape) == 2 and shape[0] == shape[1]:
        rows, cols = shape
        out.append(("a transposed matrix", values[step][(index % cols) * cols + index // cols]))
    if step.endswith(" new") and ex.learning_rate is not None:
        gradient = values.get("dL/d" + step[:-4])
        old = _old_value(ex, d, step, index)
        if gradient is not None and old is not None:
            eta, g = ex.learning_rate, gradient[index]
            out += [
                ("the learning rate applied twice", old - eta * eta * g),
                ("the learning rate not applied", old - g),
            ]
            if examples > 1:
                penalty = _penalty(ex, d, "dL/d" + step[:-4], index)
                summed = examples * (g - penalty) + penalty
                out.append((f"a step on the {examples} examples' summed gradients, not their mean", old - eta * summed))
    return out


def _penalty(ex: WorkedExample, d: Derivation, step: str, index: int):
    """The L2 term in entry ``index`` of ``step`` (``L``: l2/2 sum w^2; ``dL/dW^k``: l2 w), 0 without L2."""
    if ex.l2 is None:
        return 0
    if step == "L":
        return ex.l2 / 2 * sum(w**2 for W in ex.weights for row in W for w in row)
    if step.startswith("dL/dW^"):
        return ex.l2 * _old_value(ex, d, step[4:] + " new", index)
    return 0


def _old_value(ex: WorkedExample, d: Derivation, step: str, index: int):
    """The parameter's value before the step, in the file's layout (``W^k new``, ``b^k new``, ``theta^k new``)."""
    name, _, _ = step.partition(" ")
    kind, k = name.split("^")
    layer = int(k) - 1
    W, b = ex.weights[layer], ex.biases[layer]
    if kind == "W":
        rows = [list(col) for col in zip(*W, strict=True)] if ex.convention == "column" else W
        flat = [v for row in rows for v in row]
        return flat[index]
    if kind in ("b", "theta") and b is not None:
        return b[index] if kind == "b" else -b[index]
    return None


def explain(ex: WorkedExample, d: Derivation) -> None:
    """Give each unexplained erratum of ``d`` the first slip that reproduces its printed number."""
    open_errata = [e for e in d.errata if e.slip == "unexplained"]
    if not open_errata:
        return
    losses_asked = {int(e.step.rsplit(" ", 1)[1]) for e in open_errata if e.step.startswith("L after step ")}
    replays = Replays(losses_asked | {t + 1 for t in losses_asked} | {t - 1 for t in losses_asked} - {0}, Budget())
    plain = replace(ex, printed={}, steps=1)
    one_example = len(ex.x) == 1 and ex.momentum is None and ex.l2 is None and ex.learning_rate is not None
    batch = ex.update == "batch"  # losses after N steps are replayed for batch steps; online passes get the rest
    changed = variants(plain)
    tried = [slip for slip in TRIED if ex.learning_rate is not None or slip not in UPDATE_SLIPS]
    keys = {step.name: step.key for step in d.steps}
    for e in open_errata:
        key, later = keys.get(e.step), False  # later: a step written out after the first (its t), the final (None)
        if key is not None and batch and key.stage == "after" and key.quantity != "L":
            later = None
        elif key is not None and batch and key.t > 1 and key.stage in ("", "new", "before"):
            later = key.t
        if _significant(e.printed) < MIN_DIGITS:
            d.notes.append(
                f"{e.where}: {e.step}[{e.index}] printed {e.printed}: too few digits ({_significant(e.printed)}) "
                f"to tell a slip from a coincidence; slips are named for numbers of at least {MIN_DIGITS} "
                "significant digits"
            )
            continue
        matches = [(slip, value) for slip, value in _candidates(ex, d, e) if agrees(e.printed, value)]
        found = (" or ".join(dict.fromkeys(slip for slip, _ in matches)), matches[0][1]) if matches else None  # ties
        if found is None:
            for label, variant in changed.items():
                if (e.step.startswith("L after step ") or later is not False) and variant.update != "batch":
                    continue  # a loss after N steps, a later step, the final parameters: replayed for batch steps
                full = variant if later is False else replace(variant, steps=ex.steps)  # replays the steps
                found = reproduce(e, label, full, replays, None, len(d.values.get(e.step, ())), later) or found
                if found:
                    break
        if found is None and one_example:
            found = reproduce(
                e,
                "hidden sensitivities computed with the already updated weights of the next layer",
                plain,
                replays,
                engine_step=updated_next_step,
            )
        if found is None and e.step == "L after step 1" and batch:
            found = _rounded_carried_on(ex, d, e)
        if found is None and e.step.startswith("L after step ") and batch:
            t = int(e.step.rsplit(" ", 1)[1])
            near = replays.losses("a step early or late", plain)
            for other, value in sorted((s, v) for s, v in near.items() if s in (t - 1, t + 1)):
                if agrees(e.printed, value):
                    found = (f"one step {'early' if other < t else 'late'}: the loss after step {other}", value)
                    break
        if found:
            e.slip = f"found: {found[0]} gives {_number(found[1])}"
        else:
            d.notes.append(
                f"{e.where}: {e.step}[{e.index}] printed {e.printed}: none of the slips tried reproduces it ("
                + ", ".join(tried)
                + ")"
            )
    if ex.learning_rate is None and any(e.slip == "unexplained" for e in open_errata):
        d.notes.append(
            "no learning_rate, so no update: the slips of an update (" + ", ".join(UPDATE_SLIPS) + ") were not tried"
        )
    for label, units in replays.skipped:
        d.notes.append(
            f"slip not tried: {label} (replaying {max(replays.steps):,} steps costs about {units:,} units; the slip "
            f"search spends at most {replays.budget.limit:,}): give fewer steps to try it"
        )


def _rounded_carried_on(ex: WorkedExample, d: Derivation, e) -> tuple | None:
    """The loss after step 1 from the new parameters as the text printed them (rounded), the rest exact."""
    printed = resolve_printed(ex, d)
    layers = []
    for k, (W, b) in enumerate(zip(ex.weights, ex.biases, strict=True), start=1):
        new = d.values.get(f"W^{k} new")
        if new is None:
            layers.append((W, b))
            continue
        flat = list(new)
        for i, p in enumerate(printed.get(f"W^{k} new", ())):
            flat[p.index if p.index is not None else i] = sp.Rational(p.value)
        rows, cols = (len(W[0]), len(W)) if ex.convention == "column" else (len(W), len(W[0]))
        shown = [flat[r * cols : (r + 1) * cols] for r in range(rows)]
        layers.append(
            (
                [list(c) for c in zip(*shown, strict=True)] if ex.convention == "column" else shown,
                d.values.get(f"b^{k} new", b),
            )
        )
    if not any(f"W^{k} new" in printed for k in range(1, len(ex.weights) + 1)):
        return None
    loss = engine.run_step(ex.network(tuple(layers)), ex.x, ex.y, ex.learning_rate or 0, alg=WORKED).loss
    return (
        ("an intermediate rounded to the printed digits and carried on: the new weights as printed", loss)
        if agrees(e.printed, loss)
        else None
    )
