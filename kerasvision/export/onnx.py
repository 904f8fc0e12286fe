"""ONNX export (optional packages `tf2onnx`, `onnx`, `onnxruntime`).

One graph `images` float32 `[N, H, W, C]` raw 0-255 pixels -> `probabilities`
`[N, num_classes]` (the SavedModel's `serving_default` contract; decoding and
resizing stay with the caller), class names and kerasvision's marker in the
model's metadata, checked in ONNX Runtime. A multi-label model (`thresholds`)
has a second output, `labels` `[N, num_labels]` (float32 multi-hot decisions at
its thresholds), checked to decide as `predict` does.
"""

from __future__ import annotations

import json
import os
import warnings

import numpy as np

import kerasvision.export.core as core

__all__ = ["ONNX_EXTRA", "ONNX_PACKAGES", "export_onnx", "export_run_onnx"]

ONNX_PACKAGES = ("tf2onnx", "onnx", "onnxruntime")
#: The pip extra that installs them: `pip install 'kerasvision[onnx]'`.
ONNX_EXTRA = "onnx"


def export_onnx(
    model,
    path,
    *,
    class_names,
    sample_images=None,
    tolerance: float = 1e-4,
    opset: int | None = None,
    overwrite: bool = True,
    thresholds=None,
) -> dict:
    """Write `model` as an ONNX file, checked in ONNX Runtime against `predict`.

    Conversion is Keras's own `model.export(format="onnx")` (tf2onnx under the
    TensorFlow backend). The graph takes `images` float32 `[N, H, W, C]` raw
    0-255 pixels (any N) and returns `probabilities` `[N, num_classes]`, as the
    SavedModel's `serving_default`; auxiliary heads are dropped and a one-unit
    sigmoid head becomes two columns. `class_names` is stored as JSON in the
    model's metadata (`metadata_props["class_names"]`), beside kerasvision's
    marker (`metadata_props["kerasvision_export"]`).

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
        thresholds: A multi-label model's decision threshold per label: the
            graph also returns `labels` (multi-hot decisions). Defaults to
            None.

    Returns:
        A dict with the path, opset, input/output names and the measured
        difference.

    Raises:
        ExportError: If the optional packages are missing, the conversion fails
            or ONNX Runtime differs from `model.predict` by more than `tolerance`.
        ValueError: If `path` exists and is not a replaceable export (or another
            process writes it), the class names do not match the model, or the
            model is not float32.

    Example:
        >>> report = export_onnx(model, "model.onnx", class_names=["cat", "dog"])
        >>> report["max_abs_diff"] <= 1e-4
        True
    """
    from kerasvision.models.heads import serving_probabilities, strip_auxiliary_heads

    core.require_packages(ONNX_PACKAGES, extra=ONNX_EXTRA, what="ONNX export")
    model = strip_auxiliary_heads(model)
    path = os.path.abspath(os.fspath(path))
    with core.claimed(path, overwrite):
        shape = core.input_shape(model)
        class_names = core.class_names_for(model, class_names)
        _require_float32(model)
        serving, outputs = _serving(model, thresholds)
        images = core.check_images(sample_images, shape)
        # The check's reference; calling the model also marks it as called.
        reference = np.asarray(serving_probabilities(model.predict(images, verbose=0)))
        found = {}

        def write(staging):
            _convert_onnx(serving, staging, shape, opset)
            found["opset"] = _finish_onnx_file(staging, class_names, outputs)

        delta = core.stage_and_check(
            path,
            write,
            lambda staging: _check_onnx(
                staging, images, reference, tolerance, thresholds
            ),
            folder=False,
            suffix=".onnx",
        )
    return {
        "path": path,
        "format": "onnx",
        "opset": found["opset"],
        "input": "images",
        "output": "probabilities",
        **(
            {}
            if thresholds is None
            else {
                "outputs": list(outputs),
                "thresholds": [float(t) for t in thresholds],
            }
        ),  # fmt: skip
        "input_shape": list(shape),
        "class_names": class_names,
        "checked_images": int(len(images)),
        "max_abs_diff": delta,
        "tolerance": tolerance,
    }


