"""Exports, all through one stage-and-check core: SavedModel, encoder, ONNX, LiteRT.

Every format is written into a temporary folder or file beside its destination,
checked there (reloaded, deterministic, within a tolerance of `model.predict`),
and only then moved into place (`_stage_and_check`); a failed check leaves the
destination as it was.

SavedModel signatures of a classifier:
- `serving_default`: `images` float32 `[N, H, W, C]` raw 0-255 pixels at the model's
  size -> `probabilities` `[N, num_classes]`.
- `serving_bytes`: `image_bytes` string `[N]` (JPEG/PNG/GIF/BMP, any size) ->
  `probabilities`, `class_index`, `class_name`; decoding and resizing happen in the
  graph with the same functions as the training pipeline.

Encoders (`export_encoder`): `serving_default` `images` -> `latent` `[N, D]`, or
a U-Net's `probabilities` `[N, H, W, K]` and `mask` `[N, H, W]`.

ONNX (`export_onnx`, optional packages `tf2onnx`, `onnx`, `onnxruntime`): one graph
`images` float32 `[N, H, W, C]` raw 0-255 pixels -> `probabilities` `[N,
num_classes]` (the `serving_default` contract; decoding and resizing stay with the
caller), class names in the model's metadata, checked in ONNX Runtime.

LiteRT (`export_litert`, optional package `ai-edge-litert`): a folder with
`model.tflite` (signature `serving_default`: `images` float32 `[N, H, W, C]` raw
0-255 pixels -> `probabilities` float32 `[N, num_classes]`, also when quantized:
int8 keeps a float interface) and `labels.txt`, checked in the LiteRT
interpreter.

A run's exports serve its calibrated probabilities (`serving_model`: the
fitted temperature, optionally test-time augmentation) and may answer
"unknown" below `min_confidence` in `serving_bytes`.
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from kerasvision._choices import EXPORT_FORMATS, QUANTIZE_MODES
from kerasvision._files import staged_dir, staged_file, write_text
from kerasvision.models.heads import (
    UNKNOWN_CLASS,
    serving_model,
    serving_probabilities,
    strip_auxiliary_heads,
    unknown_threshold,
)

__all__ = [
    "EXPORT_FORMATS",
    "ExportError",
    "LITERT_AGREEMENT",
    "LITERT_TOLERANCES",
    "check_export",
    "export_encoder",
    "export_litert",
    "export_onnx",
    "export_run",
    "export_saved_model",
    "is_export",
]


class ExportError(RuntimeError):
    """The export does not reproduce the Keras model (or cannot be written)."""


# === The core ===


def is_export(path) -> bool:
    """Whether `path` is something kerasvision exports (a SavedModel or LiteRT
    folder, or an `.onnx` file), i.e. safe to replace by a new export."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return any(
            os.path.isfile(os.path.join(path, name))
            for name in ("saved_model.pb", LITERT_FILE)
        )
    return os.path.isfile(path) and path.endswith(".onnx")


def _check_destination(path: str, overwrite: bool) -> None:
    if os.path.lexists(path) and not (overwrite and is_export(path)):
        if is_export(path):
            raise ValueError(f"export path already exists: {path} (pass --overwrite)")
        raise ValueError(
            f"{path} exists and is not a kerasvision export; choose another --output "
            f"(nothing there is replaced)"
        )


def _stage_and_check(path, write, check, *, folder: bool = True, suffix: str = ""):
    """Write into a staging folder/file with `write(staging)`, `check(staging)`
    (raising `ExportError`), then move it to `path`. Returns `check`'s report."""
    stage = staged_dir(path) if folder else staged_file(path, suffix=suffix)
    with stage as staging:
        write(staging)
        return check(staging)


def _sample_images(sample_images, shape) -> np.ndarray:
    """float32 0-255 integers for the checks (8 seeded random images if None)."""
    if sample_images is None:
        sample_images = np.random.default_rng(0).integers(0, 256, (8, *shape))
    return np.clip(np.round(np.asarray(sample_images)), 0, 255).astype("float32")


def _within(name: str, delta: float, tolerance: float, count: int) -> float:
    if not delta <= tolerance:
        raise ExportError(
            f"exported {name} differs from model.predict by {delta:.3g} "
            f"(> {tolerance:g}) on {count} sample images"
        )
    return delta


