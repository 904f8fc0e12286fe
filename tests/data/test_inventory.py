"""kerasvision.data.inventory: every labelled file of a source, for the doctor."""

import os
from types import SimpleNamespace

import pytest
from helpers import write_image_folder

from kerasvision.data.inventory import inventory, split_report, split_warnings


def test_inventory_of_each_layout(tmp_path):
    write_image_folder(tmp_path / "one", classes=("solo",), per_class=2)
    listed = inventory(tmp_path / "one")  # one class: reported, not refused
    assert listed.class_names == ["solo"] and listed.layout["kind"] == "class-folders"
    write_image_folder(tmp_path / "split" / "train", per_class=2)
    write_image_folder(tmp_path / "split" / "val", classes=("cats",), per_class=1)
    listed = inventory(tmp_path / "split")
    assert listed.layout["kind"] == "pre-split"
    assert sorted({split for _, _, split in listed.files}) == ["train", "val"]
    paths = write_image_folder(tmp_path / "flat", per_class=1)
    rows = "".join(
        f"{os.path.relpath(p, tmp_path / 'flat')},{p.split(os.sep)[-2]},train\n"
        for p in paths
    )
    (tmp_path / "flat" / "labels.csv").write_text(
        f"path,label,split\n{rows}gone.png,x,val\n"
    )
    listed = inventory(tmp_path / "flat" / "labels.csv")
    assert listed.layout["kind"] == "table" and len(listed.files) == 2
    assert listed.layout["bad_rows"] == [(4, "gone.png", "file not found")]
    with pytest.raises(ValueError, match="no class folders"):
        inventory(tmp_path / "flat" / "cats")


def test_split_report_names_missing_classes_and_straddling_copies():
    image = SimpleNamespace
    images = [
        image(path="train/a/1.png", label="a", split="train", error=None),
        image(path="train/b/2.png", label="b", split="train", error=None),
        image(path="val/a/1.png", label="a", split="val", error=None),
    ]
    groups = [SimpleNamespace(paths=["train/a/1.png", "val/a/1.png"])]
    report = split_report(images, groups, ["a", "b"])
    assert report["counts"] == {"train": {"a": 1, "b": 1}, "val": {"a": 1, "b": 0}}
    assert report["classes_missing"] == {"val": ["b"]}
    assert report["cross_split_groups"] == 1
    assert split_warnings(report) == [
        "classes missing from val: b",
        "1 duplicate group(s) straddle the splits",
    ]
    plain = [image(path="a/1.png", label="a", split="", error=None)]
    assert split_report(plain, [], ["a"]) is None
