"""kerasvision.export.guards: hostile inputs to every exported signature raise.

Wrong ranks, shapes and dtypes, empty batches, NaN/infinite pixels and
decompression bombs: an exception (or the empty result), never an abort of the
serving process, which is why the abort-prone cases run in a subprocess.
"""

import io
import json
import os
import struct
import subprocess
import sys
import textwrap
import zlib

import keras
import numpy as np
import pytest
from PIL import Image

from kerasvision.export import export_encoder, export_saved_model
from kerasvision.models.autoencoders import build_unet
from kerasvision.models.cnn import build_bipyramidal_cnn

SIZE = 16


def _encoder():
    inputs = keras.Input((SIZE, SIZE, 3))
    features = keras.layers.Conv2D(4, 3, strides=2, name="enc_conv")(inputs)
    return keras.Model(inputs, keras.layers.Flatten()(features), name="encoder")


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """`{name: path}` of a classifier, an encoder and a U-Net SavedModel."""
    root = tmp_path_factory.mktemp("guards")
    paths = {name: str(root / name) for name in ("classifier", "encoder", "unet")}
    classifier = build_bipyramidal_cnn(
        (SIZE, SIZE, 3), 3, filters=(4, 8), dense_units=(8,)
    )
    export_saved_model(classifier, paths["classifier"], class_names=["a", "b", "c"])
    export_encoder(_encoder(), paths["encoder"])
    unet = build_unet((SIZE, SIZE, 3), 2, filters=(4, 8))
    export_encoder(unet, paths["unet"], output="probabilities")
    return paths


@pytest.fixture(scope="module")
def signatures(exported):
    import tensorflow as tf

    return {
        name: tf.saved_model.load(path).signatures for name, path in exported.items()
    }


# The cases run in a fresh process: an abort (SIGABRT in oneDNN) ends it and
# shows as a negative return code instead of killing the test session.
_PROBE = textwrap.dedent(
    """
    import json, sys
    import tensorflow as tf

    paths, S = json.loads(sys.argv[1]), int(sys.argv[2])
    loaded = {name: tf.saved_model.load(p).signatures for name, p in paths.items()}
    pixels = {
        "rank0": tf.zeros(()),
        "rank1": tf.zeros((S,)),
        "rank2": tf.zeros((S, S)),
        "rank3": tf.zeros((S, S, 3)),
        "rank5": tf.zeros((1, 1, S, S, 3)),
        "wrong-size": tf.zeros((1, 2 * S, 2 * S, 3)),
        "wrong-channels": tf.zeros((1, S, S, 1)),
        "empty": tf.zeros((0, S, S, 3)),
        "int32": tf.zeros((1, S, S, 3), tf.int32),
        "uint8": tf.zeros((1, S, S, 3), tf.uint8),
        "float64": tf.zeros((1, S, S, 3), tf.float64),
        "float16": tf.zeros((1, S, S, 3), tf.float16),
        "string": tf.fill((1, S, S, 3), "x"),
        "nan": tf.fill((1, S, S, 3), float("nan")),
        "inf": tf.fill((2, S, S, 3), float("inf")),
    }
    encoded = {
        "rank0": tf.constant("x"),
        "rank2": tf.constant([["x"]]),
        "empty": tf.constant([], tf.string),
        "float32": tf.zeros((1,)),
        "int64": tf.zeros((1,), tf.int64),
    }
    cases = [
        (f"{name}/{case}", loaded[name]["serving_default"], {"images": value})
        for name in loaded
        for case, value in pixels.items()
    ]
    serve_bytes = loaded["classifier"]["serving_bytes"]
    cases += [
        (f"bytes/{case}", serve_bytes, {"image_bytes": value})
        for case, value in encoded.items()
    ]
    for case, signature, inputs in cases:
        try:
            outputs = signature(**inputs)
        except Exception as error:
            line = {"case": case, "raised": type(error).__name__}
        else:
            shapes = {key: value.shape.as_list() for key, value in outputs.items()}
            line = {"case": case, "shapes": shapes}
        print(json.dumps(line), flush=True)
    """
)


def test_no_input_aborts_a_signature(exported, tmp_path):
    """Wrong ranks, shapes and dtypes raise; an empty batch gives `[0, ...]`."""
    script = tmp_path / "probe.py"
    script.write_text(_PROBE)
    done = subprocess.run(
        [sys.executable, str(script), json.dumps(exported), str(SIZE)],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line]
    assert done.returncode == 0, (
        f"the probe died (return code {done.returncode}) after "
        f"{lines[-1]['case'] if lines else 'no case'}: {done.stderr[-2000:]}"
    )
    results = {line["case"]: line for line in lines}
    empty = {
        "classifier/empty": {"probabilities": [0, 3]},
        "encoder/empty": {"latent": [0, 7 * 7 * 4]},
        "unet/empty": {"probabilities": [0, SIZE, SIZE, 2], "mask": [0, SIZE, SIZE]},
        "bytes/empty": {
            "probabilities": [0, 3],
            "class_index": [0],
            "class_name": [0],
        },
    }
    assert len(results) == 3 * 15 + 5
    for case, result in results.items():
        if case in empty:
            assert result.get("shapes") == empty[case], case
        else:
            assert "raised" in result, case


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf], ids=str)
def test_nan_and_infinite_pixels_are_refused_by_name(signatures, value):
    import tensorflow as tf

    images = np.full((2, SIZE, SIZE, 3), 128.0, dtype="float32")
    images[1, 3, 4, 0] = value
    for name in ("classifier", "encoder", "unet"):
        serve = signatures[name]["serving_default"]
        with pytest.raises(tf.errors.InvalidArgumentError, match="NaN or infinity"):
            serve(images=tf.constant(images))
        assert serve(images=tf.constant(images[:1]))  # finite pixels still serve