def _archive(model, endpoints):
    """A `keras.export.ExportArchive` tracking `model` with `(name, fn, spec)`s."""
    import keras

    archive = keras.export.ExportArchive()
    archive.track(model)
    for name, function, signature in endpoints:
        archive.add_endpoint(name, function, input_signature=signature)
    return archive


def _header_pixels(content):
    """Width x height from a JPEG/PNG/GIF/BMP header, not decoding (0: unknown)."""
    import tensorflow as tf

    padded = tf.strings.join([content, tf.constant(b"\0" * 32)])
    head = tf.cast(
        tf.io.decode_raw(tf.strings.substr(padded, 0, 32), tf.uint8), tf.int64
    )

    def big(offset):
        return (
            head[offset] * 2**24
            + head[offset + 1] * 2**16
            + (head[offset + 2] * 2**8 + head[offset + 3])
        )

    def little(offset, count):
        return sum(head[offset + i] * 2 ** (8 * i) for i in range(count))

    def jpeg():
        return tf.reduce_prod(
            tf.cast(tf.image.extract_jpeg_shape(content)[:2], tf.int64)
        )

    def signed(value):  # BMP heights are negative for top-down rows
        return tf.abs(tf.where(value >= 2**31, value - 2**32, value))

    magic = tf.strings.substr(padded, 0, 4)
    return tf.case(
        [
            (tf.io.is_jpeg(content), jpeg),
            (tf.equal(magic, b"\x89PNG"), lambda: big(16) * big(20)),
            (tf.equal(magic, b"GIF8"), lambda: little(6, 2) * little(8, 2)),
            (
                tf.equal(tf.strings.substr(padded, 0, 2), b"BM"),
                lambda: signed(little(18, 4)) * signed(little(22, 4)),
            ),
        ],
        default=lambda: tf.constant(0, tf.int64),
    )


def _check_header_pixels(content):
    """Refuse a decompression bomb before decoding it (the loader's limit)."""
    import tensorflow as tf

    from kerasvision.data.images import MAX_PIXELS

    return tf.debugging.assert_less_equal(
        _header_pixels(content),
        tf.constant(MAX_PIXELS, tf.int64),
        message=f"image has more than {MAX_PIXELS} pixels (a decompression bomb?)",
    )


def _pixels_spec(shape):
    import tensorflow as tf

    return [tf.TensorSpec([None, *shape], tf.float32, name="images")]


def _class_names_for(model, class_names) -> list[str]:
    class_names = [str(c) for c in class_names]
    units = model.output_shape[-1]
    expected = 2 if units == 1 else units
    if len(class_names) != expected:
        raise ValueError(
            f"model has {expected} classes but {len(class_names)} class names given"
        )
    return class_names


def _two_columns(model):
    """`model`, with a one-unit sigmoid head turned into two probabilities."""
    if model.output_shape[-1] != 1:
        return model
    import keras

    from kerasvision.layers.outputs import BinaryToCategorical

    two = BinaryToCategorical(name="probabilities")(model.outputs[0])
    return keras.Model(model.inputs, two, name=model.name)


def _predict_without_xla(model, images):
    """`model.predict`, with XLA off for the call: the export serves the plain
    graph, and an XLA-fused predict rounds (bf16 especially) differently."""
    if getattr(model, "jit_compile", False) is not True:
        return model.predict(images, verbose=0)
    model.jit_compile = False
    model.predict_function = None
    try:
        return model.predict(images, verbose=0)
    finally:
        model.jit_compile = True
        model.predict_function = None


# === SavedModel ===


