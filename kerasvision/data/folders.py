"""Folder-per-class data: scanning, checking, stratified splits, `ImageData`, tf.data.

The pipeline streams: only file paths are held in memory, images are decoded in
parallel `tf.data` map calls and cached (as uint8, after resizing) only when the
cache fits the memory budget.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field

import numpy as np

from kerasvision._choices import RESIZE_MODES
from kerasvision.data.images import (
    check_image_files,
    decode_and_resize,
    parse_image_size,
    resize_image,
    to_channels,
    walk_images,
)

__all__ = [
    "DEFAULT_FOLDER_SIZE",
    "ImageData",
    "Split",
    "from_arrays",
    "group_stratified_split",
    "load_builtin_dataset",
    "load_data",
    "load_image_folder",
    "save_image_folder",
    "scan_image_folder",
    "split_from_record",
    "split_groups",
    "stratified_split",
    "write_builtin_dataset",
]

DEFAULT_FOLDER_SIZE = 128
# The cache holds uint8 images; above this the pipeline streams from disk.
DEFAULT_CACHE_BUDGET = 1 << 30


# === Folder scanning ===


def data_summary(data) -> dict:
    """What run.json records of any image data: source, classes, size, resize."""
    return {
        "source": data.source,
        "class_names": data.class_names,
        "image_size": list(data.image_size),
        "channels": data.channels,
        "resize": data.resize,
    }


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


# === Splits ===


def _check_fractions(val_split: float, test_split: float) -> None:
    for name, value in (("val_split", val_split), ("test_split", test_split)):
        if not 0.0 <= value < 1.0:
            raise ValueError(f"{name} must be in [0, 1), got {value}")
    if val_split + test_split >= 1.0:
        raise ValueError(
            f"val_split + test_split must be < 1, got {val_split} + {test_split}"
        )


def _split_counts(count: int, val_split: float, test_split: float):
    """`(n_test, n_val)` of a class of `count` items (at least one each when the
    fraction is > 0 and the class is big enough)."""
    n_test = int(round(count * test_split))
    n_val = int(round(count * val_split))
    if test_split > 0 and n_test == 0 and count >= 3:
        n_test = 1
    if val_split > 0 and n_val == 0 and count - n_test >= 2:
        n_val = 1
    return n_test, n_val


def stratified_split(labels, val_split: float, test_split: float, seed: int):
    """Seeded stratified split by item: `{"train": idx, "val": idx, "test": idx}`.

    Each class is shuffled with the seed and cut by the fractions (rounded, at
    least one test/val item per class when the fraction is > 0 and the class has
    enough items), so class proportions are kept in every split.

    Raises:
        ValueError: If a fraction is outside [0, 1) or they sum to >= 1.
    """
    _check_fractions(val_split, test_split)
    labels = np.asarray(labels)
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        members = np.flatnonzero(labels == label)
        members = members[rng.permutation(len(members))]
        n_test, n_val = _split_counts(len(members), val_split, test_split)
        parts["test"].append(members[:n_test])
        parts["val"].append(members[n_test : n_test + n_val])
        parts["train"].append(members[n_test + n_val :])
    return {name: np.sort(np.concatenate(chunks)) for name, chunks in parts.items()}


def group_stratified_split(
    labels, groups, val_split: float, test_split: float, seed: int
):
    """Seeded split that keeps every group in one split, stratified by class.

    Each group counts for the class most of its members have. Per class, the
    groups are shuffled with the seed and taken into test, then val, while they
    fit the class's target counts (as `stratified_split` computes them); the
    rest go to train. A split that would stay empty although its fraction is
    > 0 gets the smallest group. With every group a single item this is exactly
    `stratified_split`.

    Args:
        labels: `[N]` integer labels.
        groups: `[N]` group ids (equal ids: same group, e.g. copies of one image
            or one patient's images).
        val_split: Validation fraction.
        test_split: Test fraction.
        seed: Seed.

    Returns:
        `{"train": idx, "val": idx, "test": idx}` (sorted indices).

    Raises:
        ValueError: If a fraction is outside [0, 1) or they sum to >= 1, or the
            lengths differ.
    """
    _check_fractions(val_split, test_split)
    labels, groups = np.asarray(labels), np.asarray(groups)
    if len(labels) != len(groups):
        raise ValueError(f"{len(labels)} labels but {len(groups)} group ids")
    _, group_of = np.unique(groups, return_inverse=True)
    order = np.argsort(group_of, kind="stable")
    bounds = np.flatnonzero(np.diff(group_of[order])) + 1
    members = np.split(order, bounds) if len(order) else []
    members.sort(key=lambda m: m[0])  # groups in order of their first item
    majority = np.array([np.bincount(labels[m]).argmax() for m in members])
    rng = np.random.default_rng(seed)
    parts = {"train": [], "val": [], "test": []}
    for label in np.unique(labels):
        candidates = [members[g] for g in np.flatnonzero(majority == label)]
        candidates = [candidates[i] for i in rng.permutation(len(candidates))]
        count = sum(len(m) for m in candidates)
        n_test, n_val = _split_counts(count, val_split, test_split)
        filled = {"test": 0, "val": 0}
        for group in candidates:
            for name, target in (("test", n_test), ("val", n_val)):
                if filled[name] + len(group) <= target:
                    filled[name] += len(group)
                    parts[name].append(group)
                    break
            else:
                parts["train"].append(group)
    for name, fraction in (("test", test_split), ("val", val_split)):
        if fraction > 0 and not parts[name] and len(parts["train"]) > 1:
            # Every group was bigger than its class's share: rather than an
            # empty split, take the smallest group (still whole).
            smallest = min(
                range(len(parts["train"])), key=lambda i: len(parts["train"][i])
            )
            parts[name].append(parts["train"].pop(smallest))
    return {
        name: np.sort(np.concatenate(chunks)) if chunks else np.zeros(0, np.int64)
        for name, chunks in parts.items()
    }


def split_groups(
    paths, digests, *, root, group_by=None, duplicates: bool = True
) -> np.ndarray | None:
    """Group ids for a leakage-safe split, or None when every file is alone.

    With `duplicates`, files with equal bytes and near-duplicates (when
    imagehash is installed; fingerprints cached by file size and modification
    time) are grouped; with
    `group_by`, files whose path relative to `root` gives the same key are
    grouped. The key is the regex's first capture group, else its whole match
    (`re.search`); a path without a match stays alone.

    Raises:
        ValueError: If `group_by` is not a valid regular expression.
    """
    import re

    from kerasvision.data.duplicates import UnionFind, duplicate_group_ids

    if duplicates:
        ids = duplicate_group_ids(paths, digests, root=root)
    else:
        ids = np.arange(len(paths), dtype=np.int64)
    if group_by is not None:
        try:
            pattern = re.compile(group_by)
        except re.error as error:
            raise ValueError(f"--group-by {group_by!r}: {error}") from None
        sets, first = UnionFind(len(paths)), {}
        for index, group in enumerate(ids):
            sets.union(index, int(group))
        for index, path in enumerate(paths):
            match = pattern.search(os.path.relpath(path, root))
            if match:
                key = match.group(1) if pattern.groups else match.group(0)
                sets.union(index, first.setdefault(key, index))
        ids = np.array([sets.find(i) for i in range(len(paths))], dtype=np.int64)
    return ids if len(np.unique(ids)) < len(ids) else None


def split_from_record(record: dict, names: list[str], *, where: str) -> dict:
    """Indices of a recorded split (`{"train": [name, ...], ...}`) into `names`.

    Raises:
        FileNotFoundError: If a recorded item is no longer among `names`.
    """
    index_of = {name: i for i, name in enumerate(names)}
    parts = {}
    for part in ("train", "val", "test"):
        items = record.get(part, [])
        missing = [item for item in items if item not in index_of]
        if missing:
            raise FileNotFoundError(
                f"{os.path.join(where, str(missing[0]))} of the recorded {part} split "
                f"is missing or no longer a valid image"
            )
        parts[part] = np.array([index_of[item] for item in items], dtype="int64")
    return parts


# === The data object ===


@dataclass
class Split:
    """One split: labels plus either file paths or in-memory images."""

    labels: np.ndarray
    paths: list[str] | None = None
    native: np.ndarray | None = None
    images: np.ndarray | None = None
    targets: np.ndarray | None = None  # one-hot/soft targets when given as such
    indices: np.ndarray | None = None  # positions in the source (arrays, datasets)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class ImageData:
    """A dataset ready for training: class names, splits, and how to build pipelines.

    Attributes:
        class_names: Class names in label order.
        image_size: `(height, width)` images are resized to.
        channels: 1, 3 or 4.
        resize: Resize mode ("stretch", "crop", "pad").
        splits: `{"train": Split, "val": Split, "test": Split}`.
        source: How it was loaded, e.g. `{"kind": "folder", "path": ...}`.
        bad_files: `[(path, reason)]` skipped because they are not valid images.
        fingerprint: sha256 of the data (file names and contents, or array bytes).
        seed: Seed of the split.
    """

    class_names: list[str]
    image_size: tuple[int, int]
    channels: int
    resize: str
    splits: dict[str, Split]
    source: dict
    bad_files: list[tuple[str, str]] = field(default_factory=list)
    fingerprint: str = ""
    seed: int = 0
    size_source: str = "natural"  # "explicit", "natural" or "default"
    split_groups: dict | None = None  # how a group-aware split grouped files

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, int, int]:
        return (self.image_size[0], self.image_size[1], self.channels)

    @property
    def label_mode(self) -> str:
        """ "categorical" when targets were given one-hot/soft, else "int"."""
        train = self.splits["train"]
        return "categorical" if train.targets is not None else "int"

    def with_image_size(self, image_size) -> ImageData:
        """A copy of this data that resizes to `image_size` instead."""
        import dataclasses

        return dataclasses.replace(
            self, image_size=parse_image_size(image_size), size_source="explicit"
        )

    def as_test_split(self) -> ImageData:
        """A copy with every item in the "test" split (for evaluating a folder)."""
        import dataclasses

        everything = self._concatenate(
            [self.splits[k] for k in ("train", "val", "test")]
        )
        empty = self._slice(everything, np.arange(0))
        return dataclasses.replace(
            self, splits={"train": empty, "val": empty, "test": everything}
        )

    @staticmethod
    def _slice(part: Split, index) -> Split:
        def take(values):
            if values is None:
                return None
            if isinstance(values, list):
                return [values[i] for i in index]
            return values[index]

        return Split(
            labels=part.labels[index],
            paths=take(part.paths),
            native=take(part.native),
            images=take(part.images),
            targets=take(part.targets),
            indices=take(part.indices),
        )

    @staticmethod
    def _concatenate(parts) -> Split:
        def join(name):
            values = [getattr(p, name) for p in parts]
            if any(v is None for v in values):
                return None
            if isinstance(values[0], list):
                return [item for v in values for item in v]
            return np.concatenate(values)

        return Split(
            labels=np.concatenate([p.labels for p in parts]),
            paths=join("paths"),
            native=join("native"),
            images=join("images"),
            targets=join("targets"),
            indices=join("indices"),
        )

    def arrays(self, split: str, *, count: int | None = None, seed: int = 0):
        """`(float32 images, labels)` of one split in memory, or a seeded sample.

        Args:
            split: "train", "val" or "test".
            count: Take this many items, drawn without replacement with `seed`
                (kept in split order). Defaults to None (all).
            seed: Seed of the draw. Defaults to 0.

        Returns:
            `(images [N, H, W, C] 0-255, labels [N])`.
        """
        import dataclasses

        part = self.splits[split]
        if count is not None and int(count) < len(part):
            rng = np.random.default_rng(seed)
            index = np.sort(rng.choice(len(part), int(count), replace=False))
            part = self._slice(part, index)
        data = dataclasses.replace(self, splits={**self.splits, split: part})
        batches = data.dataset(
            split, batch_size=64, shuffle=False, include_labels=False, cache="none"
        )
        images = [np.asarray(batch) for batch in batches]
        shape = (0, *self.input_shape)
        return (np.concatenate(images) if images else np.zeros(shape, "float32")), (
            part.labels
        )

    def estimated_cache_bytes(self, split: str) -> int:
        height, width = self.image_size
        return len(self.splits[split]) * height * width * self.channels

    def dataset(
        self,
        split: str,
        *,
        batch_size: int = 32,
        shuffle: bool | None = None,
        seed: int | None = None,
        cache="auto",
        cache_budget: int = DEFAULT_CACHE_BUDGET,
        one_hot: bool = False,
        include_labels: bool = True,
        drop_remainder: bool = False,
        epoch=None,
    ):
        """A batched, prefetched `tf.data.Dataset` of `(float32 images 0-255, labels)`.

        Args:
            split: "train", "val" or "test".
            batch_size: Batch size. Defaults to 32.
            shuffle: Reshuffle every epoch; defaults to True for "train" only.
            seed: Shuffle seed (reproducible order). Defaults to the split seed.
            cache: "auto" (memory when the uint8 images fit `cache_budget`, else
                stream), "memory", "none", or a file path for an on-disk cache.
                Defaults to "auto".
            cache_budget: Bytes allowed for the "auto" memory cache. Defaults to
                1 GiB.
            one_hot: Yield one-hot float labels (for categorical losses/mixing).
                Defaults to False.
            include_labels: Yield `(images, labels)`; False yields images only.
                Defaults to True.
            drop_remainder: Drop the last incomplete batch. Defaults to False.
            epoch: An `epoch_variable()` (`kerasvision.data.epochs`): each
                epoch's order is then a function of `(seed, epoch)`, so a resumed
                run sees the orders of an uninterrupted one. Defaults to None
                (tf.data's per-iteration reshuffle).

        Returns:
            The `tf.data.Dataset`.
        """
        import tensorflow as tf

        from kerasvision.data.epochs import shuffle_per_epoch

        part = self.splits[split]
        if len(part) == 0:
            raise ValueError(f"the {split} split is empty")
        shuffle = (split == "train") if shuffle is None else shuffle
        seed = self.seed if seed is None else seed
        autotune = tf.data.AUTOTUNE
        targets = self.targets(part, one_hot)

        if part.images is not None:
            images = tf.data.Dataset.from_tensor_slices(part.images)
            natural = part.images.shape[1:3] == tuple(self.image_size)
            channels_in = part.images.shape[-1]
            ds = tf.data.Dataset.zip(
                (images, tf.data.Dataset.from_tensor_slices(targets))
            )
            if shuffle:
                ds = shuffle_per_epoch(ds, len(part), seed, epoch)
            if not natural or channels_in != self.channels:
                ds = ds.map(
                    self._array_transform(channels_in), num_parallel_calls=autotune
                )
            else:
                ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
        else:
            paths = tf.data.Dataset.from_tensor_slices(
                (part.paths, part.native.astype(bool), targets)
            )

            def decode(path, native, target):
                image = decode_and_resize(
                    path,
                    native,
                    image_size=self.image_size,
                    channels=self.channels,
                    resize=self.resize,
                )
                return image, target

            cache_mode = self._cache_mode(split, cache, cache_budget)
            if cache_mode == "none":
                ds = paths
                if shuffle:
                    ds = shuffle_per_epoch(ds, len(part), seed, epoch)
                ds = ds.map(decode, num_parallel_calls=autotune)
            else:
                ds = paths.map(decode, num_parallel_calls=autotune)
                ds = ds.cache("" if cache_mode == "memory" else cache_mode)
                if shuffle:
                    # A memory cache holds the images already: shuffling references
                    # is free. A disk cache bounds the buffer to ~256 MB.
                    buffer = len(part)
                    if cache_mode != "memory":
                        per_image = (
                            self.image_size[0] * self.image_size[1] * self.channels
                        )
                        buffer = max(1, min(len(part), (256 << 20) // per_image))
                    ds = shuffle_per_epoch(ds, buffer, seed, epoch)
            ds = ds.map(lambda x, y: (tf.cast(x, tf.float32), y))
        ds = ds.batch(batch_size, drop_remainder=drop_remainder)
        if not include_labels:
            ds = ds.map(lambda x, y: x)
        return ds.prefetch(autotune)

    def targets(self, part: Split, one_hot: bool = False):
        """A split's training targets: its given one-hot/soft targets, else
        one-hot (`one_hot`) or integer labels."""
        if part.targets is not None:
            return part.targets.astype("float32")
        if one_hot:
            return np.eye(self.num_classes, dtype="float32")[part.labels]
        return part.labels.astype("int64")

    def _array_transform(self, channels_in):
        import tensorflow as tf

        def transform(image, target):
            image = tf.cast(image, tf.float32)
            if channels_in == 1 and self.channels == 3:
                image = tf.repeat(image, 3, axis=-1)
            elif channels_in == 3 and self.channels == 1:
                image = to_channels(image, 1)
            image = resize_image(image, self.image_size, self.resize)
            return image, target

        return transform

    def _cache_mode(self, split, cache, cache_budget):
        if cache in (None, False, "none"):
            return "none"
        if cache == "memory" or cache is True:
            return "memory"
        if cache == "auto":
            fits = self.estimated_cache_bytes(split) <= cache_budget
            return "memory" if fits else "none"
        return f"{os.fspath(cache)}.{split}"

    def split_record(self) -> dict:
        """JSON-able record of the split, enough to rebuild it exactly."""
        record = {
            "seed": self.seed,
            "counts": {k: len(v) for k, v in self.splits.items()},
        }
        for name, part in self.splits.items():
            if part.paths is not None:
                root = self.source.get("path", "")
                record[name] = [os.path.relpath(p, root) for p in part.paths]
            elif part.indices is not None:
                record[name] = [int(i) for i in part.indices]
        return record

    def classes_missing(self) -> dict[str, list[str]]:
        """`{"val"|"test": [class names]}` of the classes absent from a non-empty
        validation or test split (too few images to give them any)."""
        missing = {}
        for name in ("val", "test"):
            part = self.splits.get(name)
            if part is None or not len(part):
                continue
            present = set(np.unique(np.asarray(part.labels)).tolist())
            absent = [c for i, c in enumerate(self.class_names) if i not in present]
            if absent:
                missing[name] = absent
        return missing

    def split_warning(self) -> str | None:
        """One line naming the classes without validation/test images, or None."""
        missing = self.classes_missing()
        if not missing:
            return None
        where = {}
        for name, classes in missing.items():
            for cls in classes:
                where.setdefault(cls, []).append(name)
        listed = ", ".join(f"{c!r} (no {'/'.join(s)})" for c, s in where.items())
        return (
            f"warning: {len(where)} class(es) have too few images for every split: "
            f"{listed}; their validation/test metrics are missing (recorded in "
            f"run.json)"
        )

    def summary(self) -> dict:
        """Counts per split and class, for run.json and reports."""
        missing = self.classes_missing()
        return {
            **data_summary(self),
            "counts": {
                name: {
                    cls: int(np.sum(part.labels == i))
                    for i, cls in enumerate(self.class_names)
                }
                for name, part in self.splits.items()
            },
            "bad_files": [list(item) for item in self.bad_files],
            "fingerprint": self.fingerprint,
            **({"split_groups": self.split_groups} if self.split_groups else {}),
            **({"classes_missing": missing} if missing else {}),
        }


# === Loaders ===


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
    channels = 3 if channels is None else channels
    if channels not in (1, 3, 4):
        raise ValueError(f"channels must be 1, 3 or 4, got {channels}")
    if resize not in RESIZE_MODES:
        raise ValueError(f"resize must be one of {RESIZE_MODES}, got {resize!r}")
    size = parse_image_size(image_size)
    size_source = "default" if size is None else "explicit"
    size = size or (DEFAULT_FOLDER_SIZE, DEFAULT_FOLDER_SIZE)
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
    if split_record is None and np.count_nonzero(valid_counts) < 2:
        raise ValueError(f"{root} needs at least 2 classes with valid images")
    paths = [p for p, ok in zip(paths, good, strict=True) if ok]
    native = np.array([c.native for c in checks if c.error is None], dtype=bool)
    digests = [c.digest for c in checks if c.error is None]
    labels = labels[good]

    grouping = None
    if split_record is not None:
        relative = [os.path.relpath(p, root) for p in paths]
        parts = split_from_record(split_record, relative, where=root)
        seed = split_record.get("seed", seed)
    else:
        parts, grouping = _split_folder(
            paths,
            digests,
            labels,
            root,
            (val_split, test_split, seed),
            group_by=group_by,
            duplicates=group_duplicates,
        )
    splits = {
        name: Split(
            labels=labels[idx],
            paths=[paths[i] for i in idx],
            native=native[idx],
        )
        for name, idx in parts.items()
    }
    return ImageData(
        class_names=list(class_names),
        image_size=size,
        channels=channels,
        resize=resize,
        splits=splits,
        source=source,
        bad_files=bad,
        fingerprint=fingerprint.hexdigest(),
        seed=seed,
        size_source=size_source,
        split_groups=grouping,
    )


def _recorded_indices(split_record: dict) -> dict[str, np.ndarray]:
    return {
        k: np.asarray(split_record.get(k, []), dtype="int64")
        for k in ("train", "val", "test")
    }


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


def _split_folder(paths, digests, labels, root, fractions, *, group_by, duplicates):
    """`(parts, grouping record or None)`: a group-aware split when files group."""
    val_split, test_split, seed = fractions
    groups = None
    if (val_split or test_split) and (duplicates or group_by is not None):
        groups = split_groups(
            paths, digests, root=root, group_by=group_by, duplicates=duplicates
        )
    if groups is None:
        return stratified_split(labels, val_split, test_split, seed), None
    _, sizes = np.unique(groups, return_counts=True)
    rules = (["duplicates"] if duplicates else []) + (
        [f"regex {group_by}"] if group_by is not None else []
    )
    grouping = {
        "by": " + ".join(rules),
        "groups": int(np.sum(sizes > 1)),
        "grouped_files": int(np.sum(sizes[sizes > 1])),
    }
    return group_stratified_split(labels, groups, val_split, test_split, seed), grouping


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
        parts = _recorded_indices(split_record)
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


def official_split(labels, is_test, val_split: float, seed: int) -> dict:
    """The official test items as the test split; validation carved from the
    official training items (stratified, seeded); the rest trains.

    Returns:
        A split record (`{"train", "val", "test": indices, "seed"}`).
    """
    labels, is_test = np.asarray(labels), np.asarray(is_test, dtype=bool)
    official_train = np.flatnonzero(~is_test)
    parts = stratified_split(labels[official_train], val_split, 0.0, seed)
    return {
        "train": official_train[parts["train"]].tolist(),
        "val": official_train[parts["val"]].tolist(),
        "test": np.flatnonzero(is_test).tolist(),
        "seed": seed,
    }


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
