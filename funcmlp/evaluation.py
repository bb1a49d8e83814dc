"""Using a trained network: class predictions, accuracy, the loss on a data set.

Contract::

    predict(mlp, params, x, loss=, threshold=)      -> classes (batch,)
    accuracy(mlp, params, x, y, loss=, threshold=)   -> float
    evaluate(mlp, params, x, y, loss, reduction=)    -> Evaluation(loss, accuracy or None)
    loss_and_accuracy(params, x, targets, classes, weights, mlp=, loss=, reduction=, threshold=)
        compiled, on checked data

A multi-unit output predicts its argmax; one unit predicts 1 above :func:`decision_threshold`.
The public functions check their input (:mod:`funcmlp.checks`); ``loss_and_accuracy`` is the
compiled pass the training loop's validation shares. Imports: registry, core, checks.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from funcmlp.checks import Batch, check_data, check_inputs, check_labels, check_params, check_reduction, check_targets
from funcmlp.core.backward import batch_loss
from funcmlp.core.model import MLP
from funcmlp.core.padding import pad_rows, padded_rows
from funcmlp.core.params import Params
from funcmlp.core.reduction import weight_divisor
from funcmlp.registry.losses import get_loss

compiled_apply = jax.jit(MLP.apply, static_argnums=0, static_argnames=("train",))
"""``compiled_apply(mlp, params, x) -> (batch, d_L)``: :meth:`MLP.apply` as one compiled program per
(network, input shape), on checked inputs (the estimators' and :func:`predict`'s forward pass)."""


class Evaluation(NamedTuple):
    """The loss on a data set and, for classification, the accuracy (``None`` otherwise)."""

    loss: float
    accuracy: float | None


def decision_threshold(mlp: MLP, loss=None) -> float:
    """The output value above which a one-unit network predicts class 1.

    Logits (the loss takes logits: ``sigmoid_binary_cross_entropy``) threshold at 0, where
    sigmoid(z) = 1/2. Otherwise a bounded output layer thresholds at the midpoint of its range
    (sigmoid, hard limit: 0.5; tanh, symmetric hard limit: 0); an unbounded one (identity,
    relu, ...) needs the loss: a regression loss on 0/1 targets thresholds at 0.5.

    Example:
        >>> (decision_threshold(MLP((2, 1), output="tanh")),
        ...  decision_threshold(MLP((2, 1), "identity"), "sigmoid_binary_cross_entropy"))
        (0.0, 0.0)
    """
    output = mlp.activations[-1]
    if loss is not None and get_loss(loss).spec.takes in ("logits", "scores"):
        return 0.0
    if output.spec.output_range is not None:
        low, high = output.spec.output_range
        return (low + high) / 2
    if loss is None:
        raise ValueError(
            f"one output unit with the unbounded {output.name!r} activation: the class threshold depends on the loss; "
            "pass loss= (logits of 'sigmoid_binary_cross_entropy' threshold at 0, regression on 0/1 targets at 0.5) "
            "or threshold="
        )
    return 0.5


def class_threshold(mlp: MLP, loss, classification: bool) -> float | None:
    """The one-unit class threshold where accuracy is recorded (``None`` otherwise)."""
    return decision_threshold(mlp, loss) if classification and mlp.sizes[-1] == 1 else None


def classes_of_outputs(mlp: MLP, outputs: jax.Array, threshold: float | None) -> jax.Array:
    """Predicted classes ``(batch,)`` from outputs ``(batch, d_L)``."""
    if mlp.sizes[-1] == 1:
        return (outputs[:, 0] > threshold).astype(jnp.int32)
    return jnp.argmax(outputs, axis=-1)


def classes_of_targets(mlp: MLP, targets: jax.Array) -> jax.Array:
    """Classes ``(N,)`` of checked targets ``(N, d_L)``: the argmax of a row, or for one unit
    the targets above the middle of the output range (0 for the -1/+1 targets of tanh and
    symmetric hard limits, 0.5 otherwise). numpy targets give numpy classes (no program compiled)."""
    xp = np if isinstance(targets, np.ndarray) else jnp
    if mlp.sizes[-1] == 1:
        output_range = mlp.activations[-1].spec.output_range
        negative = output_range is not None and output_range[0] < 0
        midpoint = (output_range[0] + output_range[1]) / 2 if negative else 0.5
        return (targets[:, 0] > midpoint).astype(xp.int32)
    return xp.argmax(targets, axis=-1).astype(xp.int32)


def predict(mlp: MLP, params: Params, x, *, loss=None, threshold: float | None = None) -> jax.Array:
    """Class predictions ``(batch,)``: argmax of the outputs, or for one output unit, 1 where
    the output is above ``threshold`` (default: :func:`decision_threshold` of the output
    activation and ``loss``).

    Example:
        >>> import jax
        >>> mlp = MLP((2, 3), "identity")
        >>> predict(mlp, mlp.init(jax.random.key(0)), jax.numpy.ones((4, 2))).shape
        (4,)
    """
    if mlp.sizes[-1] == 1 and threshold is None:
        threshold = decision_threshold(mlp, loss)
    check_params(mlp, params)
    x = jnp.atleast_2d(check_inputs(mlp, x, params[0].W.dtype))
    return classes_of_outputs(mlp, compiled_apply(mlp, params, x), threshold)


def target_classes(mlp: MLP, y, batch: int, *, loss=None) -> jax.Array:
    """The class of each of ``batch`` targets ``(batch,)``, checked: integer labels (in range),
    the argmax of target rows, or for one unit the targets above the middle of the output range."""
    units = mlp.sizes[-1]
    y = jnp.asarray(y)
    if units > 1 and jnp.issubdtype(y.dtype, jnp.integer) and y.shape == (batch,):
        check_labels(y, units, None if loss is None else get_loss(loss).name)
        return y
    return classes_of_targets(
        mlp, check_targets(loss if loss is not None else "sse", y, batch, units, jnp.result_type(float))
    )


def accuracy(mlp: MLP, params: Params, x, y, *, loss=None, threshold: float | None = None) -> float:
    """Fraction of examples whose predicted class equals the target class (both checked).

    Example:
        >>> import jax
        >>> mlp = MLP((2, 3), "identity")
        >>> labels = jax.numpy.array([0, 1, 2, 0])
        >>> 0.0 <= accuracy(mlp, mlp.init(jax.random.key(0)), jax.numpy.ones((4, 2)), labels) <= 1.0
        True
    """
    predicted = predict(mlp, params, x, loss=loss, threshold=threshold)
    return float(jnp.mean(predicted == target_classes(mlp, y, predicted.shape[0], loss=loss)))


def padded_data(mlp: MLP, batch: Batch, size: int, classification: bool):
    """A checked data set (:func:`funcmlp.checks.check_data`) padded to ``size`` rows of weight 0, on the
    host: ``(x, targets, classes or None, weights)``, the classes when accuracy is recorded.

    Example:
        >>> import numpy as np
        >>> batch = Batch(np.ones((3, 2)), np.eye(2)[[0, 1, 1]], np.ones(3))
        >>> x, targets, classes, weights = padded_data(MLP((2, 2), "identity"), batch, 64, True)
        >>> x.shape, classes[:4].tolist(), weights.sum()
        ((64, 2), [0, 1, 1, 0], np.float64(3.0))
    """
    x, targets, weights = (pad_rows(a, size) for a in batch)
    return x, targets, np.asarray(classes_of_targets(mlp, targets)) if classification else None, weights


@partial(jax.jit, static_argnames=("mlp", "loss", "reduction", "threshold"))
def loss_and_accuracy(params: Params, x, targets, classes, weights, *, mlp: MLP, loss, reduction: str, threshold):
    """One compiled pass over checked data (``targets`` ``(N, d_L)``, ``classes`` ``(N,)`` or
    None, example ``weights`` ``(N,)``: 0 leaves a padding row out): the loss (no dropout) and
    the (weighted) accuracy, as device scalars (accuracy NaN without classes)."""
    value, trace = batch_loss(mlp, params, x, targets, weights, loss, reduction)
    if classes is None:
        return value, jnp.nan
    weights = weights.astype(jnp.promote_types(weights.dtype, jnp.float32))  # counts past float16's 2048
    correct = weights * (classes_of_outputs(mlp, trace.a[-1], threshold) == classes)
    return value, jnp.sum(correct) / weight_divisor(jnp.sum(weights))


def evaluate(
    mlp: MLP, params: Params, x, y, loss, *, reduction: str = "mean", classification: bool | None = None
) -> Evaluation:
    """Loss (no dropout) and, for classification, accuracy on a data set.

    Inputs and targets are checked here, eagerly, then the loss runs compiled, on the rows
    padded to their size bucket (:mod:`funcmlp.core.padding`: the padding weighs 0), so data
    sets of other sizes in one bucket, and a training run's validation, share the program.

    Example:
        >>> import jax
        >>> mlp = MLP((2, 2), "identity")
        >>> y = jax.numpy.array([0, 1, 1])
        >>> ev = evaluate(mlp, mlp.init(jax.random.key(0)), jax.numpy.ones((3, 2)), y, "softmax_cross_entropy")
        >>> ev.accuracy is not None
        True
    """
    loss = get_loss(loss)
    check_reduction(reduction)
    batch = check_data(mlp, params, x, y, loss, reduction=reduction)
    if classification is None:
        classification = loss.is_classification
    x, targets, classes, weights = padded_data(mlp, batch, padded_rows(batch.x.shape[0]), classification)
    threshold = class_threshold(mlp, loss, classification)
    value, fraction = jax.device_get(
        loss_and_accuracy(
            params,
            x,
            targets,
            classes,
            weights,
            mlp=mlp,
            loss=loss,
            reduction=reduction,
            threshold=threshold,
        )
    )
    return Evaluation(float(value), None if classes is None else float(fraction))
