"""Evaluation plots written as PNG files (atomically: temp file, then rename)."""

from __future__ import annotations

import os
import tempfile

import numpy as np

__all__ = ["plot_confusion_matrix", "plot_training_curves", "save_figure"]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def save_figure(figure, path: str) -> str:
    """Save a matplotlib figure to `path` atomically and close it."""
    plt = _pyplot()
    folder = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(prefix=".tmp-", suffix=".png", dir=folder)
    os.close(handle)
    try:
        figure.savefig(temp, dpi=100, bbox_inches="tight")
        from kerasvision.runs import _UMASK

        os.chmod(temp, 0o666 & ~_UMASK)
        os.replace(temp, path)
    finally:
        plt.close(figure)
        if os.path.exists(temp):
            os.unlink(temp)
    return path


def plot_training_curves(history: dict, path: str) -> str:
    """Loss and every metric per epoch, train vs validation, one panel each.

    Args:
        history: `{"loss": [...], "val_loss": [...], "accuracy": [...], ...}`.
        path: Output PNG path.

    Returns:
        The path written.
    """
    plt = _pyplot()
    names = [
        k
        for k in history
        if not k.startswith("val_") and k not in ("epoch", "learning_rate")
    ]
    names = names or ["loss"]
    figure, axes = plt.subplots(
        1, len(names), figsize=(4.5 * len(names), 3.5), squeeze=False
    )
    for axis, name in zip(axes[0], names, strict=True):
        values = history.get(name, [])
        epochs = np.arange(1, len(values) + 1)
        axis.plot(epochs, values, marker="o", markersize=3, label="train")
        if f"val_{name}" in history:
            axis.plot(
                epochs, history[f"val_{name}"], marker="o", markersize=3, label="val"
            )
        axis.set_xlabel("epoch")
        axis.set_title(name)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    return save_figure(figure, path)


def plot_confusion_matrix(matrix, class_names, path: str, *, title: str = "") -> str:
    """Raw counts and row-normalized (recall) confusion matrices side by side.

    Args:
        matrix: `[K, K]` counts, rows = true class, columns = predicted class.
        class_names: The K class names.
        path: Output PNG path.
        title: Figure title. Defaults to "".

    Returns:
        The path written.
    """
    plt = _pyplot()
    matrix = np.asarray(matrix, dtype=float)
    totals = matrix.sum(axis=1, keepdims=True)
    normalized = np.divide(matrix, totals, out=np.zeros_like(matrix), where=totals > 0)
    size = max(4.0, 0.5 * len(class_names) + 2.5)
    figure, axes = plt.subplots(1, 2, figsize=(2 * size, size))
    for axis, values, name, fmt in (
        (axes[0], matrix, "counts", "{:.0f}"),
        (axes[1], normalized, "normalized by true class", "{:.2f}"),
    ):
        image = axis.imshow(values, cmap="Blues", vmin=0)
        axis.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
        axis.set_yticks(range(len(class_names)), class_names)
        axis.set_xlabel("predicted")
        axis.set_ylabel("true")
        axis.set_title(name)
        threshold = values.max() / 2 if values.size else 0
        if len(class_names) <= 20:
            for (row, col), value in np.ndenumerate(values):
                axis.text(
                    col,
                    row,
                    fmt.format(value),
                    ha="center",
                    va="center",
                    fontsize=8,
                    color="white" if value > threshold else "black",
                )
        figure.colorbar(image, ax=axis, fraction=0.046)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)
