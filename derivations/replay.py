"""A worked example replayed: the :class:`~derivations.spec.WorkedExample` of a spec file run
through :mod:`derivations.engine` (forward pass, loss, sensitivities, gradients, one update, then
``steps - 1`` more: :mod:`derivations.iterate`), every quantity recorded as a step of a :class:`~derivations.derivation.Derivation`
in the file's layout, the textbook lines attached and the printed numbers compared.

Contract: a checked example in, a derivation out; every number comes from the engine (exact
sympy numbers for the first step, closed forms carried as 50-digit decimals after it); nothing
here computes a network quantity itself.

Example:
    >>> d = from_spec({"activations": ["relu", "identity"], "loss": "sse", "learning_rate": "0.1",
    ...                "x": [1, 1], "y": [0], "layers": [{"W": [[1, 1], [1, 1]], "b": [0, 0]}, {"W": [[1], [1]], "b": [0]}],
    ...                "printed": {"s^1": ["8", "8"]}})
    >>> [str(v) for v in d.values["W^1 new"]], d.errata
    (['1/5', '1/5', '1/5', '1/5'], [])
"""

from __future__ import annotations

import re

import sympy as sp

from derivations import engine, textbook
from derivations.derivation import Derivation, Printed
from derivations.iterate import iterate, shown
from derivations.spec import OUTPUT, WorkedExample, read_spec


def _compact(values: list) -> list:
    """Values kept exact while their closed form is short (``1/(exp(-13/25) + 1)``), as 50-digit
    decimals once it is long: a deep sigmoid network's exact forms nest exponentials layer
    after layer, and printing them would evaluate each from scratch (minutes for 3 layers)."""
    return [v if v.is_Rational or sp.count_ops(v) <= 40 else sp.N(v, 50) for v in map(sp.sympify, values)]


WORKED = engine.Algebra(settle=_compact)
"""The engine on exact sympy numbers, long closed forms settled to 50-digit decimals."""


def _transpose(m):
    return [list(col) for col in zip(*m, strict=True)]


def _shown(per_example: list, column: bool) -> tuple[list, tuple]:
    """Values of one step for the whole batch, flattened in the file's layout, and their shape:
    a vector for one example, else (batch, units) in the row convention, (units, batch) in the column one."""
    if len(per_example) == 1:
        return list(per_example[0]), ()
    rows = _transpose(per_example) if column else per_example
    return [v for row in rows for v in row], (len(rows), len(rows[0]))


def _matrix(rows, column: bool) -> tuple[list, tuple]:
    shown = _transpose(rows) if column else rows
    return [v for row in shown for v in row], (len(shown), len(shown[0]))


