"""Worked examples of the seeds, recomputed exactly and step by step, with their errata.

Every example is a :class:`Derivation`: a list of steps (a name, the formula, the values),
the numbers the text printed for some of those steps, and the errata found by comparing
them. Values are sympy numbers: exact rationals where the arithmetic is rational (ReLU,
linear and hard-limit networks), exact closed forms such as ``1/(1 + exp(-13/25))`` for
the sigmoid, shown with 8 significant decimals beside.

A printed decimal is an erratum when it differs from the exact value by more than one unit
in its last printed digit (so a truncated or rounded last digit is not flagged); a printed
integer such as 0 or 8 must be exact. Each
erratum carries the kind of slip: arithmetic, a term left out, a derivative ignored, a
sign, a transposed product, a wrong scaling, a wrong quantity, or carried over from an
earlier erratum.

Network examples are in the row convention ``n = a W + b`` internally; column-convention
texts (seeds 000, 002) are transposed on the way in, and their matrices are shown and
compared in their own layout.

Example:
    >>> d = build("seed003_relu_linear")
    >>> [str(v) for v in d.values["s^1"]], d.errata
    (['8', '8'], [])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import sympy as sp

from derivations import symbolic
from funcmlp.activations import get_activation
from funcmlp.losses import get_loss

R = sp.Rational


def _scalar(name: str):
    """The registry's exact scalar rule of an activation: sympy numbers in, sympy numbers out."""
    activation = get_activation(name)
    return lambda v: symbolic.forward(activation, [v])[0]


_sigmoid = _scalar("sigmoid")
_hardlimit = _scalar("hardlimit")


@dataclass(frozen=True)
class Printed:
    """A number as the text printed it (a decimal string), the equation, and the kind of slip if it is wrong."""

    value: str
    where: str
    slip: str = ""


def P(where: str, *values: str, slips: dict | None = None, slip: str = "") -> tuple:
    """Printed values of one step in their row-major order; ``slips`` maps an index to its slip."""
    slips = slips or {}
    return tuple(Printed(v, where, slips.get(i, slip)) for i, v in enumerate(values))


@dataclass(frozen=True)
class Step:
    name: str
    formula: str
    values: tuple
    shape: tuple = ()


@dataclass
class Erratum:
    step: str
    index: int
    printed: str
    exact: sp.Expr
    where: str
    slip: str

    def __str__(self) -> str:
        if self.exact.free_symbols:
            return f"{self.where}: {self.step} printed {self.printed}, right: {self.exact} ({self.slip})"
        exact = f"{self.exact} = " if self.exact.is_Rational else ""
        return f"{self.where}: {self.step}[{self.index}] printed {self.printed}, exact {exact}{_decimal(self.exact)} ({self.slip})"


@dataclass
class Derivation:
    name: str
    title: str
    steps: list = field(default_factory=list)
    errata: list = field(default_factory=list)
    notes: list = field(default_factory=list)

    @property
    def values(self) -> dict:
        return {s.name: list(s.values) for s in self.steps}

    def add(self, name: str, formula: str, values, shape=()) -> list:
        values = [sp.nsimplify(v) if isinstance(v, (int, Fraction)) else sp.sympify(v) for v in values]
        self.steps.append(Step(name, formula, tuple(values), tuple(shape)))
        return values

    def compare(self, printed: dict) -> None:
        """Flag every printed number more than one unit in its last digit from the exact value."""
        values = self.values
        for step, entries in printed.items():
            if len(entries) != len(values[step]):
                raise ValueError(f"{self.name}: step {step!r} has {len(values[step])} values, {len(entries)} printed")
            for index, (p, exact) in enumerate(zip(entries, values[step], strict=True)):
                # a decimal may be off by one unit in its last digit (rounded or truncated); an integer is exact
                tolerance = sp.Rational(1, 10 ** len(p.value.split(".")[1])) if "." in p.value else 0
                if abs(sp.nsimplify(p.value) - sp.N(exact, 40)) > tolerance:
                    self.errata.append(Erratum(step, index, p.value, exact, p.where, p.slip or "unexplained"))


def _decimal(value, digits: int = 8) -> str:
    if value.free_symbols:
        return str(value)
    value = sp.N(value, 30)
    if value == 0:
        return "0"
    return f"{float(value):.{digits}g}"


def _exact(value) -> str:
    """The exact value: a rational, a short closed form, or (for long closed forms) 12 digits marked ~."""
    text = str(value)
    return text if value.is_Rational or len(text) <= 40 else _decimal(value, 12) + "~"


# ---------------------------------------------------------------------------
# network examples


