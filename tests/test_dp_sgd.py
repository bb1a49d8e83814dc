"""Issue 34, DP-SGD in training (funcmlp/training/private.py): each step's gradient against an independent one,
per-example gradients by ``jax.vmap(jax.grad)`` of the losses of tests/reference.py (no funcmlp code),
clipped, averaged and noised by ``optax.contrib.differentially_private_aggregate`` with the documented key
(``jax.random.fold_in(K, t)`` for step t of the epoch starting from key K), then ``optax.sgd``; float64,
1e-10 relative. Abadi et al. 2016, "Deep Learning with Differential Privacy", Algorithm 1."""

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference
from test_backprop import random_problem, reference_activations

import funcmlp
from funcmlp import DPSGD, MLP, TrainConfig, fit, train_epochs
from funcmlp.io.training_state import load_state
from funcmlp.training.parallel import data_mesh

LR = 0.1
CASES = [
    ("mse", (3, 5, 2), ["tanh", "identity"], "real"),
    ("softmax_cross_entropy", (4, 6, 3), ["relu", "identity"], "one_hot"),
]


def _per_example(acts, plain, x, y_reference, loss):
    """Each example's gradient of its own loss, leaves (B, ...), by jax.vmap(jax.grad) of tests/reference.py."""
    return jax.vmap(lambda xi, yi: reference.gradient(plain, xi[None], yi[None], acts, loss))(x, y_reference)


def _norms(per_example):
    leaves = jax.tree_util.tree_leaves(per_example)
    return jnp.sqrt(sum(jnp.sum(g**2, axis=tuple(range(1, g.ndim))) for g in leaves))


@partial(jax.jit, static_argnames=("acts", "loss"))
def _reference_step(plain, x, y_reference, key, max_norm, noise, factor, *, acts, loss):
    """One step's gradient: optax's DP aggregate of the per-example gradients times ``factor`` (B for the
    sum, 1 for the mean), and the per-example norms."""
    per_example = _per_example(acts, plain, x, y_reference, loss)
    aggregate = optax.contrib.differentially_private_aggregate(max_norm, noise, key)
    update, _ = aggregate.update(per_example, aggregate.init(per_example))
    return jax.tree_util.tree_map(lambda u: u * factor, update), _norms(per_example)


def _reference_run(mlp, params, x, y_reference, loss, steps, *, max_norm, noise, reduction="mean", weights=None):
    """DP-SGD written from its definition: for each ``(rows, key)`` of ``steps``, optax's DP aggregate of
    the per-example gradients of the rows of weight 1 (times their number for the sum), then optax.sgd.
    Returns the params ((W, b), ...) and the number of clipped examples."""
    plain = tuple((layer.W, layer.b) for layer in params)
    sgd = optax.sgd(LR)
    opt_state, clipped = sgd.init(plain), 0
    for rows, key in steps:
        rows = np.array([i for i in rows if weights is None or weights[i] == 1])
        update, norms = _reference_step(
            plain, x[rows], y_reference[rows], key, max_norm, noise, float(len(rows)) if reduction == "sum" else 1.0,
            acts=reference_activations(mlp), loss=loss,
        )  # fmt: skip
        updates, opt_state = sgd.update(update, opt_state, plain)
        plain, clipped = optax.apply_updates(plain, updates), clipped + int(np.sum(np.asarray(norms) > max_norm))
    return plain, clipped


def _in_order(n, batch, key):
    """The steps of one unshuffled epoch from key ``key``: (rows, fold_in(key, t))."""
    return [
        (list(range(start, min(start + batch, n))), jax.random.fold_in(key, t))
        for t, start in enumerate(range(0, n, batch))
    ]


def _assert_params_close(params, expected, rtol=1e-10):
    for layer, (W, b) in zip(params, expected, strict=True):
        np.testing.assert_allclose(layer.W, W, rtol=rtol, atol=1e-14)
        np.testing.assert_allclose(layer.b, b, rtol=rtol, atol=1e-14)


