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
  powers, and ``sympy.diff`` of each function: the sigmoid's declared s (1 - s), tanh,
  log, exp, ReLU's Heaviside(x, 0)). Linear in the size of the graph.
* ``local`` (any size): one symbol per entry of n^k, a^k and of the back-propagated
  quantity dL/dn^k; every local partial derivative (of the loss, of a^k = f(n^k), of
  n^k = b^k + a^{k-1} W^k) is taken by ``sympy.diff``, and the scalar chain rule (seed 003
  eq. 22) is applied edge by edge. Each resulting expression is compared with the closed
  form by a symbolic zero test. The work is proportional to the number of parameters.

The sigmoid is a sympy function with a declared derivative ``s (1 - s)`` so expressions stay
small, and ReLU one whose derivative is ``Heaviside(x, 0)`` (funcmlp's relu'(0) = 0); numbers come from :func:`lambdify_gradient` (float64), which the tests compare with
``funcmlp.backprop`` and ``jax.grad``.

Example:
    >>> report = check_chain(Network((2, 2, 1), ("sigmoid", "sigmoid"), "sse"), method="local")
    >>> report.passed, report.method
    (True, 'local')
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass

import mpmath
import numpy as np
import sympy as sp


class Sigmoid(sp.Function):
    """sigma(x) = 1 / (1 + exp(-x)) with its derivative declared as sigma (1 - sigma)."""

    def fdiff(self, argindex=1):
        s = Sigmoid(self.args[0])
        return s * (1 - s)

    def _eval_rewrite_as_exp(self, x, **kwargs):
        return 1 / (1 + sp.exp(-x))

    def _eval_evalf(self, prec):
        return (1 / (1 + sp.exp(-self.args[0]))).evalf(prec)


class Relu(sp.Function):
    """max(0, x) with its derivative declared as Heaviside(x, 0): funcmlp's relu'(0) = 0
    (sympy's derivative of Max(0, x) is Heaviside(x) with the value 1/2 at 0)."""

    def fdiff(self, argindex=1):
        return sp.Heaviside(self.args[0], 0)

    def _eval_evalf(self, prec):
        return sp.Max(0, self.args[0]).evalf(prec)


class LeakyRelu(sp.Function):
    """x for x > 0, x / 100 otherwise (funcmlp's default slope); derivative declared as
    1/100 + (99/100) Heaviside(x, 0), so leaky_relu'(0) = 1/100 as in funcmlp."""

    def fdiff(self, argindex=1):
        return sp.Rational(1, 100) + sp.Rational(99, 100) * sp.Heaviside(self.args[0], 0)


class Elu(sp.Function):
    """x for x >= 0, exp(x) - 1 otherwise (alpha = 1); derivative declared as
    Heaviside(x, 1) + (1 - Heaviside(x, 1)) exp(x), so elu'(0) = 1 as in funcmlp."""

    def fdiff(self, argindex=1):
        step = sp.Heaviside(self.args[0], 1)
        return step + (1 - step) * sp.exp(self.args[0])


def _heaviside(x, h0=sp.Rational(1, 2)):
    return 1 if x > 0 else (0 if x < 0 else h0)


# how the graph evaluator computes each function in 50-digit arithmetic
MPMATH = {"Sigmoid": lambda t: 1 / (1 + mpmath.exp(-t)), "Relu": lambda t: t if t > 0 else mpmath.mpf(0), "Heaviside": _heaviside,
          "LeakyRelu": lambda t: t if t > 0 else t / 100, "Elu": lambda t: t if t >= 0 else mpmath.expm1(t)}

# activation -> (forward rule, closed-form derivative as funcmlp evaluates it)
ACTIVATIONS = {
    "identity": (lambda n: n, lambda n: sp.Integer(1)),
    "sigmoid": (Sigmoid, lambda n: Sigmoid(n) * (1 - Sigmoid(n))),
    "tanh": (sp.tanh, lambda n: 1 - sp.tanh(n) ** 2),
    "softplus": (lambda n: sp.log(1 + sp.exp(n)), Sigmoid),
    "relu": (Relu, lambda n: sp.Heaviside(n, 0)),  # funcmlp: relu'(n) = 1 if n > 0 else 0
    "leaky_relu": (LeakyRelu, lambda n: sp.Rational(1, 100) + sp.Rational(99, 100) * sp.Heaviside(n, 0)),
    "elu": (Elu, lambda n: sp.Heaviside(n, 1) + (1 - sp.Heaviside(n, 1)) * sp.exp(n)),
    "gelu": (lambda n: n * (1 + sp.erf(n / sp.sqrt(2))) / 2,
             lambda n: (1 + sp.erf(n / sp.sqrt(2))) / 2 + n * sp.exp(-n**2 / 2) / sp.sqrt(2 * sp.pi)),
}

