"""Curvature from virtual sensitivities: the GGN's diagonal, its Kronecker factors, the Hessian's diagonal.

Contract (on a forward trace of a checked batch, ``r`` the reduction's factors ``(B,)``)::

    exact_columns(mlp, trace, targets, r, loss)           -> (C, B, d_L)   sqrt(r_i) J_f^T S_i, C = S's columns
    sampled_columns(mlp, trace, r, loss, key, samples)    -> (M, B, d_L)   sqrt(r_i / M) dl(out_i, y~)/dn^L
    pushed_columns(mlp, params, trace, columns)           -> per layer (C, B, d_k): the columns down the recursion
    ggn_diagonal(trace, pushed)                           -> params tree   diag sum_i r_i J_i^T H_i J_i
    ggn_diagonal_per_example(trace, pushed, r)            -> params tree, each leaf (B, ...): of each L_i
    kronecker_factors(trace, pushed, r)                   -> per layer (A (d_{k-1}+1)^2, G d_k^2)
    hessian_diagonal(mlp, params, trace, sensitivities, output_hessian) -> params tree

The sensitivity recursion is linear in ``s^L``: any ``(B, d_L)`` array put in its place (a column
``m^L``) comes down as ``m^k``, one row per example. With the columns of a factor ``S_i S_i^T`` of the
loss's Hessian in the output (``C`` of them, each scaled by ``sqrt(r_i)``), the GGN of layer k's
weights has the diagonal ``(a^{k-1} * a^{k-1})^T sum_c (m^k_c * m^k_c)``, its bias's
``sum_i sum_c (m^k_{i,c})^2``; with labels drawn from the model (Monte Carlo) the columns are the
sampled output sensitivities. The Hessian's diagonal carries each example's ``d_k x d_k`` Hessian in
``n^k`` down: ``H^k = D W^{k+1} H^{k+1} W^{k+1 T} D + diag(g^k * q^k * F''(n^k))`` with
``D = diag(q^k * F'(n^k))``, ``g^k = s^{k+1} W^{k+1 T}`` and ``q^k`` the dropout factor. Pure and
traceable; nothing is checked here (see :mod:`funcmlp.curvature`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from funcmlp.core.backward import sensitivity_below
from funcmlp.core.batch_axis import explicitly_split, over_batch, rows
from funcmlp.core.model import MLP, Trace
from funcmlp.core.params import Layer, Params
from funcmlp.registry.losses import Loss

Array = jax.Array


def _inputs(trace: Trace, k: int) -> Array:
    """``a^{k}`` for ``k >= 1``, ``x`` for ``k = 0``: layer k+1's inputs, ``(B, d_k)``."""
    return trace.x if k == 0 else trace.a[k - 1]


def exact_columns(mlp: MLP, trace: Trace, targets: Array, r: Array, loss: Loss) -> Array:
    """``(C, B, d_L)``: the columns of each example's factor of the loss's Hessian in ``n^L``
    (:meth:`~funcmlp.Loss.output_hessian_factor`), scaled by ``sqrt(r_i)``."""
    factor = loss.output_hessian_factor(mlp.activations[-1], trace.n[-1], trace.a[-1], targets)
    return jnp.moveaxis(factor * jnp.sqrt(r)[:, None, None], -1, 0)


def sampled_columns(mlp: MLP, trace: Trace, r: Array, loss: Loss, key: Array, samples: int) -> Array:
    """``(M, B, d_L)``: for each of ``M = samples`` label sets drawn from the model's predictive
    distribution (:meth:`~funcmlp.Loss.sample_targets`, key ``fold_in(key, j)`` for draw j), the output
    sensitivities ``dl(out_i, y~_i)/dn^L``, scaled by ``sqrt(r_i / M)``: their outer products average
    to the Fisher, the GGN of these losses."""
    activation, n, a = mlp.activations[-1], trace.n[-1], trace.a[-1]
    scale = jnp.sqrt(r / samples)[:, None]

    def column(j):
        drawn = jax.lax.stop_gradient(loss.sample_targets(jax.random.fold_in(key, j), activation, n, a))
        return loss.output_terms(activation, n, a, drawn.astype(n.dtype))[1] * scale

    # a loop of (B, d_L) draws, not a vmap: one compiled body whatever ``samples`` is, and XLA's CPU compiles a
    # rank-3 random draw several times slower than rank-2 ones (5 s against 0.7 s for 8 x 1079 x 10 labels)
    return jax.lax.map(column, jnp.arange(samples))


