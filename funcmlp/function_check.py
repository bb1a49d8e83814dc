"""Check the gradient of any scalar function: what JAX computes (a ``custom_vjp`` or ``custom_jvp``
honoured) and, optionally, a hand-written one, against central finite differences in float64.

Contract::

    check_function(f, *args, grad=None, eps=1e-6, max_entries=1000, directions=8, key=None,
                   rtol_fd=1e-6, rtol_grad=1e-10) -> FunctionCheckReport

``f(*args)`` returns a scalar; every floating-point leaf of every argument (a pytree) is
checked, integer leaves are held fixed. A leaf of at most ``max_entries`` entries gets its full
gradient by central differences, ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``; a larger one
``directions`` random unit directions u in its own space, the quotient along u against ``u . g``
(its error relative to ``|g|``). ``grad(*args)``, where given, returns what
``jax.grad(f, argnums=(0, ..., len(args) - 1))`` returns (a tuple, one gradient per argument)
and is compared with JAX's gradient (``rtol_grad``) and with the differences (``rtol_fd``). The
check never passes on nothing: a NaN or infinity, or a leaf no entry of which was compared, is
a FAIL. Central differences assume ``f`` is smooth within ``eps`` of the point (not at a kink).
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp.arguments import check_key, check_number, check_positive_int
from funcmlp.gradcheck_report import errors, verdict


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


def _leaf_names(args: tuple) -> list[str]:
    paths = jax.tree_util.tree_flatten_with_path(args)[0]
    return [f"args{jax.tree_util.keystr(path)}" for path, _ in paths]


def _differences(scalar, point: np.ndarray, steps: np.ndarray, eps: float) -> np.ndarray:
    """``(scalar(point + eps u) - scalar(point - eps u)) / (2 eps)`` for each row u of ``steps``,
    in one compiled loop."""

    def quotient(step):
        return (scalar(point + eps * step) - scalar(point - eps * step)) / (2 * eps)

    return np.asarray(jax.jit(lambda all_steps: jax.lax.map(quotient, all_steps))(jnp.asarray(steps)))


def check_function(
    f,
    *args,
    grad=None,
    eps: float = 1e-6,
    max_entries: int = 1000,
    directions: int = 8,
    key=None,
    rtol_fd: float = 1e-6,
    rtol_grad: float = 1e-10,
) -> FunctionCheckReport:
    """Compare the gradient JAX computes for the scalar function ``f`` at ``args`` (and ``grad``'s,
    where given) with central finite differences, in float64 (the caller's settings are left as
    they were). ``key`` draws the random directions (default ``jax.random.key(0)``).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> @jax.custom_vjp
        ... def cube(x):
        ...     return jnp.sum(x**3)
        >>> cube.defvjp(lambda x: (cube(x), x), lambda x, g: (g * 3 * x**2,))
        >>> check_function(cube, jnp.array([0.5, -1.0, 2.0])).passed
        True
        >>> cube.defvjp(lambda x: (cube(x), x), lambda x, g: (g * 3 * x,))  # a wrong rule
        >>> check_function(cube, jnp.array([0.5, -1.0, 3.0])).problems  # |3x^2 - 3x| = 18 at x = 3, of 3x^2 = 27
        ['args[0]: jax.grad vs finite differences 6.7e-01 > 1e-06 (worst entry [2])']
    """
    eps = check_number(eps, "eps", above=0, example="1e-6 (float64: error ~ eps^2 + 1e-16 / eps)")
    max_entries = check_positive_int(max_entries, "max_entries", "entries differenced one by one")
    directions = check_positive_int(directions, "directions", "random directions per large leaf")
    key = check_key(key if key is not None else jax.random.key(0))
    if not args:
        raise ValueError("check_function(f, *args): give the arguments to check f at, e.g. check_function(f, x)")
    with jax.enable_x64(True):
        leaves, treedef = jax.tree_util.tree_flatten(args)
        arrays = [np.asarray(leaf) for leaf in leaves]
        floating = [np.issubdtype(a.dtype, np.floating) for a in arrays]
        if not any(floating):
            raise ValueError("check_function: no argument has floating-point entries to differentiate")
        point = [a.astype(np.float64) if is_float else a for a, is_float in zip(arrays, floating, strict=True)]
        at = jax.tree_util.tree_unflatten(treedef, [jnp.asarray(a) for a in point])
        value = jnp.asarray(f(*at))
        if value.shape != () or not jnp.issubdtype(value.dtype, jnp.floating):
            raise ValueError(
                f"check_function: f must return a real scalar (a loss), got {value.dtype} of shape {value.shape}; "
                "sum or average what it returns"
            )
        argnums = tuple(range(len(args)))
        jax_leaves = jax.tree_util.tree_leaves(jax.grad(f, argnums=argnums, allow_int=True)(*at))
        own_leaves = None if grad is None else _own_gradient(grad, at, treedef)
        rows, names = [], _leaf_names(args)
        for index, name in enumerate(names):
            if not floating[index]:
                continue

            def scalar(flat, index=index):
                values = [jnp.asarray(a) for a in point]
                values[index] = flat.reshape(point[index].shape)
                return f(*jax.tree_util.tree_unflatten(treedef, values))

            key, drawn = jax.random.split(key)
            gradients = [("jax.grad", np.asarray(jax_leaves[index], np.float64))]
            if own_leaves is not None:
                gradients.append(("grad", np.asarray(own_leaves[index], np.float64)))
                rows.append(_row(name, "grad", "jax.grad", gradients[1][1], gradients[0][1]))
            rows += _against_differences(name, scalar, point[index], gradients, eps, max_entries, directions, drawn)
        return FunctionCheckReport(tuple(rows), float(value), rtol_fd, rtol_grad)


def _own_gradient(grad, at, treedef) -> list:
    """The leaves of ``grad(*at)``, checked to have the arguments' structure."""
    found = grad(*at)
    if not isinstance(found, tuple) or jax.tree_util.tree_structure(found) != treedef:
        raise ValueError(
            "check_function: grad(*args) must return one gradient per argument, as a tuple with the arguments' "
            f"structure ({treedef}), as jax.grad(f, argnums=tuple(range(len(args)))) does; got "
            f"{jax.tree_util.tree_structure(found)}"
        )
    return jax.tree_util.tree_leaves(found)