def _max_norm(mlp, params, x, y_reference, loss):
    """Between the median two of the initial per-example norms: about half the examples clipped."""
    plain = tuple((layer.W, layer.b) for layer in params)
    acts = reference_activations(mlp)
    norms = np.sort(
        np.asarray(_reference_step(plain, x, y_reference, jax.random.key(0), 1.0, 0.0, 1.0, acts=acts, loss=loss)[1])
    )
    return float(norms[len(norms) // 2 - 1] + norms[len(norms) // 2]) / 2


@pytest.mark.parametrize("loss, sizes, activations, target", CASES)
@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_noise_free_steps_are_optaxs_dp_aggregate_then_sgd_and_the_last_partial_batch_counts_its_real_rows(
    loss, sizes, activations, target, reduction
):
    mlp, params, x, y, y_reference, _ = random_problem(3, sizes, activations, loss, 7, target=target)
    max_norm = _max_norm(mlp, params, x, y_reference, loss)
    key = jax.random.key(5)
    trained, history = fit(
        mlp, params, (x, y), loss=loss, optimizer=optax.sgd(LR), batch_size=3, epochs=1, key=key, shuffle=False,
        reduction=reduction, dp_sgd=DPSGD(max_norm),
    )  # fmt: skip
    steps = _in_order(7, 3, key)  # batches of 3, 3 and 1: the last one's two missing rows are padding
    expected, clipped = _reference_run(
        mlp, params, x, y_reference, loss, steps, max_norm=max_norm, noise=0.0, reduction=reduction
    )
    _assert_params_close(trained, expected)
    assert 0 < clipped < 7 and history.clipped_fraction == [clipped / 7]


def test_the_noise_of_step_t_is_drawn_from_fold_in_of_the_epochs_key_with_t_over_two_epochs():
    loss, sizes, activations, target = CASES[1]
    mlp, params, x, y, y_reference, _ = random_problem(4, sizes, activations, loss, 5, target=target)
    max_norm, noise, key = _max_norm(mlp, params, x, y_reference, loss), 1.3, jax.random.key(7)
    states = list(
        train_epochs(
            mlp, params, (x, y), loss=loss, optimizer=optax.sgd(LR), batch_size=3, epochs=2, key=key,
            shuffle=False, dp_sgd=DPSGD(max_norm, noise_multiplier=noise),
        )
    )  # fmt: skip
    # epoch 2 starts from the key epoch 1 ended with (EpochState.key): steps of 3 and 2 examples in each epoch
    steps = _in_order(5, 3, key) + _in_order(5, 3, states[0].key)
    expected, clipped = _reference_run(mlp, params, x, y_reference, loss, steps, max_norm=max_norm, noise=noise)
    _assert_params_close(states[-1].params, expected)
    _, clipped_first = _reference_run(mlp, params, x, y_reference, loss, steps[:2], max_norm=max_norm, noise=noise)
    assert states[-1].history.clipped_fraction == [clipped_first / 5, (clipped - clipped_first) / 5]


def test_the_noise_is_noise_multiplier_times_max_norm_over_b_times_a_normal_of_the_documented_key():
    loss, sizes, activations, target = CASES[0]
    mlp, params, x, y, _, _ = random_problem(6, sizes, activations, loss, 6, target=target)
    key, max_norm, noise = jax.random.key(11), 0.5, 0.7
    run = lambda sigma: fit(
        mlp, params, (x, y), loss=loss, optimizer=optax.sgd(LR), batch_size=6, epochs=1, key=key,
        dp_sgd=DPSGD(max_norm, sigma),
    )[0]  # fmt: skip
    clean, noisy = run(0.0), run(noise)
    leaves = jax.tree_util.tree_leaves(clean)
    keys = jax.random.split(jax.random.fold_in(key, 0), len(leaves) + 1)  # one step: t = 0
    for j, (a, b) in enumerate(zip(leaves, jax.tree_util.tree_leaves(noisy), strict=True)):
        z = jax.random.normal(keys[j + 1], a.shape, a.dtype)
        np.testing.assert_allclose((a - b) / (LR * noise * max_norm / 6), z, rtol=1e-9, atol=1e-9)


def test_examples_of_weight_0_are_left_out_of_the_clipping_the_count_and_the_mean():
    loss, sizes, activations, target = CASES[0]
    mlp, params, x, y, y_reference, _ = random_problem(8, sizes, activations, loss, 8, target=target)
    weights = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 1.0])
    max_norm, key = _max_norm(mlp, params, x, y_reference, loss), jax.random.key(3)
    trained, history = fit(
        mlp, params, (x, y), loss=loss, optimizer=optax.sgd(LR), batch_size=4, epochs=1, key=key, shuffle=False,
        sample_weight=weights, dp_sgd=DPSGD(max_norm, 0.9),
    )  # fmt: skip
    steps = _in_order(8, 4, key)
    expected, clipped = _reference_run(
        mlp, params, x, y_reference, loss, steps, max_norm=max_norm, noise=0.9, weights=weights
    )
    _assert_params_close(trained, expected)
    assert history.clipped_fraction == [clipped / 6]


