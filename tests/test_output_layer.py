"""No silent footguns at the output layer, and the MLP as an argument of jax.jit (issue 36, items 3 and 5).

``MLP((64, 256, 10), "relu")`` put ReLU on the output layer, and softmax_cross_entropy then trained on
ReLU logits without a word. The output is now the identity unless asked (as Equinox's
``final_activation``); a loss on logits or scores after another output activation warns, naming the fix;
a loss on probabilities after another output than its own, or a logits loss after probabilities, is
refused. An MLP is a pytree without leaves: ``jax.jit(f)(mlp, params, x, y)`` takes it as an argument
(its gradients here against jax.grad of a forward pass and a loss written in tests/reference.py)."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import reference

import funcmlp
from funcmlp import MLP, OutputActivationWarning
from funcmlp.cli import main


def test_the_output_layer_is_the_identity_unless_asked():
    mlp = MLP((64, 256, 10), "relu")
    assert [a.name for a in mlp.activations] == ["relu", "identity"]
    assert str(mlp) == "MLP 64 -> 256(relu) -> 10(identity)"
    assert [a.name for a in MLP((4, 8, 8, 3)).activations] == ["relu", "relu", "identity"]
    assert [a.name for a in MLP((4, 8, 8, 3), ["tanh", "elu"]).activations] == ["tanh", "elu", "identity"]
    assert [a.name for a in MLP((2, 8, 1), "tanh", output="sigmoid").activations] == ["tanh", "sigmoid"]
    # one activation for every layer, the output's last: as before
    assert MLP((2, 3, 1), ["relu", "sigmoid"]) == MLP((2, 3, 1), "relu", output="sigmoid")
    assert MLP((2, 3, 1), ["relu", "relu"], output="relu").activations[-1].name == "relu"
    assert MLP((4, 3), output="softmax").activations[0].name == "softmax"
    assert MLP((4, 3)).activations[0].name == "identity" and MLP((4, 3), "identity") == MLP((4, 3))


def test_what_would_change_meaning_silently_is_refused_with_the_fix():
    with pytest.raises(
        ValueError,
        match=r"^MLP\(\(2, 1\), 'sigmoid'\): the activation names the hidden layers' and this network has none "
        r"\(one layer\); name the output layer's with output=: MLP\(\(2, 1\), output='sigmoid'\)$",
    ):
        MLP((2, 1), "sigmoid")
    with pytest.raises(
        ValueError,
        match=r"^activations name every layer's, the output layer's 'sigmoid', and output= names 'identity'; name it "
        r"once: activations=\['relu'\], output='identity'$",
    ):
        MLP((2, 3, 1), ["relu", "sigmoid"], output="identity")
    with pytest.raises(
        ValueError, match=r"^expected 2 or 3 activations \(2: one per hidden layer, .*got 1: \('relu',\)"
    ):
        MLP((2, 3, 3, 1), ["relu"])


def _classifier_problem(output):
    rng = np.random.default_rng(0)
    mlp = MLP((4, 6, 3), "tanh", output=output)
    params = mlp.init(jax.random.key(0), dtype=jnp.float64)
    return mlp, params, jnp.asarray(rng.normal(size=(8, 4))), jnp.asarray(rng.integers(0, 3, size=8))


def test_a_logits_loss_after_a_relu_output_warns_naming_the_fix():
    mlp, params, x, labels = _classifier_problem("relu")
    fix = (
        r"loss 'softmax_cross_entropy' takes logits \(any real numbers\) but the output activation is 'relu': it "
        r"would train on relu\(n\^L\) instead; use output='identity' \(MLP's default\)"
    )
    with pytest.warns(OutputActivationWarning, match=fix) as caught:
        funcmlp.backprop(mlp, params, x, labels, "softmax_cross_entropy")
    assert caught[0].filename == __file__  # the line of the caller, not one inside funcmlp
    with pytest.warns(OutputActivationWarning, match=fix):
        funcmlp.fit(mlp, params, (x, labels), loss="softmax_cross_entropy", optimizer=optax.sgd(0.1), batch_size=8,
                    epochs=1, key=jax.random.key(1))  # fmt: skip
    with pytest.warns(OutputActivationWarning, match=r"loss 'hinge' takes scores \(margins\) \(any real numbers\)"):
        funcmlp.objective(MLP((4, 1), output="tanh"), MLP((4, 1)).init(jax.random.key(0)), x, labels % 2, "hinge")
    with pytest.raises(ValueError, match="takes logits but the output activation 'softmax' already gives prob"):
        funcmlp.backprop(_classifier_problem("softmax")[0], params, x, labels, "softmax_cross_entropy")
    with pytest.raises(ValueError, match="takes the probabilities of a 'softmax' output layer, but the output act"):
        funcmlp.backprop(mlp, params, x, labels, "cross_entropy")


def test_the_default_output_trains_on_logits_without_a_warning():
    mlp, params, x, labels = _classifier_problem(None)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        grads = funcmlp.backprop(mlp, params, x, labels, "softmax_cross_entropy").grads

    def written_here(plain):
        _, logits = reference.forward(plain, x, (("tanh", None), ("identity", None)))
        return jnp.mean(optax.softmax_cross_entropy_with_integer_labels(logits, labels))

    expected = jax.grad(written_here)(tuple((layer.W, layer.b) for layer in params))
    for layer, (W, b) in zip(grads, expected, strict=True):
        np.testing.assert_allclose(layer.W, W, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(layer.b, b, rtol=1e-10, atol=1e-15)


def test_the_mlp_is_an_argument_of_jit():
    rng = np.random.default_rng(2)
    mlp = MLP((3, 5, 2), "tanh")
    params = mlp.init(jax.random.key(0), dtype=jnp.float64)
    x, y = jnp.asarray(rng.normal(size=(6, 3))), jnp.asarray(rng.normal(size=(6, 2)))
    assert jax.tree.leaves(mlp) == [] and jax.tree.unflatten(jax.tree.structure(mlp), []) == mlp
    grads = jax.jit(lambda mlp, p, x, y: funcmlp.backprop(mlp, p, x, y, "mse").grads)(mlp, params, x, y)

    def written_here(plain):
        _, a = reference.forward(plain, x, (("tanh", None), ("identity", None)))
        return jnp.mean(jnp.mean((a - y) ** 2, axis=-1))

    expected = jax.grad(written_here)(tuple((layer.W, layer.b) for layer in params))
    for layer, (W, b) in zip(grads, expected, strict=True):
        np.testing.assert_allclose(layer.W, W, rtol=1e-10, atol=1e-15)
        np.testing.assert_allclose(layer.b, b, rtol=1e-10, atol=1e-15)
    # an ensemble: params vmapped, the network passed along unbatched
    ensemble = jax.vmap(lambda key: mlp.init(key, dtype=jnp.float64))(jax.random.split(jax.random.key(1), 3))
    outputs = jax.jit(jax.vmap(lambda network, p: network.apply(p, x), in_axes=(None, 0)))(mlp, ensemble)
    first = jax.tree.map(lambda leaf: leaf[0], ensemble)
    np.testing.assert_allclose(outputs[0], mlp.apply(first, x), rtol=1e-14)
    assert hash(mlp) == hash(MLP((3, 5, 2), "tanh"))


def test_the_check_command_keeps_its_documented_output(capsys):
    argv = ["check", "--sizes", "3,4,2", "--activations", "tanh", "--loss", "half_sse", "--batch", "2"]
    assert main([*argv, "--no-compile-cache"]) == 0
    assert capsys.readouterr().out.startswith("MLP 3 -> 4(tanh) -> 2(identity), loss half_sse")
    assert main(["check", "--sizes", "3,2", "--activations", "tanh", "--loss", "sse", "--no-compile-cache"]) == 0
    assert capsys.readouterr().out.startswith("MLP 3 -> 2(identity), loss sse")
    argv = ["check", "--sizes", "3,4,2", "--activations", "tanh,sigmoid", "--loss", "sse", "--no-compile-cache"]
    assert main(argv) == 0
    assert capsys.readouterr().out.startswith("MLP 3 -> 4(tanh) -> 2(sigmoid), loss sse")
