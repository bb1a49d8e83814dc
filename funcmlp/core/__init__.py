"""The core: the network, its forward trace and the backward recursion, as pure traceable functions.

Contract::

    params.py      Layer(W (d_{k-1}, d_k), b (d_k,)); params = tuple of Layer; params_from_arrays (row/column)
    initializers   weight and bias initializers by name
    model.py       MLP (static: sizes, activations, dropout): init(key) -> params;
                   trace(params, x) -> Trace(x, n, a, masks)
    reduction.py   how per-example losses become the batch loss (mean / sum, example weights)
    backward.py    output_terms -> (L, s^L); backward(mlp, params, trace, s^L) -> (grads, sensitivities); gradient_fn

Everything here runs under jit and vmap and assumes valid input: nothing is checked
(:mod:`funcmlp.checks` does that at the entry points). Imports: the registry only.
"""