def _resume_problem():
    x = jax.random.normal(jax.random.key(0), (30, 4))
    mlp = MLP((4, 8, 3), "tanh", output="identity", dropout=0.2)
    return mlp, mlp.init(jax.random.key(1), dtype=jnp.float64), x, jnp.arange(30) % 3


ADAM = optax.adam(0.01)


def _resume_fit(mlp, params, x, y, epochs, **kwargs):
    return fit(
        mlp, params, (x, y), loss="softmax_cross_entropy", optimizer=ADAM, epochs=epochs, batch_size=8,
        key=jax.random.key(2), dp_sgd=DPSGD(0.5, noise_multiplier=1.1), **kwargs,
    )  # fmt: skip


def test_a_resumed_run_draws_the_same_noise_bitwise(tmp_path):
    mlp, params, x, y = _resume_problem()
    straight, straight_history = _resume_fit(mlp, params, x, y, 4)
    _resume_fit(mlp, params, x, y, 2, checkpoint_dir=tmp_path)
    saved = load_state(tmp_path, mlp, params, ADAM)
    assert saved.epoch == 2 and saved.history.clipped_fraction == straight_history.clipped_fraction[:2]
    resumed, history = _resume_fit(mlp, params, x, y, 4, checkpoint_dir=tmp_path, resume=True)
    for a, b in zip(jax.tree_util.tree_leaves(resumed), jax.tree_util.tree_leaves(straight), strict=True):
        assert np.array_equal(np.asarray(a), np.asarray(b))
    assert history.clipped_fraction == straight_history.clipped_fraction and len(history.clipped_fraction) == 4
    assert all(0 <= f <= 1 for f in history.clipped_fraction)
    assert "clipped_fraction" in history.rows()[0]


def test_without_dp_sgd_no_clipped_fraction_is_kept_and_an_old_history_loads():
    mlp, params, x, y = _resume_problem()
    _, history = fit(mlp, params, (x, y), loss="softmax_cross_entropy", optimizer=ADAM, epochs=1, batch_size=8,
                     key=jax.random.key(2))  # fmt: skip
    assert history.clipped_fraction == [] and "clipped_fraction" not in history.rows()[0]
    assert funcmlp.History(**{"train_loss": [1.0], "skipped_steps": []}).clipped_fraction == []  # a file before it


def test_a_one_device_mesh_gives_the_params_and_fraction_of_no_mesh():
    """(Eight devices: tests/test_parallel.py's eight_dp case.)"""
    mlp, params, x, y = _resume_problem()
    plain, plain_history = _resume_fit(mlp, params, x, y, 2)
    sharded, history = _resume_fit(mlp, params, x, y, 2, mesh=data_mesh(1))
    _assert_params_close(jax.device_get(sharded), plain, rtol=1e-12)
    assert history.clipped_fraction == plain_history.clipped_fraction


def test_float32_smoke():
    mlp = MLP((4, 8, 3), "tanh", output="identity")
    x = jax.random.normal(jax.random.key(0), (40, 4), jnp.float32)
    params, history = fit(
        mlp, mlp.init(jax.random.key(1), dtype=jnp.float32), (x, jnp.arange(40) % 3), loss="softmax_cross_entropy",
        optimizer=optax.adam(0.01), epochs=3, batch_size=16, key=jax.random.key(2), dp_sgd=DPSGD(0.1, 1.0),
    )  # fmt: skip
    assert all(
        leaf.dtype == jnp.float32 and bool(jnp.all(jnp.isfinite(leaf))) for leaf in jax.tree_util.tree_leaves(params)
    )
    assert len(history.clipped_fraction) == 3 and history.clipped_fraction[0] == 1.0  # every norm above 0.1


