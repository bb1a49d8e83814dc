"""A worked example replayed: the :class:`~derivations.spec.WorkedExample` of a spec file run
through :mod:`derivations.engine` (forward pass, loss, sensitivities, gradients, one update, then
``steps`` more), every quantity recorded as a step of a :class:`~derivations.derivation.Derivation`
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

import sympy as sp

from derivations import engine, textbook
from derivations.derivation import Derivation
from derivations.spec import WorkedExample, read_spec
from funcmlp.activations import get_activation
from funcmlp.losses import get_loss


def _compact(values: list) -> list:
    """Values kept exact while their closed form is short (``1/(exp(-13/25) + 1)``), as 50-digit
    decimals once it is long: a deep sigmoid network's exact forms nest exponentials layer
    after layer, and printing them would evaluate each from scratch (minutes for 3 layers)."""
    return [v if v.is_Rational or sp.count_ops(v) <= 40 else sp.N(v, 50) for v in map(sp.sympify, values)]


WORKED = engine.Algebra(settle=_compact)
"""The engine on exact sympy numbers, long closed forms settled to 50-digit decimals."""


def _settle(value):
    """Exact rationals stay exact; closed forms become 50-digit decimals between steps (nested
    exponentials would otherwise grow with every step)."""
    return value if value.is_Rational else sp.N(value, 50)


def network(ex: WorkedExample, layers=None) -> engine.Net:
    """The example's network for the engine, with ``layers`` (row convention) or its own."""
    layers = tuple(zip(ex.weights, ex.biases, strict=True)) if layers is None else layers
    return engine.Net(tuple(get_activation(a) for a in ex.activations), get_loss(ex.loss), tuple(layers))


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
        add(f"n^{k}", f"W^{k} a^{k - 1} + b^{k}" if column else f"b^{k} + a^{k - 1} W^{k}", result.n[k])
        add(f"a^{k}", f"{ex.activations[k - 1]}(n^{k})", result.a[k])
    d.add("L", f"{ex.loss}(y, a^{depth})" + (f", mean over {batch} examples" if batch > 1 else ""), [result.loss], ())
    add(f"s^{depth}", f"dL/da^{depth} * f'(n^{depth})" + (f" / {batch}" if batch > 1 else ""), result.s[depth])
    for k in range(depth - 1, 0, -1):
        add(f"dL/da^{k}", f"(W^{k + 1})^T s^{k + 1}" if column else f"s^{k + 1} (W^{k + 1})^T", result.g[k])
        add(f"s^{k}", f"dL/da^{k} * f'(n^{k})  (seed 003 eq. 33)", result.s[k])
    over = " summed over the batch" if batch > 1 else ""
    for k in range(depth, 0, -1):
        grad, shape = _matrix(result.dW[k], column)
        d.add(f"dL/dW^{k}", (f"s^{k} (a^{k - 1})^T" if column else f"(a^{k - 1})^T s^{k}") + over, grad, shape)
        d.add(f"dL/db^{k}", f"s^{k}" + over, result.db[k])
        new, shape = _matrix(result.new_layers[k - 1][0], column)
        d.add(f"W^{k} new", f"W^{k} - eta dL/dW^{k}", new, shape)
        d.add(f"b^{k} new", f"b^{k} - eta dL/db^{k}", result.new_layers[k - 1][1])


def run(ex: WorkedExample) -> Derivation:
    """Forward pass, loss, sensitivities (seed 003 eqs. 24, 33), gradients and one update,
    exactly, for one example or a batch (mean loss); then, with ``steps = N``, the loss after
    each further full-batch step and the final weights. Matrices are shown in the file's
    convention; printed numbers are compared."""
    d = Derivation(ex.name, ex.title, notes=list(ex.notes))
    result = engine.run_step(network(ex), ex.x, ex.y, ex.learning_rate, alg=WORKED)
    record(d, ex, result)
    textbook.annotate(d, ex)
    column = ex.convention == "column"
    if ex.steps > 1:
        layers = result.new_layers
        for t in range(2, ex.steps + 2):
            layers = tuple(([[_settle(v) for v in row] for row in W], [_settle(v) for v in b]) for W, b in layers)
            after = engine.run_step(network(ex, layers), ex.x, ex.y, ex.learning_rate, alg=WORKED)
            d.add(f"L after step {t - 1}", f"{ex.loss} with the weights of step {t - 1}", [after.loss])
            if t <= ex.steps:
                layers = after.new_layers
        for k, (W, b) in enumerate(layers, start=1):
            shown, shape = _matrix(W, column)
            d.add(f"W^{k} after {ex.steps} steps", f"W^{k} after {ex.steps} gradient steps", shown, shape)
            d.add(f"b^{k} after {ex.steps} steps", f"b^{k} after {ex.steps} gradient steps", b)
    unknown = [step for step in ex.printed if step not in d.values]
    if unknown:
        raise ValueError(f"printed step {unknown[0]!r} is not a step of this example; the steps are {', '.join(d.values)}")
    d.compare(ex.printed)
    return d


def from_spec(source, *, name: str | None = None, steps: int | None = None) -> Derivation:
    """The derivation of a spec (path to ``.toml``/``.json``, or a dict): :func:`read_spec` then :func:`run`."""
    return run(read_spec(source, name=name, steps=steps))
