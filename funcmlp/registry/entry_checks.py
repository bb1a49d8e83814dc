"""Registry entries checked once, when they are made: their functions traced on small probe inputs,
their fields read as what they say.

Contract::

    probe_activation(spec)        forward, derivative (or vjp), second_derivative: n (3, 2) -> (3, 2) in n's dtype
    probe_loss(spec)              value -> (3,), gradient (mean, sample) -> (3, d), hessian_factor -> (3, d, C)
                                  in a's dtype, for a, y (3, d) (and a key)
    entry_kinks(kinks, owner)     -> tuple of floats            entry_output_range(value, owner) -> (low, high) | None

A wrong shape is what broadcasting would otherwise hide (a gradient that is one number for the
batch gives gradients silently wrong, a loss of one number for the batch a loss B times too large),
so it is refused here, once, naming the entry, the function, what it returned and what was
expected. Probes run in float32 and, under ``jax_enable_x64``, in float64; they trace with
``jax.eval_shape``: nothing is compiled or computed, a probe costs a few milliseconds. Every
kind of target reaches a loss as ``(batch, units)`` floats of ``a``'s dtype (labels are one-hot
encoded by :func:`funcmlp.checks.check_targets`), so one probe covers them all.
Imports: :mod:`funcmlp.arguments` only.
"""

from __future__ import annotations

import numbers

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp.arguments import check_number

PROBE_BATCH = 3
"""Rows of a probe batch (differs from the units, so a sum over the wrong axis shows)."""
PROBE_UNITS = 2
"""Units of a probe batch."""


def probe_dtypes() -> tuple[np.dtype, ...]:
    """float32, and float64 when JAX computes in it (``jax_enable_x64``)."""
    widest = np.dtype(jnp.result_type(float))
    return (np.dtype(np.float32),) if widest == np.float32 else (np.dtype(np.float32), widest)


def _shown(out) -> str:
    if isinstance(out, jax.ShapeDtypeStruct):
        return f"shape {tuple(out.shape)} {out.dtype}"
    if isinstance(out, (tuple, list)):
        return f"a {type(out).__name__} of {len(out)} items"
    return f"{type(out).__name__} {out!r:.40}"


def _probe(owner: str, role: str, function, arrays: tuple, static: tuple, expected: tuple, meaning: str, fix: str):
    """Trace ``function(*arrays, *static)`` (``role``: its name and arguments, the arrays first); refuse an
    error, or a result not one array of shape ``expected`` (``"C"``: any size) in the dtype of the first
    floating array (a random key is not one)."""
    kind, _, signature = role.partition("(")
    given = [argument.strip() for argument in signature.rstrip(")").split(",")][: len(arrays)]
    floats = [(argument, array) for argument, array in zip(given, arrays, strict=True) if _floating(array)]
    (first, lead), dtype = floats[0], floats[0][1].dtype
    name = getattr(function, "__name__", None)
    called = f"{kind} {name}({signature}" if isinstance(name, str) and name.isidentifier() else role
    names = " and ".join(argument for argument, _ in floats)
    inputs = f"for {names} of shape {tuple(lead.shape)} {dtype}"
    try:
        out = jax.eval_shape(lambda *given: function(*given, *static), *arrays)
    except Exception as error:  # the user's function: whatever it raises is reported, with the function named
        said = (str(error).strip().splitlines() or [""])[0][:160]
        raise ValueError(
            f"{owner}: {called} raised {type(error).__name__} {inputs}: {said}; it must be a function {role} "
            "that jax.jit can trace: jax.numpy, not numpy, and no Python branches on the values"
        ) from error
    shaped = isinstance(out, jax.ShapeDtypeStruct) and len(out.shape) == len(expected)
    if not shaped or any(want != "C" and want != got for want, got in zip(expected, out.shape, strict=True)):
        wanted = f"({', '.join(map(str, expected))})" if "C" in expected else str(expected)
        raise ValueError(f"{owner}: {called} returned {_shown(out)} {inputs}, expected {wanted} = {meaning}; {fix}")
    weak_float = getattr(out, "weak_type", False) and jnp.issubdtype(out.dtype, jnp.floating)
    if out.dtype != dtype and not weak_float:  # a weakly typed float (jnp.where(n > 0, 1.0, 0.0)) takes n's dtype
        raise ValueError(
            f"{owner}: {called} returned {out.dtype} {inputs}, expected {dtype}, {first}'s dtype; "
            f"compute in it, e.g. jnp.ones_like({first}) or .astype({first}.dtype)"
        )


