"""Reports on a finished run: one self-contained HTML page, and per-image pictures.

`write_report` gathers a run's data summary, training curves, metrics, confusion
matrix, per-class precision/recall/F1, the highest-loss test images with Grad-CAM
overlays, a reliability diagram with the expected calibration error, and the
run's arguments and versions into `RUN/report.html`: a single file with inline
CSS and PNGs embedded as base64 data URIs, so it opens anywhere, offline, and
can be mailed or archived on its own.

`visualize_run` writes filter / feature-map / saliency / Grad-CAM /
activation-maximization pictures of a run for given image files.

Only the standard library is imported at module level so that the CLI can read
`VISUALIZATION_KINDS` without loading TensorFlow.
"""

from __future__ import annotations

import base64
import html
import os
import tempfile

__all__ = ["VISUALIZATION_KINDS", "visualize_run", "write_report"]

VISUALIZATION_KINDS = (
    "filters",
    "feature-maps",
    "saliency",
    "smoothgrad",
    "gradcam",
    "gradcam++",
    "activation-max",
)
_IMAGE_KINDS = ("feature-maps", "saliency", "smoothgrad", "gradcam", "gradcam++")
_CLASS_KINDS = ("saliency", "smoothgrad", "gradcam", "gradcam++", "activation-max")
_FILE_SLUGS = {"gradcam++": "gradcam_plus_plus", "feature-maps": "feature_maps"}
_ACTIVATION_MAX_FILTERS = 16

_CSS = """
:root { --ink: #1f2328; --muted: #59636e; --line: #d1d9e0; --band: #f6f8fa;
        --accent: #0969da; }
* { box-sizing: border-box; }
body { margin: 0; background: #eef1f4; color: var(--ink);
       font: 15px/1.5 -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
       sans-serif; }
main { max-width: 1120px; margin: 0 auto; padding: 24px 20px 48px; }
header { background: #24292f; color: #fff; padding: 22px 28px; border-radius: 10px;
         margin-bottom: 20px; }
header h1 { margin: 0 0 6px; font-size: 24px; font-weight: 600; }
header p { margin: 0; color: #c9d1d9; }
.kpis { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.kpi { background: rgba(255,255,255,.08); border-radius: 8px; padding: 8px 14px; }
.kpi b { display: block; font-size: 20px; color: #fff; }
.kpi span { font-size: 12px; color: #c9d1d9; text-transform: uppercase;
            letter-spacing: .04em; }
nav { margin: 0 0 20px; font-size: 14px; color: var(--muted); }
nav a { color: var(--accent); text-decoration: none; margin-right: 14px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 10px;
          padding: 18px 24px 22px; margin-bottom: 20px; }
h2 { font-size: 19px; margin: 0 0 12px; padding-bottom: 8px;
     border-bottom: 1px solid var(--line); }
h3 { font-size: 15px; margin: 18px 0 8px; }
p.note { color: var(--muted); font-size: 13px; margin: 6px 0 10px; }
table { border-collapse: collapse; font-size: 13px; margin: 6px 0 12px; }
th, td { border: 1px solid var(--line); padding: 4px 10px; text-align: left;
         vertical-align: top; }
th { background: var(--band); font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #fbfcfd; }
figure { margin: 8px 0 4px; }
figure img { max-width: 100%; height: auto; display: block;
             border: 1px solid var(--line); border-radius: 6px; }
figcaption { color: var(--muted); font-size: 13px; margin-top: 4px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(300px, 1fr));
        gap: 8px 28px; align-items: start; }
code { background: var(--band); padding: 1px 5px; border-radius: 4px;
       font-size: 12.5px; word-break: break-all; }
.warn { color: #9a6700; }
"""


# === Small HTML helpers ===


def _escape(value) -> str:
    return html.escape(str(value), quote=True)


def _png_data_uri(path: str) -> str:
    with open(path, "rb") as stream:
        encoded = base64.b64encode(stream.read()).decode("ascii")
    return f"data:image/png;base64,{encoded}"


