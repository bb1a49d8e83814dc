"""Task presets: the network and training options each built-in data set trains well with.

A preset is a frozen :class:`TaskPreset`; :func:`task_preset` looks one up by data set name
(unknown names get the regression preset). The command line (``funcmlp train --data NAME``)
fills every option left out from it; a script can do the same.

Example:
    >>> preset = task_preset("xor")
    >>> preset.hidden, preset.activation, preset.loss, preset.epochs
    ((8,), 'tanh', 'binary_cross_entropy', 300)
    >>> task_preset("and") == preset
    True
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class TaskPreset:
    """The options of one task: network (``hidden`` widths, ``activation`` of the hidden layers,
    ``output`` activation, ``dropout``), ``loss``, ``optimizer`` (a name of
    :func:`funcmlp.make_optimizer`) with its peak ``lr``, ``schedule`` (a name of
    :func:`funcmlp.make_schedule`) and ``weight_decay``, ``epochs`` and ``batch_size``.

    Example:
        >>> TaskPreset((4,), "relu", "identity", "mse", "sgd", 0.1, "constant", 10, 8).dropout
        0.0
    """

    hidden: tuple[int, ...]
    activation: str
    output: str
    loss: str
    optimizer: str
    lr: float
    schedule: str
    epochs: int
    batch_size: int
    dropout: float = 0.0
    weight_decay: float = 0.0

    def options(self) -> dict:
        """The preset as command-line option values (``hidden`` a list).

        Example:
            >>> task_preset("house_price").options()["hidden"]
            [2, 2]
        """
        values = dataclasses.asdict(self)
        values["hidden"] = list(self.hidden)
        return values


_GATES = TaskPreset((8,), "tanh", "sigmoid", "binary_cross_entropy", "adam", 0.05, "constant", 300, 4)

TASKS: dict[str, TaskPreset] = {
    "digits": TaskPreset(
        (256,), "relu", "identity", "softmax_cross_entropy", "adamw", 2e-3, "cosine", 80, 32, 0.3, 1e-4
    ),
    "mnist": TaskPreset(
        (512, 256), "relu", "identity", "softmax_cross_entropy", "adamw", 1e-3, "cosine", 20, 128, 0.2, 1e-4
    ),
    "xor": _GATES,
    "and": _GATES,
    "or": _GATES,
    "synthetic_regression": TaskPreset((64, 64), "tanh", "identity", "mse", "adam", 3e-3, "cosine", 100, 32),
    "house_price": TaskPreset((2, 2), "relu", "relu", "half_sse", "sgd", 1e-7, "constant", 50, 1),
    # tables (funcmlp train --data FILE.csv --target COLUMN, or scikit-learn's sets by name), by task
    "table_classification": TaskPreset(
        (64,), "relu", "identity", "softmax_cross_entropy", "adam", 3e-3, "cosine", 100, 32
    ),
    "table_regression": TaskPreset((64,), "relu", "identity", "mse", "adam", 3e-3, "cosine", 100, 32),
}
"""The presets by data set name (seed 000's house-price toy keeps the seed's plain SGD)."""


def task_preset(name: str) -> TaskPreset:
    """The preset of data set ``name``; a data set without one gets ``synthetic_regression``'s.

    Example:
        >>> task_preset("digits").optimizer, task_preset("my_data").loss
        ('adamw', 'mse')
    """
    return TASKS.get(name, TASKS["synthetic_regression"])
