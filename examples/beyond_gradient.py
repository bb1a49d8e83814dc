"""Beyond the gradient, on the 8x8 digits: DP-SGD with its clipped fraction per epoch, elastic weight
consolidation (EWC) between two digit tasks, the gradient noise scale through training, and the per-layer
diagonal of the generalised Gauss-Newton matrix (exact and Monte Carlo), its Kronecker factors and the
per-example gradient norms. Every quantity comes from the one manual backward pass (no per-example
gradient is held). Runs in float32: the comparisons below are of estimates, far above float32's rounding.

    python examples/beyond_gradient.py [--epochs N] [--seed S] [--fast]
"""

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

from funcmlp import (
    DPSGD,
    MLP,
    diag_ggn,
    evaluate,
    fit,
    grad_moments,
    kfac_factors,
    per_example_grad_norms,
    predict,
    train_epochs,
)
from funcmlp.data.datasets import load_digits
from funcmlp.training.regularizers import anchor

LOSS = "softmax_cross_entropy"


def as32(a):
    return np.asarray(a, np.float32)


def tree_norm(tree) -> float:
    return float(jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in jax.tree_util.tree_leaves(tree))))


def accuracy_on(mlp, params, x, y) -> float:
    return evaluate(mlp, params, x, y, LOSS).accuracy