def record(d: Derivation, ex: WorkedExample, result: engine.Pass) -> None:
    """Every quantity of one step (an :class:`engine.Pass`) as a step of ``d``, in the file's layout."""
    column, batch, depth = ex.convention == "column", len(ex.x), len(ex.weights)

    def add(name, formula, per_example):
        values, shape = _shown(per_example, column)
        d.add(name, formula, values, shape)

    add("a^0", "x", result.a[0])
    for k in range(1, depth + 1):
        biased = ex.biases[k - 1] is not None
        if biased and ex.thresholds and ex.thresholds[k - 1]:
            add(f"n^{k}", f"W^{k} a^{k - 1} - theta^{k}" if column else f"a^{k - 1} W^{k} - theta^{k}", result.n[k])
            add(f"a^{k}", f"{ex.activations[k - 1]}(n^{k})", result.a[k])
            continue
        add(f"n^{k}", (f"W^{k} a^{k - 1}" + (f" + b^{k}" if biased else "")) if column
            else ((f"b^{k} + " if biased else "") + f"a^{k - 1} W^{k}"), result.n[k])
        add(f"a^{k}", f"{ex.activations[k - 1]}(n^{k})", result.a[k])
    over = f", mean over {batch} examples" if batch > 1 else ""
    own = ex.loss == OUTPUT
    penalty = f" + l2/2 sum_k |W^k|^2 (l2 = {ex.l2})" if ex.l2 is not None else ""
    d.add("L", (f"sum_j a^{depth}_j (loss = output)" if own else f"{ex.loss}(y, a^{depth})") + over + penalty, [result.loss], ())
    add(f"s^{depth}", (f"f'(n^{depth})" if own else f"dL/da^{depth} * f'(n^{depth})") + (f" / {batch}" if batch > 1 else ""), result.s[depth])
    deltas = any(key.startswith("delta^") for key in ex.printed)  # the classic delta = -dL/dn, where a text prints it

    def delta(k):
        if deltas:
            add(f"delta^{k}", f"-s^{k} (the classic delta = -dL/dn^{k})", [[-v for v in row] for row in result.s[k]])

    delta(depth)
    for k in range(depth - 1, 0, -1):
        add(f"dL/da^{k}", f"(W^{k + 1})^T s^{k + 1}" if column else f"s^{k + 1} (W^{k + 1})^T", result.g[k])
        add(f"s^{k}", f"dL/da^{k} * f'(n^{k})  (seed 003 eq. 33)", result.s[k])
        delta(k)
    if 0 in result.g:  # the gradient with respect to the inputs
        add("dL/da^0", "(W^1)^T s^1" if column else "s^1 (W^1)^T", result.g[0])
    over = " summed over the batch" if batch > 1 else ""
    for k in range(depth, 0, -1):
        grad, shape = _matrix(result.dW[k], column)
        d.add(f"dL/dW^{k}", (f"s^{k} (a^{k - 1})^T" if column else f"(a^{k - 1})^T s^{k}") + over
              + (f" + l2 W^{k}" if ex.l2 is not None else ""), grad, shape)
        kept = ("W", "b") if ex.learning_rate is None else (ex.fixed[k - 1] if ex.fixed else ())
        if ex.thresholds and ex.thresholds[k - 1]:  # thresholds: b = -theta
            d.add(f"dL/dtheta^{k}", f"-s^{k}" + over, [-v for v in result.db[k]])
            if "W" not in kept:
                new, shape = _matrix(result.new_layers[k - 1][0], column)
                d.add(f"W^{k} new", f"W^{k} - eta dL/dW^{k}", new, shape)
            if "b" not in kept:
                d.add(f"theta^{k} new", f"theta^{k} - eta dL/dtheta^{k}", [-v for v in result.new_layers[k - 1][1]])
            continue
        if result.db[k] is not None:
            d.add(f"dL/db^{k}", f"s^{k}" + over, result.db[k])
        if "W" not in kept:
            new, shape = _matrix(result.new_layers[k - 1][0], column)
            d.add(f"W^{k} new", f"W^{k} - eta dL/dW^{k}", new, shape)
        if result.db[k] is not None and "b" not in kept:
            d.add(f"b^{k} new", f"b^{k} - eta dL/db^{k}", result.new_layers[k - 1][1])


def _kept_notes(ex: WorkedExample) -> list:
    """What is not updated: the layers without biases and the fixed parameters."""
    notes = []
    if ex.momentum is not None:
        notes.append(f"momentum {ex.momentum}: Delta w(t) = -eta dL/dw + {ex.momentum} Delta w(t - 1), w + Delta w; "
                     "the first step has no earlier change")
    bare = [str(k) for k, b in enumerate(ex.biases, start=1) if b is None]
    if bare:
        notes.append(f"layer{'s' if len(bare) > 1 else ''} {', '.join(bare)} ha{'ve' if len(bare) > 1 else 's'} no biases")
    kept = [f"{name}^{k}" for k, names in enumerate(ex.fixed, start=1) for name in ("W", "b") if name in names]
    if kept:
        notes.append(f"fixed (kept, not updated): {', '.join(kept)}")
    return notes


def run(ex: WorkedExample) -> Derivation:
    """Forward pass, loss, sensitivities (seed 003 eqs. 24, 33), gradients and one update,
    exactly, for one example or a batch (mean loss); then, with ``steps = N``, the loss after
    each further full-batch step and the final weights. Matrices are shown in the file's
    convention; printed numbers are compared."""
    d = Derivation(ex.name, ex.title, notes=list(ex.notes))
    inputs = ex.loss == OUTPUT or any(key.startswith("dL/da^0") for key in ex.printed)
    eta = sp.Integer(0) if ex.learning_rate is None else ex.learning_rate  # no learning rate: no update shown
    result = engine.run_step(ex.network(), ex.x, ex.y, eta, alg=WORKED, fixed=ex.fixed, inputs=inputs,
                             momentum=ex.momentum, l2=ex.l2)
    record(d, ex, result)
    d.notes += _kept_notes(ex)
    textbook.annotate(d, ex)
    column = ex.convention == "column"
    if ex.steps > 1:
        asked = {key for key in ex.printed if key.startswith("L after step ")}
        keep = lambda t: shown(t, ex.steps) or f"L after step {t}" in asked  # noqa: E731
        losses, layers = iterate(ex, result.new_layers, ex.steps, keep=keep, changes=result.changes)
        for t, loss in losses.items():  # the first ten, every power of ten, the last, and those printed
            d.add(f"L after step {t}", f"{ex.loss if ex.loss != OUTPUT else 'L'} with the weights of step {t}", [loss])
        for k, (W, b) in enumerate(layers, start=1):
            values, shape = _matrix(W, column)
            d.add(f"W^{k} after {ex.steps} steps", f"W^{k} after {ex.steps} gradient steps", values, shape)
            if b is not None and ex.thresholds and ex.thresholds[k - 1]:
                d.add(f"theta^{k} after {ex.steps} steps", f"theta^{k} after {ex.steps} gradient steps", [-v for v in b])
            elif b is not None:
                d.add(f"b^{k} after {ex.steps} steps", f"b^{k} after {ex.steps} gradient steps", b)
    d.compare(resolve_printed(ex, d))
    return d


