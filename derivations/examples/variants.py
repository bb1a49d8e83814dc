"""The computations behind the slips that change a step rather than a number: a worked example
replayed with biases updated or kept, without its L2 term, online instead of batch (or the
other way round), or with hidden sensitivities computed from the already updated weights of
the next layer; and the value such a variant gives for a printed step.

Contract: a checked example (``WorkedExample``) in, the variant's values by step name out,
computed by the engine as the replay computes the example (momentum, L2, fixed parameters, the
first online step) and laid out by :mod:`derivations.examples.layout`. :mod:`derivations.examples.slips` decides
which slip a printed number shows.
"""

from __future__ import annotations

from dataclasses import replace

import sympy as sp

from derivations.examples.every_step import values_at
from derivations.examples.iterate import iterate
from derivations.examples.layout import WORKED, record
from derivations.examples.spec import WorkedExample
from derivations.model import cost, engine
from derivations.model.derivation import Derivation, agrees
from derivations.model.quantity import Key


def updated_next_step(ex: WorkedExample, layers, changes=None, alg: engine.Algebra = engine.SYMPY) -> engine.Pass:
    """The slip of computing layer k's sensitivities with the already updated ``W^{k+1}`` (one
    example, plain gradient descent): the engine's formulas, layer by layer from the output, each
    layer updated before the sensitivity is carried back through it."""
    net, x, y = ex.network(layers), ex.x[0], ex.y[0]
    ns, outputs = engine.forward(alg, net, x)
    loss, s_out = engine.loss_terms(alg, net.loss, net.activations[-1], ns[-1], y, outputs[-1])
    depth, result = len(net.layers), engine.Pass(loss=loss)
    s, new_layers = {depth: s_out}, list(net.layers)
    for k in range(depth, 0, -1):
        W, b = net.layers[k - 1]
        kept = ex.fixed[k - 1] if ex.fixed else ()
        dW = engine.weight_gradient(alg, s[k], outputs[k - 1])
        new_W = (
            W
            if "W" in kept
            else [
                [engine.update(alg, w, ex.learning_rate, g)[0] for w, g in zip(row, grow, strict=True)]
                for row, grow in zip(W, dW, strict=True)
            ]
        )
        new_b = (
            b
            if b is None or "b" in kept
            else [engine.update(alg, v, ex.learning_rate, g)[0] for v, g in zip(b, s[k], strict=True)]
        )
        new_layers[k - 1] = (new_W, new_b)
        result.dW[k], result.db[k] = dW, None if b is None else list(s[k])
        if k > 1:
            result.g[k - 1] = [alg.settle(engine.upstream(alg, new_W, s[k]))]
            s[k - 1] = alg.settle(engine.sensitivity(alg, net.activations[k - 2], ns[k - 2], result.g[k - 1][0]))
    result.n = {k: [ns[k - 1]] for k in range(1, depth + 1)}
    result.a = {k: [outputs[k]] for k in range(depth + 1)}
    result.s = {k: [s[k]] for k in s}
    result.new_layers, result.changes = tuple(new_layers), None
    return result


def variant_values(ex: WorkedExample, result: engine.Pass) -> dict:
    d = Derivation(ex.name, ex.title)
    record(d, ex, result)
    return d.values


def losses_after(ex: WorkedExample, rule, steps: set) -> dict:
    """{t: the loss after step t} for the steps asked, under the step ``rule``."""
    if not steps:
        return {}
    options = {"rule": rule} if rule else {}
    losses, _ = iterate(
        ex, tuple(zip(ex.weights, ex.biases, strict=True)), max(steps), start=0, keep=lambda t: t in steps, **options
    )
    return losses


def variants(plain: WorkedExample) -> dict:
    """{slip: the example computed with it}, for the slips that change the computation of the step
    (a batch example taken ``update = "online"`` stands for its whole pass of one step per example)."""
    variants = {}  # (a flag in the name: WorkedExample has no field for "replay the whole online pass")
    if any(plain.biases) and plain.learning_rate is not None:  # no learning rate: no update, nothing to toggle
        toggled = tuple(frozenset(names ^ {"b"}) for names in (plain.fixed or (frozenset(),) * len(plain.weights)))
        kept = any("b" in names for names in (plain.fixed or ()))
        variants["biases updated (the rule keeps them)" if kept else "biases not updated"] = replace(
            plain, fixed=toggled
        )
    if plain.l2 is not None:
        variants["the L2 term left out of the gradients"] = replace(plain, l2=None)
    if plain.momentum is not None and plain.learning_rate is not None:
        variants[MOMENTUM_LEFT_OUT] = replace(plain, momentum=None, velocity=None)
    if len(plain.x) > 1 and plain.learning_rate is not None:
        if plain.update == "batch":
            variants["one step per example (online) instead of one step on the batch's mean"] = replace(
                plain, update="online", name=WHOLE_PASS
            )
        else:
            variants["one step on the mean of all the examples instead of the first example's"] = replace(
                plain, update="batch"
            )
    return variants


WHOLE_PASS = "(a batch taken online: its whole pass)"
MOMENTUM_LEFT_OUT = "momentum left out: each step w - eta dL/dw, no velocity carried from the step before"


