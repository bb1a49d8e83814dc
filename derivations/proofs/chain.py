"""The whole chain: sympy derives dL/dw^k_ij and dL/db^k_j of a concrete network and proves
they equal the closed forms of seed 003 eqs. 19, 24 and 33.

Three derivations, each naming the method that proved it. The first two differentiate the
scalar loss built as one expression of the symbols x_i, y_j, w^k_ij, b^k_j (nothing in them
knows about layers or the recursion) and compare with the closed form (the sensitivity
recursion, also built symbolically) at random rational points in 50-digit arithmetic:

* ``composed`` (small networks): ``sympy.diff`` of the loss for every parameter. Its cost
  grows with the size of the composed expression tree, which multiplies with depth.
* ``graph`` (any size): reverse accumulation over the loss's expression graph, each
  unique subexpression visited once; the local derivatives are sympy's (sums, products,
  powers, and ``sympy.diff`` of each function: log, exp, and each activation's forward
  rule). Linear in the size of the graph.
* ``local`` (any size): one symbol per entry of n^k, a^k and of the back-propagated
  quantity dL/dn^k; every local partial derivative (of the loss, of a^k = f(n^k), of
  n^k = b^k + a^{k-1} W^k) is taken by ``sympy.diff``, and the scalar chain rule (seed 003
  eq. 22) is applied edge by edge. Each resulting expression is compared with the closed
  form by a symbolic zero test. The work is proportional to the number of parameters.

Every activation and loss comes from funcmlp's registry (softmax outputs, hard limits and
registered activations included). An elementwise activation is a sympy function valued by
its registry forward rule (:func:`activation_function`): in ``composed`` and ``graph`` its
derivative is sympy.diff of that rule, so a wrong closed form cannot hide; in ``local`` it
is the registry's closed form, proven once per activation against sympy.diff first. Numbers
come from :func:`lambdify_gradient` (float64), which the tests compare with
``funcmlp.core.backprop`` and ``jax.grad``.

Contract: a :class:`Network` (sizes, activations, a loss, a batch) in, a :class:`ChainReport`
out; the closed form is :func:`derivations.model.engine.gradients` over symbols (the same engine the
worked examples and the textbook lines run), the derivatives it is compared with are sympy's.

Example:
    >>> report = check_chain(Network((2, 2, 1), ("sigmoid", "sigmoid"), "sse"), method="local")
    >>> report.passed, report.method
    (True, 'local')
"""

from __future__ import annotations

import random
import time

import mpmath
import sympy as sp

from derivations.model import engine, graph, symbolic
from derivations.proofs.activations import prove_elementwise
from derivations.proofs.network import ChainReport, Network
from funcmlp.registry.activations import Activation
from funcmlp.registry.losses import get_loss


def _apply(activation: Activation, n: list, derivative: str = "derived") -> list:
    function = symbolic.activation_function(activation, derivative) if activation.is_elementwise else None
    return symbolic.forward(activation, n, elementwise=function)


COMPOSED = engine.Algebra(activate=_apply, slope=lambda activation, v: symbolic.slope_function(activation)(v))
"""The engine over symbols: each elementwise activation a sympy Function valued by its registry rule
(differentiated by sympy in ``composed`` and ``graph``), each f' a Function valued by the closed form."""


def _engine_net(net: Network, layers) -> engine.Net:
    return engine.Net(net.resolved, get_loss(net.loss), tuple((W.tolist(), b) for W, b in layers))


def closed_form_gradients(net: Network, layers, xs, ys) -> dict:
    """{parameter symbol: its closed-form dL/dtheta} of seed 003 (eqs. 19, 24, 33) from
    :func:`derivations.model.engine.gradients` over symbols; mean loss over the batch."""
    result = engine.gradients(COMPOSED, _engine_net(net, layers), xs, ys)
    grads = {}
    for k in range(net.depth, 0, -1):
        W, b = layers[k - 1]
        grads.update({W[i, j]: result.dW[k][i][j] for i in range(W.rows) for j in range(W.cols)})
        grads.update({b[j]: result.db[k][j] for j in range(W.cols)})
    return grads


def composed_loss(net: Network, layers, xs, ys) -> sp.Expr:
    """The scalar batch loss (mean over examples) as one expression of x, y, w, b."""
    total, model = 0, _engine_net(net, layers)
    for x, y in zip(xs, ys, strict=True):
        ns, outputs = engine.forward(COMPOSED, model, x)
        total += engine.loss_terms(COMPOSED, model.loss, model.activations[-1], ns[-1], y, outputs[-1])[0]
    return total / net.batch


