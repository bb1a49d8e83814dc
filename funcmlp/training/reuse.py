"""One compiled epoch for optimizers that compute the same thing: :func:`same_optimizer`.

The compiled epoch (:func:`funcmlp.training.epoch.run_epoch`) takes its configuration, the
optimizer object included, as a static argument: JAX compiles it again for every new object,
and an optax optimizer written again (``optax.sgd(0.01)`` in a notebook cell, a sweep, a
refit) is a new object. Two optimizers are the same here when their ``update`` traces to the
same program on the params and optimizer state at hand (the state's structure included): the
same operations on the same shapes with the same constants (every literal exactly, every
captured array by value). The first such object seen stands for the others in the compiled
epoch, so the second one compiles nothing; each optimizer's own ``init`` still makes its state
(numbers kept in the state, such as ``optax.inject_hyperparams``' learning rate, are not in the
program: optimizers that differ only in them share it). An optimizer whose program calls back
into Python (``jax.pure_callback``) is only ever the same as itself.

Example:
    >>> import jax.numpy as jnp, optax
    >>> params = (jnp.zeros((3, 2)), jnp.zeros(2))
    >>> first = same_optimizer(optax.sgd(0.01), params)
    >>> same_optimizer(optax.sgd(0.01), params) is first, same_optimizer(optax.sgd(0.02), params) is first
    (True, False)
"""

from __future__ import annotations

from collections import OrderedDict

import jax
import numpy as np
import optax

_REMEMBERED = 64
"""Optimizers remembered by program (and programs by optimizer object), the least recently used forgotten."""

_by_program: OrderedDict = OrderedDict()
_by_object: OrderedDict = OrderedDict()


def _remember(table: OrderedDict, key, value):
    table[key] = value
    table.move_to_end(key)
    while len(table) > _REMEMBERED:
        table.popitem(last=False)
    return value


def _constant(value) -> tuple:
    """A captured array by value (shape, dtype, bytes); a typed key by its key data."""
    if isinstance(value, jax.Array) and jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key):
        return ("key", str(value.dtype), _constant(jax.random.key_data(value)))
    array = np.asarray(value)
    return (array.shape, str(array.dtype), array.tobytes())


def _inside(jaxpr, functions: list, constants: list) -> None:
    """Every Python function an equation of ``jaxpr`` (or of a program inside it) carries, and every
    array a program inside it captured (a ``jax.jit`` function's closure: not in the outer text)."""
    for equation in jaxpr.eqns:
        for value in equation.params.values():
            for item in value if isinstance(value, (tuple, list)) else (value,):
                inner = getattr(item, "jaxpr", item)
                if hasattr(inner, "eqns"):
                    constants.extend(_constant(c) for c in getattr(item, "consts", ()))
                    _inside(inner, functions, constants)
                elif callable(item):
                    functions.append(item)


def _fingerprint(optimizer: optax.GradientTransformation, params) -> tuple[tuple, list]:
    """What ``optimizer.update`` computes as the compiled epoch calls it, on ``optimizer.init(params)``'s
    state: the state's structure, the program's text (operations, shapes, exact literals), its
    captured arrays by value and the Python functions it carries by identity; and those functions,
    to keep alive (their ids stay theirs)."""
    state = jax.eval_shape(optimizer.init, params)
    update = optax.with_extra_args_support(optimizer).update
    weight = jax.ShapeDtypeStruct((), jax.tree_util.tree_leaves(params)[0].dtype)
    closed = jax.make_jaxpr(lambda g, s, p, w: update(g, s, p, batch_weight=w))(params, state, params, weight)
    functions, constants = [], [_constant(c) for c in closed.consts]
    _inside(closed.jaxpr, functions, constants)
    text = (str(jax.tree_util.tree_structure(state)), str(closed.jaxpr), tuple(constants))
    return (text, tuple(id(f) for f in functions)), functions


def same_optimizer(optimizer: optax.GradientTransformation, params) -> optax.GradientTransformation:
    """The first optimizer seen whose ``update`` computes what ``optimizer``'s does on ``params``
    (``optimizer`` itself when it is the first, or cannot be traced here): the one to compile
    the epoch with; ``optimizer.init`` still makes the state."""
    shapes = jax.tree_util.tree_map(lambda a: jax.ShapeDtypeStruct(np.shape(a), a.dtype), params)
    signature = (id(optimizer), jax.tree_util.tree_structure(shapes), tuple(jax.tree_util.tree_leaves(shapes)))
    if signature in _by_object and _by_object[signature][0] is optimizer:
        _by_object.move_to_end(signature)
        _, fingerprint, functions = _by_object[signature]
    else:
        try:
            fingerprint, functions = _fingerprint(optimizer, shapes)
        except Exception:  # not traceable on its own: training will say why; it is then only itself
            return optimizer
        _remember(_by_object, signature, (optimizer, fingerprint, functions))  # kept alive: the ids stay theirs
    if fingerprint in _by_program:
        _by_program.move_to_end(fingerprint)
        return _by_program[fingerprint][0]
    return _remember(_by_program, fingerprint, (optimizer, functions))[0]