def _serving(model, thresholds):
    """`(Keras model to convert, output names)`: two probability columns for a
    one-unit sigmoid head; probabilities and decisions with `thresholds`."""
    if thresholds is None:
        return core.two_columns(model), ("probabilities",)
    import keras

    from kerasvision.layers.label_sets import LabelDecisions

    decisions = LabelDecisions(thresholds, name="labels")(model.outputs[0])
    both = keras.Model(model.inputs, [model.outputs[0], decisions], name=model.name)
    return both, ("probabilities", "labels")


def _require_float32(model) -> None:
    mixed = sorted({layer.dtype_policy.name for layer in model.layers} - {"float32"})
    if mixed:
        raise ValueError(
            f"ONNX export needs a float32 model; this one uses {', '.join(mixed)} "
            f"(export the SavedModel instead, or retrain with --precision float32)"
        )


def _convert_onnx(serving, staging, shape, opset) -> None:
    try:
        with warnings.catch_warnings():
            # Keras's tf2onnx shim probes `np.object` (a NumPy FutureWarning).
            warnings.simplefilter("ignore", FutureWarning)
            serving.export(
                staging,
                format="onnx",
                verbose=False,
                input_signature=core.pixels_spec(shape),
                opset_version=opset,
            )
    except Exception as error:  # tf2onnx raises many types
        raise core.ExportError(
            f"ONNX conversion failed: {core.one_line(error)}"
        ) from error


def _finish_onnx_file(path, class_names, outputs=("probabilities",)) -> int:
    """Name the outputs (`probabilities`, and `labels` for a multi-label
    model), store the class names and the marker; returns the opset."""
    import onnx

    proto = onnx.load(path)
    graph = proto.graph
    renamed = {graph.output[i].name: new for i, new in enumerate(outputs)}
    for node in graph.node:
        node.output[:] = [renamed.get(name, name) for name in node.output]
        node.input[:] = [renamed.get(name, name) for name in node.input]
    for index, new in enumerate(outputs):
        graph.output[index].name = new
    for key, value in (
        ("class_names", class_names),
        (core.ONNX_MARKER_KEY, core.marker("onnx")),
    ):
        entry = proto.metadata_props.add()
        entry.key, entry.value = key, json.dumps(value)
    onnx.checker.check_model(proto)
    onnx.save(proto, path)
    return int(max(item.version for item in proto.opset_import if not item.domain))


def _check_onnx(path, images, reference, tolerance, thresholds=None) -> float:
    import onnxruntime

    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    (actual,) = session.run(["probabilities"], {"images": images})
    delta = float(np.max(np.abs(actual - reference)))
    if thresholds is not None:
        from kerasvision.data.labelsets import decide

        (labels,) = session.run(["labels"], {"images": images})
        unsure = np.abs(reference - np.asarray(thresholds)[None, :]) <= tolerance
        differ = (labels.astype("int8") != decide(reference, thresholds)) & ~unsure
        if differ.any():
            raise core.ExportError(
                f"ONNX Runtime decides {int(differ.sum())} label slot(s) otherwise "
                f"than the thresholds on model.predict"
            )
    return core.within("ONNX Runtime output", delta, tolerance, len(images))


def export_run_onnx(run, model, output, *, overwrite: bool, tolerance=None) -> dict:
    """The ONNX file of a run (`export_run`), checked on its images (a
    multi-label run's decisions at its thresholds too)."""
    from kerasvision.data.labelsets import recorded_thresholds

    return export_onnx(
        model,
        output,
        class_names=run.class_names,
        sample_images=run.sample_images(16),
        overwrite=overwrite,
        thresholds=recorded_thresholds(run.info, run.class_names),
        **({} if tolerance is None else {"tolerance": tolerance}),
    )
