"""Labels from a table: a CSV file, or a pandas DataFrame, of (path, label[, split]).

The table has a header row. The path column (default: the first) names each
image relative to the data folder (or absolutely, inside it); the label column
(default: the second) its class; an optional split column (`split`, any case,
or the one `--split-column` names) its split: train; val, valid, validation;
test, testing (any case). With a split column the splits are given as with a
pre-split folder (`kerasvision.data.listing`): a val split without a test split
is the held-out test split and validation is carved from train.

Rows are numbered as a spreadsheet shows them (the header is row 1). A row that
names a missing, undecodable or outside file, has an empty label or an unknown
split value is skipped and listed with its row number (`bad_rows.txt` of the
run, one summary line); a path named twice is an error naming both rows, and so
is a table left without rows or a class left without images by the skipping
(as a class folder of bad files is).
`--label-delim` splits a label cell into several labels (multi-label data,
`--task multilabel`: each image gets the set of its labels, multi-hot `[N, K]`
targets); classification takes one label per image, so a cell holding several
is an error naming its row there.
"""

from __future__ import annotations

import csv
import io
import os
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from kerasvision.data.labelsets import primary_labels
from kerasvision.data.layout import canonical_split, check_name
from kerasvision.data.listing import FileListing, build_image_data

__all__ = [
    "IN_RUN_LABELS",
    "LabelRows",
    "LabelTable",
    "as_label_table",
    "is_dataframe",
    "load_label_table",
    "read_label_rows",
    "resolve_table",
    "table_listing",
    "table_splits",
]

#: How run.json names a label table that was given in memory (a DataFrame):
#: the run stores it as `labels.csv`.
IN_RUN_LABELS = "RUN/labels.csv"


def is_dataframe(value) -> bool:
    """Whether `value` is a pandas DataFrame (without importing pandas)."""
    module = type(value).__module__ or ""
    return module.split(".")[0] == "pandas" and hasattr(value, "columns")