def pushed_columns(mlp: MLP, params: Params, trace: Trace, columns: Array) -> tuple[Array, ...]:
    """Each column ``(B, d_L)`` of ``columns`` ``(C, B, d_L)`` down the sensitivity recursion: per layer
    ``(C, B, d_k)``, ``m^k`` of every column."""
    pushed: list[Array] = [None] * mlp.depth  # type: ignore[list-item]
    m = columns
    for k in range(mlp.depth, 0, -1):
        pushed[k - 1] = m
        if k > 1:
            m = sensitivity_below(mlp, params, trace, k, m)
    return tuple(pushed)


def _sum_of_squares(m: Array) -> Array:
    """``sum_c m_c * m_c`` of columns ``m`` ``(C, B, d)``: ``(B, d)``, as a product with a vector of ones (XLA's
    CPU reduces over a leading axis an order of magnitude slower: 47 ms against 6 ms for 10 x 1024 x 256)."""
    columns = m.shape[0]
    if explicitly_split(m, 1):  # an Explicit mesh axis splits the batch: no reshape across it
        return jnp.tensordot(jnp.ones(columns, m.dtype), m * m, axes=1)
    return (jnp.ones((1, columns), m.dtype) @ (m * m).reshape(columns, -1)).reshape(m.shape[1:])


def ggn_diagonal(trace: Trace, pushed: tuple[Array, ...]) -> Params:
    """The diagonal of the batch's GGN ``sum_i r_i J_i^T H_i J_i``, as the params' tree: layer k's weights
    ``(a^{k-1} * a^{k-1})^T q^k``, its bias ``sum_i q_i^k``, with ``q^k = sum_c m^k_c * m^k_c`` ``(B, d_k)``.

    Example (one linear layer, the squared error's ``S = sqrt(2)``: the GGN is ``2 x^T x``):
        >>> trace = Trace(jnp.array([[1.0], [2.0]]), (jnp.zeros((2, 1)),), (jnp.zeros((2, 1)),), (None,))
        >>> columns = (jnp.sqrt(2.0 * jnp.array([[[0.5], [0.5]]])),)  # C = 1, r = (1/2, 1/2)
        >>> diagonal = ggn_diagonal(trace, columns)
        >>> round(float(diagonal[0].W[0, 0]), 12), round(float(diagonal[0].b[0]), 12)
        (5.0, 2.0)
    """
    diagonal = []
    for k, m in enumerate(pushed):
        q = _sum_of_squares(m)
        a_prev = _inputs(trace, k)
        diagonal.append(Layer(over_batch(a_prev * a_prev, q), jnp.sum(q, axis=0)))
    return tuple(diagonal)


def ggn_diagonal_per_example(trace: Trace, pushed: tuple[Array, ...], r: Array) -> Params:
    """The diagonal of each example's own GGN ``J_i^T H_i J_i`` (of ``L_i``, the factor ``r_i`` taken out;
    0 for rows of ``r_i = 0``): each leaf with a leading batch axis, ``W`` ``(B, d_{k-1}, d_k)``, ``b``
    ``(B, d_k)``. Their ``r``-weighted sum is :func:`ggn_diagonal`.

    Example:
        >>> trace = Trace(jnp.array([[1.0], [2.0]]), (jnp.zeros((2, 1)),), (jnp.zeros((2, 1)),), (None,))
        >>> columns = (jnp.sqrt(2.0 * jnp.array([[[0.5], [0.5]]])),)
        >>> per_example = ggn_diagonal_per_example(trace, columns, jnp.array([0.5, 0.5]))
        >>> [round(v, 12) for v in per_example[0].W[:, 0, 0].tolist()]  # 2 x_i^2
        [2.0, 8.0]
    """
    inverse = jnp.where(r > 0, 1 / jnp.where(r > 0, r, 1), 0)
    diagonal = []
    for k, m in enumerate(pushed):
        q = _sum_of_squares(m) * inverse[:, None]
        a_prev = _inputs(trace, k)
        diagonal.append(Layer((a_prev * a_prev)[:, :, None] * q[:, None, :], q))
    return tuple(diagonal)


