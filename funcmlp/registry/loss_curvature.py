"""A loss's curvature: the methods :class:`funcmlp.registry.losses.Loss` takes from :class:`LossCurvature`,
its base. The factor of each example's Hessian, labels drawn from the model, and their output-side forms
(in the output layer's net input ``n^L``) that the GGN, Kronecker factors and the Hessian's diagonal
(:mod:`funcmlp.core.curvature`) push down the backward recursion.

Contract (``B`` examples, ``d`` outputs, ``C`` columns of a factor)::

    hessian_factor(a, y)                            -> (B, d, C)     S S^T = d^2 L_i/da^2
    sympy_hessian_factor(a, y)                      -> sympy.Matrix  d x C, the same for lists a, y
    has_likelihood, sample(key, a)                  -> bool, (B, d)  targets drawn from the model
    output_hessian_factor(activation, n, a, y)      -> (B, d, C)     F F^T = J_f^T (d^2 L_i/da^2) J_f, the GGN's
    output_hessian(activation, n, a, y)             -> (B, d, d)     d^2 L_i/dn^2, the exact Hessian in n^L
    sample_targets(key, activation, n, a)           -> (B, d)        targets drawn at the output layer

A probability loss on its paired output activation (``cross_entropy`` on ``softmax``, ...) is, in ``n``,
its logits loss (:meth:`~funcmlp.registry.losses.Loss.output_terms`): the output-side forms are then the
logits loss's, at ``n``. Pure and traceable, as the rest of the registry's JAX forms.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from funcmlp.registry.activations import Activation, sp
from funcmlp.registry.loss_curvature_rules import autodiff_hessian_factor

Array = jax.Array


def _outer(S: Array) -> Array:
    """``S S^T`` of each example: ``(B, d, C) -> (B, d, d)``."""
    return jnp.einsum("bic,bjc->bij", S, S)


class LossCurvature:
    """The curvature methods of :class:`~funcmlp.registry.losses.Loss` (which defines ``spec``, ``name``,
    ``gradient``, ``per_example`` and the parameter these read)."""

    def hessian_factor(self, a: Array, y: Array) -> Array:
        """A factor ``S`` ``(B, d, C)`` of each example's Hessian in ``a`` (the logits of a logits loss),
        ``S S^T = d^2 L_i/da^2``, for outputs and targets ``(B, d)``: the entry's closed form, or for a
        loss registered without one ``jax.hessian`` and an eigendecomposition (NaN columns where the
        Hessian has a clearly negative eigenvalue:
        :func:`~funcmlp.registry.loss_curvature_rules.autodiff_hessian_factor`).

        Example:
            >>> import jax.numpy as jnp
            >>> from funcmlp.registry.losses import Loss
            >>> Loss("poisson").hessian_factor(jnp.log(jnp.array([[4.0, 9.0]])), jnp.ones((1, 2))).round(6).tolist()
            [[[2.0, 0.0], [0.0, 3.0]]]
        """
        rule = self.spec.hessian_factor or autodiff_hessian_factor(self.spec.value)
        return rule(a, y, *self._arguments)

    def sympy_hessian_factor(self, a: list, y: list):
        """The factor as a ``d x C`` ``sympy.Matrix`` of lists ``a`` and ``y`` (the parameter exact).

        Example:
            >>> import sympy
            >>> from funcmlp.registry.losses import Loss
            >>> Loss("poisson").sympy_hessian_factor(sympy.symbols("a:2"), sympy.symbols("y:2"))
            Matrix([
            [exp(a0/2),         0],
            [        0, exp(a1/2)]])
        """
        return sp.Matrix(self._symbolic("sympy_hessian_factor")(list(a), list(y), *self._symbolic_arguments))

    @property
    def has_likelihood(self) -> bool:
        """The loss is a negative log-likelihood with a sampler (:meth:`sample`): Monte Carlo curvature works."""
        return self.spec.sample is not None

    def sample(self, key: Array, a: Array) -> Array:
        """Targets ``(B, d)`` in ``a``'s dtype drawn from the model's predictive distribution at outputs ``a``
        (the one the loss is the negative log-likelihood of): the expected outer product of the gradient at
        them is the expected Hessian, the Fisher (the GGN of these losses). ``softmax_cross_entropy`` draws
        one-hot rows, whose outer products average to ``diag p - p p^T``, the Hessian at a target row summing to
        1; at a row summing to ``t`` the Hessian is ``t`` times that (the curvature core scales by ``sqrt(t)``).

        Example:
            >>> import jax, jax.numpy as jnp
            >>> from funcmlp.registry.losses import Loss
            >>> Loss("softmax_cross_entropy").sample(jax.random.key(0), jnp.zeros((2, 3))).sum(axis=-1).tolist()
            [1.0, 1.0]
            >>> Loss("huber").sample(jax.random.key(0), jnp.zeros((2, 3)))  # doctest: +NORMALIZE_WHITESPACE
            Traceback (most recent call last):
            ...
            ValueError: loss 'huber' has no predictive distribution to sample labels from;
            use the exact curvature (samples=None)
        """
        if self.spec.sample is None:
            raise ValueError(
                f"loss {self.name!r} has no predictive distribution to sample labels from; "
                "use the exact curvature (samples=None)"
            )
        return self.spec.sample(key, a, *self._arguments)

    def _logits_loss(self, activation: Activation):
        """The logits loss this loss is on ``activation``'s net input (its pairing), or ``None``."""
        paired = self.spec.paired.get(activation.name)
        return None if paired is None else type(self)(paired)

    def output_hessian_factor(self, activation: Activation, n: Array, a: Array, y: Array) -> Array:
        """A factor ``(B, d, C)`` of the GGN's output block in the net input ``n = n^L``: ``J_f(n)^T S(a)``
        (each column of :meth:`hessian_factor` through ``activation.backward``, a VJP, so a softmax output
        too), or on a paired output the logits loss's factor at ``n``. Shapes of ``n, a, y``: ``(B, d)``.

        Example (a sigmoid output with ``binary_cross_entropy``: the logits loss's ``sqrt(p (1 - p))``):
            >>> import jax.numpy as jnp
            >>> from funcmlp.registry.losses import Loss
            >>> from funcmlp.registry.activations import Activation
            >>> n = jnp.zeros((1, 1))
            >>> Loss("binary_cross_entropy").output_hessian_factor(Activation("sigmoid"), n, n + 0.5, n).tolist()
            [[[0.5]]]
        """
        logits = self._logits_loss(activation)
        if logits is not None:
            return logits.hessian_factor(n, y)
        through = jax.vmap(lambda column: activation.backward(n, column), in_axes=-1, out_axes=-1)
        return through(self.hessian_factor(a, y))

    def output_hessian(self, activation: Activation, n: Array, a: Array, y: Array) -> Array:
        """Each example's exact Hessian ``d^2 L_i/dn^2`` ``(B, d, d)`` in the net input ``n = n^L``. On a
        paired output the logits loss's ``S S^T`` at ``n``; on an elementwise output
        ``D H_a D + diag(g * F''(n))``, ``D = diag(F'(n))``, ``g = dL/da``, ``H_a`` the loss's Hessian in ``a``
        (``S S^T``, or ``jax.hessian`` of the value for a loss registered without a factor: exact where the
        loss is not convex too); on a softmax output with a loss it is not paired with, the closed form of
        :meth:`_softmax_output_hessian`; on another vector output ``jax.hessian`` of the loss of ``activation(n)``.

        Example (``tanh`` with ``half_sse`` at ``n = 0``: ``F' = 1``, ``F'' = 0``):
            >>> import jax.numpy as jnp
            >>> from funcmlp.registry.losses import Loss
            >>> from funcmlp.registry.activations import Activation
            >>> n = jnp.zeros((1, 2))
            >>> Loss("half_sse").output_hessian(Activation("tanh"), n, n, n + 1).tolist()
            [[[1.0, 0.0], [0.0, 1.0]]]
        """
        logits = self._logits_loss(activation)
        if logits is not None:
            return _outer(logits.hessian_factor(n, y))
        if activation.name == "softmax":
            return self._softmax_output_hessian(activation, n, a, y)
        if not activation.is_elementwise:

            def one(ni, yi):
                return self.per_example(activation(ni[None]), yi[None])[0]

            return jax.vmap(jax.hessian(one))(n, y)
        slope = activation.derivative(n)
        curvature = self.gradient(a, y) * activation.second_derivative(n)
        return slope[..., :, None] * self._hessian(a, y) * slope[..., None, :] + jax.vmap(jnp.diag)(curvature)

    def _softmax_output_hessian(self, activation: Activation, n: Array, a: Array, y: Array) -> Array:
        """``J H_a J + diag(p v) - (p v) p^T - p (p v)^T`` with ``J = diag(p) - p p^T`` (symmetric), ``H_a`` the loss's
        Hessian in ``a = p`` and ``p v = J g`` (``g = dL/da``): the second derivative of ``<g, softmax(n)>`` in closed
        form. Both products with ``J`` are the activation's VJP, which keeps ``1 - p`` at the largest logit without
        cancellation (``jax.hessian`` through ``softmax`` loses it: 0 for 2.5e-20 at logits 26, -19, -49)."""
        through = jax.vmap(lambda column: activation.backward(n, column), in_axes=-1, out_axes=-1)
        left = through(self._hessian(a, y))  # J H_a
        sandwich = jnp.swapaxes(through(jnp.swapaxes(left, -1, -2)), -1, -2)  # J (J H_a)^T, transposed: J H_a J
        p = activation(n)
        pv = activation.backward(n, self.gradient(a, y))
        return (
            sandwich + jax.vmap(jnp.diag)(pv) - pv[..., :, None] * p[..., None, :] - p[..., :, None] * pv[..., None, :]
        )

    def _hessian(self, a: Array, y: Array) -> Array:
        """``d^2 L_i/da^2`` ``(B, d, d)``: ``S S^T`` of the entry's factor, else ``jax.hessian`` of the value."""
        if self.spec.hessian_factor is not None:
            return _outer(self.hessian_factor(a, y))
        return jax.vmap(jax.hessian(lambda ai, yi: self.per_example(ai[None], yi[None])[0]))(a, y)

    def sample_targets(self, key: Array, activation: Activation, n: Array, a: Array) -> Array:
        """Targets ``(B, d)`` drawn from the model at the output layer: on a paired output the logits loss's
        :meth:`sample` at ``n``, else this loss's at ``a`` (with the same scaling note for soft class rows).

        Example:
            >>> import jax, jax.numpy as jnp
            >>> from funcmlp.registry.losses import Loss
            >>> from funcmlp.registry.activations import Activation
            >>> n = jnp.array([[0.0, 50.0]])
            >>> Loss("cross_entropy").sample_targets(jax.random.key(1), Activation("softmax"), n, n).tolist()
            [[0.0, 1.0]]
        """
        logits = self._logits_loss(activation)
        return logits.sample(key, n) if logits is not None else self.sample(key, a)