# loss -> (per-example loss from outputs a (and net inputs n) and targets y,
#          closed-form output sensitivity s^L_j from (n, a, y, f'), seed 003 eq. 24 and relatives)
LOSSES = {
    "sse": (lambda n, a, y: sum((yj - aj) ** 2 for aj, yj in zip(a, y, strict=True)),
            lambda n, a, y, fp: [-2 * (yj - aj) * fp(nj) for nj, aj, yj in zip(n, a, y, strict=True)]),
    "half_sse": (lambda n, a, y: sp.Rational(1, 2) * sum((yj - aj) ** 2 for aj, yj in zip(a, y, strict=True)),
                 lambda n, a, y, fp: [-(yj - aj) * fp(nj) for nj, aj, yj in zip(n, a, y, strict=True)]),
    "mse": (lambda n, a, y: sum((yj - aj) ** 2 for aj, yj in zip(a, y, strict=True)) / len(a),
            lambda n, a, y, fp: [-2 * (yj - aj) * fp(nj) / len(a) for nj, aj, yj in zip(n, a, y, strict=True)]),
    "sigmoid_binary_cross_entropy": (
        lambda n, a, y: -sum(yj * sp.log(Sigmoid(aj)) + (1 - yj) * sp.log(1 - Sigmoid(aj)) for aj, yj in zip(a, y, strict=True)),
        lambda n, a, y, fp: [(Sigmoid(aj) - yj) * fp(nj) for nj, aj, yj in zip(n, a, y, strict=True)]),
}


@dataclass(frozen=True)
class Network:
    """A network to check: sizes (d_0, ..., d_L), one activation per layer, a loss, a batch size."""

    sizes: tuple
    activations: tuple
    loss: str
    batch: int = 1

    def __post_init__(self):
        if len(self.sizes) < 2 or any(not isinstance(d, int) or d < 1 for d in self.sizes):
            raise ValueError(f"sizes must be at least two positive integers (inputs, then each layer's units), got {self.sizes}")
        if len(self.activations) != len(self.sizes) - 1:
            raise ValueError(f"expected {len(self.sizes) - 1} activations (one per layer), got {len(self.activations)}")
        for name in self.activations:
            if name not in ACTIVATIONS:
                raise ValueError(f"activation {name!r} has no symbolic form here; expected one of {', '.join(ACTIVATIONS)}")
        if self.loss not in LOSSES:
            raise ValueError(f"loss {self.loss!r} has no symbolic form here; expected one of {', '.join(LOSSES)}")

    @property
    def depth(self) -> int:
        return len(self.sizes) - 1

    def parameter_symbols(self):
        """[(W^k as a (d_{k-1}, d_k) matrix of symbols w^k_ij, b^k as a list of b^k_j)] per layer."""
        layers = []
        for k in range(1, self.depth + 1):
            W = sp.Matrix(self.sizes[k - 1], self.sizes[k], lambda i, j: sp.Symbol(f"w{k}_{i + 1}_{j + 1}", real=True))
            b = [sp.Symbol(f"b{k}_{j + 1}", real=True) for j in range(self.sizes[k])]
            layers.append((W, b))
        return layers

    def data_symbols(self):
        xs = [[sp.Symbol(f"x{e + 1}_{i + 1}", real=True) for i in range(self.sizes[0])] for e in range(self.batch)]
        ys = [[sp.Symbol(f"y{e + 1}_{j + 1}", real=True) for j in range(self.sizes[-1])] for e in range(self.batch)]
        return xs, ys

    def count_parameters(self) -> int:
        return sum(self.sizes[k - 1] * self.sizes[k] + self.sizes[k] for k in range(1, self.depth + 1))


