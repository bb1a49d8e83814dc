"""PNG figures with matplotlib's headless backend (the ``examples`` extra).

Example:
    >>> import os, tempfile
    >>> from funcmlp import History
    >>> h = History(train_loss=[1.0, 0.5], val_loss=[1.1, 0.7], epoch_seconds=[0.1, 0.1])
    >>> path = plot_history(h, os.path.join(tempfile.mkdtemp(), "curves.png"))
    >>> os.path.getsize(path) > 0
    True
"""

from __future__ import annotations

import os

import numpy as np

from funcmlp.io.files import atomic_write


def pyplot():
    try:
        import matplotlib
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(
            "plots need matplotlib: pip install 'funcmlp[examples]' (or pip install matplotlib)"
        ) from error
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def save_figure(fig, path: str, *, dpi: int = 110) -> str:
    """Save ``fig`` as a PNG at ``path`` by :func:`funcmlp.io.files.atomic_write` (an interrupted
    save never leaves half a picture) and close it."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        fig.tight_layout()
        with atomic_write(path, "wb") as handle:
            fig.savefig(handle, format="png", dpi=dpi)
    finally:
        pyplot().close(fig)
    return path


def plot_history(history, path: str, title: str = "") -> str:
    """Loss (and accuracy, if recorded) per epoch, train and validation."""
    plt = pyplot()
    panels = 2 if history.train_accuracy else 1
    fig, axes = plt.subplots(1, panels, figsize=(5 * panels, 3.6), squeeze=False)
    epochs = np.arange(1, len(history.train_loss) + 1)
    ax = axes[0, 0]
    ax.plot(epochs, history.train_loss, label="train")
    if history.val_loss:
        ax.plot(epochs, history.val_loss, label="validation")
    ax.set(xlabel="epoch", ylabel="loss", yscale="log", title=title or "loss")
    ax.legend()
    if panels == 2:
        ax = axes[0, 1]
        ax.plot(epochs, history.train_accuracy, label="train")
        if history.val_accuracy:
            ax.plot(epochs, history.val_accuracy, label="validation")
        ax.set(xlabel="epoch", ylabel="accuracy", title="accuracy")
        ax.legend()
    return save_figure(fig, path)


def plot_confusion(labels, predictions, path: str, num_classes: int, title: str = "confusion matrix") -> str:
    """Counts of (true class, predicted class), annotated."""
    plt = pyplot()
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (np.asarray(labels), np.asarray(predictions)), 1)
    fig, ax = plt.subplots(figsize=(5.2, 4.6))
    image = ax.imshow(counts, cmap="Blues")
    for i in range(num_classes):
        for j in range(num_classes):
            if counts[i, j]:
                ax.text(
                    j,
                    i,
                    counts[i, j],
                    ha="center",
                    va="center",
                    fontsize=7,
                    color="white" if counts[i, j] > counts.max() / 2 else "black",
                )
    ax.set(xlabel="predicted", ylabel="true", title=title, xticks=range(num_classes), yticks=range(num_classes))
    fig.colorbar(image, ax=ax)
    return save_figure(fig, path)


def plot_decision_boundaries(panels, path: str) -> str:
    """One panel per ``(title, predict_fn, x, y)``: the predicted class over [-0.5, 1.5]^2 and the points."""
    plt = pyplot()
    fig, axes = plt.subplots(1, len(panels), figsize=(3.3 * len(panels), 3.3), squeeze=False)
    grid = np.linspace(-0.5, 1.5, 201)
    gx, gy = np.meshgrid(grid, grid)
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    for ax, (title, predict_fn, x, y) in zip(axes[0], panels, strict=True):
        z = np.asarray(predict_fn(points)).reshape(gx.shape)
        ax.contourf(gx, gy, z, levels=[-0.5, 0.5, 1.5], colors=["#f4c7c3", "#c6dbef"])
        ax.scatter(x[:, 0], x[:, 1], c=["#c0392b" if v == 0 else "#2c6fbb" for v in np.ravel(y)], s=80, edgecolors="k")
        ax.set(title=title, xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), aspect="equal")
    return save_figure(fig, path)


def plot_curves(curves: dict, path: str, *, xlabel: str, ylabel: str, title: str, logy: bool = True) -> str:
    """Several named curves ``{label: values}`` on one axis."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    colors = plt.cm.tab20(np.linspace(0, 1, max(len(curves), 2)))
    for color, (label, values) in zip(colors, curves.items(), strict=False):
        ax.plot(np.arange(1, len(values) + 1), values, label=label, color=color)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title, yscale="log" if logy else "linear")
    ax.legend(fontsize=8)
    return save_figure(fig, path)


def plot_layer_norms(norms: dict, path: str, title: str) -> str:
    """Gradient norm per layer (log scale), one line per named network."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, values in norms.items():
        ax.plot(np.arange(1, len(values) + 1), values, marker="o", label=label)
    ax.set(xlabel="layer k", ylabel="||dL/dW^k||", yscale="log", title=title)
    ax.legend(fontsize=8)
    return save_figure(fig, path)
