"""Exports, all through one stage-and-check core: SavedModel, encoder, ONNX.

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
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from kerasvision._choices import EXPORT_FORMATS
from kerasvision._files import staged_dir, staged_file
from kerasvision.models.heads import serving_probabilities, strip_auxiliary_heads

__all__ = [
    "EXPORT_FORMATS",
    "ExportError",
    "check_export",
    "export_encoder",
    "export_onnx",
    "export_run",
    "export_saved_model",
    "is_export",
]


class ExportError(RuntimeError):
    """The export does not reproduce the Keras model (or cannot be written)."""


# === The core ===


def is_export(path) -> bool:
    """Whether `path` is something kerasvision exports (a SavedModel folder or an
    `.onnx` file), i.e. safe to replace by a new export."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return os.path.isfile(os.path.join(path, "saved_model.pb"))
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


def _check_header_pixels(content) -> None:
    """Refuse a decompression bomb before decoding it (the loader's limit)."""
    import tensorflow as tf

    from kerasvision.data.images import MAX_PIXELS

    tf.debugging.assert_less_equal(
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

    Returns:
        A dict with the path, signatures and the measured differences.

    Raises:
        ExportError: If the reloaded SavedModel is not deterministic or differs
            from `model.predict` by more than `tolerance`.
        ValueError: If `path` exists and is not a replaceable export.
    """
    import tensorflow as tf

    from kerasvision.data.images import resize_image, to_channels

    model = strip_auxiliary_heads(model)
    path = os.path.abspath(os.fspath(path))
    _check_destination(path, overwrite)
    shape = tuple(int(v) for v in model.input_shape[1:])
    height, width, channels = shape
    class_names = _class_names_for(model, class_names)

    @tf.function
    def serve(images):
        tf.debugging.assert_equal(
            tf.shape(images)[1:],
            tf.constant(shape),
            message=f"images must be [N, {height}, {width}, {channels}]",
        )
        return {"probabilities": serving_probabilities(model(images, training=False))}

    def decode_one(content):
        _check_header_pixels(content)
        image = tf.io.decode_image(content, channels=3, expand_animations=False)
        image = to_channels(tf.cast(image, tf.float32), 1) if channels == 1 else image
        image.set_shape([None, None, channels])
        return resize_image(image, (height, width), resize)

    @tf.function
    def serve_bytes(image_bytes):
        images = tf.map_fn(
            decode_one,
            image_bytes,
            fn_output_signature=tf.TensorSpec(shape, tf.float32),
        )
        probabilities = serving_probabilities(model(images, training=False))
        index = tf.argmax(probabilities, axis=-1)
        names = tf.gather(tf.constant(class_names), index)
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

    @tf.function
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


def export_run(
    run_dir,
    output=None,
    *,
    tolerance: float | None = None,
    format: str = "savedmodel",
    overwrite: bool = False,
) -> dict:
    """(Re-)export a run's `model.keras` as a SavedModel or an ONNX file.

    Uses images of the run's recorded test split (when available) for the check.
    The default destination inside the run is replaced; another `output` must
    not exist yet (or hold an earlier export, with `overwrite`), and may not be
    the run itself or contain it.

    Args:
        run_dir: A finished run directory.
        output: Destination. Defaults to None (`RUN/serving` for a SavedModel,
            `RUN/model.onnx` for ONNX).
        tolerance: Largest allowed |delta prob| vs `model.predict`. Defaults to
            None (1e-5 for a SavedModel, 1e-4 for ONNX).
        format: "savedmodel" or "onnx". Defaults to "savedmodel".
        overwrite: Replace an earlier export at `output`. Defaults to False.

    Returns:
        The export report.

    Raises:
        ValueError: On an unknown format, a run that is not finished, or a
            destination that is not replaceable.
        ExportError: If the export fails its check, or ONNX's optional packages
            are missing.

    Example:
        >>> export_run("saved_models/run", format="onnx")["path"]
        '.../saved_models/run/model.onnx'
    """
    from kerasvision.runs import load_run, require_classifier

    if format not in EXPORT_FORMATS:
        raise ValueError(f"format must be one of {EXPORT_FORMATS}, got {format!r}")
    run = require_classifier(load_run(run_dir))
    default = os.path.join(
        run.path, "serving" if format == "savedmodel" else "model.onnx"
    )
    if output is None:
        output, overwrite = default, True
    output = os.path.abspath(os.fspath(output))
    real_run, real_out = os.path.realpath(run.path), os.path.realpath(output)
    if real_run == real_out or real_run.startswith(real_out + os.sep):
        raise ValueError(f"--output {output} would replace the run {run.path} itself")
    samples = run.sample_images(16)
    if format == "onnx":
        return export_onnx(
            run.model,
            output,
            class_names=run.class_names,
            sample_images=samples,
            tolerance=1e-4 if tolerance is None else tolerance,
            overwrite=overwrite,
        )
    return export_saved_model(
        run.model,
        output,
        class_names=run.class_names,
        resize=run.resize,
        sample_images=samples,
        tolerance=1e-5 if tolerance is None else tolerance,
        overwrite=overwrite,
    )


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
    import keras

    from kerasvision.layers.outputs import BinaryToCategorical

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
    serving = model
    if model.output_shape[-1] == 1:
        two = BinaryToCategorical(name="probabilities")(model.outputs[0])
        serving = keras.Model(model.inputs, two, name=model.name)
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