def dp_sgd(mlp, params0, data, args, key) -> dict:
    """1. The same fit with and without DP-SGD (clipping to max_norm, Gaussian noise), epoch by epoch."""
    x, y = as32(data.x_train), data.y_train
    norms = np.asarray(per_example_grad_norms(mlp, params0, x, y, LOSS))
    max_norm = args.max_norm_fraction * float(np.median(norms))
    print(
        f"per-example gradient norms at initialisation: median {np.median(norms):.3f}, max {norms.max():.3f}; "
        f"max_norm = {args.max_norm_fraction} x median = {max_norm:.3f}, noise_multiplier = {args.noise_multiplier}"
    )
    common = dict(
        loss=LOSS,
        optimizer=optax.sgd(args.dp_lr, momentum=0.9),
        batch_size=args.batch_size,
        epochs=args.epochs,
        key=key,
        validation=(as32(data.x_val), data.y_val),
    )
    private = DPSGD(max_norm=max_norm, noise_multiplier=args.noise_multiplier)
    params_dp, history_dp = fit(mlp, params0, (x, y), dp_sgd=private, **common)
    params_plain, history_plain = fit(mlp, params0, (x, y), **common)
    print("epoch  clipped fraction  val acc DP-SGD  val acc non-private")
    for epoch in range(args.epochs):
        print(
            f"{epoch + 1:5d}  {history_dp.clipped_fraction[epoch]:16.3f}  {history_dp.val_accuracy[epoch]:14.4f}  "
            f"{history_plain.val_accuracy[epoch]:19.4f}"
        )
    x_test, y_test = as32(data.x_test), data.y_test
    result = {
        "max_norm": max_norm,
        "median_norm": float(np.median(norms)),
        "clipped_fraction": list(history_dp.clipped_fraction),
        "dp_test_accuracy": accuracy_on(mlp, params_dp, x_test, y_test),
        "plain_test_accuracy": accuracy_on(mlp, params_plain, x_test, y_test),
    }
    steps = args.epochs * -(-len(x) // args.batch_size)
    print(
        f"test accuracy: DP-SGD {result['dp_test_accuracy']:.4f}, non-private {result['plain_test_accuracy']:.4f} "
        f"({len(x_test)} examples)"
    )
    print(
        f"privacy budget: not computed here; (epsilon, delta) follows from noise_multiplier {args.noise_multiplier}, "
        f"sampling rate {args.batch_size}/{len(x)} and {steps} steps with a DP accountant (e.g. dp_accounting); "
        "funcmlp's epochs shuffle and partition, not the Poisson sampling most accountants assume"
    )
    return result


def ewc(mlp, params0, data, args, key) -> dict:
    """2. Task A (digits 0-4), then task B (digits 5-9) in one 10-class network: plain, and anchored by EWC."""

    def task(x, y, digits):
        keep = np.isin(y, digits)
        return as32(x[keep]), y[keep]

    a_digits, b_digits = np.arange(5), np.arange(5, 10)
    x_a, y_a = task(data.x_train, data.y_train, a_digits)
    x_b, y_b = task(data.x_train, data.y_train, b_digits)
    test_a = task(data.x_test, data.y_test, a_digits)
    test_b = task(data.x_test, data.y_test, b_digits)
    key_a, key_b = jax.random.split(key)
    common = dict(loss=LOSS, batch_size=args.batch_size, epochs=args.task_epochs)
    params_a, _ = fit(mlp, params0, (x_a, y_a), optimizer=optax.adam(args.lr), key=key_a, **common)
    fisher = diag_ggn(mlp, params_a, x_a, y_a, LOSS)  # exact; samples=k, key=... gives the Monte-Carlo Fisher
    total = sum(float(jnp.sum(f)) for f in jax.tree_util.tree_leaves(fisher))
    print(
        f"after task A ({len(x_a)} examples of digits 0-4): task-A test accuracy "
        f"{accuracy_on(mlp, params_a, *test_a):.4f}; "
        f"importance = the exact Fisher diagonal on A (diag_ggn; samples=, key= for Monte Carlo), summed {total:.3g}"
    )
    plain, _ = fit(mlp, params_a, (x_b, y_b), optimizer=optax.adam(args.lr), key=key_b, **common)
    # anchor adds strength * sum_i F_i (theta_i - theta_A,i)^2 to B's mean loss; a Laplace posterior of A would give
    # strength N_A / (2 N_B), about 0.5 here: EWC's strengths are larger, trading some of B for A
    ewc_optimizer = optax.chain(anchor(params_a, strength=args.ewc_strength, importance=fisher), optax.adam(args.lr))
    anchored, _ = fit(mlp, params_a, (x_b, y_b), optimizer=ewc_optimizer, key=key_b, **common)
    test_all = (as32(data.x_test), data.y_test)
    result = {
        "plain_a": accuracy_on(mlp, plain, *test_a),
        "ewc_a": accuracy_on(mlp, anchored, *test_a),
        "plain_b": accuracy_on(mlp, plain, *test_b),
        "ewc_b": accuracy_on(mlp, anchored, *test_b),
        "plain_all": accuracy_on(mlp, plain, *test_all),
        "ewc_all": accuracy_on(mlp, anchored, *test_all),
    }
    print(
        f"after task B ({len(x_b)} examples of digits 5-9), task-A test accuracy: plain {result['plain_a']:.4f}, "
        f"EWC {result['ewc_a']:.4f} (strength {args.ewc_strength:g}); "
        f"task-B: plain {result['plain_b']:.4f}, EWC {result['ewc_b']:.4f}; "
        f"all 10 digits: plain {result['plain_all']:.4f}, EWC {result['ewc_all']:.4f}"
    )
    return result


def noise_scale(mlp, params0, data, args, key):
    """3. B_simple = tr(Sigma) / |G|^2 over the training set after each epoch of the non-private run of 1 (the same
    optimizer and key: the same epochs), trained again epoch by epoch with train_epochs."""
    x, y = as32(data.x_train), data.y_train
    print("epoch  train loss  |G|       tr(Sigma)  B_simple")
    scales, params = [], params0
    states = train_epochs(
        mlp,
        params0,
        (x, y),
        loss=LOSS,
        optimizer=optax.sgd(args.dp_lr, momentum=0.9),
        batch_size=args.batch_size,
        epochs=args.epochs,
        key=key,
    )
    for state in states:
        moments = grad_moments(mlp, state.params, x, y, LOSS)
        size = tree_norm(moments.mean)
        spread = sum(float(jnp.sum(v)) for v in jax.tree_util.tree_leaves(moments.variance))
        scales.append(float(moments.noise_scale))
        print(f"{state.epoch:5d}  {state.history.train_loss[-1]:10.4f}  {size:8.4f}  {spread:9.4f}  {scales[-1]:8.1f}")
        params = state.params
    print(
        f"B_simple grew {scales[-1] / scales[0]:.1f}x from epoch 1 to {len(scales)} (McCandlish et al. 2018: the batch "
        f"size above which larger batches stop paying grows as the loss falls; the training set has {len(x)})"
    )
    test = accuracy_on(mlp, params, as32(data.x_test), data.y_test)
    print(f"test accuracy {test:.4f} (the non-private run of 1, epoch by epoch: the same params)")
    return params, scales, test


def curvature(mlp, params, data, args, key) -> dict:
    """4. Per layer: the GGN's diagonal (exact and Monte Carlo), KFLR's factors, the per-example gradient norms."""
    x, y = as32(data.x_train), data.y_train
    exact = diag_ggn(mlp, params, x, y, LOSS)
    # 8 independent estimates of args.samples draws each: the first is "MC", their mean one of 8 x as many draws
    # (one compiled program: samples= is static, a new value would compile again)
    draws = [diag_ggn(mlp, params, x, y, LOSS, samples=args.samples, key=k) for k in jax.random.split(key, 8)]
    sampled = draws[0]
    more = jax.tree_util.tree_map(lambda *leaves: sum(leaves) / len(leaves), *draws)
    factors = kfac_factors(mlp, params, x, y, LOSS)
    print(f"layer  param  shape       mean exact  mean MC({args.samples})  rel. diff ||MC - exact|| / ||exact||")
    differences = {}
    for k, (e, s) in enumerate(zip(exact, sampled, strict=True), start=1):
        for name in ("W", "b"):
            ge, gs = getattr(e, name), getattr(s, name)
            differences[f"{name}{k}"] = float(jnp.linalg.norm(gs - ge) / jnp.linalg.norm(ge))
            print(
                f"{k:5d}  {name:5s}  {str(ge.shape):10s}  {float(jnp.mean(ge)):10.3e}  {float(jnp.mean(gs)):11.3e}  "
                f"{differences[f'{name}{k}']:.3f}"
            )
    whole = [tree_norm(jax.tree_util.tree_map(jnp.subtract, s, exact)) / tree_norm(exact) for s in (sampled, more)]
    print(
        f"whole diagonal, ||MC - exact|| / ||exact||: {whole[0]:.3f} with {args.samples} draws, {whole[1]:.3f} with "
        f"{8 * args.samples} (ratio {whole[1] / whole[0]:.3f}; unbiased: about 1/sqrt(8) = 0.354); "
        "the more confident the network, the heavier the draws' tail (a rare label drawn for a confident example)"
    )
    shapes = [(tuple(A.shape), tuple(G.shape)) for A, G in factors]
    print("KFLR factors (A over [a, 1], G over n) per layer: " + ", ".join(f"A {a} G {g}" for a, g in shapes))
    norms = np.asarray(per_example_grad_norms(mlp, params, x, y, LOSS))
    predicted = np.asarray(predict(mlp, params, x))
    hardest = np.argsort(norms)[::-1][:5]
    print(
        f"per-example gradient norms: median {np.median(norms):.4f}, mean {norms.mean():.4f}, "
        f"95th percentile {np.percentile(norms, 95):.4f}, max {norms.max():.4f}"
    )
    print(
        "pulling hardest (row: label -> predicted, norm): "
        + ", ".join(f"{i}: {y[i]} -> {predicted[i]}, {norms[i]:.3f}" for i in hardest)
    )
    print(
        f"the {len(hardest)} hardest hold {norms[hardest].sum() / norms.sum():.1%} of the summed norms; "
        f"misclassified training examples: {int(np.sum(predicted != y))}"
    )
    return {"mc_relative_difference": differences, "mc_whole": whole, "kflr_shapes": shapes, "norms": norms}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--task-epochs", type=int, default=20, help="epochs on each EWC task")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--lr", type=float, default=1e-3, help="Adam's, for the EWC tasks")
    parser.add_argument(
        "--dp-lr", type=float, default=0.05, help="SGD's (momentum 0.9), for DP-SGD and the noise scale"
    )
    parser.add_argument("--max-norm-fraction", type=float, default=0.5, help="DP-SGD's max_norm, x the median norm")
    parser.add_argument("--noise-multiplier", type=float, default=1.0)
    parser.add_argument("--ewc-strength", type=float, default=30.0)
    parser.add_argument("--samples", type=int, default=8, help="label draws of the Monte-Carlo GGN diagonal")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--fast", action="store_true", help="a few epochs (for the tests)")
    args = parser.parse_args(argv)
    if args.fast:
        args.epochs, args.task_epochs = 3, 3
    data = load_digits(seed=args.seed)
    mlp = MLP((64, 64, 10), "relu", output="identity")
    keys = jax.random.split(jax.random.key(args.seed), 4)
    params0 = mlp.init(keys[0], dtype=jnp.float32)
    print(f"{data.describe()}; {mlp}; float32")
    print("\n1. DP-SGD: each example's gradient clipped, Gaussian noise added")
    private = dp_sgd(mlp, params0, data, args, keys[1])
    print("\n2. EWC: digits 0-4, then 5-9, in one 10-class network")
    forgetting = ewc(mlp, params0, data, args, keys[2])
    print("\n3. gradient noise scale B_simple over the training set, after each epoch of 1's non-private run")
    params, scales, replayed = noise_scale(mlp, params0, data, args, keys[1])
    print("\n4. curvature and per-example gradients of the network trained in 3 (training set)")
    curv = curvature(mlp, params, data, args, keys[3])
    return {
        "dp_sgd": private,
        "ewc": forgetting,
        "noise_scale": scales,
        "replayed_accuracy": replayed,
        "curvature": curv,
    }


if __name__ == "__main__":
    main()
