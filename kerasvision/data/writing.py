"""Writing images as a dataset `fit` reads: one folder per class, a pre-split
folder (train/, val/, test/ of class folders), or a flat folder of images with
a CSV of labels (`labels.csv`: path,label[,split]). Multi-label images (a set
of labels each) are written only as the CSV, their labels joined by
`LABEL_DELIM` (`fit DIR/labels.csv --label-delim ';'`)."""

from __future__ import annotations

import csv
import os
import shutil

import numpy as np

from kerasvision.data.images import parse_image_size

__all__ = [
    "LABEL_DELIM",
    "WRITE_LAYOUTS",
    "parse_fractions",
    "resplit_folder",
    "save_image_folder",
    "write_builtin_dataset",
]

#: What `save_image_folder` writes: one folder per class, train/ val/ test/
#: folders of class folders, or a flat folder plus labels.csv.
WRITE_LAYOUTS = ("class-folders", "pre-split", "csv")
#: What separates the labels of a multi-label image in a written `labels.csv`.
LABEL_DELIM = ";"


def parse_fractions(value) -> tuple[float, float, float]:
    """`"70/15/15"`, `"0.7,0.15,0.15"` or a triple -> train/val/test fractions
    summing to 1.

    Raises:
        ValueError: On anything else.
    """
    parts = value
    if isinstance(value, str):
        parts = value.replace("/", ",").split(",")
    bad = f"splits must be TRAIN,VAL,TEST fractions (e.g. 70/15/15), got {value!r}"
    try:
        numbers = [float(p) for p in parts]
    except (TypeError, ValueError):
        raise ValueError(bad) from None
    total = sum(numbers)
    if len(numbers) != 3 or min(numbers) < 0 or numbers[0] <= 0 or total <= 0:
        raise ValueError(bad)
    return tuple(n / total for n in numbers)


def _split_names(labels, layout, splits, seed):
    """The split of each item (None for class folders without splits)."""
    if layout == "class-folders" or (layout == "csv" and splits is None):
        return [None] * len(labels)
    from kerasvision.data.splits import multilabel_split, stratified_split

    _, val, test = parse_fractions(splits if splits is not None else (0.8, 0.1, 0.1))
    carve = multilabel_split if np.ndim(labels) == 2 else stratified_split
    parts = carve(labels, val, test, seed)
    names = np.empty(len(labels), dtype=object)
    for name, index in parts.items():
        names[index] = name
    return names.tolist()


def _write_labels_csv(folder, rows, with_split) -> None:
    with open(os.path.join(folder, "labels.csv"), "w", encoding="utf-8",
              newline="") as stream:  # fmt: skip
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(["path", "label", "split"] if with_split else ["path", "label"])
        writer.writerows(row if with_split else row[:2] for row in rows)


def save_image_folder(
    x,
    y,
    class_names,
    directory,
    *,
    image_size=None,
    image_format: str = "png",
    layout: str = "class-folders",
    splits=None,
    seed: int = 0,
) -> list[str]:
    """Write images as a dataset `fit` reads (see the module docstring).

    Args:
        x: uint8 `[N, H, W]` or `[N, H, W, C]` (C = 1 or 3) raw pixels.
        y: Integer labels `[N]`, or multi-hot `[N, K]` label sets (layout
            "csv" only: cells of `LABEL_DELIM`-joined labels).
        class_names: Folder name of each label.
        directory: Destination; must not exist yet or be empty.
        image_size: N or (height, width) to resize to (bilinear). Defaults to None.
        image_format: "png", "jpg" or "bmp". Defaults to "png".
        layout: "class-folders", "pre-split" (`<split>/<class>/`; a split of
            fraction 0 is left out) or "csv" (images in `directory`, and
            `labels.csv`). Defaults to "class-folders".
        splits: Train, val, test fractions ("70/15/15", "0.8,0.1,0.1"), split
            seeded and stratified (iterative stratification for label sets);
            with "csv" they fill a split column. A list gives each image's
            split ("train", "val", "test"). Defaults to None (0.8/0.1/0.1 for
            "pre-split"; no split column).
        seed: Seed of the split. Defaults to 0.

    Returns:
        The written image paths.

    Raises:
        ValueError: If the destination exists and is not empty, or on bad input.
    """
    from PIL import Image

    from kerasvision._files import staged_dir

    directory = os.fspath(directory)
    if os.path.exists(directory) and (
        not os.path.isdir(directory) or os.listdir(directory)
    ):
        raise ValueError(f"destination {directory} exists and is not an empty folder")
    if image_format not in ("png", "jpg", "bmp"):
        raise ValueError(f"image format must be png, jpg or bmp, got {image_format!r}")
    if layout not in WRITE_LAYOUTS:
        raise ValueError(f"layout must be one of {WRITE_LAYOUTS}, got {layout!r}")
    x = np.asarray(x)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    size = parse_image_size(image_size)
    y = np.asarray(y)
    if y.ndim == 2 and layout != "csv":
        raise ValueError(
            f"multi-label images (a set of labels each) cannot be written as "
            f"{layout} folders: use the csv layout"
        )
    split_of = list(splits) if isinstance(splits, list) else None
    split_of = split_of or _split_names(y, layout, splits, seed)
    written, rows = [], []
    # Staged beside the destination (a marked `.dataset-<pid>-*` folder): a full
    # disk, an error, Ctrl-C or SIGTERM leaves nothing behind.
    with staged_dir(directory, prefix=".dataset-") as staging:
        for index, (pixels, label) in enumerate(zip(x, y, strict=True)):
            name = f"{index:06d}.{image_format}"
            if layout == "csv":
                parts = [name]
                rows.append((name, _cell(label, class_names), split_of[index]))
            else:
                parts = [str(class_names[int(label)]), name]
            if layout == "pre-split":
                parts.insert(0, split_of[index])
            os.makedirs(os.path.join(staging, *parts[:-1]), exist_ok=True)
            image = Image.fromarray(np.asarray(pixels, dtype=np.uint8))
            if size is not None:
                image = image.resize((size[1], size[0]), Image.Resampling.BILINEAR)
            image.save(os.path.join(staging, *parts))
            written.append(os.path.join(directory, *parts))
        if layout == "csv":
            _write_labels_csv(staging, rows, split_of[0] is not None)
    return written


