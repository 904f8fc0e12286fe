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


# --- hostile files: pipes, names that are not UTF-8, symlinks out of the data ---


def test_a_pipe_or_a_non_utf8_name_is_a_bad_file_never_opened(tmp_path):
    import os

    from kerasvision.data.images import check_image_file, find_images, walk_images

    pipe = tmp_path / "pipe.png"
    os.mkfifo(pipe)  # opening it for reading would block forever
    check = check_image_file(str(pipe))
    assert check.error == "not a regular file (a pipe, device or socket)"
    odd = os.fsdecode(bytes(tmp_path) + b"/bad\xff.png")
    Image.new("L", (4, 4)).save(os.fsencode(odd), "PNG")
    check = check_image_file(odd)
    assert "not valid UTF-8" in check.error and check.path.endswith("bad\\xff.png")
    check.path.encode()  # printable: every file and terminal takes it
    assert sorted(walk_images(tmp_path)) == sorted([str(pipe), odd])
    with pytest.raises(ValueError, match="not a regular file"):
        find_images([str(pipe)])


def test_fit_data_skips_links_out_of_the_data_and_flags_labels_twice(tmp_path):
    import json
    import os

    from helpers import write_image_folder

    from kerasvision.data.sources import load_image_folder

    outside = tmp_path / "usr"
    write_image_folder(str(outside), classes=("lib",), per_class=5)
    data = tmp_path / "data"
    write_image_folder(str(data), classes=("c0", "c1"), per_class=4)
    os.symlink(outside, data / "c0" / "usr")  # leaves the data folder
    os.symlink(data / "c0" / "c0_1.png", data / "c0" / "inside.png")  # stays
    os.symlink("../c1", data / "c0" / "link")  # c1's files under c0 too
    os.mkfifo(data / "c1" / "pipe.png")
    bad = []
    image_data = load_image_folder(
        str(data), image_size=8, on_bad_file=lambda *item: bad.append(item)
    )
    paths = [p for split in image_data.splits.values() for p in split.paths]
    assert not any("usr" in p for p in paths) and len(paths) == 12
    notes = "\n".join(image_data.notes)
    assert "1 symlink(s) lead outside the data folder" in notes and "c0/usr" in notes
    assert "4 group(s) of identical files (8 files) are filed under different" in notes
    found = image_data.summary()["cross_class_duplicates"]
    assert found["listed"][0] == ["c0/link/c1_0.png", "c1/c1_0.png"]
    json.dumps(image_data.summary())
    skipped = sorted(os.path.relpath(path, data) for path, _ in bad)
    assert skipped == ["c0/link/pipe.png", "c1/pipe.png"]
