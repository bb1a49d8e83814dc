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

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp.arguments import check_key, check_number, check_positive_int
from funcmlp.gradcheck_report import errors, verdict
from funcmlp.memory import check_fits


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


def _moved(f, treedef, leaves: list, floating: list, index: int):
    """``(floats, flat) -> f(*args)`` with leaf ``index`` replaced by ``flat`` (reshaped): the
    floating-point leaves are arguments of the compiled loop (never constants in its program), the
    others (integers, held fixed) stay concrete values, as ``f`` was called with them."""
    shape = leaves[index].shape

    def value(floats, flat):
        given = iter(floats)
        values = [next(given) if is_float else leaf for leaf, is_float in zip(leaves, floating, strict=True)]
        values[index] = flat.reshape(shape)
        return f(*jax.tree_util.tree_unflatten(treedef, values))

    return value


def _entry_quotients(value, floats: list, flat, eps: float) -> np.ndarray:
    """``(value(x + eps e_i) - value(x - eps e_i)) / (2 eps)`` for each entry i of ``flat``, in one
    compiled loop that moves one entry per step (nothing of the leaf's size squared is built)."""

    def run(floats, flat):
        def quotient(i):
            return (value(floats, flat.at[i].add(eps)) - value(floats, flat.at[i].add(-eps))) / (2 * eps)

        return jax.lax.map(quotient, jnp.arange(flat.size))

    return np.asarray(jax.jit(run)(floats, flat))


def _direction_quotients(value, floats: list, flat, eps: float, keys, gradients: list) -> tuple:
    """For each key, a random unit direction u of ``flat``'s space, drawn inside the compiled loop
    (one at a time: never a directions x entries matrix): the quotient along u and ``u . g`` of
    each of ``gradients``; ``(quotients (directions,), along (directions, len(gradients)))``."""

    def run(floats, flat, keys, gradients):
        def along(key):
            u = jax.random.normal(key, flat.shape, flat.dtype)
            u = u / jnp.linalg.norm(u)
            quotient = (value(floats, flat + eps * u) - value(floats, flat - eps * u)) / (2 * eps)
            return quotient, jnp.stack([u @ g.reshape(-1) for g in gradients])

        return jax.lax.map(along, keys)

    quotients, products = jax.jit(run)(floats, flat, keys, gradients)
    return np.asarray(quotients), np.asarray(products)


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
    they were). ``key`` draws the random directions (default ``jax.random.key(0)``). A ``ValueError``,
    before anything is allocated, where the check's float64 arrays would not fit the memory this
    process may use (:mod:`funcmlp.memory`), or where ``f`` or ``grad`` returns what is not a real
    scalar or not one gradient of each argument's shape.

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
    for name, tolerance in (("rtol_fd", rtol_fd), ("rtol_grad", rtol_grad)):
        check_number(tolerance, name, above=0, example="1e-6 against the differences, 1e-10 against jax.grad")
    with jax.enable_x64(True):
        leaves, treedef = jax.tree_util.tree_flatten(args)
        # arrays (a NumPy or JAX array, not copied) read by their dtype and shape; other leaves made arrays
        arrays = [leaf if hasattr(leaf, "dtype") and hasattr(leaf, "shape") else np.asarray(leaf) for leaf in leaves]
        floating = [np.issubdtype(a.dtype, np.floating) for a in arrays]
        if not any(floating):
            raise ValueError("check_function: no argument has floating-point entries to differentiate")
        _check_memory(arrays, floating, grad is not None)
        at_leaves = [
            jnp.asarray(a, jnp.float64) if is_float else jnp.asarray(a)
            for a, is_float in zip(arrays, floating, strict=True)
        ]
        del arrays
        at = jax.tree_util.tree_unflatten(treedef, at_leaves)
        value = _scalar_value(f(*at))
        argnums = tuple(range(len(args)))
        jax_leaves = jax.tree_util.tree_leaves(jax.grad(f, argnums=argnums, allow_int=True)(*at))
        names = _leaf_names(args)
        own_leaves = None if grad is None else _own_gradient(grad, at, treedef, at_leaves, floating, names)
        floats = [leaf for leaf, is_float in zip(at_leaves, floating, strict=True) if is_float]
        rows = []
        for index, name in enumerate(names):
            if not floating[index]:
                continue
            key, drawn = jax.random.split(key)
            gradients = [("jax.grad", jnp.asarray(jax_leaves[index], jnp.float64))]
            if own_leaves is not None:
                gradients.append(("grad", jnp.asarray(own_leaves[index], jnp.float64)))
                rows.append(_row(name, "grad", "jax.grad", np.asarray(gradients[1][1]), np.asarray(gradients[0][1])))
            value_at = _moved(f, treedef, at_leaves, floating, index)
            checked = (value_at, floats, at_leaves[index])
            rows += _against_differences(name, checked, gradients, eps, max_entries, directions, drawn)
        return FunctionCheckReport(tuple(rows), float(value), rtol_fd, rtol_grad)


