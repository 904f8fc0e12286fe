"""Sources of `ImageData`: folders, label tables, in-memory arrays, built-in datasets.

A file source lists its labelled files as a `FileListing`
(`kerasvision.data.listing`): one folder per class (`scan_image_folder`), a
pre-split folder or `--val-dir`/`--test-dir` (`kerasvision.data.presplit`), a
CSV or DataFrame of labels (`kerasvision.data.table`); `build_image_data`
checks, splits and describes it. `load_data` picks the source of a value,
`load_recorded` rebuilds a run's data from its record and `evaluation_data`
reads other data to evaluate a run on.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os

import numpy as np

from kerasvision.data.images import outside_links_note, parse_image_size
from kerasvision.data.labelsets import NO_LABEL_SETS, multi_hot
from kerasvision.data.layout import detect_layout, scan_image_folder
from kerasvision.data.listing import (
    DEFAULT_FOLDER_SIZE,
    FileListing,
    build_image_data,
    split_roles,
)
from kerasvision.data.pipeline import ImageData, Split
from kerasvision.data.presplit import load_split_folders, split_folders_listing
from kerasvision.data.splits import (
    multilabel_split,
    official_split,
    recorded_indices,
    stratified_split,
)
from kerasvision.data.table import (
    IN_RUN_LABELS,
    LabelTable,
    load_label_table,
    resolve_table,
    table_listing,
    table_splits,
)

__all__ = [
    "DEFAULT_FOLDER_SIZE",
    "SOURCE_OPTIONS",
    "evaluation_data",
    "fit_inputs",
    "from_arrays",
    "given_split_roles",
    "load_builtin_dataset",
    "load_data",
    "load_image_folder",
    "load_label_table",
    "load_recorded",
    "load_split_folders",
    "scan_image_folder",
]

#: `load_data`'s options that choose and read a file source (`DataOptions`).
SOURCE_OPTIONS = (
    "val_dir",
    "test_dir",
    "labels",
    "path_column",
    "label_column",
    "split_column",
    "label_delim",
)
_COLUMNS = ("path_column", "label_column", "split_column", "label_delim")


# === Folders ===


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
    not an image, undecodable); they are skipped and listed in `bad_files`. A
    pre-split folder (`train/`, `val/`, `test/`, each with class folders) keeps
    its splits (`load_split_folders`).

    Args:
        directory: Root folder with one sub-folder per class (images may be nested
            at any depth below it; jpg/jpeg/png/bmp/gif/webp), or a pre-split
            folder.
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
    root = os.path.abspath(os.fspath(directory))
    fixed = None if classes is not None else class_names
    if detect_layout(root).kind == "pre-split":
        listing = split_folders_listing(root, class_names=fixed)
    else:
        links: list[str] = []
        paths, labels, names = scan_image_folder(
            root, fixed, on_skip=lambda path, _: links.append(path)
        )
        listing = FileListing(root, paths, labels, names, {"kind": "folder",
                                                           "path": root})  # fmt: skip
        if links:
            listing.notes.append(outside_links_note(links, root))
    return build_image_data(
        listing,
        image_size=image_size,
        channels=channels,
        resize=resize,
        val_split=val_split,
        test_split=test_split,
        seed=seed,
        classes=classes,
        split_record=split_record,
        on_bad_file=on_bad_file,
        group_by=group_by,
        group_duplicates=group_duplicates,
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
    multi_label: bool = False,
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
        multi_label: `y` is multi-hot `[N, K]` (0/1): each image has a set of
            labels, split by iterative stratification (`multilabel_split`).
            Defaults to False.

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
    if multi_label:
        labels, targets, class_names = multi_hot(y, class_names)
    else:
        labels, targets, class_names = _array_labels(y, class_names)
    if len(class_names) < 2 or (not multi_label and len(np.unique(labels)) < 2):
        raise ValueError("need at least 2 classes")
    x = _as_pixels(x)
    channels = channels or x.shape[-1]
    size = parse_image_size(image_size)
    size_source = "natural" if size is None else "explicit"
    size = size or (int(x.shape[1]), int(x.shape[2]))
    if split_record is None and multi_label:
        parts = multilabel_split(targets, val_split, test_split, seed)
    elif split_record is None:
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
    digest.update(np.ascontiguousarray(targets if multi_label else labels).tobytes())
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
        multi_label=multi_label,
    )


def load_builtin_dataset(name: str, *, classes=None, **kwargs) -> ImageData:
    """A built-in dataset (`kerasvision.datasets.DATASETS`) as an `ImageData`.

    `classes` keeps those classes, relabelled 0..k-1 in the order given (recorded
    in the source); the other keyword arguments are those of `from_arrays`. A
    folder dataset (Oxford-102, Caltech-101) is read from its prepared folder.
    """
    from kerasvision.data.datasets import dataset_folder, load_builtin

    folder = dataset_folder(name)
    if folder is not None:
        return load_image_folder(folder, classes=classes, **kwargs)
    from kerasvision.data.datasets import DATASETS

    x, y, class_names, is_test = load_builtin(name, classes, with_test_mask=True)
    source = {"kind": "dataset", "name": name}
    kwargs["multi_label"] = DATASETS[name].multi_label
    if classes is not None:
        source["classes"] = list(class_names)
    if is_test is not None:
        source["official_test_split"] = True
        if kwargs.get("split_record") is None:
            kwargs["split_record"] = official_split(
                y, is_test, kwargs.get("val_split", 0.1), kwargs.get("seed", 0)
            )
    return from_arrays(x, y, class_names=class_names, source=source, **kwargs)


def _is_table(data) -> bool:
    return isinstance(data, str | os.PathLike) and os.fspath(data).lower().endswith(
        ".csv"
    )


def _builtin(dataset, multi_label, kwargs) -> ImageData:
    """A built-in dataset, refused when its kind of labels is not the task's."""
    kwargs.pop("on_bad_file", None)
    kwargs.pop("class_names", None)
    data = load_builtin_dataset(dataset or "digits", **kwargs)
    if data.multi_label and not multi_label:
        raise ValueError(
            f"{dataset} is a multi-label dataset (a set of labels per image): "
            f"train it with --task multilabel"
        )
    if multi_label and not data.multi_label:
        raise ValueError(f"{dataset or 'digits'}: one class per image; {NO_LABEL_SETS}")
    return data


