"""Which output layers a loss takes: :func:`check_pairing`, run at every entry point before anything is traced.

Contract::

    check_pairing(loss, activation, units)   ValueError where the output layer cannot feed the loss, with the fix;
                                             OutputActivationWarning where it can but almost surely should not

Refused (the numbers would be wrong): a probability loss (``cross_entropy``) after another output than its
own (``softmax``); a logits or scores loss (``softmax_cross_entropy``, ``sigmoid_binary_cross_entropy``,
``hinge``) after an output of probabilities (``softmax``, ``sigmoid``: applied twice); fewer output units
than the loss needs. Warned (:class:`OutputActivationWarning`: defined, but a footgun): a logits or scores
loss after any other output activation than the identity (``relu`` logits are never negative, ``tanh``
logits never beyond 1), which :class:`~funcmlp.MLP` never gives unless asked (its output is the identity
by default). A loss function given bare is checked on its first use with the network's units
(:func:`~funcmlp.registry.loss_functions.probe_function`). Imports: the registry's own modules.
"""

from __future__ import annotations

import os
import sys
import warnings

from funcmlp.registry.activations import Activation
from funcmlp.registry.loss_functions import probe_function
from funcmlp.registry.loss_registry import LOSSES

_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class OutputActivationWarning(UserWarning):
    """A loss on logits or scores after an output activation other than the identity (see
    :func:`check_pairing`); where the bounded output is meant:
    ``warnings.filterwarnings("ignore", category=funcmlp.OutputActivationWarning)``."""


def _outside_funcmlp() -> int:
    """The ``stacklevel`` of the first caller outside funcmlp (the line a warning should name)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and frame.f_code.co_filename.startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    return level


def check_pairing(loss, activation: Activation, units: int) -> None:
    """Raise ``ValueError`` if the output layer cannot feed ``loss`` (a :class:`~funcmlp.Loss`), with the fix;
    warn (:class:`OutputActivationWarning`) where a logits or scores loss follows a non-identity output.

    Example:
        >>> import warnings
        >>> from funcmlp.registry.losses import Loss
        >>> with warnings.catch_warnings(record=True) as caught:
        ...     warnings.simplefilter("always")
        ...     check_pairing(Loss("softmax_cross_entropy"), Activation("relu"), 10)
        >>> print(caught[0].message)  # doctest: +NORMALIZE_WHITESPACE
        loss 'softmax_cross_entropy' takes logits (any real numbers) but the output activation is 'relu': it would
        train on relu(n^L) instead; use output='identity' (MLP's default), or where the 'relu' output is meant,
        warnings.filterwarnings('ignore', category=funcmlp.OutputActivationWarning)
    """
    spec, output = loss.spec, activation.name
    if spec.takes == "probabilities" and output not in spec.paired:
        wanted = next(iter(spec.paired))
        logits = spec.paired[wanted]
        raise ValueError(
            f"loss {loss.name!r} takes the probabilities of a {wanted!r} output layer, "
            f"but the output activation is {output!r}; use output={wanted!r}, "
            f"or the logits loss {logits!r} with output='identity'"
        )
    if spec.takes == "logits" and activation.spec.probabilities:
        probability_loss = next((name for name, other in LOSSES.items() if other.paired.get(output) == loss.name), None)
        keep = f", or keep the {output} output with loss {probability_loss!r}" if probability_loss else ""
        raise ValueError(
            f"loss {loss.name!r} takes logits but the output activation {output!r} already gives probabilities "
            f"(it would be applied twice); use output='identity'{keep}"
        )
    if spec.takes == "scores" and activation.spec.probabilities:
        raise ValueError(
            f"loss {loss.name!r} takes scores (margins, unbounded, class 1 above 0) but the output activation "
            f"{output!r} gives probabilities; use output='identity'"
        )
    if units < spec.min_units:
        raise ValueError(
            f"loss {loss.name!r} needs at least {spec.min_units} output units (one per class), got {units}; "
            "for two classes with one unit use sigmoid_binary_cross_entropy "
            "(or a sigmoid output with binary_cross_entropy)"
        )
    if spec.takes in ("logits", "scores") and output != "identity":
        kind = "logits" if spec.takes == "logits" else "scores (margins)"
        warnings.warn(
            f"loss {loss.name!r} takes {kind} (any real numbers) but the output activation is {output!r}: it would "
            f"train on {activation}(n^L) instead; use output='identity' (MLP's default), or where the {output!r} "
            "output is meant, warnings.filterwarnings('ignore', category=funcmlp.OutputActivationWarning)",
            OutputActivationWarning,
            stacklevel=_outside_funcmlp(),
        )
    if spec.from_function:
        probe_function(spec, units)
