"""`MODEL_CARD.md`: what every export of a run says about itself.

A Hugging Face-style model card (YAML front matter: library, tags, datasets,
metrics as a `model-index`) followed by the intended use, the data (classes,
counts per split, where the split came from), the training recipe, the test
metrics with calibration, per-class results, the export formats with their
parity figures, limitations and how to call the SavedModel / LiteRT model.
Every figure comes from the run's own record (`run.json`, `metrics.json`), so
the card's metrics equal `metrics.json`.

Folder exports (SavedModel, LiteRT) hold `MODEL_CARD_FILE`; a file export
(ONNX `model.onnx`) gets `model.MODEL_CARD.md` beside it (`card_path`).
"""

from __future__ import annotations

import json
import os

from kerasvision._files import write_text

__all__ = [
    "FEW_IMAGES",
    "MODEL_CARD_FILE",
    "card_path",
    "model_card",
    "read_front_matter",
    "run_cards",
    "write_model_card",
]

MODEL_CARD_FILE = "MODEL_CARD.md"
#: A class with fewer training images than this is named under "Limitations".
FEW_IMAGES = 30
#: The headline metrics of `metrics.json` the front matter lists, in order.
_HEADLINE = ("accuracy", "top5_accuracy", "map", "micro_f1", "macro_f1",
             "subset_accuracy", "loss")  # fmt: skip
_TITLES = {
    "savedmodel": "SavedModel",
    "onnx": "ONNX",
    "tflite": "LiteRT",
}


def card_path(export_path) -> str:
    """Where the card of the export at `export_path` goes."""
    export_path = os.path.abspath(os.fspath(export_path))
    if os.path.isdir(export_path):
        return os.path.join(export_path, MODEL_CARD_FILE)
    return os.path.splitext(export_path)[0] + "." + MODEL_CARD_FILE


def _yaml(value) -> str:
    """A scalar as YAML (JSON strings and numbers are valid YAML)."""
    return json.dumps(value)


def _front_matter(info, metrics, class_names, export) -> list[str]:
    model = info.get("model") or {}
    source = (info.get("data") or {}).get("source") or {}
    dataset = source.get("name") or os.path.basename(
        str(source.get("path") or "images")
    )
    tags = ["image-classification", "keras", "tensorflow", "kerasvision"]
    tags += [str(model.get("backbone") or model.get("name") or "cnn")]
    tags += [export.get("format", "savedmodel")]
    if info.get("distillation"):
        tags.append("knowledge-distillation")
    split = metrics.get("split", "test")
    lines = ["---", "library_name: kerasvision", "pipeline_tag: image-classification"]
    lines += ["tags:", *(f"- {_yaml(tag)}" for tag in dict.fromkeys(tags))]
    lines += ["datasets:", f"- {_yaml(dataset)}"]
    shown = [name for name in _HEADLINE if name in metrics]
    lines += ["metrics:", *(f"- {name}" for name in shown)]
    lines += [
        "model-index:",
        f"- name: {_yaml(str(model.get('name') or 'model'))}",
        "  results:",
        "  - task:",
        "      type: image-classification",
        "    dataset:",
        f"      name: {_yaml(dataset)}",
        f"      type: {_yaml(source.get('kind', 'images'))}",
        f"      split: {_yaml(split)}",
        "    metrics:",
    ]
    for name in shown:
        lines += [f"    - type: {name}", f"      value: {_yaml(metrics[name])}"]
    lines += [f"classes: {_yaml(list(class_names))}", "---", ""]
    return lines


def _data_section(info, class_names) -> list[str]:
    data = info.get("data") or {}
    counts = data.get("counts") or {}
    split = info.get("split") or {}
    source = data.get("source") or {}
    where = source.get("path") or source.get("name") or source.get("kind", "?")
    size = data.get("image_size") or ["?", "?"]
    lines = [
        "## Data",
        "",
        f"- Source: `{where}` ({source.get('kind', '?')}); "
        f"{len(class_names)} classes; images {size[0]}x{size[1]}, "
        f"{data.get('channels', '?')} channel(s), resize {data.get('resize', '?')}.",
        f"- Split: seed {split.get('seed')}, counts "
        + ", ".join(f"{k} {v}" for k, v in (split.get("counts") or {}).items())
        + f"; duplicates: {split.get('duplicates', 'not recorded')}.",
    ]
    if data.get("bad_files"):
        lines.append(f"- Unreadable files skipped: {len(data['bad_files'])}.")
    splits = [k for k in ("train", "val", "test") if k in counts]
    lines += [
        "",
        "| class | " + " | ".join(splits) + " |",
        "|---" * (len(splits) + 1) + "|",
    ]
    for name in class_names:
        cells = [str((counts.get(k) or {}).get(name, 0)) for k in splits]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return [*lines, ""]