def _compare_with_closed_form(
    net: Network, method: str, direct_and_closed, *, points: int, seed: int, digits: int
) -> ChainReport:
    """Build the composed loss and the closed form, then compare ``direct_and_closed(loss, closed,
    params, env) -> (direct values, closed values)`` at random rational points in ``digits`` digits."""
    start = time.perf_counter()
    layers = net.parameter_symbols()
    xs, ys = net.data_symbols()
    loss = composed_loss(net, layers, xs, ys)
    closed = closed_form_gradients(net, layers, xs, ys)
    params = list(closed)
    variables = params + [s for row in xs + ys for s in row]
    evaluate = direct_and_closed(loss, closed, params, variables)
    rng = random.Random(seed)
    failures, worst = [], (str(params[0]), mpmath.mpf(0), mpmath.mpf(0))
    with mpmath.workdps(digits):
        for _ in range(points):
            env = {v: mpmath.mpf(rng.randint(-2000, 2000)) / rng.randint(1000, 3000) for v in variables}
            direct, closed_values = evaluate(env)
            for p, d, c in zip(params, direct, closed_values, strict=True):
                difference = abs(d - c)
                if difference > mpmath.mpf(10) ** (-(digits - 10)) * max(1, abs(c)):
                    failures.append((str(p), d, c))
                relative = difference / abs(c) if c else (mpmath.inf if difference else mpmath.mpf(0))
                if relative > worst[2] or (relative == worst[2] and difference > worst[1]):
                    worst = (str(p), difference, relative)
    return ChainReport(net, method, len(params), failures, time.perf_counter() - start, worst, points, digits)


def check_composed(net: Network, *, points: int = 2, seed: int = 0, digits: int = 50) -> ChainReport:
    """Differentiate the composed loss directly for every parameter; compare at random rational points."""

    def prepare(loss, closed, params, variables):
        modules = [symbolic.NUMERIC["mpmath"], "mpmath"]
        direct = sp.lambdify(variables, [sp.diff(loss, p) for p in params], modules=modules, cse=True)
        closed_form = sp.lambdify(variables, [closed[p] for p in params], modules=modules, cse=True)
        return lambda env: (direct(*env.values()), closed_form(*env.values()))

    return _compare_with_closed_form(net, "composed", prepare, points=points, seed=seed, digits=digits)


def check_graph(net: Network, *, points: int = 2, seed: int = 0, digits: int = 50) -> ChainReport:
    """The composed loss differentiated directly by reverse accumulation over its expression
    graph (no layers, no recursion: only sympy's derivative of each node), compared with the
    closed form at random rational points in 50-digit arithmetic. Linear in the graph size."""

    def prepare(loss, closed, params, variables):
        roots = [sp.sympify(closed[p]) for p in params]
        order = graph.postorder(roots)

        def evaluate(env):
            values = graph.values_at(order, env)
            return graph.reverse_gradient(loss, params, env), [values[r] for r in roots]

        return evaluate

    return _compare_with_closed_form(net, "graph", prepare, points=points, seed=seed, digits=digits)


def _is_zero(expr) -> bool:
    return sp.expand(expr) == 0 or sp.simplify(expr) == 0


