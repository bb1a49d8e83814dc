"""The worked examples, one record each (:data:`EXAMPLES`: a title and how it is built), recomputed exactly and
step by step with their errata; :mod:`derivations.catalogue` names them beside the proofs for ``funcmlp derive``.

Contract: a name in, a :class:`~derivations.model.derivation.Derivation` out (:func:`build`); the
network examples are spec files replayed by :mod:`derivations.examples.replay`, the others (perceptrons,
dropout, the optimizer formulas) are built here from the registry's rules.

The network examples (seed 000's house-price network, seed 002's 2-2-1 sigmoid network,
seed 003's ReLU-then-linear step) are spec files in ``derivations/examples``, read through
the same path as a user's (:mod:`derivations.examples.spec`); the others (perceptrons, XOR, dropout,
vanishing and exploding gradients, the mini-batch rule, the optimizer formulas) are built
here. Each is a :class:`~derivations.model.derivation.Derivation`; :func:`derivations.formats.render.render` prints it.

Example:
    >>> d = build("seed003_relu_linear")
    >>> [str(v) for v in d.values["s^1"]], d.errata
    (['8', '8'], [])
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import sympy as sp

from derivations.examples.replay import from_spec
from derivations.examples.spec import LITERATURE, SEED_EXAMPLES, read_spec, seed_spec_path
from derivations.model import symbolic
from derivations.model.derivation import Derivation, Erratum, P, Step
from derivations.model.formula import Name, formula, prose
from derivations.model.quantity import Key
from derivations.proofs import seed004, sensitivities
from funcmlp.registry.activations import get_activation

R = sp.Rational


def _scalar(name: str):
    """The registry's exact scalar rule of an activation: sympy numbers in, sympy numbers out."""
    activation = get_activation(name)
    return lambda v: symbolic.forward(activation, [v])[0]


_hardlimit = _scalar("hardlimit")


# ---------------------------------------------------------------------------
# seed 003: single-layer perceptrons, the perceptron learning rule, the XOR network

