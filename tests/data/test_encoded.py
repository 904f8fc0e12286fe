"""kerasvision.data.encoded: the graph decode gives the training pipeline's pixels.

Every format the bytes signature takes, with what TensorFlow's decoders alone
get wrong: EXIF orientation in PNG and WebP (JPEG: tests/data/test_images.py),
16-bit grayscale PNGs, WebPs with alpha. (Decompression bombs:
tests/export/test_guards.py.)
"""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from kerasvision.data.encoded import decode_image_bytes, exif_orientation
from kerasvision.data.images import load_images

SIDEWAYS = (12, 20)  # height, width as stored


def _encode(pixels, fmt, **save):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **save)
    return buffer.getvalue()


def _blocky(seed, size=SIDEWAYS, channels=3):
    """Non-square 2x2-block pixels (lossy codecs keep their orientation)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (size[0] // 2, size[1] // 2, channels))
    return np.kron(blocks.astype("uint8"), np.ones((2, 2, 1), dtype="uint8"))


def _oriented(fmt, orientation, prefix=b"", **save):
    exif = Image.Exif()
    exif[0x0112] = orientation
    return _encode(_blocky(orientation), fmt, exif=prefix + exif.tobytes(), **save)


def _training_pixels(tmp_path, name, content, size):
    path = tmp_path / name
    path.write_bytes(content)
    return load_images([str(path)], image_size=size)[1][0]


def _served_pixels(content, size, channels=3):
    import tensorflow as tf

    return decode_image_bytes(
        tf.constant(content), image_size=size, channels=channels, resize="stretch"
    ).numpy()


FORMATS = {
    "png": (".png", lambda o: _oriented("PNG", o)),
    "webp-lossless": (".webp", lambda o: _oriented("WEBP", o, lossless=True)),
    "webp-lossy": (".webp", lambda o: _oriented("WEBP", o, quality=90)),
    "webp-prefixed": (
        ".webp",
        lambda o: _oriented("WEBP", o, prefix=b"Exif\0\0", lossless=True),
    ),
}


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("fmt", list(FORMATS))
def test_exif_orientation_turns_png_and_webp_like_training(tmp_path, fmt, orientation):
    import tensorflow as tf

    suffix, make = FORMATS[fmt]
    content = make(orientation)
    assert int(exif_orientation(tf.constant(content))) == orientation
    size = SIDEWAYS if orientation < 5 else SIDEWAYS[::-1]  # 5-8 swap the sides
    training = _training_pixels(tmp_path, f"o{orientation}{suffix}", content, size)
    np.testing.assert_array_equal(_served_pixels(content, size), training)
    if orientation != 1:  # TensorFlow's decoders alone keep the stored pixels
        from kerasvision.data.images import resize_image

        stored = tf.io.decode_image(content, channels=0, expand_animations=False)
        stored = resize_image(stored[..., :3], size, "stretch").numpy()
        assert not np.array_equal(stored, training)


@pytest.mark.parametrize("channels", [1, 3])
def test_16_bit_grayscale_png_scales_like_training(tmp_path, channels):
    values = np.random.default_rng(3).integers(0, 65536, SIDEWAYS).astype("uint16")
    content = _encode(values, "PNG")
    assert content[24:26] == b"\x10\x00"  # 16-bit grayscale
    path = tmp_path / "gray16.png"
    path.write_bytes(content)
    _, training = load_images([str(path)], image_size=SIDEWAYS, channels=channels)
    served = _served_pixels(content, SIDEWAYS, channels)
    np.testing.assert_array_equal(served, training[0])
    # TensorFlow's own 16-to-8-bit conversion differs (by one level here).
    import tensorflow as tf

    native = tf.io.decode_png(content, channels=1).numpy()[..., 0].astype(float)
    assert np.abs(native - training[0][..., 0]).max() == 1


def test_webp_with_alpha_drops_it_like_training(tmp_path):
    content = _encode(_blocky(4, channels=4), "WEBP", lossless=True)
    training = _training_pixels(tmp_path, "alpha.webp", content, SIDEWAYS)
    np.testing.assert_array_equal(_served_pixels(content, SIDEWAYS), training)


def test_orientation_is_one_without_a_real_exif_chunk():
    import tensorflow as tf

    plain = _encode(_blocky(0), "PNG")
    # "eXIf" inside a text chunk, not followed by a TIFF header: not EXIF.
    text = b"tEXt" + b"comment\0eXIf here"
    chunk = (
        struct.pack(">I", len(text) - 4) + text + struct.pack(">I", zlib.crc32(text))
    )
    tricky = plain[:33] + chunk + plain[33:]
    for content in (plain, tricky, _encode(_blocky(0), "GIF"), b"", b"RIFF"):
        assert int(exif_orientation(tf.constant(content))) == 1
