"""What a gradient check reports: one row per parameter array, and the verdict; :class:`FunctionCheckReport`
the same for :func:`funcmlp.check_function` (one row per leaf of its arguments).

``abs`` = max_i |g_i - ref_i| (the worst entry's index beside it); ``rel`` = abs / max(max_i
|ref_i|, tiny): the error relative to the largest reference entry of that array. A check never
passes on nothing: a NaN or infinity anywhere, or no entry compared, is a FAIL.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class ErrorRow(NamedTuple):
    """One parameter array's comparison: ``layer`` is 1-based, ``param`` is ``"W"`` or ``"b"``.

    ``compared`` counts the entries compared; ``nonfinite`` names the first NaN/inf entry
    (in the value or the reference) when there is one, and the row then fails.
    """

    layer: int
    param: str
    shape: tuple[int, ...]
    reference: str
    abs_error: float
    rel_error: float
    worst_index: tuple[int, ...]
    compared: int = 0
    nonfinite: str = ""


class GradCheckReport(NamedTuple):
    """Comparison of manual gradients with ``jax.grad`` and (optionally) finite differences.

    ``str(report)`` prints a table. ``report.passed`` holds only if every value compared is
    finite, every row is within its tolerance (``rtol_autodiff`` for ``jax.grad``,
    ``rtol_fd`` for finite differences) and, when finite differences were asked for, at
    least one entry was compared by them: a check never passes on nothing.
    """

    rows: tuple[ErrorRow, ...]
    loss: float
    rtol_autodiff: float
    rtol_fd: float
    fd_entries: int
    total_entries: int
    kink_entries: int = 0
    fd_sampled: int = 0
    finite_differences: bool = True

    def max_rel_error(self, reference: str) -> float:
        """Worst relative error against ``"autodiff"`` or ``"finite differences"`` (NaN if none compared)."""
        errors = [r.rel_error for r in self.rows if r.reference == reference]
        return max(errors) if errors else float("nan")

    @property
    def problems(self) -> list[str]:
        """Why the check fails, one line each (empty when it passes)."""
        found = [
            f"layer {r.layer} {r.param}{list(r.worst_index)} vs {r.reference}: {r.nonfinite}"
            for r in self.rows
            if r.nonfinite
        ]
        if not np.isfinite(self.loss):
            found.append(f"the loss is {self.loss}")
        auto = self.max_rel_error("autodiff")
        if not auto <= self.rtol_autodiff:
            found.append(f"manual vs jax.grad {auto:.1e} > {self.rtol_autodiff:.0e}")
        if self.finite_differences:
            fd = self.max_rel_error("finite differences")
            if self.fd_entries == 0:
                found.append(
                    f"no entry compared by finite differences ({self.kink_entries} of {self.fd_sampled} crossed a kink)"
                )
            elif not fd <= self.rtol_fd:
                found.append(f"manual vs finite differences {fd:.1e} > {self.rtol_fd:.0e}")
        return found

    @property
    def passed(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: worst errors, what was compared and left out, PASS/FAIL."""
        text = f"max relative error vs jax.grad {self.max_rel_error('autodiff'):.1e} on {self.total_entries} entries"
        if self.finite_differences:
            text += (
                f", vs finite differences {self.max_rel_error('finite differences'):.1e} "
                f"on {self.fd_entries} of {self.fd_sampled} sampled entries"
            )
            if self.kink_entries:
                text += f" ({self.kink_entries} left out: their perturbation crossed a kink)"
        return f"gradient check {verdict(self.problems)}: {text}"

    def __str__(self) -> str:
        header = (
            f"{'layer':>5} {'param':>5} {'shape':>10} {'reference':>18} {'compared':>8} "
            f"{'max abs err':>12} {'max rel err':>12}  worst entry"
        )
        lines = [header, "-" * len(header)]
        for r in self.rows:
            note = f"  {r.nonfinite}" if r.nonfinite else ""
            lines.append(
                f"{r.layer:>5} {r.param:>5} {str(r.shape):>10} {r.reference:>18} {r.compared:>8} "
                f"{r.abs_error:>12.3e} {r.rel_error:>12.3e}  {r.worst_index}{note}"
            )
        lines.append(self.summary())
        return "\n".join(lines)


def verdict(problems: list[str]) -> str:
    """``PASS``, or ``FAIL (...)`` listing why: the word every check's summary line gives.

    Example:
        >>> verdict([]), verdict(["the loss is nan"])
        ('PASS', 'FAIL (the loss is nan)')
    """
    return "PASS" if not problems else "FAIL (" + "; ".join(problems) + ")"