def _check_memory(arrays: list, floating: list, own: bool) -> None:
    """What the check allocates in float64, from below, against what the process may use, before
    any of it is: the arguments on the device, ``jax.grad``'s gradient and ``grad``'s (each of every
    floating-point entry), and two moved copies of the largest leaf."""
    sizes = [math.prod(a.shape) for a, is_float in zip(arrays, floating, strict=True) if is_float]
    entries, largest = sum(sizes), max(sizes)
    check_fits(
        8 * ((2 + own) * entries + 2 * largest),
        f"check_function on {entries:,} floating-point entries (the largest leaf {largest:,}, in float64)",
        "check f at smaller arguments (a slice of the data, a smaller network)",
    )


def _scalar_value(found):
    """``f``'s value as a real 0-d array, or a ValueError naming what it returned."""
    try:
        value = jnp.asarray(found)
    except (TypeError, ValueError):
        value = None
    if value is None or value.shape != () or not jnp.issubdtype(value.dtype, jnp.floating):
        what = f"{value.dtype} of shape {value.shape}" if value is not None else f"{type(found).__name__} {found!r:.40}"
        raise ValueError(
            f"check_function: f must return a real scalar (a loss), got {what}; sum or average what it returns"
        )
    return value


def _own_gradient(grad, at, treedef, at_leaves: list, floating: list, names: list) -> list:
    """The leaves of ``grad(*at)``, checked to have the arguments' structure, and each gradient of a
    floating-point leaf to be real numbers of its leaf's shape."""
    found = grad(*at)
    if not isinstance(found, tuple) or jax.tree_util.tree_structure(found) != treedef:
        raise ValueError(
            "check_function: grad(*args) must return one gradient per argument, as a tuple with the arguments' "
            f"structure ({treedef}), as jax.grad(f, argnums=tuple(range(len(args)))) does; got "
            f"{jax.tree_util.tree_structure(found)}"
        )
    own = jax.tree_util.tree_leaves(found)
    for leaf, given, is_float, name in zip(at_leaves, own, floating, names, strict=True):
        if not is_float:
            continue
        try:
            array = np.asarray(given)
        except (TypeError, ValueError):  # ragged lists
            array = None
        numbers = array is not None and array.dtype.kind in "iuf"
        what = f"{array.dtype} of shape {array.shape}" if numbers else f"{type(given).__name__} {given!r:.40}"
        if not numbers or array.shape != leaf.shape:
            raise ValueError(
                f"check_function: grad(*args) gives {name} a gradient of {what}, expected real numbers of shape "
                f"{leaf.shape}, the shape of {name}; return each argument's gradient in its argument's shape"
            )
    return own


def _row(name: str, checked: str, reference: str, value: np.ndarray, expected: np.ndarray, shape=None) -> Row:
    """One row: ``value`` against ``expected`` (of the leaf's ``shape``, where they are not of it)."""
    found = errors(value, expected, reference, checked=checked)
    shape = tuple(value.shape) if shape is None else tuple(shape)
    fields = (found.compared, found.abs_error, found.rel_error, found.worst_index, found.nonfinite)
    return Row(name, shape, checked, reference, *fields)


def _against_differences(name, checked, gradients, eps, max_entries, directions, key) -> list[Row]:
    """Rows of each gradient of one leaf against its central differences: every entry of a small
    leaf, ``directions`` random unit directions of a large one; ``checked`` is ``(value, floats,
    leaf)``: the function of the moved leaf (:func:`_moved`), the floating-point leaves, the leaf."""
    value, floats, leaf = checked
    flat = leaf.reshape(-1)
    if leaf.size <= max_entries:
        quotients = _entry_quotients(value, floats, flat, eps).reshape(leaf.shape)
        return [_row(name, checked_by, "finite differences", np.asarray(g), quotients) for checked_by, g in gradients]
    keys = jax.random.split(key, directions)
    quotients, products = _direction_quotients(value, floats, flat, eps, keys, [g for _, g in gradients])
    rows = []
    for column, (checked_by, g) in enumerate(gradients):
        row = _row(name, checked_by, "random directions", products[:, column], quotients, leaf.shape)
        scale = max(float(jnp.linalg.norm(g)), np.finfo(np.float64).tiny)  # u . g is small where u is normal to g
        rows.append(row if row.nonfinite else row._replace(rel_error=row.abs_error / scale))
    return rows