def test_dp_sgd_options_are_a_hashable_part_of_the_config():
    config = TrainConfig("sse", optax.sgd(0.1), 4, dp_sgd=DPSGD(1.0, 1.1))
    assert hash(config) == hash(TrainConfig("sse", config.optimizer, 4, dp_sgd=DPSGD(1, 1.1)))
    assert config != TrainConfig("sse", config.optimizer, 4, dp_sgd=DPSGD(1.0, 1.2))


AUTODIFF = "DP-SGD clips each example's gradient with norms from the manual backward pass, not gradient='autodiff'"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"dp_sgd": DPSGD(1.0), "gradient": "autodiff"}, AUTODIFF + ": use gradient='manual'"),
        (
            {"dp_sgd": 1.0},
            r"dp_sgd must be None or a funcmlp.DPSGD, got float; e.g. dp_sgd=funcmlp.DPSGD\(max_norm=1.0",
        ),
    ],
)
def test_bad_configurations_are_refused(options, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig("sse", optax.sgd(0.1), 4, **options)


@pytest.mark.parametrize(
    "arguments, message",
    [
        ((0.0,), "max_norm must be a finite number above 0, got 0.0; e.g. 1.0"),
        ((-1.0,), "max_norm must be a finite number above 0, got -1.0"),
        ((float("inf"),), "max_norm must be a finite number above 0, got inf"),
        ((1.0, -0.5), r"noise_multiplier must be a finite number from 0, got -0.5; e.g. 1.0 \(0: clipping only\)"),
        ((1.0, float("nan")), "noise_multiplier must be a finite number from 0, got nan"),
    ],
)
def test_bad_dp_sgd_options_are_refused(arguments, message):
    with pytest.raises(ValueError, match=message):
        DPSGD(*arguments)


def test_sample_weights_other_than_0_and_1_are_refused():
    mlp, params, x, y = _resume_problem()
    weights = np.ones(30)
    weights[4] = 0.5
    with pytest.raises(
        ValueError,
        match=r"DP-SGD takes sample weights 0 and 1 only \(1: the example is in, 0: left out\), got 0.5 at row 4",
    ):
        _resume_fit(mlp, params, x, y, 1, sample_weight=weights)


def test_the_command_line_trains_with_dp_sgd_and_refuses_its_bad_options(tmp_path, capsys):
    """funcmlp train --dp-max-norm/--dp-noise: the clipped fractions printed are the history's, saved with the run;
    a noise without a norm, a norm <= 0, a negative noise and DP-SGD with jax.grad each one line and exit 2."""
    import json

    from funcmlp.cli import main

    out = tmp_path / "run"
    argv = ["train", "--data", "xor", "--epochs", "3", "--no-check", "--quiet", "--out", str(out)]
    assert main([*argv, "--dp-max-norm", "0.05", "--dp-noise", "0.5"]) == 0
    printed = capsys.readouterr().out
    saved = json.loads((out / "history.json").read_text())
    fractions = [row["clipped_fraction"] for row in saved["history"]]
    assert saved["options"]["dp_max_norm"] == 0.05 and saved["options"]["dp_noise"] == 0.5
    assert len(fractions) == 3 and all(0 <= f <= 1 for f in fractions)
    assert f"{fractions[0]:.3f} of epoch 1, {fractions[-1]:.3f} of the last; noise multiplier 0.5" in printed
    for options, message in [
        (["--dp-noise", "1"], "--dp-noise is DP-SGD's noise multiplier and needs --dp-max-norm"),
        (["--dp-max-norm", "0"], "--dp-max-norm must be a finite number above 0, got 0.0"),
        (["--dp-max-norm", "1", "--dp-noise", "-1"], "--dp-noise must be a finite number from 0, got -1.0"),
        (["--dp-max-norm", "1", "--gradient", "autodiff"], "DP-SGD clips each example's gradient with norms from"),
    ]:
        assert main(["train", "--data", "xor", "--epochs", "1", "--no-check", *options]) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1 and "Traceback" not in err