def _cell(label, class_names) -> str:
    """A label cell: the class, or the `LABEL_DELIM`-joined labels of a set."""
    if np.ndim(label) == 1:
        return LABEL_DELIM.join(str(class_names[i]) for i in np.flatnonzero(label))
    return str(class_names[int(label)])


def resplit_folder(
    source, directory, *, splits="70/15/15", seed: int = 0, layout: str = "pre-split"
) -> dict[str, int]:
    """Write a folder-per-class dataset again as a pre-split folder or a flat
    folder with `labels.csv` (hard links to the original files where the file
    system allows, else copies).

    Args:
        source: A folder with one sub-folder per class.
        directory: Destination; must not exist yet or be empty.
        splits: Train, val, test fractions (seeded, stratified). Defaults to
            "70/15/15".
        seed: Seed of the split. Defaults to 0.
        layout: "pre-split" or "csv". Defaults to "pre-split".

    Returns:
        Images per split.

    Example:
        >>> resplit_folder("flowers5/", "/tmp/flowers5-split", splits="70/15/15")
        {'train': 2844, 'val': 610, 'test': 610}
    """
    from kerasvision.data.layout import scan_image_folder

    if layout not in ("pre-split", "csv"):
        raise ValueError(f"layout must be pre-split or csv, got {layout!r}")
    directory = os.fspath(directory)
    if os.path.exists(directory) and os.listdir(directory):
        raise ValueError(f"destination {directory} exists and is not an empty folder")
    paths, labels, names = scan_image_folder(source)
    split_of = _split_names(labels, "pre-split", splits, seed)
    rows = []
    for path, label, split in zip(paths, labels, split_of, strict=True):
        relative = os.path.relpath(path, os.path.abspath(os.fspath(source)))
        if layout == "pre-split":
            target = os.path.join(directory, split, relative)
        else:
            target = os.path.join(directory, "images", relative)
            rows.append((os.path.join("images", relative), names[label], split))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:  # a hard link where the file system allows it, else a copy
            os.link(path, target)
        except OSError:
            shutil.copy2(path, target)
    if layout == "csv":
        _write_labels_csv(directory, rows, True)
    return {name: split_of.count(name) for name in ("train", "val", "test")}


def write_builtin_dataset(name: str, directory, **kwargs):
    """Write a built-in dataset as a folder-per-class dataset.

    Args:
        name: A built-in dataset (`kerasvision.data.list_datasets()`).
        directory: Destination; must not exist yet or be empty.
        **kwargs: `save_image_folder`'s `image_size`, `image_format`,
            `layout`, `splits` and `seed`.

    Returns:
        `(written paths, class names)`.

    Raises:
        ValueError: On an unknown name or a non-empty destination.
    """
    from kerasvision.data.datasets import DATASETS, load_builtin

    spec = DATASETS.get(name)
    if spec is not None and spec.multi_label:
        x, y, class_names, is_test = load_builtin(name, with_test_mask=True)
        kwargs.setdefault("layout", "csv")
        if kwargs.get("splits") is None and is_test is not None:  # the official one
            kwargs["splits"] = ["test" if test else "train" for test in is_test]
    else:
        x, y, class_names = load_builtin(name)
    return save_image_folder(x, y, class_names, directory, **kwargs), class_names
