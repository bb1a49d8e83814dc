"""Training with optax: XOR, manual vs autodiff trajectories, schedules, batching, digits."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from counting import compilations

from funcmlp import MLP, evaluate, fit, make_optimizer, make_schedule, predict, train_epochs
from funcmlp.core.padding import padded_rows
from funcmlp.data.datasets import load_digits, logic_gate
from funcmlp.training.batching import epoch_order, iterations_per_epoch


def test_xor_is_learned_to_full_accuracy_from_a_seeded_key():
    data = logic_gate("xor")
    mlp = MLP((2, 8, 1), "tanh", output="sigmoid")
    params, history = fit(
        mlp,
        mlp.init(jax.random.key(0)),
        (data.x_train, data.y_train),
        loss="binary_cross_entropy",
        optimizer=optax.adam(0.05),
        epochs=300,
        batch_size=4,
        key=jax.random.key(1),
    )
    assert predict(mlp, params, data.x_train).tolist() == [0, 1, 1, 0]
    assert history.train_accuracy[-1] == 1.0
    assert history.train_loss[-1] < 0.05 < history.train_loss[0]


def test_manual_and_autodiff_training_give_the_same_trajectory_in_float64():
    data = logic_gate("xor")
    mlp = MLP((2, 6, 1), "sigmoid", output="sigmoid", dropout=0.2)
    start = mlp.init(jax.random.key(2), dtype=jnp.float64)
    runs = {}
    for source in ("manual", "autodiff"):
        runs[source] = fit(
            mlp,
            start,
            (data.x_train, data.y_train),
            loss="sse",
            optimizer=optax.sgd(0.5, momentum=0.9),
            epochs=25,
            batch_size=3,
            key=jax.random.key(3),
            gradient=source,
        )
    (p_manual, h_manual), (p_auto, h_auto) = runs["manual"], runs["autodiff"]
    np.testing.assert_allclose(h_manual.train_loss, h_auto.train_loss, rtol=1e-10)
    for a, b in zip(jax.tree_util.tree_leaves(p_manual), jax.tree_util.tree_leaves(p_auto), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)


def test_one_sgd_step_is_the_seed_003_update():
    """fit with plain SGD, batch of one, one epoch = one step of eq. 19."""
    from funcmlp import params_from_arrays

    mlp = MLP((2, 2, 1), ["relu", "linear"])
    params = params_from_arrays([([[1, 1], [1, 1]], [0, 0]), ([[1], [1]], [0])], dtype=jnp.float64)
    new, _ = fit(
        mlp,
        params,
        (jnp.array([[1.0, 1.0]]), jnp.array([[0.0]])),
        loss="sse",
        optimizer=optax.sgd(0.1),
        epochs=1,
        batch_size=1,
        key=jax.random.key(0),
    )
    np.testing.assert_allclose(new[0].W, [[0.2, 0.2], [0.2, 0.2]], atol=1e-15)
    np.testing.assert_allclose(new[0].b, [-0.8, -0.8], atol=1e-15)
    np.testing.assert_allclose(new[1].W, [[-0.6], [-0.6]], atol=1e-15)
    np.testing.assert_allclose(new[1].b, [-0.8], atol=1e-15)


def test_iterations_per_epoch_and_partial_batches():
    """Seed 000 eq. 35: iterations = ceil(N / B)."""
    assert iterations_per_epoch(1000, 32) == 32 and iterations_per_epoch(1000, 32, drop_last=True) == 31
    order = np.asarray(epoch_order(jax.random.key(0), 10, 64, shuffle=True).order)
    assert sorted(order[:10].tolist()) == list(range(10)) and sorted(order[10:].tolist()) == list(range(10, 64))
    assert order[:10].tolist() != list(range(10))
    assert np.asarray(epoch_order(jax.random.key(0), 10, 64, shuffle=False).order).tolist() == list(range(64))
    with pytest.raises(ValueError, match="batch size must be at least 1"):
        iterations_per_epoch(10, 0)


def test_an_epochs_draw_is_made_on_the_host_from_the_key_and_keeps_the_keys_kind():
    """No program is compiled for a draw; one key gives one draw; the next key and the dropout key
    are of the given key's kind (typed threefry or rbg, or a legacy uint32[2] key); a run of typed
    rbg keys trains (its keys made in the compiled epoch)."""
    key = jax.random.key(7)
    jax.random.key_data(key)  # the one small program a typed key's data needs, shared by every draw after
    assert compilations(lambda: epoch_order(key, 100, 128, shuffle=True)) == 0
    first, again = epoch_order(key, 100, 128, shuffle=True), epoch_order(key, 100, 128, shuffle=True)
    assert np.array_equal(first.order, again.order) and np.array_equal(first.next_key_data, again.next_key_data)
    assert not np.array_equal(first.order, epoch_order(jax.random.key(8), 100, 128, shuffle=True).order)
    assert not np.array_equal(first.next_key_data, jax.random.key_data(key))
    mlp = MLP((2, 3, 1), "tanh", dropout=0.5)
    x, y = np.random.default_rng(0).normal(size=(20, 2)), np.zeros(20)
    for start in (jax.random.key(1, impl="rbg"), jax.random.PRNGKey(1), jax.random.key(1)):
        state = next(
            train_epochs(mlp, mlp.init(jax.random.key(0)), (x, y), loss="sse", optimizer=optax.sgd(0.1),
                         batch_size=5, key=start)
        )  # fmt: skip
        assert state.key.dtype == start.dtype and state.key.shape == start.shape
        if start.dtype == jnp.uint32:
            assert not np.array_equal(state.key, start)
        else:
            assert jax.random.key_impl(state.key) == jax.random.key_impl(start)


def test_the_first_non_finite_layer_of_a_gradient_is_named():
    from funcmlp.core.params import Layer
    from funcmlp.training.epoch import _first_nonfinite_layer

    shapes = [(3, 4), (4, 5), (5, 1)]

    def grads(layer=None, part="W", value=np.nan, index=0):
        arrays = [[np.zeros(shape), np.zeros(shape[1])] for shape in shapes]
        if layer is not None:
            arrays[layer - 1][part == "b"].reshape(-1)[index] = value
        return tuple(Layer(jnp.asarray(W), jnp.asarray(b)) for W, b in arrays)

    first = jax.jit(_first_nonfinite_layer)
    assert int(first(grads())) == 0
    cases = [(1, "W", 0), (1, "b", 3), (2, "W", 19), (2, "b", 0), (3, "W", 4), (3, "b", 0)]
    for layer, part, index in cases:
        for value in (np.nan, np.inf, -np.inf):
            assert int(first(grads(layer, part, value, index))) == layer, (layer, part, index, value)
    both = grads(3, "b")
    assert int(first((both[0], Layer(both[1].W.at[0, 0].set(np.inf), both[1].b), both[2]))) == 2  # the first of two


def test_padded_sizes_are_the_buckets_of_64_times_powers_of_two_and_three_halves():
    assert [padded_rows(n) for n in (1, 64, 65, 128, 129, 192, 193, 257, 385, 1025, 1537)] == [
        64, 64, 128, 128, 192, 192, 256, 384, 512, 1536, 2048,
    ]  # fmt: skip
    for rows in range(129, 5000, 7):
        size = padded_rows(rows)
        assert rows <= size <= 1.5 * rows and size % 64 == 0


def test_partial_last_batch_gives_the_mean_over_real_examples():
    """A padded last batch must step exactly like the unpadded batch of its real examples."""
    x = jax.random.normal(jax.random.key(0), (5, 3))
    y = jax.random.normal(jax.random.key(1), (5, 2))
    mlp = MLP((3, 4, 2), "tanh", output="identity")
    start = mlp.init(jax.random.key(2))
    # batch 5 covers everything in one step; batch 3 has one full and one partial (2 real + 1 padding)
    kept, _ = fit(
        mlp, start, (x, y), loss="mse", optimizer=optax.sgd(0.1), epochs=1, batch_size=3, key=jax.random.key(4)
    )
    # the documented draw: Philox keyed by the key's data; after the two keys' words, one word per real row, argsorted
    raw = np.random.Philox(key=sum(int(w) << (32 * i) for i, w in enumerate(jax.random.key_data(jax.random.key(4)))))
    order = np.argsort(raw.random_raw(4 + 5)[4:], kind="stable")
    from funcmlp import backprop

    params = start
    for chunk in (order[:3], order[3:]):
        grads = backprop(mlp, params, x[chunk], y[chunk], "mse").grads
        params = jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)
    for a, b in zip(jax.tree_util.tree_leaves(kept), jax.tree_util.tree_leaves(params), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12)


@pytest.mark.parametrize(
    "name, steps, expected",
    [
        ("constant", [0, 50, 99], [0.1, 0.1, 0.1]),
        ("step", [0, 24, 25, 60], [0.1, 0.1, 0.05, 0.025]),  # gamma 0.5 every 25 = 100 / 4 steps
        ("exponential", [0, 25, 50], [0.1, 0.05, 0.025]),
        ("linear", [0, 50, 100], [0.1, 0.05, 0.0]),
        ("cosine", [0, 50, 100], [0.1, 0.05, 0.0]),  # 0.1 (1 + cos(pi t / T)) / 2
        ("warmup", [0, 5, 10], [0.0, 0.05, 0.1]),  # linear warm-up over 100 / 10 steps
        ("inverse_sqrt", [0, 3, 99], [0.1, 0.05, 0.01]),  # 0.1 / sqrt(t + 1), seed 004
    ],
)
def test_schedules_by_hand(name, steps, expected):
    schedule = make_schedule(name, 0.1, total_steps=100)
    np.testing.assert_allclose([float(schedule(t)) for t in steps], expected, rtol=1e-6, atol=1e-9)


def test_momentum_by_hand():
    """v1 = g, v2 = 0.9 v1 + g: the second step moves 0.1 * 1.9 g."""
    opt = make_optimizer("momentum", 0.1, momentum=0.9)
    g = jnp.array([1.0])
    state = opt.init(g)
    first, state = opt.update(g, state)
    second, _ = opt.update(g, state)
    assert float(first[0]) == pytest.approx(-0.1) and float(second[0]) == pytest.approx(-0.19)


@pytest.mark.parametrize("name", ["sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam", "adamw", "radam"])
def test_every_optimizer_lowers_a_regression_loss(name):
    x = jax.random.normal(jax.random.key(0), (64, 3))
    y = jnp.sin(x[:, :1]) + x[:, 1:2] ** 2
    mlp = MLP((3, 16, 1), "tanh", output="identity")
    params, history = fit(
        mlp,
        mlp.init(jax.random.key(1)),
        (x, y),
        loss="mse",
        optimizer=make_optimizer(name, 0.02),
        epochs=30,
        batch_size=16,
        key=jax.random.key(2),
    )
    assert history.train_loss[-1] < 0.7 * history.train_loss[0]


def test_unknown_names():
    with pytest.raises(ValueError, match="unknown optimizer 'lbfgs'"):
        make_optimizer("lbfgs", 0.1)
    with pytest.raises(ValueError, match="unknown schedule 'cyclic'"):
        make_schedule("cyclic", 0.1, total_steps=10)
    with pytest.raises(ValueError, match="unknown gradient source"):
        fit(
            MLP((2, 1)),
            MLP((2, 1)).init(jax.random.key(0)),
            (jnp.ones((2, 2)), jnp.ones(2)),
            loss="sse",
            optimizer=optax.sgd(0.1),
            epochs=1,
            batch_size=1,
            key=jax.random.key(0),
            gradient="symbolic",
        )


@pytest.mark.slow
def test_digits_model_reaches_97_percent_test_accuracy():
    data = load_digits(seed=0)
    mlp = MLP((64, 256, 10), "relu", output="identity", dropout=0.3)
    steps = 80 * iterations_per_epoch(len(data.x_train), 32)
    optimizer = optax.adamw(optax.cosine_decay_schedule(2e-3, steps), weight_decay=1e-4)
    k_init, k_fit = jax.random.split(jax.random.key(0))
    x_train = data.x_train.astype(np.float32)
    params, history = fit(
        mlp,
        mlp.init(k_init, dtype=jnp.float32),
        (x_train, data.y_train),
        loss="softmax_cross_entropy",
        optimizer=optimizer,
        epochs=80,
        batch_size=32,
        key=k_fit,
        validation=(data.x_val.astype(np.float32), data.y_val),
    )
    test = evaluate(mlp, params, data.x_test.astype(np.float32), data.y_test, "softmax_cross_entropy")
    assert test.accuracy >= 0.97
    assert history.val_accuracy[-1] >= 0.96


def test_a_second_fit_compiles_nothing_for_a_recreated_optimizer_other_rows_or_another_validation_set():
    mlp = MLP((3, 5, 2), "tanh")
    x, y = jax.random.normal(jax.random.key(0), (150, 3)), jnp.arange(150) % 2

    def run(seed, optimizer, rows=150, validation_rows=20):  # the data sliced here; the fit counted
        data, validation = (x[:rows], y[:rows]), (x[:validation_rows], y[:validation_rows])
        params, key = mlp.init(jax.random.key(seed)), jax.random.key(seed)
        return lambda: fit(
            mlp,
            params,
            data,
            loss="softmax_cross_entropy",
            optimizer=optimizer,
            epochs=3,
            batch_size=8,
            key=key,
            validation=validation,
        )

    assert compilations(run(0, optax.adam(0.01))) > 0
    assert compilations(run(1, optax.adam(0.01))) == 0  # an optimizer written again, other params and keys
    assert compilations(run(2, optax.adam(0.01), rows=131, validation_rows=37)) == 0  # other rows, same buckets
    assert compilations(run(3, optax.adam(0.02))) > 0  # another rate is another program
    assert compilations(run(4, optax.adam(0.02))) == 0
    assert compilations(run(5, optax.adam(0.01), rows=100)) > 0  # 128 rows: another bucket
    # numbers in the state: one program, each optimizer's own state (the runs differ)
    inject = lambda rate: optax.inject_hyperparams(optax.sgd)(learning_rate=rate)
    assert compilations(run(6, inject(0.1))) > 0
    slow, fast = run(7, inject(0.01)), run(7, inject(0.5))
    assert compilations(slow) == compilations(fast) == 0
    assert not np.allclose(slow()[0][0].W, fast()[0][0].W)


def test_optimizers_stand_for_each_other_only_when_they_compute_the_same_program():
    from funcmlp.training.reuse import same_optimizer

    params = MLP((3, 4, 2), "tanh").init(jax.random.key(0))
    first = same_optimizer(optax.chain(optax.clip(1.0), optax.sgd(0.1, momentum=0.9)), params)
    assert same_optimizer(optax.chain(optax.clip(1.0), optax.sgd(0.1, momentum=0.9)), params) is first
    others = [
        optax.chain(optax.clip(1.0), optax.sgd(0.1, momentum=0.8)),
        optax.chain(optax.clip(2.0), optax.sgd(0.1, momentum=0.9)),
        optax.chain(optax.clip(1.0), optax.sgd(0.1 + 1e-16, momentum=0.9)),  # float64: another literal
        optax.chain(optax.clip(1.0), optax.sgd(0.1, momentum=0.9, nesterov=True)),
        optax.inject_hyperparams(optax.sgd)(learning_rate=0.1),  # the rate in the state: another state structure
    ]
    for other in others:
        assert same_optimizer(other, params) is other
    # only the numbers kept in the state differ: the same update program (each init still makes its own state)
    assert same_optimizer(optax.inject_hyperparams(optax.sgd)(learning_rate=0.5), params) is others[-1]
    first_adagrad = same_optimizer(optax.adagrad(0.1, initial_accumulator_value=0.2), params)
    assert same_optimizer(optax.adagrad(0.1, initial_accumulator_value=0.3), params) is first_adagrad

    def halve(values):  # the same program text, another Python function called back
        return np.asarray(values) / 2

    def third(values):
        return np.asarray(values) / 3

    def calling(function):
        def update(updates, state, params=None):
            shape = jax.ShapeDtypeStruct(updates[0].W.shape, updates[0].W.dtype)
            scaled = jax.pure_callback(function, shape, updates[0].W)
            return (type(updates[0])(scaled, updates[0].b), *updates[1:]), state

        return optax.GradientTransformation(lambda params: optax.EmptyState(), update)

    halving = same_optimizer(calling(halve), params)
    assert same_optimizer(calling(third), params) is not halving

    def scaling(factor):  # an array captured by a jitted function inside update: not in the outer program's text
        rate = jnp.full((), factor)
        scale = jax.jit(lambda g: -g * rate)
        return optax.GradientTransformation(
            lambda params: optax.EmptyState(), lambda u, state, params=None: (jax.tree_util.tree_map(scale, u), state)
        )

    tenth = same_optimizer(scaling(0.1), params)
    assert same_optimizer(scaling(0.0), params) is not tenth and same_optimizer(scaling(0.1), params) is tenth


@pytest.mark.parametrize("reduction", ["mean", "sum"])
def test_epoch_loss_and_accuracy_are_the_exact_epoch_figures_of_its_steps(reduction):
    """With a zero learning rate every step sees the same params, so the epoch's loss (built
    from its steps, the padded last batch weighted by its real examples) must be the loss of
    the whole data set, and its accuracy the data set's, computed here with numpy."""
    mlp = MLP((4, 6, 3), "tanh", output="identity")
    params = mlp.init(jax.random.key(0))
    x, y = jax.random.normal(jax.random.key(1), (10, 4)), jnp.array([0, 1, 2, 0, 1, 2, 0, 1, 2, 2])
    _, history = fit(
        mlp,
        params,
        (x, y),
        loss="softmax_cross_entropy",
        optimizer=optax.sgd(0.0),
        epochs=2,
        batch_size=4,
        key=jax.random.key(2),
        reduction=reduction,
    )
    logits = np.asarray(jnp.tanh(x @ params[0].W + params[0].b) @ params[1].W + params[1].b)
    shifted = logits - logits.max(axis=1, keepdims=True)
    per_example = np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(10), np.asarray(y)]
    expected = per_example.mean() if reduction == "mean" else per_example.sum()
    np.testing.assert_allclose(history.train_loss, [expected, expected], rtol=1e-12)
    assert history.train_accuracy == [np.mean(logits.argmax(axis=1) == np.asarray(y))] * 2


