"""kerasvision.data.writing: writing images as a folder-per-class dataset."""

import os

import numpy as np
import pytest
from helpers import small_digits

from kerasvision import data as kvdata


def test_save_image_folder_round_trips_pixels(tmp_path):
    x, y, names = small_digits(per_class=2)
    written = kvdata.save_image_folder(x, y, names, tmp_path / "out")
    assert len(written) == 20 and all(os.path.exists(p) for p in written)
    data = kvdata.load_image_folder(
        tmp_path / "out", channels=1, image_size=8, val_split=0, test_split=0
    )
    images, labels = next(iter(data.dataset("train", batch_size=20, shuffle=False)))
    order = np.argsort([os.path.basename(p) for p in data.splits["train"].paths])
    np.testing.assert_array_equal(images.numpy()[order], x.astype("float32"))
    np.testing.assert_array_equal(labels.numpy()[order], y)
    with pytest.raises(ValueError, match="not an empty folder"):
        kvdata.save_image_folder(x, y, names, tmp_path / "out")


@pytest.mark.parametrize("layout", ["pre-split", "csv"])
def test_save_image_folder_writes_a_pre_split_folder_or_a_csv(tmp_path, layout):
    x, y, names = small_digits(per_class=10)
    written = kvdata.save_image_folder(
        x, y, names, tmp_path / "out", layout=layout, splits="60/20/20", seed=3
    )
    assert len(written) == 100
    where = tmp_path / "out" / ("labels.csv" if layout == "csv" else "")
    data = kvdata.load_data(str(where), image_size=8, seed=0)
    counts = {name: len(part) for name, part in data.splits.items()}
    assert counts == {"train": 60, "val": 20, "test": 20}
    assert data.class_names == names
    if layout == "csv":
        header = (tmp_path / "out" / "labels.csv").read_text().splitlines()[0]
        assert header == "path,label,split"


def test_csv_without_splits_has_no_split_column_and_fractions_are_checked(tmp_path):
    x, y, names = small_digits(per_class=2)
    kvdata.save_image_folder(x, y, names, tmp_path / "out", layout="csv")
    lines = (tmp_path / "out" / "labels.csv").read_text().splitlines()
    assert lines[0] == "path,label" and len(lines) == 21
    assert lines[1] == f"000000.png,{y[0]}"
    with pytest.raises(ValueError, match="TRAIN,VAL,TEST"):
        kvdata.save_image_folder(x, y, names, tmp_path / "b", layout="pre-split",
                                 splits="80/20")  # fmt: skip


@pytest.mark.parametrize("layout", ["pre-split", "csv"])
def test_resplit_folder_links_a_class_folder_dataset(tmp_path, layout):
    x, y, names = small_digits(per_class=20)
    kvdata.save_image_folder(x, y, names, tmp_path / "flat")
    counts = kvdata.resplit_folder(
        tmp_path / "flat", tmp_path / "split", splits="70/15/15", layout=layout
    )
    assert counts == {"train": 140, "val": 30, "test": 30}
    where = tmp_path / "split" / ("labels.csv" if layout == "csv" else "")
    data = kvdata.load_data(str(where), image_size=8)
    assert {name: len(part) for name, part in data.splits.items()} == counts
    if layout == "pre-split":
        assert len(os.listdir(tmp_path / "split" / "test" / "3")) == 3