def _figure(path: str, caption: str = "", alt: str = "") -> str:
    text = f"<figcaption>{_escape(caption)}</figcaption>" if caption else ""
    return (
        f'<figure><img alt="{_escape(alt or caption)}" src="{_png_data_uri(path)}">'
        f"{text}</figure>"
    )


def _number(value) -> str:
    if isinstance(value, bool) or value is None:
        return _escape(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:.4f}"
    return _escape(value)


def _table(header, rows, numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_escape(cell)}</th>" for cell in header)
    body = []
    for row in rows:
        cells = []
        for index, cell in enumerate(row):
            if index >= numeric_from and isinstance(cell, int | float):
                cells.append(f'<td class="num">{_number(cell)}</td>')
            else:
                cells.append(f"<td>{_escape(cell)}</td>")
        body.append(f"<tr>{''.join(cells)}</tr>")
    return f"<table><tr>{head}</tr>{''.join(body)}</table>"


def _key_values(mapping: dict) -> str:
    rows = []
    for key, value in mapping.items():
        if isinstance(value, dict | list | tuple):
            import json

            value = json.dumps(value, default=str)
        rows.append((key, "" if value is None else value))
    return _table(("name", "value"), rows, numeric_from=99)


def _section(anchor: str, title: str, body: str) -> str:
    return f'<section id="{anchor}"><h2>{_escape(title)}</h2>{body}</section>'


# === Report ===


def write_report(run_dir, *, output=None, top_losses: int = 8) -> str:
    """Write a run's report as one self-contained HTML file.

    The page holds the data summary (classes, counts per split, bad files),
    training curves, the metrics table, the confusion matrix, per-class
    precision/recall/F1, the `top_losses` evaluation images with the highest
    loss each beside its Grad-CAM overlay (for the predicted class), a
    reliability diagram with the expected calibration error, and the run's
    arguments and versions. Images are PNGs embedded as base64 data URIs and the
    CSS is inline: no external resources. When the run's data can no longer be
    loaded, the sections that need predictions say why and the rest is written.

    Args:
        run_dir: Run directory (or a loaded `Run`).
        output: Destination HTML path. Defaults to None (`RUN/report.html`).
        top_losses: Highest-loss images shown; 0 leaves the gallery out.
            Defaults to 8.

    Returns:
        The path written (atomically: temp file, then rename).

    Raises:
        FileNotFoundError: If the run directory does not exist.
        ValueError: If it is not a finished run or `top_losses` < 0.

    Example:
        >>> write_report("saved_models/bipyramidal_cnn-digits-20261121-101500")
        'saved_models/bipyramidal_cnn-digits-20261121-101500/report.html'
    """
    from kerasvision.runs import Run, load_run, write_text

    if int(top_losses) < 0:
        raise ValueError(f"top_losses must be >= 0, got {top_losses}")
    run = run_dir if isinstance(run_dir, Run) else load_run(run_dir)
    output = os.fspath(output) if output is not None else None
    output = output or os.path.join(run.path, "report.html")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"output folder not found: {folder}")
    with tempfile.TemporaryDirectory(prefix="kerasvision-report-") as scratch:
        page = _render(run, scratch, int(top_losses))
    write_text(output, page)
    return output