GATE_INPUTS = [(0, 0), (0, 1), (1, 0), (1, 1)]
GATES = {"and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "xor": (0, 1, 1, 0)}


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
    d = Derivation(
        f"seed003_perceptron_{gate}",
        f"Seed 003 eq. 6: the perceptron learning rule learning {gate.upper()} from theta = 0, eta = {eta}",
    )
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
            d.notes.append(
                f"converged after {epoch} epochs: b = {theta[0]}, w = [{theta[1]}, {theta[2]}] classifies every row"
            )
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
    d = Derivation("seed003_jacobian", "Seed 003 eqs. 25-33: the Jacobian dn^(k+1)/dn^k entry by entry (2 -> 3 layer)")
    derived, closed, W = sensitivities.jacobian_concrete(2, 3, "row")
    d.steps.append(
        Step("dn^(k+1)/dn^k", "entry (i, j) = d n_i^(k+1) / d n_j^k, by sympy", tuple(derived), derived.shape)
    )
    d.steps.append(Step("(W^(k+1))^T F'(n^k)", "eq. 31, closed form", tuple(closed), closed.shape))
    d.notes.append("eq. 31 holds: derived - closed = " + str((derived - closed).applyfunc(sp.simplify)))
    i, j = sp.symbols("i j", integer=True, positive=True)
    w, n, f = sp.IndexedBase("w"), sp.IndexedBase("n"), sp.Function("f")
    fprime = sp.Derivative(f(n[j]), n[j])
    d.errata.append(
        Erratum(
            "dn_i^(k+1)/dn_j^k",
            0,
            "w_ij f'(n_j)",
            w[j, i] * fprime,
            "eq. 30",
            "a transposed product: eq. 26 names the weight from unit q of layer k to unit i of layer k+1 w_qi, "
            "so the entry is w_ji f'(n_j); eq. 31's (W^(k+1))^T is right",
        )
    )
    d.errata.append(
        Erratum(
            "F^k(n^k)",
            0,
            "diag(f_j(n_j))",
            sp.Symbol("diag(f'_j(n_j))"),
            "eqs. 31-32, first appearance",
            "a derivative ignored: the matrix of derivatives F'(n^k) is meant; the later copies print it right",
        )
    )
    return d


# ---------------------------------------------------------------------------
# seed 000: dropout, vanishing and exploding gradients


def dropout_example() -> Derivation:
    d = Derivation(
        "seed000_dropout", "Seed 000, eqs. 37-43: dropout on a^[1] with rate 0.5 and draws [0.38298, 0.78923]"
    )
    a1 = d.add(Key("a", 1), formula("eq. 37"), [R("12.241"), R("47.549")])
    draws = [R("0.38298"), R("0.78923")]
    rate = R(1, 2)
    mask = d.add("mask", "1 if draw >= rate else 0 (eq. 40)", [R(0) if u < rate else R(1) for u in draws])
    masked = d.add("a^1 masked", "mask * a^1 (eq. 41)", [m * v for m, v in zip(mask, a1, strict=True)])
    keep = 1 - rate
    scaled = d.add("a^1 scaled", "masked / keep_prob: inverted dropout (eq. 42 in words)", [v / keep for v in masked])
    W2 = [[R(1, 10), R(-1, 10)], [R(1, 10), R(1, 10)]]
    d.add("W^2 a^1 scaled", "eq. 43", [sum(W2[i][j] * scaled[j] for j in range(2)) for i in range(2)])
    d.compare(
        {
            "mask": P("eq. 40", "0", "1"),
            "a^1 masked": P("eq. 41", "0", "47.549"),
            "a^1 scaled": P(
                "eq. 42",
                "0",
                "23.775",
                slip="a wrong scaling: multiplied by keep_prob = 0.5 where the text's own rule (and inverted dropout) "
                "divides by it",
            ),
        }
    )
    d.notes.append(
        "eq. 43 leaves the product as an expression; with the text's 23.775 it is [-2.3775, 2.3775], with the "
        "right scaling [-9.5098, 9.5098]"
    )
    return d


def vanishing_example() -> Derivation:
    d = Derivation(
        "seed000_vanishing", "Seed 000, eqs. 48-51: vanishing gradient, assuming dL/da^[3] = -0.001 and alpha = 0.0001"
    )
    g, alpha, a2 = R(-1, 1000), R(1, 10000), [R(0), R("5.979")]
    dW = d.add(Key("dL/dW", 3), prose("dL/da^3 (a^2)^T, a^2 = [0, 5.979] as printed"), [g * v for v in a2])
    db = d.add(Key("dL/db", 3), formula(Key("dL/da", 3)), [g])
    d.add(
        Key("W", 3, stage="new"),
        formula(Key("W", 3), " - ", Name("alpha"), " ", Key("dL/dW", 3)),
        [R(1, 10) - alpha * v for v in dW],
    )
    d.add(
        Key("b", 3, stage="new"),
        formula(Key("b", 3), " - ", Name("alpha"), " ", Key("dL/db", 3)),
        [R(1, 100) - alpha * db[0]],
    )
    d.compare(
        {
            "dL/dW^3": P(
                "eq. 48",
                "0",
                "-0.000579",
                slips={
                    1: "a wrong quantity and arithmetic: multiplies by alpha = 0.0001 instead of the assumed -0.001 "
                    "(giving -0.0005979) and then drops a digit"
                },
            ),
            "dL/db^3": P(
                "eq. 49",
                "-0.3921",
                slip="a wrong quantity: keeps the original dL/da^[3] = -0.3921 instead of the assumed -0.001",
            ),
            "W^3 new": P(
                "eq. 51",
                "0.1",
                "0.100000579",
                slips={1: "arithmetic: 0.1 + 0.0001 x 0.000579 = 0.1000000579; and carried over from eq. 48"},
            ),
            "b^3 new": P(
                "eq. 51",
                "0.010003921",
                slip="arithmetic: 0.01 + 0.0001 x 0.3921 = 0.01003921; and carried over from eq. 49",
            ),
        }
    )
    return d


def exploding_example() -> Derivation:
    d = Derivation(
        "seed000_exploding", "Seed 000, eqs. 55-56: exploding gradient, assuming W^[3] = [10, 10] and a^[2] = [10, 10]"
    )
    g = R("-0.3921")
    dW = d.add(Key("dL/dW", 3), prose("dL/da^3 (a^2)^T with the text's dL/da^3 = -0.3921"), [g * 10, g * 10])
    d.add(Key("W", 3, stage="new"), formula(Key("W", 3), " - 0.1 ", Key("dL/dW", 3)), [10 - R(1, 10) * v for v in dW])
    d.compare({"dL/dW^3": P("eq. 55", "-3.921", "-3.921"), "W^3 new": P("eq. 56", "10.3921", "10.3921")})
    a3 = 10 * 10 + 10 * 10 + R(1, 100)
    true_g = -(1 - a3)
    d.add("a^3 (consistent)", "relu(W^3 a^2 + b^3) with the assumed W^3, a^2", [a3])
    d.add("dL/da^3 (consistent)", "-(y - a^3)", [true_g])
    d.add("W^3 new (consistent)", "W^3 - 0.1 dL/da^3 (a^2)^T", [10 - R(1, 10) * true_g * 10] * 2)
    d.notes.append(
        "the printed numbers follow from the text's assumptions; but with W^[3] = [10, 10] and a^[2] = [10, 10] "
        "the output is 200.01 and dL/da^[3] = 199.01, not -0.3921, so the real step is to [-189.01, -189.01]: "
        "the explosion is far larger"
    )
    return d


# ---------------------------------------------------------------------------
# registry and rendering


@dataclass(frozen=True)
class Worked:
    """One worked example of ``funcmlp derive NAME``: its title and how it is built (a spec file replayed, or the
    registry's rules applied here)."""

    title: str
    build: Callable[[], Derivation]


def _shipped(name: str) -> Worked:
    """A shipped spec file's example: its title read from the file, replayed when built."""
    return Worked(read_spec(seed_spec_path(name), name=name).title, lambda: from_spec(seed_spec_path(name), name=name))


_BUILT_HERE = {
    "seed000_dropout": Worked("Seed 000, eqs. 37-43: dropout", dropout_example),
    "seed000_vanishing": Worked("Seed 000, eqs. 48-51: vanishing gradient", vanishing_example),
    "seed000_exploding": Worked("Seed 000, eqs. 55-56: exploding gradient", exploding_example),
    "seed003_slp": Worked("Seed 003: hand-set perceptrons for AND and OR", slp_truth_tables),
    "seed003_perceptron_and": Worked("Seed 003 eq. 6: perceptron learning rule on AND", lambda: perceptron_rule("and")),
    "seed003_perceptron_or": Worked("Seed 003 eq. 6: perceptron learning rule on OR", lambda: perceptron_rule("or")),
    "seed003_perceptron_xor": Worked(
        "Seed 003 eq. 6: perceptron learning rule on XOR (does not converge)",
        lambda: perceptron_rule("xor", max_epochs=20),
    ),
    "seed003_xor": Worked("Seed 003: the hand-set hard-limit MLP for XOR", xor_network),
    "seed003_jacobian": Worked("Seed 003 eqs. 25-33: the Jacobian entry by entry", seed003_jacobian),
    "seed004_minibatch": Worked("Seed 004: the mini-batch update rule", seed004.minibatch_rule),
    "seed004_formulas": Worked("Seed 004: learning-rate and optimizer formulas", seed004.optimizer_formulas),
}

EXAMPLES = {
    **dict(sorted({**_BUILT_HERE, **{name: _shipped(name) for name in SEED_EXAMPLES}}.items())),
    **{name: _shipped(name) for name in LITERATURE},
}
"""Every worked example by name, one record each: the seeds' (built here or shipped as spec files) in name order,
then the published ones, found by listing their spec files (:data:`derivations.examples.spec.LITERATURE`)."""


def build(name: str) -> Derivation:
    """The derivation of the worked example ``name`` (see :data:`EXAMPLES`)."""
    if name not in EXAMPLES:
        raise ValueError(f"unknown worked example {name!r}; expected one of {', '.join(EXAMPLES)}")
    return EXAMPLES[name].build()


__all__ = ["EXAMPLES", "Worked", "build"]
