"""The steps a replay writes only where a text prints them: a layer's ``f'(n^k)`` (the activation's derivative at
its net input) and ``exp(n^k)`` (a softmax's exponentials), the output layer's ``dL/da^L`` and each parameter's
change in the step, ``delta_W^k`` (new - old: ``-eta dL/dW^k``, or the velocity with momentum).

Contract: a checked example and the printed keys in, the quantities asked (:func:`wanted`) and the values of such a
step out, per example (a list of rows, as :class:`~derivations.model.engine.Pass` holds them) or flat in the file's
layout for a change; every value is the registry's closed form (the activation's ``sympy_derivative``, the loss's
``sympy_gradient``) at the engine's numbers, or their difference: nothing here replays a step.
:func:`derivations.examples.layout.record` writes them.

Example:
    >>> from derivations.examples.spec import read_spec
    >>> ex = read_spec({"activations": ["sigmoid"], "loss": "half_sse", "learning_rate": "1", "x": ["1"],
    ...                 "y": ["0"], "layers": [{"W": [["0"]], "b": ["0"]}], "printed": {"f'(n^1)": "0.25"}})
    >>> sorted(wanted(ex)), slopes("sigmoid", [[sp.Integer(0)]]), output_upstream(ex, [[sp.Rational(1, 2)]])
    ([("f'", 1)], [[1/4]], [[1/2]])
"""

from __future__ import annotations

import sympy as sp

from derivations.examples.spec import OUTPUT, WorkedExample
from derivations.model import symbolic
from derivations.model.quantity import asked
from funcmlp.registry.activations import get_activation


def wanted(ex: WorkedExample, t: int = 1, example: int | None = None) -> set:
    """``{(quantity, layer)}`` of the printed steps of gradient step ``t`` (stage ""), or with ``example`` those of
    online example ``example``'s step (``a^1 (example 2)``)."""
    if example is None:
        return {(k.quantity, k.layer) for k in asked(ex.printed) if k.stage == "" and k.t == t}
    return {(k.quantity, k.layer) for k in asked(ex.printed) if k.stage == "example" and k.t == example}


def slopes(activation: str, n: list) -> list | None:
    """``f'(n)`` of each example's net input ``n`` (a list of rows); None for a vector activation (softmax: its
    derivative is a Jacobian, not one number per unit)."""
    act = get_activation(activation)
    if not act.is_elementwise:
        return None
    return [[symbolic.derivative(act, v) for v in row] for row in n]


def exponentials(n: list) -> list:
    """``exp(n)`` of each example's net input (a list of rows)."""
    return [[sp.exp(v) for v in row] for row in n]


def output_upstream(ex: WorkedExample, outputs: list) -> list:
    """``dL/da^L`` of each example's output ``a^L`` (a list of rows): the loss's gradient (the registry's closed
    form; 1 where the loss is the outputs' sum) over the batch's size, as the sensitivities carry it."""
    batch = len(outputs)
    if ex.loss == OUTPUT:
        return [[sp.Rational(1, batch)] * len(row) for row in outputs]
    return [
        [g / batch for g in ex.loss_entry.sympy_gradient(list(row), list(y))]
        for row, y in zip(outputs, ex.y, strict=True)
    ]


def change(new: list, old: list) -> list:
    """A parameter's change in the step, entry by entry (both flat in the file's layout): new - old."""
    return [sp.sympify(a) - sp.sympify(b) for a, b in zip(new, old, strict=True)]