@dataclass(frozen=True)
class Network:
    name: str
    title: str
    activations: tuple
    loss: str
    eta: str
    x: tuple
    y: tuple
    layers: tuple  # ((W rows...), (b...)) per layer, in ``convention``
    convention: str = "row"
    printed: dict = field(default_factory=dict)
    notes: tuple = ()


def _matrix(rows):
    return [[sp.nsimplify(str(v)) for v in row] for row in rows]


def _transpose(m):
    return [list(col) for col in zip(*m, strict=True)]


def run_network(ex: Network) -> Derivation:
    """Forward pass, loss, sensitivities (seed 003 eqs. 24, 33), gradients and one update."""
    d = Derivation(ex.name, ex.title, notes=list(ex.notes))
    column = ex.convention == "column"
    weights = [_transpose(_matrix(W)) if column else _matrix(W) for W, _ in ex.layers]
    biases = [[sp.nsimplify(str(v)) for v in b] for _, b in ex.layers]
    eta = sp.nsimplify(ex.eta)
    a = d.add("a^0", "x", [sp.nsimplify(str(v)) for v in ex.x])
    y = [sp.nsimplify(str(v)) for v in ex.y]
    outputs, nets = [a], []
    for k, (W, b, act) in enumerate(zip(weights, biases, ex.activations, strict=True), start=1):
        n = d.add(f"n^{k}", f"W^{k} a^{k - 1} + b^{k}" if column else f"b^{k} + a^{k - 1} W^{k}",
                  [b[j] + sum(a[i] * W[i][j] for i in range(len(a))) for j in range(len(b))])
        a = d.add(f"a^{k}", f"{act}(n^{k})", symbolic.forward(get_activation(act), n))
        nets.append(n)
        outputs.append(a)
    value, output_sensitivity = symbolic.output_terms(get_loss(ex.loss), get_activation(ex.activations[-1]), nets[-1], y, a)
    d.add("L", f"{ex.loss}(y, a^{len(weights)})", [value])
    depth = len(weights)
    s = d.add(f"s^{depth}", f"dL/da^{depth} * f'(n^{depth})", output_sensitivity)
    sensitivities = {depth: s}
    for k in range(depth - 1, 0, -1):
        W_next = weights[k]
        upstream = d.add(f"dL/da^{k}", f"(W^{k + 1})^T s^{k + 1}" if column else f"s^{k + 1} (W^{k + 1})^T",
                         [sum(s[j] * W_next[i][j] for j in range(len(s))) for i in range(len(nets[k - 1]))])
        s = d.add(f"s^{k}", f"dL/da^{k} * f'(n^{k})  (seed 003 eq. 33)",
                  symbolic.backward(get_activation(ex.activations[k - 1]), nets[k - 1], upstream))
        sensitivities[k] = s
    for k in range(depth, 0, -1):
        a_prev, s = outputs[k - 1], sensitivities[k]
        grad = [[a_prev[i] * s[j] for j in range(len(s))] for i in range(len(a_prev))]
        new = [[weights[k - 1][i][j] - eta * grad[i][j] for j in range(len(s))] for i in range(len(a_prev))]
        if column:
            grad, new = _transpose(grad), _transpose(new)
        shape = (len(grad), len(grad[0]))
        d.add(f"dL/dW^{k}", f"s^{k} (a^{k - 1})^T" if column else f"(a^{k - 1})^T s^{k}", [v for row in grad for v in row], shape)
        d.add(f"dL/db^{k}", f"s^{k}", s)
        d.add(f"W^{k} new", f"W^{k} - eta dL/dW^{k}", [v for row in new for v in row], shape)
        d.add(f"b^{k} new", f"b^{k} - eta s^{k}", [biases[k - 1][j] - eta * s[j] for j in range(len(s))])
    d.compare(ex.printed)
    return d


CARRIED_11 = "carried over from eq. 11 (the bias b^[2] left out)"
IGNORED = "a derivative ignored: relu'(n^[2]_1) = 0 because n^[2]_1 = -3.5208 < 0, so s^[2]_1 = 0"

