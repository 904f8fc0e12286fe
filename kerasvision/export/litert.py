"""LiteRT (TFLite) export (optional package `ai-edge-litert`).

A folder with `model.tflite` (signature `serving_default`: `images` float32
`[N, H, W, 3]` raw 0-255 RGB pixels -> `probabilities` float32
`[N, num_classes]`, also when quantized: int8 keeps a float interface; a
grayscale model turns RGB into gray inside the graph, since MediaPipe and ML
Kit feed RGB), `labels.txt` and kerasvision's marker, checked in the LiteRT
interpreter. With `kerasvision[mediapipe]` the model carries TFLite metadata
(normalization, the embedded label file, task, author, version:
`kerasvision.export.metadata`) and is also checked in MediaPipe Tasks'
`ImageClassifier`; without it the plain model is written, with one line
naming the extra.

A multi-label model (`thresholds`) has a second output, `labels` float32
`[N, num_labels]` (multi-hot decisions at its thresholds): the float exports
must decide as Keras does, the quantized ones agree on at least
`LITERT_AGREEMENT` of the label slots. It carries no MediaPipe metadata:
MediaPipe's `ImageClassifier` metadata describes one class per image.
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
#: Largest |delta prob| vs Keras `predict` of the float LiteRT exports (and the
#: band around a multi-label threshold where their decisions may differ).
#: float16 weights move a 224 px MobileNetV2's probabilities by up to 0.0164
#: (mean 0.0017) on 500 test images of benchmarks/multilabel.py's run.
LITERT_TOLERANCES = {"none": 1e-4, "float16": 2e-2}
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


#: ITU-R 601 luma weights (`tf.image.rgb_to_grayscale`, Pillow's "L"), scaled
#: to sum to exactly 1 so a gray image given as RGB stays the same gray.
_LUMA = np.array([0.2989, 0.5870, 0.1140]) / 0.9999


#: Why a multi-label LiteRT model carries no MediaPipe metadata.
_NO_MULTI_LABEL_METADATA = (
    "no MediaPipe metadata written: MediaPipe's ImageClassifier metadata "
    "describes one class per image, and this multi-label model returns a "
    "probability and a decision per label (labels.txt names them in order)"
)


def device_images(images) -> np.ndarray:
    """Images as the LiteRT model takes them: RGB (gray repeated in 3 channels)."""
    images = np.asarray(images, dtype="float32")
    return np.repeat(images, 3, axis=-1) if images.shape[-1] == 1 else images


def _litert_converter(
    serving, saved_model_dir, shape, quantize, representative, thresholds=None
):
    """A `tf.lite.TFLiteConverter` from the clean serving function (RGB in)."""
    import tensorflow as tf

    gray = shape[-1] == 1
    luma = tf.constant(_LUMA.reshape(1, 1, 3, 1), tf.float32)
    cuts = None if thresholds is None else tf.constant(thresholds, tf.float32)

    @tf.function(autograph=False)
    def serve(images):
        if gray:  # a 1x1 convolution: quantizable, unlike rgb_to_grayscale
            images = tf.nn.conv2d(images, luma, strides=1, padding="VALID")
        probabilities = serving(images, training=False)
        if cuts is not None:  # a multi-label model's decisions
            return {"probabilities": probabilities,
                    "labels": tf.cast(probabilities >= cuts, tf.float32)}  # fmt: skip
        return {"probabilities": probabilities}

    spec = pixels_spec((*shape[:-1], 3))
    written = archive(serving, [("serving_default", serve, spec)])
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
            [image[None]] for image in device_images(representative)
        )
    return converter


def _litert_predict(
    runner, images, batch_size: int = 64, output: str = "probabilities"
) -> np.ndarray:
    parts = [
        runner(images=images[start : start + batch_size])[output]
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


def _check_labels(runner, rgb, expected, thresholds, targets, quantize, tolerance,
                  agreement) -> dict:  # fmt: skip
    """A multi-label model's `labels` vs the thresholds on Keras's
    probabilities: identical for the float exports (but within `tolerance` of
    a threshold), at least `agreement` of the label slots when quantized."""
    from kerasvision.data.labelsets import decide

    found = _litert_predict(runner, rgb, output="labels").astype("int8")
    wanted = decide(expected, thresholds)
    report = {"label_agreement": float(np.mean(found == wanted))}
    if targets is not None:
        truth = np.asarray(targets) > 0.5
        report["subset_accuracy"] = float(np.mean(np.all(found == truth, axis=1)))
        report["keras_subset_accuracy"] = float(
            np.mean(np.all(wanted == truth, axis=1))
        )
    if quantize in LITERT_TOLERANCES:
        unsure = np.abs(expected - np.asarray(thresholds)[None, :]) <= tolerance
        if np.any((found != wanted) & ~unsure):
            raise ExportError(
                "LiteRT model decides a label otherwise than the thresholds on "
                "Keras's probabilities; nothing written"
            )
    elif report["label_agreement"] < agreement:
        raise ExportError(
            f"{quantize}-quantized LiteRT model agrees with Keras on "
            f"{report['label_agreement']:.2%} of {found.size} label decisions "
            f"(< {agreement:.0%}); nothing written"
        )
    return report


def _check_litert(
    staging, model, images, labels, quantize, tolerance, agreement, metadata,
    thresholds=None,
):  # fmt: skip
    """Load the staged model in the LiteRT interpreter (and MediaPipe, when it
    has metadata) and compare with Keras."""
    from kerasvision._keras_internals import predict_without_xla
    from kerasvision.models.heads import serving_probabilities

    interpreter = _interpreter()(
        model_path=os.path.join(staging, LITERT_FILE), num_threads=1
    )
    runner = interpreter.get_signature_runner("serving_default")
    rgb = device_images(images)
    first = _litert_predict(runner, rgb)
    if not np.array_equal(first, _litert_predict(runner, rgb)):
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
        "latency_ms": _litert_latency(runner, rgb[0]),
    }
    if thresholds is not None:
        report.update(_check_labels(runner, rgb, expected, thresholds, labels,
                                    quantize, tolerance, agreement))  # fmt: skip
        if quantize in LITERT_TOLERANCES:
            report["tolerance"] = tolerance
            within("LiteRT output", report["max_abs_diff"], tolerance, len(images))
        report["min_agreement"] = None if quantize in LITERT_TOLERANCES else agreement
        return report
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
    if metadata:
        report["mediapipe"] = _check_mediapipe(staging, rgb, expected, labels, quantize)
    return report


def _check_mediapipe(staging, images, expected, labels, quantize) -> dict:
    """MediaPipe `ImageClassifier`'s top-1 vs Keras (`MEDIAPIPE_AGREEMENT`)."""
    from kerasvision.export.metadata import (
        MEDIAPIPE_AGREEMENT,
        mediapipe_top1,
        read_metadata,
    )

    path = os.path.join(staging, LITERT_FILE)
    names = read_metadata(path)["associated_files"]
    with open(os.path.join(staging, "labels.txt"), encoding="utf-8") as stream:
        class_names = stream.read().splitlines()
    found = mediapipe_top1(path, images, class_names)
    agree = float(np.mean(found == expected.argmax(1)))
    needed = MEDIAPIPE_AGREEMENT[quantize]
    if agree < needed:
        raise ExportError(
            f"MediaPipe ImageClassifier agrees with Keras on the top-1 class of "
            f"{agree:.2%} of {len(images)} images (< {needed:.0%}); nothing written"
        )
    report = {
        "top1_agreement": agree,
        "min_agreement": needed,
        "checked_images": int(len(images)),
        "embedded_files": names,
    }
    if labels is not None:
        report["accuracy"] = float(np.mean(found == labels))
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
    about: dict | None = None,
    thresholds=None,
) -> dict:
    """Write `model` as a LiteRT (TFLite) folder, checked in the LiteRT interpreter.

    Converted with `tf.lite.TFLiteConverter` from the clean serving function
    (the SavedModel's `serving_default`): `images` float32 `[N, H, W, 3]` raw
    0-255 RGB pixels -> `probabilities` `[N, num_classes]` (a grayscale model
    turns RGB into gray inside the graph). The folder holds `model.tflite` and
    `labels.txt` (class names in output order). Quantization: "none"
    (float32), "float16" (float16 weights), "dynamic" (int8 weights, float
    activations) or "int8" (full-integer kernels with ranges from
    `representative` images; float32 input and output). Float exports must
    match `model.predict` within `tolerance`; quantized ones must agree on the
    top-1 class of at least `min_agreement` of the check images.

    With `kerasvision[mediapipe]` installed the model carries TFLite metadata
    (`kerasvision.export.metadata.add_metadata`: normalization, the embedded
    labels, name, version, author) and is checked in MediaPipe Tasks'
    `ImageClassifier` too (`MEDIAPIPE_AGREEMENT`); without it the report's
    "metadata_missing" is the one line naming the extra.

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
        about: The metadata's "name", "version" and "author". Defaults to None
            (the Keras model's name, "1", "kerasvision").
        thresholds: A multi-label model's decision threshold per label: a
            `labels` output too, `test_data`'s labels are multi-hot, and no
            MediaPipe metadata. Defaults to None.

    Returns:
        The report: path, quantize, file size, single-image latency, max |delta
        prob|, top-1 agreement and, with `test_data`, LiteRT and Keras accuracy;
        "mediapipe" (MediaPipe's agreement and accuracy) or "metadata_missing".

    Raises:
        ExportError: If ai-edge-litert is missing, the conversion fails, or the
            check fails (nothing is written then).
        ValueError: On a bad `quantize`, a missing `representative`, class names
            that do not match, or a destination that is not replaceable (or that
            another process writes).

    Example:
        >>> export_litert(model, "litert", class_names=names, quantize="float16")
    """
    from kerasvision.export.metadata import metadata_missing
    from kerasvision.models.heads import strip_auxiliary_heads

    check_litert_options(quantize)
    if quantize == "int8" and (representative is None or not len(representative)):
        raise ValueError("int8 quantization needs representative images")
    _interpreter()
    model = two_columns(strip_auxiliary_heads(model))
    path = os.path.abspath(os.fspath(path))
    missing = metadata_missing() if thresholds is None else _NO_MULTI_LABEL_METADATA
    about = {
        "name": model.name,
        "version": "1",
        "author": "kerasvision",
        **(about or {}),
    }
    with claimed(path, overwrite):
        shape = input_shape(model)
        class_names = class_names_for(model, class_names)
        images, labels = (
            (check_images(sample_images, shape), None)
            if test_data is None or not len(test_data[0])
            else (check_images(test_data[0], shape), np.asarray(test_data[1]))
        )
        tolerance = LITERT_TOLERANCES.get(quantize) if tolerance is None else tolerance
        converted = (shape, quantize, representative, class_names)

        def write(staging):
            _write_litert(staging, model, *converted, None if missing else about,
                          thresholds=thresholds)  # fmt: skip

        report = stage_and_check(
            path,
            write,
            lambda staging: _check_litert(
                staging, model, images, labels, quantize, tolerance, min_agreement,
                metadata=missing is None, thresholds=thresholds,
            ),
        )  # fmt: skip
    report.update(
        path=path,
        format="tflite",
        quantize=quantize,
        file=os.path.join(path, LITERT_FILE),
        input="images",
        input_channels="rgb",
        gray_in_graph=shape[-1] == 1,
        output="probabilities",
        input_shape=[*shape[:-1], 3],
        class_names=class_names,
        representative_images=None if representative is None else len(representative),
        metadata=None if missing else {**about, "norm_mean": 0.0, "norm_std": 1.0},
    )
    if missing:
        report["metadata_missing"] = missing
    if thresholds is not None:
        report.update(outputs=["probabilities", "labels"],
                      thresholds=[float(t) for t in thresholds])  # fmt: skip
    return report