def _floating(array) -> bool:
    return jnp.issubdtype(array.dtype, jnp.floating)


def probe_activation(spec) -> None:
    """Refuse an :class:`~funcmlp.registry.activation_rules.ActivationSpec` whose functions, traced on
    ``n`` of shape ``(3, 2)`` (float32, and float64 under x64), do not return ``n``'s shape and dtype.

    Example:
        >>> from funcmlp.registry.activations import ACTIVATIONS
        >>> probe_activation(ACTIVATIONS["tanh"])  # the built-ins pass
        >>> import dataclasses, jax.numpy as jnp
        >>> wrong = dataclasses.replace(ACTIVATIONS["tanh"], name="flat", derivative=lambda n, alpha: jnp.sum(n))
        >>> probe_activation(wrong)  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: activation 'flat': derivative(n, alpha) returned shape () float32 for n of shape (3, 2) float32,
        expected (3, 2) = n's shape, one value per net input (elementwise); return an array of n's shape, e.g.
        jnp.ones_like(n) for a constant, without summing over any axis
    """
    owner, shape, alpha = f"activation {spec.name!r}", (PROBE_BATCH, PROBE_UNITS), (spec.default_alpha,)
    meaning = "n's shape, one value per net input (elementwise)"
    fix = "return an array of n's shape, e.g. jnp.ones_like(n) for a constant, without summing over any axis"
    for dtype in probe_dtypes():
        n = jax.ShapeDtypeStruct(shape, dtype)
        _probe(owner, "forward(n, alpha)", spec.forward, (n,), alpha, shape, meaning, fix)
        if spec.derivative is not None:
            _probe(owner, "derivative(n, alpha)", spec.derivative, (n,), alpha, shape, meaning, fix)
            if spec.second_derivative is not None:
                _probe(owner, "second_derivative(n, alpha)", spec.second_derivative, (n,), alpha, shape, meaning, fix)
        else:
            _probe(owner, "vjp(n, g, alpha)", spec.vjp, (n, n), alpha, shape, "n's shape, g @ J_f(n)", fix)


def probe_loss(spec, *, units: int | None = None, owner: str | None = None) -> None:
    """Refuse a :class:`~funcmlp.registry.loss_rules.LossSpec` whose value is not one number per example
    ``(batch,)``, or whose gradient (or mean) is not ``a``'s shape ``(batch, units)``, in ``a``'s dtype,
    traced on outputs and targets of shape ``(3, units)`` (``units`` 2 unless given; float32, and float64
    under x64). ``owner`` names the loss in the message (``"loss 'name'"`` unless given).

    Example:
        >>> from funcmlp.registry.loss_registry import LOSSES
        >>> probe_loss(LOSSES["huber"])  # the built-ins pass
        >>> import dataclasses, jax.numpy as jnp
        >>> wrong = dataclasses.replace(LOSSES["sse"], name="total", value=lambda a, y: jnp.sum((a - y) ** 2))
        >>> probe_loss(wrong)  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: loss 'total': value(a, y) returned shape () float32 for a and y of shape (3, 2) float32,
        expected (3,) = (batch,), each example's loss summed over the output units; sum over the last axis
        alone, e.g. jnp.sum((a - y) ** 4, axis=-1): funcmlp takes the mean over the batch (or the sum, reduction='sum')
    """
    owner = f"loss {spec.name!r}" if owner is None else owner
    units = max(PROBE_UNITS, spec.min_units) if units is None else units
    static = () if spec.parameter is None else (spec.default_parameter,)
    arguments = "a, y" if spec.parameter is None else f"a, y, {spec.parameter}"
    each = "(batch, units), a's shape: dL_i/da_i of each example"
    unsummed = "return one entry per output of each example, e.g. 4 * (a - y) ** 3, without summing over any axis"
    for dtype in probe_dtypes():
        a = jax.ShapeDtypeStruct((PROBE_BATCH, units), dtype)
        one = (PROBE_BATCH,)
        summed = "(batch,), each example's loss summed over the output units"
        fix = (
            "sum over the last axis alone, e.g. jnp.sum((a - y) ** 4, axis=-1): funcmlp takes the mean over the "
            "batch (or the sum, reduction='sum')"
        )
        _probe(owner, f"value({arguments})", spec.value, (a, a), static, one, summed, fix)
        _probe(owner, f"gradient({arguments})", spec.gradient, (a, a), static, (PROBE_BATCH, units), each, unsummed)
        if spec.mean is not None:
            _probe(owner, "mean(a)", spec.mean, (a,), (), (PROBE_BATCH, units), "a's shape", unsummed)
        _probe_curvature(spec, owner, a, static, arguments)


