"""Gradient checking: manual backprop vs ``jax.grad`` vs central finite differences, in float64.

Errors are reported per layer and parameter (``W`` or ``b``):

* ``abs`` = max_i |g_i - ref_i|, the worst entry's index beside it;
* ``rel`` = abs / max(max_i |ref_i|, tiny): the error relative to the largest reference
  entry of that array (entries that are exactly zero in both do not blow it up).

Central differences ``(L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps)`` have error
``O(eps^2)`` from truncation plus ``O(u / eps)`` from rounding (``u`` ~ 1e-16), so with the
default ``eps = 1e-6`` expect agreement to about 1e-8 relative; manual vs ``jax.grad``
agree to about 1e-13. Where the perturbation moves a net input of a kinked activation
(ReLU, hard limits) across 0, the difference quotient straddles the jump; such entries are
detected, left out of the comparison and counted in the report.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from funcmlp.arguments import check_number, check_positive_int
from funcmlp.checks import check_batch
from funcmlp.core.backward import backward, batch_loss, output_terms
from funcmlp.core.model import MLP
from funcmlp.core.params import Params
from funcmlp.gradcheck_report import GradCheckReport, compare
from funcmlp.memory import check_fits, gradient_check_bytes, parameter_count
from funcmlp.registry.losses import get_loss


def _check_eps(eps) -> float:
    return check_number(
        eps,
        "the finite-difference step eps",
        above=0,
        example="1e-6, which suits float64 (error ~ eps^2 + 1e-16 / eps)",
    )


def _check_memory(mlp: MLP, x, copies: int) -> None:
    """The check's float64 arrays (``copies`` of the params, the batch's trace) against what the
    process may use, before anything is cast (what is not an MLP is named by :func:`check_batch`)."""
    if not isinstance(mlp, MLP):
        return
    try:
        shape = np.shape(x)
    except ValueError:  # ragged: check_batch names it
        shape = ()
    batch = int(shape[0]) if len(shape) > 1 else 1
    check_fits(
        gradient_check_bytes(mlp.sizes, batch, copies),
        f"the gradient check of {mlp} ({parameter_count(mlp.sizes):,} parameters, a batch of {batch}, float64)",
        "check a smaller network, or on fewer examples (x[:8], y[:8])",
    )


def _check_indices(indices, total: int) -> np.ndarray:
    """Sorted unique flat indices, each an integer in ``0..total-1``."""
    entries = np.unique(np.asarray(indices))
    if entries.size == 0:
        return entries.astype(np.int64)
    if entries.dtype.kind not in "iu":
        raise ValueError(f"indices must be integers (the parameters' flat positions), got dtype {entries.dtype}")
    outside = entries[(entries < 0) | (entries >= total)]
    if outside.size:
        raise ValueError(
            f"index {outside[0]} is outside the parameters' flat positions 0..{total - 1}; "
            f"give indices from 0 to {total - 1}"
        )
    return entries.astype(np.int64)


def finite_difference_grad(
    mlp: MLP,
    params: Params,
    x,
    y,
    loss="sse",
    *,
    eps: float = 1e-6,
    indices=None,
    reduction: str = "mean",
    weights=None,
) -> tuple[np.ndarray, np.ndarray]:
    """Central-difference gradient of the batch loss, flattened like ``ravel_pytree(params)``,
    in float64 whatever the dtype of the arguments.

    Args:
        indices: flat parameter indices to perturb (default: all), integers from 0 to the parameter
            count - 1 (positions in the order of ``jax.tree_util.tree_leaves``); other entries are NaN.

    Returns:
        ``(gradient, crosses_kink)``: the second is True where the two perturbed
        parameter vectors put some net input of a kinked activation (relu, hard limits,
        leaky relu, elu: the ``kinks`` of its registry entry) on different sides of a kink,
        so the difference quotient straddles a jump of the derivative and is not an estimate
        of it.

    Example:
        >>> import jax.numpy as jnp
        >>> from funcmlp.core.params import params_from_arrays
        >>> mlp = MLP((1, 1), "identity")
        >>> p = params_from_arrays([([[2.0]], [0.0])], dtype=jnp.float64)
        >>> x, y = jnp.array([[3.0]], jnp.float64), jnp.array([[0.0]], jnp.float64)
        >>> g, kink = finite_difference_grad(mlp, p, x, y, "sse")
        >>> [round(float(v), 6) for v in g], kink.tolist()
        ([36.0, 12.0], [False, False])
    """
    eps = _check_eps(eps)
    _check_memory(mlp, x, copies=3)  # the params' float64 copy, the perturbed ones (the scan's carry), the differences
    with jax.enable_x64(True):
        params, x, y, weights = _in_float64(params, x, y, weights)
        x, y, weights = check_batch(mlp, params, x, y, loss, reduction=reduction, weights=weights)
        leaves, treedef = jax.tree_util.tree_flatten(params)
        total = sum(leaf.size for leaf in leaves)
        entries = np.arange(total) if indices is None else _check_indices(indices, total)
        values, crossed = _central_differences(
            mlp, get_loss(loss), reduction, treedef, eps, leaves, x, y, weights, jax.device_put(entries)
        )
        gradient = np.full(total, np.nan)
        crosses_kink = np.zeros(total, bool)
        gradient[entries] = np.asarray(values)
        crosses_kink[entries] = np.asarray(crossed)
        return gradient, crosses_kink


@partial(jax.jit, static_argnums=(0, 1, 2))
def _manual_and_autodiff(mlp: MLP, loss, reduction: str, params, x, targets, weights):
    """The loss, the manual backprop's gradient and ``jax.grad``'s, on a checked batch, compiled
    together (one program instead of two sequences of eager operations: the check's cost is
    then mostly its arithmetic)."""
    trace = mlp.trace(params, x)
    value, s = output_terms(mlp, trace, targets, weights, loss, reduction)
    auto = jax.grad(lambda p: batch_loss(mlp, p, x, targets, weights, loss, reduction)[0])(params)
    return value, backward(mlp, params, trace, s)[0], auto


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _central_differences(mlp: MLP, loss, reduction, treedef, eps, leaves, x, y, weights, entries):
    """(L(theta + eps e_i) - L(theta - eps e_i)) / (2 eps) for the flat parameter indices ``entries``
    (``(n,)``, in the order of ``jax.tree_util.tree_leaves``), and whether the two perturbations put a
    net input of a kinked activation on two sides of a kink.

    One ``lax.scan`` over the entries, its carry the parameter arrays (flat): the array holding
    entry i has it set to w + eps, then w - eps, then back to w exactly, in place (the others are
    written their own value), so a large network costs two forward passes per entry and no copy
    of its parameters (perturbing a copy of the whole flat vector per entry took gigabytes on
    MNIST-sized networks), and the program holds two forward passes whatever the depth (one scan
    per array held four per layer and compiled about 2.5x longer)."""
    kinks = [(k, c) for k, act in enumerate(mlp.activations) for c in act.spec.kinks]
    starts = np.cumsum([0] + [leaf.size for leaf in leaves])[:-1]

    def loss_and_signs(flats):
        arrays = [flat.reshape(leaf.shape) for flat, leaf in zip(flats, leaves, strict=True)]
        # one forward pass gives both the loss and the net inputs whose signs locate the kinks
        value, trace = batch_loss(mlp, jax.tree_util.tree_unflatten(treedef, arrays), x, y, weights, loss, reduction)
        return value, [trace.n[k] >= c for k, c in kinks]

    def step(flats, entry):
        hits = [(entry >= start) & (entry < start + flat.size) for flat, start in zip(flats, starts, strict=True)]
        places = [jnp.clip(entry - start, 0, flat.size - 1) for flat, start in zip(flats, starts, strict=True)]
        originals = [flat[place] for flat, place in zip(flats, places, strict=True)]

        def moved(arrays, delta):  # w + (-eps) is w - eps exactly; delta None: entry i back to w
            return [
                array.at[place].set(w if delta is None else jnp.where(hit, w + delta, w))
                for array, place, w, hit in zip(arrays, places, originals, hits, strict=True)
            ]

        flats = moved(flats, eps)  # each version made from the last: XLA updates the arrays in place
        plus, signs_plus = loss_and_signs(flats)
        flats = moved(flats, -eps)
        minus, signs_minus = loss_and_signs(flats)
        changed = [jnp.any(p != m) for p, m in zip(signs_plus, signs_minus, strict=True)]
        quotient = (plus - minus) / (2 * eps)
        return moved(flats, None), (quotient, jnp.any(jnp.array(changed)) if changed else jnp.array(False))

    return jax.lax.scan(step, [leaf.ravel() for leaf in leaves], entries)[1]


def _float64(value, *, labels: bool = False):
    """``value`` as float64 (integer labels as they are, with ``labels``), where it lies: a ``jax.Array`` (a batch
    split over devices too) is cast on its devices, anything else goes through NumPy; call under ``jax.enable_x64``."""
    if isinstance(value, jax.Array) and not isinstance(value, jax.core.Tracer):
        return value if labels and jnp.issubdtype(value.dtype, jnp.integer) else value.astype(jnp.float64)
    array = np.asarray(value)
    return jnp.asarray(array if labels and np.issubdtype(array.dtype, np.integer) else array.astype(np.float64))


def _in_float64(params, x, y, weights=None):
    """Params, inputs, float targets and weights as float64 (integer labels stay integers), where they lie (no
    copy of a sharded batch to the host); call under ``jax.enable_x64``."""
    params64 = jax.tree_util.tree_map(_float64, params)
    weights64 = None if weights is None else _float64(weights)
    return params64, _float64(x), _float64(y, labels=True), weights64


def check_gradients(
    mlp: MLP,
    params: Params,
    x,
    y,
    loss="sse",
    *,
    reduction: str = "mean",
    finite_differences: bool = True,
    eps: float = 1e-6,
    max_fd_entries: int | None = 2000,
    key=None,
    rtol_autodiff: float = 1e-10,
    rtol_fd: float = 1e-6,
) -> GradCheckReport:
    """Compare manual backprop with ``jax.grad`` and central finite differences in float64.

    Everything is cast to float64 inside ``jax.enable_x64()``; the caller's settings are
    left as they were. A batch placed on a mesh (split over devices) is cast, checked and
    differenced where it lies, never copied to the host.

    Args:
        mlp, params, x, y, loss, reduction: as for :func:`funcmlp.backprop`.
        finite_differences: also compare with central differences.
        eps: finite-difference step, a finite number above 0 (``ValueError`` otherwise; a
            ``TypeError`` for what is not a number).
        max_fd_entries: perturb at most this many parameter entries (a whole number, at least 1),
            chosen at random with ``key`` (each costs two forward passes); ``None`` for all.
        key: ``jax.random`` key for that choice (default ``key(0)``).
        rtol_autodiff, rtol_fd: tolerances that decide ``report.passed``, finite numbers above 0.

    Raises:
        ValueError: for a count or tolerance out of its range, or where the check's float64 arrays
            (:func:`funcmlp.memory.gradient_check_bytes`) would not fit the memory this process may
            use, before anything is allocated.

    Example:
        >>> import jax
        >>> mlp = MLP((3, 4, 2), "tanh", output="identity")
        >>> params = mlp.init(jax.random.key(0))
        >>> report = check_gradients(mlp, params, jax.numpy.ones((5, 3)), jax.numpy.zeros((5, 2)), "half_sse")
        >>> report.passed
        True
    """
    eps = _check_eps(eps)
    if max_fd_entries is not None:
        max_fd_entries = check_positive_int(
            max_fd_entries, "max_fd_entries", "entries to difference; None for all, or finite_differences=False"
        )
    for name, value in (("rtol_autodiff", rtol_autodiff), ("rtol_fd", rtol_fd)):
        check_number(value, name, above=0, example="1e-10 against jax.grad, 1e-6 against finite differences")
    _check_memory(mlp, x, copies=6)
    with jax.enable_x64(True):
        params64, x64, y64, _ = _in_float64(params, x, y)
        batch = check_batch(mlp, params64, x64, y64, loss, reduction=reduction)
        value, grads, auto = _manual_and_autodiff(mlp, get_loss(loss), reduction, params64, *batch)
        manual_leaves = jax.tree_util.tree_leaves(grads)
        auto_leaves = jax.tree_util.tree_leaves(auto)
        names = [(k, name) for k in range(1, mlp.depth + 1) for name in ("W", "b")]
        rows = []
        for (k, name), m, a in zip(names, manual_leaves, auto_leaves, strict=True):
            rows.append(compare(k, name, np.asarray(m), np.asarray(a), "autodiff"))
        flat_manual, _ = ravel_pytree(grads)
        total = int(flat_manual.size)
        fd_entries = kink_entries = sampled = 0
        if finite_differences:
            if max_fd_entries is None or max_fd_entries >= total:
                indices = np.arange(total)
            else:
                chosen = jax.random.choice(
                    key if key is not None else jax.random.key(0), total, (max_fd_entries,), replace=False
                )
                indices = np.sort(np.asarray(chosen))
            sampled = len(indices)
            fd, crosses_kink = finite_difference_grad(
                mlp, params64, x64, y64, loss, eps=eps, indices=indices, reduction=reduction
            )
            chosen_mask = np.zeros(total, bool)
            chosen_mask[indices] = True
            chosen_mask &= ~crosses_kink
            kink_entries = int(crosses_kink.sum())
            fd_entries = sampled - kink_entries
            offset = 0
            for (k, name), m in zip(names, manual_leaves, strict=True):
                size = int(np.prod(m.shape))
                part = fd[offset : offset + size].reshape(m.shape)
                mask = chosen_mask[offset : offset + size].reshape(m.shape)
                rows.append(compare(k, name, np.asarray(m), part, "finite differences", mask))
                offset += size
        return GradCheckReport(
            tuple(rows),
            float(value),
            rtol_autodiff,
            rtol_fd,
            fd_entries,
            total,
            kink_entries,
            sampled,
            finite_differences,
        )
