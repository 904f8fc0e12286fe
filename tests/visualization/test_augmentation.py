"""The augmentation preview picture."""

import numpy as np
import pytest
from PIL import Image

from kerasvision.visualization.augmentation import _tile_title, preview_augmentation


def _images(count=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (count, size, size, 3)).astype("float32")


def test_preview_writes_a_png_grid(tmp_path):
    names = ["cat", "dog", "owl"]
    assert _tile_title([0.62, 0.38, 0.0], names) == "0.62 cat + 0.38 dog"
    assert _tile_title([0.0, 1.0, 0.0], names) == "dog"
    images = _images(3, size=16)
    path = tmp_path / "sub" / "preview.png"
    result = preview_augmentation(
        images,
        np.array([0, 1, 2]),
        "flip,rotate,cutmix,mixup",
        path,
        class_names=names,
        count=3,
        rows=2,
    )
    assert result == str(path)
    with Image.open(path) as image:
        assert image.format == "PNG"
        width, height = image.size
    assert width > 100 and height > 100
    assert [p.name for p in path.parent.iterdir()] == ["preview.png"]  # no temp left
    with pytest.raises(ValueError, match="nothing to preview"):
        preview_augmentation(images, [0, 1, 2], "", path, class_names=["a", "b", "c"])