def _count(value) -> str:
    return f"{value:,}" if isinstance(value, int) else "?"


def _recipe_section(info) -> list[str]:
    arguments = info.get("arguments") or {}
    model = info.get("model") or {}
    what = model.get("name", "?")
    if model.get("backbone"):
        what = (
            f"{model.get('backbone')} backbone ({model.get('weights')} weights), "
            f"{model.get('mode')}"
        )
    lines = [
        "## Training recipe",
        "",
        f"- Model: {what}; {_count(model.get('params'))} parameters; input "
        f"{'x'.join(str(v) for v in model.get('input_shape', []))} raw 0-255 pixels "
        "(rescaling inside the model).",
    ]
    options = ("epochs", "batch_size", "optimizer", "lr", "schedule", "weight_decay",
               "label_smoothing", "augment", "class_weight", "ema", "seed")  # fmt: skip
    given = [
        f"{k} {arguments[k]}" for k in options if arguments.get(k) not in (None, "")
    ]
    if info.get("members"):  # an ensemble run (`kerasvision ensemble`)
        members = ", ".join(f"`{member}`" for member in info["members"])
        lines.append(f"- Averages the probabilities of the runs {members}.")
    else:
        lines.append("- Options: " + (", ".join(given) or "the defaults") + ".")
    if info.get("epochs_trained") is not None:
        lines.append(f"- Epochs trained: {info['epochs_trained']}.")
    distillation = info.get("distillation")
    if distillation:
        teachers = ", ".join(f"`{t['run']}`" for t in distillation.get("teachers", []))
        lines.append(
            f"- Distilled from {teachers} (temperature "
            f"{distillation.get('temperature')}, weight of the true labels "
            f"{distillation.get('alpha')})."
        )
    lines.append(f"- kerasvision {info.get('kerasvision_version', '?')}.")
    return [*lines, ""]


def _metrics_section(metrics, info, class_names) -> list[str]:
    split = metrics.get("split", "test")
    lines = [f"## Test metrics ({split} split, {metrics.get('count', '?')} images)", ""]
    for name in _HEADLINE:
        if name in metrics:
            lines.append(f"- {name}: {metrics[name]:.4f}")
    for name in ("macro_avg", "weighted_avg"):
        if isinstance(metrics.get(name), dict):
            row = metrics[name]
            lines.append(
                f"- {name.replace('_', ' ')}: precision {row.get('precision', 0):.4f}, "
                f"recall {row.get('recall', 0):.4f}, F1 {row.get('f1', 0):.4f}"
            )
    calibration = info.get("calibration") or {}
    scored = calibration.get(split) or {}
    if calibration.get("temperature") is not None:
        line = f"- Calibration: temperature {calibration['temperature']:.3g}"
        line += f" (fitted on {calibration.get('fitted_on', '?')})"
        if "ece_before" in scored:
            line += (
                f"; expected calibration error {scored['ece_before']:.4f} -> "
                f"{scored['ece_after']:.4f}, NLL {scored['nll_before']:.4f} -> "
                f"{scored['nll_after']:.4f} on {split}"
            )
        lines.append(line + ". The exports serve the calibrated probabilities.")
    elif calibration.get("temperatures") is not None:  # multi-label: per label
        how = (
            f"none ({calibration['skipped']})"
            if calibration.get("skipped")
            else f"a temperature per label (fitted on {calibration.get('fitted_on')})"
        )
        lines.append(
            f"- Calibration: {how}; a decision threshold per label maximizing its "
            f"validation F1. The exports serve both."
        )
    per_class = metrics.get("per_class") or {}
    lines += ["", "### Per-class results", "",
              "| class | precision | recall | F1 | support |",
              "|---|---|---|---|---|"]  # fmt: skip
    for name in class_names:
        row = per_class.get(name) or {}
        lines.append(
            f"| {name} | {row.get('precision', 0):.4f} | {row.get('recall', 0):.4f} | "
            f"{row.get('f1', 0):.4f} | {row.get('support', 0)} |"
        )
    return [*lines, ""]


def _parity(report) -> str:
    parts = []
    if "max_abs_diff" in report:
        parts.append(f"max abs diff vs Keras {report['max_abs_diff']:.2g}")
    if "top1_agreement" in report:
        parts.append(f"top-1 agreement {report['top1_agreement']:.2%}")
    mediapipe = report.get("mediapipe")
    if mediapipe:
        parts.append(f"MediaPipe top-1 agreement {mediapipe['top1_agreement']:.2%}")
    if "checked_images" in report:
        parts.append(f"{report['checked_images']} images")
    return "; ".join(parts) or "checked"