def _render(run, scratch: str, top_count: int) -> str:
    from kerasvision.runs import read_json

    info = run.info
    metrics_path = os.path.join(run.path, "metrics.json")
    metrics = read_json(metrics_path) if os.path.isfile(metrics_path) else {}
    predictions, problem = _predictions(run, metrics.get("split"))
    if not metrics and predictions is not None:
        from kerasvision.evaluation import compute_metrics

        metrics = compute_metrics(
            predictions["probabilities"], predictions["labels"], run.class_names
        )
        metrics["split"] = predictions["split"]
    sections = [
        ("data", "Data", _data_section(info, run.class_names)),
        ("training", "Training", _training_section(run, scratch)),
        ("metrics", "Metrics", _metrics_section(metrics)),
        ("confusion", "Confusion matrix", _confusion_section(run, metrics, scratch)),
        (
            "per-class",
            "Per-class precision / recall / F1",
            _per_class(metrics, scratch),
        ),
        (
            "top-losses",
            "Top losses",
            _top_loss_section(run, predictions, problem, top_count, scratch),
        ),
        (
            "calibration",
            "Calibration",
            _calibration_section(predictions, problem, scratch),
        ),
        ("run", "Run arguments and versions", _run_section(info)),
    ]
    nav = "".join(f'<a href="#{anchor}">{_escape(t)}</a>' for anchor, t, _ in sections)
    body = "".join(_section(anchor, t, content) for anchor, t, content in sections)
    name = os.path.basename(run.path.rstrip(os.sep))
    model = info.get("model", {})
    kpis = [
        ("model", model.get("name", "?")),
        (f"{metrics.get('split', 'test')} accuracy", _percent(metrics.get("accuracy"))),
        ("loss", _fixed(metrics.get("loss"))),
        ("classes", len(run.class_names)),
        ("epochs", info.get("epochs_trained", "?")),
    ]
    if predictions is not None:
        kpis.append(("ECE", _fixed(predictions["ece"])))
    kpi_html = "".join(
        f'<div class="kpi"><b>{_escape(v)}</b><span>{_escape(k)}</span></div>'
        for k, v in kpis
    )
    subtitle = (
        f"{_escape(info.get('created', ''))} &rarr; {_escape(info.get('finished', ''))}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>kerasvision report: {_escape(name)}</title>"
        f"<style>{_CSS}</style></head><body><main>"
        f"<header><h1>{_escape(name)}</h1><p>{subtitle}</p>"
        f'<div class="kpis">{kpi_html}</div></header>'
        f"<nav>{nav}</nav>{body}</main></body></html>\n"
    )


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * float(value):.2f}%"


def _fixed(value) -> str:
    return "n/a" if value is None else f"{float(value):.4f}"


def _predictions(run, split):
    """Probabilities, labels and the split of the run's evaluation data."""
    import numpy as np

    from kerasvision.evaluation import predict_probabilities
    from kerasvision.visualization.plots import expected_calibration_error

    try:
        data = run.data()
    except (ValueError, FileNotFoundError, RuntimeError, OSError) as error:
        return None, f"the run's data could not be loaded ({error})"
    if split not in ("train", "val", "test") or not len(data.splits[split]):
        split = next((s for s in ("test", "val") if len(data.splits[s])), None)
    if split is None:
        return None, "the run has no test or validation split"
    dataset = data.dataset(split, batch_size=64, shuffle=False, include_labels=False)
    probabilities = predict_probabilities(run.model, dataset)
    labels = np.asarray(data.splits[split].labels, dtype="int64")
    return {
        "data": data,
        "split": split,
        "probabilities": probabilities,
        "labels": labels,
        "ece": expected_calibration_error(probabilities, labels),
    }, None


def _data_section(info, class_names) -> str:
    data = info.get("data", {})
    counts = data.get("counts", {})
    splits = [s for s in ("train", "val", "test") if s in counts]
    rows = []
    for name in class_names:
        values = [int(counts[s].get(name, 0)) for s in splits]
        rows.append((name, *values, sum(values)))
    totals = [sum(int(v) for v in counts[s].values()) for s in splits]
    rows.append(("total", *totals, sum(totals)))
    source = data.get("source", {})
    where = source.get("path") or source.get("name") or source.get("kind", "?")
    size = data.get("image_size", ["?", "?"])
    summary = (
        f"<p>{len(class_names)} classes from <code>{_escape(where)}</code> "
        f"({_escape(source.get('kind', '?'))}), images resized to "
        f"{_escape(size[0])}&times;{_escape(size[1])} with "
        f"{_escape(data.get('channels', '?'))} channel(s) "
        f"(resize: {_escape(data.get('resize', '?'))}).</p>"
    )
    table = _table(("class", *splits, "all"), rows)
    bad = data.get("bad_files", [])
    if bad:
        bad_html = f'<h3 class="warn">{len(bad)} bad file(s) skipped</h3>' + _table(
            ("file", "reason"), [tuple(item) for item in bad], numeric_from=99
        )
    else:
        bad_html = '<p class="note">No bad files were found.</p>'
    return summary + table + bad_html


