"""Curvature from the one backward pass: the GGN's diagonal (exact or Monte Carlo), its Kronecker
factors (KFLR, KFAC) and the Hessian's exact diagonal.

Contract::

    diag_ggn(mlp, params, x, y, loss, samples=, key=, per_example=, reduction=, weights=, dropout_key=)
        -> params tree (each leaf with a leading (B,) axis when per_example)
    diag_hessian(mlp, params, x, y, loss, reduction=, weights=, dropout_key=) -> params tree
    kfac_factors(mlp, params, x, y, loss, samples=, key=, reduction=, weights=, dropout_key=)
        -> per layer (A (d_{k-1}+1, d_{k-1}+1), G (d_k, d_k))

Each pushes "virtual sensitivities" down the same recursion as the gradient: the columns of a factor
``S`` of the loss's Hessian in the network's output (:meth:`~funcmlp.Loss.output_hessian_factor`), or
output sensitivities at labels drawn from the model (``samples``), see :mod:`funcmlp.core.curvature`.
The GGN ``sum_i r_i J_i^T H_i J_i`` (``J_i`` the Jacobian of example i's output in the params, ``H_i`` its
loss's Hessian in that output, ``r_i`` the reduction's factor) is the Fisher for the losses that are a
negative log-likelihood (squared errors, cross-entropies, Poisson): the importance of EWC, the curvature
of Laplace approximations and of natural-gradient preconditioners. Inputs are checked as
:func:`funcmlp.backprop` checks them. Imports: registry, core, checks, arguments, memory.
"""

from __future__ import annotations

from functools import partial

import jax

from funcmlp.arguments import check_key, check_positive_int
from funcmlp.checks import check_batch
from funcmlp.core.backward import backward, output_terms
from funcmlp.core.curvature import (
    exact_columns,
    ggn_diagonal,
    ggn_diagonal_per_example,
    hessian_diagonal,
    kronecker_factors,
    pushed_columns,
    sampled_columns,
)
from funcmlp.core.model import MLP
from funcmlp.core.params import Params
from funcmlp.core.reduction import reduction_weights
from funcmlp.memory import check_fits, parameter_count
from funcmlp.registry.losses import get_loss

Array = jax.Array


def diag_ggn(
    mlp: MLP,
    params: Params,
    x,
    y,
    loss="sse",
    *,
    samples: int | None = None,
    key=None,
    per_example: bool = False,
    reduction: str = "mean",
    weights=None,
    dropout_key=None,
) -> Params:
    """The diagonal of the generalised Gauss-Newton matrix ``sum_i r_i J_i^T H_i J_i`` of the batch loss,
    as the params' tree: exact (``samples=None``: the ``C`` columns of each example's Hessian factor down
    the recursion, ``C`` the output units), or the Monte-Carlo estimate from ``samples`` label sets drawn
    from the model with ``key`` (one column each; its mean is the exact diagonal). For the
    negative log-likelihood losses it is the Fisher's diagonal: EWC's importance, a Laplace posterior's
    precision, a preconditioner.

    Args:
        mlp, params, x, y, loss, reduction, weights: as :func:`funcmlp.backprop`.
        samples, key: Monte Carlo: that many draws, a JAX random key (both or neither). The labels are
            drawn from the model whatever ``y`` is: the estimate is of the Fisher, equal to the GGN for
            targets that are distributions (class rows summing to 1; for softmax cross-entropy rows summing
            to t the exact GGN is t times it). Its variance grows as the network grows confident: a rare label
            drawn for a confident example weighs heavily (on the digits after 30 epochs, 8 draws were 112 % off
            the exact diagonal, 64 draws 30 %); the exact diagonal costs ``d_L`` columns.
        per_example: each example's own ``J_i^T H_i J_i`` (of ``L_i``, ``r_i`` taken out; 0 for rows of
            weight 0), each leaf with a leading ``(B,)`` axis: ``B`` times the params' memory.
        dropout_key: the curvature of the network with the dropout masks this key draws.

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP((3, 4, 2), "tanh", output="identity")
        >>> params, x, y = mlp.init(jax.random.key(0)), jnp.ones((5, 3)), jnp.zeros((5, 2))
        >>> exact = diag_ggn(mlp, params, x, y, "half_sse")
        >>> J = jax.jacfwd(lambda p: mlp.apply(p, x[0]))(params)  # H = I: the GGN's diagonal is sum_j J_j^2
        >>> bool(jnp.allclose(exact[1].W, jnp.sum(J[1].W ** 2, axis=0), rtol=1e-5))
        True
        >>> sampled = diag_ggn(mlp, params, x, y, "half_sse", samples=4, key=jax.random.key(1))
        >>> jax.tree_util.tree_structure(sampled) == jax.tree_util.tree_structure(params)
        True
    """
    loss = get_loss(loss)
    samples, key = _sampling(samples, key, loss)
    if not isinstance(per_example, bool):
        raise ValueError(f"per_example must be True or False, got {per_example!r}")
    batch = check_batch(mlp, params, x, y, loss, reduction=reduction, weights=weights)
    columns = samples or mlp.sizes[-1]
    _check_memory(mlp, batch.x, columns * max(mlp.sizes[1:]), "diag_ggn's columns", "use samples=1 or a smaller batch")
    if per_example:
        _check_memory(
            mlp,
            batch.x,
            parameter_count(mlp.sizes),
            "per_example=True",
            "leave per_example out (the batch's diagonal) or use a smaller batch",
        )
    dropout_key = _dropout(mlp, dropout_key)
    return _diag_ggn(
        mlp, loss, reduction, samples, per_example, params, batch.x, batch.targets, batch.weights, key, dropout_key
    )