def _exports_section(exports) -> list[str]:
    lines = [
        "## Export formats",
        "",
        "| format | path | size | parity |",
        "|---|---|---|---|",
    ]
    for key, report in exports.items():
        title = _TITLES.get(report.get("format", "savedmodel"), key)
        if report.get("quantize"):
            title += f" ({report['quantize']})"
        size = report.get("file_bytes")
        shown = f"{size / 1024:.0f} KiB" if size else ""
        lines.append(
            f"| {title} | `{report.get('path', '')}` | {shown} | {_parity(report)} |"
        )
    return [*lines, ""]


def _limitations(info, metrics, class_names) -> list[str]:
    counts = ((info.get("data") or {}).get("counts") or {}).get("train") or {}
    few = [  # only what the record counts (an older run may not)
        f"{name} ({counts[name]})"
        for name in class_names
        if name in counts and counts[name] < FEW_IMAGES
    ]
    lines = ["## Limitations", ""]
    if (info.get("data") or {}).get("multi_label"):
        fallback = (info.get("thresholds") or {}).get("fallback") or []
        lines.append(
            "- It decides each label on its own, at the label's threshold; "
            "labels without validation positives use 0.5"
            + (f" ({', '.join(fallback)})." if fallback else " (none here).")
        )
    else:
        lines.append(
            "- It answers one of its classes for every image: it cannot say "
            '"none of these" (see `min_confidence` of the SavedModel).'
        )
    if few:
        lines.append(
            f"- Classes with fewer than {FEW_IMAGES} training images: {', '.join(few)}."
        )
    split = info.get("split") or {}
    lines.append(
        f"- Duplicates across the split: {split.get('duplicates', 'not checked')}."
    )
    weak = [name for name, row in (metrics.get("per_class") or {}).items()
            if row.get("f1", 1) < 0.8]  # fmt: skip
    if weak:
        split = metrics.get("split", "test")
        lines.append(f"- Classes with F1 below 0.8 on {split}: {', '.join(weak)}.")
    for warning in info.get("warnings") or ():
        lines.append(f"- {warning}")
    return [*lines, ""]


def _usage(info, export) -> list[str]:
    """How to call the export the card goes with (and the SavedModel)."""
    shape = (info.get("model") or {}).get("input_shape") or [224, 224, 3]
    size = f"{shape[0]}, {shape[1]}"
    name = os.path.basename(os.path.normpath(export.get("path") or "serving"))
    kind = export.get("format", "savedmodel")
    lines = ["## How to use", ""]
    if kind == "tflite":
        lines += [
            f"`{name}/model.tflite` takes float32 RGB pixels 0-255 `[1, {size}, 3]`"
            + (" (the model turns them into gray itself)" if shape[-1] == 1 else "")
            + " and gives the calibrated probabilities. With its TFLite metadata "
            "(normalization, embedded labels) it loads in MediaPipe Tasks' and ML "
            "Kit's image classifiers on Android, iOS, the web and Python:",
            "", "```python", "import numpy as np", "from PIL import Image",
            "from mediapipe.tasks.python.core.base_options import BaseOptions",
            "from mediapipe.tasks.python.vision import image_classifier",
            "from mediapipe.tasks.python.vision.core.image import Image as MpImage",
            "from mediapipe.tasks.python.vision.core.image import ImageFormat", "",
            "options = image_classifier.ImageClassifierOptions(",
            f'    base_options=BaseOptions(model_asset_path="{name}/model.tflite"),'
            " max_results=3)",
            'rgb = np.asarray(Image.open("photo.jpg").convert("RGB"))',
            "with image_classifier.ImageClassifier.create_from_options(options) as c:",
            "    top = c.classify(MpImage(image_format=ImageFormat.SRGB, data=rgb))",
            "```", "", "or in the LiteRT interpreter:", "", "```python",
            "from ai_edge_litert.interpreter import Interpreter", "",
            f'runner = Interpreter(model_path="{name}/model.tflite")'
            '.get_signature_runner("serving_default")',
            'probabilities = runner(images=pixels)["probabilities"]',
            "```", "",
        ]  # fmt: skip
    elif kind == "onnx":
        lines += [
            f"`{name}` takes float32 pixels 0-255 `[N, {size}, {shape[-1]}]`:", "",
            "```python", "import onnxruntime", "",
            f'session = onnxruntime.InferenceSession("{name}")',
            'probabilities = session.run(["probabilities"], {"images": pixels})[0]',
            "```", "",
        ]  # fmt: skip
    lines += [
        f"The SavedModel (`serving/`) takes float32 pixels 0-255 `[N, {size}, "
        f"{shape[-1]}]`, or encoded image files of any size:", "",
        "```python", "import tensorflow as tf", "",
        'served = tf.saved_model.load("serving")',
        'probabilities = served.signatures["serving_default"](images=pixels)'
        '["probabilities"]',
        'with open("photo.jpg", "rb") as f:',
        "    answer = served.signatures[\"serving_bytes\"](",
        "        image_bytes=tf.constant([f.read()]))",
        "```", "",
    ]  # fmt: skip
    return lines


