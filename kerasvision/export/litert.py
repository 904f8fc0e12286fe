"""LiteRT (TFLite) export (optional package `ai-edge-litert`).

A folder with `model.tflite` (signature `serving_default`: `images` float32
`[N, H, W, C]` raw 0-255 pixels -> `probabilities` float32 `[N, num_classes]`,
also when quantized: int8 keeps a float interface), `labels.txt` and
kerasvision's marker, checked in the LiteRT interpreter.
"""

from __future__ import annotations

import os

import numpy as np

from kerasvision._choices import QUANTIZE_MODES
from kerasvision._files import write_text
from kerasvision.export.core import (
    ExportError,
    archive,
    check_images,
    claimed,
    class_names_for,
    input_shape,
    one_line,
    pixels_spec,
    require_packages,
    stage_and_check,
    two_columns,
    within,
    write_marker,
)

__all__ = [
    "LITERT_AGREEMENT",
    "LITERT_EXTRA",
    "LITERT_FILE",
    "LITERT_PACKAGES",
    "LITERT_TOLERANCES",
    "check_litert_options",
    "export_litert",
    "export_run_litert",
]

LITERT_FILE = "model.tflite"
LITERT_PACKAGES = ("ai_edge_litert.interpreter",)
#: The pip extra that installs it: `pip install 'kerasvision[litert]'`.
LITERT_EXTRA = "litert"
#: Largest |delta prob| vs Keras `predict` of the float LiteRT exports.
LITERT_TOLERANCES = {"none": 1e-4, "float16": 5e-3}
#: Smallest top-1 agreement with Keras of the quantized exports (dynamic, int8)
#: on the run's test split (else the check images).
LITERT_AGREEMENT = 0.99


def _interpreter():
    require_packages(LITERT_PACKAGES, extra=LITERT_EXTRA, what="LiteRT export")
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError:  # found, but broken
        raise ExportError(
            "LiteRT export needs the optional package ai-edge-litert: "
            f"pip install 'kerasvision[{LITERT_EXTRA}]'"
        ) from None
    return Interpreter


def _litert_converter(serving, saved_model_dir, shape, quantize, representative):
    """A `tf.lite.TFLiteConverter` from the clean serving function."""
    import tensorflow as tf

    @tf.function(autograph=False)
    def serve(images):
        return {"probabilities": serving(images, training=False)}

    written = archive(serving, [("serving_default", serve, pixels_spec(shape))])
    written.write_out(saved_model_dir, verbose=False)
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
    from kerasvision._keras_internals import predict_without_xla
    from kerasvision.models.heads import serving_probabilities

    interpreter = _interpreter()(
        model_path=os.path.join(staging, LITERT_FILE), num_threads=1
    )
    runner = interpreter.get_signature_runner("serving_default")
    first = _litert_predict(runner, images)
    if not np.array_equal(first, _litert_predict(runner, images)):
        raise ExportError(f"LiteRT model at {staging} is not deterministic")
    expected = np.asarray(predict_without_xla(model, images), dtype="float64")
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
        within("LiteRT output", report["max_abs_diff"], tolerance, len(images))
    elif agree < agreement:
        raise ExportError(
            f"{quantize}-quantized LiteRT model agrees with Keras on the top-1 "
            f"class of {agree:.2%} of {len(images)} images (< {agreement:.0%}); "
            f"nothing written"
        )
    report["min_agreement"] = None if quantize in LITERT_TOLERANCES else agreement
    return report


def check_litert_options(quantize: str = "none", **_) -> None:
    """`ValueError` on a `quantize` that is not one of `QUANTIZE_MODES`."""
    if quantize not in QUANTIZE_MODES:
        raise ValueError(f"quantize must be one of {QUANTIZE_MODES}, got {quantize!r}")


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
            that do not match, or a destination that is not replaceable (or that
            another process writes).

    Example:
        >>> export_litert(model, "litert", class_names=names, quantize="float16")
    """
    from kerasvision.models.heads import strip_auxiliary_heads

    check_litert_options(quantize)
    if quantize == "int8" and (representative is None or not len(representative)):
        raise ValueError("int8 quantization needs representative images")
    _interpreter()
    model = two_columns(strip_auxiliary_heads(model))
    path = os.path.abspath(os.fspath(path))
    with claimed(path, overwrite):
        shape = input_shape(model)
        class_names = class_names_for(model, class_names)
        images, labels = (
            (check_images(sample_images, shape), None)
            if test_data is None or not len(test_data[0])
            else (check_images(test_data[0], shape), np.asarray(test_data[1]))
        )
        tolerance = LITERT_TOLERANCES.get(quantize) if tolerance is None else tolerance

        def write(staging):
            _write_litert(staging, model, shape, quantize, representative, class_names)

        report = stage_and_check(
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


def _write_litert(staging, model, shape, quantize, representative, class_names):
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kerasvision-litert-") as scratch:
        converter = _litert_converter(model, scratch, shape, quantize, representative)
        try:
            content = converter.convert()
        except Exception as error:  # the converter raises many types
            raise ExportError(f"LiteRT conversion failed: {one_line(error)}") from error
    with open(os.path.join(staging, LITERT_FILE), "wb") as stream:
        stream.write(content)
    write_text(os.path.join(staging, "labels.txt"), "\n".join(class_names) + "\n")
    write_marker(staging, "tflite")


def export_run_litert(
    run,
    model,
    output,
    *,
    overwrite: bool,
    tolerance=None,
    quantize: str = "none",
    representative: int = 200,
) -> dict:
    """LiteRT export of a run (`export_run`): representative images from its
    training split (int8), its test split for the agreement and accuracy checks."""
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
        model,
        output,
        class_names=run.class_names,
        quantize=quantize,
        representative=calibration,
        test_data=test,
        overwrite=overwrite,
        tolerance=tolerance,
    )
