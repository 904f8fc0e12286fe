"""Exports, all through one stage-and-check core: SavedModel, encoder, ONNX, LiteRT.

- `core`: staging, checks, destinations (`is_export`), the destination lock;
- `guards`: the input checks of the serving signatures;
- `savedmodel`: `export_saved_model`, `check_export`, `export_encoder`;
- `onnx`: `export_onnx`; `litert`: `export_litert`;
- `formats`: the format registry `EXPORT_FORMATS` (no TensorFlow import);
- `run_exports`: `export_run`, a run in any registered format.

A run's exports serve its calibrated probabilities (`serving_model`: the
fitted temperature, optionally test-time augmentation) and may answer
"unknown" below `min_confidence` in `serving_bytes`.

Importing this package does not import TensorFlow or Keras: every module
imports them inside the functions that need them.
"""

from __future__ import annotations

from kerasvision.export.core import ExportError, is_export
from kerasvision.export.formats import EXPORT_FORMAT_NAMES, EXPORT_FORMATS
from kerasvision.export.litert import LITERT_AGREEMENT, LITERT_TOLERANCES, export_litert
from kerasvision.export.onnx import export_onnx
from kerasvision.export.run_exports import export_run
from kerasvision.export.savedmodel import (
    check_export,
    export_encoder,
    export_saved_model,
)

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_FORMAT_NAMES",
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
