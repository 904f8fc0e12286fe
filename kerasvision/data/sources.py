"""Sources of `ImageData`: a folder per class, in-memory arrays, built-in datasets.

A file source lists `(paths, labels, class_names)` (as `scan_image_folder` does),
validates its options with `_file_options`, decodes every file once with
`_check_files` (bad files skipped, fingerprint), splits (`split_files`, or a
recorded split) and builds the `Split`s with `_file_splits`; `load_image_folder`
is the model to follow for a new one. `load_data` picks the source of a value.
"""

from __future__ import annotations

import hashlib
import os
from typing import NamedTuple

import numpy as np

from kerasvision._choices import RESIZE_MODES
from kerasvision.data.images import check_image_files, parse_image_size, walk_images
from kerasvision.data.pipeline import ImageData, Split
from kerasvision.data.splits import (
    official_split,
    recorded_indices,
    split_files,
    split_from_record,
    stratified_split,
)

__all__ = [
    "DEFAULT_FOLDER_SIZE",
    "from_arrays",
    "load_builtin_dataset",
    "load_data",
    "load_image_folder",
    "scan_image_folder",
]

DEFAULT_FOLDER_SIZE = 128


# === Folder scanning ===


def _check_name(path: str, name: str, what: str) -> None:
    """Refuse names that labels.txt / splits/*.txt (one name per line) cannot hold.

    A class or file name with a line break or another control character, or a
    class name of only spaces, would change the number of lines of those files.
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or (
        what == "class folder" and not name.strip()
    ):
        raise ValueError(
            f"{what} name {path!r} has a line break, a control character or only "
            f"spaces; rename it"
        )


def scan_image_folder(directory, class_names=None, *, on_loop=None):
    """List the images of a folder-per-class directory.

    Class folders are the direct sub-folders (hidden ones ignored); images may sit
    at any depth below their class folder. Files with other extensions are ignored.

    Args:
        directory: Root folder.
        class_names: Expected classes in label order, or None to use the sorted
            folder names. When given, every class folder must be one of them.
            Defaults to None.
        on_loop: Called with the path of each symlink loop found (it is not
            followed, so no file is counted twice). Defaults to None.

    Returns:
        `(paths, labels, class_names)` with paths sorted within each class.

    Raises:
        FileNotFoundError: If the directory does not exist.
        ValueError: If it holds fewer than 2 class folders, a class folder holds no
            image, or a folder is not among `class_names`.
    """
    root = os.fspath(directory)
    if not os.path.exists(root):
        raise FileNotFoundError(f"data directory not found: {root}")
    if not os.path.isdir(root):
        raise ValueError(f"data path is not a directory: {root}")
    folders = sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir() and not entry.name.startswith(".")
    )
    for name in folders:
        _check_name(os.path.join(root, name), name, "class folder")
    if class_names is None:
        if len(folders) < 2:
            found = f"only {folders[0]!r}" if folders else "none"
            raise ValueError(
                f"{root} needs at least 2 class folders (one per class), found {found}"
            )
        class_names = folders
    else:
        class_names = list(class_names)
        unknown = sorted(set(folders) - set(class_names))
        if unknown:
            raise ValueError(
                f"{root}: class folder(s) {', '.join(unknown)} are not classes of "
                f"the model ({', '.join(class_names)})"
            )
    paths: list[str] = []
    labels: list[int] = []
    for index, name in enumerate(class_names):
        class_dir = os.path.join(root, name)
        if not os.path.isdir(class_dir):
            continue
        found = walk_images(class_dir, on_loop=on_loop)
        if not found and len(folders) == len(class_names):
            raise ValueError(f"class folder {class_dir} contains no images")
        for path in found:
            _check_name(path, os.path.relpath(path, root), "file")
        paths.extend(found)
        labels.extend([index] * len(found))
    if not paths:
        raise ValueError(f"no images found in {root}")
    return paths, np.asarray(labels, dtype="int64"), class_names


# === File sources ===


class _CheckedFiles(NamedTuple):
    """The valid files of a file source (each decoded once), and what was skipped."""

    paths: list[str]
    labels: np.ndarray
    native: np.ndarray
    digests: list[str]
    bad: list[tuple[str, str]]
    fingerprint: str


def _file_options(image_size, channels, resize):
    """`(size, size_source, channels)` of a file source, validated."""
    channels = 3 if channels is None else channels
    if channels not in (1, 3, 4):
        raise ValueError(f"channels must be 1, 3 or 4, got {channels}")
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
    size = parse_image_size(image_size)
    size_source = "default" if size is None else "explicit"
    size = size or (DEFAULT_FOLDER_SIZE, DEFAULT_FOLDER_SIZE)
    return size, size_source, channels


def _check_files(
    paths, labels, class_names, root, *, on_bad_file=None, need_two_classes=True
) -> _CheckedFiles:
    """Decode every file once: skip (and report) bad ones, fingerprint them all.

    The fingerprint covers every listed file (bad ones too) by its path relative
    to `root` and its content digest.

    Raises:
        ValueError: If a class has files but none valid, or (with
            `need_two_classes`) fewer than 2 classes have valid images.
    """
    checks = check_image_files(paths)
    bad = [(c.path, c.error) for c in checks if c.error]
    for path, reason in bad:
        if on_bad_file is not None:
            on_bad_file(path, reason)
    good = np.array([c.error is None for c in checks], dtype=bool)
    fingerprint = hashlib.sha256()
    for check in checks:
        fingerprint.update(os.path.relpath(check.path, root).encode() + b"\0")
        fingerprint.update(check.digest.encode())
    valid_counts = np.bincount(labels[good], minlength=len(class_names))
    for index, count in enumerate(valid_counts):
        if count == 0 and index in set(labels.tolist()):
            raise ValueError(
                f"class {class_names[index]!r} has no valid images "
                f"(all {int(np.sum(labels == index))} files are bad)"
            )
    if need_two_classes and np.count_nonzero(valid_counts) < 2:
        raise ValueError(f"{root} needs at least 2 classes with valid images")
    return _CheckedFiles(
        paths=[p for p, ok in zip(paths, good, strict=True) if ok],
        labels=labels[good],
        native=np.array([c.native for c in checks if c.error is None], dtype=bool),
        digests=[c.digest for c in checks if c.error is None],
        bad=bad,
        fingerprint=fingerprint.hexdigest(),
    )


def _file_splits(files: _CheckedFiles, parts: dict) -> dict[str, Split]:
    """The `Split`s of checked files from index `parts`."""
    return {
        name: Split(
            labels=files.labels[idx],
            paths=[files.paths[i] for i in idx],
            native=files.native[idx],
        )
        for name, idx in parts.items()
    }


def load_image_folder(
    directory,
    *,
    image_size=None,
    channels: int | None = 3,
    resize: str = "stretch",
    val_split: float = 0.1,
    test_split: float = 0.1,
    seed: int = 0,
    class_names=None,
    classes=None,
    split_record: dict | None = None,
    on_bad_file=None,
    group_by: str | None = None,
    group_duplicates: bool = True,
) -> ImageData:
    """Load a folder-per-class image directory (streamed; nothing decoded yet).

    Every file is decoded once up front to find bad files (zero-byte, truncated,
    not an image, undecodable); they are skipped and listed in `bad_files`.

    Args:
        directory: Root folder with one sub-folder per class (images may be nested
            at any depth below it; jpg/jpeg/png/bmp/gif/webp).
        image_size: N or (height, width). Defaults to None (128x128; `fit` uses
            the model's default size instead).
        channels: 1 (grayscale), 3 (RGB) or 4 (RGBA). Defaults to 3.
        resize: "stretch", "crop" or "pad". Defaults to "stretch".
        val_split: Validation fraction (stratified). Defaults to 0.1.
        test_split: Test fraction (stratified). Defaults to 0.1.
        seed: Split seed. Defaults to 0.
        class_names: Fixed class order (e.g. a trained model's labels); folders
            must be among them. Defaults to None (sorted folder names).
        classes: Class folders to keep, relabelled 0..k-1 in this order
            ("a,b,c" or a list); the others are not read. Defaults to None (all).
        split_record: A recorded split (`ImageData.split_record()`) to reproduce
            exactly instead of splitting. Defaults to None.
        on_bad_file: Called as `on_bad_file(path, reason)` for each bad file.
            Defaults to None.
        group_by: Regex over each file's path relative to `directory`; files
            with the same key (first capture group, else the match) stay in
            one split (`split_groups`). Defaults to None.
        group_duplicates: Keep exact and near-duplicates in one split (a
            group-aware split is used only when some are found). Defaults to
            True.

    Returns:
        An `ImageData`.

    Raises:
        FileNotFoundError: If the directory does not exist.
        ValueError: On < 2 classes, a class without valid images, bad options.

    Example:
        >>> data = load_image_folder("flowers/", image_size=96, seed=1)
        >>> train = data.dataset("train", batch_size=32)
    """
    size, size_source, channels = _file_options(image_size, channels, resize)
    root = os.path.abspath(os.fspath(directory))
    paths, labels, class_names = scan_image_folder(
        root, None if classes is not None else class_names
    )
    source = {"kind": "folder", "path": root}
    if classes is not None:
        from kerasvision.data.datasets import select_classes

        keep, labels, class_names = select_classes(labels, class_names, classes)
        paths = [path for path, kept in zip(paths, keep, strict=True) if kept]
        source["classes"] = list(class_names)
    files = _check_files(
        paths,
        labels,
        class_names,
        root,
        on_bad_file=on_bad_file,
        need_two_classes=split_record is None,
    )
    grouping = None
    if split_record is not None:
        relative = [os.path.relpath(p, root) for p in files.paths]
        parts = split_from_record(split_record, relative, where=root)
        seed = split_record.get("seed", seed)
    else:
        parts, grouping = split_files(
            files.paths,
            files.digests,
            files.labels,
            root,
            (val_split, test_split, seed),
            group_by=group_by,
            duplicates=group_duplicates,
        )
    return ImageData(
        class_names=list(class_names),
        image_size=size,
        channels=channels,
        resize=resize,
        splits=_file_splits(files, parts),
        source=source,
        bad_files=files.bad,
        fingerprint=files.fingerprint,
        seed=seed,
        size_source=size_source,
        split_groups=grouping,
    )


# === Arrays and built-in datasets ===


def _array_labels(y: np.ndarray, class_names):
    """`(int64 labels, float32 soft targets or None, class names)` of `y`."""
    targets = None
    if y.ndim == 2:
        if y.shape[1] < 2:
            y = y.reshape(-1)
        else:
            targets = y.astype("float32")
            labels = np.argmax(y, axis=1).astype("int64")
            num_classes = y.shape[1]
    if y.ndim == 1:
        if y.dtype.kind in "USO":
            names = sorted({str(v) for v in y})
            class_names = class_names or names
            lookup = {name: i for i, name in enumerate(class_names)}
            labels = np.array([lookup[str(v)] for v in y], dtype="int64")
        else:
            if y.dtype.kind == "f" and not np.all(np.equal(np.mod(y, 1), 0)):
                raise ValueError("y must hold integer class labels")
            labels = y.astype("int64")
            if labels.min(initial=0) < 0:
                raise ValueError("y must hold labels >= 0")
        num_classes = int(labels.max(initial=0)) + 1
        if class_names is not None:
            num_classes = max(num_classes, len(class_names))
    elif y.ndim != 2:
        raise ValueError(f"y must be [N] or [N, K], got shape {y.shape}")
    class_names = (
        list(class_names) if class_names else [str(i) for i in range(num_classes)]
    )
    return labels, targets, class_names


def _as_pixels(x: np.ndarray) -> np.ndarray:
    """uint8, or float32 scaled to 0-255 (floats with max <= 1 are taken as 0-1)."""
    if x.dtype.kind == "f":
        x = x.astype("float32")
        if x.max(initial=0) <= 1.0:
            x = x * 255.0
        return np.clip(x, 0, 255)
    if x.dtype != np.uint8:
        return np.clip(x, 0, 255).astype("uint8")
    return x


def from_arrays(
    x,
    y,
    *,
    class_names=None,
    image_size=None,
    channels: int | None = None,
    resize: str = "stretch",
    val_split: float = 0.1,
    test_split: float = 0.1,
    seed: int = 0,
    split_record: dict | None = None,
    source: dict | None = None,
) -> ImageData:
    """In-memory images `x` and labels `y` as an `ImageData`.

    Args:
        x: `[N, H, W]` or `[N, H, W, C]` raw pixels: uint8/integers 0-255, or
            floats (0-255; floats whose maximum is <= 1 are taken as 0-1 and
            scaled to 0-255).
        y: Integer labels `[N]`, string labels `[N]`, or one-hot/soft `[N, K]`.
        class_names: Names in label order. Defaults to None ("0".."K-1", or the
            sorted distinct strings of `y`).
        image_size: N or (height, width) to resize to. Defaults to None (as is).
        channels: 1 or 3. Defaults to None (the array's channels).
        resize: "stretch", "crop" or "pad". Defaults to "stretch".
        val_split: Validation fraction (stratified). Defaults to 0.1.
        test_split: Test fraction (stratified). Defaults to 0.1.
        seed: Split seed. Defaults to 0.
        split_record: Recorded split (indices) to reuse. Defaults to None.
        source: Description stored in run.json. Defaults to None (arrays).

    Returns:
        An `ImageData`.

    Raises:
        ValueError: If shapes or labels are inconsistent or there are < 2 classes.
    """
    x = np.asarray(x)
    if x.ndim == 3:
        x = x[..., None]
    if x.ndim != 4:
        raise ValueError(f"x must be [N, H, W] or [N, H, W, C], got shape {x.shape}")
    if x.shape[-1] not in (1, 3):
        raise ValueError(f"x must have 1 or 3 channels, got {x.shape[-1]}")
    y = np.asarray(y)
    if len(y) != len(x):
        raise ValueError(f"x has {len(x)} images but y has {len(y)} labels")
    labels, targets, class_names = _array_labels(y, class_names)
    if len(class_names) < 2 or len(np.unique(labels)) < 2:
        raise ValueError("need at least 2 classes")
    x = _as_pixels(x)
    channels = channels or x.shape[-1]
    size = parse_image_size(image_size)
    size_source = "natural" if size is None else "explicit"
    size = size or (int(x.shape[1]), int(x.shape[2]))
    if split_record is None:
        parts = stratified_split(labels, val_split, test_split, seed)
    else:
        parts = recorded_indices(split_record)
        seed = split_record.get("seed", seed)
    splits = {
        name: Split(
            labels=labels[idx],
            images=x[idx],
            targets=None if targets is None else targets[idx],
            indices=idx,
        )
        for name, idx in parts.items()
    }
    digest = hashlib.sha256(np.ascontiguousarray(x).tobytes())
    digest.update(np.ascontiguousarray(labels).tobytes())
    return ImageData(
        class_names=class_names,
        image_size=size,
        channels=channels,
        resize=resize,
        splits=splits,
        source=source or {"kind": "arrays", "shape": list(x.shape)},
        fingerprint=digest.hexdigest(),
        seed=seed,
        size_source=size_source,
    )


def load_builtin_dataset(name: str, *, classes=None, **kwargs) -> ImageData:
    """A built-in dataset (`kerasvision.datasets.DATASETS`) as an `ImageData`.

    `classes` keeps those classes, relabelled 0..k-1 in the order given (recorded
    in the source); the other keyword arguments are those of `from_arrays`.
    """
    from kerasvision.data.datasets import load_builtin

    x, y, class_names, is_test = load_builtin(name, classes, with_test_mask=True)
    source = {"kind": "dataset", "name": name}
    if classes is not None:
        source["classes"] = list(class_names)
    if is_test is not None:
        source["official_test_split"] = True
        if kwargs.get("split_record") is None:
            kwargs["split_record"] = official_split(
                y, is_test, kwargs.get("val_split", 0.1), kwargs.get("seed", 0)
            )
    return from_arrays(x, y, class_names=class_names, source=source, **kwargs)


def load_data(data=None, *, dataset=None, **kwargs) -> ImageData:
    """One entry point: a folder path, an `(x, y)` tuple, an `ImageData`, or a name.

    Args:
        data: Folder path, `(x, y)` arrays, or an `ImageData`. Defaults to None.
        dataset: Built-in dataset name, used when `data` is None (default
            "digits"). Defaults to None.
        **kwargs: Passed to `load_image_folder` / `from_arrays`.

    Returns:
        An `ImageData`.
    """
    if isinstance(data, ImageData):
        return data
    if data is not None and dataset is not None:
        raise ValueError("give either a data directory or --dataset, not both")
    if data is None:
        kwargs.pop("on_bad_file", None)
        kwargs.pop("class_names", None)
        return load_builtin_dataset(dataset or "digits", **kwargs)
    if isinstance(data, tuple | list) and len(data) == 2:
        kwargs.pop("on_bad_file", None)
        if kwargs.pop("classes", None) is not None:
            raise ValueError("--classes is for folders and built-in datasets")
        return from_arrays(data[0], data[1], **kwargs)
    if isinstance(data, str | os.PathLike):
        return load_image_folder(data, **kwargs)
    raise ValueError(f"data must be a folder path or (x, y) arrays, got {type(data)!r}")