def kronecker_factors(trace: Trace, pushed: tuple[Array, ...], r: Array) -> tuple[tuple[Array, Array], ...]:
    """Per layer ``(A, G)``: ``A = sum_i r_i a~_i a~_i^T / sum_i r_i`` over the inputs with the bias's 1
    appended, ``(d_{k-1}+1, d_{k-1}+1)``; ``G = sum_i sum_c m^k_{i,c} m^k_{i,c}^T`` ``(d_k, d_k)``.
    ``kron(A, G)`` approximates the GGN's block of ``[W^k; b^k]`` flattened row by row (exact at batch 1).

    Example (one example, one linear unit, the squared error: the block is ``2 [x, 1]^T [x, 1]``):
        >>> trace = Trace(jnp.array([[3.0]]), (jnp.zeros((1, 1)),), (jnp.zeros((1, 1)),), (None,))
        >>> ((A, G),) = kronecker_factors(trace, (jnp.sqrt(2.0) * jnp.ones((1, 1, 1)),), jnp.ones(1))
        >>> A.tolist(), round(float(G[0, 0]), 12)
        ([[9.0, 3.0], [3.0, 1.0]], 2.0)
    """
    total = jnp.sum(r)
    weight = r / jnp.where(total > 0, total, 1)
    factors = []
    for k, m in enumerate(pushed):
        a_prev = _inputs(trace, k)
        extended = jnp.concatenate([a_prev, jnp.ones_like(a_prev[:, :1])], axis=1)
        A = over_batch(extended, extended * weight[:, None])
        every = rows(m)  # every column of every example: one matrix product
        G = over_batch(every, every)
        factors.append((A, G))
    return tuple(factors)


def _sandwich(W: Array, H: Array) -> Array:
    """``W H_i W^T`` for each ``H_i`` of ``H`` ``(B, m, m)``, ``W`` ``(j, m)``: ``(B, j, j)``, as two matrix products
    over every example at once (XLA's CPU runs the batched three-operand product several times slower)."""
    batch, m, _ = H.shape
    right = (H.reshape(batch * m, m) @ W.T).reshape(batch, m, -1)  # H_i W^T
    left = W @ jnp.transpose(right, (1, 0, 2)).reshape(m, -1)  # W (H_i W^T), the examples side by side
    return jnp.transpose(left.reshape(W.shape[0], batch, -1), (1, 0, 2))


def hessian_diagonal(
    mlp: MLP, params: Params, trace: Trace, sensitivities: tuple[Array, ...], output_hessian: Array
) -> Params:
    """The exact diagonal of the batch loss's Hessian, as the params' tree, from each example's Hessian
    ``output_hessian`` ``(B, d_L, d_L)`` of ``r_i L_i`` in ``n^L`` and the sensitivities ``s^k`` of the same
    pass (of the batch loss, reduction applied). Holds one ``(B, d_k, d_k)`` array at a time. Every hidden
    activation must be elementwise (:meth:`~funcmlp.Activation.second_derivative`).

    Example (one linear layer and the squared error: the Hessian's diagonal is ``2 sum_i r_i x_i^2``):
        >>> trace = Trace(jnp.array([[1.0], [2.0]]), (jnp.zeros((2, 1)),), (jnp.zeros((2, 1)),), (None,))
        >>> diagonal = hessian_diagonal(MLP((1, 1), "identity"), None, trace, (None,), jnp.full((2, 1, 1), 1.0))
        >>> diagonal[0].W.tolist(), diagonal[0].b.tolist()
        ([[5.0]], [2.0])
    """
    H = output_hessian
    diagonal: list[Layer] = [None] * mlp.depth  # type: ignore[list-item]
    for k in range(mlp.depth, 0, -1):
        h = jnp.diagonal(H, axis1=1, axis2=2)
        a_prev = _inputs(trace, k - 1)
        diagonal[k - 1] = Layer(over_batch(a_prev * a_prev, h), jnp.sum(h, axis=0))
        if k > 1:
            W = params[k - 1].W
            activation, n, mask = mlp.activations[k - 2], trace.n[k - 2], trace.masks[k - 2]
            factor = activation.derivative(n) if mask is None else activation.derivative(n) * mask
            g = sensitivities[k - 1] @ W.T
            curvature = g * activation.second_derivative(n)
            if mask is not None:
                curvature = curvature * mask
            through = _sandwich(W, H)
            H = factor[:, :, None] * through * factor[:, None, :]
            H = H + jax.vmap(jnp.diag)(curvature)
    return tuple(diagonal)