def export_saved_model(
    model,
    path,
    *,
    class_names,
    resize: str = "stretch",
    sample_images=None,
    tolerance: float = 1e-5,
    overwrite: bool = True,
    min_confidence: float | None = None,
) -> dict:
    """Write `model` as a SavedModel with raw-pixel and encoded-bytes signatures.

    Args:
        model: A Keras classifier taking raw 0-255 pixels `[N, H, W, C]`.
        path: Destination folder.
        class_names: Class names in output order (stored in the graph).
        resize: Resize mode used for the bytes signature ("stretch", "crop",
            "pad"), the same as the training pipeline. Defaults to "stretch".
        sample_images: float/uint8 `[N, H, W, C]` images for the parity check.
            Defaults to None (random pixels).
        tolerance: Largest allowed |delta prob| vs `model.predict`. Defaults to
            1e-5.
        overwrite: Replace an existing export at `path` (never anything else).
            Defaults to True.
        min_confidence: `serving_bytes` answers `class_name` "unknown" and
            `class_index` -1 when the top probability is below it. Defaults to
            None (never).

    Returns:
        A dict with the path, signatures and the measured differences.

    Raises:
        ExportError: If the reloaded SavedModel is not deterministic or differs
            from `model.predict` by more than `tolerance`.
        ValueError: If `path` exists and is not a replaceable export.
    """
    import tensorflow as tf

    from kerasvision.data.images import decode_image_bytes

    model = strip_auxiliary_heads(model)
    path = os.path.abspath(os.fspath(path))
    _check_destination(path, overwrite)
    shape = tuple(int(v) for v in model.input_shape[1:])
    height, width, channels = shape
    class_names = _class_names_for(model, class_names)
    threshold = unknown_threshold(min_confidence, class_names)

    # Plain TF ops throughout: no autograph conversion (seconds per export).
    @tf.function(autograph=False)
    def serve(images):
        tf.debugging.assert_equal(
            tf.shape(images)[1:],
            tf.constant(shape),
            message=f"images must be [N, {height}, {width}, {channels}]",
        )
        return {"probabilities": serving_probabilities(model(images, training=False))}

    def decode_one(content):
        # Explicitly first: nothing else orders the check before the decoder.
        with tf.control_dependencies([_check_header_pixels(content)]):
            return decode_image_bytes(
                content, image_size=(height, width), channels=channels, resize=resize
            )

    @tf.function(autograph=False)
    def serve_bytes(image_bytes):
        images = tf.map_fn(
            decode_one,
            image_bytes,
            fn_output_signature=tf.TensorSpec(shape, tf.float32),
        )
        probabilities = serving_probabilities(model(images, training=False))
        index = tf.argmax(probabilities, axis=-1)
        names = tf.gather(tf.constant(class_names), index)
        if threshold is not None:
            sure = tf.reduce_max(probabilities, axis=-1) >= threshold
            index = tf.where(sure, index, tf.constant(-1, tf.int64))
            names = tf.where(sure, names, tf.constant(UNKNOWN_CLASS))
        return {
            "probabilities": probabilities,
            "class_index": index,
            "class_name": names,
        }

    archive = _archive(
        model,
        [
            ("serving_default", serve, _pixels_spec(shape)),
            (
                "serving_bytes",
                serve_bytes,
                [tf.TensorSpec([None], tf.string, name="image_bytes")],
            ),
        ],
    )
    images = _sample_images(sample_images, shape)
    report = _stage_and_check(
        path,
        lambda staging: archive.write_out(staging, verbose=False),
        lambda staging: check_export(model, staging, images, tolerance),
    )
    report.update(
        path=path,
        signatures=["serving_default", "serving_bytes"],
        input_shape=list(shape),
        class_names=class_names,
        min_confidence=threshold,
    )
    return report


def check_export(model, export_path, images, tolerance: float = 1e-5) -> dict:
    """Reload a SavedModel and compare both signatures with `model.predict`.

    Raises:
        ExportError: On non-determinism or a difference above `tolerance`.
    """
    import tensorflow as tf

    images = _sample_images(images, images.shape[1:])
    loaded = tf.saved_model.load(export_path)
    serve = loaded.signatures["serving_default"]
    serve_bytes = loaded.signatures["serving_bytes"]
    expected = np.asarray(serving_probabilities(_predict_without_xla(model, images)))
    first = _deterministic(serve, images, "probabilities", export_path)
    encoded = tf.stack([tf.io.encode_png(tf.cast(image, tf.uint8)) for image in images])
    from_bytes = serve_bytes(image_bytes=encoded)["probabilities"].numpy()
    count = len(images)
    return {
        "checked_images": int(count),
        "max_abs_diff": _within(
            "serving_default", float(np.max(np.abs(first - expected))), tolerance, count
        ),
        "max_abs_diff_bytes": _within(
            "serving_bytes",
            float(np.max(np.abs(from_bytes - expected))),
            tolerance,
            count,
        ),
        "deterministic": True,
        "tolerance": tolerance,
    }