def _training_section(run, scratch) -> str:
    info = run.info
    curves = os.path.join(run.path, "curves.png")
    if not os.path.isfile(curves):
        history = _read_history(os.path.join(run.path, "history.csv"))
        if not history:
            return '<p class="note">No training history was recorded.</p>'
        from kerasvision.visualization.plots import plot_training_curves

        curves = plot_training_curves(history, os.path.join(scratch, "curves.png"))
    seconds = info.get("train_seconds")
    note = (
        f'<p class="note">{_escape(info.get("epochs_trained", "?"))} epoch(s)'
        + (f" in {float(seconds):.1f} s" if seconds is not None else "")
        + ".</p>"
    )
    return note + _figure(curves, "Loss and metrics per epoch, train vs validation")


def _read_history(path) -> dict:
    import csv

    if not os.path.isfile(path):
        return {}
    history: dict = {}
    with open(path, encoding="utf-8", newline="") as stream:
        for row in csv.DictReader(stream):
            for key, value in row.items():
                try:
                    history.setdefault(key, []).append(float(value))
                except (TypeError, ValueError):
                    continue
    history.pop("epoch", None)
    return history


def _metrics_section(metrics) -> str:
    if not metrics:
        return '<p class="note">No metrics were recorded.</p>'
    overall = [
        (name, metrics[name])
        for name in ("count", "loss", "accuracy", "top5_accuracy")
        if name in metrics
    ]
    table = _table(("metric", "value"), overall)
    averages = [
        (
            average.replace("_avg", ""),
            metrics[average]["precision"],
            metrics[average]["recall"],
            metrics[average]["f1"],
        )
        for average in ("macro_avg", "weighted_avg")
        if average in metrics
    ]
    note = f'<p class="note">On the {_escape(metrics.get("split", "test"))} split.</p>'
    if averages:
        table += _table(("average", "precision", "recall", "F1"), averages)
    return note + table


def _confusion_section(run, metrics, scratch) -> str:
    path = os.path.join(run.path, "confusion_matrix.png")
    if not os.path.isfile(path):
        if "confusion_matrix" not in metrics:
            return '<p class="note">No confusion matrix was recorded.</p>'
        from kerasvision.visualization.plots import plot_confusion_matrix

        path = plot_confusion_matrix(
            metrics["confusion_matrix"],
            run.class_names,
            os.path.join(scratch, "confusion_matrix.png"),
        )
    return _figure(path, "Rows: true class; columns: predicted class")


def _per_class(metrics, scratch) -> str:
    if not metrics.get("per_class"):
        return '<p class="note">No per-class metrics were recorded.</p>'
    from kerasvision.visualization.plots import plot_per_class_metrics

    path = plot_per_class_metrics(
        metrics["per_class"], os.path.join(scratch, "per_class.png")
    )
    return _figure(path, "Support = number of true items of the class")


