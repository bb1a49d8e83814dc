"""Per-example quantities from the one backward pass: other contractions of ``(a^{k-1}, s^k)``.

Contract (on the trace and the sensitivities of :func:`funcmlp.core.backward.backward`)::

    weighted_sq_norms(trace, sensitivities) -> (B,)   ||grad of r_i L_i||^2, example by example
    unweighted(sq_norms, r)                 -> (B,)   ||grad L_i||^2 (r_i > 0), 0 where r_i = 0 (masked)
    example_norms(trace, sensitivities, r)  -> (B,)   ||grad L_i||, 0 where r_i = 0
    clip_factors(norms, max_norm)           -> (B,)   min(1, max_norm / norm_i)
    row_scaled_grads(trace, sensitivities, c) -> params tree   sum_i c_i grad(r_i L_i)
    second_moments(trace, sensitivities, r)   -> params tree   sum_i r_i (grad L_i)^2, entry by entry

Example i's share of the batch gradient of layer k is the outer product ``[a_i^{k-1}, 1]^T s_i^k``,
so its squared norm is ``||s_i^k||^2 (||a_i^{k-1}||^2 + 1)``: summed over the layers, each example's
squared gradient norm, with no per-example gradient held. The recursion works row by row, so
scaling row i of ``s^L`` by ``c_i`` scales row i of every ``s^k``: ``sum_i c_i grad(r_i L_i)`` is the
plain contraction with the rows of ``s^k`` rescaled. Pure and traceable; nothing is checked here.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from funcmlp.core.batch_axis import over_batch
from funcmlp.core.model import Trace
from funcmlp.core.params import Layer, Params

Array = jax.Array


def _inputs(trace: Trace, k: int) -> Array:
    return trace.x if k == 0 else trace.a[k - 1]


def weighted_sq_norms(trace: Trace, sensitivities: tuple[Array, ...]) -> Array:
    """``(B,)``: ``sum_k ||s_i^k||^2 (||a_i^{k-1}||^2 + 1)``, the squared norm of each example's share
    ``grad(r_i L_i)`` of the batch gradient (weights and biases of every layer).

    Example:
        >>> import jax.numpy as jnp
        >>> trace = Trace(jnp.array([[1.0, 2.0]]), (jnp.zeros((1, 1)),), (jnp.zeros((1, 1)),), (None,))
        >>> weighted_sq_norms(trace, (jnp.array([[3.0]]),)).tolist()  # dL/dW = [3, 6], dL/db = 3
        [54.0]
    """
    total = 0.0
    for k, s in enumerate(sensitivities):
        a_prev = _inputs(trace, k)
        total = total + jnp.sum(s * s, axis=-1) * (jnp.sum(a_prev * a_prev, axis=-1) + 1)
    return total


def unweighted(sq_norms: Array, r: Array) -> Array:
    """``(B,)``: ``||grad L_i||^2 = ||grad(r_i L_i)||^2 / r_i^2`` where ``r_i > 0``; 0 where ``r_i = 0``
    (a padding row: masked, never divided by).

    Example:
        >>> unweighted(jnp.array([4.0, 7.0]), jnp.array([0.5, 0.0])).tolist()
        [16.0, 0.0]
    """
    safe = jnp.where(r > 0, r, 1)
    return jnp.where(r > 0, sq_norms / (safe * safe), 0)


def example_norms(trace: Trace, sensitivities: tuple[Array, ...], r: Array) -> Array:
    """``(B,)``: the norm of each example's gradient of its own loss ``L_i``, 0 for rows of ``r_i = 0``.

    Example:
        >>> trace = Trace(jnp.array([[1.0, 2.0]]), (jnp.zeros((1, 1)),), (jnp.zeros((1, 1)),), (None,))
        >>> example_norms(trace, (jnp.array([[1.5]]),), jnp.array([0.5])).tolist()  # (3, 6, 3) / 1
        [7.3484692283495345]
    """
    return jnp.sqrt(unweighted(weighted_sq_norms(trace, sensitivities), r))


def clip_factors(norms: Array, max_norm) -> Array:
    """``(B,)``: ``min(1, max_norm / norm_i)``, the factor that clips each example's gradient to ``max_norm``
    (1 where the norm is 0: a padding row).

    Example:
        >>> clip_factors(jnp.array([0.5, 4.0, 0.0]), 2.0).tolist()
        [1.0, 0.5, 1.0]
    """
    clipped = norms > max_norm
    return jnp.where(clipped, max_norm / jnp.where(clipped, norms, 1), 1).astype(norms.dtype)


def row_scaled_grads(trace: Trace, sensitivities: tuple[Array, ...], c: Array) -> Params:
    """``sum_i c_i grad(r_i L_i)`` ``(the params' tree)``: each layer's ``(a^{k-1})^T (c * s^k)`` and
    ``sum_i c_i s_i^k``, with ``c`` ``(B,)``.

    Example:
        >>> trace = Trace(jnp.array([[1.0], [2.0]]), (jnp.zeros((2, 1)),), (jnp.zeros((2, 1)),), (None,))
        >>> grads = row_scaled_grads(trace, (jnp.array([[1.0], [1.0]]),), jnp.array([1.0, 0.5]))
        >>> grads[0].W.tolist(), grads[0].b.tolist()
        ([[2.0]], [1.5])
    """
    grads = []
    for k, s in enumerate(sensitivities):
        scaled = s * c[:, None]
        grads.append(Layer(over_batch(_inputs(trace, k), scaled), jnp.sum(scaled, axis=0)))
    return tuple(grads)


def second_moments(trace: Trace, sensitivities: tuple[Array, ...], r: Array) -> Params:
    """``sum_i r_i (grad L_i)^2`` entry by entry ``(the params' tree)``, for factors ``r`` ``(B,)`` that sum
    to 1: with ``grad L_i = [a_i^{k-1}, 1]^T s_i^k / r_i``, layer k's is ``(a^{k-1} * a^{k-1})^T (s^k * s^k / r)``
    (rows of ``r_i = 0`` left out), its bias's ``sum_i (s_i^k)^2 / r_i``.

    Example:
        >>> trace = Trace(jnp.array([[1.0], [3.0]]), (jnp.zeros((2, 1)),), (jnp.zeros((2, 1)),), (None,))
        >>> moments = second_moments(trace, (jnp.array([[0.5], [1.0]]),), jnp.array([0.5, 0.5]))
        >>> moments[0].W.tolist(), moments[0].b.tolist()  # (dW, db) of the examples: (1, 1) and (6, 2)
        ([[18.5]], [2.5])
    """
    inverse = jnp.where(r > 0, 1 / jnp.where(r > 0, r, 1), 0)[:, None]
    moments = []
    for k, s in enumerate(sensitivities):
        a_prev = _inputs(trace, k)
        squares = s * s * inverse
        moments.append(Layer(over_batch(a_prev * a_prev, squares), jnp.sum(squares, axis=0)))
    return tuple(moments)
