"""A step's quantities in the spec file's layout: an :class:`~derivations.engine.Pass` recorded as
the steps of a :class:`~derivations.derivation.Derivation` (vectors, matrices in the file's
convention, a batch as (batch, units) or (units, batch)), and the printed keys of a spec (whole
steps or single entries such as ``w^2_{1,2} new``) resolved to those steps.

Contract: engine results and a checked example in, named steps out; used by the replay and by
the slips tried on its errata alike, so both name and lay out every value the same way.

Example:
    >>> from derivations.spec import read_spec
    >>> from derivations.derivation import Derivation
    >>> ex = read_spec({"activations": ["identity"], "loss": "half_sse", "learning_rate": "0.5", "x": ["2"], "y": ["0"],
    ...                 "layers": [{"W": [["1"]], "b": ["0"]}]})
    >>> d = Derivation("demo", "demo"); record(d, ex, engine.run_step(ex.network(), ex.x, ex.y, ex.learning_rate))
    >>> d.values["W^1 new"], d.values["b^1 new"]
    ([-1], [-1])
"""

from __future__ import annotations

import re

import sympy as sp

from derivations import engine
from derivations.derivation import Derivation, Printed
from derivations.spec import OUTPUT, WorkedExample


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


def matrix(rows, column: bool) -> tuple[list, tuple]:
    shown = _transpose(rows) if column else rows
    return [v for row in shown for v in row], (len(shown), len(shown[0]))


LOSS_FORMULAS = {
    "sse": "sum_j (y_j - a^{L}_j)^2",
    "half_sse": "1/2 sum_j (y_j - a^{L}_j)^2",
    "mse": "1/{d} sum_j (y_j - a^{L}_j)^2",
    "binary_cross_entropy": "-sum_j (y_j log(a^{L}_j) + (1 - y_j) log(1 - a^{L}_j))",
    "cross_entropy": "-sum_j y_j log(a^{L}_j)",
    "sigmoid_binary_cross_entropy": "-sum_j (y_j log(sigmoid(a^{L}_j)) + (1 - y_j) log(1 - sigmoid(a^{L}_j)))",
    "softmax_cross_entropy": "-sum_j y_j log(softmax(a^{L})_j)",
}
"""Each registry loss by its formula, as a textbook writes it (a^L the output, d its units)."""


def loss_formula(name: str, depth: int, units: int) -> str:
    """The loss ``name`` of a network of ``depth`` layers and ``units`` outputs by its formula
    (``1/2 sum_j (y_j - a^2_j)^2``); a loss registered later by its name (``huber(y, a^2)``)."""
    form = LOSS_FORMULAS.get(name)
    return form.replace("{L}", str(depth)).replace("{d}", str(units)) if form else f"{name}(y, a^{depth})"


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
        add(
            f"n^{k}",
            (f"W^{k} a^{k - 1}" + (f" + b^{k}" if biased else ""))
            if column
            else ((f"b^{k} + " if biased else "") + f"a^{k - 1} W^{k}"),
            result.n[k],
        )
        add(f"a^{k}", f"{ex.activations[k - 1]}(n^{k})", result.a[k])
    over = f", mean over {batch} examples" if batch > 1 else ""
    own = ex.loss == OUTPUT
    penalty = f" + l2/2 sum_k |W^k|^2 (l2 = {ex.l2})" if ex.l2 is not None else ""
    d.add(
        "L",
        (f"sum_j a^{depth}_j (loss = output)" if own else loss_formula(ex.loss, depth, len(ex.weights[-1][0])))
        + over
        + penalty,
        [result.loss],
        (),
    )
    add(
        f"s^{depth}",
        (f"f'(n^{depth})" if own else f"dL/da^{depth} * f'(n^{depth})") + (f" / {batch}" if batch > 1 else ""),
        result.s[depth],
    )
    deltas = any(key.startswith("delta^") for key in ex.printed)  # the classic delta = -dL/dn, where a text prints it

    def delta(k):
        if deltas:
            add(f"delta^{k}", f"-s^{k} (the classic delta = -dL/dn^{k})", [[-v for v in row] for row in result.s[k]])

    delta(depth)
    for k in range(depth - 1, 0, -1):
        add(f"dL/da^{k}", f"(W^{k + 1})^T s^{k + 1}" if column else f"s^{k + 1} (W^{k + 1})^T", result.g[k])
        add(f"s^{k}", f"dL/da^{k} * f'(n^{k})  (the sensitivity recursion)", result.s[k])
        delta(k)
    if 0 in result.g:  # the gradient with respect to the inputs
        add("dL/da^0", "(W^1)^T s^1" if column else "s^1 (W^1)^T", result.g[0])
    over = " summed over the batch" if batch > 1 else ""
    for k in range(depth, 0, -1):
        grad, shape = matrix(result.dW[k], column)
        d.add(
            f"dL/dW^{k}",
            (f"s^{k} (a^{k - 1})^T" if column else f"(a^{k - 1})^T s^{k}")
            + over
            + (f" + l2 W^{k}" if ex.l2 is not None else ""),
            grad,
            shape,
        )
        kept = ("W", "b") if ex.learning_rate is None else (ex.fixed[k - 1] if ex.fixed else ())
        if ex.thresholds and ex.thresholds[k - 1]:  # thresholds: b = -theta
            d.add(f"dL/dtheta^{k}", f"-s^{k}" + over, [-v for v in result.db[k]])
            if "W" not in kept:
                new, shape = matrix(result.new_layers[k - 1][0], column)
                d.add(f"W^{k} new", f"W^{k} - eta dL/dW^{k}", new, shape)
            if "b" not in kept:
                d.add(f"theta^{k} new", f"theta^{k} - eta dL/dtheta^{k}", [-v for v in result.new_layers[k - 1][1]])
            continue
        if result.db[k] is not None:
            d.add(f"dL/db^{k}", f"s^{k}" + over, result.db[k])
        if "W" not in kept:
            new, shape = matrix(result.new_layers[k - 1][0], column)
            d.add(f"W^{k} new", f"W^{k} - eta dL/dW^{k}", new, shape)
        if result.db[k] is not None and "b" not in kept:
            d.add(f"b^{k} new", f"b^{k} - eta dL/db^{k}", result.new_layers[k - 1][1])