def load_data(data=None, *, dataset=None, multi_label=False, **kwargs) -> ImageData:
    """One entry point: a folder, a CSV, `(x, y)` arrays, an `ImageData`, or a name.

    Args:
        data: Folder path (one folder per class, or pre-split), a CSV of
            labels beside the images, `(x, y)` arrays, or an `ImageData`.
            Defaults to None.
        dataset: Built-in dataset name, used when `data` is None (default
            "digits"). Defaults to None.
        multi_label: Each image has a set of labels (`--task multilabel`): a
            CSV's cells are split by `label_delim`, arrays' `y` is multi-hot;
            folders are refused. Defaults to False.
        **kwargs: Passed to `load_image_folder` / `from_arrays`; the file
            source options (`SOURCE_OPTIONS`: `val_dir`, `test_dir`, `labels`
            and the table's columns) choose `load_split_folders` or
            `load_label_table`.

    Returns:
        An `ImageData`.
    """
    if isinstance(data, ImageData):
        return data
    chosen = {k: kwargs.pop(k) for k in SOURCE_OPTIONS if k in kwargs}
    chosen = {k: v for k, v in chosen.items() if v is not None}
    if data is not None and dataset is not None:
        raise ValueError("give either a data directory or --dataset, not both")
    if chosen.get("labels") is not None or _is_table(data):
        if "val_dir" in chosen or "test_dir" in chosen:
            raise ValueError(
                "--val-dir/--test-dir do not apply with a label table (its split "
                "column gives the splits)"
            )
        return load_label_table(data, **chosen, multi_label=multi_label, **kwargs)
    columns = [k for k in _COLUMNS if k in chosen]
    if columns:
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in columns)
        raise ValueError(f"{flags} only apply with --labels (a table of labels)")
    if multi_label and isinstance(data, str | os.PathLike):
        raise ValueError(NO_LABEL_SETS)
    if chosen:
        if not isinstance(data, str | os.PathLike):
            raise ValueError("--val-dir/--test-dir need DATA (the training folder)")
        if kwargs.get("classes") is not None:
            kwargs["class_names"] = None
        return load_split_folders(data, **chosen, **kwargs)
    if data is None:
        return _builtin(dataset, multi_label, kwargs)
    if isinstance(data, tuple | list) and len(data) == 2:
        kwargs.pop("on_bad_file", None)
        if kwargs.pop("classes", None) is not None:
            raise ValueError("--classes is for folders and built-in datasets")
        return from_arrays(data[0], data[1], multi_label=multi_label, **kwargs)
    if isinstance(data, str | os.PathLike):
        return load_image_folder(data, **kwargs)
    raise ValueError(f"data must be a folder path or (x, y) arrays, got {type(data)!r}")


