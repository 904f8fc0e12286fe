"""Plots of multi-label runs: precision-recall curves per label, label
co-occurrence, and each label's top losses (PNG, written atomically)."""

from __future__ import annotations

import numpy as np

from kerasvision.visualization.plots import (
    _hide_axes,
    _pyplot,
    display_image,
    save_figure,
)

__all__ = [
    "plot_label_cooccurrence",
    "plot_label_top_losses",
    "plot_precision_recall_curves",
]


def plot_precision_recall_curves(
    probabilities, targets, class_names, path: str, *, thresholds=None, title=""
) -> str:
    """One precision-recall curve per label (scikit-learn), its AP in the
    legend, and the point of its decision threshold.

    Args:
        probabilities: `[N, K]` probabilities.
        targets: `[N, K]` multi-hot true labels.
        class_names: The K label names.
        path: Output PNG path.
        thresholds: `[K]` decision thresholds, marked on each curve. Defaults
            to None (no marks).
        title: Figure title. Defaults to "".

    Returns:
        The path written.
    """
    from sklearn.metrics import average_precision_score, precision_recall_curve

    plt = _pyplot()
    p = np.asarray(probabilities, dtype="float64")
    y = np.asarray(targets) > 0.5
    figure, axis = plt.subplots(figsize=(7.5, 5.5))
    colors = plt.get_cmap("tab20")
    for index, name in enumerate(class_names):
        if not y[:, index].any():
            continue
        precision, recall, _ = precision_recall_curve(y[:, index], p[:, index])
        ap = average_precision_score(y[:, index], p[:, index])
        color = colors(index % 20)
        axis.step(recall, precision, where="post", color=color,
                  label=f"{name} (AP {ap:.3f})")  # fmt: skip
        if thresholds is not None:
            decided = p[:, index] >= np.float32(thresholds[index])
            hits = np.sum(decided & y[:, index])
            axis.plot(hits / y[:, index].sum(), hits / max(1, decided.sum()), "o",
                      color=color, markersize=5)  # fmt: skip
    axis.set_xlabel("recall")
    axis.set_ylabel("precision")
    axis.set_xlim(0, 1.01)
    axis.set_ylim(0, 1.02)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=7, loc="lower left", ncol=2 if len(class_names) > 10 else 1)
    axis.set_title(title or "precision-recall per label (dots: the thresholds)")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_label_cooccurrence(matrix, class_names, path: str, *, title: str = "") -> str:
    """Images holding both labels (rows and columns: labels; the diagonal:
    each label's images), as counts.

    Returns:
        The path written.
    """
    plt = _pyplot()
    matrix = np.asarray(matrix, dtype=float)
    size = max(4.0, 0.45 * len(class_names) + 2.5)
    figure, axis = plt.subplots(figsize=(size + 1, size))
    image = axis.imshow(matrix, cmap="Purples", vmin=0)
    axis.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    axis.set_yticks(range(len(class_names)), class_names)
    if len(class_names) <= 20:
        high = matrix.max() / 2 if matrix.size else 0
        for (row, col), value in np.ndenumerate(matrix):
            axis.text(col, row, f"{value:.0f}", ha="center", va="center", fontsize=7,
                      color="white" if value > high else "black")  # fmt: skip
    figure.colorbar(image, ax=axis, fraction=0.046)
    axis.set_title(title or "label co-occurrence (images)")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_label_top_losses(images, rows, class_names, path: str, *, title="") -> str:
    """Each label's top losses: one row of images per label.

    Args:
        images: `{index: [H, W, C] raw 0-255 pixels}` of the images shown.
        rows: `[(label index, [(image index, true 0/1, probability, loss,
            decided 0/1)])]` (decided: at the label's threshold).
        class_names: The label names.
        path: Output PNG path.
        title: Figure title. Defaults to "".

    Returns:
        The path written.
    """
    plt = _pyplot()
    columns = max(1, max((len(items) for _, items in rows), default=1))
    figure, axes = plt.subplots(
        len(rows), columns, figsize=(1.9 * columns, 2.2 * len(rows) + 0.4),
        squeeze=False,
    )  # fmt: skip
    captions = []
    for axis in axes.ravel():
        _hide_axes(axis)
        axis.set_visible(False)
    for row, (label, items) in enumerate(rows):
        for column, (index, true, probability, loss, decided) in enumerate(items):
            pixels, gray = display_image(images[index])
            axis = axes[row, column]
            axis.set_visible(True)
            axis.imshow(pixels, cmap=gray, vmin=0, vmax=255)
            word = "has" if true else "lacks"
            captions.append(
                f"{word} {class_names[label]}\np {probability:.3f}, loss {loss:.2f}"
            )
            color = "#cf222e" if decided != true else "#1a7f37"
            axis.set_title(captions[-1], fontsize=8, color=color)
    figure.suptitle(title or "top losses per label (red: decided wrong)")
    figure.tight_layout()
    flat = "; ".join(caption.replace("\n", " ") for caption in captions)
    return save_figure(figure, path, description=flat)
