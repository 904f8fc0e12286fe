"""SavedModel exports: a classifier's two signatures, an encoder's one.

Signatures of a classifier (`export_saved_model`):
- `serving_default`: `images` float32 `[N, H, W, C]` raw 0-255 pixels at the
  model's size -> `probabilities` `[N, num_classes]`.
- `serving_bytes`: `image_bytes` string `[N]` (JPEG/PNG/GIF/BMP/WebP, any size)
  -> `probabilities`, `class_index`, `class_name`; decoding and resizing
  happen in the graph with the pixels of the training pipeline
  (`kerasvision.data.encoded`).

A multi-label classifier (`thresholds` given) returns `probabilities` (one
per label) and `labels` (float32 multi-hot: 1.0 where a label's probability
reaches its threshold) from both signatures.

Encoders (`export_encoder`): `serving_default` `images` -> `latent` `[N, D]`,
or a U-Net's `probabilities` `[N, H, W, K]` and `mask` `[N, H, W]`.

Every signature checks its input before the model runs (`guards`): another
rank or shape, NaN or infinite pixels, a decompression bomb raise
`InvalidArgumentError`; an empty batch gives an empty result.
"""

from __future__ import annotations

import os

import numpy as np

from kerasvision.export.core import (
    ExportError,
    archive,
    check_images,
    claimed,
    class_names_for,
    deterministic,
    input_shape,
    pixels_spec,
    stage_and_check,
    within,
    write_marker,
)
from kerasvision.export.guards import call_model, checked_bytes, checked_pixels

__all__ = [
    "check_export",
    "export_encoder",
    "export_run_saved_model",
    "export_saved_model",
]


def _serving_functions(model, shape, class_names, resize, threshold, thresholds):
    """The traced `serve` (pixels) and `serve_bytes` functions of a classifier
    (of a multi-label one with `thresholds`)."""
    import tensorflow as tf

    from kerasvision.data.encoded import decode_image_bytes
    from kerasvision.models.heads import UNKNOWN_CLASS, serving_probabilities

    height, width, channels = shape
    cuts = None if thresholds is None else tf.constant(thresholds, tf.float32)

    # Plain TF ops throughout: no autograph conversion (seconds per export).
    @tf.function(autograph=False)
    def serve(images):
        images = checked_pixels(images, shape)
        probabilities = serving_probabilities(call_model(model, images))
        if cuts is not None:  # float32, as `decide` compares
            return {"probabilities": probabilities,
                    "labels": tf.cast(probabilities >= cuts, tf.float32)}  # fmt: skip
        return {"probabilities": probabilities}

    def decode_one(content):
        return decode_image_bytes(
            content, image_size=(height, width), channels=channels, resize=resize
        )

    @tf.function(autograph=False)
    def serve_bytes(image_bytes):
        images = tf.map_fn(
            decode_one,
            checked_bytes(image_bytes),
            fn_output_signature=tf.TensorSpec(shape, tf.float32),
        )
        probabilities = serving_probabilities(call_model(model, images))
        if cuts is not None:
            return {"probabilities": probabilities,
                    "labels": tf.cast(probabilities >= cuts, tf.float32)}  # fmt: skip
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

    return serve, serve_bytes


