"""A network the whole-chain proof checks, and what a check proved.

Contract: sizes, activations (registry names), a loss and a batch size in, a checked
:class:`Network` with its parameter and data symbols out (row convention: ``w^k_{i,j}`` joins
input i to unit j of layer k); :class:`ChainReport` holds a check's result and prints it.
:mod:`derivations.proofs.chain` runs the checks.

Example:
    >>> net = Network((2, 2, 1), ("sigmoid", "sigmoid"), "sse")
    >>> net.count_parameters(), [str(s) for s in net.parameter_symbols()[1][1]]
    (9, ['b^2_{1}'])
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import mpmath
import sympy as sp

from derivations.model import symbolic
from funcmlp.registry.activations import get_activation
from funcmlp.registry.losses import get_loss

MAX_PARAMETERS = 25_000
"""The largest network a check proves (sympy, entry by entry): about 40 s on a CPU."""


@dataclass(frozen=True)
class Network:
    """A network to check: sizes (d_0, ..., d_L), one activation per layer, a loss, a batch size."""

    sizes: tuple
    activations: tuple
    loss: str
    batch: int = 1
    resolved: tuple = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self):
        if len(self.sizes) < 2 or any(not isinstance(d, int) or d < 1 for d in self.sizes):
            raise ValueError(
                f"sizes must be at least two positive integers (inputs, then each layer's units), got {self.sizes}"
            )
        if len(self.activations) != len(self.sizes) - 1:
            raise ValueError(f"expected {len(self.sizes) - 1} activations (one per layer), got {len(self.activations)}")
        if self.count_parameters() > MAX_PARAMETERS:
            raise ValueError(
                f"a network of sizes {','.join(map(str, self.sizes))} has {self.count_parameters():,} parameters; the "
                f"symbolic check proves at most {MAX_PARAMETERS:,} (entry by entry, in sympy): check a narrower "
                "network with the same layers and activations (the formulas do not depend on the width)"
            )
        resolved = tuple(symbolic.require_symbolic(get_activation(name)) for name in self.activations)
        object.__setattr__(self, "resolved", resolved)
        get_loss(self.loss).check_output(resolved[-1], self.sizes[-1])

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1

    def parameter_symbols(self):
        """[(W^k as a (d_{k-1}, d_k) matrix of symbols ``w^k_{i,j}``, b^k as a list of ``b^k_{j}``)]
        per layer (row convention: ``w^k_{i,j}`` joins input i to unit j; indices from 1)."""
        layers = []
        for k in range(1, self.depth + 1):
            W = sp.Matrix(
                self.sizes[k - 1], self.sizes[k], lambda i, j: sp.Symbol(f"w^{k}_{{{i + 1},{j + 1}}}", real=True)
            )
            b = [sp.Symbol(f"b^{k}_{{{j + 1}}}", real=True) for j in range(self.sizes[k])]
            layers.append((W, b))
        return layers

    def data_symbols(self):
        """Inputs ``x_{i}`` and targets ``y_{j}`` of each example (``x^(e)_{i}`` in a batch)."""
        example = (lambda e: "") if self.batch == 1 else (lambda e: f"^({e + 1})")
        xs = [
            [sp.Symbol(f"x{example(e)}_{{{i + 1}}}", real=True) for i in range(self.sizes[0])]
            for e in range(self.batch)
        ]
        ys = [
            [sp.Symbol(f"y{example(e)}_{{{j + 1}}}", real=True) for j in range(self.sizes[-1])]
            for e in range(self.batch)
        ]
        return xs, ys

    def count_parameters(self) -> int:
        return sum(self.sizes[k - 1] * self.sizes[k] + self.sizes[k] for k in range(1, self.depth + 1))


@dataclass
class ChainReport:
    """What a chain check proved: the method, how many derivatives, the failures (name, derived,
    closed form) and, for the numeric methods, the worst difference (name, absolute, relative)."""

    network: Network
    method: str
    checked: int
    failures: list
    seconds: float
    worst: tuple | None = None
    points: int = 0
    digits: int = 0

    @property
    def passed(self) -> bool:
        return not self.failures

    def describe(self) -> str:
        """The method in words, with its points and precision."""
        at = f"at {self.points} random rational points in {self.digits}-digit arithmetic"
        return {
            "composed": f"sympy.diff of the composed loss for every parameter, compared with the closed form {at}",
            "graph": "reverse accumulation over the composed loss's expression graph (sympy's derivative of "
            "each node), "
            f"compared with the closed form {at}",
            "local": "sympy.diff of each local definition, the chain rule edge by edge, a symbolic zero test "
            "against the closed form",
        }[self.method]

    def __str__(self) -> str:
        n = self.network
        verdict = "PASS" if self.passed else "FAIL"
        lines = [
            f"{verdict}  gradient of {'-'.join(map(str, n.sizes))} {'/'.join(n.activations)} {n.loss} batch {n.batch}: "
            f"{self.checked:,} derivatives dL/dw^k_{{i,j}}, dL/db^k_{{j}} equal the closed form "
            "(a^(k-1))^T s^k, s^k = s^(k+1) (W^(k+1))^T F'(n^k)",
            "      (the symbolic check works in the row convention: w^k_{i,j} joins input i to unit j of layer k)",
            f"      by {self.describe()}",
        ]
        if self.worst is not None:
            name, absolute, relative = self.worst
            lines.append(
                f"      worst difference {mpmath.nstr(absolute, 3)} absolute, {mpmath.nstr(relative, 3)} "
                f"relative, at {name}; "
                f"{self.seconds:.2f} s"
            )
        else:
            lines.append(f"      every difference simplifies to exactly 0; {self.seconds:.2f} s")
        lines += [
            clip(f"      FAIL {name}: derived {derived}, closed form {closed}")
            for name, derived, closed in self.failures[:5]
        ]
        if len(self.failures) > 5:
            lines.append(f"      ... and {len(self.failures) - 5} more failures")
        return "\n".join(lines)


def readable(expr) -> str:
    """An expression as text, the activations' sympy functions by their registry names
    (``sigmoid_derived_0(n)`` -> ``sigmoid(n)``, ``tanh_slope_3(n)`` -> ``tanh'(n)``)."""
    return re.sub(
        r"\b(\w+?)_(derived|declared|slope)_\d+\(",
        lambda m: m.group(1) + ("'" if m.group(2) == "slope" else "") + "(",
        sp.sstr(expr),
    )


def clip(line: str, width: int = 200) -> str:
    """``line`` cut to ``width`` characters, marked with `` ...`` where cut."""
    return line if len(line) <= width else line[: width - 5] + " ..."