SEED_000_HOUSE_PRICE = Network(
    name="seed000_house_price",
    title="Seed 000, eqs. 6-30: house-price network 3-2-2-1, ReLU, L = 1/2 (y - a)^2, y = 1, alpha = 0.1",
    activations=("relu", "relu", "relu"),
    loss="half_sse",
    eta="0.1",
    x=(1200, 3, 10),
    y=(1,),
    convention="column",
    layers=(
        (((0.01, -0.02, 0.03), (0.04, 0.05, -0.06)), (0.001, -0.001)),
        (((0.1, -0.1), (0.1, 0.1)), (0.01, 0.01)),
        (((0.1, 0.1),), (0.01,)),
    ),
    printed={
        "n^1": P("eq. 8", "12.241", "47.549"),
        "n^2": P("eq. 11", "-3.5308", "5.979", slip="a term left out: the bias b^[2] = 0.01"),
        "a^2": P("eq. 12", "0", "5.979", slip=CARRIED_11),
        "n^3": P("eq. 14", "0.6079", slip=CARRIED_11),
        "a^3": P("eq. 15", "0.6079", slip=CARRIED_11),
        "L": P("eq. 16", "0.0762", slip="arithmetic: even with its own a^[3] = 0.6079, 1/2 (0.3921)^2 = 0.07687; and carried over from eq. 11"),
        "s^3": P("eq. 17", "-0.3921", slip=CARRIED_11),
        "dL/dW^3": P("eq. 19", "0", "-2.3443", slip=CARRIED_11),
        "dL/db^3": P("eq. 20", "-0.3921", slip=CARRIED_11),
        "W^3 new": P("after eq. 20", "0.1", "0.3344", slip=CARRIED_11),
        "b^3 new": P("after eq. 20", "0.04921", slip=CARRIED_11),
        "dL/da^2": P("eq. 23", "-0.03921", "-0.03921", slip=CARRIED_11),
        "dL/dW^2": P("eq. 24", "-0.4799", "-1.8643", "-0.4799", "-1.8643", slips={0: IGNORED, 1: IGNORED}, slip=CARRIED_11),
        "dL/db^2": P("eq. 25", "-0.03921", "-0.03921", slips={0: IGNORED}, slip=CARRIED_11),
        "W^2 new": P("eq. 26", "0.1479", "0.0864", "0.1479", "0.2864", slips={0: IGNORED, 1: IGNORED}, slip=CARRIED_11),
        "b^2 new": P("eq. 26", "0.01392", "0.01392", slips={0: IGNORED}, slip=CARRIED_11),
        "dL/da^1": P("eq. 27", "-0.0078", "0", slip="a derivative ignored: W^[2]T is applied to dL/da^[2] instead of s^[2] = dL/da^[2] * relu'(n^[2])"),
        "dL/dW^1": P("eq. 28", "-9.36", "-0.0234", "-0.078", "0", "0", "0", slip="carried over from eq. 27 (a derivative ignored)"),
        "dL/db^1": P("eq. 29", "-0.0078", "0", slip="carried over from eq. 27 (a derivative ignored)"),
        "W^1 new": P("eq. 30", "0.946", "-0.01766", "0.0378", "0.04", "0.05", "-0.06", slip="carried over from eq. 27 (a derivative ignored)"),
        "b^1 new": P("eq. 30", "0.00178", "-0.001", slip="carried over from eq. 27 (a derivative ignored)"),
    },
    notes=(
        "eq. 17 sets dL/dz^[3] = dL/da^[3], 'ignoring the activation'; here relu'(z^[3]) = 1 since z^[3] > 0, so that step is right.",
        "The text says the output is -8.2357 (after eq. 13); no step of its own computation gives that number.",
    ),
)

SEED_003_RELU_LINEAR = Network(
    name="seed003_relu_linear",
    title="Seed 003, eqs. 39-51: one backprop iteration, ReLU then linear, L = (y - a)^2, y = 0, eta = 0.1",
    activations=("relu", "linear"),
    loss="sse",
    eta="0.1",
    x=(1, 1),
    y=(0,),
    layers=((((1, 1), (1, 1)), (0, 0)), (((1,), (1,)), (0,))),
    printed={
        "n^1": P("eq. 40", "2", "2"),
        "a^1": P("eq. 41", "2", "2"),
        "n^2": P("eq. 42", "4"),
        "a^2": P("eq. 43", "4"),
        "s^2": P("eq. 45", "8"),
        "s^1": P("eq. 47", "8", "8"),
        "W^1 new": P("eq. 48", "0.2", "0.2", "0.2", "0.2"),
        "b^1 new": P("eq. 49", "-0.8", "-0.8"),
        "W^2 new": P("eq. 50", "-0.6", "-0.6"),
        "b^2 new": P("eq. 51", "-0.8"),
    },
    notes=("eqs. 44 and 46 write Linear(4) and ReLU(2) where the derivatives Linear'(4) = 1 and ReLU'(2) = 1 are meant; the values are right.",),
)

