"""Issue 36, item 5: fit's options in its signature (TrainConfig the one definition of their defaults), what a
call missing one is told, and a History pandas reads."""

import dataclasses
import inspect
import pydoc

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pandas
import pytest

import funcmlp
from funcmlp import MLP, TrainConfig, fit, train_epochs
from funcmlp.training.config import CONFIG_DEFAULT, shows_config_defaults

X = jnp.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
Y = jnp.array([0, 1, 1, 0])
MLP_XOR = MLP((2, 4, 2), "tanh", output="identity")


@pytest.mark.parametrize("function", [fit, train_epochs])
def test_every_trainconfig_field_is_a_keyword_shown_with_trainconfigs_default(function):
    signature = inspect.signature(function)
    text = pydoc.render_doc(function, renderer=pydoc.plaintext)
    for field in dataclasses.fields(TrainConfig):
        parameter = signature.parameters[field.name]
        assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
        if field.default is dataclasses.MISSING:  # loss, optimizer, batch_size
            assert parameter.default is inspect.Parameter.empty
            assert f"{field.name}: {field.type!r}," in text
        else:
            assert parameter.default == field.default
            assert f"{field.name}: {field.type!r} = {field.default!r}" in text
    assert text.index("loss: ") < text.index("optimizer: ") < text.index("batch_size: ") < text.index("epochs: ")
    # in the code too (what an editor reads), not only in the signature help shows
    code = function.__code__
    keywords = code.co_varnames[code.co_argcount : code.co_argcount + code.co_kwonlyargcount]
    assert {field.name for field in dataclasses.fields(TrainConfig)} <= set(keywords)


def test_a_function_that_does_not_take_every_field_is_refused_when_defined():
    with pytest.raises(TypeError, match=r"train takes no keyword optimizer, batch_size, reduction, .*, dp_sgd"):

        @shows_config_defaults
        def train(data, *, loss=CONFIG_DEFAULT, config=None):
            pass


def test_a_loss_without_an_optimizer_names_what_is_missing_and_the_fix():
    with pytest.raises(
        ValueError,
        match=r"training needs optimizer= and batch_size=, not given: optimizer= an optax\.GradientTransformation, "
        r"e\.g\. optimizer=optax\.adam\(1e-3\) or funcmlp\.make_optimizer\('adam', 1e-3\); batch_size= the examples "
        r"per step, e\.g\. batch_size=32 .*; or give every option as config=TrainConfig\(loss=\.\.\., optimizer=",
    ):
        fit(
            MLP_XOR,
            MLP_XOR.init(jax.random.key(0)),
            (X, Y),
            loss="softmax_cross_entropy",
            epochs=1,
            key=jax.random.key(1),
        )
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'batchsize'"):  # a misspelt option, by Python
        fit(MLP_XOR, MLP_XOR.init(jax.random.key(0)), (X, Y), batchsize=4, epochs=1, key=jax.random.key(1))


def test_options_as_keywords_train_as_the_same_trainconfig_and_not_beside_one():
    params = MLP_XOR.init(jax.random.key(0))
    common = dict(epochs=3, key=jax.random.key(1))
    options = dict(loss="softmax_cross_entropy", optimizer=optax.sgd(0.5), batch_size=2, reduction="sum")
    by_keywords, _ = fit(MLP_XOR, params, (X, Y), **options, shuffle=False, **common)
    by_config, _ = fit(MLP_XOR, params, (X, Y), config=TrainConfig(**options, shuffle=False), **common)
    for a, b in zip(jax.tree_util.tree_leaves(by_keywords), jax.tree_util.tree_leaves(by_config), strict=True):
        assert np.array_equal(a, b)
    with pytest.raises(ValueError, match=r"give either config= or the options shuffle, not both"):
        fit(MLP_XOR, params, (X, Y), config=TrainConfig(**options), shuffle=False, **common)


def test_pandas_reads_a_history_as_one_row_per_epoch():
    params, history = fit(
        MLP_XOR,
        MLP_XOR.init(jax.random.key(0)),
        (X, Y),
        loss="softmax_cross_entropy",
        optimizer=optax.adam(0.05),
        batch_size=4,
        epochs=5,
        key=jax.random.key(1),
        validation=(X, Y),
    )

    table = pandas.DataFrame(history)

    columns = ["epoch", "train_loss", "train_accuracy", "val_loss", "val_accuracy", "epoch_seconds"]
    assert list(table.columns) == columns and len(table) == 5
    assert table["epoch"].tolist() == [1, 2, 3, 4, 5]
    for name in columns[1:]:
        assert table[name].tolist() == getattr(history, name)
    assert pandas.DataFrame(funcmlp.History()).empty