def check_local(net: Network) -> ChainReport:
    """One symbol per entry of n^k, a^k and dL/dn^k; sympy.diff of each local definition;
    the chain rule applied edge by edge; a symbolic zero test against the closed form."""
    start = time.perf_counter()
    layers = net.parameter_symbols()
    xs, ys = net.data_symbols()
    failures, checked = [], 0
    N, A, S = (
        [
            [sp.Symbol(f"{name}^{k}_{{{j + 1}}}", real=True) for j in range(net.sizes[k])]
            for k in range(1, net.depth + 1)
        ]
        for name in ("n", "a", "s")
    )
    # with a batch, the symbols stand for one example's quantities; each example contributes
    # its own copy of every expression below, so one example's check covers the batch sum
    x, y = xs[0], ys[0]
    inputs = [x] + A[:-1]
    net_defs = [
        [sp.Add(b[j], *[inputs[k][i] * W[i, j] for i in range(W.rows)]) for j in range(W.cols)]
        for k, (W, b) in enumerate(layers)
    ]
    terms = [[symbolic.terms_by_symbol(n) for n in layer] for layer in net_defs]

    def partial(layer: int, unit: int, symbol):
        """sympy.diff of the net input n^(layer+1)_unit, a sum, by ``symbol``, term by term."""
        return symbolic.diff_terms(terms[layer][unit], symbol)

    # each elementwise activation's closed form against sympy.diff of its forward rule, once
    # (derivations.proofs.activations), then the chain rule's structure with the closed form declared
    for act in dict.fromkeys(a for a in net.resolved if a.is_elementwise):
        for identity in prove_elementwise(act.spec, alpha=act.symbolic_alpha()):
            checked += 1
            if not identity.passed:
                failures.append((f"{act}: {identity.statement}", identity.derived, identity.closed_form))
    act_defs = [_apply(act, N[k], "declared") for k, act in enumerate(net.resolved)]
    loss, output = get_loss(net.loss), net.resolved[-1]
    # the loss as a function of the symbols a^L (of n^L where the registry pairs the loss with the output)
    value = engine.loss_terms(engine.SYMPY, loss, output, N[-1], y, A[-1])[0] / net.batch
    closed_output = engine.loss_terms(engine.SYMPY, loss, output, N[-1], y, act_defs[-1])[1]
    L = net.depth
    units = range(net.sizes[-1])
    for j in units:
        # dL/dn^L_j: through each a^L_m that depends on n^L_j (only m = j for elementwise f), plus directly
        through = [j] if output.is_elementwise else units
        derived = sum(sp.diff(value, A[-1][m]) * sp.diff(act_defs[-1][m], N[-1][j]) for m in through) + sp.diff(
            value, N[-1][j]
        )
        derived = derived.subs(dict(zip(A[-1], act_defs[-1], strict=True)))
        closed = closed_output[j] / net.batch
        checked += 1
        if not _is_zero(derived - closed):
            failures.append((f"s^{L}_{{{j + 1}}}", derived, closed))
    for k in range(L, 0, -1):
        W, b = layers[k - 1]
        previous = inputs[k - 1]
        for j in range(W.cols):
            for i in range(W.rows):
                derived = S[k - 1][j] * partial(k - 1, j, W[i, j])
                checked += 1
                if sp.expand(derived - previous[i] * S[k - 1][j]) != 0:
                    failures.append((str(W[i, j]), derived, previous[i] * S[k - 1][j]))
            derived = S[k - 1][j] * partial(k - 1, j, b[j])
            checked += 1
            if sp.expand(derived - S[k - 1][j]) != 0:
                failures.append((str(b[j]), derived, S[k - 1][j]))
        if k > 1:
            act = net.resolved[k - 2]
            closed_s = engine.sensitivity(
                engine.SYMPY, act, N[k - 2], engine.upstream(engine.SYMPY, W.tolist(), S[k - 1])
            )
            through_a = [
                sp.Add(*[S[k - 1][j] * partial(k - 1, j, A[k - 2][m]) for j in range(W.cols)]) for m in range(W.rows)
            ]
            for i in range(W.rows):
                # chain rule over every edge leaving n^{k-1}_i: n -> a (each a_m for a vector f) -> each n^k_j
                through = [i] if act.is_elementwise else range(W.rows)
                derived = sum(through_a[m] * sp.diff(act_defs[k - 2][m], N[k - 2][i]) for m in through)
                checked += 1
                if not _is_zero(derived - closed_s[i]):
                    failures.append((f"s^{k - 1}_{{{i + 1}}}", derived, closed_s[i]))
    return ChainReport(net, "local", checked, failures, time.perf_counter() - start)


METHODS = ("composed", "graph", "local")


def check_chain(net: Network, *, method: str = "auto") -> ChainReport:
    """Run ``"composed"``, ``"graph"``, ``"local"``, or ``"auto"`` (composed up to 40 parameters, graph beyond)."""
    if method == "auto":
        method = "composed" if net.count_parameters() <= 40 and net.depth <= 3 else "graph"
    checks = {"composed": check_composed, "graph": check_graph, "local": check_local}
    if method not in checks:
        raise ValueError(f"unknown method {method!r}; expected auto or one of {', '.join(METHODS)}")
    return checks[method](net)


def lambdify_gradient(net: Network):
    """A float64 function ``(params, x, y) -> {symbol name: dL/dtheta}`` from the symbolic
    gradient of the composed loss (``sympy.diff``, CSE, NumPy); ``params`` is a list of
    ``(W (d_in, d_out), b (d_out,))`` arrays, ``x``/``y`` are ``(batch, d)`` arrays."""
    layers = net.parameter_symbols()
    xs, ys = net.data_symbols()
    loss = composed_loss(net, layers, xs, ys)
    params = [s for W, b in layers for s in list(W) + b]
    data = [s for row in xs + ys for s in row]
    modules = [symbolic.NUMERIC["numpy"], "scipy", "numpy"]
    gradient = sp.lambdify(params + data, [sp.diff(loss, p) for p in params], modules=modules, cse=True)

    def evaluate(param_arrays, x, y):
        flat = [float(v) for W, b in param_arrays for v in list(W.reshape(-1)) + list(b.reshape(-1))]
        values = gradient(*flat, *[float(v) for v in x.reshape(-1)], *[float(v) for v in y.reshape(-1)])
        return {str(p): float(v) for p, v in zip(params, values, strict=True)}

    return evaluate