def _deterministic(signature, images, output, where) -> np.ndarray:
    import tensorflow as tf

    first = signature(images=tf.constant(images))[output].numpy()
    second = signature(images=tf.constant(images))[output].numpy()
    if not np.array_equal(first, second):
        raise ExportError(
            f"exported model at {where} is not deterministic: two calls on the "
            f"same input differ by {np.max(np.abs(first - second)):.3g}"
        )
    return first


def export_encoder(
    encoder,
    path,
    *,
    sample_images=None,
    tolerance: float = 1e-5,
    output="latent",
    overwrite: bool = True,
) -> dict:
    """Write an encoder (or U-Net) as a SavedModel and check it against `predict`.

    Signature `serving_default`: `images` float32 `[N, H, W, C]` raw 0-255 pixels
    -> `latent` `[N, D]` (the code, flattened). With `output="probabilities"` (a
    U-Net) it returns `probabilities` `[N, H, W, K]` and `mask` `[N, H, W]`.

    Args:
        encoder: Keras model taking raw pixels.
        path: Destination folder.
        sample_images: Images for the check. Defaults to None (random pixels).
        tolerance: Largest allowed |delta| vs `encoder.predict`. Defaults to 1e-5.
        output: "latent" or "probabilities". Defaults to "latent".
        overwrite: Replace an existing export at `path`. Defaults to True.

    Returns:
        The export report (path, signature, max |delta|...).

    Raises:
        ExportError: If the reloaded SavedModel is not deterministic or differs
            by more than `tolerance`.
    """
    import tensorflow as tf

    path = os.path.abspath(os.fspath(path))
    _check_destination(path, overwrite)
    shape = tuple(int(v) for v in encoder.input_shape[1:])

    @tf.function(autograph=False)
    def serve(images):
        values = tf.cast(encoder(images, training=False), tf.float32)
        if output == "probabilities":
            return {"probabilities": values, "mask": tf.argmax(values, axis=-1)}
        return {"latent": tf.reshape(values, (tf.shape(values)[0], -1))}

    archive = _archive(encoder, [("serving_default", serve, _pixels_spec(shape))])
    images = _sample_images(sample_images, shape)
    measured = {}

    def check(staging):
        serving = tf.saved_model.load(staging).signatures["serving_default"]
        first = _deterministic(serving, images, output, path)
        expected = encoder.predict(images, verbose=0)
        if output == "latent":
            expected = expected.reshape(len(images), -1)
        measured["shape"] = list(first.shape[1:])
        delta = float(np.max(np.abs(first - expected)))
        return _within("serving_default", delta, tolerance, len(images))

    delta = _stage_and_check(
        path, lambda staging: archive.write_out(staging, verbose=False), check
    )
    return {
        "path": path,
        "signatures": ["serving_default"],
        "input_shape": list(shape),
        "output": output,
        "output_shape": measured["shape"],
        "checked_images": int(len(images)),
        "max_abs_diff": delta,
        "deterministic": True,
        "tolerance": tolerance,
    }


# === Runs ===


def _run_destination(run, output, format, quantize):
    """`(output, overwrite_default)`: the run's own default, or a checked path."""
    name = {"savedmodel": "serving", "onnx": "model.onnx"}.get(
        format, f"litert-{quantize}"
    )
    if output is None:
        return os.path.join(run.path, name), True
    output = os.path.abspath(os.fspath(output))
    real_run, real_out = os.path.realpath(run.path), os.path.realpath(output)
    if real_run == real_out or real_run.startswith(real_out + os.sep):
        raise ValueError(f"--output {output} would replace the run {run.path} itself")
    return output, None


def _check_run_options(format, quantize, min_confidence) -> None:
    if format not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {EXPORT_FORMATS}, got {format!r}")
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if quantize != "none" and format != "tflite":
        raise ValueError("--quantize applies to --format tflite only")
    if min_confidence is not None and format != "savedmodel":
        raise ValueError(
            "--min-confidence applies to the SavedModel (its serving_bytes "
            "signature); the other formats return probabilities only"
        )


