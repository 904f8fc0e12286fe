"""Evaluation plots written as PNG files (atomically: temp file, then rename)."""

from __future__ import annotations

import numpy as np

from kerasvision.evaluation import (
    as_labels,
    as_probability_matrix,
    calibration_bins,
    expected_calibration_error,
)

__all__ = [
    "plot_confusion_matrix",
    "plot_image_maps",
    "plot_lr_find",
    "plot_per_class_metrics",
    "plot_reliability_diagram",
    "plot_top_losses",
    "plot_training_curves",
    "save_figure",
]


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt


def panel_grid(panels: int, columns: int, *, height: float, title: str = ""):
    """`(figure, axes, columns)`: a grid of `panels` small pictures, `columns` wide.

    Each panel is 1.6 inches wide and `height` inches tall; a title adds room.
    """
    columns = max(1, min(int(columns), panels))
    rows = int(np.ceil(panels / columns))
    figure, axes = _pyplot().subplots(
        rows,
        columns,
        figsize=(1.6 * columns, height * rows + (0.4 if title else 0)),
        squeeze=False,
    )
    return figure, axes, columns


def save_figure(figure, path: str, *, description: str = "") -> str:
    """Save a matplotlib figure to `path` atomically and close it.

    The PNG carries the figure's title (and `description`, e.g. the captions)
    as text metadata ("Title", "Description"), readable without the picture.
    """
    from kerasvision._files import staged_file

    plt = _pyplot()
    metadata = {"Title": figure.get_suptitle(), "Description": description}
    try:
        with staged_file(path, suffix=".png", prefix=".tmp-") as temp:
            figure.savefig(
                temp,
                dpi=100,
                bbox_inches="tight",
                metadata={k: v for k, v in metadata.items() if v},
            )
    finally:
        plt.close(figure)
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
    from matplotlib.ticker import MaxNLocator

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
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.set_title(name)
        axis.grid(alpha=0.3)
        # Below the panel, never over the curves.
        axis.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
    if history.get("learning_rate"):
        rates = history["learning_rate"]
        twin = axes[0][0].twinx()  # the schedule on the first panel's second axis
        twin.plot(
            np.arange(1, len(rates) + 1), rates, color="gray", ls="--", label="lr"
        )
        twin.set_ylabel("learning rate (end of epoch)", color="gray")
        twin.tick_params(axis="y", colors="gray")
        handles, labels = axes[0][0].get_legend_handles_labels()
        extra = twin.get_legend_handles_labels()
        axes[0][0].legend(
            handles + extra[0], labels + extra[1],
            loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3,
        )  # fmt: skip
    figure.tight_layout()
    return save_figure(figure, path)


def plot_lr_find(result, path: str) -> str:
    """The learning-rate finder's loss (raw and smoothed) vs learning rate (log),
    with the suggested and the steepest-descent rates marked.

    Args:
        result: A `kerasvision.training.lr_find.LrFindResult`.
        path: Output PNG path.

    Returns:
        The path written.
    """
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6, 4))
    rates = result.learning_rates
    axis.plot(rates, result.losses, color="lightgray", label="loss")
    axis.plot(rates, result.smoothed, label="smoothed loss")
    axis.axvline(
        result.suggested, color="C1", ls="--", label=f"suggested {result.suggested:.2g}"
    )
    axis.axvline(
        result.steepest, color="C2", ls=":", label=f"steepest {result.steepest:.2g}"
    )
    axis.set_xscale("log")
    axis.set_xlabel("learning rate")
    axis.set_ylabel("training loss")
    low, high = min(result.smoothed), result.smoothed[0]
    axis.set_ylim(low - 0.1 * abs(high - low), high + 0.5 * abs(high - low) + 1e-6)
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


# === Images and maps ===


def display_image(image) -> tuple[np.ndarray, str | None]:
    """A raw 0-255 image as `(uint8 array, cmap)` for `imshow` (gray for 1 channel)."""
    image = np.clip(np.asarray(image, dtype="float32"), 0, 255).astype("uint8")
    if image.ndim == 3 and image.shape[-1] == 1:
        return image[..., 0], "gray"
    if image.ndim == 2:
        return image, "gray"
    return image[..., :3], None


def _hide_axes(axis):
    axis.set_xticks([])
    axis.set_yticks([])
    for spine in axis.spines.values():
        spine.set_visible(False)


