"""Export a classifier as a clean TensorFlow SavedModel, checked against `predict`.

Signatures:
- `serving_default`: `images` float32 `[N, H, W, C]` raw 0-255 pixels at the model's
  size -> `probabilities` `[N, num_classes]`.
- `serving_bytes`: `image_bytes` string `[N]` (JPEG/PNG/GIF/BMP, any size) ->
  `probabilities`, `class_index`, `class_name`; decoding and resizing happen in the
  graph with the same functions as the training pipeline.

The export is written to a temporary folder, reloaded with `tf.saved_model.load`,
checked (deterministic, max |delta prob| <= tolerance vs `model.predict`), and only
then moved into place.

ONNX (`export_onnx`, optional packages `tf2onnx`, `onnx`, `onnxruntime`): one graph
`images` float32 `[N, H, W, C]` raw 0-255 pixels -> `probabilities` `[N,
num_classes]` (the `serving_default` contract; decoding and resizing stay with the
caller), class names in the model's metadata, checked in ONNX Runtime against
`model.predict` before it is moved into place.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import warnings

import numpy as np

from kerasvision._choices import EXPORT_FORMATS

__all__ = [
    "EXPORT_FORMATS",
    "ExportError",
    "export_onnx",
    "export_run",
    "export_saved_model",
    "serving_probabilities",
]


class ExportError(RuntimeError):
    """The exported SavedModel does not reproduce the Keras model."""


def serving_probabilities(outputs):
    """Class probabilities `[N, K]` from a classifier output (1 sigmoid unit -> 2)."""
    import tensorflow as tf

    outputs = tf.cast(outputs, tf.float32)
    if outputs.shape[-1] == 1:
        return tf.concat([1.0 - outputs, outputs], axis=-1)
    return outputs


def _main_output_model(model):
    """The single-output serving model (drops auxiliary heads if any)."""
    if len(model.outputs) == 1:
        return model
    import keras

    def layer_name(tensor):
        history = getattr(tensor, "_keras_history", None)
        return history[0].name if history else tensor.name

    main = next(
        (t for t in model.outputs if not layer_name(t).startswith("aux")),
        model.outputs[0],
    )
    return keras.Model(model.inputs, main, name=model.name)


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
        overwrite: Replace an existing export at `path`. Defaults to True.

    Returns:
        A dict with the path, signatures and the measured differences.

    Raises:
        ExportError: If the reloaded SavedModel is not deterministic or differs
            from `model.predict` by more than `tolerance`.
        ValueError: If `path` exists and `overwrite` is False.
    """
    import keras
    import tensorflow as tf

    from kerasvision.data import resize_image, to_channels

    model = _main_output_model(model)
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"export path already exists: {path}")
    _, height, width, channels = model.input_shape
    class_names = [str(c) for c in class_names]
    num_outputs = model.output_shape[-1]
    expected = 2 if num_outputs == 1 else num_outputs
    if len(class_names) != expected:
        raise ValueError(
            f"model has {expected} classes but {len(class_names)} class names given"
        )

    @tf.function
    def serve(images):
        return {"probabilities": serving_probabilities(model(images, training=False))}

    def decode_one(content):
        image = tf.io.decode_image(content, channels=3, expand_animations=False)
        image = to_channels(tf.cast(image, tf.float32), 1) if channels == 1 else image
        image.set_shape([None, None, channels])
        return resize_image(image, (height, width), resize)

    @tf.function
    def serve_bytes(image_bytes):
        images = tf.map_fn(
            decode_one,
            image_bytes,
            fn_output_signature=tf.TensorSpec([height, width, channels], tf.float32),
        )
        probabilities = serving_probabilities(model(images, training=False))
        index = tf.argmax(probabilities, axis=-1)
        names = tf.gather(tf.constant(class_names), index)
        return {
            "probabilities": probabilities,
            "class_index": index,
            "class_name": names,
        }

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint(
        "serving_default",
        serve,
        input_signature=[
            tf.TensorSpec([None, height, width, channels], tf.float32, name="images")
        ],
    )
    archive.add_endpoint(
        "serving_bytes",
        serve_bytes,
        input_signature=[tf.TensorSpec([None], tf.string, name="image_bytes")],
    )
    parent = os.path.dirname(path) or "."
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".export-", dir=parent)
    try:
        archive.write_out(staging, verbose=False)
        if sample_images is None:
            rng = np.random.default_rng(0)
            sample_images = rng.integers(0, 256, (8, height, width, channels))
        report = check_export(model, staging, np.asarray(sample_images), tolerance)
        _replace_dir(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    report.update(
        path=path,
        signatures=["serving_default", "serving_bytes"],
        input_shape=[int(height), int(width), int(channels)],
        class_names=class_names,
    )
    return report


def _predict_without_xla(model, images):
    """`model.predict`, with XLA off for the call: the SavedModel serves the plain
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


def check_export(model, export_path, images, tolerance: float = 1e-5) -> dict:
    """Reload a SavedModel and compare both signatures with `model.predict`.

    Raises:
        ExportError: On non-determinism or a difference above `tolerance`.
    """
    import tensorflow as tf

    images = np.clip(np.round(images), 0, 255).astype("float32")
    loaded = tf.saved_model.load(export_path)
    serve = loaded.signatures["serving_default"]
    serve_bytes = loaded.signatures["serving_bytes"]
    expected = serving_probabilities(_predict_without_xla(model, images)).numpy()
    first = serve(images=tf.constant(images))["probabilities"].numpy()
    second = serve(images=tf.constant(images))["probabilities"].numpy()
    if not np.array_equal(first, second):
        raise ExportError(
            f"exported model at {export_path} is not deterministic: two calls on the "
            f"same input differ by {np.max(np.abs(first - second)):.3g}"
        )
    pixel_delta = float(np.max(np.abs(first - expected)))
    encoded = tf.stack([tf.io.encode_png(tf.cast(image, tf.uint8)) for image in images])
    from_bytes = serve_bytes(image_bytes=encoded)["probabilities"].numpy()
    bytes_delta = float(np.max(np.abs(from_bytes - expected)))
    for name, delta in (
        ("serving_default", pixel_delta),
        ("serving_bytes", bytes_delta),
    ):
        if not delta <= tolerance:
            raise ExportError(
                f"exported {name} differs from model.predict by {delta:.3g} "
                f"(> {tolerance:g}) on {len(images)} sample images"
            )
    return {
        "checked_images": int(len(images)),
        "max_abs_diff": pixel_delta,
        "max_abs_diff_bytes": bytes_delta,
        "deterministic": True,
        "tolerance": tolerance,
    }


def _replace_dir(source: str, destination: str) -> None:
    """Move `source` to `destination`, replacing it without a window of loss."""
    if os.path.exists(destination):
        backup = tempfile.mkdtemp(prefix=".replaced-", dir=os.path.dirname(destination))
        os.rmdir(backup)
        os.replace(destination, backup)
        os.replace(source, destination)
        shutil.rmtree(backup, ignore_errors=True)
    else:
        os.replace(source, destination)


def export_run(
    run_dir, output=None, *, tolerance: float | None = None, format: str = "savedmodel"
) -> dict:
    """(Re-)export a run's `model.keras` as a SavedModel or an ONNX file.

    Uses images of the run's recorded test split (when available) for the check.

    Args:
        run_dir: A finished run directory.
        output: Destination. Defaults to None (`RUN/serving` for a SavedModel,
            `RUN/model.onnx` for ONNX).
        tolerance: Largest allowed |delta prob| vs `model.predict`. Defaults to
            None (1e-5 for a SavedModel, 1e-4 for ONNX).
        format: "savedmodel" or "onnx". Defaults to "savedmodel".

    Returns:
        The export report.

    Raises:
        ValueError: On an unknown format or a run that is not finished.
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
    samples = run.sample_images(16)
    if format == "onnx":
        return export_onnx(
            run.model,
            output or os.path.join(run.path, "model.onnx"),
            class_names=run.class_names,
            sample_images=samples,
            tolerance=1e-4 if tolerance is None else tolerance,
        )
    return export_saved_model(
        run.model,
        output or os.path.join(run.path, "serving"),
        class_names=run.class_names,
        resize=run.resize,
        sample_images=samples,
        tolerance=1e-5 if tolerance is None else tolerance,
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
        overwrite: Replace an existing file at `path`. Defaults to True.

    Returns:
        A dict with the path, opset, input/output names and the measured
        difference.

    Raises:
        ExportError: If the optional packages are missing, the conversion fails
            or ONNX Runtime differs from `model.predict` by more than `tolerance`.
        ValueError: If `path` exists and `overwrite` is False, the class names do
            not match the model, or the model is not float32.

    Example:
        >>> report = export_onnx(model, "model.onnx", class_names=["cat", "dog"])
        >>> report["max_abs_diff"] <= 1e-4
        True
    """
    import keras
    import tensorflow as tf

    _require_onnx_packages()
    model = _main_output_model(model)
    path = os.path.abspath(os.fspath(path))
    if os.path.exists(path) and not overwrite:
        raise ValueError(f"export path already exists: {path}")
    _, height, width, channels = model.input_shape
    class_names = [str(c) for c in class_names]
    num_outputs = model.output_shape[-1]
    expected = 2 if num_outputs == 1 else num_outputs
    if len(class_names) != expected:
        raise ValueError(
            f"model has {expected} classes but {len(class_names)} class names given"
        )
    mixed = sorted({layer.dtype_policy.name for layer in model.layers} - {"float32"})
    if mixed:
        raise ValueError(
            f"ONNX export needs a float32 model; this one uses {', '.join(mixed)} "
            f"(export the SavedModel instead, or retrain with --precision float32)"
        )
    serving = model
    if num_outputs == 1:
        serving = keras.Model(
            model.inputs, _two_columns(model.outputs[0]), name=model.name
        )
    if sample_images is None:
        rng = np.random.default_rng(0)
        sample_images = rng.integers(0, 256, (8, height, width, channels))
    images = np.clip(np.round(np.asarray(sample_images)), 0, 255).astype("float32")
    # The check's reference; calling the model also marks it as called.
    reference = serving_probabilities(model.predict(images, verbose=0)).numpy()

    parent = os.path.dirname(path) or "."
    os.makedirs(parent, exist_ok=True)
    handle, staging = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=parent)
    os.close(handle)
    try:
        signature = [
            tf.TensorSpec([None, height, width, channels], tf.float32, name="images")
        ]
        try:
            with warnings.catch_warnings():
                # Keras's tf2onnx shim probes `np.object` (a NumPy FutureWarning).
                warnings.simplefilter("ignore", FutureWarning)
                serving.export(
                    staging,
                    format="onnx",
                    verbose=False,
                    input_signature=signature,
                    opset_version=opset,
                )
        except Exception as error:  # tf2onnx raises many types
            raise ExportError(
                f"ONNX conversion failed: {type(error).__name__}: "
                f"{str(error).splitlines()[0] if str(error) else ''}"
            ) from error
        opset_used = _finish_onnx_file(staging, class_names)
        delta = _check_onnx(staging, images, reference, tolerance)
        os.replace(staging, path)
    except BaseException:
        if os.path.exists(staging):
            os.remove(staging)
        raise
    return {
        "path": path,
        "format": "onnx",
        "opset": opset_used,
        "input": "images",
        "output": "probabilities",
        "input_shape": [int(height), int(width), int(channels)],
        "class_names": class_names,
        "checked_images": int(len(images)),
        "max_abs_diff": delta,
        "tolerance": tolerance,
    }


def _two_columns(probability):
    """`p` -> `[1 - p, p]` for a one-unit sigmoid head (export only, never saved)."""
    import keras

    class TwoColumns(keras.layers.Layer):
        def call(self, inputs):
            inputs = keras.ops.cast(inputs, "float32")
            return keras.ops.concatenate([1.0 - inputs, inputs], axis=-1)

    return TwoColumns(name="probabilities")(probability)


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
    if not delta <= tolerance:
        raise ExportError(
            f"ONNX Runtime differs from model.predict by {delta:.3g} "
            f"(> {tolerance:g}) on {len(images)} sample images"
        )
    return delta