def test_float16_epoch_figures_are_summed_without_stalling():
    """70,000 examples: float16 sums overflow past 65,504 (the epoch's loss and example count, the
    validation's count); they are summed in float32 at least. Reference: numpy in float64 at the
    float16 params."""
    mlp = MLP((3, 4, 3), "tanh", output="identity")
    params = jax.tree_util.tree_map(lambda a: a.astype(jnp.float16), mlp.init(jax.random.key(0)))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(70000, 3)), rng.integers(0, 3, 70000)
    _, history = fit(
        mlp, params, (x, y), loss="softmax_cross_entropy", optimizer=optax.sgd(0.0), epochs=1, batch_size=64,
        key=jax.random.key(1), validation=(x, y),
    )  # fmt: skip
    W1, b1, W2, b2 = (np.asarray(a, np.float64) for layer in params for a in layer)
    logits = np.tanh(x.astype(np.float16).astype(np.float64) @ W1 + b1) @ W2 + b2
    shifted = logits - logits.max(axis=1, keepdims=True)
    loss = np.mean(np.log(np.exp(shifted).sum(axis=1)) - shifted[np.arange(70000), y])
    accuracy = np.mean(logits.argmax(axis=1) == y)
    assert history.train_loss[0] == pytest.approx(loss, rel=1e-2)
    assert history.train_accuracy[0] == pytest.approx(accuracy, abs=2e-3)
    assert history.val_accuracy[0] == pytest.approx(accuracy, abs=2e-3)