def plot_image_maps(
    images,
    maps,
    path: str,
    *,
    map_label: str = "map",
    cmap: str = "jet",
    titles=None,
    alpha: float = 0.4,
    title: str = "",
) -> str:
    """One row per image: the image, the map, and the map drawn over the image.

    Args:
        images: `[N, H, W, C]` raw 0-255 pixels.
        maps: `[N, H, W]` maps in [0, 1].
        path: Output PNG path.
        map_label: Title of the map column. Defaults to "map".
        cmap: Matplotlib colormap of the map. Defaults to "jet".
        titles: One caption per image (shown left of its row). Defaults to None.
        alpha: Opacity of the map in the overlay. Defaults to 0.4.
        title: Figure title. Defaults to "".

    Returns:
        The path written.

    Raises:
        ValueError: If the numbers of images, maps and titles differ.
    """
    plt = _pyplot()
    images = np.asarray(images)
    maps = np.asarray(maps, dtype="float32")
    if images.ndim == 3 and maps.ndim == 2:
        images, maps = images[None], maps[None]
    if len(images) != len(maps) or (titles is not None and len(titles) != len(maps)):
        raise ValueError(
            f"got {len(images)} images, {len(maps)} maps"
            + ("" if titles is None else f" and {len(titles)} titles")
        )
    rows = len(images)
    figure, axes = plt.subplots(
        rows, 3, figsize=(7.5, 2.6 * rows + (0.4 if title else 0)), squeeze=False
    )
    for row, (image, values) in enumerate(zip(images, maps, strict=True)):
        pixels, gray = display_image(image)
        extent = (-0.5, pixels.shape[1] - 0.5, pixels.shape[0] - 0.5, -0.5)
        axes[row, 0].imshow(pixels, cmap=gray, vmin=0, vmax=255)
        axes[row, 1].imshow(values, cmap=cmap, vmin=0, vmax=1, extent=extent)
        axes[row, 2].imshow(pixels, cmap=gray, vmin=0, vmax=255)
        axes[row, 2].imshow(
            values,
            cmap=cmap,
            vmin=0,
            vmax=1,
            alpha=alpha,
            extent=extent,
            interpolation="bilinear",
        )
        if titles is not None:
            axes[row, 0].set_ylabel(str(titles[row]), fontsize=9)
        for axis in axes[row]:
            _hide_axes(axis)
    for axis, name in zip(axes[0], ("image", map_label, "overlay"), strict=True):
        axis.set_title(name, fontsize=10)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    captions = "; ".join(str(t).replace("\n", " ") for t in titles or ())
    return save_figure(figure, path, description=captions)


# === Per-class metrics ===


def map_plotter(name: str, label: str, cmap: str, alpha: float, what: str):
    """A `plot_image_maps` with fixed map column `label`, colours and opacity."""

    def plot(images, maps, path: str, **options) -> str:
        options = {"map_label": label, "cmap": cmap, "alpha": alpha, **options}
        return plot_image_maps(images, maps, path, **options)

    plot.__name__ = plot.__qualname__ = name
    plot.__doc__ = (
        f"One row per image: the image, its {what}, and the map over the image.\n\n"
        f"`plot_image_maps` with a {label!r} column in {cmap} at alpha {alpha};\n"
        f"`options` (`titles`, `alpha`, `title`) go to it. Returns the path."
    )
    return plot


