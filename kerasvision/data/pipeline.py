"""`ImageData`: class names, train/val/test `Split`s and their tf.data pipelines.

The pipeline streams: only file paths are held in memory, images are decoded in
parallel `tf.data` map calls and cached (as uint8, after resizing) only when the
cache fits the memory budget.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from kerasvision.data.images import (
    decode_and_resize,
    parse_image_size,
    resize_image,
    to_channels,
)
from kerasvision.data.splits import scored_split

__all__ = [
    "DEFAULT_CACHE_BUDGET",
    "ImageData",
    "Split",
    "data_summary",
    "pipeline_options",
]

# The cache holds uint8 images; above this the pipeline streams from disk.
DEFAULT_CACHE_BUDGET = 1 << 30


def pipeline_options():
    """The `tf.data.Options` of every split's pipeline: tf.data's autotuning
    model off.

    Keras makes a new iterator every epoch, and deleting the previous one
    waits for its autotuning thread: on a 2-core machine, training on 54,000
    in-memory 28x28 images, 5 of 22 epochs stood still for 20-40 s at their
    start (the main thread in the old iterator's destructor), about 15% of the
    run; with the model off, none did (`benchmarks/epoch_start.py`). Parallel
    decoding then makes one call per core at a time, and prefetching sizes its
    buffer by itself (tf.data's per-dataset autotuner, not the model).
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.autotune.enabled = False
    return options


def data_summary(data) -> dict:
    """What run.json records of any image data: source, classes, size, resize
    (and `"multi_label": true` for multi-label data)."""
    return {
        "source": data.source,
        "class_names": data.class_names,
        "image_size": list(data.image_size),
        "channels": data.channels,
        "resize": data.resize,
        **({"multi_label": True} if getattr(data, "multi_label", False) else {}),
    }


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


#: The run file listing the sha256 of each data file (`ImageData.run_files`).
DIGESTS_FILE = "digests.txt"


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
        split_source: Where each split came from, in words: a given folder or
            table, "carved from <folder>" or "none".
        cross_split_duplicates: Duplicate groups straddling given splits
            (`{"groups", "files", "listed"}`), or None.
        bad_rows: `(row, path, reason)` of the table rows skipped.
        notes: Lines to tell once when training starts (`messages`).
        labels_table: CSV text of an in-memory label table, stored with a run
            as `labels.csv` (`run_files`).
        cross_class_duplicates: Groups of identical files filed under different
            classes (`{"groups", "files", "listed"}`), or None.
        file_digests: `{path relative to the source: sha256}` of a file
            source's valid files (a run stores them to name the files that
            changed since), or None.
        multi_label: Each item has a set of labels: every split's `targets`
            are `[N, K]` multi-hot (`labels` holds one of each item's labels,
            for bookkeeping only) and counts are positives per label.
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
    split_source: dict | None = None
    cross_split_duplicates: dict | None = None
    bad_rows: list = field(default_factory=list)
    notes: list = field(default_factory=list)
    labels_table: str | None = None
    cross_class_duplicates: dict | None = None
    file_digests: dict | None = None
    multi_label: bool = False

    @property
    def scored_split(self) -> str:
        """The split a run is scored on: test, else val, else train."""
        return scored_split(self.splits)

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
            self,
            splits={"train": empty, "val": empty, "test": everything},
            split_source=None,
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
        return ds.prefetch(autotune).with_options(pipeline_options())

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
                root = self.source.get("root", self.source.get("path", ""))
                record[name] = [os.path.relpath(p, root) for p in part.paths]
            elif part.indices is not None:
                record[name] = [int(i) for i in part.indices]
        return record

    def class_counts(self, part: Split) -> np.ndarray:
        """Items of each class in a split (positives of each label, multi-label)."""
        if self.multi_label:
            return (np.asarray(part.targets) > 0.5).sum(axis=0).astype("int64")
        return np.bincount(np.asarray(part.labels, "int64"), minlength=self.num_classes)

    def classes_missing(self) -> dict[str, list[str]]:
        """`{"val"|"test": [class names]}` of the classes absent from a non-empty
        validation or test split (too few images to give them any)."""
        missing = {}
        for name in ("val", "test"):
            part = self.splits.get(name)
            if part is None or not len(part):
                continue
            present = set(np.flatnonzero(self.class_counts(part)).tolist())
            absent = [c for i, c in enumerate(self.class_names) if i not in present]
            if absent:
                missing[name] = absent
        return missing

    def given_source(self, split: str) -> str | None:
        """The folder or table a split was given as (not carved), else None."""
        origin = (self.split_source or {}).get(split)
        if origin is None or origin == "none" or origin.startswith("carved from"):
            return None
        return origin

    def split_warning(self) -> str | None:
        """One line naming the classes without validation/test images, or None."""
        missing = self.classes_missing()
        if not missing:
            return None
        where = {}
        for name, classes in missing.items():
            given = self.given_source(name)
            for cls in classes:
                where.setdefault(cls, []).append(
                    name if given is None else f"{name}: {given}"
                )
        listed = ", ".join(f"{c!r} (no {'/'.join(s)})" for c, s in where.items())
        carved = any(self.given_source(name) is None for name in missing)
        why = (
            "have too few images for every split"
            if carved
            else "are missing from a given split"
        )
        what = "label(s)" if self.multi_label else "class(es)"
        return (
            f"warning: {len(where)} {what} {why}: {listed}; their "
            f"validation/test metrics are missing (recorded in run.json)"
        )

    def messages(self) -> list[str]:
        """The lines to tell once when training starts: classes missing from
        a split, skipped table rows, duplicates straddling given splits."""
        warning = self.split_warning()
        return ([warning] if warning else []) + list(self.notes)

    def run_files(self) -> dict[str, str]:
        """Files a run stores besides its splits: `bad_rows.txt` (skipped table
        rows), `labels.csv` (an in-memory label table) and `digests.txt` (the
        sha256 of each file, `file_digests`)."""
        files = {}
        if self.bad_rows:
            files["bad_rows.txt"] = "row\tpath\treason\n" + "".join(
                f"{row}\t{path}\t{reason}\n" for row, path, reason in self.bad_rows
            )
        if self.labels_table is not None:
            files["labels.csv"] = self.labels_table
        if self.file_digests:  # sha256sum's format: names what changes later
            files[DIGESTS_FILE] = "".join(
                f"{digest}  {path}\n"
                for path, digest in sorted(self.file_digests.items())
            )
        return files

    def summary(self) -> dict:
        """Counts per split and class, for run.json and reports."""
        missing = self.classes_missing()
        return {
            **data_summary(self),
            "counts": {
                name: dict(
                    zip(self.class_names, self.class_counts(part).tolist(), strict=True)
                )
                for name, part in self.splits.items()
            },
            "bad_files": [list(item) for item in self.bad_files],
            "fingerprint": self.fingerprint,
            **({"split_groups": self.split_groups} if self.split_groups else {}),
            **({"classes_missing": missing} if missing else {}),
            **({"split_source": self.split_source} if self.split_source else {}),
            **(
                {"cross_split_duplicates": self.cross_split_duplicates}
                if self.cross_split_duplicates
                else {}
            ),
            **(
                {"bad_rows": [list(row) for row in self.bad_rows]}
                if self.bad_rows
                else {}
            ),
            **(
                {"cross_class_duplicates": self.cross_class_duplicates}
                if self.cross_class_duplicates
                else {}
            ),
        }