def _top_loss_section(run, predictions, problem, count, scratch) -> str:
    if count == 0:
        return '<p class="note">Left out (top_losses=0).</p>'
    if predictions is None:
        return f'<p class="note warn">Not available: {_escape(problem)}.</p>'
    import numpy as np

    from kerasvision.visualization.plots import plot_top_losses, top_losses

    probabilities, labels = predictions["probabilities"], predictions["labels"]
    indices, losses = top_losses(probabilities, labels, count)
    images = _images_at(predictions["data"], predictions["split"], indices)
    heatmaps, note = None, ""
    try:
        from kerasvision.visualization.gradcam import gradcam

        layer = _run_feature_layer(run)
        predicted = np.argmax(probabilities[indices], axis=1)
        heatmaps = gradcam(run.model, images, layer=layer, class_index=predicted)
        note = (
            f" Each image is shown beside its Grad-CAM overlay for the predicted "
            f"class (layer <code>{_escape(layer)}</code>)."
        )
    except ValueError as error:
        note = f" (no Grad-CAM: {_escape(error)})"
    path = plot_top_losses(
        images,
        labels[indices],
        probabilities[indices],
        run.class_names,
        os.path.join(scratch, "top_losses.png"),
        heatmaps=heatmaps,
        losses=losses,
    )
    intro = (
        f'<p class="note">The {len(indices)} {_escape(predictions["split"])} images '
        f"with the highest cross-entropy loss, worst first; red = misclassified.{note}"
        "</p>"
    )
    return intro + _figure(path, alt="top losses")


def _run_feature_layer(run):
    """The run's recorded feature layer when the model has it, else automatic."""
    from kerasvision.visualization._gradients import find_layer
    from kerasvision.visualization.gradcam import target_layer

    name = run.info.get("model", {}).get("feature_layer")
    if name:
        try:
            find_layer(run.model, name)
            return target_layer(run.model, name)
        except ValueError:
            pass
    return target_layer(run.model)


def _images_at(data, split, indices):
    """The images at `indices` of a split (a second, unshuffled pass)."""
    import numpy as np

    wanted = {int(i): n for n, i in enumerate(indices)}
    found = [None] * len(indices)
    position = 0
    for batch in data.dataset(
        split, batch_size=64, shuffle=False, include_labels=False
    ):
        batch = np.asarray(batch)
        for offset in range(len(batch)):
            if position + offset in wanted:
                found[wanted[position + offset]] = batch[offset]
        position += len(batch)
        if all(item is not None for item in found):
            break
    return np.stack(found)


def _calibration_section(predictions, problem, scratch) -> str:
    if predictions is None:
        return f'<p class="note warn">Not available: {_escape(problem)}.</p>'
    from kerasvision.visualization.plots import plot_reliability_diagram

    path = plot_reliability_diagram(
        predictions["probabilities"],
        predictions["labels"],
        os.path.join(scratch, "reliability.png"),
    )
    text = (
        f'<p class="note">Expected calibration error (15 equal-width bins) on the '
        f"{_escape(predictions['split'])} split: <b>{predictions['ece']:.4f}</b>. "
        "Bars below the diagonal mean over-confidence.</p>"
    )
    return text + _figure(path, alt="reliability diagram")


def _run_section(info) -> str:
    parts = []
    for key, title in (
        ("arguments", "Arguments"),
        ("model", "Model"),
        ("versions", "Versions"),
    ):
        if info.get(key):
            parts.append(f"<div><h3>{title}</h3>{_key_values(info[key])}</div>")
    extra = {
        key: info[key]
        for key in ("seed", "created", "finished", "epochs_trained", "train_seconds")
        if key in info
    }
    if extra:
        parts.append(f"<div><h3>Run</h3>{_key_values(extra)}</div>")
    return f'<div class="grid">{"".join(parts)}</div>'


# === Per-image visualizations ===


def _collect_images(inputs) -> list[str]:
    from kerasvision.data import IMAGE_EXTENSIONS

    paths: list[str] = []
    for item in inputs:
        item = os.fspath(item)
        if os.path.isdir(item):
            found = []
            for folder, names, files in os.walk(item):
                names[:] = sorted(n for n in names if not n.startswith("."))
                found += [
                    os.path.join(folder, f)
                    for f in files
                    if f.lower().endswith(IMAGE_EXTENSIONS) and not f.startswith(".")
                ]
            if not found:
                raise ValueError(f"no images found in {item}")
            paths += sorted(found)
        elif os.path.isfile(item):
            paths.append(item)
        else:
            raise FileNotFoundError(f"image not found: {item}")
    return paths


