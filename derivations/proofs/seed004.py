"""Seed 004's formulas checked: the mini-batch update of its code is gradient descent on the mean
loss; its learning-rate decay and adaptive optimizer formulas (AdaGrad, RMSprop, cosine decay),
with the errata found in them.

Contract: builders of :class:`~derivations.model.derivation.Derivation` objects, registered by
:mod:`derivations.examples.worked` as ``seed004_minibatch`` and ``seed004_formulas``; symbols and exact
numbers only, the sigmoid from funcmlp's registry.

Example:
    >>> any("difference simplifies to 0" in note for note in minibatch_rule().notes)
    True
"""

from __future__ import annotations

import sympy as sp

from derivations.model import symbolic
from derivations.model.derivation import Derivation, Erratum, Step
from derivations.model.numbers import decimal
from funcmlp.registry.activations import get_activation

R = sp.Rational


def _sigmoid(v):
    """The registry's exact sigmoid rule on a sympy number or expression."""
    return symbolic.forward(get_activation("sigmoid"), [v])[0]


def minibatch_rule(m: int = 3) -> Derivation:
    """Seed 004's update_mini_batch: w - (eta/m) sum_x grad C_x equals gradient descent on (1/m) sum_x C_x."""
    d = Derivation(
        "seed004_minibatch",
        f"Seed 004: the mini-batch update (sum of per-example gradients times eta/m) is gradient descent on the "
        f"mean loss, m = {m}",
    )
    w, eta = sp.symbols("w eta", real=True)
    costs = [sp.Function(f"C{i}")(w) for i in range(1, m + 1)]
    seed_rule = w - eta / m * sum(sp.diff(c, w) for c in costs)
    mean_rule = w - eta * sp.diff(sum(costs) / m, w)
    d.steps.append(Step("seed 004 rule", "w - (eta/m) sum_x dC_x/dw", (seed_rule,)))
    d.steps.append(Step("GD on the mean", "w - eta d/dw (1/m) sum_x C_x", (mean_rule,)))
    d.notes.append(
        "difference simplifies to " + str(sp.simplify(seed_rule - mean_rule)) + " (symbolic, linearity of d/dw)"
    )
    # a concrete instance: one sigmoid unit, m examples, exact closed forms
    x = [R(1, 2), R(-1, 3), R(2, 1)][:m]
    y = [R(0), R(1), R(1)][:m]
    b = sp.Symbol("b", real=True)

    def cost(xi, yi):
        return R(1, 2) * (yi - _sigmoid(w * xi + b)) ** 2

    per_example = [sp.diff(cost(xi, yi), w) for xi, yi in zip(x, y, strict=True)]
    point = {w: R(3, 10), b: R(-1, 5)}
    summed = d.add(
        "(1/m) sum dC_x/dw",
        "seed 004, one sigmoid unit, x = [1/2, -1/3, 2], y = [0, 1, 1], at w = 0.3, b = -0.2",
        [sum(per_example).subs(point) / m],
    )
    mean = d.add(
        "d/dw mean C",
        "same point",
        [sp.diff(sum(cost(xi, yi) for xi, yi in zip(x, y, strict=True)) / m, w).subs(point)],
    )
    d.notes.append("concrete instance equal: " + str(sp.simplify(summed[0] - mean[0]) == 0))
    d.notes.append(
        "the last mini-batch of an epoch may be smaller; the code divides by len(mini_batch), i.e. the mean "
        "over the examples it has "
        "(funcmlp's padded last batch gives the same)"
    )
    return d


def optimizer_formulas() -> Derivation:
    """Seed 004's learning-rate and optimizer formulas, checked symbolically."""
    d = Derivation("seed004_formulas", "Seed 004: learning-rate decay and adaptive optimizer formulas")
    eta, t, T = sp.symbols("eta t T", positive=True)
    g = sp.symbols("g0:4", real=True)
    adagrad_left = (eta / sp.sqrt(t + 1)) / sp.sqrt(sum(gi**2 for gi in g) / (t + 1))
    adagrad_right = eta / sp.sqrt(sum(gi**2 for gi in g))
    same = sp.simplify((adagrad_left - adagrad_right).subs(t, 3)) == 0
    d.steps.append(
        Step(
            "AdaGrad step size",
            "(eta/sqrt(t+1)) / sqrt(1/(t+1) sum g_i^2) vs eta / sqrt(sum g_i^2), t = 3",
            (adagrad_left.subs(t, 3), adagrad_right),
        )
    )
    d.notes.append(f"AdaGrad: the two printed forms are equal: {same}")
    alpha, sigma_prev, gt = sp.symbols("alpha sigma_prev g_t", positive=True)
    printed = eta / (sp.sqrt(alpha * sigma_prev**2) + (1 - alpha) * gt**2)
    standard = eta / sp.sqrt(alpha * sigma_prev**2 + (1 - alpha) * gt**2)
    point = {alpha: R(9, 10), sigma_prev: R(1, 2), gt: R(2), eta: R(1, 10)}
    d.steps.append(
        Step(
            "RMSprop step size",
            "printed eta / (sqrt(alpha sigma^2) + (1 - alpha) g^2) vs eta / sqrt(alpha sigma^2 + (1 - alpha) g^2)",
            (printed.subs(point), standard.subs(point)),
        )
    )
    d.errata.append(
        Erratum(
            "RMSprop step size",
            0,
            "eta / (sqrt(alpha sigma_{t-1}^2) + (1 - alpha) g_t^2)",
            standard,
            "RMSprop",
            "a term left out of the root: (1 - alpha) g_t^2 belongs under the square root; at alpha = 0.9, "
            "sigma = 0.5, "
            f"g = 2, eta = 0.1 the printed form gives {decimal(printed.subs(point))} instead of "
            f"{decimal(standard.subs(point))}",
        )
    )
    d.errata.append(
        Erratum(
            "step decay",
            0,
            "eta_t = eta / sqrt(t + 1)",
            sp.Symbol("eta*gamma**floor(t/step_size)"),
            "learning-rate decay",
            "a wrong name: eta / sqrt(t + 1) is inverse-square-root decay; step decay multiplies by gamma every "
            "step_size "
            "steps (funcmlp's 'step' schedule)",
        )
    )
    cosine = eta * (1 + sp.cos(sp.pi * t / T)) / 2
    d.steps.append(
        Step(
            "cosine decay",
            "eta (1 + cos(pi t / T)) / 2 at t = 0, T/2, T",
            (cosine.subs(t, 0), cosine.subs(t, T / 2), cosine.subs(t, T)),
        )
    )
    return d