def test_validation_every_k_epochs_and_epoch_seconds_count_everything(monkeypatch):
    import funcmlp.training.loop as training

    calls = []
    original = training.loss_and_accuracy
    monkeypatch.setattr(training, "loss_and_accuracy", lambda *a, **k: calls.append(1) or original(*a, **k))
    mlp = MLP((2, 3, 1), "tanh", output="sigmoid")
    x, y = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), jnp.array([0.0, 1.0, 1.0, 0.0])
    _, history = fit(
        mlp,
        mlp.init(jax.random.key(0)),
        (x, y),
        loss="binary_cross_entropy",
        optimizer=optax.adam(0.05),
        epochs=7,
        batch_size=4,
        key=jax.random.key(1),
        validation=(x, y),
        validate_every=3,
    )
    assert len(calls) == 4  # epochs 1, 3, 6 and the last, 7
    assert len(history.val_loss) == len(history.val_accuracy) == len(history.epoch_seconds) == 7
    assert (
        history.val_loss[2] == history.val_loss[3] == history.val_loss[4] and history.val_loss[1] == history.val_loss[0]
    )
    with pytest.raises(ValueError, match="validate_every must be at least 1"):
        fit(
            mlp,
            mlp.init(jax.random.key(0)),
            (x, y),
            loss="binary_cross_entropy",
            optimizer=optax.adam(0.05),
            epochs=1,
            batch_size=4,
            key=jax.random.key(1),
            validate_every=0,
        )


