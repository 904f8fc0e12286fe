"""kerasvision.data.images: the graph decode of the bytes signature, EXIF included."""

import io

import numpy as np
import pytest
from PIL import Image

from kerasvision.data.encoded import decode_image_bytes, jpeg_orientation
from kerasvision.data.images import load_images


def _jpeg(orientation, size=(10, 16)):
    """A non-square JPEG with an EXIF orientation tag (blocky, so JPEG keeps it)."""
    rng = np.random.default_rng(orientation)
    blocks = rng.integers(0, 256, (size[0] // 2, size[1] // 2, 3)).astype("uint8")
    pixels = np.kron(blocks, np.ones((2, 2, 1), dtype="uint8"))
    exif = Image.Exif()
    exif[0x0112] = orientation
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    return buffer.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_serving_decode_turns_exif_like_training(orientation, tmp_path):
    import tensorflow as tf

    content = _jpeg(orientation)
    path = tmp_path / f"o{orientation}.jpg"
    path.write_bytes(content)
    size = (10, 16) if orientation < 5 else (16, 10)  # 5-8 swap the sides
    _, training = load_images([str(path)], image_size=size)
    assert int(jpeg_orientation(tf.constant(content))) == orientation
    served = decode_image_bytes(
        tf.constant(content), image_size=size, channels=3, resize="stretch"
    )
    np.testing.assert_array_equal(served.numpy(), training[0])


def test_orientation_of_files_without_exif_is_one():
    import tensorflow as tf

    buffer = io.BytesIO()
    Image.fromarray(np.zeros((4, 6, 3), "uint8")).save(buffer, "JPEG")
    assert int(jpeg_orientation(tf.constant(buffer.getvalue()))) == 1
    assert int(jpeg_orientation(tf.constant(b"\xff\xd8\xff\xe1\x00"))) == 1