@dataclass
class ChainReport:
    network: Network
    method: str
    checked: int
    failures: list
    seconds: float

    @property
    def passed(self) -> bool:
        return not self.failures

    def __str__(self) -> str:
        n = self.network
        verdict = "PASS" if self.passed else "FAIL"
        how = {
            "composed": "sympy.diff of the composed loss vs the closed form, at random rational points (50 digits)",
            "graph": "reverse accumulation over the composed loss's expression graph (sympy's derivative of each node) vs the closed form, "
                     "at random rational points (50 digits)",
            "local": "sympy.diff of each local definition, chain rule edge by edge, symbolic zero test vs the closed form",
        }[self.method]
        lines = [f"{verdict}  {'-'.join(map(str, n.sizes))} {'/'.join(n.activations)} {n.loss} batch {n.batch}: "
                 f"{self.checked} derivatives (dL/dw, dL/db = (a^(k-1))^T s^k, s^k = s^(k+1) (W^(k+1))^T F'(n^k)) "
                 f"in {self.seconds:.2f} s [{how}]"]
        lines += [f"      FAIL {name}: derived {derived}, closed form {closed}" for name, derived, closed in self.failures[:5]]
        return "\n".join(lines)


def _forward(net: Network, layers, x):
    """Symbolic forward pass of one example: the lists (n^1..n^L) and (a^0..a^L)."""
    a, ns, As = list(x), [], [list(x)]
    for (W, b), act in zip(layers, net.activations, strict=True):
        n = [b[j] + sum(a[i] * W[i, j] for i in range(W.rows)) for j in range(W.cols)]
        a = [ACTIVATIONS[act][0](nj) for nj in n]
        ns.append(n)
        As.append(a)
    return ns, As


def _closed_form_gradients(net: Network, layers, xs, ys):
    """Closed form of seed 003 (eqs. 19, 24, 33) as sympy expressions; mean over the batch."""
    grads = {}
    for x, y in zip(xs, ys, strict=True):
        ns, As = _forward(net, layers, x)
        s = LOSSES[net.loss][1](ns[-1], As[-1], y, ACTIVATIONS[net.activations[-1]][1])
        for k in range(net.depth, 0, -1):
            W, b = layers[k - 1]
            for i in range(W.rows):
                for j in range(W.cols):
                    grads[W[i, j]] = grads.get(W[i, j], 0) + As[k - 1][i] * s[j] / net.batch
            for j in range(W.cols):
                grads[b[j]] = grads.get(b[j], 0) + s[j] / net.batch
            if k > 1:
                fp = ACTIVATIONS[net.activations[k - 2]][1]
                s = [sum(s[j] * W[i, j] for j in range(W.cols)) * fp(ns[k - 2][i]) for i in range(W.rows)]
    return grads


def composed_loss(net: Network, layers, xs, ys) -> sp.Expr:
    """The scalar batch loss (mean over examples) as one expression of x, y, w, b."""
    total = 0
    for x, y in zip(xs, ys, strict=True):
        ns, As = _forward(net, layers, x)
        total += LOSSES[net.loss][0](ns[-1], As[-1], y)
    return total / net.batch


def _compare_with_closed_form(net: Network, method: str, direct_and_closed, *, points: int, seed: int, digits: int) -> ChainReport:
    """Build the composed loss and the closed form, then compare ``direct_and_closed(loss, closed,
    params, env) -> (direct values, closed values)`` at random rational points in ``digits`` digits."""
    start = time.perf_counter()
    layers = net.parameter_symbols()
    xs, ys = net.data_symbols()
    loss = composed_loss(net, layers, xs, ys)
    closed = _closed_form_gradients(net, layers, xs, ys)
    params = list(closed)
    variables = params + [s for row in xs + ys for s in row]
    evaluate = direct_and_closed(loss, closed, params, variables)
    rng = random.Random(seed)
    failures = []
    with mpmath.workdps(digits):
        for _ in range(points):
            env = {v: mpmath.mpf(rng.randint(-2000, 2000)) / rng.randint(1000, 3000) for v in variables}
            direct, closed_values = evaluate(env)
            for p, d, c in zip(params, direct, closed_values, strict=True):
                if abs(d - c) > mpmath.mpf(10) ** (-(digits - 10)) * max(1, abs(c)):
                    failures.append((str(p), d, c))
    return ChainReport(net, method, len(params), failures, time.perf_counter() - start)


def check_composed(net: Network, *, points: int = 2, seed: int = 0, digits: int = 50) -> ChainReport:
    """Differentiate the composed loss directly for every parameter; compare at random rational points."""

    def prepare(loss, closed, params, variables):
        modules = [MPMATH, "mpmath"]
        direct = sp.lambdify(variables, [sp.diff(loss, p) for p in params], modules=modules, cse=True)
        closed_form = sp.lambdify(variables, [closed[p] for p in params], modules=modules, cse=True)
        return lambda env: (direct(*env.values()), closed_form(*env.values()))

    return _compare_with_closed_form(net, "composed", prepare, points=points, seed=seed, digits=digits)


