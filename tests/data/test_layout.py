"""kerasvision.data.layout: class folders or pre-split, and split names."""

import pytest
from helpers import write_image_folder

from kerasvision.data.layout import canonical_split, detect_layout, scan_image_folder


@pytest.mark.parametrize(
    "name, split",
    [("train", "train"), ("Val", "val"), ("VALID", "val"), ("validation", "val"),
     ("test", "test"), ("Testing", "test"), ("training", None), ("ants", None)],
)  # fmt: skip
def test_split_names_are_case_insensitive(name, split):
    assert canonical_split(name) == split


def test_pre_split_folder_is_detected_with_its_aliases(tmp_path):
    for folder in ("Train", "valid", "testing"):
        write_image_folder(tmp_path / folder, per_class=1)
    layout = detect_layout(tmp_path)
    assert layout.kind == "pre-split"
    assert layout.folders == {
        "train": str(tmp_path / "Train"),
        "val": str(tmp_path / "valid"),
        "test": str(tmp_path / "testing"),
    }
    assert layout.describe() == "pre-split (Train/, valid/, testing/)"
    write_image_folder(tmp_path / "plain", per_class=1)
    with pytest.raises(ValueError, match="mixes split folders"):
        detect_layout(tmp_path)


def test_a_class_folder_called_test_stays_a_class(tmp_path):
    write_image_folder(tmp_path, classes=("test", "cats"), per_class=2)
    assert detect_layout(tmp_path).kind == "class-folders"
    assert scan_image_folder(tmp_path)[2] == ["cats", "test"]


@pytest.mark.parametrize(
    "folders, message",
    [
        ({"train": True, "val": False}, "split names, not classes"),
        ({"train": False, "test": False}, "split names, not classes"),
        ({"val": True, "valid": True, "train": True}, "both the val split"),
        ({"val": True, "test": True}, "no train/ folder"),
    ],
    ids=["flat-val", "all-flat", "val-twice", "no-train"],
)
def test_split_names_are_never_classes(tmp_path, folders, message):
    for name, nested in folders.items():
        if nested:
            write_image_folder(tmp_path / name, per_class=1)
        else:
            write_image_folder(tmp_path, classes=(name,), per_class=2)
    with pytest.raises(ValueError, match=message):
        detect_layout(tmp_path)
    with pytest.raises(ValueError, match=message):
        scan_image_folder(tmp_path)


def test_scanning_a_pre_split_folder_as_classes_is_refused(tmp_path):
    write_image_folder(tmp_path / "train", per_class=1)
    write_image_folder(tmp_path / "val", per_class=1)
    with pytest.raises(ValueError, match="whose names are not classes"):
        scan_image_folder(tmp_path)


def test_a_flat_folder_with_a_csv_says_how_to_give_its_labels(tmp_path):
    write_image_folder(tmp_path, classes=("x",), per_class=2)
    for path in (tmp_path / "x").iterdir():
        path.rename(tmp_path / path.name)
    (tmp_path / "x").rmdir()
    (tmp_path / "labels.csv").write_text("path,label\n")
    with pytest.raises(ValueError, match="holds 2 images and labels.csv: give"):
        scan_image_folder(tmp_path)