# === Runs: rebuilding, evaluating, training again ===


def _run_labels(labels, run_dir):
    """A table's recorded labels: the run's `labels.csv` for an in-memory one."""
    if labels != IN_RUN_LABELS:
        return labels
    if run_dir is None:
        raise ValueError("this run's labels were given in memory; load it with its run")
    return os.path.join(run_dir, "labels.csv")


def load_recorded(
    source: dict, split_record: dict, *, run_dir=None, class_names=None, **common
) -> ImageData:
    """A run's data, rebuilt from its record: `source` (run.json "data") and
    the exact `split_record` (run.json "split").

    Args:
        source: The recorded source (`ImageData.source`).
        split_record: The recorded split (`ImageData.split_record()`).
        run_dir: The run (where an in-memory label table is stored). Defaults
            to None.
        class_names: The run's classes in label order. Defaults to None.
        **common: `image_size`, `channels`, `resize`.

    Returns:
        An `ImageData` with the run's splits.

    Raises:
        ValueError: For a run on in-memory arrays.
        FileNotFoundError: If a recorded file is gone.
    """
    kind, classes = source["kind"], source.get("classes")
    fixed = None if classes else class_names
    kwargs = {"classes": classes, "split_record": split_record, **common}
    if kind == "folder":
        return load_image_folder(source["path"], class_names=fixed, **kwargs)
    if kind == "split_folders":
        listing = split_folders_listing(
            source["path"], class_names=fixed, recorded=source
        )
        return build_image_data(listing, **kwargs)
    if kind == "table":
        listing = table_listing(
            source["path"],
            _run_labels(source["labels"], run_dir),
            class_names=fixed,
            multi_label=bool(source.get("multi_label")),
            **{k: source.get(k) for k in _COLUMNS},
        )
        return build_image_data(listing, **kwargs)
    if kind == "dataset":
        return load_builtin_dataset(
            source["name"], classes=classes, split_record=split_record, **common
        )
    where = f"run {run_dir}" if run_dir else "the run"
    raise ValueError(
        f"{where} was trained on in-memory arrays; give a data directory to evaluate it"
    )


def _held_out(listing: FileListing) -> FileListing:
    """The files to evaluate a run on: a given test split, else a given val
    split (the held-out one by the splits' rule), else all."""
    if listing.given is None:
        return listing
    roles = split_roles(set(listing.given) | {"train"}, listing.val_is_test)
    if roles["test"] is None:
        raise ValueError(f"{listing.root} has no test or val split to evaluate on")
    chosen = listing.subset([g == roles["test"] for g in listing.given])
    chosen.origins = {"train": listing.origins.get(roles["test"], listing.root)}
    chosen.given = None
    return chosen