def _postorder(roots) -> list:
    """Unique subexpressions of ``roots``, each after all of its arguments."""
    order, seen = [], set()
    stack = [(root, False) for root in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        stack.extend((arg, False) for arg in node.args if arg not in seen)
    return order


_DERIVATIVES: dict = {}


def _derivative_rule(func):
    """sympy's derivative of a one-argument function, as an mpmath function (cached per function)."""
    if func not in _DERIVATIVES:
        t = sp.Dummy("t", real=True)
        _DERIVATIVES[func] = sp.lambdify(t, sp.diff(func(t), t), modules=[MPMATH, "mpmath"])
    return _DERIVATIVES[func]


_VALUES: dict = {}


def _function_value(node, x):
    """Value of a function node at its first argument ``x``; further arguments must be numbers
    (as the 0 of Heaviside(n, 0))."""
    key = (node.func, node.args[1:])
    if key not in _VALUES:
        t = sp.Dummy("t", real=True)
        _VALUES[key] = sp.lambdify(t, node.func(t, *node.args[1:]), modules=[MPMATH, "mpmath"])
    return _VALUES[key](x)


def _forward_values(order, env) -> dict:
    value = {}
    for node in order:
        if node.is_Symbol:
            value[node] = env[node]
        elif node.is_Number:
            value[node] = mpmath.mpf(node.p) / node.q if node.is_Rational else mpmath.mpf(str(node))
        elif node.is_NumberSymbol:  # pi, E
            value[node] = mpmath.mpf(str(node.evalf(mpmath.mp.dps + 10)))
        elif node.is_Add:
            value[node] = mpmath.fsum(value[a] for a in node.args)
        elif node.is_Mul:
            value[node] = mpmath.fprod(value[a] for a in node.args)
        elif node.is_Pow:
            value[node] = value[node.args[0]] ** value[node.args[1]]
        elif isinstance(node, sp.Function) and all(a.is_Number for a in node.args[1:]):
            value[node] = _function_value(node, value[node.args[0]])
        else:
            raise ValueError(f"the graph evaluator does not handle {type(node).__name__} nodes ({node})")
    return value


def reverse_gradient(expr, params, env) -> list:
    """d expr / d p for every p in ``params`` at the point ``env`` (symbol -> mpf): reverse
    accumulation over the unique subexpressions of ``expr``, each local derivative by sympy
    (sums, products, powers, and sympy.diff of each function)."""
    order = _postorder([expr])
    value = _forward_values(order, env)
    adjoint = {expr: mpmath.mpf(1)}
    for node in reversed(order):
        bar = adjoint.get(node)
        if bar is None or node.is_Atom:
            continue
        args = node.args
        if node.is_Add:
            local = [mpmath.mpf(1)] * len(args)
        elif node.is_Mul:
            values = [value[a] for a in args]
            local = [mpmath.fprod(values[:i] + values[i + 1:]) for i in range(len(args))]
        elif node.is_Pow:
            base, exponent = args
            if exponent.free_symbols:
                raise ValueError(f"the graph evaluator needs numeric exponents, got {node}")
            local = [value[exponent] * value[base] ** (value[exponent] - 1), mpmath.mpf(0)]
        else:
            local = [_derivative_rule(node.func)(value[args[0]])]
        for arg, d in zip(args, local, strict=True):
            if not arg.is_Number:
                adjoint[arg] = adjoint.get(arg, mpmath.mpf(0)) + bar * d
    return [adjoint.get(p, mpmath.mpf(0)) for p in params]


def check_graph(net: Network, *, points: int = 2, seed: int = 0, digits: int = 50) -> ChainReport:
    """The composed loss differentiated directly by reverse accumulation over its expression
    graph (no layers, no recursion: only sympy's derivative of each node), compared with the
    closed form at random rational points in 50-digit arithmetic. Linear in the graph size."""

    def prepare(loss, closed, params, variables):
        roots = [sp.sympify(closed[p]) for p in params]
        order = _postorder(roots)

        def evaluate(env):
            values = _forward_values(order, env)
            return reverse_gradient(loss, params, env), [values[r] for r in roots]

        return evaluate

    return _compare_with_closed_form(net, "graph", prepare, points=points, seed=seed, digits=digits)


def check_local(net: Network) -> ChainReport:
    """One symbol per entry of n^k, a^k and dL/dn^k; sympy.diff of each local definition;
    the chain rule applied edge by edge; a symbolic zero test against the closed form."""
    start = time.perf_counter()
    layers = net.parameter_symbols()
    xs, ys = net.data_symbols()
    failures, checked = [], 0
    N = [[sp.Symbol(f"n{k}_{j + 1}", real=True) for j in range(net.sizes[k])] for k in range(1, net.depth + 1)]
    A = [[sp.Symbol(f"a{k}_{j + 1}", real=True) for j in range(net.sizes[k])] for k in range(1, net.depth + 1)]
    S = [[sp.Symbol(f"s{k}_{j + 1}", real=True) for j in range(net.sizes[k])] for k in range(1, net.depth + 1)]
    # with a batch, the symbols stand for one example's quantities; each example contributes
    # its own copy of every expression below, so one example's check covers the batch sum
    x, y = xs[0], ys[0]
    inputs = [x] + A[:-1]
    net_defs = [[b[j] + sum(inputs[k][i] * W[i, j] for i in range(W.rows)) for j in range(W.cols)] for k, (W, b) in enumerate(layers)]
    act_defs = [[ACTIVATIONS[act][0](N[k][j]) for j in range(len(N[k]))] for k, act in enumerate(net.activations)]
    loss = LOSSES[net.loss][0](N[-1], A[-1], y) / net.batch
    # output: dL/dn^L_j = sum over the loss's dependence through a^L_j and (logit losses) n^L_j
    L = net.depth
    for j in range(net.sizes[-1]):
        derived = sp.diff(loss, A[-1][j]) * sp.diff(act_defs[-1][j], N[-1][j]) + sp.diff(loss, N[-1][j])
        derived = derived.subs(A[-1][j], act_defs[-1][j])
        closed = LOSSES[net.loss][1](N[-1], [act_defs[-1][i] for i in range(net.sizes[-1])], y, ACTIVATIONS[net.activations[-1]][1])[j] / net.batch
        checked += 1
        if sp.expand(derived - closed) != 0:
            failures.append((f"s{L}_{j + 1}", derived, closed))
    for k in range(L, 0, -1):
        W, b = layers[k - 1]
        previous = inputs[k - 1]
        for j in range(W.cols):
            for i in range(W.rows):
                derived = S[k - 1][j] * sp.diff(net_defs[k - 1][j], W[i, j])
                checked += 1
                if sp.expand(derived - previous[i] * S[k - 1][j]) != 0:
                    failures.append((str(W[i, j]), derived, previous[i] * S[k - 1][j]))
            derived = S[k - 1][j] * sp.diff(net_defs[k - 1][j], b[j])
            checked += 1
            if sp.expand(derived - S[k - 1][j]) != 0:
                failures.append((str(b[j]), derived, S[k - 1][j]))
        if k > 1:
            fp = ACTIVATIONS[net.activations[k - 2]][1]
            for i in range(W.rows):
                # chain rule over every edge leaving n^{k-1}_i: n -> a -> each n^k_j
                through_a = sum(S[k - 1][j] * sp.diff(net_defs[k - 1][j], A[k - 2][i]) for j in range(W.cols))
                derived = through_a * sp.diff(act_defs[k - 2][i], N[k - 2][i])
                closed = sum(S[k - 1][j] * W[i, j] for j in range(W.cols)) * fp(N[k - 2][i])
                checked += 1
                if sp.expand(derived - closed) != 0:
                    failures.append((f"s{k - 1}_{i + 1}", derived, closed))
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
    modules = [{"Sigmoid": lambda t: 1 / (1 + np.exp(-t)), "Relu": lambda t: np.maximum(t, 0),
                "LeakyRelu": lambda t: np.where(t > 0, t, t / 100), "Elu": lambda t: np.where(t >= 0, t, np.expm1(np.minimum(t, 0))),
                "Heaviside": lambda t, h0=0.5: np.where(t > 0, 1.0, np.where(t < 0, 0.0, h0))}, "scipy", "numpy"]
    gradient = sp.lambdify(params + data, [sp.diff(loss, p) for p in params], modules=modules, cse=True)

    def evaluate(param_arrays, x, y):
        flat = [float(v) for W, b in param_arrays for v in list(W.reshape(-1)) + list(b.reshape(-1))]
        values = gradient(*flat, *[float(v) for v in x.reshape(-1)], *[float(v) for v in y.reshape(-1)])
        return {str(p): float(v) for p, v in zip(params, values, strict=True)}

    return evaluate
