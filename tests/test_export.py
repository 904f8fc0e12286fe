"""kerasvision.export: SavedModel signatures, parity with predict, failure modes."""

import io
import os

import numpy as np
import pytest
from PIL import Image

from kerasvision.export import ExportError, check_export, export_saved_model
from kerasvision.models.cnn import build_bipyramidal_cnn


def _model(num_classes=3, channels=3, size=16):
    return build_bipyramidal_cnn(
        (size, size, channels), num_classes, filters=(4, 8), dense_units=(8,)
    )


def _images(count=4, size=16, channels=3, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, size, size, channels)).astype("float32")


def _encode(array, fmt="PNG"):
    buffer = io.BytesIO()
    Image.fromarray(array.astype("uint8")).save(buffer, format=fmt)
    return buffer.getvalue()


def test_signatures_match_predict_and_are_deterministic(tmp_path):
    import tensorflow as tf

    model = _model()
    images = _images()
    report = export_saved_model(
        model, tmp_path / "serving", class_names=["a", "b", "c"], sample_images=images
    )
    assert report["max_abs_diff"] <= 1e-5 and report["deterministic"]
    loaded = tf.saved_model.load(str(tmp_path / "serving"))
    assert set(loaded.signatures) == {"serving_default", "serving_bytes"}
    served = loaded.signatures["serving_default"](images=tf.constant(images))
    expected = model.predict(images, verbose=0)
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-5)
    np.testing.assert_allclose(
        served["probabilities"].numpy().sum(axis=1), 1.0, atol=1e-5
    )
    again = loaded.signatures["serving_default"](images=tf.constant(images))
    np.testing.assert_array_equal(served["probabilities"], again["probabilities"])


