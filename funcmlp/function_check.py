"""Check the gradient of any scalar function: what JAX computes (a ``custom_vjp`` or ``custom_jvp``
honoured) and, optionally, a hand-written one, against central finite differences in float64.

Contract::

    check_function(f, *args, argnums=None, grad=None, eps=1e-6, max_entries=1000, directions=8, key=None,
                   rtol_fd=1e-6, rtol_grad=1e-10) -> FunctionCheckReport

``f(*args)`` returns a scalar; every floating-point leaf (bfloat16 and float16 too) of the
arguments ``argnums`` names (an index or a tuple of them, as :func:`jax.grad`'s; default: every
argument) is checked, the other arguments and integer leaves are held fixed (the data, say). A
leaf of at most ``max_entries`` entries gets its full
gradient by central differences, ``(f(x + eps e_i) - f(x - eps e_i)) / (2 eps)``; a larger one
``directions`` random unit directions u in its own space, the quotient along u against ``u . g``
(its error relative to ``|g|``). ``grad(*args)``, where given, returns what
``jax.grad(f, argnums=argnums)`` returns (without ``argnums``, a tuple of one gradient per argument)
and is compared with JAX's gradient (``rtol_grad``) and with the differences (``rtol_fd``). The
check never passes on nothing: a NaN or infinity, or a leaf no entry of which was compared, is
a FAIL. Central differences assume ``f`` is smooth within ``eps`` of the point (not at a kink).
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp.arguments import check_key, check_number, check_positive_int
from funcmlp.checks.dtypes import is_floating
from funcmlp.gradcheck_report import FunctionCheckReport, Row, errors
from funcmlp.memory import check_fits


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
    argnums: int | tuple[int, ...] | None = None,
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

        A loss's gradient in its params only, the data held fixed (``grad`` returns what ``jax.grad(f, argnums=0)``
        does):

        >>> loss = lambda w, x, y: jnp.mean((x @ w - y) ** 2)
        >>> w, x, y = jnp.array([1.0, -2.0]), jnp.array([[0.5, 1.0], [2.0, -1.0]]), jnp.array([0.3, 1.0])
        >>> report = check_function(loss, w, x, y, argnums=0, grad=lambda w, x, y: 2 * x.T @ (x @ w - y) / 2)
        >>> report.passed, sorted({row.leaf for row in report.rows})
        (True, ['args[0]'])
    """
    eps = check_number(eps, "eps", above=0, example="1e-6 (float64: error ~ eps^2 + 1e-16 / eps)")
    max_entries = check_positive_int(max_entries, "max_entries", "entries differenced one by one")
    directions = check_positive_int(directions, "directions", "random directions per large leaf")
    key = check_key(key if key is not None else jax.random.key(0))
    if not args:
        raise ValueError("check_function(f, *args): give the arguments to check f at, e.g. check_function(f, x)")
    selected = _argnums(argnums, len(args))
    for name, tolerance in (("rtol_fd", rtol_fd), ("rtol_grad", rtol_grad)):
        check_number(tolerance, name, above=0, example="1e-6 against the differences, 1e-10 against jax.grad")
    with jax.enable_x64(True):
        leaves, treedef = jax.tree_util.tree_flatten(args)
        # arrays (a NumPy or JAX array, not copied) read by their dtype and shape; other leaves made arrays
        arrays = [leaf if hasattr(leaf, "dtype") and hasattr(leaf, "shape") else np.asarray(leaf) for leaf in leaves]
        floating = [is_floating(a.dtype) for a in arrays]
        owner = [i for i, arg in enumerate(args) for _ in jax.tree_util.tree_leaves(arg)]  # each leaf's argument
        differentiated = [is_float and owner[i] in selected for i, is_float in enumerate(floating)]
        if not any(differentiated):
            which = "no argument has" if argnums is None else f"the arguments argnums={argnums!r} names have no"
            raise ValueError(f"check_function: {which} floating-point entries to differentiate")
        _check_memory(arrays, floating, differentiated, grad is not None)
        at_leaves = [
            jnp.asarray(a, jnp.float64) if is_float else jnp.asarray(a)
            for a, is_float in zip(arrays, floating, strict=True)
        ]
        del arrays
        at = jax.tree_util.tree_unflatten(treedef, at_leaves)
        value = _scalar_value(f(*at))
        # the leaves of the selected arguments, in argnums' order, as jax.grad returns their gradients
        order = [i for arg in selected for i in range(len(owner)) if owner[i] == arg]
        found = jax.tree_util.tree_leaves(jax.grad(f, argnums=selected, allow_int=True)(*at))
        jax_leaves = dict(zip(order, found, strict=True))
        names = _leaf_names(args)
        own_leaves = None
        if grad is not None:
            expected = tuple(at[i] for i in selected)
            own = _own_gradient(grad, at, argnums, expected, [at_leaves[i] for i in order], [names[i] for i in order])
            own_leaves = dict(zip(order, own, strict=True))
        floats = [leaf for leaf, is_float in zip(at_leaves, floating, strict=True) if is_float]
        rows = []
        for index, name in enumerate(names):
            if not differentiated[index]:
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


