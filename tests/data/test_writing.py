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