def test_sample_weights_give_the_weighted_mean_gradient_of_an_independent_loss():
    """Full-batch SGD with per-example weights: each epoch's step is jax.grad of the weighted mean
    of optax's softmax cross-entropy on a forward pass written in tests/reference.py."""
    from tests import reference

    x = jax.random.normal(jax.random.key(0), (12, 3))
    labels = jnp.arange(12) % 3
    weights = jnp.array([0.0, 1.0, 2.5, 0.5, 1.0, 0.0, 3.0, 1.0, 1.0, 0.25, 2.0, 1.0])
    mlp = MLP((3, 5, 3), "tanh", output="identity")
    start = mlp.init(jax.random.key(1))
    params, history = fit(
        mlp,
        start,
        (x, labels),
        loss="softmax_cross_entropy",
        optimizer=optax.sgd(0.3),
        epochs=3,
        batch_size=12,
        key=jax.random.key(2),
        sample_weight=weights,
    )
    expected = tuple((W, b) for W, b in start)
    activations = [("tanh", None), ("identity", None)]
    losses = []
    for _ in range(3):
        losses.append(
            reference.batch_loss(
                expected, x, jax.nn.one_hot(labels, 3), activations, "softmax_cross_entropy", weights=weights
            )
        )
        grads = reference.gradient(
            expected, x, jax.nn.one_hot(labels, 3), activations, "softmax_cross_entropy", weights=weights
        )
        expected = tuple((W - 0.3 * dW, b - 0.3 * db) for (W, b), (dW, db) in zip(expected, grads, strict=True))
    for layer, (W, b) in zip(params, expected, strict=True):
        assert jnp.allclose(layer.W, W, rtol=1e-10, atol=1e-14) and jnp.allclose(layer.b, b, rtol=1e-10, atol=1e-14)
    assert jnp.allclose(jnp.array(history.train_loss), jnp.array(losses), rtol=1e-10)