def kfac_factors(
    mlp: MLP,
    params: Params,
    x,
    y,
    loss="sse",
    *,
    samples: int | None = None,
    key=None,
    reduction: str = "mean",
    weights=None,
    dropout_key=None,
) -> tuple[tuple[Array, Array], ...]:
    """Kronecker factors of each layer's GGN block, ``((A^1, G^1), ..., (A^L, G^L))``: ``A^k`` over the
    layer's inputs with the bias's 1 appended, ``sum_i r_i [a_i, 1]^T [a_i, 1] / sum_i r_i``
    ``(d_{k-1}+1, d_{k-1}+1)``; ``G^k`` over its net inputs, ``sum_i sum_c m_{i,c} m_{i,c}^T`` ``(d_k, d_k)``;
    ``jnp.kron(A, G)`` approximates the block of ``[W^k; b^k]`` flattened row by row (``b`` the last row).
    Exact columns give KFLR, ``samples`` drawn labels KFAC; at batch size 1 KFLR's product is the block.
    For K-FAC preconditioning and Kronecker-factored Laplace approximations.

    Example (one example: the product is the exact block of the last layer, ``J^T H J``):
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP((2, 3, 2), "tanh", output="identity")
        >>> params, x, y = mlp.init(jax.random.key(0)), jnp.array([[0.5, -1.0]]), jnp.zeros((1, 2))
        >>> (A1, G1), (A2, G2) = kfac_factors(mlp, params, x, y, "half_sse")
        >>> J = jax.jacfwd(lambda w: mlp.apply(params[:1] + (params[1]._replace(W=w[:3], b=w[3]),), x[0]))(
        ...     jnp.vstack([params[1].W, params[1].b]))
        >>> block = jnp.einsum("cij,ckl->ijkl", J, J).reshape(8, 8)
        >>> bool(jnp.allclose(jnp.kron(A2, G2), block, atol=1e-6))
        True
    """
    loss = get_loss(loss)
    samples, key = _sampling(samples, key, loss)
    batch = check_batch(mlp, params, x, y, loss, reduction=reduction, weights=weights)
    columns = samples or mlp.sizes[-1]
    _check_memory(mlp, batch.x, columns * max(mlp.sizes[1:]), "kfac_factors' columns", "use samples=1")
    dropout_key = _dropout(mlp, dropout_key)
    return _kfac(mlp, loss, reduction, samples, params, batch.x, batch.targets, batch.weights, key, dropout_key)


