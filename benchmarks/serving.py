"""Serving benchmark: exported SavedModel (ONNX Runtime, LiteRT) vs `model.predict`.

Builds a registered model (random weights: speed does not depend on training),
exports it with `export_saved_model` (checked against `predict`) and, when the
optional packages are installed, with `export_onnx`. For batch sizes 1, 8, 32 and
128 it times, on the same float32 batch of raw pixels:

- `model.predict(batch)` (Keras, one call per batch),
- the SavedModel's `serving_default` signature (`tf.saved_model.load`),
- ONNX Runtime's CPU execution provider (if available),
- the LiteRT interpreter (if `ai-edge-litert` is installed) on the float32,
  float16 and int8 (full-integer, 32 representative images) exports, one thread,

and prints images/s (median of `--repeats` timed calls after a warm-up) and the
ratios SavedModel / predict and ONNX / SavedModel. The LiteRT exports' file
sizes and top-1 agreement with Keras are printed too (random weights: the int8
agreement check is off, the figure is speed). Then single-image latency of
the `serving_bytes` signature (one JPEG, decoded and resized in the graph):
p50/p95 over `--latency-calls` calls.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click  # noqa: E402
import numpy as np  # noqa: E402

BATCH_SIZES = (1, 8, 32, 128)


def _median_seconds(call, repeats):
    call()  # warm-up (tracing, allocation)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _jpeg(size, seed=0):
    from PIL import Image

    rng = np.random.default_rng(seed)
    base = np.linspace(0, 255, size)[None, :, None]
    pixels = np.clip(base + rng.normal(0, 20, (size, size, 3)), 0, 255)
    buffer = io.BytesIO()
    Image.fromarray(pixels.astype("uint8")).save(buffer, format="JPEG", quality=90)
    return buffer.getvalue()


def _onnx_session(model, folder, class_names):
    try:
        from kerasvision.export import ExportError, export_onnx

        report = export_onnx(
            model, os.path.join(folder, "model.onnx"), class_names=class_names
        )
    except ExportError as error:
        print(f"ONNX Runtime: skipped ({error})")
        return None
    import onnxruntime

    print(
        f"ONNX export: opset {report['opset']}, max |delta prob| vs predict "
        f"{report['max_abs_diff']:.2g}, onnxruntime {onnxruntime.__version__}"
    )
    return onnxruntime.InferenceSession(
        report["path"], providers=["CPUExecutionProvider"]
    )


LITERT_QUANTIZATIONS = ("none", "float16", "int8")


def _litert_runners(model, folder, class_names, images):
    """`{quantize: signature runner}` of the LiteRT exports ({} if unavailable)."""
    from kerasvision.export import ExportError, export_litert

    runners = {}
    for quantize in LITERT_QUANTIZATIONS:
        try:
            report = export_litert(
                model,
                os.path.join(folder, f"litert-{quantize}"),
                class_names=class_names,
                quantize=quantize,
                representative=images[:32],
                sample_images=images[:8],
                min_agreement=0.0,
            )
        except ExportError as error:
            print(f"LiteRT: skipped ({error})")
            return {}
        from ai_edge_litert.interpreter import Interpreter

        print(
            f"LiteRT {quantize} export: {report['file_bytes'] / 1024:.0f} KiB, max "
            f"|delta prob| {report['max_abs_diff']:.2g}, top-1 agreement "
            f"{report['top1_agreement']:.0%} on 8 random images"
        )
        interpreter = Interpreter(model_path=report["file"], num_threads=1)
        runners[quantize] = interpreter.get_signature_runner("serving_default")
    return runners


@click.command()
@click.option("--model", "model_name", default="bipyramidal_cnn", show_default=True)
@click.option("--image-size", default=128, show_default=True)
@click.option("--num-classes", default=10, show_default=True)
@click.option("--repeats", default=7, show_default=True, help="Timed calls each.")
@click.option("--latency-calls", default=200, show_default=True)
@click.option("--jpeg-size", default=256, show_default=True, help="Latency JPEG px.")
def main(model_name, image_size, num_classes, repeats, latency_calls, jpeg_size):
    """Time SavedModel / ONNX Runtime serving against model.predict."""
    import keras
    import tensorflow as tf

    from kerasvision.export import export_saved_model
    from kerasvision.models import build_model

    keras.utils.set_random_seed(0)
    model = build_model(model_name, (image_size, image_size, 3), num_classes)
    class_names = [f"class{i}" for i in range(num_classes)]
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (max(BATCH_SIZES), image_size, image_size, 3))
    images = images.astype("float32")
    print(
        f"model {model_name} {image_size}x{image_size}x3, {num_classes} classes, "
        f"{model.count_params():,} parameters; TensorFlow {tf.__version__}, "
        f"Keras {keras.__version__}, {os.cpu_count()} CPU(s); median of {repeats}"
    )
    with tempfile.TemporaryDirectory(prefix="kerasvision-serving-") as folder:
        report = export_saved_model(
            model, os.path.join(folder, "serving"), class_names=class_names
        )
        delta = report["max_abs_diff"]
        print(f"SavedModel export: max |delta prob| vs predict {delta:.2g}")
        loaded = tf.saved_model.load(report["path"])
        serve = loaded.signatures["serving_default"]
        serve_bytes = loaded.signatures["serving_bytes"]
        session = _onnx_session(model, folder, class_names)
        litert = _litert_runners(model, folder, class_names, images)

        header = f"{'batch':>5s} {'predict img/s':>14s} {'SavedModel img/s':>17s}"
        header += f" {'SM/predict':>10s}"
        if session is not None:
            header += f" {'ONNX RT img/s':>14s} {'ONNX/SM':>8s}"
        header += "".join(f" {'LiteRT ' + q + ' img/s':>20s}" for q in litert)
        print(header)
        for batch in BATCH_SIZES:
            x = images[:batch]
            tensor = tf.constant(x)
            predict = _median_seconds(
                lambda x=x: model.predict(x, batch_size=len(x), verbose=0), repeats
            )
            saved = _median_seconds(
                lambda t=tensor: serve(images=t)["probabilities"].numpy(), repeats
            )
            row = (
                f"{batch:5d} {batch / predict:14.1f} {batch / saved:17.1f} "
                f"{predict / saved:10.2f}"
            )
            if session is not None:
                onnx = _median_seconds(
                    lambda x=x: session.run(["probabilities"], {"images": x}), repeats
                )
                row += f" {batch / onnx:14.1f} {saved / onnx:8.2f}"
            for runner in litert.values():
                lite = _median_seconds(lambda x=x, r=runner: r(images=x), repeats)
                row += f" {batch / lite:20.1f}"
            print(row)

        payload = tf.constant([_jpeg(jpeg_size)])
        serve_bytes(image_bytes=payload)  # warm-up
        latencies = []
        for _ in range(latency_calls):
            start = time.perf_counter()
            serve_bytes(image_bytes=payload)["class_index"].numpy()
            latencies.append((time.perf_counter() - start) * 1000)
        p50, p95 = np.percentile(latencies, [50, 95])
        print(
            f"serving_bytes, one {jpeg_size}x{jpeg_size} JPEG per call "
            f"({latency_calls} calls): p50 {p50:.2f} ms, p95 {p95:.2f} ms"
        )


if __name__ == "__main__":
    main()
