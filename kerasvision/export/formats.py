"""The export formats of `export_run` and `kerasvision export --format`, as data.

Each format is one `ExportFormat` entry in `EXPORT_FORMATS`: its default
destination inside a run, its writer, the `export_run` options it takes, the
key of its report in `run.json`, its `--format` help and the pip extra of its
optional packages. Adding a format is one entry here plus its writer module.

Importing this module does not import TensorFlow or Keras (the CLI builds
`--format`'s choices and help from it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kerasvision._registry import by_name, lookup
from kerasvision.export.core import require_packages
from kerasvision.export.litert import (
    LITERT_EXTRA,
    LITERT_PACKAGES,
    check_litert_options,
    export_run_litert,
)
from kerasvision.export.onnx import ONNX_EXTRA, ONNX_PACKAGES, export_run_onnx
from kerasvision.export.savedmodel import export_run_saved_model

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_FORMAT_NAMES",
    "RUN_OPTIONS",
    "ExportFormat",
    "describe_export",
    "destination_help",
    "export_format",
    "format_help",
]

#: The per-format options of `export_run`, with their defaults: a format
#: refuses any of them set to another value unless it lists it in `options`.
RUN_OPTIONS = {
    "quantize": "none",
    "representative": 200,
    "min_confidence": None,
    "tta": None,
}


@dataclass(frozen=True)
class ExportFormat:
    """One export format of a run.

    Attributes:
        name: The `--format` value.
        title: Its name in prose ("SavedModel").
        default_name: The destination inside the run, formatted with the
            options (`"litert-{quantize}"`).
        writer: `writer(run, model, output, *, overwrite, tolerance, **options)`
            -> the report; `options` are the format's own (`tta` is baked into
            `model` by `export_run`).
        options: The `RUN_OPTIONS` it takes.
        record_key: The key of its report under "exports" in `run.json`,
            formatted like `default_name`.
        describe: report -> the line `kerasvision export` prints.
        help: What `--format`'s help says of it, after its name. Defaults to
            "" (nothing but the pip extra).
        check: `check(**options)` raises `ValueError` on a bad value. Defaults
            to None (nothing to check).
        extra: The pip extra of its optional packages (`kerasvision[extra]`).
            Defaults to None (none needed).
        packages: The modules that extra installs. Defaults to ().
    """

    name: str
    title: str
    default_name: str
    writer: Callable[..., dict]
    options: tuple[str, ...]
    record_key: str
    describe: Callable[[dict], str]
    help: str = ""
    check: Callable[..., None] | None = None
    extra: str | None = None
    packages: tuple[str, ...] = ()

    def destination_name(self, options: dict) -> str:
        return self.default_name.format(**options)

    def key(self, options: dict) -> str:
        return self.record_key.format(**options)

    def require_packages(self) -> None:
        """One-line `ExportError` when an optional package is missing."""
        if self.extra is not None:
            require_packages(
                self.packages, extra=self.extra, what=f"{self.title} export"
            )

    def split_options(self, values: dict) -> dict:
        """`values` of every `RUN_OPTIONS` -> those this format takes, checked.

        Raises:
            ValueError: If an option it does not take is set, or `check` fails.
        """
        for option, value in values.items():
            if option not in self.options and value != RUN_OPTIONS[option]:
                takers = [
                    f.name for f in EXPORT_FORMATS.values() if option in f.options
                ]
                raise ValueError(
                    f"--{option.replace('_', '-')} applies to --format "
                    f"{' or '.join(takers)} only"
                )
        taken = {option: values[option] for option in self.options}
        if self.check is not None:
            self.check(**taken)
        return taken


# === The lines `kerasvision export` prints ===


def _describe_saved_model(report: dict) -> str:
    return (
        f"exported {report['path']} (signatures: {', '.join(report['signatures'])}; "
        f"max |delta prob| vs predict {report['max_abs_diff']:.2g})"
    )


def _describe_onnx(report: dict) -> str:
    return (
        f"exported {report['path']} (ONNX opset {report['opset']}, images -> "
        f"{' and '.join(report.get('outputs', ['probabilities']))}; max |delta "
        f"prob| vs predict in ONNX Runtime "
        f"{report['max_abs_diff']:.2g})"
    )


def _describe_litert(report: dict) -> str:
    quality = f"max |delta prob| vs predict {report['max_abs_diff']:.2g}"
    if "accuracy" in report:
        quality += (
            f", top-1 agreement {report['top1_agreement']:.2%}, accuracy "
            f"{report['accuracy']:.4f} (Keras {report['keras_accuracy']:.4f})"
        )
    if "label_agreement" in report:  # multi-label: the decisions per label slot
        quality += f", label decisions agree {report['label_agreement']:.2%}"
    mediapipe = report.get("mediapipe")
    if mediapipe:
        quality += (
            f"; with metadata, MediaPipe ImageClassifier top-1 agreement "
            f"{mediapipe['top1_agreement']:.2%}"
        )
    line = (
        f"exported {report['file']} (LiteRT, quantize {report['quantize']}; "
        f"{report['file_bytes'] / 1024:.0f} KiB, {report['latency_ms']:.2f} ms "
        f"per image; {quality} on {report['checked_images']} images)"
    )
    missing = report.get("metadata_missing")
    return line if not missing else f"{line}\n{missing}"


# === The registry ===

EXPORT_FORMATS: dict[str, ExportFormat] = by_name(
    ExportFormat(
        name="savedmodel",
        title="SavedModel",
        default_name="serving",
        writer=export_run_saved_model,
        options=("min_confidence", "tta"),
        record_key="savedmodel",
        help="default; pixels and image-bytes signatures",
        describe=_describe_saved_model,
    ),
    ExportFormat(
        name="onnx",
        title="ONNX",
        default_name="model.onnx",
        writer=export_run_onnx,
        options=("tta",),
        record_key="onnx",
        describe=_describe_onnx,
        extra=ONNX_EXTRA,
        packages=ONNX_PACKAGES,
    ),
    ExportFormat(
        name="tflite",
        title="LiteRT",
        default_name="litert-{quantize}",
        writer=export_run_litert,
        options=("quantize", "representative", "tta"),
        record_key="tflite-{quantize}",
        help="LiteRT",
        describe=_describe_litert,
        check=check_litert_options,
        extra=LITERT_EXTRA,
        packages=LITERT_PACKAGES,
    ),
)

#: `--format`'s choices, in the registry's order (the first is the default).
EXPORT_FORMAT_NAMES = tuple(EXPORT_FORMATS)


def export_format(name: str) -> ExportFormat:
    """The registry entry of `name`.

    Raises:
        ValueError: If there is no such format.
    """
    return lookup(EXPORT_FORMATS, name, "format must be one of {names}, got {name!r}")


def format_help() -> str:
    """`--format`'s help: every format, with the pip extra it needs."""
    parts = []
    for entry in EXPORT_FORMATS.values():
        pip = (
            None if entry.extra is None else f"pip install 'kerasvision[{entry.extra}]'"
        )
        notes = "; ".join(note for note in (entry.help, pip) if note)
        parts.append(f"{entry.name} ({notes})" if notes else entry.name)
    return ", ".join(parts[:-1]) + " or " + parts[-1] + "."


def destination_help() -> str:
    """`export --output`'s help: the default destination of every format."""
    placeholders = {option: option.upper() for option in RUN_OPTIONS}
    defaults = [
        f"RUN/{entry.destination_name(placeholders)}"
        + ("" if index == 0 else f" with --format {entry.name}")
        for index, entry in enumerate(EXPORT_FORMATS.values())
    ]
    return f"Destination (default: {', '.join(defaults)})."


def describe_export(report: dict) -> str:
    """The one line `kerasvision export` prints for an `export_run` report
    (with why the run's `run.json` does not list it, when it could not)."""
    line = export_format(report.get("format", "savedmodel")).describe(report)
    if report.get("not_recorded"):
        line += f" (not listed in the run: {report['not_recorded']})"
    return line