class Errors(NamedTuple):
    """How far ``value`` is from ``reference`` over the entries compared: the worst absolute error,
    it relative to the largest reference entry, the worst entry's index, the count compared, and
    the first NaN/inf entry (in ``value`` or the reference, ``nonfinite``: then both errors are inf)."""

    abs_error: float
    rel_error: float
    worst_index: tuple
    compared: int
    nonfinite: str = ""


def errors(value: np.ndarray, reference: np.ndarray, label: str, mask=None, checked: str = "manual") -> Errors:
    """:class:`Errors` of ``value`` against ``reference`` (named ``label``) where ``mask`` holds.

    Example:
        >>> errors(np.array([1.0, 2.5]), np.array([1.0, 2.0]), "finite differences")
        Errors(abs_error=0.5, rel_error=0.25, worst_index=(1,), compared=2, nonfinite='')
    """
    mask = np.ones(value.shape, bool) if mask is None else mask
    compared = int(mask.sum())
    for what, array in ((checked, value), (label, reference)):
        bad = mask & ~np.isfinite(array)
        if bad.any():
            index = tuple(int(i) for i in np.argwhere(bad)[0])
            return Errors(float("inf"), float("inf"), index, compared, f"{what} is {array[index]} (not finite)")
    diff = np.where(mask, np.abs(value - reference), 0.0)
    reference = np.where(mask, reference, 0.0)
    worst = np.unravel_index(int(np.argmax(diff)), diff.shape) if diff.size else ()
    abs_error = float(diff.max()) if diff.size else 0.0
    scale = max(float(np.abs(reference).max()) if reference.size else 0.0, np.finfo(np.float64).tiny)
    return Errors(abs_error, abs_error / scale, tuple(int(i) for i in worst), compared)


def compare(layer: int, name: str, value: np.ndarray, reference: np.ndarray, label: str, mask=None) -> ErrorRow:
    """One parameter array's :class:`ErrorRow`: the manual gradient against ``reference``."""
    found = errors(value, reference, label, mask)
    return ErrorRow(
        layer,
        name,
        tuple(value.shape),
        label,
        found.abs_error,
        found.rel_error,
        found.worst_index,
        found.compared,
        found.nonfinite,
    )


class Row(NamedTuple):
    """One leaf's comparison: ``checked`` (``"jax.grad"`` or ``"grad"``) against ``reference``
    (``"finite differences"``, ``"random directions"`` or ``"jax.grad"``)."""

    leaf: str
    shape: tuple
    checked: str
    reference: str
    compared: int
    abs_error: float
    rel_error: float
    worst_index: tuple
    nonfinite: str = ""


class FunctionCheckReport(NamedTuple):
    """The rows and the verdict: ``passed`` when every value is finite, every leaf had entries
    compared and every row is within its tolerance (``rtol_grad`` for ``grad`` against
    ``jax.grad``, ``rtol_fd`` against the differences)."""

    rows: tuple
    value: float
    rtol_fd: float
    rtol_grad: float

    @property
    def problems(self) -> list[str]:
        """Why the check fails, one line each (empty when it passes)."""
        found = [] if np.isfinite(self.value) else [f"f(*args) is {self.value}"]
        for r in self.rows:
            tolerance = self.rtol_grad if r.reference == "jax.grad" else self.rtol_fd
            where = f"{r.leaf}: {r.checked} vs {r.reference}"
            if r.nonfinite:
                found.append(f"{where}: {r.nonfinite} at {list(r.worst_index)}")
            elif r.compared == 0:
                found.append(f"{where}: no entry compared")
            elif not r.rel_error <= tolerance:
                found.append(f"{where} {r.rel_error:.1e} > {tolerance:.0e} (worst entry {list(r.worst_index)})")
        return found

    @property
    def passed(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        """One line: the worst error of each comparison, PASS/FAIL."""
        worst = {}
        for r in self.rows:
            key = f"{r.checked} vs {r.reference}"
            worst[key] = max(worst.get(key, 0.0), r.rel_error)
        text = ", ".join(f"{key} {error:.1e}" for key, error in worst.items())
        return f"function check {verdict(self.problems)}: max relative error {text}"

    def __str__(self) -> str:
        header = f"{'leaf':>16} {'shape':>10} {'checked':>9} {'reference':>18} {'compared':>8} {'max rel err':>12}"
        lines = [header, "-" * len(header)]
        for r in self.rows:
            note = f"  {r.nonfinite}" if r.nonfinite else ""
            lines.append(
                f"{r.leaf:>16} {str(r.shape):>10} {r.checked:>9} {r.reference:>18} {r.compared:>8} "
                f"{r.rel_error:>12.3e}{note}"
            )
        lines.append(self.summary())
        return "\n".join(lines)