def model_card(
    info: dict, metrics: dict, class_names, export: dict, exports=None
) -> str:
    """The text of a run's model card.

    Args:
        info: The run's `run.json`.
        metrics: Its `metrics.json` (the evaluation split's metrics).
        class_names: Its classes in output order.
        export: The report of the export the card goes with.
        exports: Every export report of the run, by key. Defaults to None
            (`info["exports"]`, plus `export`).

    Returns:
        Markdown with YAML front matter.
    """
    exports = dict(exports if exports is not None else info.get("exports") or {})
    if not any(r.get("path") == export.get("path") for r in exports.values()):
        exports[export.get("format", "savedmodel")] = export
    model = info.get("model") or {}
    count, names = len(class_names), ", ".join(class_names)
    lines = _front_matter(info, metrics, class_names, export)
    lines += [
        f"# {model.get('name', 'model')} image classifier ({count} classes)",
        "",
        "## Intended use",
        "",
        f"Classifies a whole image as one of: {names}. Trained with kerasvision on "
        "the data below; use it on images like them (same kind of subject, "
        "framing and quality). Not for other classes, for detecting several "
        "objects, or for decisions about people without a human in the loop.",
        "",
    ]
    lines += _data_section(info, class_names)
    lines += _recipe_section(info)
    lines += _metrics_section(metrics, info, class_names)
    lines += _exports_section(exports)
    lines += _limitations(info, metrics, class_names)
    lines += _usage(info, export)
    return "\n".join(lines)


def write_model_card(run, export: dict, *, exports=None, where=None) -> str | None:
    """Write the card of `export` (a report with "path") for `run` (a `Run` or
    `RunWriter`: `.path` and `.info`); returns its path.

    Args:
        run: The run (its `metrics.json` is read from `run.path`).
        export: The export's report.
        exports: Every export report of the run, by key. Defaults to None
            (`run.info["exports"]` plus `export`).
        where: The export on disk now, when that is not yet `export["path"]`
            (a run being written). Defaults to None (`export["path"]`).

    Returns:
        The card's path, or None when a file that kerasvision did not write is
        already there (it is left alone).
    """
    from kerasvision._files import read_json

    path = card_path(where or export["path"])
    if os.path.exists(path) and not _ours(path):
        return None
    metrics_file = os.path.join(run.path, "metrics.json")
    metrics = read_json(metrics_file) if os.path.isfile(metrics_file) else {}
    class_names = (run.info.get("data") or {}).get("class_names") or list(
        metrics.get("per_class") or {}
    )
    write_text(path, model_card(run.info, metrics, class_names, export, exports))
    return path


def _ours(path: str) -> bool:
    try:
        with open(path, encoding="utf-8") as stream:
            head = stream.read(200)
    except (OSError, UnicodeDecodeError):
        return False
    return head.startswith("---\nlibrary_name: kerasvision\n")


def read_front_matter(path) -> dict:
    """The card's `model-index` metrics `{type: value}` and its classes (for
    checks and tests; reads only what `model_card` writes)."""
    with open(path, encoding="utf-8") as stream:
        text = stream.read()
    head = text.split("---\n")[1]
    found, current = {"metrics": {}}, None
    for line in head.splitlines():
        stripped = line.strip()
        if stripped.startswith("- type: ") and line.startswith("    "):
            current = stripped[len("- type: ") :]
        elif stripped.startswith("value: ") and current:
            found["metrics"][current] = json.loads(stripped[len("value: ") :])
        elif line.startswith("classes: "):
            found["classes"] = json.loads(line[len("classes: ") :])
        elif line.startswith("library_name: "):
            found["library_name"] = line[len("library_name: ") :]
    return found


def run_cards(run) -> list[tuple[str, str]]:
    """`(export, card path)` of every export of `run` (a `Run`) whose model card
    exists: the SavedModel `fit` wrote ("export"), then each of "exports"."""
    reports = {"savedmodel (fit)": run.info.get("export") or {}}
    reports.update(run.info.get("exports") or {})
    found = []
    for key, report in reports.items():
        path = report.get("path")
        card = report.get("model_card") or (path and card_path(path))
        if card and os.path.isfile(card) and (key, card) not in found:
            found.append((key, card))
    return found