def _load_images(run, paths):
    """Decode and resize image files exactly as the run's training did."""
    import numpy as np
    import tensorflow as tf

    from kerasvision.data import check_image_file, decode_and_resize

    images = []
    for path in paths:
        check = check_image_file(path)
        if check.error:
            raise ValueError(f"{path}: {check.error}")
        image = decode_and_resize(
            tf.constant(path),
            tf.constant(check.native),
            image_size=run.image_size,
            channels=run.channels,
            resize=run.resize,
        )
        images.append(np.asarray(image, dtype="float32"))
    return np.stack(images)


def _class_index(run, class_name):
    if class_name is None:
        return None
    if class_name in run.class_names:
        return run.class_names.index(class_name)
    raise ValueError(
        f"unknown class {class_name!r}; choose one of: {', '.join(run.class_names)}"
    )


def visualize_run(
    run_dir,
    images=(),
    *,
    kind: str,
    output,
    layer: str | None = None,
    class_name: str | None = None,
) -> list[str]:
    """Write pictures explaining a run's model, as PNG files in `output`.

    Kinds: "filters" (first-layer kernels, or the kernels of `layer`),
    "feature-maps", "saliency", "smoothgrad", "gradcam", "gradcam++" (one PNG per
    image) and "activation-max" (synthetic inputs maximizing 16 channels of
    `layer`, or the logit of `class_name`).

    Args:
        run_dir: Run directory (or a loaded `Run`).
        images: Image files and/or folders (searched recursively); needed by the
            per-image kinds. Defaults to ().
        kind: One of `VISUALIZATION_KINDS`.
        output: Folder to write into (created if missing).
        layer: Layer name, plain or `"outer/inner"` for a nested backbone.
            Defaults to None (the run's feature layer; for filters the first
            convolution; for activation-max with a class, the output layer).
        class_name: Class to explain (saliency, Grad-CAM, activation-max).
            Defaults to None (each image's predicted class).

    Returns:
        The paths written.

    Raises:
        FileNotFoundError: If the run or an image is missing.
        ValueError: On an unknown kind, layer or class, a bad image, or missing
            images for a per-image kind.

    Example:
        >>> visualize_run(run, ["cat.jpg"], kind="gradcam", output="viz")
        ['viz/gradcam_00_cat.png']
    """
    from kerasvision.runs import Run, load_run

    if kind not in VISUALIZATION_KINDS:
        raise ValueError(
            f"unknown kind {kind!r}; choose one of: {', '.join(VISUALIZATION_KINDS)}"
        )
    if class_name is not None and kind not in _CLASS_KINDS:
        raise ValueError(
            f"a class applies to {', '.join(_CLASS_KINDS)}; not to kind {kind!r}"
        )
    paths = _collect_images(images) if images else []
    if kind in _IMAGE_KINDS and not paths:
        raise ValueError(f"kind {kind!r} needs at least one image")
    run = run_dir if isinstance(run_dir, Run) else load_run(run_dir)
    class_index = _class_index(run, class_name)
    output = os.fspath(output)
    os.makedirs(output, exist_ok=True)
    slug = _FILE_SLUGS.get(kind, kind.replace("-", "_"))
    if kind == "filters":
        return [_write_filters(run, layer, output)]
    if kind == "activation-max":
        return [_write_activation_max(run, layer, class_index, output)]
    pixels = _load_images(run, paths)
    if kind == "feature-maps":
        return _write_feature_maps(run, pixels, paths, layer, output, slug)
    return _write_explanations(run, kind, pixels, paths, layer, class_index, output)


def _file_name(slug, index, path):
    stem = os.path.splitext(os.path.basename(path))[0]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
    return f"{slug}_{index:02d}_{safe}.png"


def _safe_layer(name):
    return name.replace("/", "__")


