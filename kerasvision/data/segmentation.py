"""Segmentation data: images with per-pixel class masks, split like classifier data.

Layout (`load_segmentation_folder`)::

    DATA/images/NAME.png|jpg|...   the images
    DATA/masks/NAME.png            one mask per image (same file stem); each pixel
                                   value is the class index (0, 1, ...) of that pixel
    DATA/classes.txt               optional: class names, one per line, in index order

The split is `stratified_split` over one class (the same seeded rounding as
classifier data), recorded by file name.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from kerasvision.data.images import (
    decode_image_file,
    is_image_name,
    parse_image_size,
    resize_image,
    to_channels,
)
from kerasvision.data.splits import scored_split, split_from_record, stratified_split

__all__ = ["SegmentationData", "load_segmentation_data", "load_segmentation_folder"]


@dataclass
class SegmentationData:
    """Images with per-pixel class masks, split into train/val/test (in memory).

    Attributes:
        images: uint8 `[N, H, W, C]` raw pixels.
        masks: uint8 `[N, H, W]` class index per pixel.
        class_names: Class names in index order.
        splits: `{"train": indices, "val": indices, "test": indices}`.
        source: How it was loaded, e.g. `{"kind": "segmentation_folder", ...}`.
        names: Image file names relative to the images folder (or None).
        seed: Seed of the split.
    """

    images: np.ndarray
    masks: np.ndarray
    class_names: list[str]
    splits: dict[str, np.ndarray]
    source: dict
    names: list[str] | None = None
    seed: int = 0
    resize: str = "stretch"
    bad_files: list = field(default_factory=list)

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def image_size(self) -> tuple[int, int]:
        return int(self.images.shape[1]), int(self.images.shape[2])

    @property
    def scored_split(self) -> str:
        """The split a run is scored on (`data.splits.scored_split`)."""
        return scored_split(self.splits)

    @property
    def channels(self) -> int:
        return int(self.images.shape[3])

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (*self.image_size, self.channels)

    def arrays(self, split: str) -> tuple[np.ndarray, np.ndarray]:
        """`(float32 images 0-255, int32 masks)` of a split."""
        index = self.splits[split]
        return self.images[index].astype("float32"), self.masks[index].astype("int32")

    def dataset(
        self, split: str, *, batch_size=32, shuffle=None, seed=None, include_labels=True
    ):
        """A batched `tf.data.Dataset` of `(float32 images 0-255, int32 masks)`.

        The arguments mean what they mean in `ImageData.dataset`; with
        `include_labels=False` it yields images only.
        """
        import tensorflow as tf

        from kerasvision.data.pipeline import pipeline_options

        images, masks = self.arrays(split)
        if not len(images):
            raise ValueError(f"the {split} split is empty")
        shuffle = (split == "train") if shuffle is None else shuffle
        parts = (images, masks) if include_labels else images
        ds = tf.data.Dataset.from_tensor_slices(parts)
        if shuffle:
            ds = ds.shuffle(
                len(images),
                seed=self.seed if seed is None else seed,
                reshuffle_each_iteration=True,
            )
        return (
            ds.batch(batch_size)
            .prefetch(tf.data.AUTOTUNE)
            .with_options(pipeline_options())
        )

    def split_record(self) -> dict:
        """JSON-able record of the split (file names, or indices for arrays)."""
        record = {
            "seed": self.seed,
            "counts": {k: int(len(v)) for k, v in self.splits.items()},
        }
        for name, index in self.splits.items():
            if self.names is not None:
                record[name] = [self.names[i] for i in index]
            else:
                record[name] = [int(i) for i in index]
        return record

    def summary(self) -> dict:
        """Counts and per-class pixel fractions, for run.json."""
        from kerasvision.data.pipeline import data_summary

        counts = np.bincount(self.masks.reshape(-1), minlength=self.num_classes)
        return {
            **data_summary(self),
            "counts": {k: int(len(v)) for k, v in self.splits.items()},
            "pixel_fractions": {
                name: round(float(c) / max(1, int(counts.sum())), 6)
                for name, c in zip(self.class_names, counts, strict=True)
            },
            "bad_files": [list(item) for item in self.bad_files],
        }


def _split(count, val_split, test_split, seed, split_record=None, names=None, where=""):
    """Seeded split of `count` items, or the recorded one (by name or index)."""
    if split_record is None:
        return stratified_split(np.zeros(count, "int64"), val_split, test_split, seed)
    if names is None:
        names = list(range(count))
    return split_from_record(split_record, names, where=where)


def _read_mask(path) -> np.ndarray:
    from PIL import Image

    try:
        with Image.open(path) as image:
            mask = np.asarray(image)
    except (OSError, SyntaxError, ValueError) as error:
        raise ValueError(f"cannot read mask {path}: {error}") from None
    if mask.ndim == 3:
        if not np.all(mask[..., :3] == mask[..., :1]):
            raise ValueError(
                f"mask {path} must be single-channel (pixel value = class index), "
                f"got a colour image"
            )
        mask = mask[..., 0]
    if mask.dtype.kind not in "ui" or mask.min(initial=0) < 0 or mask.max() > 255:
        raise ValueError(f"mask {path} must hold class indices 0-255")
    return mask.astype("uint8")


def _segmentation_arrays(images, masks, *, image_size, channels, resize):
    """Resize images (antialiased) and masks (nearest) to one size."""
    import tensorflow as tf

    size = parse_image_size(image_size)
    shapes = {tuple(image.shape[:2]) for image in images}
    if size is None:
        size = shapes.pop() if len(shapes) == 1 else (128, 128)
    out_images, out_masks = [], []
    for image, mask in zip(images, masks, strict=True):
        if image.shape[:2] != mask.shape[:2]:
            raise ValueError(
                f"image and mask sizes differ: {image.shape[:2]} vs {mask.shape[:2]}"
            )
        image = np.asarray(image)
        if image.ndim == 2:
            image = image[..., None]
        if image.shape[-1] == 1 and channels == 3:
            image = np.repeat(image, 3, axis=-1)
        elif image.shape[-1] == 3 and channels == 1:
            image = np.asarray(to_channels(tf.constant(image), 1))
        if tuple(image.shape[:2]) != tuple(size):
            image = np.asarray(resize_image(image, size, resize)).astype("uint8")
            mask = np.asarray(
                tf.image.resize(
                    np.asarray(mask)[..., None], size, method="nearest"
                ).numpy()[..., 0]
            )
        out_images.append(np.asarray(image, dtype="uint8"))
        out_masks.append(np.asarray(mask, dtype="uint8"))
    return np.stack(out_images), np.stack(out_masks)


def _class_names_for(masks, class_names, where):
    highest = int(max(int(m.max(initial=0)) for m in masks))
    if class_names is None:
        class_names = [str(i) for i in range(max(2, highest + 1))]
    class_names = [str(c) for c in class_names]
    if len(class_names) < 2:
        raise ValueError("segmentation needs at least 2 classes")
    if highest >= len(class_names):
        raise ValueError(
            f"{where}: mask value {highest} is not a class index (only "
            f"{len(class_names)} classes: {', '.join(class_names)})"
        )
    return class_names


def load_segmentation_folder(
    directory,
    *,
    image_size=None,
    channels: int = 3,
    class_names=None,
    resize: str = "stretch",
    val_split: float = 0.1,
    test_split: float = 0.1,
    seed: int = 0,
    split_record: dict | None = None,
) -> SegmentationData:
    """Load `DATA/images/*` with their masks `DATA/masks/<same stem>.png`.

    A mask is a single-channel image (8-bit grayscale or palette PNG) whose pixel
    values are class indices; it must have its image's size. `DATA/classes.txt`
    (one name per line) names the classes; without it the classes are "0".."K-1"
    with K = the largest mask value + 1 (at least 2). Images are resized with
    `resize`, masks with nearest neighbour. Everything is held in memory.

    Args:
        directory: The dataset folder.
        image_size: N or (height, width). Defaults to None (the images' own size
            when they all share it, else 128x128).
        channels: 1 or 3. Defaults to 3.
        class_names: Class names in index order (overrides classes.txt).
            Defaults to None.
        resize: "stretch", "crop" or "pad" for the images (masks are stretched
            with nearest neighbour). Defaults to "stretch".
        val_split: Validation fraction (random, seeded). Defaults to 0.1.
        test_split: Test fraction. Defaults to 0.1.
        seed: Split seed. Defaults to 0.
        split_record: A recorded split (`split_record()`) to reuse. Defaults to
            None.

    Returns:
        A `SegmentationData`.

    Raises:
        FileNotFoundError: If the folder, `images/`, `masks/` or a mask is missing.
        ValueError: On an unreadable image/mask, size mismatch, or a mask value
            that is not a class index.

    Example:
        >>> data = load_segmentation_folder("shapes/", image_size=64, seed=0)
        >>> data.dataset("train", batch_size=8)
    """
    if channels not in (1, 3):
        raise ValueError(f"channels must be 1 or 3, got {channels}")
    root = os.path.abspath(os.fspath(directory))
    image_dir, mask_dir = os.path.join(root, "images"), os.path.join(root, "masks")
    for folder in (root, image_dir, mask_dir):
        if not os.path.isdir(folder):
            raise FileNotFoundError(
                f"segmentation folder not found: {folder} (layout: DATA/images/*, "
                f"DATA/masks/<same name>.png)"
            )
    names = sorted(name for name in os.listdir(image_dir) if is_image_name(name))
    if not names:
        raise ValueError(f"no images found in {image_dir}")
    masks_by_stem = {
        os.path.splitext(name)[0]: name
        for name in os.listdir(mask_dir)
        if is_image_name(name)
    }
    images, masks = [], []
    for name in names:
        stem = os.path.splitext(name)[0]
        if stem not in masks_by_stem:
            raise FileNotFoundError(f"no mask for {name} in {mask_dir}")
        images.append(decode_image_file(os.path.join(image_dir, name), channels))
        masks.append(_read_mask(os.path.join(mask_dir, masks_by_stem[stem])))
    if class_names is None and os.path.isfile(os.path.join(root, "classes.txt")):
        with open(os.path.join(root, "classes.txt"), encoding="utf-8") as stream:
            class_names = [line.strip() for line in stream if line.strip()]
    class_names = _class_names_for(masks, class_names, root)
    images, masks = _segmentation_arrays(
        images, masks, image_size=image_size, channels=channels, resize=resize
    )
    splits = _split(
        len(images), val_split, test_split, seed, split_record, names, image_dir
    )
    return SegmentationData(
        images=images,
        masks=masks,
        class_names=class_names,
        splits=splits,
        source={"kind": "segmentation_folder", "path": root},
        names=names,
        seed=seed if split_record is None else split_record.get("seed", seed),
        resize=resize,
    )


def load_segmentation_data(
    data, *, image_size=None, channels=None, val_split=0.1, test_split=0.1, seed=0
) -> SegmentationData:
    """A `SegmentationData` from a folder, `(images, masks)` arrays or itself.

    Raises:
        ValueError: On missing or inconsistent data.
    """
    if isinstance(data, SegmentationData):
        return data
    if data is None:
        raise ValueError(
            "segmentation needs a data folder (DATA/images + DATA/masks) or "
            "(images, masks) arrays"
        )
    if isinstance(data, tuple | list) and len(data) == 2:
        images, masks = (np.asarray(v) for v in data)
        if images.ndim == 3:
            images = images[..., None]
        if images.ndim != 4 or masks.ndim != 3 or len(images) != len(masks):
            raise ValueError(
                f"segmentation arrays must be images [N, H, W(, C)] and masks "
                f"[N, H, W], got {images.shape} and {masks.shape}"
            )
        class_names = _class_names_for(masks, None, "masks")
        images, masks = _segmentation_arrays(
            list(np.clip(images, 0, 255).astype("uint8")),
            list(masks),
            image_size=image_size,
            channels=channels or images.shape[-1],
            resize="stretch",
        )
        return SegmentationData(
            images=images,
            masks=masks,
            class_names=class_names,
            splits=_split(len(images), val_split, test_split, seed),
            source={"kind": "arrays", "shape": list(images.shape)},
            seed=seed,
        )
    return load_segmentation_folder(
        data,
        image_size=image_size,
        channels=channels or 3,
        val_split=val_split,
        test_split=test_split,
        seed=seed,
    )