SIGN = "a sign: dL/du = -2 (y - y_hat) y_hat (1 - y_hat) = +0.289; the text drops the minus of d(y - y_hat)^2/dy_hat"
CARRIED_SIGN = "carried over from the sign slip of dL/du"
TRANSPOSED = "a transposed product: the entry holds x_i delta_j, the gradient of W_ji, not of W_ij; and the sign carried over"
SEED_002_SIGMOID = Network(
    name="seed002_sigmoid_221",
    title="Seed 001/002, numerical simulation: 2-2-1 sigmoid network, MSE with N = 1, x = [0.5, 0.8], y = 0, eta = 0.7",
    activations=("sigmoid", "sigmoid"),
    loss="mse",
    eta="0.7",
    x=(0.5, 0.8),
    y=(0,),
    convention="column",
    layers=((((0.2, 0.4), (0.6, 0.8)), (0.1, 0.2)), (((0.3, 0.5),), (0.4,))),
    printed={
        "n^1": P("forward 1", "0.52", "1.14"),
        "a^1": P("forward 2", "0.627", "0.758"),
        "n^2": P("forward 3", "0.967"),
        "a^2": P("forward 4", "0.725"),
        "L": P("loss", "0.5249"),
        "s^2": P("backward 1", "-0.289", slip=SIGN),
        "s^1": P("backward 2", "-0.020", "-0.026", slips={1: CARRIED_SIGN + "; and arithmetic: 0.289 x 0.092 = 0.0266, not 0.026"}, slip=CARRIED_SIGN),
        "dL/dW^1": P("backward 3", "-0.010", "-0.013", "-0.016", "-0.021", slips={1: TRANSPOSED, 2: TRANSPOSED}, slip=CARRIED_SIGN),
        "dL/db^2": P("backward 4", "-0.289", slip=CARRIED_SIGN),
        "dL/db^1": P("backward 4", "-0.020", "-0.026", slips={1: CARRIED_SIGN + "; and arithmetic (0.0266)"}, slip=CARRIED_SIGN),
        "W^1 new": P("update 5", "0.207", "0.409", "0.611", "0.815", slips={1: TRANSPOSED, 2: TRANSPOSED}, slip=CARRIED_SIGN),
        "W^2 new": P("update 5", "0.314", "0.518",
                     slip="a wrong quantity: V is updated with the hidden deltas [-0.020, -0.026] instead of dL/dV = s^2 h^T = [0.181, 0.219]"),
        "b^2 new": P("update 5", "0.602", slip=CARRIED_SIGN),
        "b^1 new": P("update 5", "0.114", "0.218", slip=CARRIED_SIGN),
    },
    notes=(
        "Step 1 of the derivation writes sigma_y = (2/N)(y - y_hat) sigma'(u): the same sign slip; dL/dy_hat = -(2/N)(y - y_hat).",
        "Backward 1 is labelled dL/dy_hat but computes dL/du (it includes y_hat (1 - y_hat)).",
        "Backward 2 is labelled dL/dh but computes dL/dz (it includes h (1 - h)).",
    ),
)

NETWORKS = {ex.name: ex for ex in (SEED_000_HOUSE_PRICE, SEED_002_SIGMOID, SEED_003_RELU_LINEAR)}


# ---------------------------------------------------------------------------
# seed 003: single-layer perceptrons, the perceptron learning rule, the XOR network

