"""The check of params against their network: a tuple of ``Layer(W, b)`` of floating-point arrays of
one dtype, of the shapes the network's sizes give (one clear error naming the layer otherwise).

(The examples: :func:`check_params`.)
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from funcmlp.core.model import MLP
from funcmlp.core.params import Layer, Params


def check_params(mlp: MLP, params: Params) -> Params:
    """``params`` if they fit ``mlp``: one ``Layer(W (d_{k-1}, d_k), b (d_k,))`` of arrays per layer, floats of one
    dtype (plain ``(W, b)`` tuples and nested lists are refused: ``funcmlp.params_from_arrays`` makes params of them).

    Example:
        >>> import jax
        >>> params = MLP((3, 2), output="relu").init(jax.random.key(0))
        >>> check_params(MLP((2, 3), output="relu"), params)  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        ValueError: layer 1: W has shape (3, 2), expected (2, 3) (d_in, d_out)
        (looks transposed: use params_from_arrays(..., convention='column'))
        >>> check_params(MLP((3, 2), output="relu"), [(params[0].W, params[0].b)])  # doctest: +NORMALIZE_WHITESPACE
        Traceback (most recent call last):
        ...
        TypeError: params: layer 1 is a tuple of 2 items, expected a funcmlp.Layer(W, b) of arrays; make params with
        mlp.init(key), or of (W, b) pairs with funcmlp.params_from_arrays(pairs)
    """
    fix = "make params with mlp.init(key), or of (W, b) pairs with funcmlp.params_from_arrays(pairs)"
    if not isinstance(params, (tuple, list)) or len(params) != mlp.depth:
        got = len(params) if isinstance(params, (tuple, list)) else f"{type(params).__name__} {params!r:.40}"
        raise ValueError(f"params must be a tuple of {mlp.depth} Layer(W, b), one per layer of {mlp}; got {got}; {fix}")
    for k, layer in enumerate(params, start=1):
        if not (isinstance(layer, Layer) and all(hasattr(v, "shape") and hasattr(v, "dtype") for v in layer)):
            if isinstance(layer, Layer):
                shown = f"a Layer of {type(layer.W).__name__} W and {type(layer.b).__name__} b"
            elif isinstance(layer, (tuple, list)):
                shown = f"a {type(layer).__name__} of {len(layer)} items"
            else:
                shown = f"{type(layer).__name__} {layer!r:.30}"
            raise TypeError(f"params: layer {k} is {shown}, expected a funcmlp.Layer(W, b) of arrays; {fix}")
        expected_W = (mlp.sizes[k - 1], mlp.sizes[k])
        W, b = layer
        if tuple(jnp.shape(W)) != expected_W:
            transposed = tuple(jnp.shape(W)) == expected_W[::-1]
            hint = " (looks transposed: use params_from_arrays(..., convention='column'))" if transposed else ""
            raise ValueError(f"layer {k}: W has shape {tuple(jnp.shape(W))}, expected {expected_W} (d_in, d_out){hint}")
        if tuple(jnp.shape(b)) != (mlp.sizes[k],):
            raise ValueError(f"layer {k}: b has shape {tuple(jnp.shape(b))}, expected {(mlp.sizes[k],)}")
    dtypes = {np.dtype(leaf.dtype) for layer in params for leaf in layer}
    if len(dtypes) > 1 or not jnp.issubdtype(next(iter(dtypes)), jnp.floating):
        raise ValueError(
            f"params must be floating point arrays of one dtype, got {sorted(str(d) for d in dtypes)}; "
            "cast them, e.g. jax.tree_util.tree_map(lambda a: a.astype('float32'), params)"
        )
    return params