def _probe_curvature(spec, owner: str, a, static: tuple, arguments: str) -> None:
    """The curvature rules of a loss, where given: ``hessian_factor`` ``(batch, units, C)``, ``sample``
    ``(batch, units)``, both in ``a``'s dtype."""
    batch, units = a.shape
    if spec.hessian_factor is not None:
        factor = "(batch, units, C), a factor S of each example's Hessian in a (S S^T = d^2 L_i/da^2), C columns"
        fix = "return one (units, C) matrix per example, e.g. jnp.sqrt(2.0) * jnp.eye(d) * jnp.ones_like(a)[..., None]"
        role, expected = f"hessian_factor({arguments})", (batch, units, "C")
        _probe(owner, role, spec.hessian_factor, (a, a), static, expected, factor, fix)
    if spec.sample is not None:
        key = jax.ShapeDtypeStruct((), jax.random.key(0).dtype)
        drawn = "(batch, units), a's shape: one target row drawn from the model's distribution per example"
        fix = "draw one target per output, e.g. a + jax.random.normal(key, a.shape, a.dtype)"
        sample_arguments = "key, a" if spec.parameter is None else f"key, a, {spec.parameter}"
        _probe(owner, f"sample({sample_arguments})", spec.sample, (key, a), static, (batch, units), drawn, fix)


def entry_kinks(kinks, owner: str) -> tuple[float, ...]:
    """``kinks`` as a tuple of finite floats: a sequence of real numbers, never text.

    Example:
        >>> entry_kinks([0, 1.5], "activation 'cube'")
        (0.0, 1.5)
        >>> entry_kinks("0", "activation 'cube'")  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        TypeError: activation 'cube': kinks must be a tuple of numbers (the net inputs where the derivative jumps),
        got str '0'; e.g. kinks=(0.0,)
    """
    if isinstance(kinks, (str, bytes)) or not isinstance(kinks, (tuple, list)):
        raise TypeError(
            f"{owner}: kinks must be a tuple of numbers (the net inputs where the derivative jumps), "
            f"got {type(kinks).__name__} {kinks!r:.40}; e.g. kinks=(0.0,)"
        )
    return tuple(check_number(k, f"{owner}: kinks[{i}]", example="kinks=(0.0,)") for i, k in enumerate(kinks))


def entry_output_range(output_range, owner: str) -> tuple[float, float] | None:
    """``output_range`` as ``(low, high)`` floats, finite, ``low < high``; or ``None`` (unbounded).

    Example:
        >>> entry_output_range((1, 0), "activation 'cube'")  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: activation 'cube': output_range must be (low, high) with low < high, got (1, 0);
        e.g. output_range=(0.0, 1.0), or None for unbounded outputs
    """
    if output_range is None:
        return None
    good = "output_range=(0.0, 1.0), or None for unbounded outputs"
    fix = f"e.g. {good}"
    pair = isinstance(output_range, (tuple, list)) and len(output_range) == 2
    if not pair or not all(isinstance(v, numbers.Real) and not isinstance(v, (bool, np.bool_)) for v in output_range):
        raise TypeError(
            f"{owner}: output_range must be two numbers (low, high), got {type(output_range).__name__} "
            f"{output_range!r:.60}; {fix}"
        )
    low, high = (check_number(v, f"{owner}: output_range[{i}]", example=good) for i, v in enumerate(output_range))
    if not low < high:
        raise ValueError(f"{owner}: output_range must be (low, high) with low < high, got {output_range!r}; {fix}")
    return low, high
