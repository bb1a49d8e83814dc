"""The keys of a spec that are not the network's numbers alone: one ``[[layers]]`` table (W, b or theta,
``fixed``, a starting ``velocity``), the update rule, the learning rate and its convention (the delta rule's eta
times the error: ``learning_rate_convention``), a coefficient (momentum, L2), and the gradient steps to write out in
full (``show_steps``).

Contract: a spec's raw values in (read by :mod:`derivations.examples.specfile`), checked Python data out (exact
numbers, row-convention weights), or one ``ValueError`` line naming the key, what was expected and the fix;
:mod:`derivations.examples.spec` builds the example from them.

Example:
    >>> W, b, kept, velocity = layer_table(1, {"W": [["1", "2"]], "b": ["0", "0"],
    ...                                    "velocity": {"W": [["0.5", "0"]]}}, 1, ROW)
    >>> W, velocity
    ([[1, 2]], ([[1/2, 0]], [0, 0]))
    >>> read_show_steps([1, 3], 4, online=False)
    (1, 3)
"""

from __future__ import annotations

import sympy as sp

from derivations.examples import specfile
from derivations.model.convention import ROW, Convention  # noqa: F401 (ROW: the example above)

LAYER_KEYS = ("W", "b", "theta", "fixed", "velocity")
MAX_SHOWN = 20
"""The most gradient steps a replay writes out in full (``show_steps``)."""


def layer_table(k: int, layer, inputs: int, convention: Convention) -> tuple:
    """One ``[[layers]]`` table: (W in the row convention, b or None, the fixed parameter names, the
    starting velocity ``(rows like W, a list like b or None)`` in the row convention, or None)."""
    if not isinstance(layer, dict) or "W" not in layer or set(layer) - set(LAYER_KEYS):
        got = sorted(layer) if isinstance(layer, dict) else layer
        raise ValueError(
            f"layers[{k}] takes the keys W (required), b or theta (thresholds, b = -theta; neither: a layer "
            f"without biases) and fixed; got {got!r} (with momentum, velocity too: the velocity it starts from)"
        )
    if "b" in layer and "theta" in layer:
        raise ValueError(
            f"layers[{k}] has both b and theta; give the biases b or the thresholds theta (b = -theta), not both"
        )
    W = specfile.matrix(layer["W"], f"layers[{k}].W")
    key = "theta" if "theta" in layer else "b"
    b = specfile.vector(layer[key], f"layers[{k}].{key}") if key in layer else None
    units = len(b) if b is not None else convention.units_of(W)
    (rows, cols), what = convention.weight_shape(inputs, units), convention.axes
    if len(W) != rows:
        raise ValueError(
            f"layers[{k}].W has {len(W)} rows, expected {rows} ({what[0]} of layer {k}, {convention.name} convention)"
        )
    if len(W[0]) != cols:
        raise ValueError(
            f"layers[{k}].W has {len(W[0])} columns, expected {cols} ({what[1]} of layer {k}, "
            f"{convention.name} convention)"
        )
    kept = layer.get("fixed", [])
    if not isinstance(kept, (list, tuple)) or not set(kept) <= {"W", "b"} or len(set(kept)) != len(kept):
        raise ValueError(
            f'layers[{k}].fixed is {kept!r}; expected a list of the parameters kept, ["W"], ["b"] or ["W", "b"]'
        )
    if "b" in kept and b is None:
        raise ValueError(
            f'layers[{k}].fixed names b, but the layer has no b; give b (or theta) or take "b" out of fixed'
        )
    velocity = _velocity(k, layer, W, b, key, frozenset(kept), convention) if "velocity" in layer else None
    return convention.read(W), b, frozenset(kept), velocity


def _velocity(k: int, layer: dict, W: list, b, key: str, kept: frozenset, convention: Convention) -> tuple:
    """``layers[k].velocity = {W = [...], b = [...]}`` (``theta`` for thresholds): the starting velocity of
    momentum, each part shaped as the layer's parameter in the file's layout, a part left out zero; in the row
    convention, the biases' as b's (``v_b = -v_theta``)."""
    where, table = f"layers[{k}].velocity", layer["velocity"]
    allowed = ("W",) + ((key,) if b is not None else ())
    if not isinstance(table, dict) or not table or set(table) - set(allowed):
        raise ValueError(
            f"{where} is a table of the starting velocity of momentum, shaped like the parameters: keys "
            f"{' and '.join(allowed)}, e.g. velocity = {{W = {specfile.brief(layer['W'], 40)}}}; got "
            f"{specfile.brief(table)}"
        )
    for name in table:
        if (name if name == "W" else "b") in kept:
            raise ValueError(f"{where}.{name}: {name} is fixed (never updated), so it has no velocity; leave it out")
    vW = specfile.matrix(table["W"], f"{where}.W") if "W" in table else [[sp.Integer(0)] * len(W[0]) for _ in W]
    if len(vW) != len(W) or len(vW[0]) != len(W[0]):
        raise ValueError(
            f"{where}.W is {len(vW)} x {len(vW[0])}; expected {len(W)} x {len(W[0])}, the shape of layers[{k}].W"
        )
    vb = None
    if b is not None:
        vb = specfile.vector(table[key], f"{where}.{key}") if key in table else [sp.Integer(0)] * len(b)
        if len(vb) != len(b):
            raise ValueError(f"{where}.{key} has {len(vb)} values; expected {len(b)}, as layers[{k}].{key}")
        vb = [-v for v in vb] if key == "theta" else vb
    return convention.read(vW), vb