def diag_hessian(
    mlp: MLP, params: Params, x, y, loss="sse", *, reduction: str = "mean", weights=None, dropout_key=None
) -> Params:
    """The exact diagonal of the batch loss's Hessian, as the params' tree: the GGN's plus the terms it
    drops, which come from the hidden activations' second derivatives (and the output activation's,
    where the loss is not paired with it). For ReLU-like (piecewise-linear) hidden layers it equals
    :func:`diag_ggn`'s. Carries each example's ``d_k x d_k`` Hessian in ``n^k``: ``B d_k^2`` numbers for
    the widest layer. Hidden activations must be elementwise (not softmax).

    Example:
        >>> import jax, jax.numpy as jnp
        >>> mlp = MLP((2, 3, 1), "tanh", output="identity")
        >>> params, x, y = mlp.init(jax.random.key(0)), jnp.array([[0.5, -1.0], [1.0, 2.0]]), jnp.ones((2, 1))
        >>> diagonal = diag_hessian(mlp, params, x, y, "sse")
        >>> flat = lambda w: funcmlp.objective(mlp, (params[0]._replace(W=w.reshape(2, 3)), params[1]), x, y, "sse")
        >>> reference = jnp.diag(jax.hessian(flat)(params[0].W.ravel())).reshape(2, 3)
        >>> bool(jnp.allclose(diagonal[0].W, reference, rtol=1e-5, atol=1e-7))
        True
    """
    loss = get_loss(loss)
    for activation in mlp.activations[:-1]:
        if not activation.is_elementwise:
            raise ValueError(
                f"diag_hessian needs elementwise hidden activations, but a hidden layer is {activation.name!r} "
                "(its second derivative is a d x d x d tensor); use diag_ggn, or an elementwise hidden activation"
            )
    batch = check_batch(mlp, params, x, y, loss, reduction=reduction, weights=weights)
    widest = max(mlp.sizes[1:])
    _check_memory(
        mlp,
        batch.x,
        3 * widest * widest,
        "diag_hessian's per-example Hessians (B d_k^2)",
        "use a smaller batch and add the diagonals of its parts",
    )
    dropout_key = _dropout(mlp, dropout_key)
    return _hessian(mlp, loss, reduction, params, batch.x, batch.targets, batch.weights, dropout_key)


def _sampling(samples, key, loss) -> tuple[int | None, Array | None]:
    if samples is None:
        if key is not None:
            raise ValueError(
                "key draws the labels of a Monte-Carlo estimate: give samples= with it (e.g. samples=1), "
                "or leave key out for the exact curvature"
            )
        return None, None
    samples = check_positive_int(samples, "samples", "label sets drawn from the model")
    if key is None:
        raise ValueError("samples= draws labels from the model and needs key=, e.g. key=jax.random.key(0)")
    if not loss.has_likelihood:
        raise ValueError(
            f"loss {loss.name!r} is not a negative log-likelihood: there is no model distribution to "
            "draw labels from; leave samples and key out for the exact curvature"
        )
    return samples, check_key(key)


def _dropout(mlp: MLP, dropout_key):
    if dropout_key is None:
        return None
    if not any(mlp.dropout):
        raise ValueError("dropout_key draws dropout masks, but the network has no dropout; leave dropout_key out")
    return check_key(dropout_key, "dropout_key")


def _check_memory(mlp: MLP, x: Array, per_example_numbers: int, what: str, fix: str) -> None:
    check_fits(int(x.shape[0]) * per_example_numbers * x.dtype.itemsize, what, fix)


def _trace(mlp: MLP, params, x, dropout_key):
    return mlp.trace(params, x, key=dropout_key, train=dropout_key is not None)


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _columns(mlp: MLP, loss, reduction: str, samples, params, x, targets, weights, key, dropout_key):
    trace = _trace(mlp, params, x, dropout_key)
    r = reduction_weights(weights, reduction)
    if samples is None:
        columns = exact_columns(mlp, trace, targets, r, loss)
    else:
        columns = sampled_columns(mlp, trace, r, loss, key, samples)
    return trace, r, pushed_columns(mlp, params, trace, columns)


@partial(jax.jit, static_argnums=(0, 1, 2, 3, 4))
def _diag_ggn(
    mlp: MLP, loss, reduction: str, samples, per_example: bool, params, x, targets, weights, key, dropout_key
):
    trace, r, pushed = _columns(mlp, loss, reduction, samples, params, x, targets, weights, key, dropout_key)
    return ggn_diagonal_per_example(trace, pushed, r) if per_example else ggn_diagonal(trace, pushed)


@partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _kfac(mlp: MLP, loss, reduction: str, samples, params, x, targets, weights, key, dropout_key):
    trace, r, pushed = _columns(mlp, loss, reduction, samples, params, x, targets, weights, key, dropout_key)
    return kronecker_factors(trace, pushed, r)


@partial(jax.jit, static_argnums=(0, 1, 2))
def _hessian(mlp: MLP, loss, reduction: str, params, x, targets, weights, dropout_key) -> Params:
    trace = _trace(mlp, params, x, dropout_key)
    _, s = output_terms(mlp, trace, targets, weights, loss, reduction)
    sensitivities = backward(mlp, params, trace, s)[1]
    r = reduction_weights(weights, reduction)
    output = loss.output_hessian(mlp.activations[-1], trace.n[-1], trace.a[-1], targets) * r[:, None, None]
    return hessian_diagonal(mlp, params, trace, sensitivities, output)
