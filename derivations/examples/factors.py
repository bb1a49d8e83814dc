"""The chain-rule factorisation of one derivative of a worked example's loss: dL/dp for a weight,
a bias or a threshold p of unit j of layer k, as named factors and their values,

    dL/dw^1_{2,1} = dL/da^1_1 * da^1_1/dn^1_1 * dn^1_1/dw^1_{2,1} = (12)(1)(2) = 24

(``dL/dn^k_j * dn^k_j/dp`` where the output is paired with its loss or is a vector activation).
Parameters are named as the spec file writes them: ``w^k_{r,c}`` is row r, column c of W^k in
the file's convention; ``b^k_j`` a bias, ``theta^k_j`` a threshold (b = -theta, so dn/dtheta = -1).

Contract: a replayed derivation's values and its example in, a :class:`~derivations.model.notation.Line`
out; the factors' values are the derivation's own (the engine's), the activation's derivative
its registry entry's sympy form (:mod:`derivations.model.symbolic`). Used by ``funcmlp derive --chain``
and by :mod:`derivations.examples.textbook` for every dL/dw of a small network.
"""

from __future__ import annotations

import sympy as sp

from derivations.model import symbolic
from derivations.model.notation import Line, Notation, symbol
from derivations.model.numbers import latex_number, number_text
from derivations.model.quantity import PARAMETERS, Key, parse
from funcmlp.registry.activations import get_activation


def output_gradient(ex, values):
    """dL/da^L of the example (exact), or None where s^L is taken on the logits (a paired loss, a vector output)."""
    output, loss = get_activation(ex.activations[-1]), ex.loss_entry
    if not output.is_elementwise or (loss and loss.spec.paired.get(output.name)):
        return None
    if loss is None:  # L = sum of the outputs
        return [sp.Integer(1)] * len(ex.weights[-1][0])
    return loss.sympy_gradient(list(values[Key("a", len(ex.weights))]), list(ex.y[0]))


def chain_rule(d, ex, weight: str) -> Line:
    """The chain-rule factorisation of one dL/dw of the example ``ex`` (one example, any size),
    ``weight`` named in the file's convention as ``w^k_{r,c}`` (row r, column c of W^k as the
    file writes it), or a bias ``b^k_j`` (a threshold ``theta^k_j`` where the file gives
    thresholds: dn/dtheta = -1); ``d`` is :func:`derivations.examples.replay.run` of ``ex``.

    Example:
        >>> from derivations.examples.spec import read_spec
        >>> from derivations.examples.replay import run
        >>> ex = read_spec({"activations": ["relu", "identity"], "loss": "sse", "learning_rate": "0.1",
        ...                 "x": [1, 2], "y": [0],
        ...                 "layers": [{"W": [[1, 1], [1, 1]], "b": [0, 0]}, {"W": [[1], [1]], "b": [0]}]})
        >>> print(chain_rule(run(ex), ex, "w^1_{2,1}").text())
        dL/dw^1_{2,1} = dL/da^1_1 * da^1_1/dn^1_1 * dn^1_1/dw^1_{2,1} = (12)(1)(2) = 24
        >>> print(chain_rule(run(ex), ex, "b^2_1").text())
        dL/db^2_1 = dL/da^2_1 * da^2_1/dn^2_1 * dn^2_1/db^2_1 = (12)(1)(1) = 12
    """
    weight = weight.strip()
    key, entry = parse(weight) or (None, None)
    named = key is not None and key.quantity in PARAMETERS and key.t == 1 and not key.stage and entry is not None
    if not named or (len(entry) == 2) != (key.quantity == "W"):
        raise ValueError(
            f"a weight is named w^k_{{r,c}} (layer k, row r and column c of W^k as the spec file writes it), a bias "
            f"b^k_j or a threshold theta^k_j (unit j of layer k), got {weight!r}"
        )
    if len(ex.x) != 1:
        raise ValueError(
            "the chain-rule factorisation is for one example; a batch's dL/dw is the mean of each example's"
        )
    k = key.layer
    if not 1 <= k <= len(ex.weights):
        raise ValueError(f"{weight}: the network has layers 1 to {len(ex.weights)}, not {k}")
    inputs, units = len(ex.weights[k - 1]), len(ex.weights[k - 1][0])
    note, depth = Notation(ex.convention), len(ex.weights)
    if key.quantity == "W":
        r, c = entry
        rows, cols = ex.convention.weight_shape(inputs, units)
        if not (1 <= r <= rows and 1 <= c <= cols):
            raise ValueError(
                f"{weight}: W^{k} has {rows} rows and {cols} columns in the {ex.convention.name} convention"
            )
        i, j = ex.convention.weight_at(r, c)
        parameter, dn_dp = note.weight(k, i, j), d.step(Key("a", k - 1)).values[i]
    else:
        j = entry[0] - 1
        parameter, dn_dp = _bias(ex, k, j, key.quantity, note, weight, units)
    paired = ex.loss_entry and ex.loss_entry.spec.paired.get(ex.activations[-1])
    return chain_line(
        note,
        k,
        j,
        (parameter, dn_dp),
        get_activation(ex.activations[k - 1]),
        k == depth and paired is not None,
        d.quantities,
        output_gradient(ex, d.quantities) if k == depth else None,
    )