_ENTRY = re.compile(r"(?P<name>dL/d(?:theta|[a-z])|theta|delta|[a-z])\^(?P<k>\d+)_(?:\{(?P<r>\d+),(?P<c>\d+)\}|(?P<j>\d+))(?P<new> new)?")
_STEPS = {("w", True): "W^{k} new", ("dL/dw", False): "dL/dW^{k}", ("b", True): "b^{k} new", ("dL/db", False): "dL/db^{k}",
          ("a", False): "a^{k}", ("n", False): "n^{k}", ("s", False): "s^{k}", ("dL/da", False): "dL/da^{k}",
          ("theta", True): "theta^{k} new", ("dL/dtheta", False): "dL/dtheta^{k}", ("delta", False): "delta^{k}"}


def resolve_printed(ex: WorkedExample, d: Derivation) -> dict:
    """The printed numbers by step: a key naming a whole step (``"W^2 new"``, ``"L after step 1"``)
    as it is, a key naming one entry as the derivation writes it (``"a^1_2"``, ``"s^2_1"``,
    ``"dL/dw^2_{1,2}"``, ``"w^2_{1,2} new"``, ``"b^1_2 new"``: row r, column c of W^k as the file
    writes it) as that entry of its step; a ``ValueError`` naming the key otherwise."""
    values, shapes = d.values, {step.name: step.shape for step in d.steps}
    resolved: dict = {}
    for key, entries in ex.printed.items():
        if key in values:
            if key in resolved:
                raise ValueError(f"printed {key!r} is given whole and by its entries; give one or the other")
            resolved[key] = entries
            continue
        match = _ENTRY.fullmatch(key)
        step = match and _STEPS.get((match["name"], bool(match["new"])), "").format(k=match["k"])
        if not step or step not in values:
            raise ValueError(f"printed step {key!r} is not a step of this example; the steps are {', '.join(values)} "
                             "(or one entry of them, as a^1_2, s^2_1, dL/dw^2_{1,2}, w^2_{1,2} new, b^1_2 new, theta^1_2 new)")
        if len(ex.x) != 1:
            raise ValueError(f"printed {key!r} names one entry; single entries are for one example, this is a batch of {len(ex.x)}")
        matrix = match["r"] is not None
        if matrix != step.lower().startswith(("w^", "dl/dw^")) or len(entries) != 1:
            raise ValueError(f"printed {key!r} must be one number of the {'matrix' if matrix else 'vector'} {step}; "
                             "write w^k_{r,c} for a weight, a^k_j for an entry of a vector")
        rows, cols = shapes[step] if shapes[step] else (1, len(values[step]))
        r, c = (int(match["r"]), int(match["c"])) if matrix else (1, int(match["j"]))
        if not (1 <= r <= rows and 1 <= c <= cols):
            raise ValueError(f"printed {key!r}: {step} has {rows} rows and {cols} columns in the file's layout" if matrix
                             else f"printed {key!r}: {step} has {cols} entries")
        p = entries[0]
        resolved.setdefault(step, ())
        if resolved[step] and resolved[step][0].index is None:
            raise ValueError(f"printed {step!r} is given whole and by its entries; give one or the other")
        resolved[step] += (Printed(p.value, p.where, p.slip, (r - 1) * cols + (c - 1)),)
    return resolved


def from_spec(source, *, name: str | None = None, steps: int | None = None) -> Derivation:
    """The derivation of a spec (path to ``.toml``/``.json``, or a dict): :func:`read_spec` then :func:`run`."""
    return run(read_spec(source, name=name, steps=steps))
