"""How a data folder is laid out: one folder per class, or already split.

A folder whose visible sub-folders are all split names (`SPLIT_NAMES`,
case-insensitive: train; val, valid, validation; test, testing), each holding
class folders, is *pre-split* (the layout of ImageNet, most Kaggle sets,
Ultralytics' classify format); any other folder holds one folder per class.
A folder of split names is never read as classes: `scan_image_folder` refuses
it, so nothing ever trains "train vs val".
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np

from kerasvision.data.images import is_image_name, walk_images

__all__ = [
    "SPLITS",
    "SPLIT_NAMES",
    "Layout",
    "canonical_split",
    "check_name",
    "class_folders",
    "detect_layout",
    "scan_image_folder",
]

#: The three splits, in order.
SPLITS = ("train", "val", "test")

#: Folder names (and CSV split values) of each split, lower-case.
SPLIT_NAMES = {
    "train": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "test": "test",
    "testing": "test",
}


def canonical_split(name) -> str | None:
    """ "train", "val" or "test" for a split name (any case), else None."""
    return SPLIT_NAMES.get(str(name).strip().lower())


def check_name(path: str, name: str, what: str) -> None:
    """Refuse names that labels.txt / splits/*.txt (one name per line) cannot hold.

    A class or file name with a line break or another control character, or a
    class name of only spaces, would change the number of lines of those files.
    """
    if any(ord(c) < 32 or ord(c) == 127 for c in name) or (
        what in ("class folder", "class") and not name.strip()
    ):
        raise ValueError(
            f"{what} name {path!r} has a line break, a control character or only "
            f"spaces; rename it"
        )


def _sub_folders(root: str) -> list[str]:
    return sorted(
        entry.name
        for entry in os.scandir(root)
        if entry.is_dir() and not entry.name.startswith(".")
    )


def _check_root(root: str) -> None:
    if not os.path.exists(root):
        raise FileNotFoundError(f"data directory not found: {root}")
    if not os.path.isdir(root):
        raise ValueError(f"data path is not a directory: {root}")


@dataclass(frozen=True)
class Layout:
    """What `detect_layout` found.

    Attributes:
        kind: "class-folders" or "pre-split".
        root: The folder (absolute).
        folders: `{"train": path, "val": path, "test": path}` of a pre-split
            folder (only the splits it has); empty for class folders.
    """

    kind: str
    root: str
    folders: dict = field(default_factory=dict)

    def describe(self) -> str:
        """ "pre-split (train/, val/)" or "one folder per class"."""
        if self.kind != "pre-split":
            return "one folder per class"
        names = ", ".join(f"{os.path.basename(p)}/" for p in self.folders.values())
        return f"pre-split ({names})"


def detect_layout(directory) -> Layout:
    """The layout of a data folder (see the module docstring).

    Raises:
        FileNotFoundError: If the folder does not exist.
        ValueError: If it is not a folder, mixes split folders with other
            folders, names one split twice (val/ and valid/), has split folders
            but no train/, or a split folder holds images but no class folders.
    """
    root = os.path.abspath(os.fspath(directory))
    _check_root(root)
    names = _sub_folders(root)
    splits = [name for name in names if canonical_split(name)]
    if not splits:
        return Layout("class-folders", root)
    nested = [name for name in splits if _sub_folders(os.path.join(root, name))]
    others = [name for name in names if not canonical_split(name)]
    if others:
        if nested:
            raise ValueError(
                f"{root} mixes split folders ({', '.join(nested)}) with other "
                f"folders ({', '.join(others)}); a pre-split folder holds only "
                f"train/, val/ and test/ (each with class folders)"
            )
        return Layout("class-folders", root)  # a class that is called "test"
    flat = [name for name in splits if name not in nested]
    if flat:
        raise ValueError(
            f"{root}: {', '.join(f'{n}/' for n in flat)} are split names, not "
            f"classes, and hold no class folders; put each split's images in "
            f"class folders ({flat[0]}/<class>/...) or give their labels with "
            f"--labels FILE.csv"
        )
    folders: dict[str, str] = {}
    for name in splits:
        split = canonical_split(name)
        if split in folders:
            raise ValueError(
                f"{root} has both {os.path.basename(folders[split])}/ and {name}/ "
                f"(both the {split} split); keep one"
            )
        folders[split] = os.path.join(root, name)
    if "train" not in folders:
        raise ValueError(
            f"{root} is split into {', '.join(f'{n}/' for n in splits)} but has no "
            f"train/ folder"
        )
    return Layout("pre-split", root, {s: folders[s] for s in SPLITS if s in folders})


def class_folders(
    root: str, *, on_loop=None, on_skip=None, within=None
) -> dict[str, list[str]]:
    """`{class: sorted image paths}` of a folder's visible class folders (names
    checked; a class folder without images maps to an empty list). Symlinks
    leading outside `within` (default: `root`) are not followed (`walk_images`;
    `on_skip(path, reason)` is told each)."""
    _check_root(root)
    found = {}
    for name in _sub_folders(root):
        check_name(os.path.join(root, name), name, "class folder")
        paths = walk_images(
            os.path.join(root, name),
            on_loop=on_loop,
            within=root if within is None else within,
            on_skip=on_skip,
        )
        for path in paths:
            check_name(path, os.path.relpath(path, root), "file")
        found[name] = paths
    return found


def _flat_folder_hint(root: str) -> str:
    """What to do with a folder of images and no class folders, or ""."""
    try:
        names = os.listdir(root)
    except OSError:
        return ""
    images = sum(is_image_name(name) for name in names)
    tables = sorted(name for name in names if name.lower().endswith(".csv"))
    if not images:
        return ""
    if tables:
        return (
            f"; it holds {images} images and {tables[0]}: give the labels with "
            f"--labels {os.path.join(root, tables[0])}"
        )
    return f"; it holds {images} images: give their labels with --labels FILE.csv"


def scan_image_folder(directory, class_names=None, *, on_loop=None, on_skip=None):
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
        on_skip: Called as `on_skip(path, reason)` for each symlink leading
            outside `directory` (not followed). Defaults to None.

    Returns:
        `(paths, labels, class_names)` with paths sorted within each class.

    Raises:
        FileNotFoundError: If the directory does not exist.
        ValueError: If it holds fewer than 2 class folders, a class folder holds no
            image, a folder is not among `class_names`, or it is a pre-split
            folder (train/, val/...: its split names are not classes).
    """
    root = os.path.abspath(os.fspath(directory))
    layout = detect_layout(root)
    if layout.kind == "pre-split":
        raise ValueError(
            f"{root} is a {layout.describe()} folder, whose names are not "
            f"classes; load it with kerasvision.data.load_data (fit uses its "
            f"splits)"
        )
    folders = class_folders(root, on_loop=on_loop, on_skip=on_skip)
    if class_names is None:
        if len(folders) < 2:
            found = f"only {next(iter(folders))!r}" if folders else "none"
            raise ValueError(
                f"{root} needs at least 2 class folders (one per class), found "
                f"{found}{_flat_folder_hint(root)}"
            )
        class_names = list(folders)
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
        found = folders.get(name)
        if found is None:
            continue
        if not found and len(folders) == len(class_names):
            raise ValueError(
                f"class folder {os.path.join(root, name)} contains no images"
            )
        paths.extend(found)
        labels.extend([index] * len(found))
    if not paths:
        raise ValueError(f"no images found in {root}")
    return paths, np.asarray(labels, dtype="int64"), class_names