def _bias(ex, k: int, j: int, kind: str, note: Notation, named: str, units: int) -> tuple:
    """(the symbol of bias or threshold j of layer k, dn/d of it: 1 for a bias, -1 for a threshold)."""
    thresholds = bool(ex.thresholds and ex.thresholds[k - 1])
    if ex.biases[k - 1] is None:
        raise ValueError(f"{named}: layer {k} has no biases (the spec gives it none); name a weight w^{k}_{{r,c}}")
    if thresholds != (kind == "theta"):
        given, other = ("thresholds", "theta") if thresholds else ("biases", "b")
        raise ValueError(f"{named}: layer {k} has {given} in the spec file; name it {other}^{k}_{j + 1}")
    if not 0 <= j < units:
        raise ValueError(f"{named}: layer {k} has units 1 to {units}")
    latex = r"\theta" if kind == "theta" else "b"
    return symbol(f"{kind}^{k}_{j + 1}", f"{latex}^{{{k}}}_{{{j + 1}}}", note.latex), -1 if kind == "theta" else 1


def chain_line(note: Notation, k, j, parameter, activation, through_logits, values, output_gradient) -> Line:
    """dL/dp for a parameter p of unit j of layer k (``parameter``: its symbol and dn/dp) as named
    factors and their values: dL/da^k_j * da^k_j/dn^k_j * dn^k_j/dp, or dL/dn^k_j * dn^k_j/dp
    where the output is paired with the loss or the activation is a vector one (softmax)."""
    w, dn_dp = parameter
    unit = j + 1
    dn_dw = (
        f"dn^{k}_{unit}/d{w.name}",
        rf"\frac{{\partial n^{{{k}}}_{{{unit}}}}}{{\partial {note.latex[w]}}}",
        dn_dp,
    )
    if through_logits or not activation.is_elementwise:
        factors = [
            (f"dL/dn^{k}_{unit}", rf"\frac{{\partial L}}{{\partial n^{{{k}}}_{{{unit}}}}}", values[Key("s", k)][j]),
            dn_dw,
        ]
    else:
        dL_da = output_gradient[j] if output_gradient is not None else values[Key("dL/da", k)][j]
        factors = [
            (f"dL/da^{k}_{unit}", rf"\frac{{\partial L}}{{\partial a^{{{k}}}_{{{unit}}}}}", dL_da),
            (
                f"da^{k}_{unit}/dn^{k}_{unit}",
                rf"\frac{{\partial a^{{{k}}}_{{{unit}}}}}{{\partial n^{{{k}}}_{{{unit}}}}}",
                symbolic.derivative(activation, values[Key("n", k)][j]),
            ),
            dn_dw,
        ]
    numbers = [number_text(sp.sympify(v))[0] for _, _, v in factors]
    product = sp.Mul(*[sp.sympify(v) for _, _, v in factors])
    return Line(
        (f"dL/d{w.name}", " * ".join(t for t, _, _ in factors), "".join(f"({t})" for t in numbers)),
        (
            rf"\frac{{\partial L}}{{\partial {note.latex[w]}}}",
            r" \cdot ".join(t for _, t, _ in factors),
            "".join(rf"\left({latex_number(t)}\right)" for t in numbers),
        ),
        product,
        chain=True,
    )