def export_saved_model(
    model,
    path,
    *,
    class_names,
    resize: str = "stretch",
    sample_images=None,
    tolerance: float = 1e-4,
    overwrite: bool = True,
    min_confidence: float | None = None,
    thresholds=None,
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
            1e-4, as ONNX's: a tiny CNN's graph agrees to about 1e-7, but a
            MobileNetV2 at 224 px was measured 2.8e-5 away (a multi-label
            head on flowers5 collages), float32 rounding and no error.
        overwrite: Replace an existing export at `path` (never anything else).
            Defaults to True.
        min_confidence: `serving_bytes` answers `class_name` "unknown" and
            `class_index` -1 when the top probability is below it. Defaults to
            None (never).
        thresholds: A multi-label model's decision threshold per label: both
            signatures then return `probabilities` and `labels` (multi-hot
            decisions), checked to equal the decisions on `model.predict`'s
            probabilities. Defaults to None (one class per image).

    Returns:
        A dict with the path, signatures and the measured differences.

    Raises:
        ExportError: If the reloaded SavedModel is not deterministic or differs
            from `model.predict` by more than `tolerance`.
        ValueError: If `path` exists and is not a replaceable export, or another
            process is writing it.

    Example:
        >>> export_saved_model(model, "serving", class_names=["cat", "dog"])
    """
    import tensorflow as tf

    from kerasvision.models.heads import strip_auxiliary_heads, unknown_threshold

    model = strip_auxiliary_heads(model)
    path = os.path.abspath(os.fspath(path))
    if thresholds is not None and min_confidence is not None:
        raise ValueError(
            "--min-confidence does not apply to a multi-label model: each label "
            "has its own threshold"
        )
    with claimed(path, overwrite):
        shape = input_shape(model)
        class_names = class_names_for(model, class_names)
        threshold = unknown_threshold(min_confidence, class_names)
        serve, serve_bytes = _serving_functions(
            model, shape, class_names, resize, threshold, thresholds
        )
        bytes_spec = [tf.TensorSpec([None], tf.string, name="image_bytes")]
        written = archive(
            model,
            [
                ("serving_default", serve, pixels_spec(shape)),
                ("serving_bytes", serve_bytes, bytes_spec),
            ],
        )
        checked = check_images(sample_images, shape)

        def write(staging):
            written.write_out(staging, verbose=False)
            write_marker(staging, "savedmodel")

        report = stage_and_check(
            path,
            write,
            lambda staging: check_export(
                model, staging, checked, tolerance, thresholds=thresholds
            ),
        )
    if thresholds is not None:
        report["thresholds"] = [float(t) for t in thresholds]
    report.update(
        path=path,
        format="savedmodel",
        signatures=["serving_default", "serving_bytes"],
        input_shape=list(shape),
        class_names=class_names,
        min_confidence=threshold,
    )
    return report


def check_export(
    model, export_path, images, tolerance: float = 1e-4, *, thresholds=None
) -> dict:
    """Reload a SavedModel and compare both signatures with `model.predict`
    (and, with `thresholds`, their `labels` with the decisions on its
    probabilities).

    Raises:
        ExportError: On non-determinism, a difference above `tolerance` or
            another decision.
    """
    import tensorflow as tf

    from kerasvision._keras_internals import predict_without_xla
    from kerasvision.models.heads import serving_probabilities

    images = check_images(images, images.shape[1:])
    loaded = tf.saved_model.load(export_path)
    serve = loaded.signatures["serving_default"]
    serve_bytes = loaded.signatures["serving_bytes"]
    expected = np.asarray(serving_probabilities(predict_without_xla(model, images)))
    first = deterministic(serve, images, "probabilities", export_path)
    encoded = tf.stack([tf.io.encode_png(tf.cast(image, tf.uint8)) for image in images])
    answered = serve_bytes(image_bytes=encoded)
    from_bytes = answered["probabilities"].numpy()
    count = len(images)
    if thresholds is not None:
        _check_decisions(
            expected, thresholds, tolerance,
            {"serving_default": serve(images=tf.constant(images))["labels"],
             "serving_bytes": answered["labels"]},
        )  # fmt: skip
    return {
        "checked_images": int(count),
        "max_abs_diff": within(
            "serving_default", float(np.max(np.abs(first - expected))), tolerance, count
        ),
        "max_abs_diff_bytes": within(
            "serving_bytes",
            float(np.max(np.abs(from_bytes - expected))),
            tolerance,
            count,
        ),
        "deterministic": True,
        "tolerance": tolerance,
    }


def _check_decisions(expected, thresholds, tolerance, found) -> None:
    """Each signature's `labels` equal the decisions on `model.predict`'s
    probabilities (a slot within `tolerance` of its threshold may differ)."""
    from kerasvision.data.labelsets import decide

    wanted = decide(expected, thresholds)
    unsure = np.abs(expected - np.asarray(thresholds)[None, :]) <= tolerance
    for name, labels in found.items():
        differ = (np.asarray(labels).astype("int8") != wanted) & ~unsure
        if differ.any():
            raise ExportError(
                f"exported {name} decides {int(differ.sum())} label slot(s) "
                f"otherwise than the thresholds on model.predict"
            )


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
        ValueError: If `path` exists and is not a replaceable export, or another
            process is writing it.
    """
    path = os.path.abspath(os.fspath(path))
    with claimed(path, overwrite):
        shape = input_shape(encoder)
        serve = _encoder_function(encoder, shape, output)
        written = archive(encoder, [("serving_default", serve, pixels_spec(shape))])
        images = check_images(sample_images, shape)
        measured = {}

        def write(staging):
            written.write_out(staging, verbose=False)
            write_marker(staging, "savedmodel")

        def check(staging):
            import tensorflow as tf

            serving = tf.saved_model.load(staging).signatures["serving_default"]
            first = deterministic(serving, images, output, path)
            expected = encoder.predict(images, verbose=0)
            if output == "latent":
                expected = expected.reshape(len(images), -1)
            measured["shape"] = list(first.shape[1:])
            delta = float(np.max(np.abs(first - expected)))
            return within("serving_default", delta, tolerance, len(images))

        delta = stage_and_check(path, write, check)
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


def _encoder_function(encoder, shape, output):
    import tensorflow as tf

    # The flattened size is static: an empty batch cannot infer it.
    size = int(np.prod([int(v) for v in encoder.output_shape[1:]]))

    @tf.function(autograph=False)
    def serve(images):
        images = checked_pixels(images, shape)
        values = tf.cast(call_model(encoder, images), tf.float32)
        if output == "probabilities":
            return {"probabilities": values, "mask": tf.argmax(values, axis=-1)}
        return {"latent": tf.reshape(values, (tf.shape(values)[0], size))}

    return serve


def export_run_saved_model(
    run, model, output, *, overwrite: bool, tolerance=None, min_confidence=None
) -> dict:
    """The SavedModel of a run (`export_run`): its resize mode, its images (a
    multi-label run's thresholds)."""
    from kerasvision.data.labelsets import recorded_thresholds

    return export_saved_model(
        model,
        output,
        class_names=run.class_names,
        resize=run.resize,
        sample_images=run.sample_images(16),
        overwrite=overwrite,
        min_confidence=min_confidence,
        thresholds=recorded_thresholds(run.info, run.class_names),
        **({} if tolerance is None else {"tolerance": tolerance}),
    )