def test_pixel_signature_enforces_its_declared_shape(signatures):
    import tensorflow as tf

    served = signatures["classifier"]
    with pytest.raises((tf.errors.InvalidArgumentError, ValueError, TypeError)):
        served["serving_default"](images=tf.zeros([1, 32, 32, 3]))
    assert served["serving_default"](images=tf.zeros([2, SIZE, SIZE, 3]))[
        "probabilities"
    ].shape == (2, 3)


# === Decompression bombs ===


def _encode(pixels, fmt, **save):
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **save)
    return buffer.getvalue()


def _patched(content, offset, packed):
    return content[:offset] + packed + content[offset + len(packed) :]


def _normal(fmt, size=(30, 40)):
    """A small real file of `fmt` ("webp-vp8l": lossless, "webp-vp8": lossy,
    "webp-vp8x": extended, here with EXIF)."""
    pixels = np.random.default_rng(5).integers(0, 256, (*size, 3)).astype("uint8")
    webp = {
        "webp-vp8l": {"lossless": True},
        "webp-vp8": {"quality": 80},
        "webp-vp8x": {"lossless": True, "exif": b"Exif\0\0MM\0*"},
    }
    if fmt in webp:
        return _encode(pixels, "WEBP", **webp[fmt])
    return _encode(pixels, fmt.upper())


def _bomb(fmt):
    """A file of `fmt` whose header says 20000 x 20000 pixels (WebP: 13500 x
    13500, 182 megapixels, what a 7 KB lossless WebP can decode to); only the
    header is real, the payload is never decoded."""
    side = 20_000
    if fmt == "png":
        ihdr = struct.pack(">IIBBBBB", side, side, 8, 0, 0, 0, 0)
        crc = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
        return b"\x89PNG\r\n\x1a\n" + struct.pack(">I", 13) + b"IHDR" + ihdr + crc
    if fmt == "gif":
        return b"GIF89a" + struct.pack("<HH", side, side) + b"\0" * 64
    if fmt == "bmp":
        return b"BM" + b"\0" * 16 + struct.pack("<ii", side, -side) + b"\0" * 64
    if fmt == "jpeg":
        jpeg = _normal("jpeg")
        start = jpeg.index(b"\xff\xc0") + 5  # SOF0: precision, height, width
        return _patched(jpeg, start, struct.pack(">HH", side, side))
    webp, side = _normal(fmt), 13_500
    if fmt == "webp-vp8l":  # 14 bits each of width - 1 and height - 1
        bits = struct.unpack("<I", webp[21:25])[0] & ~((1 << 28) - 1)
        bits |= (side - 1) | (side - 1) << 14
        return _patched(webp, 21, struct.pack("<I", bits))
    if fmt == "webp-vp8":
        return _patched(webp, 26, struct.pack("<HH", side, side))
    return _patched(webp, 24, (side - 1).to_bytes(3, "little") * 2)  # VP8X canvas


BOMB_FORMATS = ["png", "gif", "bmp", "jpeg", "webp-vp8l", "webp-vp8", "webp-vp8x"]


@pytest.mark.parametrize("fmt", BOMB_FORMATS)
def test_header_pixels_reads_every_format_without_decoding(fmt):
    import tensorflow as tf

    from kerasvision.data.encoded import header_pixels
    from kerasvision.data.images import MAX_PIXELS

    normal = _normal(fmt)
    if fmt.startswith("webp"):
        assert normal[12:16] == fmt[5:].upper().ljust(4).encode()
    assert int(header_pixels(tf.constant(normal))) == 30 * 40
    side = 13_500 if fmt.startswith("webp") else 20_000
    assert int(header_pixels(tf.constant(_bomb(fmt)))) == side * side > MAX_PIXELS


@pytest.mark.parametrize("fmt", BOMB_FORMATS)
def test_bytes_signature_refuses_decompression_bombs_before_decoding(signatures, fmt):
    """The check runs before any decoder (its result feeds the decoders), so
    the refusal is this error, never the decoder's allocation."""
    import tensorflow as tf

    serve_bytes = signatures["classifier"]["serving_bytes"]
    with pytest.raises(tf.errors.InvalidArgumentError, match="decompression bomb"):
        serve_bytes(image_bytes=tf.constant([_normal(fmt), _bomb(fmt)]))
    out = serve_bytes(image_bytes=tf.constant([_normal(fmt)]))
    assert out["probabilities"].shape == (1, 3)
