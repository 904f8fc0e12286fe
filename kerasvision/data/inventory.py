"""Every labelled file of a data source, for inspecting it (`kerasvision doctor`).

Unlike the loaders, nothing is refused that a report can show: one class
folder, empty class folders, classes missing from a split. `inventory` lists
the files of a folder per class, a pre-split folder or a label table with each
file's class and given split (a multi-label table, `label_delim`: each
file under the first of its sorted labels, and the layout's "label_sets":
label frequencies, cardinality and co-occurrence, `label_statistics`);
`split_report` describes the splits: counts per split and class, the classes
a split lacks, and the duplicate groups that straddle splits.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from kerasvision.data.layout import SPLITS, class_folders, detect_layout
from kerasvision.data.table import read_label_rows, resolve_table

__all__ = ["Inventory", "inventory", "split_report"]


@dataclass
class Inventory:
    """The files of a data source.

    Attributes:
        root: The folder file paths are relative to.
        class_names: Class names, sorted.
        files: `(path, class, split or None)` of every file listed.
        layout: `{"kind": "class-folders"|"pre-split"|"table", ...}` (the
            split folders, or the table and its skipped rows).
    """

    root: str
    class_names: list[str]
    files: list[tuple[str, str, str | None]]
    layout: dict = field(default_factory=dict)


def inventory(data, *, labels=None, **columns) -> Inventory:
    """List the files of `data`: a folder per class, a pre-split folder, or
    (with `labels`, or `data` a CSV) a label table.

    Args:
        data: A folder, or a CSV beside its images.
        labels: A CSV of labels for the images of `data`. Defaults to None.
        **columns: `path_column`, `label_column`, `split_column`,
            `label_delim`.

    Returns:
        An `Inventory`.

    Raises:
        FileNotFoundError: If the folder or the CSV does not exist.
        ValueError: If a folder has no class folders, or on a bad table.
    """
    path = os.fspath(data)
    if labels is not None or (path.lower().endswith(".csv") and os.path.isfile(path)):
        root, table = resolve_table(data, labels)
        read = read_label_rows(table, root, **columns)
        files = [(p, sorted(names)[0], split) for _, p, names, split in read.records]
        table = table if isinstance(table, str) else repr(table)
        layout = {"kind": "table", "labels": table, "columns": list(read.columns),
                  "rows": read.total, "bad_rows": read.bad_rows,
                  "description": f"a table of labels, {table}"}  # fmt: skip
        if columns.get("label_delim"):
            layout["label_sets"] = _label_sets(read.records)
        return Inventory(root, sorted({f[1] for f in files}), files, layout)
    found = detect_layout(path)
    folders = found.folders or {None: found.root}
    files, names = [], set()
    for split, folder in folders.items():
        for name, paths in class_folders(folder).items():
            names.add(name)
            files += [(p, name, split) for p in paths]
    if not names:
        raise ValueError(
            f"{found.root} has no class folders (one sub-folder per class)"
        )
    layout = {"kind": found.kind, "description": found.describe()}
    if found.folders:
        layout["folders"] = dict(found.folders)
    return Inventory(found.root, sorted(names), files, layout)


def _label_sets(records) -> dict:
    """`label_statistics` of a multi-label table's rows."""
    import numpy as np

    from kerasvision.data.labelsets import label_statistics

    names = sorted({label for _, _, labels, _ in records for label in labels})
    index = {name: i for i, name in enumerate(names)}
    targets = np.zeros((len(records), len(names)), dtype="float32")
    for row, (_, _, labels, _) in enumerate(records):
        targets[row, [index[label] for label in labels]] = 1.0
    return {"labels": names, **label_statistics(targets, names)}


def split_report(images, groups, class_names) -> dict | None:
    """Counts per split and class, the classes each split lacks and the
    duplicate groups that straddle splits; None without given splits.

    Args:
        images: Records with `path`, `label`, `split` and `error` (doctor's
            `ImageInfo`).
        groups: Duplicate groups with `paths` (doctor's `DuplicateGroup`).
        class_names: All class names.
    """
    splits = [s for s in SPLITS if any(i.split == s for i in images)]
    if not splits:
        return None
    counts = {s: dict.fromkeys(class_names, 0) for s in splits}
    split_of = {}
    for info in images:
        split_of[info.path] = info.split
        if info.error is None and info.split in counts:
            counts[info.split][info.label] += 1
    lacking = {
        s: [c for c, n in counts[s].items() if n == 0]
        for s in splits
        if any(n == 0 for n in counts[s].values())
    }
    straddling = [
        g.paths for g in groups if len({split_of.get(p) for p in g.paths}) > 1
    ]
    return {
        "splits": splits,
        "counts": counts,
        "classes_missing": lacking,
        "cross_split_groups": len(straddling),
        "cross_split_files": [list(paths) for paths in straddling],
    }


def split_warnings(report: dict | None) -> list[str]:
    """The lines `split_report` asks to look at."""
    if not report:
        return []
    lines = [
        f"classes missing from {split}: {', '.join(names)}"
        for split, names in report["classes_missing"].items()
    ]
    if report["cross_split_groups"]:
        lines.append(
            f"{report['cross_split_groups']} duplicate group(s) straddle the splits"
        )
    return lines