_ENTRY = re.compile(
    r"(?P<name>dL/d(?:theta|[a-z])|theta|delta|[a-z])\^(?P<k>\d+)_"
    r"(?:\{(?P<r>\d+),(?P<c>\d+)\}|(?P<j>\d+))(?P<new> new)?"
)
_STEPS = {
    ("w", True): "W^{k} new",
    ("dL/dw", False): "dL/dW^{k}",
    ("b", True): "b^{k} new",
    ("dL/db", False): "dL/db^{k}",
    ("a", False): "a^{k}",
    ("n", False): "n^{k}",
    ("s", False): "s^{k}",
    ("dL/da", False): "dL/da^{k}",
    ("theta", True): "theta^{k} new",
    ("dL/dtheta", False): "dL/dtheta^{k}",
    ("delta", False): "delta^{k}",
}


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
            raise ValueError(
                f"printed step {key!r} is not a step of this example; the steps are {', '.join(values)} "
                "(or one entry of them, as a^1_2, s^2_1, dL/dw^2_{1,2}, w^2_{1,2} new, b^1_2 new, theta^1_2 new)"
            )
        if len(ex.x) != 1 and ex.update != "online":  # online: the steps shown in full are the first example's
            raise ValueError(
                f"printed {key!r} names one entry; single entries are for one example, this is a batch of {len(ex.x)}"
            )
        matrix = match["r"] is not None
        if matrix != step.lower().startswith(("w^", "dl/dw^")) or len(entries) != 1:
            raise ValueError(
                f"printed {key!r} must be one number of the {'matrix' if matrix else 'vector'} {step}; "
                "write w^k_{r,c} for a weight, a^k_j for an entry of a vector"
            )
        rows, cols = shapes[step] if shapes[step] else (1, len(values[step]))
        r, c = (int(match["r"]), int(match["c"])) if matrix else (1, int(match["j"]))
        if not (1 <= r <= rows and 1 <= c <= cols):
            raise ValueError(
                f"printed {key!r}: {step} has {rows} rows and {cols} columns in the file's layout"
                if matrix
                else f"printed {key!r}: {step} has {cols} entries"
            )
        p = entries[0]
        resolved.setdefault(step, ())
        if resolved[step] and resolved[step][0].index is None:
            raise ValueError(f"printed {step!r} is given whole and by its entries; give one or the other")
        resolved[step] += (Printed(p.value, p.where, p.slip, (r - 1) * cols + (c - 1)),)
    return resolved