def read_update(spec: dict) -> str:
    update = spec.get("update", "batch")
    if update not in ("batch", "online"):
        raise ValueError(
            f'update is {specfile.brief(update)}; expected "batch" (one step on the mean loss of the examples) or '
            '"online" (one step per example, in order)'
        )
    if update == "online" and "learning_rate" not in spec:
        raise ValueError(
            'update = "online" takes steps on the examples: give a learning_rate, e.g. learning_rate = "0.5"'
        )
    return update


def read_learning_rate(spec: dict, steps: int):
    """The learning rate, or None where the spec leaves it out (gradients only: one step, no update)."""
    if "learning_rate" not in spec:
        if steps > 1:
            raise ValueError(f'steps is {steps}; gradient steps need a learning_rate, e.g. learning_rate = "0.5"')
        return None
    return specfile.number(spec["learning_rate"], "learning_rate")


def read_coefficient(spec: dict, key: str, below_one: bool = False):
    """An optional coefficient: ``momentum`` in [0, 1), ``l2`` >= 0; None when left out."""
    if key not in spec:
        return None
    value = specfile.number(spec[key], key)
    if value < 0 or (below_one and value >= 1):
        raise ValueError(
            f"{key} is {spec[key]!r}; expected a number "
            + ('from 0 up to (not including) 1, e.g. "0.9"' if below_one else 'of at least 0, e.g. "0.01"')
        )
    return value


def read_show_steps(value, steps: int, online: bool, where: str = "show_steps") -> tuple | None:
    """``show_steps = [1, 2, 10]``: the gradient steps to write out in full (forward pass, sensitivities,
    gradients, the update), each from 1 to ``steps``, at most :data:`MAX_SHOWN`, sorted; None when not given.
    ``online``: steps of one example each over several examples (refused: the first is written in full).
    ``where`` names the key (``--show-steps`` on the command line)."""
    if value is None:
        return None
    if (
        not isinstance(value, (list, tuple))
        or not value
        or not all(isinstance(t, int) and not isinstance(t, bool) for t in value)
    ):
        raise ValueError(
            f"{where} is {specfile.brief(value)}; expected a list of gradient steps to write out, e.g. [1, 2, 10]"
        )
    if online:
        raise ValueError(
            f'{where}: update = "online" writes its first example\'s step in full and the parameters after each '
            f"further example; {where} chooses batch steps: leave it out"
        )
    wrong = [t for t in value if not 1 <= t <= steps]
    if wrong:
        raise ValueError(
            f"{where} names step {wrong[0]}; this replay has {steps} step{'s' if steps > 1 else ''}: "
            f"give steps from 1 to {steps} (or more steps)"
        )
    if len(set(value)) != len(value):
        twice = next(t for t in value if value.count(t) > 1)
        raise ValueError(f"{where} names step {twice} twice; name each step once")
    if len(value) > MAX_SHOWN:
        raise ValueError(
            f"{where} names {len(value)} steps; a replay writes out at most {MAX_SHOWN} in full: choose fewer"
        )
    return tuple(sorted(value))


CONVENTIONS = ("gradient", "delta_rule")


def read_convention(spec: dict, loss: str, units: int, eta) -> tuple:
    """``learning_rate_convention``: ``"gradient"`` (the default: w - eta dL/dw on the loss given) or
    ``"delta_rule"`` (the text's eta multiplies the error, w + eta (y - a) f'(n) x: the gradient of half the
    squared error, so with ``loss = "sse"`` eta absorbs a factor 2). ``(the learning rate of the gradient step on
    the loss given, a note or "")``: eta / 2 for sse, eta m / 2 for mse over m outputs, eta for half_sse.

    Example:
        >>> read_convention({"learning_rate_convention": "delta_rule"}, "sse", 1, sp.Rational(1, 10))[0]
        1/20
    """
    convention = spec.get("learning_rate_convention", "gradient")
    if convention not in CONVENTIONS:
        raise ValueError(
            f'learning_rate_convention is {specfile.brief(convention)}; expected "gradient" (w - eta dL/dw, the '
            'default) or "delta_rule" (w + eta (y - a) f\'(n) x: eta times the error, the 1/2 of the loss absorbed)'
        )
    if convention == "gradient":
        return eta, ""
    factors = {"sse": sp.Rational(1, 2), "half_sse": sp.Integer(1), "mse": sp.Rational(units, 2)}
    if loss not in factors or eta is None:
        raise ValueError(
            'learning_rate_convention = "delta_rule" is for a squared error with a learning_rate: loss = "sse", '
            f'"half_sse" or "mse" (got loss = {loss!r}{"" if eta is not None else ", no learning_rate"})'
        )
    step = eta * factors[loss]
    return step, (
        f"learning_rate_convention = delta_rule: the text's eta = {eta} multiplies the error, w + eta (y - a) f'(n) x "
        f"(the gradient of half the squared error); the step on {loss} is w - {step} dL/dw, the same update"
    )
