"""`fit_autoencoder`: autoencoder, denoising, sparse, VAE and U-Net runs; `encode`.

A run directory (`saved_models/<task>-<data>-<timestamp>/`) is assembled in
`.<name>.partial/` and renamed when complete, like classifier runs. It holds
`model.keras`, `encoder.keras` (raw 0-255 pixels -> code), `encoder_serving/` (a
SavedModel of the encoder, checked against `encoder.predict`), `history.csv`,
`curves.png`, `metrics.json`, `run.json` (`"kind": "autoencoder"`), `labels.txt`
and pictures: `reconstructions.png`, `latent.png`, and `samples.png` +
`interpolation.png` (VAE) or `segmentation.png` + `serving/` (U-Net).

Segmentation data layout (`load_segmentation_folder`)::

    DATA/images/NAME.png|jpg|...   the images
    DATA/masks/NAME.png            one mask per image (same file stem); each pixel
                                   value is the class index (0, 1, ...) of that pixel
    DATA/classes.txt               optional: class names, one per line, in index order
"""

from __future__ import annotations

import datetime
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field

import numpy as np

from kerasvision import __version__
from kerasvision.data import IMAGE_EXTENSIONS, parse_image_size
from kerasvision.layers.noise import make_noise_layer, parse_noise
from kerasvision.runs import write_json, write_text

__all__ = [
    "TASKS",
    "AutoencoderResult",
    "SegmentationData",
    "encode",
    "export_encoder",
    "fit_autoencoder",
    "image_quality",
    "load_encoder",
    "load_segmentation_folder",
    "parse_noise",
    "segmentation_metrics",
]

TASKS = ("autoencoder", "denoising", "sparse", "vae", "segmentation")
DEFAULT_NOISE = "gaussian=0.3"
DEFAULT_SPARSITY = 1e-4
DEFAULT_VAE_LATENT_DIM = 2
ARCHITECTURES = ("conv", "dense")
_PICTURE_COUNT = 8


@dataclass
class AutoencoderResult:
    """What `fit_autoencoder` returns.

    Attributes:
        run_dir: The finished run directory.
        metrics: Held-out metrics (see `fit_autoencoder`).
        history: Per-epoch values, `{"loss": [...], "val_loss": [...], ...}`.
        model: The trained Keras model.
        encoder: The encoder taking raw 0-255 pixels (None for segmentation).
        data: The `ImageData` or `SegmentationData` used.
        export: The export report (None when export was off).
    """

    run_dir: str
    metrics: dict
    history: dict
    model: object = None
    encoder: object = None
    data: object = None
    export: dict | None = None


# === Segmentation data ===


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
        self,
        split: str,
        *,
        batch_size: int = 32,
        shuffle: bool | None = None,
        seed: int | None = None,
        include_labels: bool = True,
    ):
        """A batched `tf.data.Dataset` of `(float32 images 0-255, int32 masks)`.

        Args:
            split: "train", "val" or "test".
            batch_size: Batch size. Defaults to 32.
            shuffle: Reshuffle every epoch; defaults to True for "train" only.
            seed: Shuffle seed. Defaults to None (the split seed).
            include_labels: Yield `(images, masks)`; False yields images only.
                Defaults to True.

        Returns:
            The `tf.data.Dataset`.
        """
        import tensorflow as tf

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
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)

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
        counts = np.bincount(self.masks.reshape(-1), minlength=self.num_classes)
        return {
            "source": self.source,
            "class_names": self.class_names,
            "image_size": list(self.image_size),
            "channels": self.channels,
            "resize": self.resize,
            "counts": {k: int(len(v)) for k, v in self.splits.items()},
            "pixel_fractions": {
                name: round(float(c) / max(1, int(counts.sum())), 6)
                for name, c in zip(self.class_names, counts, strict=True)
            },
            "bad_files": [list(item) for item in self.bad_files],
        }