def export_run(
    run_dir,
    output=None,
    *,
    tolerance: float | None = None,
    format: str = "savedmodel",
    overwrite: bool = False,
    quantize: str = "none",
    representative: int = 200,
    min_confidence: float | None = None,
    tta: str | None = None,
) -> dict:
    """(Re-)export a run as a SavedModel, an ONNX file or a LiteRT model.

    The exported model serves the run's calibrated probabilities (its
    temperature; 1.0 for runs without one), with `tta` averaged in. Images of
    the run's recorded test split (when available) check it. The default
    destination inside the run is replaced; another `output` must not exist yet
    (or hold an earlier export, with `overwrite`), and may not be the run
    itself or contain it. The report is also recorded in the run's `run.json`
    under "exports" (keyed by format, and quantization for LiteRT).

    Args:
        run_dir: A finished run directory.
        output: Destination. Defaults to None (`RUN/serving` for a SavedModel,
            `RUN/model.onnx` for ONNX, `RUN/litert-<quantize>/` for LiteRT).
        tolerance: Largest allowed |delta prob| vs `model.predict`. Defaults to
            None (1e-5 SavedModel, 1e-4 ONNX, `LITERT_TOLERANCES` for LiteRT).
        format: "savedmodel", "onnx" or "tflite". Defaults to "savedmodel".
        overwrite: Replace an earlier export at `output`. Defaults to False.
        quantize: LiteRT only: "none", "float16", "dynamic" or "int8" (see
            `export_litert`). Defaults to "none".
        representative: int8 only: how many training images (a seeded draw)
            calibrate the quantization ranges. Defaults to 200.
        min_confidence: SavedModel only: `serving_bytes` answers "unknown"
            below this top probability. Defaults to None (never).
        tta: Bake test-time augmentation ("flip" or "flip+crop") into the
            exported model. Defaults to None (none).

    Returns:
        The export report.

    Raises:
        ValueError: On an unknown format or an option the format does not take,
            a run that is not finished, or a destination that is not replaceable.
        ExportError: If the export fails its check, or an optional package is
            missing.

    Example:
        >>> export_run("saved_models/run", format="tflite", quantize="int8")["path"]
        '.../saved_models/run/litert-int8'
    """
    from kerasvision.runs import load_run, require_classifier

    _check_run_options(format, quantize, min_confidence)
    run = require_classifier(load_run(run_dir))
    output, own = _run_destination(run, output, format, quantize)
    overwrite = bool(own or overwrite)
    model = serving_model(run.model, temperature=run.temperature, tta=tta)
    common = {"class_names": run.class_names, "overwrite": overwrite}
    if tolerance is not None:
        common["tolerance"] = tolerance
    if format == "tflite":
        report = _export_run_litert(
            run, model, output, quantize, representative, common
        )
    elif format == "onnx":
        samples = run.sample_images(16)
        report = export_onnx(model, output, sample_images=samples, **common)
    else:
        samples = run.sample_images(16)
        report = export_saved_model(
            model, output, resize=run.resize, sample_images=samples,
            min_confidence=min_confidence, **common,
        )  # fmt: skip
    report.update(temperature=run.temperature, tta=tta)
    key = f"tflite-{quantize}" if format == "tflite" else format
    run.record(exports={**(run.info.get("exports") or {}), key: report})
    return report


def _export_run_litert(run, model, output, quantize, representative, common):
    """LiteRT export of a run: representative images from its training split
    (int8), its test split for the agreement and accuracy checks."""
    try:
        data = run.data()
    except (ValueError, FileNotFoundError, RuntimeError):
        data = None  # in-memory arrays: checked on random pixels only
    if quantize == "int8" and (data is None or not len(data.splits["train"])):
        raise ValueError(
            f"int8 quantization needs the run's training images for its "
            f"representative dataset, and {run.path} has none on disk"
        )
    calibration = test = None
    if data is not None:
        if quantize == "int8":
            calibration = data.arrays("train", count=int(representative), seed=0)[0]
        split = next((k for k in ("test", "val") if len(data.splits[k])), None)
        test = None if split is None else data.arrays(split)
    return export_litert(
        model, output, quantize=quantize, representative=calibration,
        test_data=test, **common,
    )  # fmt: skip


# === ONNX ===

ONNX_PACKAGES = ("tf2onnx", "onnx", "onnxruntime")


