"""When two registrations are the same definition: what makes re-running a notebook cell a no-op.

Contract::

    same_value(a, b)                                  -> bool: the same definition (functions by their code)
    first_difference(old, new)                        -> the first argument name whose values differ, or None
    check_redefinition(what, name, old, new, replace) -> True: the same definition, nothing to do;
                                                         False: register (new name, or replace=True)

A notebook cell run again makes new function objects from the same source, so functions are
compared by what they compute, not by identity: two plain functions are the same definition
when their code is (bytecode, constants, nested functions' code, the names they read, their
argument layout), their defaults are, the values their closures capture are, and the module
globals their code names are (another value of a global ``delta`` the function reads is another
definition). Names, line numbers and file names are left out: a cell edited above the function,
or run under another file name, defines the same thing. Wrapped functions (``functools.wraps``,
``jax.jit``) are compared by what they wrap, ``functools.partial`` by its function and arguments,
arrays by shape, dtype and entries, other values by ``==``; values of different types differ.
Imports nothing of funcmlp's.
"""

from __future__ import annotations

import functools
import types

import numpy as np

_SCALARS = (int, float, complex, str, bytes, bool, type(None), type(Ellipsis))


def _same_const(a, b, seen) -> bool:
    """Code constants: scalars by type and repr (0.0 and -0.0 differ, nan is nan), code objects by code."""
    if type(a) is not type(b):
        return False
    if isinstance(a, types.CodeType):
        return _same_code(a, b, seen)
    if isinstance(a, tuple):
        return len(a) == len(b) and all(_same_const(x, y, seen) for x, y in zip(a, b, strict=True))
    if isinstance(a, _SCALARS):
        return repr(a) == repr(b)
    return a == b  # frozensets of constants


def _same_code(a: types.CodeType, b: types.CodeType, seen) -> bool:
    layout = ("co_argcount", "co_posonlyargcount", "co_kwonlyargcount", "co_flags", "co_code")
    names = ("co_names", "co_varnames", "co_freevars", "co_cellvars")
    return (
        all(getattr(a, field) == getattr(b, field) for field in layout + names)
        and len(a.co_consts) == len(b.co_consts)
        and all(_same_const(x, y, seen) for x, y in zip(a.co_consts, b.co_consts, strict=True))
    )


def _global_names(code: types.CodeType) -> set[str]:
    """The names a code object (and the code of the functions it defines) may read as globals."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            found |= _global_names(const)
    return found


def _same_function(f: types.FunctionType, g: types.FunctionType, seen) -> bool:
    if not _same_code(f.__code__, g.__code__, seen):
        return False
    if not (_same(f.__defaults__, g.__defaults__, seen) and _same(f.__kwdefaults__, g.__kwdefaults__, seen)):
        return False
    cells_f, cells_g = f.__closure__ or (), g.__closure__ or ()
    for cell_f, cell_g in zip(cells_f, cells_g, strict=True):  # as many as co_freevars, the same names
        if _empty(cell_f) or _empty(cell_g):  # a name not yet bound where the function was made
            if _empty(cell_f) != _empty(cell_g):
                return False
        elif not _same(cell_f.cell_contents, cell_g.cell_contents, seen):
            return False
    for name in sorted(_global_names(f.__code__)):
        present_f, present_g = name in f.__globals__, name in g.__globals__
        if present_f != present_g:
            return False
        if present_f and not _same(f.__globals__[name], g.__globals__[name], seen):
            return False
    return True


def _empty(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return True
    return False


def _is_array(value) -> bool:
    return hasattr(value, "shape") and hasattr(value, "dtype") and hasattr(value, "__array__")


def _same(a, b, seen) -> bool:
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if (id(a), id(b)) in seen:  # a function reaching itself (recursion): the same so far
        return True
    seen = seen | {(id(a), id(b))}
    if isinstance(a, types.FunctionType):
        return _same_function(a, b, seen)
    if isinstance(a, types.MethodType):
        return _same(a.__func__, b.__func__, seen) and _same(a.__self__, b.__self__, seen)
    if isinstance(a, functools.partial):
        return _same(a.func, b.func, seen) and _same(a.args, b.args, seen) and _same(a.keywords, b.keywords, seen)
    if hasattr(a, "__wrapped__") and hasattr(b, "__wrapped__"):  # functools.wraps, jax.jit
        return _same(a.__wrapped__, b.__wrapped__, seen)
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y, seen) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[key], b[key], seen) for key in a)
    if isinstance(a, _SCALARS):
        return repr(a) == repr(b)
    if _is_array(a):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(np.asarray(a), np.asarray(b)))
    try:
        return bool(a == b)
    except Exception:  # a value whose == fails or is not one truth value: the same only as the same object
        return False


def same_value(a, b) -> bool:
    """Whether two registration arguments are the same definition (see the module's docstring).

    Example:
        >>> source = "def loss(a, y):\\n    return ((a - y) ** 4).sum(axis=-1)\\n"
        >>> first, second = {}, {}
        >>> exec(source, first); exec(source, second)  # a notebook cell run twice
        >>> first["loss"] is second["loss"], same_value(first["loss"], second["loss"])
        (False, True)
        >>> exec(source.replace("4", "3"), second)
        >>> same_value(first["loss"], second["loss"])
        False
    """
    return _same(a, b, frozenset())


def first_difference(old: dict, new: dict) -> str | None:
    """The first argument (in ``new``'s order) whose value differs between two registrations, or ``None``.

    Example:
        >>> first_difference({"value": abs, "targets": "real"}, {"value": abs, "targets": "class"})
        'targets'
    """
    for name, value in new.items():
        if not same_value(old.get(name), value):
            return name
    return None


def check_redefinition(what: str, name: str, old: dict | None, new: dict, replace: bool) -> bool:
    """``True`` where ``name`` already holds the definition ``new`` (registering it again changes nothing);
    ``False`` where it is free, or held by another definition and ``replace`` is true; otherwise ``ValueError``
    naming the first argument that differs.

    Example:
        >>> check_redefinition("loss", "quartic", {"value": abs}, {"value": abs}, False)
        True
        >>> check_redefinition("loss", "q", {"value": abs}, {"value": round}, False)  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: loss 'q' is already registered, with another value; pass replace=True to replace it,
        or choose another name
    """
    if not isinstance(replace, bool):
        raise TypeError(f"replace must be True or False, got {type(replace).__name__} {replace!r:.40}")
    if old is None:
        return False
    differs = first_difference(old, new)
    if differs is None:
        return True
    if replace:
        return False
    raise ValueError(
        f"{what} {name!r} is already registered, with another {differs}; pass replace=True to replace it, "
        "or choose another name"
    )