def _write_filters(run, layer, output):
    from kerasvision.visualization.filters import (
        first_layer_filters,
        layer_kernels,
        plot_filters,
    )

    model = run.model
    if layer is None:
        tiles = first_layer_filters(model)
        return plot_filters(
            tiles,
            os.path.join(output, "filters.png"),
            title="first convolution (gray = 0)",
        )
    kernels = layer_kernels(model, layer)
    path = os.path.join(output, f"filters_{_safe_layer(layer)}.png")
    if kernels.shape[1] in (1, 3):
        tiles = first_layer_filters(model, layer=layer)
        return plot_filters(tiles, path, title=f"{layer} (gray = 0)")
    return plot_filters(kernels, path, per_channel=True, title=layer)


def _write_activation_max(run, layer, class_index, output):
    from kerasvision.visualization._gradients import find_layer, split_at_layer
    from kerasvision.visualization.filters import (
        activation_maximization,
        plot_activation_maximization,
    )

    model = run.model
    if class_index is not None and layer is None:
        split = split_at_layer(model)
        final = split.logit_operation
        layer = final.name if final is not None else model.layers[-1].name
    if layer is None:
        layer = _run_feature_layer(run)
    path = find_layer(model, layer)
    if class_index is not None:
        filters = [class_index]
        labels = [run.class_names[class_index]]
    else:
        size = path[-1].output.shape[-1]
        filters = list(range(min(_ACTIVATION_MAX_FILTERS, int(size))))
        labels = [f"ch {i}" for i in filters]
    images = activation_maximization(model, layer, filters)
    return plot_activation_maximization(
        images,
        os.path.join(output, f"activation_max_{_safe_layer(layer)}.png"),
        labels=labels,
        title=f"activation maximization: {layer}",
    )


def _write_feature_maps(run, pixels, paths, layer, output, slug):
    from kerasvision.visualization.feature_maps import feature_maps, plot_feature_maps

    layer = layer or _run_feature_layer(run)
    maps = feature_maps(run.model, pixels, layer)
    if maps.ndim != 4:
        raise ValueError(
            f"layer {layer!r} outputs shape {maps.shape[1:]}, not feature maps"
        )
    written = []
    for index, path in enumerate(paths):
        written.append(
            plot_feature_maps(
                maps[index],
                os.path.join(output, _file_name(slug, index, path)),
                image=pixels[index],
                title=f"{layer}: {os.path.basename(path)}",
            )
        )
    return written


def _write_explanations(run, kind, pixels, paths, layer, class_index, output):
    import numpy as np

    from kerasvision.export import serving_probabilities
    from kerasvision.visualization.gradcam import (
        gradcam,
        gradcam_plus_plus,
        plot_gradcam,
        target_layer,
    )
    from kerasvision.visualization.saliency import (
        plot_saliency,
        smoothgrad,
        vanilla_saliency,
    )

    model = run.model
    outputs = model.predict(pixels, verbose=0)
    if isinstance(outputs, list | tuple):
        outputs = outputs[0]
    probabilities = np.asarray(serving_probabilities(outputs))
    classes = (
        np.argmax(probabilities, axis=1)
        if class_index is None
        else np.full(len(pixels), class_index)
    )
    if kind in ("gradcam", "gradcam++"):
        layer = target_layer(model, layer or _run_feature_layer(run))
        function = gradcam if kind == "gradcam" else gradcam_plus_plus
        maps = function(model, pixels, layer=layer, class_index=classes)
        plot, suffix = plot_gradcam, f" at {layer}"
    else:
        if layer is not None:
            raise ValueError(f"kind {kind!r} explains the input; it takes no layer")
        function = vanilla_saliency if kind == "saliency" else smoothgrad
        maps = function(model, pixels, class_index=classes)
        plot, suffix = plot_saliency, ""
    slug = _FILE_SLUGS.get(kind, kind)
    written = []
    for index, path in enumerate(paths):
        name = run.class_names[int(classes[index])]
        caption = f"{name} ({probabilities[index, int(classes[index])]:.2f})"
        written.append(
            plot(
                pixels[index : index + 1],
                maps[index : index + 1],
                os.path.join(output, _file_name(slug, index, path)),
                titles=[caption],
                title=f"{kind} for class {name}{suffix}: {os.path.basename(path)}",
            )
        )
    return written
