"""kerasvision.data.table: labels from a CSV file or a DataFrame."""

import csv
import os

import pytest
from helpers import write_image_folder

from kerasvision.data.sources import (
    evaluation_data,
    fit_inputs,
    given_split_roles,
    load_data,
    load_recorded,
)
from kerasvision.data.table import IN_RUN_LABELS, LabelTable, read_label_rows

SMALL = {"image_size": 8, "seed": 0}


def _flat_folder(root, per_class=6):
    """`root/<class>_<n>.png` of two classes and their rows (path, label, split)."""
    rows = []
    for path in write_image_folder(root / "tmp", per_class=per_class, size=(8, 8)):
        name = os.path.basename(path)
        os.rename(path, root / name)
        label, number = name[:-4].split("_")
        split = "train" if int(number) < per_class - 2 else ("val", "TEST")[
            int(number) % 2]  # fmt: skip
        rows.append([name, label, split])
    for folder in (root / "tmp" / "cats", root / "tmp" / "dogs", root / "tmp"):
        folder.rmdir()
    return rows


def _write_csv(path, header, rows):
    with open(path, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(header)
        writer.writerows(rows)


def test_a_csv_beside_the_images_gives_labels_and_splits(tmp_path):
    rows = _flat_folder(tmp_path)
    _write_csv(tmp_path / "labels.csv", ["file", "class", "Split"], rows)
    data = load_data(str(tmp_path), labels="labels.csv", **SMALL)
    assert data.class_names == ["cats", "dogs"]
    expected = {s: sorted(r[0] for r in rows if r[2].lower() == s)
                for s in ("train", "val", "test")}  # fmt: skip
    for split, names in expected.items():
        assert sorted(data.split_record()[split]) == names
    assert data.source["split_column"] == "Split"
    assert data.split_source["test"].endswith("labels.csv (split test)")
    again = load_data(str(tmp_path / "labels.csv"), **SMALL)  # the CSV as DATA
    assert again.split_record() == data.split_record()
    rebuilt = load_recorded(data.source, data.split_record(), image_size=8)
    assert rebuilt.split_record() == data.split_record()


def test_bad_rows_are_skipped_and_listed_with_their_row_numbers(tmp_path):
    rows = _flat_folder(tmp_path)
    (tmp_path / "notes.txt").write_text("not an image")
    outside = tmp_path.parent / "outside.png"
    outside.write_bytes((tmp_path / rows[0][0]).read_bytes())
    bad = [
        ["missing.png", "cats", "train"],
        [rows[1][0].replace(".png", "_copy.png"), "", "train"],
        [rows[2][0].replace(".png", "_copy2.png"), "cats", "holdout"],
        ["notes.txt", "dogs", "train"],
        [str(outside), "dogs", "train"],
    ]
    for name in (bad[1][0], bad[2][0]):
        (tmp_path / name).write_bytes((tmp_path / rows[0][0]).read_bytes())
    _write_csv(tmp_path / "labels.csv", ["path", "label", "split"], rows + bad)
    data = load_data(str(tmp_path / "labels.csv"), **SMALL)
    first = len(rows) + 2  # the header is row 1
    assert [(row, reason.split(" (")[0]) for row, _, reason in data.bad_rows] == [
        (first, "file not found"),
        (first + 1, "empty label"),
        (first + 2, "unknown split value 'holdout'"),
        (first + 3, "not an image"),
        (first + 4, "outside the data folder"),
    ]
    assert sum(len(part) for part in data.splits.values()) == len(rows)
    assert data.bad_files == []
    (note,) = [line for line in data.messages() if line.startswith("skipped")]
    assert note.startswith(f"skipped 5 of {len(rows) + 5} rows of ")
    listed = data.run_files()["bad_rows.txt"].splitlines()
    assert listed[0] == "row\tpath\treason" and listed[1].startswith(f"{first}\t")
    assert data.summary()["bad_rows"][0][0] == first


@pytest.mark.parametrize(
    "header, extra, options, message",
    [
        (["path", "label"], [["a.png", "cats"], ["./a.png", "dogs"]], {},
         "rows 2 and 3 both name ./a.png"),
        (["path", "label"], [["a.png", "cats;dogs"]], {"label_delim": ";"},
         "row 2: 2 labels split by ';'"),
        (["path"], [["a.png"]], {}, "needs a path and a label column"),
        (["path", "label"], [], {"label_column": "kind"},
         "--label-column 'kind' is not a column"),
        (["path", "label"], [], {"split_column": "fold"},
         "--split-column 'fold' is not a column"),
        (["path", "label"], [["gone.png", "cats"], ["a.png", ""]], {},
         r"labels.csv: none of its 2 rows names a usable image "
         r"\(1 file not found, 1 empty label\)"),
        (["path", "label"], [["a.png", "cats"], ["gone.png", "dogs"],
                             ["gone2.png", "dogs"]], {},
         r"labels.csv: class 'dogs' has no valid images "
         r"\(all 2 of its rows are skipped: 2 file not found\)"),
    ],
    ids=["duplicate", "several-labels", "one-column", "label-column", "split-column",
         "no-usable-row", "class-only-in-skipped-rows"],
)  # fmt: skip
def test_table_errors_name_the_rows_and_columns(tmp_path, header, extra, options,
                                               message):  # fmt: skip
    write_image_folder(tmp_path, classes=("x",), per_class=1, size=(8, 8))
    os.rename(tmp_path / "x" / "x_0.png", tmp_path / "a.png")
    _write_csv(tmp_path / "labels.csv", header, extra)
    with pytest.raises(ValueError, match=message):
        load_data(str(tmp_path), labels=str(tmp_path / "labels.csv"), **options)


def test_columns_by_name_and_labels_split_by_a_delimiter(tmp_path):
    rows = _flat_folder(tmp_path, per_class=3)
    _write_csv(tmp_path / "t.csv", ["split", "kind", "image"],
               [[r[2], r[1], r[0]] for r in rows])  # fmt: skip
    data = load_data(
        str(tmp_path), labels="t.csv", path_column="IMAGE", label_column="kind",
        label_delim="|", **SMALL,
    )  # fmt: skip
    assert data.source["path_column"] == "image" and data.class_names == [
        "cats",
        "dogs",
    ]
    read = read_label_rows(str(tmp_path / "t.csv"), str(tmp_path), path_column="image",
                           label_column="kind", label_delim="|")  # fmt: skip
    assert read.columns == ("image", "kind", "split") and read.total == len(rows)


def test_a_dataframe_is_stored_as_the_runs_labels_csv(tmp_path):
    pandas = pytest.importorskip("pandas")
    rows = _flat_folder(tmp_path)
    frame = pandas.DataFrame(rows, columns=["path", "label", "split"])
    data = load_data(str(tmp_path), labels=frame, **SMALL)
    assert data.source["labels"] == IN_RUN_LABELS
    stored = data.run_files()["labels.csv"]
    run = tmp_path.parent / "run"
    run.mkdir()
    (run / "labels.csv").write_text(stored)
    rebuilt = load_recorded(data.source, data.split_record(), run_dir=str(run),
                            image_size=8)  # fmt: skip
    assert rebuilt.split_record() == data.split_record()
    folder, changes = fit_inputs(data.source, str(run))
    assert folder == str(tmp_path) and isinstance(changes["labels"], LabelTable)
    assert changes["labels"] == LabelTable.from_frame(frame)
    with pytest.raises(ValueError, match="needs data"):
        load_data(None, labels=frame)


def test_evaluation_reads_the_held_out_rows_and_split_roles(tmp_path):
    rows = _flat_folder(tmp_path)
    _write_csv(tmp_path / "labels.csv", ["path", "label", "split"], rows)
    held_out = evaluation_data(tmp_path / "labels.csv", ["cats", "dogs"], image_size=8)
    assert len(held_out.splits["test"]) == sum(r[2] == "TEST" for r in rows)
    assert held_out.given_source("test").endswith("(split test)")
    with pytest.raises(ValueError, match="not a class of the model"):
        evaluation_data(tmp_path / "labels.csv", ["cats", "cows"], image_size=8)
    assert given_split_roles(str(tmp_path), labels="labels.csv") == {
        "train": "train", "val": "val", "test": "test"
    }  # fmt: skip


def test_label_sets_of_a_table_are_multi_hot_and_rebuilt_from_the_record(tmp_path):
    import numpy as np

    rows = _flat_folder(tmp_path, per_class=8)
    sets = ["cats;dogs", "cats", "dogs;dogs;birds", "birds;cats"]
    _write_csv(tmp_path / "t.csv", ["path", "label"],
               [[r[0], sets[i % 4]] for i, r in enumerate(rows)])  # fmt: skip
    with pytest.raises(ValueError, match="classification takes one label"):
        load_data(str(tmp_path), labels="t.csv", label_delim=";", **SMALL)
    data = load_data(str(tmp_path), labels="t.csv", label_delim=";", multi_label=True,
                     val_split=0.25, test_split=0.25, **SMALL)  # fmt: skip
    assert data.multi_label and data.class_names == ["birds", "cats", "dogs"]
    assert data.source["multi_label"] is True
    every = np.concatenate([part.targets for part in data.splits.values()])
    assert every.shape == (16, 3) and every.sum() == 4 * (2 + 1 + 2 + 2)
    for name in ("val", "test"):  # iterative stratification: every label there
        assert data.splits[name].targets.sum(axis=0).min() >= 1
    again = load_recorded(data.source, data.split_record(), image_size=8)
    for name, part in data.splits.items():
        np.testing.assert_array_equal(again.splits[name].targets, part.targets)
    with pytest.raises(ValueError, match="folders cannot"):
        load_data(str(tmp_path), multi_label=True, **SMALL)