def plot_per_class_metrics(per_class: dict, path: str, *, title: str = "") -> str:
    """Per-class precision / recall / F1 (and support) as a shaded table image.

    Args:
        per_class: `{class_name: {"precision", "recall", "f1", "support"}}`, as in
            `compute_metrics(...)["per_class"]`.
        path: Output PNG path.
        title: Figure title. Defaults to "".

    Returns:
        The path written.

    Raises:
        ValueError: If `per_class` is empty.

    Example:
        >>> plot_per_class_metrics(metrics["per_class"], "per_class.png")
    """
    plt = _pyplot()
    if not per_class:
        raise ValueError("per_class is empty")
    names = list(per_class)
    columns = ("precision", "recall", "f1")
    values = np.array(
        [[float(per_class[n].get(c, 0.0)) for c in columns] for n in names]
    )
    supports = [per_class[n].get("support") for n in names]
    height = max(2.0, 0.32 * len(names) + 1.2)
    figure, axis = plt.subplots(figsize=(5.2, height))
    axis.imshow(values, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
    axis.set_xticks(range(len(columns) + 1), [*columns, "support"])
    axis.xaxis.tick_top()
    axis.set_yticks(range(len(names)), names)
    axis.set_xlim(-0.5, len(columns) + 0.5)
    for (row, col), value in np.ndenumerate(values):
        axis.text(col, row, f"{value:.2f}", ha="center", va="center", fontsize=8)
    for row, support in enumerate(supports):
        text = "" if support is None else f"{int(support)}"
        axis.text(len(columns), row, text, ha="center", va="center", fontsize=8)
    axis.tick_params(length=0)
    for spine in axis.spines.values():
        spine.set_visible(False)
    if title:
        axis.set_title(title, pad=24)
    figure.tight_layout()
    return save_figure(figure, path)


# === Top losses ===


def plot_top_losses(
    images,
    labels,
    probabilities,
    class_names,
    path: str,
    *,
    heatmaps=None,
    losses=None,
    columns: int | None = None,
    alpha: float = 0.4,
    title: str = "",
) -> str:
    """Gallery of (mis)classified images: true and predicted class, probability, loss.

    Args:
        images: `[M, H, W, C]` raw 0-255 pixels, e.g. the items of `top_losses`.
        labels: `[M]` integer true labels.
        probabilities: `[M, K]` class probabilities.
        class_names: The K class names.
        path: Output PNG path.
        heatmaps: `[M, H, W]` maps in [0, 1] (e.g. Grad-CAM of the predicted
            class); each image is then shown beside its overlay. Defaults to None.
        losses: `[M]` losses to print. Defaults to None (computed).
        columns: Images per row. Defaults to None (4, or 3 with heatmaps).
        alpha: Heatmap opacity. Defaults to 0.4.
        title: Figure title. Defaults to "".

    Returns:
        The path written.

    Raises:
        ValueError: On mismatched lengths or no images.
    """
    plt = _pyplot()
    images = np.asarray(images)
    probabilities = as_probability_matrix(probabilities)
    labels = as_labels(labels, len(probabilities))
    if len(images) == 0 or len(images) != len(labels):
        raise ValueError(f"got {len(images)} images for {len(labels)} labels")
    if losses is None:
        true = probabilities[np.arange(len(labels)), labels]
        losses = -np.log(np.clip(true, 1e-7, 1.0))
    panels = 1 if heatmaps is None else 2
    columns = (4 if heatmaps is None else 3) if columns is None else int(columns)
    columns = max(1, min(columns, len(images)))
    rows = int(np.ceil(len(images) / columns))
    figure, axes = plt.subplots(
        rows,
        columns * panels,
        figsize=(2.0 * columns * panels, 2.5 * rows + (0.4 if title else 0)),
        squeeze=False,
    )
    for axis in axes.ravel():
        _hide_axes(axis)
        axis.set_visible(False)
    captions = []
    for index, image in enumerate(images):
        row, col = divmod(index, columns)
        predicted = int(np.argmax(probabilities[index]))
        true = int(labels[index])
        pixels, gray = display_image(image)
        axis = axes[row, col * panels]
        axis.set_visible(True)
        axis.imshow(pixels, cmap=gray, vmin=0, vmax=255)
        color = "#1a7f37" if predicted == true else "#cf222e"
        captions.append(
            f"true {class_names[true]}\npred {class_names[predicted]} "
            f"({probabilities[index, predicted]:.3f})\nloss {losses[index]:.2f}"
        )
        axis.set_title(captions[-1], fontsize=9, color=color)
        if heatmaps is not None:
            extent = (-0.5, pixels.shape[1] - 0.5, pixels.shape[0] - 0.5, -0.5)
            overlay = axes[row, col * panels + 1]
            overlay.set_visible(True)
            overlay.imshow(pixels, cmap=gray, vmin=0, vmax=255)
            overlay.imshow(
                heatmaps[index],
                cmap="jet",
                vmin=0,
                vmax=1,
                alpha=alpha,
                extent=extent,
                interpolation="bilinear",
            )
            overlay.set_title("Grad-CAM\n(predicted class)", fontsize=9)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    flat = "; ".join(caption.replace("\n", " ") for caption in captions)
    return save_figure(figure, path, description=flat)


def plot_reliability_diagram(
    probabilities, labels, path: str, *, bins: int = 15, title: str = ""
) -> str:
    """Reliability diagram (accuracy vs confidence per bin) with the ECE, over a
    histogram of the confidences.

    Args:
        probabilities: `[N, K]` class probabilities (or `[N]` P(class 1)).
        labels: `[N]` integer true labels.
        path: Output PNG path.
        bins: Equal-width confidence bins. Defaults to 15.
        title: Figure title. Defaults to "" ("Reliability diagram").

    Returns:
        The path written.

    Raises:
        ValueError: On mismatched shapes, no items, or `bins` < 1.
    """
    plt = _pyplot()
    stats = calibration_bins(probabilities, labels, bins)
    ece = expected_calibration_error(probabilities, labels, bins)
    edges, counts = stats["edges"], stats["counts"]
    width = edges[1] - edges[0]
    centers = edges[:-1] + width / 2
    filled = counts > 0
    figure, (top, bottom) = plt.subplots(
        2, 1, figsize=(5, 6), gridspec_kw={"height_ratios": [3, 1]}, sharex=True
    )
    top.plot([0, 1], [0, 1], linestyle="--", color="gray", label="perfect calibration")
    top.bar(
        centers[filled],
        stats["accuracy"][filled],
        width=width,
        edgecolor="black",
        color="#4c72b0",
        label="accuracy",
    )
    gap_low = np.minimum(stats["accuracy"], stats["confidence"])[filled]
    gap = np.abs(stats["accuracy"] - stats["confidence"])[filled]
    top.bar(
        centers[filled],
        gap,
        bottom=gap_low,
        width=width,
        color="#dd8452",
        alpha=0.5,
        edgecolor="#dd8452",
        hatch="//",
        label="gap to confidence",
    )
    top.set_ylim(0, 1)
    top.set_ylabel("accuracy")
    top.set_title(f"{title or 'Reliability diagram'} (ECE {ece:.3f})")
    top.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    top.grid(alpha=0.3)
    bottom.bar(centers, counts, width=width, color="#8c8c8c", edgecolor="black")
    bottom.set_xlim(0, 1)
    bottom.set_xlabel("confidence (top-class probability)")
    bottom.set_ylabel("count")
    figure.tight_layout()
    return save_figure(figure, path)
