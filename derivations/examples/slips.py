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
intermediate rounded to the printed digits and carried on; a loss one step early or late; and on a number of
the first step, the slips of its lines (:mod:`derivations.examples.step_slips`): a printed intermediate's rounding
carried into the lines after it, the other loss's output sensitivity, f'(n) applied twice or where the loss is
paired with its activation, a target's sign flipped, a term left out of a net input (each such variant's step
paid for from the search's budget). The variants are replayed as the example is (momentum, L2, fixed
parameters, online steps). An erratum's step is read by its key (:class:`~derivations.model.quantity.Key`).
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derivations.examples.layout import WORKED, resolve_printed
from derivations.examples.spec import WorkedExample
from derivations.examples.step_slips import FAMILIES, carried_printed, step_slips
from derivations.examples.variants import Replays, loss_after_step, reproduce, updated_next_step, variants
from derivations.model import engine
from derivations.model.cost import Budget
from derivations.model.derivation import Derivation, agrees
from derivations.model.numbers import number_text
from derivations.model.quantity import Key

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
    *FAMILIES,
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
    key, index, exact = erratum.key, erratum.index, erratum.exact
    out = [
        ("a flipped sign", -exact),
        ("a missing factor 2 (the 1/2 of the loss taken twice)", exact / 2),
        ("an extra factor 2 (the 1/2 of the loss left out)", 2 * exact),
    ]
    step = d.step(key) if key is not None else None
    if step is None:
        return out
    examples = len(ex.x) if ex.update == "batch" else 1
    loss = key == Key("L")
    if examples > 1 and (loss or key.quantity.startswith("dL/d")):
        penalty = _penalty(ex, key, index)  # the L2 term is added once, to the sum as to the mean
        out.append(
            (
                f"the {examples} examples' {'losses' if loss else 'gradients'} summed, not averaged",
                examples * (exact - penalty) + penalty,
            )
        )
    if len(step.shape) == 2 and step.shape[0] == step.shape[1]:
        rows, cols = step.shape
        out.append(("a transposed matrix", step.values[(index % cols) * cols + index // cols]))
    if key.stage == "new" and key.t == 1 and ex.learning_rate is not None:
        gradient = d.step(Key(f"dL/d{key.quantity}", key.layer))
        old = _old_value(ex, key.quantity, key.layer, index)
        if gradient is not None and old is not None:
            eta, g = ex.learning_rate, gradient.values[index]
            out += [
                ("the learning rate applied twice", old - eta * eta * g),
                ("the learning rate not applied", old - g),
            ]
            if examples > 1:
                penalty = _penalty(ex, gradient.key, index)
                summed = examples * (g - penalty) + penalty
                out.append((f"a step on the {examples} examples' summed gradients, not their mean", old - eta * summed))
    return out


def _penalty(ex: WorkedExample, key: Key, index: int):
    """The L2 term in entry ``index`` of the step ``key`` (``L``: l2/2 sum w^2; ``dL/dW^k``: l2 w), 0 without L2."""
    if ex.l2 is None:
        return 0
    if key == Key("L"):
        return ex.l2 / 2 * sum(w**2 for W in ex.weights for row in W for w in row)
    if key.quantity == "dL/dW":
        return ex.l2 * _old_value(ex, "W", key.layer, index)
    return 0


def _old_value(ex: WorkedExample, kind: str, k: int, index: int):
    """Entry ``index`` of parameter ``kind`` (``W``, ``b``, ``theta``) of layer ``k`` before the step, in the file's
    layout."""
    W, b = ex.weights[k - 1], ex.biases[k - 1]
    if kind == "W":
        return ex.convention.matrix(W)[0][index]
    if kind in ("b", "theta") and b is not None:
        return b[index] if kind == "b" else -b[index]
    return None


def explain(ex: WorkedExample, d: Derivation) -> None:
    """Give each unexplained erratum of ``d`` the first slip that reproduces its printed number."""
    open_errata = [e for e in d.errata if e.slip == "unexplained"]
    if not open_errata:
        return
    losses_asked = {e.key.t for e in open_errata if loss_after_step(e.key)}
    replays = Replays(losses_asked | {t + 1 for t in losses_asked} | {t - 1 for t in losses_asked} - {0}, Budget())
    plain = replace(ex, printed={}, steps=1)
    one_example = len(ex.x) == 1 and ex.momentum is None and ex.l2 is None and ex.learning_rate is not None
    batch = ex.update == "batch"  # losses after N steps are replayed for batch steps; online passes get the rest
    changed, first, lines = variants(plain), None, None  # the first step's lines' slips, made when first needed
    tried = [slip for slip in TRIED if ex.learning_rate is not None or slip not in UPDATE_SLIPS]
    for e in open_errata:
        key, later = e.key, False  # later: a step written out after the first (its t), the final (None)
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
        size = len(step.values) if (step := d.step(key) if key is not None else None) else 0
        if found is None:
            for label, variant in changed.items():
                if (loss_after_step(key) or later is not False) and variant.update != "batch":
                    continue  # a loss after N steps, a later step, the final parameters: replayed for batch steps
                full = variant if later is False else replace(variant, steps=ex.steps)  # replays the steps
                found = reproduce(e, label, full, replays, None, size, later) or found
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
        first_step = key is not None and key.t == 1 and key.stage in ("", "new")
        if found is None and first_step:
            first, lines = (first, lines) if lines is not None else _first_step_slips(ex, d)
            for label, (family, engine_step) in lines.items():
                found = reproduce(e, label, first, replays, engine_step, size, family=family)
                if found:
                    break
        if found is None and loss_after_step(key) and key.t == 1 and batch:
            found = _rounded_carried_on(ex, d, e)
        if found is None and loss_after_step(key) and batch:
            near = replays.losses("a step early or late", plain)
            for other, value in sorted((s, v) for s, v in near.items() if s in (key.t - 1, key.t + 1)):
                if agrees(e.printed, value):
                    found = (f"one step {'early' if other < key.t else 'late'}: the loss after step {other}", value)
                    break
        if found:
            e.slip = f"found: {found[0]} gives {_number(found[1])}"
        else:
            d.notes.append(
                f"{e.where}: {e.step}[{e.index}] printed {e.printed}: none of the slips tried reproduces it ("
                + ", ".join(slip for slip in tried if first_step or slip not in FAMILIES)
                + ")"
            )
    if ex.learning_rate is None and any(e.slip == "unexplained" for e in open_errata):
        d.notes.append(
            "no learning_rate, so no update: the slips of an update (" + ", ".join(UPDATE_SLIPS) + ") were not tried"
        )
    limit = replays.budget.limit
    for label, units, steps in replays.skipped:
        d.notes.append(
            f"slip not tried: {label} (replaying {steps:,} steps costs about {units:,} units; the slip search spends "
            f"at most {limit:,}): give fewer steps to try it"
            if steps > 1
            else f"slip not tried: {label} (each of its variants replays the first step, about {units:,} units; the "
            f"slip search spends at most {limit:,}): some or all of its variants left untried"
        )


def _first_step_slips(ex: WorkedExample, d: Derivation) -> tuple[WorkedExample, dict]:
    """The example's first step (an online run's first example's) and the slips of its lines
    (:func:`~derivations.examples.step_slips.step_slips`, the printed intermediates a rounding carries on read
    from ``d``)."""
    first = replace(ex, steps=1, x=ex.x[:1], y=ex.y[:1]) if ex.update == "online" else replace(ex, steps=1)
    return first, step_slips(first, *carried_printed(ex, d))


def _rounded_carried_on(ex: WorkedExample, d: Derivation, e) -> tuple | None:
    """The loss after step 1 from the new parameters as the text printed them (rounded), the rest exact."""
    printed = resolve_printed(ex, d)
    layers, shown_any = [], False
    for k, (W, b) in enumerate(zip(ex.weights, ex.biases, strict=True), start=1):
        new = d.step(Key("W", k, stage="new"))
        if new is None:
            layers.append((W, b))
            continue
        flat = list(new.values)
        for i, p in enumerate(printed.get(new.name, ())):
            flat[p.index if p.index is not None else i] = sp.Rational(p.value)
        shown_any = shown_any or new.name in printed
        rows, cols = ex.convention.weight_shape(len(W), len(W[0]))
        shown = [flat[r * cols : (r + 1) * cols] for r in range(rows)]
        new_b = d.step(Key("b", k, stage="new"))
        layers.append(
            (
                ex.convention.read(shown),
                list(new_b.values) if new_b is not None else b,
            )
        )
    if not shown_any:
        return None
    loss = engine.run_step(ex.network(tuple(layers)), ex.x, ex.y, ex.learning_rate or 0, alg=WORKED).loss
    return (
        ("an intermediate rounded to the printed digits and carried on: the new weights as printed", loss)
        if agrees(e.printed, loss)
        else None
    )