def evaluation_data(path, class_names, *, label_delim=None, **common) -> ImageData:
    """Other data to evaluate a run on, all in the "test" split: a folder per
    class, the test (else val) folder of a pre-split folder, or a CSV's rows
    (its test, else val, rows when it has a split column).

    Args:
        path: A folder or a CSV (paths relative to its folder); an
            `ImageData` is returned as it is.
        class_names: The run's classes; other classes are an error.
        label_delim: A multi-label run's separator of labels in a CSV cell:
            its rows are then label sets (folders are refused). Defaults to
            None (one class per image).
        **common: `image_size`, `channels`, `resize`.

    Returns:
        An `ImageData` whose `split_source["test"]` says what was read.
    """
    if isinstance(path, ImageData):  # loaded already
        return path
    path = os.path.abspath(os.fspath(path))
    if label_delim is not None and not (_is_table(path) and os.path.isfile(path)):
        raise ValueError(f"{path}: {NO_LABEL_SETS}")
    if _is_table(path) and os.path.isfile(path):
        listing = _held_out(
            table_listing(
                path,
                class_names=class_names,
                label_delim=label_delim,
                multi_label=label_delim is not None,
            )  # fmt: skip
        )
    elif detect_layout(path).kind == "pre-split":
        listing = _held_out(split_folders_listing(path, class_names=class_names))
    else:
        paths, labels, names = scan_image_folder(path, class_names)
        listing = FileListing(path, paths, labels, names, {"kind": "folder",
                                                           "path": path})  # fmt: skip
    data = build_image_data(listing, val_split=0.0, test_split=0.0, **common)
    what = listing.origins.get("train", path)
    return dataclasses.replace(
        data.as_test_split(),
        split_source={"train": "none", "val": "none", "test": what},  # fmt: skip
    )


def fit_inputs(source: dict, run_dir=None) -> tuple[object, dict]:
    """What training a recorded run again takes: `(data, config changes)`.

    A folder's path (the data argument of `fit`), the training folder with the
    `val_dir` / `test_dir` of a `--val-dir` run, a table's folder with its
    labels (an in-memory table read back from the run's `labels.csv`); None
    for a built-in dataset.

    Raises:
        ValueError: For a run on in-memory arrays.
    """
    kind = source["kind"]
    if kind == "arrays":
        raise ValueError("a run on in-memory arrays cannot be read back from disk")
    if kind == "split_folders" and source.get("layout") == "explicit":
        folders = source["folders"]
        changes = {"val_dir": folders.get("val"), "test_dir": folders.get("test")}
        return folders["train"], changes
    if kind == "table":
        labels = _run_labels(source["labels"], run_dir)
        if source["labels"] == IN_RUN_LABELS:
            labels = LabelTable.from_csv(labels)
        return source["path"], {"data": source["path"], "labels": labels}
    if kind in ("folder", "split_folders", "segmentation_folder"):
        return source.get("path"), {}
    return None, {}


def given_split_roles(
    data=None, *, labels=None, val_dir=None, test_dir=None, split_column=None
) -> dict | None:
    """Which splits a fit's data gives (`split_roles`: for each split, the
    given split that fills it, or None when carved), or None when the data
    cannot be read yet (the loader then says why)."""
    try:
        if labels is not None or _is_table(data):
            root, table = resolve_table(data, labels)
            given = table_splits(table, root, split_column)
            return None if given is None else split_roles(given | {"train"})
        if val_dir is not None or test_dir is not None:
            given = {"train"} | {"val"} if val_dir is not None else {"train"}
            given |= {"test"} if test_dir is not None else set()
            return split_roles(given, val_is_test=False)
        if data is None or not os.path.isdir(data):
            return None
        layout = detect_layout(data)
    except (OSError, ValueError):
        return None
    return split_roles(set(layout.folders) | {"train"}) if layout.folders else None
