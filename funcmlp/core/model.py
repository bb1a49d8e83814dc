"""The MLP description and its forward pass.

Contract (row convention of seed 003, batch first)::

    a^0 = x                                   x: (batch, d_0) or one example (d_0,)
    n^k = a^{k-1} @ W^k + b^k                 W^k: (d_{k-1}, d_k), b^k: (d_k,)
    a^k = f^k(n^k) [* m^k / keep_k]           dropout mask m^k on hidden layers, training only
    output a^L                                (batch, d_L) or (d_L,)

``MLP`` holds only static configuration (sizes, activations, dropout rates); it is a
frozen, hashable dataclass and a pytree without leaves (its configuration is the tree's static
part), so it can be passed to ``jax.jit`` as an argument (as Equinox passes its modules), marked
static, or closed over. Parameters are a separate pytree (:mod:`funcmlp.core.params`).
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp.arguments import check_key
from funcmlp.core.initializers import ScaledDraw, draw_entries, get_initializer
from funcmlp.core.params import Layer, Params
from funcmlp.core.precision import matmul
from funcmlp.memory import check_fits, parameter_count
from funcmlp.registry.activations import Activation, get_activation

Array = jax.Array


class Trace(NamedTuple):
    """Everything the forward pass computed, kept for the backward pass (seed 003).

    Attributes:
        x: the input a^0, ``(batch, d_0)``.
        n: net inputs ``(n^1, ..., n^L)``; ``n[k-1]`` is n^k of shape ``(batch, d_k)``.
        a: layer outputs ``(a^1, ..., a^L)``; ``a[k-1]`` is a^k, after dropout when training.
        masks: per hidden layer, the dropout factor ``m^k / keep_k`` (``(batch, d_k)``) or
            ``None`` where no dropout was applied.
    """

    x: Array
    n: tuple[Array, ...]
    a: tuple[Array, ...]
    masks: tuple[Array | None, ...]


def _layer_activations(activations, output, sizes: tuple[int, ...]) -> tuple[Activation, ...]:
    """One activation per layer: ``activations`` the hidden layers' (one for all, or one each), or every layer's
    (one each); ``output`` the output layer's (default: the identity, or the last of a list of every layer's)."""
    depth = len(sizes) - 1
    last = None if output is None else get_activation(output)
    if activations is None or isinstance(activations, (str, Activation)):
        hidden = get_activation("relu" if activations is None else activations)
        if depth == 1 and activations is not None and last is None and hidden.name != "identity":
            raise ValueError(
                f"MLP({sizes}, {str(hidden)!r}): the activation names the hidden layers' and this network has none "
                f"(one layer); name the output layer's with output=: MLP({sizes}, output={str(hidden)!r})"
            )
        return (hidden,) * (depth - 1) + (last or get_activation("identity"),)
    try:
        given = tuple(get_activation(a) for a in activations)
    except TypeError:
        raise ValueError(
            f"activations must be a name, an Activation or a list of them, got {type(activations).__name__} "
            f"{activations!r:.40}"
        ) from None
    if len(given) == depth - 1:
        return given + (last or get_activation("identity"),)
    if len(given) == depth:
        if last is not None and last != given[-1]:
            raise ValueError(
                f"activations name every layer's, the output layer's {str(given[-1])!r}, and output= names "
                f"{str(last)!r}; name it once: activations={[str(a) for a in given[:-1]]!r}, output={str(last)!r}"
            )
        return given
    raise ValueError(
        f"expected {depth - 1} or {depth} activations ({depth - 1}: one per hidden layer, the output layer's given by "
        f"output=, default identity; {depth}: one per layer), got {len(given)}: {tuple(str(a) for a in given)!r}"
    )


def _as_tuple(value, count: int, what: str) -> tuple:
    if isinstance(value, (str, Activation, int, float)) or value is None or callable(value):
        return (value,) * count  # one for every layer (an initializer may be a function)
    value = tuple(value)
    if len(value) != count:
        raise ValueError(f"expected {count} {what} (one per layer), got {len(value)}: {value!r}")
    return value


@dataclass(frozen=True, init=False)
class MLP:
    """A fully connected network: layer sizes, one activation per layer, dropout rates.

    The output layer is linear unless asked (as Equinox's ``final_activation``): ``MLP((64, 256, 10), "relu")``
    is ReLU on the hidden layer and the identity on the output, whose outputs are then the logits that
    ``softmax_cross_entropy`` takes.

    Args:
        sizes: ``(d_0, d_1, ..., d_L)``: inputs, then units of each layer. At least two.
        activations: the hidden layers' activation: one name (or :class:`Activation`) for all of them
            (default ``"relu"``), or ``L - 1`` of them, one each; or ``L``, one for every layer, the output's
            last. A network of one layer has no hidden layer: a name other than ``"identity"`` is refused
            there, pointing to ``output=``.
        output: the output layer's activation; default ``"identity"`` (or the last of ``L`` activations);
            e.g. ``MLP((2, 8, 1), "tanh", output="sigmoid")``, ``MLP((784, 10), output="softmax")``.
        dropout: inverted-dropout rate of each hidden layer's output (``L - 1`` numbers,
            or one for all); 0 means none. Applied only with ``train=True``.

    Frozen and hashable, and a pytree without leaves: ``jax.jit(f)(mlp, params, x)`` takes it as an argument.

    Example:
        >>> import jax
        >>> mlp = MLP((2, 3, 1), "tanh", output="sigmoid")
        >>> params = mlp.init(jax.random.key(0))
        >>> mlp.apply(params, jax.numpy.ones((4, 2))).shape
        (4, 1)
        >>> str(MLP((64, 256, 10), "relu")), str(MLP((64, 256, 10), ["relu", "relu"]))
        ('MLP 64 -> 256(relu) -> 10(identity)', 'MLP 64 -> 256(relu) -> 10(relu)')
        >>> jax.jit(lambda network, p, x: network.apply(p, x))(mlp, params, jax.numpy.ones((4, 2))).shape
        (4, 1)
    """

    sizes: tuple[int, ...]
    activations: tuple[Activation, ...]
    dropout: tuple[float, ...]

    def __init__(self, sizes: Sequence[int], activations=None, *, output=None, dropout=0.0):
        sizes = tuple(sizes)
        if len(sizes) < 2:
            raise ValueError(f"sizes must list the inputs and at least one layer, e.g. (2, 1); got {sizes!r}")
        for index, size in enumerate(sizes):
            # any integer type (numpy's np.int64 too), never a bool or a float such as 3.0
            if not isinstance(size, numbers.Integral) or isinstance(size, (bool, np.bool_)) or size < 1:
                raise ValueError(f"sizes[{index}] must be a positive integer, got {size!r}")
        sizes = tuple(int(size) for size in sizes)  # plain ints: the MLP hashes and prints the same either way
        depth = len(sizes) - 1
        acts = _layer_activations(activations, output, sizes)
        rates = tuple(float(r) for r in _as_tuple(dropout, depth - 1, "dropout rates (hidden layers)"))
        for index, rate in enumerate(rates, start=1):
            if not 0.0 <= rate < 1.0:
                raise ValueError(f"dropout rate of hidden layer {index} must be in [0, 1), got {rate}")
        object.__setattr__(self, "sizes", sizes)
        object.__setattr__(self, "activations", tuple(acts))
        object.__setattr__(self, "dropout", rates)

    @property
    def depth(self) -> int:
        """Number of layers with parameters, ``L``."""
        return len(self.sizes) - 1

    def __str__(self) -> str:
        layers = " -> ".join(f"{d}({a})" for d, a in zip(self.sizes[1:], self.activations, strict=True))
        drop = f", dropout {list(self.dropout)}" if any(self.dropout) else ""
        return f"MLP {self.sizes[0]} -> {layers}{drop}"

    def init(self, key: Array, *, init="he_normal", bias_init="zeros", dtype=None) -> Params:
        """Random parameters: a tuple of ``Layer(W (d_{k-1}, d_k), b (d_k,))``.

        Args:
            key: a ``jax.random`` key.
            init: weight initializer name, callable, or one per layer (see
                :mod:`funcmlp.core.initializers`).
            bias_init: bias initializer, zeros unless asked.
            dtype: float dtype (default: JAX's default float, float64 under x64).

        Raises:
            ValueError: where the params (and the draws they are made from) would not fit the
                memory this process may use (:func:`funcmlp.memory.available_bytes`), before
                anything is allocated.

        Example:
            >>> import jax
            >>> p = MLP((3, 2, 1), "relu").init(jax.random.key(1), init="glorot_uniform")
            >>> [tuple(l.W.shape) for l in p], [tuple(l.b.shape) for l in p]
            ([(3, 2), (2, 1)], [(2,), (1,)])
            >>> MLP((4, 10**12, 3)).init(jax.random.key(0))  # doctest: +ELLIPSIS
            Traceback (most recent call last):
            ValueError: MLP.init of MLP 4 -> 1000000000000(relu) -> 3(identity) (8,000,000,000,003 parameters, ...
        """
        if not hasattr(key, "dtype"):  # an int or None: jax's own message would not name the argument
            seed = key if isinstance(key, int) and not isinstance(key, bool) and 0 <= key < 2**32 else 0
            raise TypeError(
                f"MLP.init: key must be a JAX random key, got {type(key).__name__} {key!r:.40}; make one from a "
                f"seed: mlp.init(jax.random.key({seed}))"
            )
        check_key(key, "MLP.init: key")  # one key, not a batch of them (jax.random.split(key, 4))
        dtype = np.dtype(dtype or jnp.result_type(float))
        weight_inits = [get_initializer(i) for i in _as_tuple(init, self.depth, "initializers")]
        bias_inits = [get_initializer(i) for i in _as_tuple(bias_init, self.depth, "bias initializers")]
        shapes = [(self.sizes[k], self.sizes[k + 1]) for k in range(self.depth)]
        entries = [
            *zip(weight_inits, shapes, strict=True),
            *((b, (s[1],)) for b, s in zip(bias_inits, shapes, strict=True)),
        ]
        # the params, and the standard draws they are scaled from (float64, on the host, where the key is concrete)
        drawn = sum(math.prod(s) for i, s in entries if isinstance(i, ScaledDraw))
        count = parameter_count(self.sizes)
        check_fits(
            dtype.itemsize * count + (0 if isinstance(key, jax.core.Tracer) else 8 * drawn),
            f"MLP.init of {self} ({count:,} parameters, {dtype})",
            "use fewer or narrower layers" + (", or float32 (dtype='float32')" if dtype.itemsize > 4 else ""),
        )
        arrays = draw_entries(key, entries, dtype)
        return tuple(Layer(arrays[k], arrays[self.depth + k]) for k in range(self.depth))

    def dropout_masks(self, key: Array, batch: int, dtype=None) -> tuple[Array | None, ...]:
        """The dropout factors ``m^k / keep_k`` a training trace with ``key`` applies to a batch of ``batch`` rows:
        per hidden layer ``(batch, d_k)`` in ``dtype`` (default: JAX's default float), ``None`` where its rate is 0.

        Layer k's are drawn from ``jax.random.split(key, L)[k - 1]`` for the whole batch at once, so they are the
        batch's whatever devices its rows lie on: JAX's random bits do not depend on the placement (under ``jit``
        with the batch split over devices, JAX's partitionable threefry, the default, draws each device's rows
        there). A data-parallel step draws them so (:mod:`funcmlp.training.parallel`): its masks, and so its
        params, are those of one device.

        Example:
            >>> import jax
            >>> masks = MLP((3, 4, 4, 2), dropout=(0.5, 0.0)).dropout_masks(jax.random.key(0), 5)
            >>> masks[0].shape, sorted(set(masks[0].ravel().tolist())), masks[1]
            ((5, 4), [0.0, 2.0], None)
        """
        dtype = dtype or jnp.result_type(float)
        keys = jax.random.split(check_key(key), self.depth)
        masks = []
        for k, rate in enumerate(self.dropout, start=1):
            keep = 1.0 - rate
            drawn = jax.random.bernoulli(keys[k - 1], keep, (batch, self.sizes[k])) if rate > 0 else None
            masks.append(None if drawn is None else drawn.astype(dtype) / keep)
        return tuple(masks)

    def trace(self, params: Params, x: Array, *, key: Array | None = None, train: bool = False, masks=None) -> Trace:
        """Forward pass keeping every n^k and a^k (seed 003 eqs. 2, 16, 20-21).

        Args:
            params: tuple of ``Layer(W, b)``.
            x: ``(batch, d_0)`` (a single example ``(d_0,)`` is treated as a batch of one).
            key: ``jax.random`` key for dropout masks; needed when ``train`` and dropout > 0.
            train: apply dropout.
            masks: with ``train``, the dropout factors to apply instead of drawing them from ``key``
                (:meth:`dropout_masks`, e.g. drawn for a batch whose rows are then split over devices).

        Returns:
            A :class:`Trace` with batch-first arrays, in the params' dtype (inputs are cast).

        Nothing is checked here (the core assumes valid input): :func:`funcmlp.checks.check_batch`
        and the public entry points (:func:`funcmlp.backprop`, :func:`funcmlp.fit`, ...) check.

        Example:
            >>> import jax.numpy as jnp
            >>> from funcmlp.core.params import params_from_arrays
            >>> mlp = MLP((2, 2, 1), ["relu", "identity"])
            >>> p = params_from_arrays([([[1, 1], [1, 1]], [0, 0]), ([[1], [1]], [0])])
            >>> t = mlp.trace(p, jnp.array([1.0, 1.0]))
            >>> t.n[0].tolist(), t.a[1].tolist()
            ([[2.0, 2.0]], [[4.0]])
        """
        x = jnp.atleast_2d(jnp.asarray(x, params[0].W.dtype))  # data follow the params' dtype
        use_dropout = train and any(self.dropout)
        if use_dropout and key is None and masks is None:
            raise ValueError(f"dropout {list(self.dropout)} in training needs a key: pass key=jax.random.key(...)")
        if not use_dropout:
            masks = (None,) * (self.depth - 1)
        elif masks is None:
            masks = self.dropout_masks(key, x.shape[0], x.dtype)
        ns, As = [], []
        a = x
        for k, (layer, act) in enumerate(zip(params, self.activations, strict=True), start=1):
            n = matmul(a, layer.W, layer.b)  # bfloat16 and float16 accumulate in float32
            a = act(n)
            if k < self.depth and masks[k - 1] is not None:
                a = a * masks[k - 1]
            ns.append(n)
            As.append(a)
        return Trace(x, tuple(ns), tuple(As), tuple(masks))

    def apply(self, params: Params, x: Array, *, key: Array | None = None, train: bool = False) -> Array:
        """Network output a^L: ``(batch, d_0) -> (batch, d_L)`` or ``(d_0,) -> (d_L,)``.

        Example:
            >>> import jax.numpy as jnp
            >>> from funcmlp.core.params import params_from_arrays
            >>> xor = MLP((2, 2, 1), "hardlimit", output="hardlimit")
            >>> p = params_from_arrays([([[1, -1], [-1, 1]], [-0.5, -0.5]), ([1, 1], -0.5)])
            >>> xor.apply(p, jnp.array([[0., 0.], [0., 1.], [1., 0.], [1., 1.]])).ravel().tolist()
            [0.0, 1.0, 1.0, 0.0]
        """
        out = self.trace(params, x, key=key, train=train).a[-1]
        return out[0] if jnp.ndim(x) == 1 else out


# a pytree without leaves, the MLP itself its static part: jax.jit(f)(mlp, ...) traces nothing of it
jax.tree_util.register_static(MLP)