@dataclass(frozen=True)
class LabelTable:
    """A label table given in memory (e.g. a pandas DataFrame), as text cells.

    Attributes:
        header: The column names.
        rows: One tuple of cells per row.
    """

    header: tuple
    rows: tuple

    @classmethod
    def from_frame(cls, frame) -> LabelTable:
        """A DataFrame's columns and rows (missing values as empty cells)."""

        def cell(value) -> str:
            if value is None or (isinstance(value, float) and value != value):
                return ""
            return str(value)

        header = tuple(str(name) for name in frame.columns)
        rows = tuple(
            tuple(cell(v) for v in row) for row in frame.itertuples(index=False)
        )
        return cls(header, rows)

    @classmethod
    def from_csv(cls, path) -> LabelTable:
        """A CSV file read back (a run's `labels.csv`)."""
        header, rows = _read_cells(os.fspath(path))
        return cls(tuple(header), tuple(tuple(cells) for _, cells in rows))

    def csv_text(self) -> str:
        """The table as CSV (what a run stores as `labels.csv`)."""
        stream = io.StringIO()
        writer = csv.writer(stream, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows(self.rows)
        return stream.getvalue()

    def to_json(self) -> str:
        """What run.json records: the run's copy, `IN_RUN_LABELS`."""
        return IN_RUN_LABELS

    def __repr__(self) -> str:
        return f"LabelTable({len(self.rows)} rows: {', '.join(self.header)})"


def as_label_table(value):
    """A labels value as the config keeps it: a path (str), or a `LabelTable`
    for a DataFrame; None stays None.

    Raises:
        ValueError: For anything else.
    """
    if value is None or isinstance(value, LabelTable):
        return value
    if isinstance(value, str | os.PathLike):
        return os.fspath(value)
    if is_dataframe(value):
        return LabelTable.from_frame(value)
    raise ValueError(
        f"labels must be a CSV path or a pandas DataFrame, got {type(value).__name__}"
    )


def resolve_table(data, labels):
    """`(root, labels)`: the data folder and the table (an absolute CSV path or
    a `LabelTable`). A CSV given as `data` is a table beside its images; a
    relative `labels` path is looked up in the working folder, then in `data`.

    Raises:
        FileNotFoundError: If the folder or the CSV does not exist.
        ValueError: If a DataFrame comes without its folder.
    """
    labels = as_label_table(labels)
    if labels is None:
        table = os.path.abspath(os.fspath(data))
        return os.path.dirname(table), table
    if data is None:
        if isinstance(labels, LabelTable):
            raise ValueError(
                "a DataFrame of labels needs data: the folder its paths are "
                "relative to (absolute paths must lie inside it)"
            )
        table = os.path.abspath(labels)
        root = os.path.dirname(table)
    else:
        root = os.path.abspath(os.fspath(data))
        if not os.path.isdir(root):
            raise FileNotFoundError(f"data directory not found: {root}")
        if isinstance(labels, LabelTable):
            return root, labels
        table = os.path.abspath(labels)
        beside = os.path.join(root, labels)
        if not os.path.exists(table) and os.path.exists(beside):
            table = beside
    if not os.path.isfile(table):
        raise FileNotFoundError(f"labels file not found: {labels}")
    return root, table


# === Reading ===


def _read_cells(table) -> tuple[list[str], list[tuple[int, list[str]]]]:
    """`(header, [(row number, cells)])`; empty rows are left out."""
    if isinstance(table, LabelTable):
        rows = [(number, list(cells)) for number, cells in enumerate(table.rows, 2)]
        return list(table.header), rows
    try:
        with open(table, encoding="utf-8-sig", newline="") as stream:
            reader = csv.reader(stream)
            header, rows = None, []
            for cells in reader:
                if not any(cell.strip() for cell in cells):
                    continue
                if header is None:
                    header = cells
                else:
                    rows.append((reader.line_num, cells))
    except UnicodeDecodeError:
        raise ValueError(f"{table} is not a UTF-8 text (CSV) file") from None
    except csv.Error as error:
        raise ValueError(f"{table}: not a readable CSV file ({error})") from None
    if header is None:
        raise ValueError(
            f"{table} is empty; it needs a header row (e.g. path,label[,split])"
        )
    return header, rows


def _column(header, name, flag, default, table) -> int | None:
    names = [cell.strip() for cell in header]
    if name is None:
        return default
    for candidates in (names, [n.lower() for n in names]):
        wanted = name if candidates is names else name.lower()
        if wanted in candidates:
            return candidates.index(wanted)
    raise ValueError(
        f"{flag} {name!r} is not a column of {table} (columns: {', '.join(names)})"
    )


def _columns(header, table, path_column, label_column, split_column):
    """Indices of the path, label and split (or None) columns."""
    if len(header) < 2 and (path_column is None or label_column is None):
        raise ValueError(
            f"{table} has {len(header)} column(s); it needs a path and a label "
            f"column (a header row such as path,label[,split])"
        )
    path = _column(header, path_column, "--path-column", 0, table)
    label = _column(header, label_column, "--label-column", 1, table)
    if path == label:
        raise ValueError(f"the path and label columns of {table} are the same")
    lowered = [cell.strip().lower() for cell in header]
    default = lowered.index("split") if "split" in lowered else None
    split = _column(header, split_column, "--split-column", default, table)
    if split in (path, label):
        split = None if split_column is None else split
        if split is not None:
            raise ValueError(f"--split-column of {table} is its path or label column")
    return path, label, split


@dataclass
class LabelRows:
    """The rows of a label table that name an image, and those skipped.

    Attributes:
        records: `(row, absolute path, labels, split or None)`; `labels` is a
            list (several with `label_delim`).
        bad_rows: `(row, path as written, reason)` of the rows skipped.
        columns: The names of the path, label and split (or None) columns.
        total: How many rows the table has (besides the header).
        skipped_labels: label -> the reasons of the skipped rows that name it.
    """

    records: list
    bad_rows: list
    columns: tuple
    total: int
    skipped_labels: dict = field(default_factory=dict)


def _row_labels(text: str, label_delim) -> list[str]:
    parts = [text] if not label_delim else text.split(label_delim)
    return [part.strip() for part in parts if part.strip()]


def _inside(path: str, root: str) -> bool:
    return os.path.commonpath([root, path]) == root


def read_label_rows(
    table, root, *, path_column=None, label_column=None, split_column=None,
    label_delim=None,
) -> LabelRows:  # fmt: skip
    """Read a label table: each row's image, labels and split, or why it is
    skipped (see the module docstring).

    Args:
        table: A CSV path or a `LabelTable`.
        root: The data folder the paths are relative to (and must lie in).
        path_column: Defaults to None (the first column).
        label_column: Defaults to None (the second column).
        split_column: Defaults to None (a column named "split", if any).
        label_delim: Splits a label cell into labels. Defaults to None.

    Returns:
        A `LabelRows`.

    Raises:
        ValueError: On a missing header or column, or a path named twice.
    """
    header, rows = _read_cells(table)
    where = table if isinstance(table, str) else IN_RUN_LABELS
    path_at, label_at, split_at = _columns(
        header, where, path_column, label_column, split_column
    )
    records, bad, seen, skipped = [], [], {}, {}
    for number, cells in rows:

        def cell(at, cells=cells) -> str:
            return cells[at].strip() if at is not None and at < len(cells) else ""

        written = cell(path_at)
        if not written:
            bad.append((number, written, "empty path"))
            continue
        path = os.path.normpath(os.path.join(root, written))
        if path in seen:
            raise ValueError(
                f"{where}: rows {seen[path]} and {number} both name {written}"
            )
        seen[path] = number
        labels = _row_labels(cell(label_at), label_delim)
        split = canonical_split(cell(split_at)) if split_at is not None else None
        if not _inside(path, root):
            reason = "outside the data folder"
        elif not os.path.isfile(path):
            reason = "file not found"
        elif not labels:
            reason = "empty label"
        elif split_at is not None and split is None:
            reason = f"unknown split value {cell(split_at)!r} (train, val or test)"
        else:
            records.append((number, path, labels, split))
            continue
        bad.append((number, written, reason))
        for label in labels:
            skipped.setdefault(label, []).append(reason)
    names = tuple(
        None if i is None else header[i].strip() for i in (path_at, label_at, split_at)
    )
    return LabelRows(records, bad, names, len(rows), skipped)


def _reasons(reasons) -> str:
    """The reasons of skipped rows, counted ("2 file not found, 1 empty label")."""
    return ", ".join(f"{n} {reason}" for reason, n in Counter(reasons).most_common())


def _check_rows_left(read: LabelRows, where) -> None:
    """A table whose rows are all skipped, or that names a class only in
    skipped rows, is an error (as a class folder of bad files is)."""
    if not read.records:
        reasons = _reasons(reason for _, _, reason in read.bad_rows)
        raise ValueError(
            f"{where}: none of its {read.total} rows names a usable image"
            + (f" ({reasons})" if reasons else "")
        )
    named = {label for _, _, labels, _ in read.records for label in labels}
    for label, reasons in read.skipped_labels.items():
        if label not in named:
            raise ValueError(
                f"{where}: class {label!r} has no valid images (all {len(reasons)} "
                f"of its rows are skipped: {_reasons(reasons)})"
            )


def table_splits(table, root, split_column=None) -> set[str] | None:
    """The splits a table gives (its split column's valid values), or None
    without a split column."""
    header, rows = _read_cells(table)
    where = table if isinstance(table, str) else IN_RUN_LABELS
    _, _, split_at = _columns(header, where, None, None, split_column)
    if split_at is None:
        return None
    values = {canonical_split(c[split_at]) for _, c in rows if split_at < len(c)}
    return values - {None}


# === The listing ===


def _class_names(records, class_names, where) -> list[str]:
    found = sorted({label for _, _, labels, _ in records for label in labels})
    if class_names is None:
        return found
    known = set(class_names)
    for number, _, labels, _ in records:
        unknown = [label for label in labels if label not in known]
        if unknown:
            raise ValueError(
                f"{where} row {number}: label {unknown[0]!r} is not a class of the "
                f"model ({', '.join(class_names)})"
            )
    return list(class_names)


def _multi_hot(records, names) -> tuple[np.ndarray, np.ndarray]:
    """`(labels, targets)`: each row's rarest label (bookkeeping) and its
    float32 multi-hot `[N, K]` label set."""
    index = {name: i for i, name in enumerate(names)}
    targets = np.zeros((len(records), len(names)), dtype="float32")
    for row, (_, _, labels, _) in enumerate(records):
        targets[row, [index[label] for label in labels]] = 1.0
    return primary_labels(targets), targets


def table_listing(
    data=None, labels=None, *, path_column=None, label_column=None,
    split_column=None, label_delim=None, class_names=None, multi_label=False,
) -> FileListing:  # fmt: skip
    """The files of a label table, one label each, or a set of labels each
    (`multi_label`; see the module docstring).

    Args:
        data: The data folder, or the CSV itself (its folder is then the data
            folder). Defaults to None (the CSV's folder).
        labels: A CSV path or a pandas DataFrame / `LabelTable`. Defaults to
            None (`data` is the CSV).
        path_column: See `read_label_rows`. Defaults to None.
        label_column: See `read_label_rows`. Defaults to None.
        split_column: See `read_label_rows`. Defaults to None.
        label_delim: See `read_label_rows`; a row with several labels is an
            error here. Defaults to None.
        class_names: Fixed class order (a trained model's); another label is
            an error. Defaults to None (the sorted labels).
        multi_label: Each row's labels are a set: the listing's `targets`
            are multi-hot. Defaults to False.

    Returns:
        A `FileListing`.

    Raises:
        FileNotFoundError: If the folder or the CSV does not exist.
        ValueError: On a bad table, a row with several labels or an unknown
            class, a table with no usable row, or a class named only in
            skipped rows.
    """
    root, table = resolve_table(data, labels)
    read = read_label_rows(
        table, root, path_column=path_column, label_column=label_column,
        split_column=split_column, label_delim=label_delim,
    )  # fmt: skip
    where = table if isinstance(table, str) else IN_RUN_LABELS
    _check_rows_left(read, where)
    for number, path, row_labels, _ in read.records:
        if len(row_labels) > 1 and not multi_label:
            raise ValueError(
                f"{where} row {number}: {len(row_labels)} labels split by "
                f"{label_delim!r} ({', '.join(row_labels)}); classification takes "
                f"one label per image"
            )
        for label in row_labels[: None if multi_label else 1]:
            check_name(f"row {number}", label, "class")
        check_name(path, os.path.relpath(path, root), "file")
    if multi_label:  # a label named twice in a cell counts once
        read.records = [(n, p, sorted(set(ls)), s) for n, p, ls, s in read.records]
    names = _class_names(read.records, class_names, where)
    index = {name: i for i, name in enumerate(names)}
    targets = None
    if multi_label:
        labels_of, targets = _multi_hot(read.records, names)
    else:
        labels_of = np.array([index[r[2][0]] for r in read.records], dtype="int64")
    split_name = read.columns[2]
    source = {"kind": "table", "path": root, "labels": where,
              "path_column": read.columns[0], "label_column": read.columns[1],
              "split_column": split_name, "rows": read.total}  # fmt: skip
    if label_delim:
        source["label_delim"] = label_delim
    if multi_label:
        source["multi_label"] = True
    given = [split for _, _, _, split in read.records] if split_name else None
    shown = where if isinstance(table, str) else "the DataFrame of labels"
    origins = {"train": shown}
    if given is not None:
        origins = {s: f"{shown} (split {s})" for s in ("train", "val", "test")}
    return FileListing(
        root=root,
        paths=[path for _, path, _, _ in read.records],
        labels=labels_of,
        class_names=names,
        source=source,
        given=given,
        origins=origins,
        carve_root=root,
        rows=[number for number, _, _, _ in read.records],
        bad_rows=read.bad_rows,
        labels_table=None if isinstance(table, str) else table.csv_text(),
        extra=[
            f"{chr(31).join(r[2])}\0{r[3] or ''}".encode("utf-8", "surrogatepass")
            for r in read.records
        ],
        targets=targets,
    )


def load_label_table(data=None, labels=None, *, class_names=None, **kwargs):
    """Load images labelled by a table (see the module docstring).

    Args:
        data: The data folder, or the CSV. Defaults to None.
        labels: A CSV path or a pandas DataFrame of (path, label[, split]).
            Defaults to None (`data` is the CSV).
        class_names: See `table_listing`. Defaults to None.
        **kwargs: `table_listing`'s column options and `load_image_folder`'s
            other arguments (`image_size`, `val_split`, `seed`...).

    Returns:
        An `ImageData` (`bad_rows` lists the rows skipped).

    Example:
        >>> data = load_label_table("images/", "labels.csv", image_size=32)
        >>> data.split_source["train"]
        '/.../labels.csv (split train)'
    """
    columns = {
        name: kwargs.pop(name, None)
        for name in ("path_column", "label_column", "split_column", "label_delim")
    }
    multi_label = bool(kwargs.pop("multi_label", False))
    listing = table_listing(
        data, labels, class_names=class_names, multi_label=multi_label, **columns
    )
    return build_image_data(listing, **kwargs)
