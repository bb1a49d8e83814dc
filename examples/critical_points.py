"""Critical points and the Hessian (seed 004): where grad L = 0, L(theta) ~ L(theta_0) +
1/2 (theta - theta_0)^T H (theta - theta_0), and the signs of H's eigenvalues say minimum
(all > 0), maximum (all < 0) or saddle (both). Shown on three quadratics, then on a small
network's loss: at the all-zero-weight point (a saddle) and after training (a minimum, with
flat directions from the network's symmetries). The Hessian comes from jax.hessian.

    python examples/critical_points.py [--fast]
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree

from funcmlp import MLP, backprop, fit, objective


def classify(eigenvalues, tol=1e-8):
    """Minimum, maximum, saddle, or inconclusive when some eigenvalues are (numerically) zero."""
    eigenvalues = np.asarray(eigenvalues)
    positive, negative = (eigenvalues > tol).sum(), (eigenvalues < -tol).sum()
    if positive and negative:
        return "saddle point"
    if positive == eigenvalues.size:
        return "local minimum"
    if negative == eigenvalues.size:
        return "local maximum"
    zero = eigenvalues.size - positive - negative
    kind = "minimum" if not negative else "maximum"
    return f"inconclusive at second order: {zero} zero eigenvalue(s), the rest say {kind}"


def hessian_of(loss_fn, params):
    """H of ``loss_fn`` at ``params`` (flattened) and its eigenvalues; compiled as one program
    (op by op, jax.hessian's many small operations would each compile on their own)."""
    flat, unravel = ravel_pytree(params)
    H = jax.jit(jax.hessian(lambda v: loss_fn(unravel(v))))(flat)
    return np.asarray(H), np.linalg.eigvalsh(np.asarray(H))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    for name, f in (
        ("a^2 + b^2", lambda t: t[0] ** 2 + t[1] ** 2),
        ("-(a^2 + b^2)", lambda t: -(t[0] ** 2 + t[1] ** 2)),
        ("a^2 - b^2", lambda t: t[0] ** 2 - t[1] ** 2),
    ):
        _, eig = hessian_of(f, jnp.zeros(2))
        print(f"L = {name:<13} at (0, 0): eigenvalues {eig.tolist()} -> {classify(eig)}")

    x = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    y = jnp.array([[0.0], [1.0], [1.0], [0.0]])
    mlp = MLP((2, 2, 1), "tanh", output="identity")
    loss = lambda p: objective(mlp, p, x, y, "half_sse")
    # With all weights 0 and the output bias at the mean target, every gradient is 0 (tanh(0) = 0
    # blocks W^2's gradient, W^2 = 0 blocks W^1's). On OR data the W^1-W^2 cross terms make it a saddle.
    y_or = jnp.array([[0.0], [1.0], [1.0], [1.0]])
    loss_or = lambda p: objective(mlp, p, x, y_or, "half_sse")
    zero = tuple(
        layer._replace(W=jnp.zeros_like(layer.W), b=jnp.zeros_like(layer.b)) for layer in mlp.init(jax.random.key(0))
    )
    zero = (zero[0], zero[1]._replace(b=jnp.array([0.75])))
    g = backprop(mlp, zero, x, y_or, "half_sse").grads
    print(
        "OR data, 2-2-1 tanh, all weights 0, b^2 = mean(y) = 0.75: max |grad| = "
        f"{max(float(jnp.abs(leaf).max()) for leaf in jax.tree_util.tree_leaves(g)):.1e}"
    )
    _, eig = hessian_of(loss_or, zero)
    print(f"  Hessian eigenvalues {np.round(eig, 6).tolist()} -> {classify(eig)}")

    params, history = fit(
        mlp,
        mlp.init(jax.random.key(3), init="normal(1.0)"),
        (x, y),
        loss="half_sse",
        optimizer=optax.adam(0.05),
        epochs=300 if args.fast else 2000,
        batch_size=4,
        key=jax.random.key(1),
    )
    g = backprop(mlp, params, x, y, "half_sse").grads
    _, eig = hessian_of(loss, params)
    print(
        f"XOR data, after training: loss {history.train_loss[-1]:.2e}, max |grad| = "
        f"{max(float(jnp.abs(leaf).max()) for leaf in jax.tree_util.tree_leaves(g)):.1e}"
    )
    print(f"  Hessian eigenvalues {np.round(eig, 6).tolist()} -> {classify(eig, tol=1e-6)}")
    return eig


if __name__ == "__main__":
    main()