def _write_litert(staging, model, shape, quantize, representative, class_names, about,
                  *, thresholds=None):  # fmt: skip
    """`model.tflite` (with metadata unless `about` is None), labels, marker."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="kerasvision-litert-") as scratch:
        converter = _litert_converter(
            model, scratch, shape, quantize, representative, thresholds
        )
        try:
            content = converter.convert()
        except Exception as error:  # the converter raises many types
            raise ExportError(f"LiteRT conversion failed: {one_line(error)}") from error
    if about is not None:
        from kerasvision.export.metadata import add_metadata

        content = add_metadata(
            content,
            class_names=class_names,
            input_shape=shape,
            gray=shape[-1] == 1,
            **about,
        )
    with open(os.path.join(staging, LITERT_FILE), "wb") as stream:
        stream.write(content)
    write_text(os.path.join(staging, "labels.txt"), "\n".join(class_names) + "\n")
    write_marker(staging, "tflite")


def _about_run(run) -> dict:
    """The metadata's name, version and author for a run."""
    from kerasvision import __version__

    model = run.info.get("model") or {}
    created = run.info.get("created") or ""
    name = os.path.basename(os.path.normpath(run.path))
    return {
        "name": str(model.get("name") or name),
        "version": f"{name} ({created})" if created else name,
        "author": f"kerasvision {__version__}",
    }


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
    from kerasvision.data.labelsets import recorded_thresholds

    calibration = test = None
    thresholds = recorded_thresholds(run.info, run.class_names)
    if data is not None:
        if quantize == "int8":
            calibration = data.arrays("train", count=int(representative), seed=0)[0]
        split = next((k for k in ("test", "val") if len(data.splits[k])), None)
        test = None if split is None else data.arrays(split)
        if test is not None and thresholds is not None:  # multi-hot labels
            test = (test[0], data.splits[split].targets)
    return export_litert(
        model,
        output,
        class_names=run.class_names,
        quantize=quantize,
        representative=calibration,
        test_data=test,
        overwrite=overwrite,
        tolerance=tolerance,
        about=_about_run(run),
        thresholds=thresholds,
    )