def test_batches_whose_examples_all_weigh_zero_stay_finite_and_bad_weights_are_refused():
    x = jax.random.normal(jax.random.key(0), (8, 2))
    y = jnp.arange(8) % 2
    mlp = MLP((2, 3, 2), "tanh", output="identity")
    start = mlp.init(jax.random.key(1))
    weights = jnp.array([0.0] * 4 + [1.0] * 4)  # with batches of 2, some batches weigh nothing
    params, history = fit(
        mlp,
        start,
        (x, y),
        loss="softmax_cross_entropy",
        optimizer=optax.sgd(0.1),
        epochs=4,
        batch_size=2,
        key=jax.random.key(2),
        sample_weight=weights,
    )
    assert all(jnp.all(jnp.isfinite(layer.W)) for layer in params) and all(jnp.isfinite(jnp.array(history.train_loss)))
    with pytest.raises(ValueError, match=r"example weights must be finite and >= 0; found -1.0 at index 3"):
        fit(
            mlp,
            start,
            (x, y),
            loss="softmax_cross_entropy",
            optimizer=optax.sgd(0.1),
            epochs=1,
            batch_size=2,
            key=jax.random.key(2),
            sample_weight=weights.at[3].set(-1),
        )
    with pytest.raises(ValueError, match=r"example weights have shape \(7,\), expected \(8,\)"):
        fit(
            mlp,
            start,
            (x, y),
            loss="softmax_cross_entropy",
            optimizer=optax.sgd(0.1),
            epochs=1,
            batch_size=2,
            key=jax.random.key(2),
            sample_weight=weights[:7],
        )


def test_example_weights_of_any_scale_give_the_same_mean():
    """The mean over weighted examples does not depend on the weights' scale, sums below 1 included."""
    x = jax.random.normal(jax.random.key(0), (40, 3))
    y = jnp.arange(40) % 2
    mlp = MLP((3, 4, 2), "tanh", output="identity")
    start = mlp.init(jax.random.key(1))
    run = lambda weights: fit(
        mlp,
        start,
        (x, y),
        loss="softmax_cross_entropy",
        optimizer=optax.sgd(0.1),
        epochs=2,
        batch_size=8,
        key=jax.random.key(2),
        sample_weight=weights,
    )
    plain, plain_history = run(None)
    small, small_history = run(jnp.full(40, 0.01))
    assert jnp.allclose(jnp.array(small_history.train_loss), jnp.array(plain_history.train_loss), rtol=1e-12)
    assert jnp.allclose(jnp.array(small_history.train_accuracy), jnp.array(plain_history.train_accuracy), rtol=1e-12)
    for a, b in zip(small, plain, strict=True):
        assert jnp.allclose(a.W, b.W, rtol=1e-12, atol=1e-15)