def _require_onnx_packages():
    import importlib.util

    missing = [name for name in ONNX_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise ExportError(
            f"ONNX export needs the optional package(s) {', '.join(missing)}: "
            f"pip install 'kerasvision[onnx]' (tf2onnx, onnx, onnxruntime)"
        )


def export_onnx(
    model,
    path,
    *,
    class_names,
    sample_images=None,
    tolerance: float = 1e-4,
    opset: int | None = None,
    overwrite: bool = True,
) -> dict:
    """Write `model` as an ONNX file, checked in ONNX Runtime against `predict`.

    Conversion is Keras's own `model.export(format="onnx")` (tf2onnx under the
    TensorFlow backend). The graph takes `images` float32 `[N, H, W, C]` raw
    0-255 pixels (any N) and returns `probabilities` `[N, num_classes]`, as the
    SavedModel's `serving_default`; auxiliary heads are dropped and a one-unit
    sigmoid head becomes two columns. `class_names` is stored as JSON in the
    model's metadata (`metadata_props["class_names"]`).

    Args:
        model: A float32 Keras classifier taking raw 0-255 pixels.
        path: Destination `.onnx` file.
        class_names: Class names in output order.
        sample_images: float/uint8 `[N, H, W, C]` images for the check. Defaults
            to None (8 random images).
        tolerance: Largest allowed |delta prob| vs `model.predict`. Defaults to
            1e-4.
        opset: ONNX opset. Defaults to None (tf2onnx's default).
        overwrite: Replace an existing export at `path`. Defaults to True.

    Returns:
        A dict with the path, opset, input/output names and the measured
        difference.

    Raises:
        ExportError: If the optional packages are missing, the conversion fails
            or ONNX Runtime differs from `model.predict` by more than `tolerance`.
        ValueError: If `path` exists and is not a replaceable export, the class
            names do not match the model, or the model is not float32.

    Example:
        >>> report = export_onnx(model, "model.onnx", class_names=["cat", "dog"])
        >>> report["max_abs_diff"] <= 1e-4
        True
    """
    _require_onnx_packages()
    model = strip_auxiliary_heads(model)
    path = os.path.abspath(os.fspath(path))
    _check_destination(path, overwrite)
    shape = tuple(int(v) for v in model.input_shape[1:])
    class_names = _class_names_for(model, class_names)
    mixed = sorted({layer.dtype_policy.name for layer in model.layers} - {"float32"})
    if mixed:
        raise ValueError(
            f"ONNX export needs a float32 model; this one uses {', '.join(mixed)} "
            f"(export the SavedModel instead, or retrain with --precision float32)"
        )
    serving = _two_columns(model)
    images = _sample_images(sample_images, shape)
    # The check's reference; calling the model also marks it as called.
    reference = np.asarray(serving_probabilities(model.predict(images, verbose=0)))
    found = {}

    def write(staging):
        _convert_onnx(serving, staging, shape, opset)
        found["opset"] = _finish_onnx_file(staging, class_names)

    delta = _stage_and_check(
        path,
        write,
        lambda staging: _check_onnx(staging, images, reference, tolerance),
        folder=False,
        suffix=".onnx",
    )
    return {
        "path": path,
        "format": "onnx",
        "opset": found["opset"],
        "input": "images",
        "output": "probabilities",
        "input_shape": list(shape),
        "class_names": class_names,
        "checked_images": int(len(images)),
        "max_abs_diff": delta,
        "tolerance": tolerance,
    }


def _convert_onnx(serving, staging, shape, opset) -> None:
    try:
        with warnings.catch_warnings():
            # Keras's tf2onnx shim probes `np.object` (a NumPy FutureWarning).
            warnings.simplefilter("ignore", FutureWarning)
            serving.export(
                staging,
                format="onnx",
                verbose=False,
                input_signature=_pixels_spec(shape),
                opset_version=opset,
            )
    except Exception as error:  # tf2onnx raises many types
        raise ExportError(
            f"ONNX conversion failed: {type(error).__name__}: "
            f"{str(error).splitlines()[0] if str(error) else ''}"
        ) from error


def _finish_onnx_file(path, class_names) -> int:
    """Name the output `probabilities`, store the class names; returns the opset."""
    import json

    import onnx

    proto = onnx.load(path)
    graph = proto.graph
    old = graph.output[0].name
    new = "probabilities"
    for node in graph.node:
        node.output[:] = [new if name == old else name for name in node.output]
        node.input[:] = [new if name == old else name for name in node.input]
    graph.output[0].name = new
    entry = proto.metadata_props.add()
    entry.key, entry.value = "class_names", json.dumps(class_names)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    return int(max(item.version for item in proto.opset_import if not item.domain))


def _check_onnx(path, images, reference, tolerance) -> float:
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    (actual,) = session.run(["probabilities"], {"images": images})
    delta = float(np.max(np.abs(actual - reference)))
    return _within("ONNX Runtime output", delta, tolerance, len(images))


# === LiteRT (TFLite) ===

LITERT_FILE = "model.tflite"
#: Largest |delta prob| vs Keras `predict` of the float LiteRT exports.
LITERT_TOLERANCES = {"none": 1e-4, "float16": 5e-3}
#: Smallest top-1 agreement with Keras of the quantized exports (dynamic, int8)
#: on the run's test split (else the check images).
LITERT_AGREEMENT = 0.99


def _require_litert():
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:
        raise ExportError(
            "LiteRT export needs the optional package ai-edge-litert: "
            "pip install 'kerasvision[litert]'"
        ) from None
    return Interpreter


def _litert_converter(serving, saved_model_dir, shape, quantize, representative):
    """A `tf.lite.TFLiteConverter` from the clean serving function."""
    import tensorflow as tf

    @tf.function(autograph=False)
    def serve(images):
        return {"probabilities": serving(images, training=False)}

    archive = _archive(serving, [("serving_default", serve, _pixels_spec(shape))])
    archive.write_out(saved_model_dir, verbose=False)
    converter = tf.lite.TFLiteConverter.from_saved_model(
        saved_model_dir, signature_keys=["serving_default"]
    )
    if quantize != "none":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if quantize == "float16":
        converter.target_spec.supported_types = [tf.float16]
    if quantize == "int8":
        # Full-integer kernels; the interface stays float32 raw pixels.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.representative_dataset = lambda: (
            [image[None]] for image in representative
        )
    return converter


