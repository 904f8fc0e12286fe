"""From labelled image files to an `ImageData`: check, split, describe.

Every file source (one folder per class, a pre-split folder, `--val-dir` /
`--test-dir`, a CSV of labels) lists its files as a `FileListing`: paths,
labels and, where the source gives them, each file's split. `build_image_data`
decodes every file once (bad files skipped), then splits:

- splits the source gives are kept as given; a class missing from one is a
  warning, a class without training images an error;
- a given validation split without a given test split is the held-out test
  split (pre-split folders, tables; `val_is_test`), and validation is carved
  from the training files, so no metric reported as held-out ever chose an
  epoch, a checkpoint or a temperature;
- what is not given is carved from the training files, seeded, stratified and
  grouped (duplicates, `--group-by`) as `split_files` does.

Duplicates that straddle given splits are reported, never moved. Where each
split came from is `ImageData.split_source`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

from kerasvision._choices import RESIZE_MODES
from kerasvision.data.duplicates import (
    cross_class_duplicates,
    cross_class_note,
    duplicates_note,
)
from kerasvision.data.images import check_image_files, parse_image_size
from kerasvision.data.layout import SPLITS
from kerasvision.data.pipeline import ImageData, Split
from kerasvision.data.splits import split_files, split_from_record

__all__ = [
    "DEFAULT_FOLDER_SIZE",
    "FileListing",
    "bad_rows_note",
    "build_image_data",
    "check_files",
    "file_options",
    "split_roles",
]

DEFAULT_FOLDER_SIZE = 128

#: Cross-split duplicate groups listed in run.json (all are counted).
_LISTED_GROUPS = 20


@dataclass
class FileListing:
    """The labelled image files of one source, before checking and splitting.

    Attributes:
        root: The folder the split record names files relative to.
        paths: Absolute image paths.
        labels: int64 label of each path (into `class_names`).
        class_names: Class names in label order.
        source: What run.json records of the source (enough to list it again).
        given: The split of each file given by the source ("train", "val" or
            "test"), or None when every split is carved.
        origins: Where each given split comes from, e.g. `{"train":
            "/d/train", "val": "/d/val"}` (`{"train": root}` without given
            splits).
        val_is_test: A given "val" split without a given "test" split is the
            held-out test split (False for `--val-dir`).
        carve_root: The folder `--group-by` matches training paths under.
        rows: The table row of each path (tables), else None.
        bad_rows: `(row, path, reason)` of the rows skipped (tables).
        notes: Lines to tell once when the data is used for training.
        labels_table: CSV text to store with a run (an in-memory table).
        extra: Bytes per file that the fingerprint covers besides its path and
            content (a table's label and split). Defaults to None.
        targets: `[N, K]` float32 multi-hot labels of a multi-label source
            (`labels` then holds one of each file's labels, for bookkeeping);
            None for one class per file. Defaults to None.
    """

    root: str
    paths: list[str]
    labels: np.ndarray
    class_names: list[str]
    source: dict
    given: list[str] | None = None
    origins: dict = field(default_factory=dict)
    val_is_test: bool = True
    carve_root: str | None = None
    rows: list[int] | None = None
    bad_rows: list[tuple[int, str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels_table: str | None = None
    extra: list[bytes] | None = None
    targets: np.ndarray | None = None

    def subset(self, keep) -> FileListing:
        """The files where the boolean mask `keep` is True."""
        keep = np.asarray(keep, dtype=bool)

        def take(values):
            if values is None:
                return None
            return [v for v, kept in zip(values, keep, strict=True) if kept]

        return dataclasses.replace(
            self,
            paths=take(self.paths),
            labels=np.asarray(self.labels)[keep],
            given=take(self.given),
            rows=take(self.rows),
            extra=take(self.extra),
            targets=None if self.targets is None else self.targets[keep],
        )


# === Checking files ===


class CheckedFiles(NamedTuple):
    """The valid files of a file source (each decoded once), and what was skipped."""

    paths: list[str]
    labels: np.ndarray
    native: np.ndarray
    digests: list[str]
    bad: list[tuple[str, str]]
    fingerprint: str
    good: np.ndarray


def file_options(image_size, channels, resize):
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


def check_files(
    paths,
    labels,
    class_names,
    root,
    *,
    on_bad_file=None,
    need_two_classes=True,
    extra=None,
) -> CheckedFiles:
    """Decode every file once: skip (and report) bad ones, fingerprint them all.

    The fingerprint covers every listed file (bad ones too) by its path relative
    to `root`, its content digest and its `extra` bytes.

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
    for index, check in enumerate(checks):
        fingerprint.update(os.path.relpath(check.path, root).encode() + b"\0")
        fingerprint.update(check.digest.encode())
        if extra is not None:
            fingerprint.update(b"\0" + extra[index])
    valid_counts = np.bincount(labels[good], minlength=len(class_names))
    for index, count in enumerate(valid_counts):
        if count == 0 and index in set(labels.tolist()):
            raise ValueError(
                f"class {class_names[index]!r} has no valid images "
                f"(all {int(np.sum(labels == index))} files are bad)"
            )
    if need_two_classes and np.count_nonzero(valid_counts) < 2:
        raise ValueError(f"{root} needs at least 2 classes with valid images")
    return CheckedFiles(
        paths=[p for p, ok in zip(paths, good, strict=True) if ok],
        labels=labels[good],
        native=np.array([c.native for c in checks if c.error is None], dtype=bool),
        digests=[c.digest for c in checks if c.error is None],
        bad=bad,
        fingerprint=fingerprint.hexdigest(),
        good=good,
    )


def _file_splits(files: CheckedFiles, parts: dict, targets=None) -> dict[str, Split]:
    """The `Split`s of checked files from index `parts` (with their multi-hot
    `targets`, multi-label files)."""
    return {
        name: Split(
            labels=files.labels[idx],
            paths=[files.paths[i] for i in idx],
            native=files.native[idx],
            targets=None if targets is None else targets[idx],
        )
        for name, idx in parts.items()
    }


# === Splitting ===


def split_roles(given, val_is_test: bool = True) -> dict[str, str | None]:
    """For each split, the given split that fills it, or None when it is carved
    from the training files.

    Args:
        given: The names of the splits the source gives ("train" always).
        val_is_test: A given "val" without a given "test" becomes the test
            split. Defaults to True.

    Example:
        >>> split_roles({"train", "val"})
        {'train': 'train', 'val': None, 'test': 'val'}
    """
    given = set(given)
    if "test" in given:
        return {"train": "train", "val": "val" if "val" in given else None,
                "test": "test"}  # fmt: skip
    if "val" in given:
        if val_is_test:
            return {"train": "train", "val": None, "test": "val"}
        return {"train": "train", "val": "val", "test": None}
    return {"train": "train", "val": None, "test": None}


def _carve(files, pool, roles, fractions, listing, group_by, duplicates):
    """Index parts: the given splits as given, the others carved from `pool`."""
    val_split, test_split, seed = fractions
    carve = (
        val_split if roles["val"] is None else 0.0,
        test_split if roles["test"] is None else 0.0,
        seed,
    )
    sub, grouping = split_files(
        [files.paths[i] for i in pool],
        [files.digests[i] for i in pool],
        files.labels[pool],
        listing.carve_root or listing.root,
        carve,
        group_by=group_by,
        duplicates=duplicates,
        targets=None if listing.targets is None else listing.targets[pool],
    )
    given = np.asarray(listing.given if listing.given is not None else [], dtype=str)
    parts = {}
    for name in SPLITS:
        if name != "train" and roles[name] is not None:
            parts[name] = np.flatnonzero(given == roles[name])
        else:
            parts[name] = np.sort(pool[sub[name]])
    return parts, grouping


def _origins(listing, roles, empty) -> dict[str, str]:
    """Where each split came from, in words (`ImageData.split_source`)."""
    train = listing.origins.get("train", listing.root)
    origin = {}
    for name in SPLITS:
        if name in empty and name != "train":
            origin[name] = "none"
        elif roles[name] is not None:
            origin[name] = listing.origins.get(roles[name], train)
        else:
            origin[name] = f"carved from {train}"
    return origin


def _missing_training(data_labels, class_names, listing, parts) -> None:
    """A class (a label, multi-label) with given files but none in training is
    an error."""
    present = set(np.unique(data_labels).tolist())
    trained = set(np.unique(data_labels[parts["train"]]).tolist())
    if listing.targets is not None:
        present = set(np.flatnonzero(listing.targets.sum(axis=0)).tolist())
        held = listing.targets[parts["train"]].sum(axis=0)
        trained = set(np.flatnonzero(held).tolist())
    missing = [class_names[i] for i in sorted(present - trained)]
    if missing:
        train = listing.origins.get("train", listing.root)
        raise ValueError(
            f"class(es) {', '.join(repr(c) for c in missing)} have no training "
            f"images in {train} (they appear only in another split); add training "
            f"images or leave them out with --classes"
        )


def _cross_split_duplicates(files, given, root) -> dict | None:
    """Duplicate groups whose files lie in different given splits, or None."""
    from kerasvision.data.duplicates import duplicate_group_ids

    ids = duplicate_group_ids(files.paths, files.digests, root=root)
    members: dict[int, list[int]] = {}
    for index, group in enumerate(ids):
        members.setdefault(int(group), []).append(index)
    straddling = [
        m for m in members.values() if len(m) > 1 and len({given[i] for i in m}) > 1
    ]
    if not straddling:
        return None
    return {
        "groups": len(straddling),
        "files": sum(len(m) for m in straddling),
        "listed": [
            [os.path.relpath(files.paths[i], root) for i in m]
            for m in straddling[:_LISTED_GROUPS]
        ],
    }


def _duplicates_note(found: dict) -> str:
    return duplicates_note(
        found,
        "duplicate group(s)",
        "straddle the given splits",
        "reported, not moved",
        "cross_split_duplicates",
    )


def bad_rows_note(bad_rows, source: dict) -> str:
    """One line: how many rows of a table were skipped, and why."""
    reasons: dict[str, int] = {}
    for _, _, reason in bad_rows:
        kind = reason.split(" '")[0].split(" (")[0]
        reasons[kind] = reasons.get(kind, 0) + 1
    counted = ", ".join(f"{n} {kind}" for kind, n in reasons.items())
    total = source.get("rows")
    of = f" of {total}" if total else ""
    return (
        f"skipped {len(bad_rows)}{of} rows of {source.get('labels', 'the table')}: "
        f"{counted} (listed with their row numbers in the run's bad_rows.txt)"
    )


# === The ImageData ===


def _select(listing: FileListing, classes) -> FileListing:
    if classes is None:
        return listing
    if listing.targets is not None:
        raise ValueError("--classes does not apply to multi-label data")
    from kerasvision.data.datasets import select_classes

    keep, labels, names = select_classes(listing.labels, listing.class_names, classes)
    chosen = listing.subset(keep)
    chosen.labels, chosen.class_names = labels, list(names)
    chosen.source = {**listing.source, "classes": list(names)}
    return chosen


def _bad_rows(listing, files) -> list[tuple[int, str, str]]:
    """The table's skipped rows, with the rows of undecodable files, by row."""
    if listing.rows is None:
        return []
    row_of = dict(zip(listing.paths, listing.rows, strict=True))
    decoded = [
        (row_of[path], os.path.relpath(path, listing.root), reason)
        for path, reason in files.bad
    ]
    return sorted(listing.bad_rows + decoded)


def _split(listing, files, options):
    """`(parts, grouping, split_source, cross-split duplicates)`."""
    split_record, (val_split, test_split, seed), group_by, duplicates = options
    listing = listing.subset(files.good)
    given_names = set(listing.given or ()) | {"train"}
    roles = split_roles(given_names, listing.val_is_test)
    if split_record is not None:
        relative = [os.path.relpath(p, listing.root) for p in files.paths]
        parts = split_from_record(split_record, relative, where=listing.root)
        empty = {name for name in SPLITS if not len(parts[name])}
        return parts, None, _origins(listing, roles, empty), None
    if listing.given is None:
        pool = np.arange(len(files.paths))
    else:
        pool = np.flatnonzero(np.asarray(listing.given, dtype=str) == "train")
        if not len(pool):
            train = listing.origins.get("train", listing.root)
            raise ValueError(f"no valid training images in {train}")
    parts, grouping = _carve(
        files, pool, roles, (val_split, test_split, seed), listing, group_by,
        duplicates,
    )  # fmt: skip
    found = None
    if listing.given is not None:
        _missing_training(files.labels, listing.class_names, listing, parts)
        if duplicates and len(given_names) > 1:
            found = _cross_split_duplicates(files, listing.given, listing.root)
    empty = {name for name in SPLITS if not len(parts[name])}
    return parts, grouping, _origins(listing, roles, empty), found


def build_image_data(
    listing: FileListing,
    *,
    image_size=None,
    channels: int | None = 3,
    resize: str = "stretch",
    val_split: float = 0.1,
    test_split: float = 0.1,
    seed: int = 0,
    classes=None,
    split_record: dict | None = None,
    on_bad_file=None,
    group_by: str | None = None,
    group_duplicates: bool = True,
) -> ImageData:
    """Check and split a `FileListing` (see the module docstring).

    The arguments after `listing` are `load_image_folder`'s. Bad files of a
    table become bad rows (its `on_bad_file` is not called).

    Returns:
        An `ImageData` (streamed; nothing decoded yet).

    Raises:
        ValueError: On < 2 classes, a class without valid images or without
            training images, bad options.
    """
    size, size_source, channels = file_options(image_size, channels, resize)
    listing = _select(listing, classes)
    files = check_files(
        listing.paths,
        listing.labels,
        listing.class_names,
        listing.root,
        on_bad_file=on_bad_file if listing.rows is None else None,
        need_two_classes=split_record is None,
        extra=listing.extra,
    )
    options = (split_record, (val_split, test_split, seed), group_by, group_duplicates)
    parts, grouping, origin, duplicates = _split(listing, files, options)
    notes = list(listing.notes)
    bad_rows = _bad_rows(listing, files)
    if bad_rows:
        notes.append(bad_rows_note(bad_rows, listing.source))
    if duplicates:
        notes.append(_duplicates_note(duplicates))
    relative = [os.path.relpath(path, listing.root) for path in files.paths]
    targets = None if listing.targets is None else listing.targets[files.good]
    conflicts = cross_class_duplicates(
        relative, files.digests, files.labels if targets is None else _sets(targets)
    )
    if conflicts:
        notes.append(cross_class_note(conflicts))
    if split_record is not None:
        seed = split_record.get("seed", seed)
    return ImageData(
        class_names=list(listing.class_names),
        image_size=size,
        channels=channels,
        resize=resize,
        splits=_file_splits(files, parts, targets),
        source=listing.source,
        bad_files=[] if listing.rows is not None else files.bad,
        fingerprint=files.fingerprint,
        seed=seed,
        size_source=size_source,
        split_groups=grouping,
        split_source=origin,
        cross_split_duplicates=duplicates,
        bad_rows=bad_rows,
        notes=notes,
        labels_table=listing.labels_table,
        cross_class_duplicates=conflicts,
        file_digests=dict(zip(relative, files.digests, strict=True)),
        multi_label=targets is not None,
    )


def _sets(targets) -> np.ndarray:
    """One id per distinct label set (copies with other sets conflict)."""
    return np.unique(targets > 0.5, axis=0, return_inverse=True)[1].reshape(-1)
