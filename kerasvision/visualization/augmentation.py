"""A picture of an augmentation spec: originals above augmented versions.

`preview_dataset` is what `kerasvision augment --preview` runs.
"""

from __future__ import annotations

import os

import numpy as np

from kerasvision.augmentation import (
    apply_augmentation,
    format_augment_spec,
    parse_augment_spec,
)
from kerasvision.visualization.plots import save_figure

__all__ = ["preview_augmentation", "preview_dataset"]


def _tile_title(label, class_names) -> str:
    label = np.asarray(label, dtype=np.float64)
    order = np.argsort(-label, kind="stable")
    if label[order[0]] >= 0.995:
        return str(class_names[order[0]])
    parts = [f"{label[i]:.2f} {class_names[i]}" for i in order[:3] if label[i] >= 0.005]
    return " + ".join(parts)


def preview_augmentation(
    images,
    labels,
    spec,
    path,
    *,
    class_names,
    count: int = 8,
    rows: int = 3,
    seed: int = 0,
):
    """Write a PNG grid: originals on the first row, augmented versions below.

    The augmented rows come from `apply_augmentation` on the `count` images as one
    batch (so CutMix/MixUp partners are among them); each tile's title is its
    label, e.g. "0.62 cat + 0.38 dog" for a mixed one.

    Args:
        images: `[N, H, W, C]` (or `[N, H, W]`) images, 0-255 values.
        labels: Int labels `[N]` or one-hot/soft `[N, K]`.
        spec: Anything `parse_augment_spec` accepts.
        path: Output PNG path (written atomically; folders created).
        class_names: Class names in label order.
        count: Number of images (columns). Defaults to 8.
        rows: Number of augmented rows. Defaults to 3.
        seed: Augmentation seed. Defaults to 0.

    Returns:
        The path written.

    Raises:
        ValueError: On an invalid or empty spec, or inconsistent images/labels.

    Example:
        >>> x, y = next(iter(data.dataset("train", batch_size=8)))
        >>> preview_augmentation(x, y, "flip,cutmix", "preview.png",
        ...                      class_names=data.class_names)
    """
    import tensorflow as tf
    from matplotlib.figure import Figure

    steps = parse_augment_spec(spec)
    if not steps:
        raise ValueError("nothing to preview: the augmentation spec is empty")
    for name, value in (("count", count), ("rows", rows)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    images = np.asarray(images, dtype=np.float32)
    labels = np.asarray(labels)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or len(images) == 0:
        raise ValueError(f"images must be [N, H, W, C] with N >= 1, got {images.shape}")
    if len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    class_names = [str(c) for c in class_names]
    images, labels = images[:count], labels[:count]
    if labels.ndim == 1:
        labels = labels.astype(np.int64)
        one_hot = np.eye(len(class_names), dtype=np.float32)[labels]
    else:
        one_hot = labels.astype(np.float32)
    source = tf.data.Dataset.from_tensors((images, labels)).repeat(rows)
    augmented, _ = apply_augmentation(
        source, steps, num_classes=len(class_names), seed=seed, one_hot=True
    )
    batches = [(np.asarray(x), np.asarray(y)) for x, y in augmented]

    columns = len(images)
    # A bare Figure renders with Agg and leaves pyplot's global state alone.
    figure = Figure(figsize=(1.9 * columns, 2.0 * (rows + 1)))
    axes = figure.subplots(rows + 1, columns, squeeze=False)
    grid = [(images, one_hot)] + batches
    for row, (row_images, row_labels) in enumerate(grid):
        for column in range(columns):
            axis = axes[row][column]
            tile = np.clip(np.round(row_images[column]), 0, 255).astype(np.uint8)
            if tile.shape[-1] == 1:
                axis.imshow(tile[..., 0], cmap="gray", vmin=0, vmax=255)
            else:
                axis.imshow(tile[..., :4])
            axis.set_title(_tile_title(row_labels[column], class_names), fontsize=7)
            axis.set_xticks([])
            axis.set_yticks([])
        axes[row][0].set_ylabel("original" if row == 0 else f"augmented {row}")
    figure.suptitle(format_augment_spec(steps), fontsize=8)
    figure.tight_layout()
    return save_figure(figure, os.fspath(path))


def preview_dataset(
    data=None,
    spec="flip,rotate=0.1,zoom=0.2,cutmix,mixup",
    path="augmentation.png",
    *,
    dataset: str | None = None,
    image_size=None,
    count: int = 8,
    seed: int = 0,
    overwrite: bool = False,
) -> str:
    """`preview_augmentation` on `count` training images of a folder or dataset.

    Args:
        data: Folder-per-class directory, `(x, y)` arrays or an `ImageData`.
            Defaults to None (a built-in dataset).
        spec: Augmentation spec. Defaults to "flip,rotate=0.1,zoom=0.2,cutmix,mixup".
        path: Output PNG. Defaults to "augmentation.png".
        dataset: Built-in dataset name when `data` is None. Defaults to None.
        image_size: N or (height, width). Defaults to None.
        count: Images shown per row. Defaults to 8.
        seed: Seed of the sample and of the augmentation. Defaults to 0.
        overwrite: Replace an existing file at `path`. Defaults to False.

    Returns:
        The path written.

    Raises:
        ValueError: On a bad spec, or a `path` inside the data folder, existing
            (without `overwrite`) or not a regular file.
    """
    from kerasvision._files import check_output_file
    from kerasvision.data import load_data

    parse_augment_spec(spec)
    check_output_file(path, overwrite=overwrite, data_dir=data, option="--preview")
    image_data = load_data(data, dataset=dataset, image_size=image_size, seed=seed)
    images, labels = next(
        iter(image_data.dataset("train", batch_size=count, seed=seed, cache="none"))
    )
    return preview_augmentation(
        np.asarray(images),
        np.asarray(labels),
        spec,
        path,
        class_names=image_data.class_names,
        count=min(count, len(images)),
        seed=seed,
    )