def first_step_values(ex: WorkedExample) -> dict:
    """The values of the first step as the replay shows it (momentum, L2, fixed parameters; an
    online example's first step is its first example's), or for :data:`WHOLE_PASS` the first
    example's step with the parameters after one step per example, in order."""
    online = ex.online
    first = replace(ex, x=ex.x[:1], y=ex.y[:1]) if online else ex
    options = {"alg": WORKED, "fixed": ex.fixed, "momentum": ex.momentum, "l2": ex.l2}
    eta = sp.Integer(0) if ex.learning_rate is None else ex.learning_rate  # as the replay: no update shown
    result = engine.run_step(first.network(), first.x, first.y, eta, previous=ex.velocity, **options)
    if ex.name == WHOLE_PASS:
        for e in range(1, len(ex.x)):
            result = engine.run_step(
                ex.network(result.new_layers),
                ex.x[e : e + 1],
                ex.y[e : e + 1],
                ex.learning_rate,
                previous=result.changes,
                **options,
            )
        d = Derivation(first.name, first.title)
        record(d, first, result)
        return {step.name: list(step.values) for step in d.steps if step.key is not None and step.key.stage == "new"}
    return variant_values(first, result)


def _parameters(ex: WorkedExample) -> int:
    return sum(len(W) * len(W[0]) + len(b or ()) for W, b in zip(ex.weights, ex.biases, strict=True))


class Replays:
    """Each variant of the computation replayed once and shared by every printed number compared with it
    (five wrong losses after N steps replay each variant once, not five times): the losses after the
    steps ``steps`` (all asked at once), and the first step's values; replays past ``budget``
    (:class:`derivations.model.cost.Budget`) are left out and named in :attr:`skipped` (the slip, the units,
    the steps it would replay)."""

    def __init__(self, steps: set, budget: cost.Budget):
        self.steps, self.budget, self.skipped = set(steps), budget, []
        self._losses: dict = {}
        self._first: dict = {}
        self._later: dict = {}

    def losses(self, label: str, variant: WorkedExample, engine_step=None) -> dict:
        """{t: the loss after step t} under the variant, for every step asked; {} where over the budget."""
        if label not in self._losses:
            parameters = _parameters(variant)
            units, _ = cost.replay_cost(parameters=parameters, examples=len(variant.x), steps=max(self.steps) + 1)
            rule = (lambda ex, layers, changes: engine_step(ex, layers, changes)) if engine_step else None
            self._losses[label] = losses_after(variant, rule, self.steps) if self.budget.spend(units) else {}
            if not self._losses[label]:
                self.skipped.append((label, units, max(self.steps)))
        return self._losses[label]

    def later(self, label: str, variant: WorkedExample, t: int | None) -> dict:
        """The variant's step ``t`` written out as the replay writes it (``t`` >= 2), or with ``t`` None its final
        parameters (:func:`derivations.examples.every_step.values_at`); {} where over the budget."""
        if (label, t) not in self._later:
            parameters = _parameters(variant)
            steps = variant.steps if t is None else t
            units, _ = cost.replay_cost(parameters=parameters, examples=len(variant.x), steps=steps)
            self._later[(label, t)] = values_at(variant, t) if self.budget.spend(units) else {}
            if not self._later[(label, t)]:
                self.skipped.append((label, units, steps))
        return self._later[(label, t)]

    def first(self, label: str, variant: WorkedExample, engine_step=None, family: str = "") -> dict:
        """The variant's first step, by step name (:func:`first_step_values`, or ``engine_step``'s); a slip of a
        ``family`` (one of many variants of a step) is paid for from the budget, and {} once it is spent."""
        if label not in self._first:
            layers = tuple(zip(variant.weights, variant.biases, strict=True))
            if family:
                units, _ = cost.replay_cost(parameters=_parameters(variant), examples=len(variant.x), steps=1)
                if not self.budget.spend(units):
                    self.skipped += [(family, units, 1)] if family not in (s[0] for s in self.skipped) else []
                    self._first[label] = {}
                    return {}
            self._first[label] = (
                variant_values(variant, engine_step(variant, layers, None, WORKED))
                if engine_step
                else first_step_values(variant)
            )
        return self._first[label]


def loss_after_step(key: Key | None) -> bool:
    """Whether ``key`` is the loss after some full-batch steps (``L after step t``)."""
    return key is not None and (key.quantity, key.stage, key.unit) == ("L", "after", "step")


def reproduce(
    e, label: str, variant: WorkedExample, replays: Replays, engine_step, size: int = 0, later=False, family: str = ""
) -> tuple | None:
    """The erratum's step under a variant of the computation, or None where it does not reproduce the
    number (or where the variant's step has another number of entries than the ``size`` shown). ``later``: the
    erratum is of a step written out after the first (its ``t``) or of the final parameters (None); ``variant``
    then replays the example's steps. ``family``: the slip's first step is paid for (:meth:`Replays.first`)."""
    if loss_after_step(e.key):
        value = replays.losses(label, variant, engine_step).get(e.key.t)
    else:
        first = later is False
        values = replays.first(label, variant, engine_step, family) if first else replays.later(label, variant, later)
        same = e.step in values and (not size or len(values[e.step]) == size)
        value = values[e.step][e.index] if same and e.index < len(values[e.step]) else None
    return (label, value) if value is not None and agrees(e.printed, value) else None