GATE_INPUTS = [(0, 0), (0, 1), (1, 0), (1, 1)]
GATES = {"and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "xor": (0, 1, 1, 0)}


def _hardlimit(v):
    return R(1) if v >= 0 else R(0)


def slp_truth_tables() -> Derivation:
    """Seed 003: W = [1 1]^T with b = -1.5 (AND) and b = -0.5 (OR), hard limit (eq. 4)."""
    d = Derivation("seed003_slp", "Seed 003: hand-set single-layer perceptrons for AND (b = -1.5) and OR (b = -0.5)")
    for gate, bias in (("and", R(-3, 2)), ("or", R(-1, 2))):
        n = [bias + x1 + x2 for x1, x2 in GATE_INPUTS]
        d.add(f"{gate} n^1", "b^1 + x W^1 for x = 00, 01, 10, 11", n)
        a = d.add(f"{gate} a^1", "hardlimit(n^1)", [_hardlimit(v) for v in n])
        d.add(f"{gate} target", f"x1 {gate} x2", GATES[gate])
        if list(a) != [R(t) for t in GATES[gate]]:
            d.notes.append(f"the {gate.upper()} perceptron misclassifies a point")
    d.notes.append("XOR has no such perceptron: the points (0,1), (1,0) and (0,0), (1,1) are not linearly separable.")
    return d


def perceptron_rule(gate: str = "and", eta: str = "1", max_epochs: int = 50) -> Derivation:
    """Seed 003 eq. 6, theta <- theta + eta [1 x]^T (y - a), from theta = 0, samples in table order,
    until an epoch makes no update. Exact rationals."""
    d = Derivation(f"seed003_perceptron_{gate}", f"Seed 003 eq. 6: the perceptron learning rule learning {gate.upper()} from theta = 0, eta = {eta}")
    eta = sp.nsimplify(eta)
    theta = [R(0), R(0), R(0)]  # b, w1, w2
    for epoch in range(1, max_epochs + 1):
        updates = 0
        for (x1, x2), y in zip(GATE_INPUTS, GATES[gate], strict=True):
            a = _hardlimit(theta[0] + theta[1] * x1 + theta[2] * x2)
            error = y - a
            if error != 0:
                theta = [t + eta * f * error for t, f in zip(theta, (1, x1, x2), strict=True)]
                updates += 1
            d.add(f"epoch {epoch} x={x1}{x2}", f"a = {a}, y - a = {error}, theta = [b w1 w2]", theta)
        if updates == 0:
            d.notes.append(f"converged after {epoch} epochs: b = {theta[0]}, w = [{theta[1]}, {theta[2]}] classifies every row")
            return d
    d.notes.append(f"no convergence in {max_epochs} epochs (as expected for XOR, which is not linearly separable)")
    return d


def xor_network() -> Derivation:
    """Seed 003: W^1 = [[1, -1], [-1, 1]], b^1 = [-0.5, -0.5], W^2 = [1 1]^T, b^2 = -0.5, hard limits."""
    d = Derivation("seed003_xor", "Seed 003: the hand-set hard-limit MLP for XOR")
    for x1, x2 in GATE_INPUTS:
        n1 = [R(-1, 2) + x1 - x2, R(-1, 2) - x1 + x2]
        a1 = [_hardlimit(v) for v in n1]
        d.add(f"x={x1}{x2} n^1", "b^1 + x W^1", n1)
        d.add(f"x={x1}{x2} a^1", "hardlimit(n^1)", a1)
        d.add(f"x={x1}{x2} a^2", "hardlimit(b^2 + a^1 W^2)", [_hardlimit(R(-1, 2) + a1[0] + a1[1])])
    outputs = [d.values[f"x={x1}{x2} a^2"][0] for x1, x2 in GATE_INPUTS]
    d.notes.append("outputs " + str([int(v) for v in outputs]) + (" = XOR" if outputs == [0, 1, 1, 0] else " != XOR"))
    return d


def seed003_jacobian() -> Derivation:
    """Seed 003 eqs. 26-33 entry by entry for a 2 -> 2 layer, and the index slip of eq. 30."""
    from derivations.sensitivities import jacobian_concrete

    d = Derivation("seed003_jacobian", "Seed 003 eqs. 25-33: the Jacobian dn^(k+1)/dn^k entry by entry (2 -> 3 layer)")
    derived, closed, W = jacobian_concrete(2, 3, "row")
    d.steps.append(Step("dn^(k+1)/dn^k", "entry (i, j) = d n_i^(k+1) / d n_j^k, by sympy", tuple(derived), derived.shape))
    d.steps.append(Step("(W^(k+1))^T F'(n^k)", "eq. 31, closed form", tuple(closed), closed.shape))
    d.notes.append("eq. 31 holds: derived - closed = " + str((derived - closed).applyfunc(sp.simplify)))
    i, j = sp.symbols("i j", integer=True, positive=True)
    w, n, f = sp.IndexedBase("w"), sp.IndexedBase("n"), sp.Function("f")
    fprime = sp.Derivative(f(n[j]), n[j])
    d.errata.append(Erratum("dn_i^(k+1)/dn_j^k", 0, "w_ij f'(n_j)", w[j, i] * fprime, "eq. 30",
                            "a transposed product: eq. 26 names the weight from unit q of layer k to unit i of layer k+1 w_qi, "
                            "so the entry is w_ji f'(n_j); eq. 31's (W^(k+1))^T is right"))
    d.errata.append(Erratum("F^k(n^k)", 0, "diag(f_j(n_j))", sp.Symbol("diag(f'_j(n_j))"), "eqs. 31-32, first appearance",
                            "a derivative ignored: the matrix of derivatives F'(n^k) is meant; the later copies print it right"))
    return d


# ---------------------------------------------------------------------------
# seed 000: dropout, vanishing and exploding gradients


def dropout_example() -> Derivation:
    d = Derivation("seed000_dropout", "Seed 000, eqs. 37-43: dropout on a^[1] with rate 0.5 and draws [0.38298, 0.78923]")
    a1 = d.add("a^1", "eq. 37", [R("12.241"), R("47.549")])
    draws = [R("0.38298"), R("0.78923")]
    rate = R(1, 2)
    mask = d.add("mask", "1 if draw >= rate else 0 (eq. 40)", [R(0) if u < rate else R(1) for u in draws])
    masked = d.add("a^1 masked", "mask * a^1 (eq. 41)", [m * v for m, v in zip(mask, a1, strict=True)])
    keep = 1 - rate
    scaled = d.add("a^1 scaled", "masked / keep_prob: inverted dropout (eq. 42 in words)", [v / keep for v in masked])
    W2 = [[R(1, 10), R(-1, 10)], [R(1, 10), R(1, 10)]]
    d.add("W^2 a^1 scaled", "eq. 43", [sum(W2[i][j] * scaled[j] for j in range(2)) for i in range(2)])
    d.compare({
        "mask": P("eq. 40", "0", "1"),
        "a^1 masked": P("eq. 41", "0", "47.549"),
        "a^1 scaled": P("eq. 42", "0", "23.775",
                        slip="a wrong scaling: multiplied by keep_prob = 0.5 where the text's own rule (and inverted dropout) divides by it"),
    })
    d.notes.append("eq. 43 leaves the product as an expression; with the text's 23.775 it is [-2.3775, 2.3775], with the right scaling [-9.5098, 9.5098]")
    return d


def vanishing_example() -> Derivation:
    d = Derivation("seed000_vanishing", "Seed 000, eqs. 48-51: vanishing gradient, assuming dL/da^[3] = -0.001 and alpha = 0.0001")
    g, alpha, a2 = R(-1, 1000), R(1, 10000), [R(0), R("5.979")]
    dW = d.add("dL/dW^3", "dL/da^3 (a^2)^T, a^2 = [0, 5.979] as printed", [g * v for v in a2])
    db = d.add("dL/db^3", "dL/da^3", [g])
    d.add("W^3 new", "W^3 - alpha dL/dW^3", [R(1, 10) - alpha * v for v in dW])
    d.add("b^3 new", "b^3 - alpha dL/db^3", [R(1, 100) - alpha * db[0]])
    d.compare({
        "dL/dW^3": P("eq. 48", "0", "-0.000579", slips={1: "a wrong quantity and arithmetic: multiplies by alpha = 0.0001 instead of the assumed -0.001 "
                                                         "(giving -0.0005979) and then drops a digit"}),
        "dL/db^3": P("eq. 49", "-0.3921", slip="a wrong quantity: keeps the original dL/da^[3] = -0.3921 instead of the assumed -0.001"),
        "W^3 new": P("eq. 51", "0.1", "0.100000579", slips={1: "arithmetic: 0.1 + 0.0001 x 0.000579 = 0.1000000579; and carried over from eq. 48"}),
        "b^3 new": P("eq. 51", "0.010003921", slip="arithmetic: 0.01 + 0.0001 x 0.3921 = 0.01003921; and carried over from eq. 49"),
    })
    return d


def exploding_example() -> Derivation:
    d = Derivation("seed000_exploding", "Seed 000, eqs. 55-56: exploding gradient, assuming W^[3] = [10, 10] and a^[2] = [10, 10]")
    g = R("-0.3921")
    dW = d.add("dL/dW^3", "dL/da^3 (a^2)^T with the text's dL/da^3 = -0.3921", [g * 10, g * 10])
    d.add("W^3 new", "W^3 - 0.1 dL/dW^3", [10 - R(1, 10) * v for v in dW])
    d.compare({"dL/dW^3": P("eq. 55", "-3.921", "-3.921"), "W^3 new": P("eq. 56", "10.3921", "10.3921")})
    a3 = 10 * 10 + 10 * 10 + R(1, 100)
    true_g = -(1 - a3)
    d.add("a^3 (consistent)", "relu(W^3 a^2 + b^3) with the assumed W^3, a^2", [a3])
    d.add("dL/da^3 (consistent)", "-(y - a^3)", [true_g])
    d.add("W^3 new (consistent)", "W^3 - 0.1 dL/da^3 (a^2)^T", [10 - R(1, 10) * true_g * 10] * 2)
    d.notes.append("the printed numbers follow from the text's assumptions; but with W^[3] = [10, 10] and a^[2] = [10, 10] "
                   "the output is 200.01 and dL/da^[3] = 199.01, not -0.3921, so the real step is to [-189.01, -189.01]: the explosion is far larger")
    return d


# ---------------------------------------------------------------------------
# seed 004: the mini-batch update and the formulas of the optimizer section


def minibatch_rule(m: int = 3) -> Derivation:
    """Seed 004's update_mini_batch: w - (eta/m) sum_x grad C_x equals gradient descent on (1/m) sum_x C_x."""
    d = Derivation("seed004_minibatch", f"Seed 004: the mini-batch update (sum of per-example gradients times eta/m) is gradient descent on the mean loss, m = {m}")
    w, eta = sp.symbols("w eta", real=True)
    costs = [sp.Function(f"C{i}")(w) for i in range(1, m + 1)]
    seed_rule = w - eta / m * sum(sp.diff(c, w) for c in costs)
    mean_rule = w - eta * sp.diff(sum(costs) / m, w)
    d.steps.append(Step("seed 004 rule", "w - (eta/m) sum_x dC_x/dw", (seed_rule,)))
    d.steps.append(Step("GD on the mean", "w - eta d/dw (1/m) sum_x C_x", (mean_rule,)))
    d.notes.append("difference simplifies to " + str(sp.simplify(seed_rule - mean_rule)) + " (symbolic, linearity of d/dw)")
    # a concrete instance: one sigmoid unit, m examples, exact closed forms
    x = [R(1, 2), R(-1, 3), R(2, 1)][:m]
    y = [R(0), R(1), R(1)][:m]
    b = sp.Symbol("b", real=True)

    def cost(xi, yi):
        return R(1, 2) * (yi - _sigmoid(w * xi + b)) ** 2

    per_example = [sp.diff(cost(xi, yi), w) for xi, yi in zip(x, y, strict=True)]
    point = {w: R(3, 10), b: R(-1, 5)}
    summed = d.add("(1/m) sum dC_x/dw", "seed 004, one sigmoid unit, x = [1/2, -1/3, 2], y = [0, 1, 1], at w = 0.3, b = -0.2",
                   [sum(per_example).subs(point) / m])
    mean = d.add("d/dw mean C", "same point", [sp.diff(sum(cost(xi, yi) for xi, yi in zip(x, y, strict=True)) / m, w).subs(point)])
    d.notes.append("concrete instance equal: " + str(sp.simplify(summed[0] - mean[0]) == 0))
    d.notes.append("the last mini-batch of an epoch may be smaller; the code divides by len(mini_batch), i.e. the mean over the examples it has "
                   "(funcmlp's padded last batch gives the same)")
    return d


def optimizer_formulas() -> Derivation:
    """Seed 004's learning-rate and optimizer formulas, checked symbolically."""
    d = Derivation("seed004_formulas", "Seed 004: learning-rate decay and adaptive optimizer formulas")
    eta, t, T = sp.symbols("eta t T", positive=True)
    g = sp.symbols("g0:4", real=True)
    adagrad_left = (eta / sp.sqrt(t + 1)) / sp.sqrt(sum(gi**2 for gi in g) / (t + 1))
    adagrad_right = eta / sp.sqrt(sum(gi**2 for gi in g))
    same = sp.simplify((adagrad_left - adagrad_right).subs(t, 3)) == 0
    d.steps.append(Step("AdaGrad step size", "(eta/sqrt(t+1)) / sqrt(1/(t+1) sum g_i^2) vs eta / sqrt(sum g_i^2), t = 3", (adagrad_left.subs(t, 3), adagrad_right)))
    d.notes.append(f"AdaGrad: the two printed forms are equal: {same}")
    alpha, sigma_prev, gt = sp.symbols("alpha sigma_prev g_t", positive=True)
    printed = eta / (sp.sqrt(alpha * sigma_prev**2) + (1 - alpha) * gt**2)
    standard = eta / sp.sqrt(alpha * sigma_prev**2 + (1 - alpha) * gt**2)
    point = {alpha: R(9, 10), sigma_prev: R(1, 2), gt: R(2), eta: R(1, 10)}
    d.steps.append(Step("RMSprop step size", "printed eta / (sqrt(alpha sigma^2) + (1 - alpha) g^2) vs eta / sqrt(alpha sigma^2 + (1 - alpha) g^2)",
                        (printed.subs(point), standard.subs(point))))
    d.errata.append(Erratum("RMSprop step size", 0, "eta / (sqrt(alpha sigma_{t-1}^2) + (1 - alpha) g_t^2)", standard, "RMSprop",
                            "a term left out of the root: (1 - alpha) g_t^2 belongs under the square root; at alpha = 0.9, sigma = 0.5, "
                            f"g = 2, eta = 0.1 the printed form gives {_decimal(printed.subs(point))} instead of {_decimal(standard.subs(point))}"))
    d.errata.append(Erratum("step decay", 0, "eta_t = eta / sqrt(t + 1)", sp.Symbol("eta*gamma**floor(t/step_size)"), "learning-rate decay",
                            "a wrong name: eta / sqrt(t + 1) is inverse-square-root decay; step decay multiplies by gamma every step_size "
                            "steps (funcmlp's 'step' schedule)"))
    cosine = eta * (1 + sp.cos(sp.pi * t / T)) / 2
    d.steps.append(Step("cosine decay", "eta (1 + cos(pi t / T)) / 2 at t = 0, T/2, T", (cosine.subs(t, 0), cosine.subs(t, T / 2), cosine.subs(t, T))))
    return d


# ---------------------------------------------------------------------------
# registry and rendering

BUILDERS = {
    "seed000_house_price": lambda: run_network(SEED_000_HOUSE_PRICE),
    "seed000_dropout": dropout_example,
    "seed000_vanishing": vanishing_example,
    "seed000_exploding": exploding_example,
    "seed002_sigmoid_221": lambda: run_network(SEED_002_SIGMOID),
    "seed003_slp": slp_truth_tables,
    "seed003_perceptron_and": lambda: perceptron_rule("and"),
    "seed003_perceptron_or": lambda: perceptron_rule("or"),
    "seed003_perceptron_xor": lambda: perceptron_rule("xor", max_epochs=20),
    "seed003_xor": xor_network,
    "seed003_jacobian": seed003_jacobian,
    "seed003_relu_linear": lambda: run_network(SEED_003_RELU_LINEAR),
    "seed004_minibatch": minibatch_rule,
    "seed004_formulas": optimizer_formulas,
}

TITLES = {
    "seed000_house_price": SEED_000_HOUSE_PRICE.title,
    "seed000_dropout": "Seed 000, eqs. 37-43: dropout",
    "seed000_vanishing": "Seed 000, eqs. 48-51: vanishing gradient",
    "seed000_exploding": "Seed 000, eqs. 55-56: exploding gradient",
    "seed002_sigmoid_221": SEED_002_SIGMOID.title,
    "seed003_slp": "Seed 003: hand-set perceptrons for AND and OR",
    "seed003_perceptron_and": "Seed 003 eq. 6: perceptron learning rule on AND",
    "seed003_perceptron_or": "Seed 003 eq. 6: perceptron learning rule on OR",
    "seed003_perceptron_xor": "Seed 003 eq. 6: perceptron learning rule on XOR (does not converge)",
    "seed003_xor": "Seed 003: the hand-set hard-limit MLP for XOR",
    "seed003_jacobian": "Seed 003 eqs. 25-33: the Jacobian entry by entry",
    "seed003_relu_linear": SEED_003_RELU_LINEAR.title,
    "seed004_minibatch": "Seed 004: the mini-batch update rule",
    "seed004_formulas": "Seed 004: learning-rate and optimizer formulas",
}


def build(name: str) -> Derivation:
    """The derivation registered under ``name`` (see :data:`BUILDERS`)."""
    if name not in BUILDERS:
        raise ValueError(f"unknown worked example {name!r}; expected one of {', '.join(BUILDERS)}")
    return BUILDERS[name]()


def _shaped(step: Step, fmt) -> str:
    values = [fmt(v) for v in step.values]
    if len(step.shape) == 2 and step.shape[0] > 1:
        rows, cols = step.shape
        return "[" + "; ".join(", ".join(values[r * cols:(r + 1) * cols]) for r in range(rows)) + "]"
    return "[" + ", ".join(values) + "]"


def render(d: Derivation, fmt: str = "text") -> str:
    """The derivation step by step (exact values, decimals beside), then errata and notes."""
    if fmt == "text":
        lines = [d.title, "=" * len(d.title)]
        for s in d.steps:
            lines.append(f"{s.name:<22} = {s.formula}")
            lines.append(f"{'':<22}   exact   {_shaped(s, _exact)}")
            lines.append(f"{'':<22}   decimal {_shaped(s, _decimal)}")
        lines.append("errata: none found" if not d.errata else f"errata ({len(d.errata)}):")
        lines += [f"  {e}" for e in d.errata]
        lines += [f"note: {n}" for n in d.notes]
        return "\n".join(lines)
    if fmt == "markdown":
        lines = [f"## {d.title}", "", "| step | formula | exact | decimal |", "|---|---|---|---|"]
        lines += [f"| {s.name} | `{s.formula}` | {_shaped(s, _exact)} | {_shaped(s, _decimal)} |" for s in d.steps]
        lines += ["", "**Errata**" if d.errata else "No errata found.", ""]
        lines += [f"- {e}" for e in d.errata]
        lines += [f"- note: {n}" for n in d.notes]
        return "\n".join(lines)
    if fmt == "latex":
        lines = [f"% {d.title}", r"\begin{align*}"]
        for s in d.steps:
            matrix = sp.Matrix(*s.shape, list(s.values)) if len(s.shape) == 2 else sp.Matrix([list(s.values)])
            lines.append(r"\text{" + s.name.replace("^", r"\^{}").replace("_", r"\_") + "} &= " + sp.latex(matrix) + r" \\")
        lines.append(r"\end{align*}")
        lines += [f"% erratum: {e}" for e in d.errata]
        lines += [f"% note: {n}" for n in d.notes]
        return "\n".join(lines)
    raise ValueError(f"unknown format {fmt!r}; expected text, latex or markdown")
