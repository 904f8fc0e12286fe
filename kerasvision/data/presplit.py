"""Splits given as folders: a pre-split folder, or `--val-dir` / `--test-dir`.

A pre-split folder (`DATA/train/`, `DATA/val/`, `DATA/test/`, each holding the
same class folders; see `kerasvision.data.layout`) and a training folder with
`--val-dir` / `--test-dir` (each holding class folders) list their files with
the split each came from; `kerasvision.data.listing` keeps those splits and
carves the missing ones from the training files. The class set is the union of
the splits' class folders.

The two differ in one rule only: a pre-split folder's `val/` without a `test/`
is the held-out test split (validation is carved from `train/`), while
`--val-dir` is always validation. So `fit DATA/train --test-dir DATA/val`
splits exactly as `fit DATA` does for a `DATA` of `train/` and `val/`, and
`fit DATA/train --val-dir DATA/val --test-dir DATA/test` as `train/ val/ test/`.
"""

from __future__ import annotations

import os

import numpy as np

from kerasvision.data.layout import SPLITS, class_folders, detect_layout
from kerasvision.data.listing import FileListing, build_image_data

__all__ = ["load_split_folders", "split_folders_listing"]


def _explicit_folders(root, val_dir, test_dir) -> dict[str, str]:
    """`{"train": DATA, "val": ..., "test": ...}` of `--val-dir` / `--test-dir`."""
    layout = detect_layout(root)
    if layout.kind == "pre-split":
        raise ValueError(
            f"{root} is already a {layout.describe()} folder; drop --val-dir/"
            f"--test-dir, or give its training folder as DATA"
        )
    folders = {"train": root}
    for split, flag, given in (("val", "--val-dir", val_dir),
                               ("test", "--test-dir", test_dir)):  # fmt: skip
        if given is None:
            continue
        path = os.path.abspath(os.fspath(given))
        if not os.path.exists(path):
            raise FileNotFoundError(f"{flag} not found: {path}")
        for other_split, other in folders.items():
            inside = path == other or path.startswith(other + os.sep)
            if inside or other.startswith(path + os.sep):
                what = "DATA" if other_split == "train" else "--val-dir"
                raise ValueError(f"{flag} {path} overlaps {what} {other}")
        if detect_layout(path).kind == "pre-split":
            raise ValueError(
                f"{flag} {path} is a pre-split folder; give a folder of class folders"
            )
        folders[split] = path
    return folders


def _check_classes(per_split, class_names, folders) -> list[str]:
    """The class names in label order (the union of the splits' folders)."""
    found = sorted(
        {name for f in per_split.values() for name, paths in f.items() if paths}
        | set(per_split["train"])
    )
    if class_names is None:
        empty = [name for name, paths in per_split["train"].items() if not paths]
        if empty:
            where = os.path.join(folders["train"], empty[0])
            raise ValueError(f"class folder {where} contains no images")
        if len(found) < 2:
            shown = f"only {found[0]!r}" if found else "none"
            raise ValueError(
                f"{folders['train']} needs at least 2 class folders (one per "
                f"class), found {shown}"
            )
        return found
    unknown = sorted(set(found) - set(class_names))
    if unknown:
        raise ValueError(
            f"class folder(s) {', '.join(unknown)} of {', '.join(folders.values())} "
            f"are not classes of the model ({', '.join(class_names)})"
        )
    return list(class_names)


def split_folders_listing(
    directory,
    *,
    val_dir=None,
    test_dir=None,
    class_names=None,
    on_loop=None,
    recorded: dict | None = None,
) -> FileListing:
    """The files of a pre-split folder, or of a training folder with
    `--val-dir` / `--test-dir`, each with the split it came from.

    Args:
        directory: A pre-split folder, or (with `val_dir` / `test_dir`) the
            training folder (one folder per class).
        val_dir: Validation folder (one folder per class). Defaults to None.
        test_dir: Test folder (one folder per class). Defaults to None.
        class_names: Fixed class order (a trained model's); every class folder
            must be one of them. Defaults to None (the sorted union).
        on_loop: Called with the path of each symlink loop. Defaults to None.
        recorded: A run's record of the source (`ImageData.source`): list its
            folders again, as they were. Defaults to None.

    Returns:
        A `FileListing`.

    Raises:
        FileNotFoundError: If a folder does not exist.
        ValueError: On a bad layout, an empty training class folder or fewer
            than 2 classes.
    """
    root = os.path.abspath(os.fspath(directory))
    if recorded is not None:
        folders, kind = dict(recorded["folders"]), recorded["layout"]
        names_root = recorded.get("root", root)
    elif val_dir is None and test_dir is None:
        layout = detect_layout(root)
        if layout.kind != "pre-split":
            raise ValueError(f"{root} is not split into train/ val/ test/ folders")
        folders, kind, names_root = dict(layout.folders), "pre-split", root
    else:
        folders, kind = _explicit_folders(root, val_dir, test_dir), "explicit"
        names_root = os.path.commonpath(list(folders.values()))
    within = names_root if kind == "pre-split" else None  # links inside DATA
    per_split = {
        split: class_folders(folder, on_loop=on_loop, within=within)
        for split, folder in folders.items()
    }
    names = _check_classes(per_split, class_names, folders)
    paths, labels, given = [], [], []
    for split in SPLITS:
        for index, name in enumerate(names):
            found = per_split.get(split, {}).get(name, [])
            paths += found
            labels += [index] * len(found)
            given += [split] * len(found)
    source = {"kind": "split_folders", "path": root, "layout": kind,
              "folders": folders}  # fmt: skip
    if names_root != root:
        source["root"] = names_root
    return FileListing(
        root=names_root,
        paths=paths,
        labels=np.asarray(labels, dtype="int64"),
        class_names=names,
        source=source,
        given=given,
        origins=dict(folders),
        val_is_test=kind == "pre-split",
        carve_root=folders["train"],
    )


def load_split_folders(
    directory, *, val_dir=None, test_dir=None, class_names=None, **kwargs
):
    """Load a pre-split folder, or a training folder with `--val-dir` /
    `--test-dir`, keeping the given splits (see the module docstring).

    Args:
        directory: See `split_folders_listing`.
        val_dir: See `split_folders_listing`. Defaults to None.
        test_dir: See `split_folders_listing`. Defaults to None.
        class_names: See `split_folders_listing`. Defaults to None.
        **kwargs: `load_image_folder`'s other arguments (`image_size`,
            `val_split`, `seed`, `split_record`, `group_by`...).

    Returns:
        An `ImageData` whose `split_source` says where each split came from.

    Example:
        >>> data = load_split_folders("hymenoptera/", image_size=64, seed=0)
        >>> data.split_source["test"]
        '/.../hymenoptera/val'
    """
    listing = split_folders_listing(
        directory, val_dir=val_dir, test_dir=test_dir, class_names=class_names
    )
    return build_image_data(listing, **kwargs)
