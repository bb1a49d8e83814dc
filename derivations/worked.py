"""Worked examples of the seeds, recomputed in exact rational arithmetic, step by step.

A worked example is a small network with given weights, one input and target, a loss and
a learning rate. :func:`run` does the forward pass, the loss, the output sensitivity, the
sensitivity recursion (seed 003 eq. 33), the gradients and one gradient-descent update with
sympy ``Rational`` numbers, in the row convention ``n = a W + b`` (column-convention texts
are transposed on the way in and out). Each step is compared with the numbers the text
printed; a printed number that differs from the exact value by more than half a unit in
its last printed digit is an erratum, reported with the right value and the kind of slip.

Example:
    >>> result = run(SEED_003_RELU_LINEAR)
    >>> [str(v) for v in result.values["s^1"]]
    ['8', '8']
    >>> result.errata
    []
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

R = sp.Rational


def relu(v):
    return v if v > 0 else R(0)


def relu_derivative(v):
    return R(1) if v > 0 else R(0)  # funcmlp's convention: relu'(0) = 0


ACTIVATIONS = {
    "relu": (relu, relu_derivative),
    "linear": (lambda v: v, lambda v: R(1)),
    "hardlimit": (lambda v: R(1) if v >= 0 else R(0), lambda v: R(0)),
}

# loss name -> (value of one example, dL/da) on lists of Rationals
LOSSES = {
    "sse": (lambda a, y: sum((yi - ai) ** 2 for ai, yi in zip(a, y)), lambda a, y: [-2 * (yi - ai) for ai, yi in zip(a, y)]),
    "half_sse": (lambda a, y: R(1, 2) * sum((yi - ai) ** 2 for ai, yi in zip(a, y)), lambda a, y: [-(yi - ai) for ai, yi in zip(a, y)]),
}


@dataclass(frozen=True)
class Printed:
    """A number as the text printed it: ``value`` (a decimal string), where, and the kind of slip if known."""

    value: str
    where: str
    slip: str = ""


@dataclass(frozen=True)
class Example:
    name: str
    title: str
    activations: tuple[str, ...]
    loss: str
    eta: str
    x: tuple
    y: tuple
    layers: tuple  # ((W rows...), (b...)) per layer, in ``convention``
    convention: str = "row"
    printed: dict = field(default_factory=dict)  # step name -> tuple of Printed (row-major)


@dataclass
class Erratum:
    step: str
    index: int
    printed: str
    exact: sp.Rational
    where: str
    slip: str

    def __str__(self) -> str:
        return f"{self.where}: {self.step}[{self.index}] printed {self.printed}, exact {self.exact} = {_decimal(self.exact)} ({self.slip})"


@dataclass
class Result:
    example: Example
    steps: list  # (step name, formula, list of exact values)
    values: dict
    errata: list


def _decimal(value, digits: int = 6) -> str:
    return f"{float(value):.{digits}g}"


def _matrix(rows) -> list[list[sp.Rational]]:
    return [[R(str(v)) for v in row] for row in rows]


def _transpose(m):
    return [list(col) for col in zip(*m)]


def run(example: Example) -> Result:
    """Recompute ``example`` exactly and compare it with the printed numbers."""
    weights, biases = [], []
    for W, b in example.layers:
        W = _matrix(W)
        weights.append(_transpose(W) if example.convention == "column" else W)
        biases.append([R(str(v)) for v in b])
    a = [R(str(v)) for v in example.x]
    y = [R(str(v)) for v in example.y]
    eta = R(example.eta)
    steps, values = [], {}

    def record(name, formula, vector):
        steps.append((name, formula, vector))
        values[name] = vector

    record("a^0", "x", a)
    activations, nets = [a], []
    for k, (W, b, act) in enumerate(zip(weights, biases, example.activations), start=1):
        n = [b[j] + sum(a[i] * W[i][j] for i in range(len(a))) for j in range(len(b))]
        a = [ACTIVATIONS[act][0](v) for v in n]
        record(f"n^{k}", f"b^{k} + a^{k - 1} W^{k}", n)
        record(f"a^{k}", f"{act}(n^{k})", a)
        nets.append(n)
        activations.append(a)
    loss_value, loss_gradient = LOSSES[example.loss]
    record("L", f"{example.loss}(y, a^{len(weights)})", [loss_value(a, y)])
    L = len(weights)
    s = [g * ACTIVATIONS[example.activations[-1]][1](n) for g, n in zip(loss_gradient(a, y), nets[-1])]
    record(f"s^{L}", f"dL/da^{L} * f'(n^{L})", s)
    sensitivities = {L: s}
    for k in range(L - 1, 0, -1):
        W_next = weights[k]
        s = [sum(s[j] * W_next[i][j] for j in range(len(s))) * ACTIVATIONS[example.activations[k - 1]][1](nets[k - 1][i]) for i in range(len(nets[k - 1]))]
        record(f"s^{k}", f"s^{k + 1} (W^{k + 1})^T F'(n^{k})", s)
        sensitivities[k] = s
    for k in range(1, L + 1):
        a_prev, s = activations[k - 1], sensitivities[k]
        grad_W = [[a_prev[i] * s[j] for j in range(len(s))] for i in range(len(a_prev))]
        new_W = [[weights[k - 1][i][j] - eta * grad_W[i][j] for j in range(len(s))] for i in range(len(a_prev))]
        new_b = [biases[k - 1][j] - eta * s[j] for j in range(len(s))]
        if example.convention == "column":
            grad_W, new_W = _transpose(grad_W), _transpose(new_W)
        record(f"dL/dW^{k}", f"(a^{k - 1})^T s^{k}", [v for row in grad_W for v in row])
        record(f"W^{k} new", f"W^{k} - eta dL/dW^{k}", [v for row in new_W for v in row])
        record(f"b^{k} new", f"b^{k} - eta s^{k}", new_b)
    errata = []
    for step, printed in example.printed.items():
        for index, (p, exact) in enumerate(zip(printed, values[step], strict=True)):
            decimals = len(p.value.split(".")[1]) if "." in p.value else 0
            if abs(Fraction(p.value) - Fraction(int(exact.p), int(exact.q))) > Fraction(1, 2 * 10**decimals):
                errata.append(Erratum(step, index, p.value, exact, p.where, p.slip or "arithmetic"))
    return Result(example, steps, values, errata)


def render(result: Result, fmt: str = "text") -> str:
    """The derivation step by step, exact values with decimals beside, then the errata."""
    ex = result.example
    lines = []
    if fmt == "markdown":
        lines += [f"## {ex.title}", "", "| step | formula | exact | decimal |", "|---|---|---|---|"]
        lines += [f"| {n} | `{f}` | {', '.join(map(str, v))} | {', '.join(_decimal(x) for x in v)} |" for n, f, v in result.steps]
        lines += [""] + [f"- **erratum** {e}" for e in result.errata]
    elif fmt == "latex":
        lines += [f"% {ex.title}", r"\begin{align*}"]
        new = r"_{\mathrm{new}}"
        lines += [n.replace(" new", new) + " &= " + sp.latex(sp.Matrix([v])) + r" \\" for n, _, v in result.steps]
        lines += [r"\end{align*}"] + [f"% erratum: {e}" for e in result.errata]
    elif fmt == "text":
        lines += [ex.title, "=" * len(ex.title)]
        lines += [f"{n:<10} = {f:<32} = [{', '.join(map(str, v))}]  ~ [{', '.join(_decimal(x) for x in v)}]" for n, f, v in result.steps]
        lines += ["errata: none" if not result.errata else "errata:"] + [f"  {e}" for e in result.errata]
    else:
        raise ValueError(f"unknown format {fmt!r}; expected text, latex or markdown")
    return "\n".join(lines)


SEED_003_RELU_LINEAR = Example(
    name="seed003_relu_linear",
    title="Seed 003, eqs. 39-51: one backprop iteration, ReLU then linear, (y - a)^2, eta = 0.1",
    activations=("relu", "linear"),
    loss="sse",
    eta="1/10",
    x=(1, 1),
    y=(0,),
    layers=(((( 1, 1), (1, 1)), (0, 0)), (((1,), (1,)), (0,))),
    printed={
        "n^1": (Printed("2", "eq. 40"), Printed("2", "eq. 40")),
        "a^2": (Printed("4", "eq. 43"),),
        "s^2": (Printed("8", "eq. 45"),),
        "s^1": (Printed("8", "eq. 47"), Printed("8", "eq. 47")),
        "W^1 new": tuple(Printed("0.2", "eq. 48") for _ in range(4)),
        "b^1 new": (Printed("-0.8", "eq. 49"), Printed("-0.8", "eq. 49")),
        "W^2 new": (Printed("-0.6", "eq. 50"), Printed("-0.6", "eq. 50")),
        "b^2 new": (Printed("-0.8", "eq. 51"),),
    },
)

SEED_000_HOUSE_PRICE = Example(
    name="seed000_house_price",
    title="Seed 000, eqs. 6-30: house-price network 3-2-2-1, ReLU, 1/2 (y - a)^2, alpha = 0.1 (printed numbers checked: eqs. 8-16)",
    activations=("relu", "relu", "relu"),
    loss="half_sse",
    eta="1/10",
    x=(1200, 3, 10),
    y=(1,),
    convention="column",
    layers=(
        (((0.01, -0.02, 0.03), (0.04, 0.05, -0.06)), (0.001, -0.001)),
        (((0.1, -0.1), (0.1, 0.1)), (0.01, 0.01)),
        (((0.1, 0.1),), (0.01,)),
    ),
    printed={
        "n^1": (Printed("12.241", "eq. 8"), Printed("47.549", "eq. 8")),
        "n^2": (Printed("-3.5308", "eq. 11", "a term left out: the bias b^[2]"), Printed("5.979", "eq. 11", "a term left out: the bias b^[2]")),
        "a^2": (Printed("0", "eq. 12"), Printed("5.979", "eq. 12", "carried over from eq. 11")),
        "n^3": (Printed("0.6079", "eq. 14", "carried over from eq. 11"),),
        "L": (Printed("0.0762", "eq. 16", "arithmetic: even with its own a^[3] = 0.6079, 1/2 (0.3921)^2 = 0.07687"),),
    },
)

EXAMPLES = {ex.name: ex for ex in (SEED_003_RELU_LINEAR, SEED_000_HOUSE_PRICE)}
