"""Writing images as a folder-per-class dataset (the layout `fit` reads)."""

from __future__ import annotations

import os

import numpy as np

from kerasvision.data.images import parse_image_size

__all__ = ["save_image_folder", "write_builtin_dataset"]


def save_image_folder(
    x, y, class_names, directory, *, image_size=None, image_format: str = "png"
) -> list[str]:
    """Write images as a folder-per-class dataset (the layout `fit` reads).

    Args:
        x: uint8 `[N, H, W]` or `[N, H, W, C]` (C = 1 or 3) raw pixels.
        y: Integer labels `[N]`.
        class_names: Folder name of each label.
        directory: Destination; must not exist yet or be empty.
        image_size: N or (height, width) to resize to (bilinear). Defaults to None.
        image_format: "png", "jpg" or "bmp". Defaults to "png".

    Returns:
        The written file paths.

    Raises:
        ValueError: If the destination exists and is not empty, or on bad input.
    """
    from PIL import Image

    directory = os.fspath(directory)
    if os.path.exists(directory) and (
        not os.path.isdir(directory) or os.listdir(directory)
    ):
        raise ValueError(f"destination {directory} exists and is not an empty folder")
    if image_format not in ("png", "jpg", "bmp"):
        raise ValueError(f"image format must be png, jpg or bmp, got {image_format!r}")
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    size = parse_image_size(image_size)
    staging = f"{directory.rstrip(os.sep)}.partial-{os.getpid()}"
    os.makedirs(staging)
    written = []
    for index, (pixels, label) in enumerate(zip(x, np.asarray(y), strict=True)):
        folder = os.path.join(staging, str(class_names[int(label)]))
        os.makedirs(folder, exist_ok=True)
        image = Image.fromarray(np.asarray(pixels, dtype=np.uint8))
        if size is not None:
            image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
        name = f"{index:06d}.{image_format}"
        image.save(os.path.join(folder, name))
        written.append(os.path.join(directory, str(class_names[int(label)]), name))
    if os.path.isdir(directory):
        os.rmdir(directory)
    os.replace(staging, directory)
    return written


def write_builtin_dataset(name: str, directory, **kwargs):
    """Write a built-in dataset as a folder-per-class dataset.

    Args:
        name: A built-in dataset (`kerasvision.data.list_datasets()`).
        directory: Destination; must not exist yet or be empty.
        **kwargs: `save_image_folder`'s `image_size` and `image_format`.

    Returns:
        `(written paths, class names)`.

    Raises:
        ValueError: On an unknown name or a non-empty destination.
    """
    from kerasvision.data.datasets import load_builtin

    x, y, class_names = load_builtin(name)
    return save_image_folder(x, y, class_names, directory, **kwargs), class_names