def _litert_predict(runner, images, batch_size: int = 64) -> np.ndarray:
    parts = [
        runner(images=images[start : start + batch_size])["probabilities"]
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(parts).astype("float64")


def _litert_latency(runner, image, repeats: int = 20) -> float:
    """Median single-image latency in milliseconds (after one warm-up call)."""
    import time

    runner(images=image[None])
    times = []
    for _ in range(repeats):
        tick = time.perf_counter()
        runner(images=image[None])
        times.append(time.perf_counter() - tick)
    return float(np.median(times) * 1000)


def _check_litert(staging, model, images, labels, quantize, tolerance, agreement):
    """Load the staged model in the LiteRT interpreter and compare with Keras."""
    interpreter = _require_litert()(
        model_path=os.path.join(staging, LITERT_FILE), num_threads=1
    )
    runner = interpreter.get_signature_runner("serving_default")
    first = _litert_predict(runner, images)
    if not np.array_equal(first, _litert_predict(runner, images)):
        raise ExportError(f"LiteRT model at {staging} is not deterministic")
    expected = np.asarray(_predict_without_xla(model, images), dtype="float64")
    expected = np.asarray(serving_probabilities(expected))
    agree = float(np.mean(first.argmax(1) == expected.argmax(1)))
    report = {
        "checked_images": int(len(images)),
        "max_abs_diff": float(np.max(np.abs(first - expected))),
        "top1_agreement": agree,
        "deterministic": True,
        "file_bytes": os.path.getsize(os.path.join(staging, LITERT_FILE)),
        "latency_ms": _litert_latency(runner, images[0]),
    }
    if labels is not None:
        report["accuracy"] = float(np.mean(first.argmax(1) == labels))
        report["keras_accuracy"] = float(np.mean(expected.argmax(1) == labels))
    if quantize in LITERT_TOLERANCES:
        report["tolerance"] = tolerance
        _within("LiteRT output", report["max_abs_diff"], tolerance, len(images))
    elif agree < agreement:
        raise ExportError(
            f"{quantize}-quantized LiteRT model agrees with Keras on the top-1 "
            f"class of {agree:.2%} of {len(images)} images (< {agreement:.0%}); "
            f"nothing written"
        )
    report["min_agreement"] = None if quantize in LITERT_TOLERANCES else agreement
    return report


def export_litert(
    model,
    path,
    *,
    class_names,
    quantize: str = "none",
    representative=None,
    test_data=None,
    sample_images=None,
    tolerance: float | None = None,
    min_agreement: float = LITERT_AGREEMENT,
    overwrite: bool = True,
) -> dict:
    """Write `model` as a LiteRT (TFLite) folder, checked in the LiteRT interpreter.

    Converted with `tf.lite.TFLiteConverter` from the clean serving function
    (the SavedModel's `serving_default`): `images` float32 `[N, H, W, C]` raw
    0-255 pixels -> `probabilities` `[N, num_classes]`. The folder holds
    `model.tflite` and `labels.txt` (class names in output order). Quantization:
    "none" (float32), "float16" (float16 weights), "dynamic" (int8 weights,
    float activations) or "int8" (full-integer kernels with ranges from
    `representative` images; float32 input and output). Float exports must
    match `model.predict` within `tolerance`; quantized ones must agree on the
    top-1 class of at least `min_agreement` of the check images.

    Args:
        model: A float32 Keras classifier taking raw 0-255 pixels.
        path: Destination folder.
        class_names: Class names in output order.
        quantize: "none", "float16", "dynamic" or "int8". Defaults to "none".
        representative: int8 only: `[N, H, W, C]` images for the ranges.
            Defaults to None (required for int8).
        test_data: `(images, labels)` for the check (agreement and accuracy).
            Defaults to None (`sample_images`).
        sample_images: Check images when `test_data` is None. Defaults to None
            (8 random images).
        tolerance: Largest |delta prob| of the float exports. Defaults to None
            (`LITERT_TOLERANCES`).
        min_agreement: Smallest top-1 agreement of the quantized exports.
            Defaults to `LITERT_AGREEMENT` (0.99).
        overwrite: Replace an existing export at `path`. Defaults to True.

    Returns:
        The report: path, quantize, file size, single-image latency, max |delta
        prob|, top-1 agreement and, with `test_data`, LiteRT and Keras accuracy.

    Raises:
        ExportError: If ai-edge-litert is missing, the conversion fails, or the
            check fails (nothing is written then).
        ValueError: On a bad `quantize`, a missing `representative`, class names
            that do not match, or a destination that is not replaceable.

    Example:
        >>> export_litert(model, "litert", class_names=names, quantize="float16")
    """
    import tempfile

    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")
    if quantize == "int8" and (representative is None or not len(representative)):
        raise ValueError("int8 quantization needs representative images")
    _require_litert()
    model = _two_columns(strip_auxiliary_heads(model))
    path = os.path.abspath(os.fspath(path))
    _check_destination(path, overwrite)
    shape = tuple(int(v) for v in model.input_shape[1:])
    class_names = _class_names_for(model, class_names)
    images, labels = (
        (_sample_images(sample_images, shape), None)
        if test_data is None or not len(test_data[0])
        else (_sample_images(test_data[0], shape), np.asarray(test_data[1]))
    )
    tolerance = LITERT_TOLERANCES.get(quantize) if tolerance is None else tolerance

    def write(staging):
        with tempfile.TemporaryDirectory(prefix="kerasvision-litert-") as scratch:
            converter = _litert_converter(
                model, scratch, shape, quantize, representative
            )
            try:
                content = converter.convert()
            except Exception as error:  # the converter raises many types
                raise ExportError(
                    f"LiteRT conversion failed: {type(error).__name__}: "
                    f"{str(error).splitlines()[0] if str(error) else ''}"
                ) from error
        with open(os.path.join(staging, LITERT_FILE), "wb") as stream:
            stream.write(content)
        write_text(os.path.join(staging, "labels.txt"), "\n".join(class_names) + "\n")

    report = _stage_and_check(
        path,
        write,
        lambda staging: _check_litert(
            staging, model, images, labels, quantize, tolerance, min_agreement
        ),
    )
    report.update(
        path=path,
        format="tflite",
        quantize=quantize,
        file=os.path.join(path, LITERT_FILE),
        input="images",
        output="probabilities",
        input_shape=list(shape),
        class_names=class_names,
        representative_images=None if representative is None else len(representative),
    )
    return report
