"""The core: the network, its forward trace and the backward recursion, as pure traceable functions.

Contract::

    params.py      Layer(W (d_{k-1}, d_k), b (d_k,)); params = tuple of Layer; params_from_arrays (row/column)
    initializers   weight and bias initializers by name
    model.py       MLP (static, a pytree without leaves: sizes, activations, output identity unless asked,
                   dropout): init(key) -> params;
                   trace(params, x) -> Trace(x, n, a, masks); dropout_masks(key, batch) for a whole batch
    reduction.py   how per-example losses become the batch loss (mean / sum, example weights)
    backward.py    output_terms -> (L, s^L); backward(mlp, params, trace, s^L) -> (grads, sensitivities); gradient_fn
    batch_axis.py  the sums over the batch, told their output sharding where an Explicit mesh axis splits it
    precision.py   matmul and total: bfloat16 and float16 products and sums accumulated in float32, rounded once

Everything here runs under jit and vmap and assumes valid input: nothing is checked
(:mod:`funcmlp.checks` does that at the entry points). Imports: the registry only.
"""
