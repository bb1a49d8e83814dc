"""Errata explained: for each printed number of a network example that is off by more than a unit
in its last digit and that the spec file does not explain, try the slips texts make and name the
one that reproduces the printed number, or say that none does.

Contract: a checked example and its replayed derivation in; each unexplained
:class:`~derivations.derivation.Erratum` gets the slip found (``"found: ..."`` with the value the
slip gives) or stays ``"unexplained"`` with a note naming the slips tried. Every value tried is computed by the
engine (a variant of its step where the slip changes the computation), laid out by
:mod:`derivations.layout`; the match is :func:`~derivations.derivation.agrees`.

The slips, in the order tried: a flipped sign; a missing or extra factor 2 (the 1/2 of the
loss); a transposed matrix; the learning rate applied twice or not at all; biases updated or not;
hidden sensitivities computed with the already updated weights of the next layer; an
intermediate rounded to the printed digits and carried on; a loss one step early or late.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derivations import engine
from derivations.derivation import Derivation, agrees
from derivations.iterate import iterate
from derivations.layout import WORKED, record, resolve_printed
from derivations.numbers import number_text
from derivations.spec import WorkedExample

TRIED = (
    "a flipped sign",
    "a factor 2",
    "a transposed matrix",
    "the learning rate twice or not at all",
    "biases updated or not",
    "hidden sensitivities with the updated weights",
    "printed intermediates carried on",
    "a step early or late",
)


MIN_DIGITS = 3
"""Slips are named only for printed numbers of at least this many significant digits."""


def _significant(printed: str) -> int:
    """Significant digits as printed ("0.500": 3, "0.0625": 3, "14.0": 3, "0.3": 1)."""
    mantissa = printed.lower().lstrip("+-").split("e")[0].replace(".", "").lstrip("0")
    return max(len(mantissa), 1)


def _number(value) -> str:
    return number_text(sp.sympify(value))[0]


def updated_next_step(ex: WorkedExample, layers, changes=None, alg: engine.Algebra = engine.SYMPY) -> engine.Pass:
    """The slip of computing layer k's sensitivities with the already updated ``W^{k+1}`` (one
    example, plain gradient descent): the engine's formulas, layer by layer from the output, each
    layer updated before the sensitivity is carried back through it."""
    net, x, y = ex.network(layers), ex.x[0], ex.y[0]
    ns, outputs = engine.forward(alg, net, x)
    loss, s_out = engine.loss_terms(alg, net.loss, net.activations[-1], ns[-1], y, outputs[-1])
    depth, result = len(net.layers), engine.Pass(loss=loss)
    s, new_layers = {depth: s_out}, list(net.layers)
    for k in range(depth, 0, -1):
        W, b = net.layers[k - 1]
        kept = ex.fixed[k - 1] if ex.fixed else ()
        dW = engine.weight_gradient(alg, s[k], outputs[k - 1])
        new_W = (
            W
            if "W" in kept
            else [
                [engine.update(alg, w, ex.learning_rate, g)[0] for w, g in zip(row, grow, strict=True)]
                for row, grow in zip(W, dW, strict=True)
            ]
        )
        new_b = (
            b
            if b is None or "b" in kept
            else [engine.update(alg, v, ex.learning_rate, g)[0] for v, g in zip(b, s[k], strict=True)]
        )
        new_layers[k - 1] = (new_W, new_b)
        result.dW[k], result.db[k] = dW, None if b is None else list(s[k])
        if k > 1:
            result.g[k - 1] = [alg.settle(engine.upstream(alg, new_W, s[k]))]
            s[k - 1] = alg.settle(engine.sensitivity(alg, net.activations[k - 2], ns[k - 2], result.g[k - 1][0]))
    result.n = {k: [ns[k - 1]] for k in range(1, depth + 1)}
    result.a = {k: [outputs[k]] for k in range(depth + 1)}
    result.s = {k: [s[k]] for k in s}
    result.new_layers, result.changes = tuple(new_layers), None
    return result


def _variant_values(ex: WorkedExample, result: engine.Pass) -> dict:
    d = Derivation(ex.name, ex.title)
    record(d, ex, result)
    return d.values


def _losses_after(ex: WorkedExample, rule, steps: set) -> dict:
    """{t: the loss after step t} for the steps asked, under the step ``rule``."""
    if not steps:
        return {}
    options = {"rule": rule} if rule else {}
    losses, _ = iterate(
        ex, tuple(zip(ex.weights, ex.biases, strict=True)), max(steps), start=0, keep=lambda t: t in steps, **options
    )
    return losses


def _candidates(ex: WorkedExample, d: Derivation, erratum) -> list:
    """(slip, value) pairs to try for one erratum, in order."""
    step, index, exact = erratum.step, erratum.index, erratum.exact
    values, shapes = d.values, {s.name: s.shape for s in d.steps}
    out = [
        ("a flipped sign", -exact),
        ("a missing factor 2 (the 1/2 of the loss taken twice)", exact / 2),
        ("an extra factor 2 (the 1/2 of the loss left out)", 2 * exact),
    ]
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
    return out


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
    variants = {}
    losses_asked = {int(e.step.rsplit(" ", 1)[1]) for e in open_errata if e.step.startswith("L after step ")}
    plain = replace(ex, printed={}, steps=1)
    one_example = len(ex.x) == 1 and ex.momentum is None and ex.l2 is None and ex.learning_rate is not None
    batch = ex.update == "batch"  # the variant replays below are of batch steps; online ones get the value slips only
    if any(ex.biases) and batch:
        toggled = tuple(frozenset(names ^ {"b"}) for names in (ex.fixed or (frozenset(),) * len(ex.weights)))
        label = (
            "biases updated (the rule keeps them)"
            if any("b" in names for names in (ex.fixed or ()))
            else "biases not updated"
        )
        variants[label] = replace(plain, fixed=toggled)
    for e in open_errata:
        if _significant(e.printed) < MIN_DIGITS:
            d.notes.append(
                f"{e.where}: {e.step}[{e.index}] printed {e.printed}: too few digits ({_significant(e.printed)}) "
                f"to tell a slip from a coincidence; slips are named for numbers of at least {MIN_DIGITS} "
                "significant digits"
            )
            continue
        found = None
        for slip, value in _candidates(ex, d, e):
            if agrees(e.printed, value):
                found = (slip, value)
                break
        if found is None:
            for label, variant in variants.items():
                found = _try(e, label, variant, losses_asked, engine_step=None) or found
                if found:
                    break
        if found is None and one_example:
            found = _try(
                e,
                "hidden sensitivities computed with the already updated weights of the next layer",
                plain,
                losses_asked,
                engine_step=updated_next_step,
            )
        if found is None and e.step == "L after step 1" and batch:
            found = _rounded_carried_on(ex, d, e)
        if found is None and e.step.startswith("L after step ") and batch:
            t = int(e.step.rsplit(" ", 1)[1])
            near = _losses_after(plain, None, {t - 1, t + 1} - {0})
            for other, value in sorted(near.items()):
                if agrees(e.printed, value):
                    found = (f"one step {'early' if other < t else 'late'}: the loss after step {other}", value)
                    break
        if found:
            e.slip = f"found: {found[0]} gives {_number(found[1])}"
        else:
            d.notes.append(
                f"{e.where}: {e.step}[{e.index}] printed {e.printed}: none of the slips tried reproduces it ("
                + ", ".join(TRIED)
                + ")"
            )


def _try(e, label: str, variant: WorkedExample, losses_asked: set, engine_step) -> tuple | None:
    """The erratum's step under a variant of the computation, or None where it does not reproduce the number."""
    if e.step.startswith("L after step "):
        t = int(e.step.rsplit(" ", 1)[1])
        rule = (lambda ex, layers, changes: engine_step(ex, layers, changes)) if engine_step else None
        value = _losses_after(variant, rule, {t}).get(t)
    else:
        result = (
            engine_step(variant, tuple(zip(variant.weights, variant.biases, strict=True)), None, WORKED)
            if engine_step
            else engine.run_step(
                variant.network(), variant.x, variant.y, variant.learning_rate, alg=WORKED, fixed=variant.fixed
            )
        )
        values = _variant_values(variant, result)
        value = values[e.step][e.index] if e.step in values and e.index < len(values[e.step]) else None
    return (label, value) if value is not None and agrees(e.printed, value) else None


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
