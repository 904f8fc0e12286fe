"""`export_run`: a finished run exported in any registered format.

Nothing here is format-specific: the format's registry entry
(`kerasvision.export.formats`) gives its options, default destination, writer
and the key its report is recorded under in the run's `run.json`.
"""

from __future__ import annotations

import os

from kerasvision._files import WriteError
from kerasvision.export.core import check_destination, destination_lock
from kerasvision.export.formats import RUN_OPTIONS, export_format
from kerasvision.export.model_card import write_model_card

__all__ = ["export_run"]


def _run_destination(run, output, name: str):
    """`(output, own)`: the run's own default destination `name`, or a checked
    path (`own` False)."""
    if output is None:
        return os.path.join(run.path, name), True
    output = os.path.abspath(os.fspath(output))
    real_run, real_out = os.path.realpath(run.path), os.path.realpath(output)
    if real_run == real_out or real_run.startswith(real_out + os.sep):
        raise ValueError(f"--output {output} would replace the run {run.path} itself")
    return output, False


def export_run(
    run_dir,
    output=None,
    *,
    tolerance: float | None = None,
    format: str = "savedmodel",
    overwrite: bool = False,
    quantize: str = RUN_OPTIONS["quantize"],
    representative: int = RUN_OPTIONS["representative"],
    min_confidence: float | None = RUN_OPTIONS["min_confidence"],
    tta: str | None = RUN_OPTIONS["tta"],
) -> dict:
    """(Re-)export a run in one of `EXPORT_FORMATS` (SavedModel, ONNX, LiteRT).

    The exported model serves the run's calibrated probabilities (its
    temperature; 1.0 for runs without one), with `tta` averaged in. Images of
    the run's recorded test split (when available) check it. The default
    destination inside the run is replaced; another `output` must not exist yet
    (or hold an earlier kerasvision export, with `overwrite`), and may not be
    the run itself or contain it. While it is written the destination is
    locked: a second export to it fails at once. The report is also recorded in
    the run's `run.json` under "exports" (keyed by format, and quantization for
    LiteRT), and the export gets a model card (`MODEL_CARD.md` inside a folder,
    `model.MODEL_CARD.md` beside an ONNX file: `kerasvision.export.model_card`)
    whose metrics are the run's `metrics.json`.

    Args:
        run_dir: A finished run directory.
        output: Destination. Defaults to None (`RUN/serving` for a SavedModel,
            `RUN/model.onnx` for ONNX, `RUN/litert-<quantize>/` for LiteRT).
        tolerance: Largest allowed |delta prob| vs `model.predict`. Defaults to
            None (1e-4 SavedModel and ONNX, `LITERT_TOLERANCES` for LiteRT).
        format: A name of `EXPORT_FORMATS`: "savedmodel", "onnx" or "tflite".
            Defaults to "savedmodel".
        overwrite: Replace an earlier export at `output`. Defaults to False.
        quantize: LiteRT only: "none", "float16", "dynamic" or "int8" (see
            `export_litert`). Defaults to "none".
        representative: LiteRT int8 only: how many training images (a seeded
            draw) calibrate the quantization ranges. Defaults to 200.
        min_confidence: SavedModel only: `serving_bytes` answers "unknown"
            below this top probability. Defaults to None (never).
        tta: Bake test-time augmentation ("flip" or "flip+crop") into the
            exported model. Defaults to None (none).

    Returns:
        The export report. When the run cannot be written (a read-only
        folder), the checked export stands and "not_recorded" says why the
        run's `run.json` does not list it.

    Raises:
        ValueError: On an unknown format or an option the format does not take,
            a run that is not finished, a destination that is not replaceable,
            or one another process is writing.
        ExportError: If the export fails its check, or an optional package is
            missing.

    Example:
        >>> export_run("saved_models/run", format="tflite", quantize="int8")["path"]
        '.../saved_models/run/litert-int8'
    """
    from kerasvision.models.heads import serving_model
    from kerasvision.runs import load_run, require_classifier

    entry = export_format(format)
    values = {
        "quantize": quantize,
        "representative": representative,
        "min_confidence": min_confidence,
        "tta": tta,
    }
    options = entry.split_options(values)
    entry.require_packages()
    run = require_classifier(load_run(run_dir))
    output, own = _run_destination(run, output, entry.destination_name(values))
    overwrite = own or overwrite
    with destination_lock(output):
        check_destination(output, overwrite)  # before the model loads
        model = serving_model(run.model, temperature=run.temperature, tta=tta)
        options.pop("tta", None)  # baked into `model`
        report = entry.writer(
            run,
            model,
            output,
            overwrite=overwrite,
            tolerance=tolerance,
            **options,
        )
        report.update(format=entry.name, temperature=run.temperature, tta=tta)
        exports = {**(run.info.get("exports") or {}), entry.key(values): report}
        report["model_card"] = write_model_card(run, report, exports=exports)
        try:
            run.record(exports=exports)
        except WriteError as error:  # a read-only run: the checked export stands
            report["not_recorded"] = str(error)
    return report