def _random_split(count, val_split, test_split, seed, split_record=None, names=None):
    for name, value in (("val_split", val_split), ("test_split", test_split)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if val_split + test_split >= 1.0:
        raise ValueError(
            f"val_split + test_split must be < 1, got {val_split} + {test_split}"
        )
    if split_record is not None:
        lookup = {n: i for i, n in enumerate(names)} if names is not None else None
        parts = {}
        for part in ("train", "val", "test"):
            items = split_record.get(part, [])
            if lookup is not None:
                missing = [item for item in items if item not in lookup]
                if missing:
                    raise FileNotFoundError(
                        f"{missing[0]} of the recorded {part} split is missing"
                    )
                items = [lookup[item] for item in items]
            parts[part] = np.asarray(items, dtype="int64")
        return parts
    order = np.random.default_rng(seed).permutation(count)
    n_test = int(round(count * test_split))
    n_val = int(round(count * val_split))
    if test_split > 0 and n_test == 0 and count >= 3:
        n_test = 1
    if val_split > 0 and n_val == 0 and count - n_test >= 2:
        n_val = 1
    return {
        "test": np.sort(order[:n_test]),
        "val": np.sort(order[n_test : n_test + n_val]),
        "train": np.sort(order[n_test + n_val :]),
    }


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

    from kerasvision.data import resize_image, to_channels

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
    from kerasvision.data import decode_image_file

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
    names = sorted(
        name
        for name in os.listdir(image_dir)
        if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")
    )
    if not names:
        raise ValueError(f"no images found in {image_dir}")
    masks_by_stem = {
        os.path.splitext(name)[0]: name
        for name in os.listdir(mask_dir)
        if name.lower().endswith(IMAGE_EXTENSIONS) and not name.startswith(".")
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
    splits = _random_split(
        len(images), val_split, test_split, seed, split_record, names
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


def _segmentation_data(data, *, image_size, channels, val_split, test_split, seed):
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
            splits=_random_split(len(images), val_split, test_split, seed),
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


# === Metrics ===


def image_quality(reference, images) -> dict:
    """Mean MSE, PSNR and SSIM of 0-1 images against 0-1 references.

    PSNR and SSIM (`tf.image.psnr` / `tf.image.ssim`, max value 1) are computed per
    image and averaged; the SSIM window is 11 pixels, or the image size if smaller.

    Args:
        reference: Clean images `[N, H, W, C]` in 0-1.
        images: Images to score, same shape, in 0-1.

    Returns:
        `{"mse", "psnr", "ssim"}` as floats.
    """
    import tensorflow as tf

    reference = tf.convert_to_tensor(np.asarray(reference, dtype="float32"))
    images = tf.convert_to_tensor(np.asarray(images, dtype="float32"))
    size = min(11, int(reference.shape[1]), int(reference.shape[2]))
    psnr = tf.image.psnr(reference, images, max_val=1.0).numpy()
    ssim = tf.image.ssim(reference, images, max_val=1.0, filter_size=size).numpy()
    return {
        "mse": float(tf.reduce_mean(tf.square(reference - images))),
        "psnr": float(np.mean(np.minimum(psnr, 100.0))),  # identical images: inf
        "ssim": float(np.mean(ssim)),
    }


def segmentation_metrics(true_masks, predicted_masks, class_names) -> dict:
    """Pixel accuracy, per-class IoU and mean IoU (over classes that occur).

    Args:
        true_masks: Integer class indices `[N, H, W]`.
        predicted_masks: Predicted indices, same shape.
        class_names: Class names in index order.

    Returns:
        `{"pixel_accuracy", "mean_iou", "iou": {class: value or None},
        "confusion_matrix", "count"}`.
    """
    k = len(class_names)
    true = np.asarray(true_masks).reshape(-1).astype("int64")
    pred = np.asarray(predicted_masks).reshape(-1).astype("int64")
    matrix = np.bincount(true * k + pred, minlength=k * k).reshape(k, k)
    tp = np.diag(matrix).astype("float64")
    union = matrix.sum(0) + matrix.sum(1) - tp
    iou = {
        name: (float(tp[i] / union[i]) if union[i] else None)
        for i, name in enumerate(class_names)
    }
    present = [value for value in iou.values() if value is not None]
    return {
        "pixel_accuracy": float(tp.sum() / max(1, matrix.sum())),
        "mean_iou": float(np.mean(present)) if present else 0.0,
        "iou": iou,
        "confusion_matrix": matrix.tolist(),
        "count": int(len(np.asarray(true_masks))),
    }


# === Export ===


def export_encoder(
    encoder, path, *, sample_images=None, tolerance: float = 1e-5, output="latent"
) -> dict:
    """Write an encoder (or U-Net) as a SavedModel and check it against `predict`.

    Signature `serving_default`: `images` float32 `[N, H, W, C]` raw 0-255 pixels
    -> `latent` `[N, D]` (the code, flattened). With `output="probabilities"` (a
    U-Net) it returns `probabilities` `[N, H, W, K]` and `mask` `[N, H, W]`.

    Args:
        encoder: Keras model taking raw pixels.
        path: Destination folder (replaced).
        sample_images: Images for the check. Defaults to None (random pixels).
        tolerance: Largest allowed |delta| vs `encoder.predict`. Defaults to 1e-5.
        output: "latent" or "probabilities". Defaults to "latent".

    Returns:
        The export report (path, signature, max |delta|...).

    Raises:
        kerasvision.export.ExportError: If the reloaded SavedModel is not
            deterministic or differs by more than `tolerance`.
    """
    import keras
    import tensorflow as tf

    from kerasvision.export import ExportError, _replace_dir

    path = os.path.abspath(os.fspath(path))
    _, height, width, channels = encoder.input_shape

    @tf.function
    def serve(images):
        values = tf.cast(encoder(images, training=False), tf.float32)
        if output == "probabilities":
            return {"probabilities": values, "mask": tf.argmax(values, axis=-1)}
        return {"latent": tf.reshape(values, (tf.shape(values)[0], -1))}

    archive = keras.export.ExportArchive()
    archive.track(encoder)
    archive.add_endpoint(
        "serving_default",
        serve,
        input_signature=[
            tf.TensorSpec([None, height, width, channels], tf.float32, name="images")
        ],
    )
    parent = os.path.dirname(path)
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    if sample_images is None:
        sample_images = np.random.default_rng(0).integers(
            0, 256, (8, height, width, channels)
        )
    images = np.asarray(sample_images, dtype="float32")
    try:
        archive.write_out(staging, verbose=False)
        serving = tf.saved_model.load(staging).signatures["serving_default"]
        first = serving(images=tf.constant(images))[output].numpy()
        second = serving(images=tf.constant(images))[output].numpy()
        if not np.array_equal(first, second):
            raise ExportError(f"exported model at {path} is not deterministic")
        expected = encoder.predict(images, verbose=0)
        if output == "latent":
            expected = expected.reshape(len(images), -1)
        delta = float(np.max(np.abs(first - expected)))
        if not delta <= tolerance:
            raise ExportError(
                f"exported serving_default differs from predict by {delta:.3g} "
                f"(> {tolerance:g}) on {len(images)} sample images"
            )
        _replace_dir(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return {
        "path": path,
        "signatures": ["serving_default"],
        "input_shape": [int(height), int(width), int(channels)],
        "output": output,
        "output_shape": list(first.shape[1:]),
        "checked_images": int(len(images)),
        "max_abs_diff": delta,
        "deterministic": True,
        "tolerance": tolerance,
    }


# === Pictures ===


def _show(axis, image, cmap=None):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
        cmap = cmap or "gray"
    axis.imshow(np.clip(image, 0, 1), cmap=cmap, vmin=0, vmax=1)
    axis.set_xticks([])
    axis.set_yticks([])


def _plot_image_rows(rows, path: str, *, title: str = "") -> str:
    """A grid of 0-1 images: `rows` is `[(label, images [n, H, W, C]), ...]`."""
    from kerasvision.visualization.plots import _pyplot, save_figure

    plt = _pyplot()
    columns = max(len(images) for _, images in rows)
    figure, axes = plt.subplots(
        len(rows),
        columns,
        figsize=(1.3 * columns + 0.8, 1.4 * len(rows) + 0.4),
        squeeze=False,
    )
    for row, (label, images) in enumerate(rows):
        for column in range(columns):
            axis = axes[row, column]
            if column < len(images):
                _show(axis, images[column])
            else:
                axis.axis("off")
        axes[row, 0].set_ylabel(label)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


def _plot_latent_scatter(codes, labels, class_names, path: str, *, title="") -> str:
    """2-D scatter of codes coloured by label (PCA to 2-D when the code is larger)."""
    from kerasvision.visualization.plots import _pyplot, save_figure

    plt = _pyplot()
    codes = np.asarray(codes, dtype="float64").reshape(len(codes), -1)
    method = "code"
    if codes.shape[1] > 2:
        from sklearn.decomposition import PCA

        codes = PCA(2, random_state=0).fit_transform(codes)
        method = "PCA of the code"
    elif codes.shape[1] == 1:
        codes = np.concatenate([codes, np.zeros_like(codes)], axis=1)
    figure, axis = plt.subplots(figsize=(6, 5))
    labels = np.asarray(labels)
    colours = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    for index, name in enumerate(class_names):
        chosen = labels == index
        if np.any(chosen):
            axis.scatter(
                codes[chosen, 0],
                codes[chosen, 1],
                s=10,
                alpha=0.7,
                color=colours(index % colours.N),
                label=name,
            )
    axis.set_xlabel(f"{method} 1")
    axis.set_ylabel(f"{method} 2")
    axis.legend(fontsize=7, markerscale=1.5, loc="best")
    axis.set_title(title or "latent space (held-out images)")
    figure.tight_layout()
    return save_figure(figure, path)


def _plot_segmentation(images, masks, predicted, num_classes, path, title=""):
    from kerasvision.visualization.plots import _pyplot, save_figure

    plt = _pyplot()
    count = len(images)
    figure, axes = plt.subplots(3, count, figsize=(1.6 * count + 0.8, 5), squeeze=False)
    cmap = plt.get_cmap("tab10" if num_classes <= 10 else "tab20")
    for column in range(count):
        image = images[column] / 255.0
        for row, mask in enumerate((None, masks[column], predicted[column])):
            axis = axes[row, column]
            _show(axis, image)
            if mask is not None:
                colour = cmap(np.asarray(mask) % cmap.N)[..., :3]
                alpha = np.where(np.asarray(mask) > 0, 0.5, 0.0)[..., None]
                axis.imshow(np.concatenate([colour, alpha], axis=-1))
    for row, label in enumerate(("image", "true mask", "predicted")):
        axes[row, 0].set_ylabel(label)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


# === Training helpers ===


def _training_module():
    # Shared run-directory machinery of classifier runs (same layout and logging).
    from kerasvision import training

    return training


def _validate(arguments):
    task = arguments["task"]
    if task not in TASKS:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    for name in ("epochs", "batch_size"):
        value = arguments[name]
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not arguments["lr"] > 0:
        raise ValueError(f"lr must be > 0, got {arguments['lr']}")
    latent_dim = arguments["latent_dim"]
    if latent_dim is not None and (
        not isinstance(latent_dim, int)
        or isinstance(latent_dim, bool)
        or latent_dim < 1
    ):
        raise ValueError(f"latent_dim must be a positive integer, got {latent_dim!r}")
    if latent_dim is not None and task == "segmentation":
        raise ValueError("latent_dim is not an option of the segmentation task")
    if arguments["noise"] is not None:
        if task != "denoising":
            raise ValueError(
                f"noise is for the denoising task (got task {task!r}); use "
                f"--task denoising"
            )
        parse_noise(arguments["noise"])
    architecture = arguments["model_kwargs"].get("architecture", "conv")
    if architecture not in ARCHITECTURES:
        raise ValueError(
            f"architecture must be one of {ARCHITECTURES}, got {architecture!r}"
        )
    if architecture == "dense" and task in ("vae", "segmentation"):
        raise ValueError(f"the {task} task has no dense architecture")


def _build(task, input_shape, arguments, seed, num_classes=None):
    from kerasvision.models import autoencoders

    kwargs = dict(arguments["model_kwargs"])
    architecture = kwargs.pop("architecture", "conv")
    latent_dim = arguments["latent_dim"]

    def call(builder, *args, **extra):
        try:
            return builder(*args, **{**extra, **kwargs})
        except TypeError as error:
            if "unexpected keyword argument" in str(error):
                option = str(error).split("argument")[-1].strip(" '\"")
                raise ValueError(
                    f"{builder.__name__} does not take the option {option!r}"
                ) from None
            raise

    if task == "segmentation":
        return call(autoencoders.build_unet, input_shape, num_classes)
    if task == "vae":
        return call(
            autoencoders.build_vae,
            input_shape,
            latent_dim=latent_dim or DEFAULT_VAE_LATENT_DIM,
            seed=seed,
        )
    extra = {"seed": seed}
    if task == "denoising":
        extra["noise"] = arguments["noise"] or DEFAULT_NOISE
    if task == "sparse" and not (kwargs.get("sparsity") or kwargs.get("k_sparse")):
        extra["sparsity"] = DEFAULT_SPARSITY
    if architecture == "dense":
        if latent_dim is not None:
            # latent_dim replaces the code size (the last entry of units).
            hidden = tuple(kwargs.pop("units", (256, 64)))[:-1]
            extra["units"] = (*hidden, latent_dim)
        return call(autoencoders.build_dense_autoencoder, input_shape, **extra)
    return call(
        autoencoders.build_conv_autoencoder,
        input_shape,
        latent_dim=latent_dim,
        **extra,
    )


def _collect(dataset):
    """Concatenate a finite dataset of `(images, labels)` or images into arrays."""
    images, labels = [], []
    for batch in dataset:
        if isinstance(batch, tuple):
            images.append(np.asarray(batch[0]))
            labels.append(np.asarray(batch[1]))
        else:
            images.append(np.asarray(batch))
    images = np.concatenate(images)
    return images, (np.concatenate(labels) if labels else None)


def _predict(model, images, batch_size: int = 256) -> np.ndarray:
    """Inference-mode outputs in batches (eager: no retracing per call/shape)."""
    images = np.asarray(images, dtype="float32")
    outputs = [
        np.asarray(model(images[start : start + batch_size], training=False))
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs)


def _with_target(images):
    """Raw pixels -> (raw pixels, 0-1 target): the reconstruction pair."""
    return images, images / 255.0


def _corrupt(noise, clean, seed) -> np.ndarray:
    """0-1 images corrupted by a fresh seeded noise layer (the same every time)."""
    layer = make_noise_layer(noise, seed=seed)
    return np.asarray(layer(np.asarray(clean, dtype="float32"), training=True))


def _flat(values) -> np.ndarray:
    values = np.asarray(values)
    return values.reshape(len(values), -1)


def _pick_pair(labels, count):
    """Indices of two held-out images, of different classes when possible."""
    if labels is not None and len(np.unique(labels)) > 1:
        return 0, int(np.flatnonzero(labels != labels[0])[0])
    return 0, min(1, count - 1)


# === fit_autoencoder ===


def fit_autoencoder(
    data=None,
    *,
    dataset: str | None = None,
    task: str = "autoencoder",
    latent_dim: int | None = None,
    noise: str | None = None,
    image_size=None,
    channels: int | None = None,
    epochs: int = 10,
    batch_size: int = 32,
    lr: float = 1e-3,
    val_split: float = 0.1,
    test_split: float = 0.1,
    seed: int | None = None,
    output=None,
    overwrite: bool = False,
    export: bool = True,
    verbose="auto",
    log=None,
    model_kwargs: dict | None = None,
) -> AutoencoderResult:
    """Train an autoencoder (or a U-Net) and write a complete run directory.

    Tasks:
    - "autoencoder": `build_conv_autoencoder`, MSE on 0-1 pixels.
    - "denoising": the same with a training-only noise layer before the encoder
      (`noise`, default "gaussian=0.3"); trained to output the clean image.
    - "sparse": the same with an L1 activity penalty on the code (default factor
      1e-4; or `model_kwargs={"sparsity": ...}` / `{"k_sparse": k}`).
    - "vae": `build_vae` (default `latent_dim` 2), reconstruction + beta * KL.
    - "segmentation": `build_unet` on a segmentation folder (see
      `load_segmentation_folder`) or `(images, masks)` arrays; per-pixel
      cross-entropy.

    Labels of folder-per-class data and built-in datasets are not used for
    training; they only colour the latent scatter plot.

    metrics.json holds, on the test split (else val, else train): `mse`, `psnr`,
    `ssim` of the reconstructions (0-1 images; for "denoising" the outputs for
    noisy inputs, with `noisy_mse`, `noisy_psnr`, `noisy_ssim` of the noisy inputs
    and `psnr_gain`), `code_zero_fraction`/`code_mean_abs`; for "vae" also
    `reconstruction_loss`, `kl_loss`, `loss` and `elbo` (per image, sampled
    codes); for "segmentation" `pixel_accuracy`, `mean_iou` and per-class `iou`.

    Args:
        data: Folder-per-class directory, `(x, y)` arrays or an `ImageData`; for
            "segmentation" a segmentation folder, `(images, masks)` arrays or a
            `SegmentationData`. Defaults to None (a built-in dataset).
        dataset: Built-in dataset name when `data` is None. Defaults to None
            ("digits").
        task: "autoencoder", "denoising", "sparse", "vae" or "segmentation".
            Defaults to "autoencoder".
        latent_dim: Dense code size; None keeps the spatial code of the conv
            autoencoder (2 for the VAE). Defaults to None.
        noise: Denoising corruption: "gaussian=SIGMA" (0-1 units),
            "salt_pepper=RATE" or "mask=RATE[@PATCH]". Defaults to None
            ("gaussian=0.3" for the denoising task).
        image_size: N or (height, width). Defaults to None (the arrays' own size;
            128 for folders).
        channels: 1 or 3. Defaults to None (the data's own; 3 for folders).
        epochs: Training epochs. Defaults to 10.
        batch_size: Batch size. Defaults to 32.
        lr: Adam learning rate. Defaults to 1e-3.
        val_split: Validation fraction. Defaults to 0.1.
        test_split: Test fraction. Defaults to 0.1.
        seed: Seeds the split, initialisation, shuffling and noise. Defaults to
            None (random, recorded in run.json).
        output: Run directory. Defaults to None
            (`saved_models/<task>-<data>-<timestamp>`).
        overwrite: Replace an existing run at `output`. Defaults to False.
        export: Write and check `encoder_serving/` (`serving/` for
            segmentation). Defaults to True.
        verbose: "auto" (progress bar on a TTY, one line per epoch otherwise), 0,
            1 or 2. Defaults to "auto".
        log: Function receiving progress lines. Defaults to None (stderr).
        model_kwargs: Builder keyword arguments (filters, downsample, upsample,
            batch_norm, sparsity, k_sparse, beta...; `architecture="dense"` picks
            `build_dense_autoencoder`). Defaults to None.

    Returns:
        An `AutoencoderResult`.

    Raises:
        ValueError: On invalid arguments or data.
        FileNotFoundError: If the data folder does not exist.
        kerasvision.training.TrainingError: If the loss becomes NaN.
        kerasvision.export.ExportError: If the export fails its parity check.

    Example:
        >>> result = fit_autoencoder(dataset="digits", task="denoising", epochs=20)
        >>> result.metrics["psnr_gain"]
    """
    log = log or (lambda line: print(line, file=sys.stderr, flush=True))
    arguments = {
        "data": os.fspath(data) if isinstance(data, str | os.PathLike) else None,
        "dataset": dataset,
        "task": task,
        "latent_dim": latent_dim,
        "noise": str(noise) if noise is not None else None,
        "image_size": list(image_size)
        if isinstance(image_size, tuple | list)
        else image_size,
        "channels": channels,
        "epochs": epochs,
        "batch_size": batch_size,
        "lr": lr,
        "val_split": val_split,
        "test_split": test_split,
        "seed": seed,
        "model_kwargs": dict(model_kwargs or {}),
    }
    _validate(arguments)
    if task == "denoising" and arguments["noise"] is None:
        arguments["noise"] = DEFAULT_NOISE
    if seed is None:
        seed = int(np.random.SeedSequence().generate_state(1)[0] % (2**31))
        arguments["seed"] = seed
    return _run(data, arguments, output, overwrite, export, verbose, log)


def _load_for(data, arguments):
    from kerasvision.data import load_data

    seed = arguments["seed"]
    if arguments["task"] == "segmentation":
        if arguments["dataset"] is not None:
            raise ValueError("segmentation needs a data folder, not a built-in dataset")
        return _segmentation_data(
            data,
            image_size=arguments["image_size"],
            channels=arguments["channels"],
            val_split=arguments["val_split"],
            test_split=arguments["test_split"],
            seed=seed,
        )
    image_data = load_data(
        data,
        dataset=arguments["dataset"],
        image_size=arguments["image_size"],
        channels=arguments["channels"],
        val_split=arguments["val_split"],
        test_split=arguments["test_split"],
        seed=seed,
    )
    if arguments["image_size"] is not None and tuple(image_data.image_size) != tuple(
        parse_image_size(arguments["image_size"])
    ):
        image_data = image_data.with_image_size(arguments["image_size"])
    return image_data


def _run(data, arguments, output, overwrite, export, verbose, log):
    import keras
    import tensorflow as tf

    training = _training_module()
    task, seed = arguments["task"], arguments["seed"]
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()

    image_data = _load_for(data, arguments)
    segmentation = task == "segmentation"
    final_dir = os.path.abspath(
        os.fspath(output)
        if output
        else os.path.join(
            training.DEFAULT_RUNS_DIR, training._default_run_name(task, image_data)
        )
    )
    partial = training._prepare_partial(
        final_dir, overwrite=overwrite, resume=False, create=False
    )
    if len(image_data.splits["train"]) == 0:
        raise ValueError("the train split is empty; lower val_split/test_split")

    # === Model ===
    model = _build(
        task,
        image_data.input_shape,
        arguments,
        seed,
        num_classes=image_data.num_classes if segmentation else None,
    )
    optimizer = keras.optimizers.Adam(arguments["lr"])
    if task == "vae":
        model.compile(optimizer=optimizer)
    elif segmentation:
        model.compile(
            optimizer=optimizer,
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="pixel_accuracy")],
        )
    else:
        model.compile(optimizer=optimizer, loss="mse")
    encoder = feature_layer = None
    if not segmentation:
        from kerasvision.models.autoencoders import extract_encoder

        encoder, feature_layer = extract_encoder(model)
    training._prepare_partial(final_dir, overwrite=overwrite, resume=False)
    os.rmdir(os.path.join(partial, "checkpoints"))  # no resumable checkpoints here
    log(f"run directory: {final_dir} (in progress at {partial})")

    # === Run record ===
    latent_shape = list(encoder.output_shape[1:]) if encoder is not None else None
    info = {
        "kerasvision_version": __version__,
        "kind": "autoencoder",
        "task": task,
        "status": "running",
        "created": datetime.datetime.now().isoformat(timespec="seconds"),
        "arguments": arguments,
        "seed": seed,
        "versions": training._versions(),
        "latent_dim": int(np.prod(latent_shape)) if latent_shape else None,
        "latent_shape": latent_shape,
        "spatial_latent": bool(latent_shape and len(latent_shape) == 3),
        "model": {
            "name": task,
            "keras_name": model.name,
            "input_shape": list(image_data.input_shape),
            "params": int(model.count_params()),
            "noise": arguments["noise"],
            "code_layer": feature_layer,
            "num_classes": image_data.num_classes if segmentation else None,
        },
        "data": image_data.summary(),
        "split": image_data.split_record(),
    }
    write_json(os.path.join(partial, "run.json"), info)
    write_text(
        os.path.join(partial, "labels.txt"), "\n".join(image_data.class_names) + "\n"
    )
    os.makedirs(os.path.join(partial, "splits"), exist_ok=True)
    for name, items in image_data.split_record().items():
        if isinstance(items, list):
            write_text(
                os.path.join(partial, "splits", f"{name}.txt"),
                "".join(f"{item}\n" for item in items),
            )
    if image_data.bad_files:
        write_text(
            os.path.join(partial, "bad_files.txt"),
            "".join(f"{path}\t{reason}\n" for path, reason in image_data.bad_files),
        )

    # === Pipelines ===
    size = arguments["batch_size"]
    has_val = len(image_data.splits["val"]) > 0

    def pipeline(split, shuffle):
        if segmentation:
            return image_data.dataset(
                split, batch_size=size, shuffle=shuffle, seed=seed
            )
        images = image_data.dataset(
            split, batch_size=size, shuffle=shuffle, seed=seed, include_labels=False
        )
        if task == "vae":
            return images
        return images.map(_with_target)

    train_ds = pipeline("train", True)
    val_ds = pipeline("val", False) if has_val else None
    if task == "denoising" and has_val:
        # Validate denoising, not reconstruction: the model adds no noise at
        # inference, so the validation inputs are corrupted once, here (seeded).
        raw_val, _ = _collect(
            image_data.dataset("val", batch_size=256, shuffle=False, cache="none")
        )
        noisy_val = _corrupt(arguments["noise"], raw_val / 255.0, seed + 3)
        val_ds = tf.data.Dataset.from_tensor_slices(
            (noisy_val * 255.0, raw_val / 255.0)
        ).batch(size)

    # === Train ===
    if verbose == "auto":
        verbose = 1 if sys.stdout.isatty() else 2
    quiet = verbose != 2
    keras_verbose = 1 if verbose == 1 else 0
    epoch_logger = training._EpochLogger(arguments["epochs"], log, quiet=quiet)
    nan_guard = training._NaNGuard()
    history_path = os.path.join(partial, "history.csv")
    start = time.perf_counter()
    model.fit(
        train_ds,
        validation_data=val_ds,
        epochs=arguments["epochs"],
        callbacks=[nan_guard, epoch_logger, keras.callbacks.CSVLogger(history_path)],
        verbose=keras_verbose,
        shuffle=False,  # the tf.data pipeline shuffles (seeded)
    )
    train_seconds = time.perf_counter() - start
    if nan_guard.where is not None:
        epoch, batch = nan_guard.where
        raise training.TrainingError(
            f"loss became NaN/inf at epoch {epoch}, batch {batch}; try a lower --lr "
            f"(was {arguments['lr']}); partial run kept at {partial}"
        )
    history = training._read_history(history_path)

    # === Evaluate and draw ===
    from kerasvision.visualization.plots import plot_training_curves

    split = (
        "test" if len(image_data.splits["test"]) else ("val" if has_val else "train")
    )
    plot_training_curves(history, os.path.join(partial, "curves.png"))
    if segmentation:
        metrics, samples = _evaluate_segmentation(model, image_data, split, partial)
    else:
        metrics, samples = _evaluate_autoencoder(
            model, encoder, image_data, split, arguments, partial
        )
    metrics["split"] = split
    write_json(os.path.join(partial, "metrics.json"), metrics)

    # === Save and export ===
    training._save_atomically(model, os.path.join(partial, "model.keras"))
    export_report = None
    if encoder is not None:
        training._save_atomically(encoder, os.path.join(partial, "encoder.keras"))
    if export:
        target, folder, kind = (
            (model, "serving", "probabilities")
            if segmentation
            else (encoder, "encoder_serving", "latent")
        )
        export_report = export_encoder(
            target, os.path.join(partial, folder), sample_images=samples, output=kind
        )
        export_report["path"] = os.path.join(final_dir, folder)
    info.update(
        status="complete",
        finished=datetime.datetime.now().isoformat(timespec="seconds"),
        epochs_trained=len(history.get("loss", [])),
        train_seconds=round(train_seconds, 3),
        epoch_seconds=[round(s, 3) for s in epoch_logger.seconds],
        metrics={k: v for k, v in metrics.items() if not isinstance(v, dict | list)},
        export=export_report,
    )
    write_json(os.path.join(partial, "run.json"), info)
    training._publish(partial, final_dir)
    log(f"run written to {final_dir}")
    return AutoencoderResult(
        run_dir=final_dir,
        metrics=metrics,
        history=history,
        model=model,
        encoder=encoder,
        data=image_data,
        export=export_report,
    )


def _evaluate_autoencoder(model, encoder, image_data, split, arguments, partial):
    """Held-out reconstruction metrics and pictures; returns (metrics, samples)."""
    task, seed = arguments["task"], arguments["seed"]
    raw, labels = _collect(
        image_data.dataset(split, batch_size=256, shuffle=False, cache="none")
    )
    clean = raw / 255.0
    metrics: dict = {"count": int(len(raw))}
    rows = [("input", clean[:_PICTURE_COUNT])]
    if task == "denoising":
        noisy = _corrupt(arguments["noise"], clean, seed + 1)
        outputs = _predict(model, noisy * 255.0)
        quality = image_quality(clean, outputs)
        noisy_quality = image_quality(clean, noisy)
        metrics.update(quality)
        metrics.update({f"noisy_{k}": v for k, v in noisy_quality.items()})
        metrics["psnr_gain"] = quality["psnr"] - noisy_quality["psnr"]
        metrics["noise"] = arguments["noise"]
        rows.append(("noisy", noisy[:_PICTURE_COUNT]))
    else:
        outputs = _predict(model, raw)
        metrics.update(image_quality(clean, outputs))
    rows.append(("output", outputs[:_PICTURE_COUNT]))
    codes = _flat(_predict(encoder, raw))
    metrics["code_zero_fraction"] = float(np.mean(np.abs(codes) < 1e-6))
    metrics["code_mean_abs"] = float(np.mean(np.abs(codes)))
    if task == "vae":
        metrics.update(_vae_terms(model, raw, seed))
    title = f"{task} - {split} split"
    _plot_image_rows(rows, os.path.join(partial, "reconstructions.png"), title=title)
    _plot_latent_scatter(
        codes,
        labels,
        image_data.class_names,
        os.path.join(partial, "latent.png"),
        title=f"latent space ({split} split, {codes.shape[1]}-d code)",
    )
    if task == "vae":
        samples = model.generate(32, seed=seed)
        _plot_image_rows(
            [(f"row {i + 1}", samples[i * 8 : (i + 1) * 8]) for i in range(4)],
            os.path.join(partial, "samples.png"),
            title="samples from the prior N(0, I)",
        )
        first, second = _pick_pair(labels, len(raw))
        strip = model.interpolate(raw[first], raw[second], steps=10)
        _plot_image_rows(
            [("a -> b", strip)],
            os.path.join(partial, "interpolation.png"),
            title="latent interpolation between two held-out images",
        )
    return metrics, raw[:16]


def _vae_terms(model, raw, seed) -> dict:
    """Held-out per-image ELBO terms with sampled codes (seeded)."""
    import keras

    keras.utils.set_random_seed(seed + 2)
    rec, kl = [], []
    for start in range(0, len(raw), 256):
        r, k = model.loss_terms(raw[start : start + 256], training=False)
        rec.append(np.asarray(r))
        kl.append(np.asarray(k))
    rec, kl = float(np.mean(np.concatenate(rec))), float(np.mean(np.concatenate(kl)))
    return {
        "reconstruction_loss": rec,
        "kl_loss": kl,
        "loss": rec + model.beta * kl,
        "elbo": -(rec + kl),
        "beta": model.beta,
        "latent_dim": model.latent_dim,
    }


def _evaluate_segmentation(model, data, split, partial):
    images, masks = data.arrays(split)
    probabilities = _predict(model, images, 64)
    predicted = np.argmax(probabilities, axis=-1)
    metrics = segmentation_metrics(masks, predicted, data.class_names)
    count = min(6, len(images))
    _plot_segmentation(
        images[:count],
        masks[:count],
        predicted[:count],
        data.num_classes,
        os.path.join(partial, "segmentation.png"),
        title=f"{split} split: pixel accuracy {metrics['pixel_accuracy']:.3f}, "
        f"mean IoU {metrics['mean_iou']:.3f}",
    )
    return metrics, images[:16]


# === Reuse: load_encoder and encode ===


def load_encoder(run_dir, *, spatial: bool = True):
    """The encoder of an autoencoder run, taking raw 0-255 pixels.

    With `spatial=True` (the default, for `--backbone RUN_DIR`) it returns a
    spatial feature map `[B, h, w, c]`: the code itself when the latent is
    spatial; for a dense latent (and the VAE) the last spatial encoder layer
    before `enc_flatten`; for a segmentation run the U-Net bottleneck. With
    `spatial=False` it returns the code (`[B, D]` dense, or the spatial map; the
    VAE's `z_mean`).

    Args:
        run_dir: A finished autoencoder run directory.
        spatial: Return the last spatial feature map. Defaults to True.

    Returns:
        `(encoder, info)`: a functional model `image -> rescaling -> encoder`, and
        a dict with `task`, `feature_layer` (inside the nested encoder),
        `spatial`, `output_shape`, `input_shape`, `latent_dim`, `class_names`,
        `image_size`, `channels`, `resize` and `run_dir`.

    Raises:
        FileNotFoundError: If the run does not exist.
        ValueError: If it is not an autoencoder run, or a dense autoencoder asked
            for a spatial map.

    Example:
        >>> encoder, info = load_encoder("saved_models/autoencoder-digits-...")
        >>> info["feature_layer"], encoder.output_shape
    """
    # Importing these modules registers the custom layers and the VAE class.
    import kerasvision.layers.noise  # noqa: F401
    import kerasvision.layers.sampling  # noqa: F401
    from kerasvision.models.autoencoders import extract_encoder
    from kerasvision.runs import load_run

    run = load_run(run_dir)
    if run.info.get("kind") != "autoencoder":
        raise ValueError(
            f"{run.path} is not an autoencoder run (run.json has no "
            f'"kind": "autoencoder")'
        )
    model = run.model
    encoder, feature = extract_encoder(model, spatial=spatial)
    shape = list(encoder.output_shape[1:])
    return encoder, {
        "run_dir": run.path,
        "task": run.info.get("task"),
        "feature_layer": feature,
        "spatial": len(shape) == 3,
        "output_shape": shape,
        "input_shape": list(encoder.input_shape[1:]),
        "latent_dim": run.info.get("latent_dim"),
        "class_names": run.class_names,
        "image_size": list(run.image_size),
        "channels": run.channels,
        "resize": run.resize,
    }


def _image_paths(images) -> list[str]:
    items = [images] if isinstance(images, str | os.PathLike) else list(images)
    paths = []
    for item in items:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = []
            for folder, dirnames, filenames in os.walk(item):
                dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
                found.extend(
                    os.path.join(folder, name)
                    for name in filenames
                    if name.lower().endswith(IMAGE_EXTENSIONS)
                    and not name.startswith(".")
                )
            if not found:
                raise ValueError(f"no images found in {item}")
            paths.extend(sorted(found))
        elif os.path.isfile(item):
            paths.append(item)
        else:
            raise FileNotFoundError(f"image not found: {item}")
    if not paths:
        raise ValueError("no images given")
    return paths


def encode(run_dir, images, *, output=None, batch_size: int = 64) -> np.ndarray:
    """Latent vectors of images with a run's encoder.

    Files are decoded and resized like the run's training data. Spatial codes are
    flattened (row-major, channels last), so every image gives one vector.

    Args:
        run_dir: A finished autoencoder run directory.
        images: Image file(s) and/or folder(s) (searched recursively), or raw
            0-255 pixels `[N, H, W, C]` at the run's size.
        output: Write the vectors to a `.npy` file (the array) or a `.csv` file
            (a `path` column, then `z0..z{D-1}`). Defaults to None (no file).
        batch_size: Prediction batch size. Defaults to 64.

    Returns:
        float32 `[N, D]` latent vectors, in the order of the (sorted) files.

    Raises:
        FileNotFoundError: If the run or an image does not exist.
        ValueError: On an output that is not `.npy`/`.csv`, an undecodable image,
            or arrays of the wrong shape.

    Example:
        >>> vectors = encode("saved_models/ae-digits", ["new/"], output="z.csv")
    """
    from kerasvision.data import decode_image_file, resize_image

    if output is not None and not os.fspath(output).lower().endswith((".npy", ".csv")):
        raise ValueError(f"output must end with .npy or .csv, got {output}")
    encoder, info = load_encoder(run_dir, spatial=False)
    shape = tuple(info["input_shape"])
    if isinstance(images, np.ndarray):
        pixels = images.astype("float32")
        if pixels.ndim == 3:
            pixels = pixels[None]
        if pixels.shape[1:] != shape:
            raise ValueError(
                f"images must be [N, {', '.join(map(str, shape))}] raw pixels, got "
                f"{pixels.shape}"
            )
        paths = [str(i) for i in range(len(pixels))]
    else:
        paths = _image_paths(images)
        pixels = np.stack(
            [
                np.asarray(
                    resize_image(
                        decode_image_file(path, info["channels"]),
                        info["image_size"],
                        info["resize"],
                    )
                )
                for path in paths
            ]
        )
    vectors = _flat(_predict(encoder, pixels, batch_size))
    vectors = vectors.astype("float32")
    if output is not None:
        output = os.path.abspath(os.fspath(output))
        os.makedirs(os.path.dirname(output), exist_ok=True)
        if output.lower().endswith(".npy"):
            handle, temp = tempfile.mkstemp(
                prefix=".tmp-", suffix=".npy", dir=os.path.dirname(output)
            )
            os.close(handle)
            np.save(temp, vectors)
            os.replace(temp, output)
        else:
            header = "path," + ",".join(f"z{i}" for i in range(vectors.shape[1]))
            lines = [header] + [
                f'"{path}",' + ",".join(f"{v:.7g}" for v in row)
                for path, row in zip(paths, vectors, strict=True)
            ]
            write_text(output, "\n".join(lines) + "\n")
    return vectors