def _row(name: str, checked: str, reference: str, value: np.ndarray, expected: np.ndarray) -> Row:
    found = errors(value, expected, reference, checked=checked)
    return Row(
        name,
        tuple(value.shape),
        checked,
        reference,
        found.compared,
        found.abs_error,
        found.rel_error,
        found.worst_index,
        found.nonfinite,
    )


def _against_differences(name, scalar, point, gradients, eps, max_entries, directions, key) -> list[Row]:
    """Rows of each gradient of one leaf against its central differences: every entry of a small
    leaf, ``directions`` random unit directions of a large one."""
    size, flat = point.size, point.reshape(-1)
    if size <= max_entries:
        quotients = _differences(scalar, flat, np.eye(size), eps).reshape(point.shape)
        return [_row(name, checked, "finite differences", g, quotients) for checked, g in gradients]
    drawn = np.asarray(jax.random.normal(key, (directions, size), jnp.float64))
    units = drawn / np.linalg.norm(drawn, axis=1, keepdims=True)
    quotients = _differences(scalar, flat, units, eps)
    rows = []
    for checked, g in gradients:
        along = units @ g.reshape(-1)
        found = errors(along, quotients, "random directions", checked=checked)
        scale = max(float(np.linalg.norm(g)), np.finfo(np.float64).tiny)  # u . g is small where u is nearly normal to g
        relative = found.rel_error if found.nonfinite else found.abs_error / scale
        rows.append(
            Row(
                name,
                tuple(point.shape),
                checked,
                "random directions",
                found.compared,
                found.abs_error,
                relative,
                found.worst_index,
                found.nonfinite,
            )
        )
    return rows
