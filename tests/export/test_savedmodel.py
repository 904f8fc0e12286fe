"""kerasvision.export.savedmodel: signatures, parity with predict, failure modes."""

import io
import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

import kerasvision
from kerasvision.export import ExportError, check_export, export_saved_model
from kerasvision.models.cnn import build_bipyramidal_cnn
from kerasvision.models.heads import serving_model
from kerasvision.runs import load_run


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


# === The serving contract, as TensorFlow Serving sees it ===
# The README's "Serving" section documents both signatures; `saved_model_cli`
# (TensorFlow's own) reads them (names, dtypes, shapes) and runs one.

#: The README's contract: signature -> {"inputs"/"outputs": {name: (dtype, shape)}}.
CONTRACT = {
    "serving_default": {
        "inputs": {"images": ("DT_FLOAT", "(-1, H, W, C)")},
        "outputs": {"probabilities": ("DT_FLOAT", "(-1, K)")},
    },
    "serving_bytes": {
        "inputs": {"image_bytes": ("DT_STRING", "(-1)")},
        "outputs": {
            "probabilities": ("DT_FLOAT", "(-1, K)"),
            "class_index": ("DT_INT64", "(-1)"),
            "class_name": ("DT_STRING", "(-1)"),
        },
    },
}


def _cli():
    """The console script, else the module (same code)."""
    script = shutil.which("saved_model_cli")
    return [script] if script else [sys.executable, "-m", _MODULE]


_MODULE = "tensorflow.python.tools.saved_model_cli"


def _signatures(text):
    """`saved_model_cli show --all` -> {signature: {"inputs"/"outputs": {...}}}."""
    found = {}
    blocks = re.split(r"^signature_def\['([^']+)'\]:$", text, flags=re.M)
    for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
        entries = re.findall(
            r"(inputs|outputs)\['([^']+)'\] tensor_info:\s+dtype: (\w+)\s+shape: "
            r"([^\n]+)",
            body,
        )
        found[name] = {"inputs": {}, "outputs": {}}
        for kind, key, dtype, shape in entries:
            found[name][kind][key] = (dtype, shape.strip())
    return found


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    """The tiny run's calibrated SavedModel: `(run, path)`."""
    run = load_run(tiny_run[0])
    path = tmp_path_factory.mktemp("contract") / "serving"
    export_saved_model(
        serving_model(run.model, temperature=run.temperature),
        path,
        class_names=run.class_names,
        resize=run.resize,
    )
    return run, str(path)


def test_saved_model_cli_sees_the_documented_signatures(exported, tmp_path):
    run, path = exported
    height, width = run.image_size
    sizes = {"H": height, "W": width, "C": run.channels, "K": len(run.class_names)}
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    sample = np.full((2, height, width, run.channels), 128.0).tolist()
    processes = [  # both at once: each pays TensorFlow's import
        subprocess.Popen(
            [*_cli(), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for arguments in (
            ["show", "--dir", path, "--all"],
            [
                "run",
                "--dir",
                path,
                "--tag_set",
                "serve",
                "--signature_def",
                "serving_default",
                "--input_exprs",
                f"images={sample}",
            ],
        )  # fmt: skip
    ]
    (shown, shown_err), (ran, ran_err) = (p.communicate(timeout=300) for p in processes)
    assert processes[0].returncode == 0, shown_err[-2000:]
    assert processes[1].returncode == 0, ran_err[-2000:]
    signatures = _signatures(shown)
    for name, contract in CONTRACT.items():
        for kind in ("inputs", "outputs"):
            expected = {
                key: (dtype, re.sub(r"[HWCK]", lambda m: str(sizes[m[0]]), shape))
                for key, (dtype, shape) in contract[kind].items()
            }
            assert signatures[name][kind] == expected, (name, kind)
    assert "Result for output key probabilities" in ran
    values = np.array(
        [float(v) for v in re.findall(r"[-+]?\d*\.\d+(?:e[-+]?\d+)?", ran)]
    )
    assert len(values) == 2 * len(run.class_names)
    np.testing.assert_allclose(values.reshape(2, -1).sum(axis=1), 1.0, atol=1e-5)


# === One decode path: serving_bytes gives `predict`'s probabilities ===


def _stored(fmt, *, orientation=None, exif_prefix=b"", pixels=None, **save):
    """A non-square blocky image (12 x 20) encoded as `fmt`, stored sideways
    with EXIF `orientation` when given."""
    if pixels is None:
        rng = np.random.default_rng(orientation or 0)
        blocks = rng.integers(0, 256, (6, 10, 3)).astype("uint8")
        pixels = np.kron(blocks, np.ones((2, 2, 1), dtype="uint8"))
    if orientation is not None:
        exif = Image.Exif()
        exif[0x0112] = orientation
        save["exif"] = exif_prefix + exif.tobytes()
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt, **save)
    return buffer.getvalue()


def _gray16():
    values = np.random.default_rng(7).integers(0, 65536, (12, 20)).astype("uint16")
    return _stored("PNG", pixels=values)


def _rgba_webp():
    rng = np.random.default_rng(8)
    pixels = rng.integers(0, 256, (12, 20, 4)).astype("uint8")
    return _stored("WEBP", pixels=pixels, lossless=True)


#: name -> (file suffix, encoded bytes): every format the bytes signature takes
#: with the cases where TensorFlow's decoders alone differ from `predict`.
DECODE_CASES = {
    "jpeg-exif6": (".jpg", lambda: _stored("JPEG", orientation=6, quality=95)),
    "png-exif6": (".png", lambda: _stored("PNG", orientation=6)),
    "png-exif8": (".png", lambda: _stored("PNG", orientation=8)),
    "png-16bit-gray": (".png", _gray16),
    "webp-lossless-exif6": (
        ".webp",
        lambda: _stored("WEBP", orientation=6, lossless=True),
    ),
    "webp-lossy-exif3": (".webp", lambda: _stored("WEBP", orientation=3, quality=90)),
    "webp-exif-prefixed-5": (
        ".webp",
        lambda: _stored("WEBP", orientation=5, exif_prefix=b"Exif\0\0", lossless=True),
    ),
    "webp-alpha": (".webp", _rgba_webp),
    "gif": (".gif", lambda: _stored("GIF")),
    "bmp": (".bmp", lambda: _stored("BMP")),
}


@pytest.fixture(scope="module")
def decoded_both_ways(exported, tmp_path_factory):
    """`{case: (predict's probabilities, serving_bytes's)}` for `DECODE_CASES`."""
    import tensorflow as tf

    run, path = exported
    folder = tmp_path_factory.mktemp("decode-cases")
    contents, paths = {}, {}
    for name, (suffix, make) in DECODE_CASES.items():
        contents[name] = make()
        paths[name] = folder / f"{name}{suffix}"
        paths[name].write_bytes(contents[name])
    results = kerasvision.predict(run.path, [str(paths[name]) for name in paths])
    served = (
        tf.saved_model.load(path)
        .signatures["serving_bytes"](
            image_bytes=tf.constant([contents[name] for name in paths])
        )["probabilities"]
        .numpy()
    )
    return {
        name: ([result["probabilities"][c] for c in run.class_names], served[index])
        for index, (name, result) in enumerate(zip(paths, results, strict=True))
    }


@pytest.mark.parametrize("case", list(DECODE_CASES))
def test_bytes_signature_gives_the_probabilities_of_predict(decoded_both_ways, case):
    expected, served = decoded_both_ways[case]
    np.testing.assert_allclose(served, expected, atol=1e-5)