def _argnums(argnums, count: int) -> tuple[int, ...]:
    """The arguments to check, as a tuple of indices (every one for ``None``), or a ValueError saying why not."""
    if argnums is None:
        return tuple(range(count))
    indices = (argnums,) if isinstance(argnums, int) else tuple(argnums) if isinstance(argnums, list) else argnums
    if not (
        isinstance(indices, tuple)
        and indices
        and all(isinstance(i, int) and not isinstance(i, bool) and 0 <= i < count for i in indices)
        and len(set(indices)) == len(indices)
    ):
        raise ValueError(
            f"check_function: argnums={argnums!r}, expected an argument's index or a tuple of distinct ones, each "
            f"from 0 to {count - 1} (f was given {count} argument(s)), as jax.grad's; e.g. argnums=0 for the first"
        )
    return indices


def _check_memory(arrays: list, floating: list, checked: list, own: bool) -> None:
    """What the check allocates in float64, from below, against what the process may use, before
    any of it is: the arguments on the device, ``jax.grad``'s gradient and ``grad``'s (each of every
    checked entry), and two moved copies of the largest checked leaf."""
    sizes = [math.prod(a.shape) for a, is_float in zip(arrays, floating, strict=True) if is_float]
    differentiated = [math.prod(a.shape) for a, is_checked in zip(arrays, checked, strict=True) if is_checked]
    entries, largest = sum(differentiated), max(differentiated)
    check_fits(
        8 * (sum(sizes) + (1 + own) * entries + 2 * largest),
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


def _own_gradient(grad, at, argnums, expected: tuple, leaves: list, names: list) -> list:
    """The leaves of ``grad(*at)``, checked to have the structure of what ``jax.grad(f, argnums=argnums)``
    returns (``expected``: the arguments it differentiates), and each gradient of a floating-point leaf
    (``leaves``, named ``names``) to be real numbers of its leaf's shape."""
    found = grad(*at)
    wanted = expected[0] if isinstance(argnums, int) else expected  # one argument's gradient, or a tuple of them
    structure = jax.tree_util.tree_structure(wanted)
    if (isinstance(wanted, tuple) and not isinstance(found, tuple)) or jax.tree_util.tree_structure(found) != structure:
        what = "one gradient per argument, a tuple" if argnums is None else f"argnums={argnums!r}'s gradient"
        raise ValueError(
            f"check_function: grad(*args) must return {what} of structure {structure}, as jax.grad(f, "
            f"argnums={tuple(range(len(at))) if argnums is None else argnums!r}) does; got "
            f"{jax.tree_util.tree_structure(found)}"
        )
    own = jax.tree_util.tree_leaves(found)
    for leaf, given, name in zip(leaves, own, names, strict=True):
        if not is_floating(leaf.dtype):
            continue
        try:
            array = np.asarray(given)
        except (TypeError, ValueError):  # ragged lists
            array = None
        numbers = array is not None and (array.dtype.kind in "iu" or is_floating(array.dtype))
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