def test_bytes_signature_decodes_and_resizes_like_training(tmp_path):
    import tensorflow as tf

    from kerasvision.data import resize_image

    model = _model()
    export_saved_model(model, tmp_path / "serving", class_names=["a", "b", "c"])
    loaded = tf.saved_model.load(str(tmp_path / "serving"))
    big = _images(count=2, size=40, seed=3)  # any size: resized in the graph
    payload = tf.constant([_encode(big[0]), _encode(big[1], "BMP")])
    out = loaded.signatures["serving_bytes"](image_bytes=payload)
    resized = resize_image(tf.constant(big), (16, 16), "stretch").numpy()
    expected = model.predict(resized, verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    names = [n.decode() for n in out["class_name"].numpy()]
    assert names == [["a", "b", "c"][i] for i in expected.argmax(axis=1)]


def test_binary_model_serves_two_probabilities(tmp_path):
    import tensorflow as tf

    model = _model(num_classes=2, channels=1)
    images = _images(channels=1)
    export_saved_model(
        model, tmp_path / "s", class_names=["no", "yes"], sample_images=images
    )
    loaded = tf.saved_model.load(str(tmp_path / "s"))
    probs = loaded.signatures["serving_default"](images=tf.constant(images))[
        "probabilities"
    ]
    p = model.predict(images, verbose=0)[:, 0]
    np.testing.assert_allclose(probs.numpy(), np.stack([1 - p, p], axis=1), atol=1e-6)
    gray_png = tf.constant([_encode(np.repeat(images[0], 3, axis=-1))])
    out = loaded.signatures["serving_bytes"](image_bytes=gray_png)
    assert out["probabilities"].shape == (1, 2)


def test_failed_check_leaves_nothing_and_keeps_an_old_export(tmp_path):
    model = _model()
    target = tmp_path / "serving"
    export_saved_model(model, target, class_names=["a", "b", "c"])
    before = sorted(p.name for p in target.iterdir())
    with pytest.raises(ExportError, match="differs from model.predict"):
        export_saved_model(model, target, class_names=["a", "b", "c"], tolerance=-1.0)
    assert sorted(p.name for p in target.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["serving"]  # no staging left


def test_check_export_detects_a_different_model(tmp_path):
    model = _model()
    export_saved_model(model, tmp_path / "s", class_names=["a", "b", "c"])
    other = _model()  # fresh random weights
    with pytest.raises(ExportError):
        check_export(other, str(tmp_path / "s"), _images())


def test_class_name_count_must_match(tmp_path):
    with pytest.raises(ValueError, match="3 classes but 2 class names"):
        export_saved_model(_model(), tmp_path / "s", class_names=["a", "b"])


def test_augmentation_layers_never_reach_the_exported_graph(tmp_path):
    """Models trained by kerasvision hold no random layers, so serving is stable."""
    import keras

    model = _model()
    random_layers = [
        layer
        for layer in model.layers
        if isinstance(layer, keras.layers.RandomFlip | keras.layers.RandomRotation)
    ]
    assert random_layers == []
    report = export_saved_model(model, tmp_path / "s", class_names=["a", "b", "c"])
    assert report["deterministic"]


def _bomb_headers():
    """Headers of 20000x20000 images (the payload after them is never decoded)."""
    import struct
    import zlib

    ihdr = struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0)
    png = (
        b"\x89PNG\r\n\x1a\n"
        + struct.pack(">I", len(ihdr))
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
        + b"\0" * 64
    )
    gif = b"GIF89a" + struct.pack("<HH", 20000, 20000) + b"\0" * 64
    bmp = b"BM" + b"\0" * 16 + struct.pack("<ii", 20000, -20000) + b"\0" * 64
    return {"png": png, "gif": gif, "bmp": bmp}


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    import tensorflow as tf

    path = tmp_path_factory.mktemp("served") / "serving"
    export_saved_model(_model(), path, class_names=["a", "b", "c"])
    return tf.saved_model.load(str(path)).signatures


@pytest.mark.parametrize("fmt", ["png", "gif", "bmp", "jpeg"])
def test_bytes_signature_refuses_decompression_bombs_before_decoding(served, fmt):
    import tensorflow as tf

    from kerasvision.data.images import MAX_PIXELS
    from kerasvision.export import _header_pixels

    if fmt == "jpeg":
        small = _encode(_images(1, size=8)[0], "JPEG")
        start = small.index(b"\xff\xc0") + 5  # SOF0: precision, height, width
        payload = small[:start] + (20000).to_bytes(2, "big") * 2 + small[start + 4 :]
    else:
        payload = _bomb_headers()[fmt]
    assert int(_header_pixels(tf.constant(payload))) == 20000 * 20000 > MAX_PIXELS
    with pytest.raises(tf.errors.InvalidArgumentError, match="decompression bomb"):
        served["serving_bytes"](image_bytes=tf.constant([payload]))
    normal = _encode(_images(1, size=40)[0], fmt.upper())
    assert int(_header_pixels(tf.constant(normal))) == 40 * 40
    out = served["serving_bytes"](image_bytes=tf.constant([normal]))
    assert out["probabilities"].shape == (1, 3)


def test_pixel_signature_enforces_its_declared_shape(served):
    import tensorflow as tf

    with pytest.raises((tf.errors.InvalidArgumentError, ValueError, TypeError)):
        served["serving_default"](images=tf.zeros([1, 32, 32, 3]))
    assert served["serving_default"](images=tf.zeros([2, 16, 16, 3]))[
        "probabilities"
    ].shape == (2, 3)


def test_a_killed_export_leftover_is_removed_by_the_next_export(tmp_path):
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    leftover = tmp_path / f".export-{dead.pid}-abc123"
    (leftover / "variables").mkdir(parents=True)
    live = tmp_path / f".export-{os.getpid() + 0}-mine"  # this process: kept
    live.mkdir()
    user = tmp_path / ".export-notes"  # not ours by name: kept
    user.mkdir()
    export_saved_model(_model(), tmp_path / "serving", class_names=["a", "b", "c"])
    assert not leftover.exists() and live.exists() and user.exists()
    assert sorted(os.listdir(tmp_path)) == sorted(["serving", live.name, user.name])


def test_bytes_signature_applies_exif_orientation_like_training(tmp_path):
    """A JPEG stored sideways with orientation 6: serving sees training's pixels."""
    import tensorflow as tf

    from kerasvision.data.images import load_images

    rng = np.random.default_rng(5)
    blocks = rng.integers(0, 256, (6, 10, 3)).astype("uint8")
    pixels = np.kron(blocks, np.ones((2, 2, 1), dtype="uint8"))  # 12 x 20
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to view: 20 x 12
    path = tmp_path / "sideways.jpg"
    Image.fromarray(pixels).save(path, "JPEG", exif=exif.tobytes(), quality=95)
    model = _model()
    export_saved_model(model, tmp_path / "s", class_names=["a", "b", "c"])
    loaded = tf.saved_model.load(str(tmp_path / "s"))
    _, training = load_images([str(path)], image_size=16)
    out = loaded.signatures["serving_bytes"](
        image_bytes=tf.constant([path.read_bytes()])
    )
    expected = model.predict(training, verbose=0)
    np.testing.assert_allclose(out["probabilities"].numpy(), expected, atol=1e-5)
    upright = load_images([str(path)], image_size=(20, 12))[1][0]
    assert not np.array_equal(upright, np.swapaxes(upright, 0, 1)[:20, :12])


def test_min_confidence_makes_the_bytes_signature_answer_unknown(tmp_path):
    import tensorflow as tf

    model = _model()
    report = export_saved_model(
        model, tmp_path / "s", class_names=["a", "b", "c"], min_confidence=0.999
    )
    assert report["min_confidence"] == 0.999
    loaded = tf.saved_model.load(str(tmp_path / "s"))
    out = loaded.signatures["serving_bytes"](
        image_bytes=tf.constant([_encode(_images(1)[0])])
    )
    assert out["class_name"].numpy().tolist() == [b"unknown"]
    assert out["class_index"].numpy().tolist() == [-1]
    with pytest.raises(ValueError, match="a class is named 'unknown'"):
        export_saved_model(
            model, tmp_path / "t", class_names=["a", "unknown", "c"], min_confidence=0.5
        )
