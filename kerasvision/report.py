"""Reports on a finished run: one self-contained HTML page, and per-image pictures.

`write_report` gathers a run's data summary, training curves, metrics, confusion
matrix, per-class precision/recall/F1, the highest-loss test images with Grad-CAM
overlays, a reliability diagram with the expected calibration error, and the
run's arguments and versions into `RUN/report.html`: a single file with inline
CSS and PNGs embedded as base64 data URIs, so it opens anywhere, offline, and
can be mailed or archived on its own.

(Per-image pictures of a run: `kerasvision.visualization.pictures.visualize_run`.)
"""

from __future__ import annotations

import base64
import html
import os
import tempfile

__all__ = ["write_report"]

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
.thumbs { display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0 14px;
          padding: 8px; background: var(--band); border-radius: 8px; }
.thumb { width: 112px; font-size: 11px; line-height: 1.3; color: var(--muted);
         word-break: break-all; }
.thumb img { display: block; max-width: 104px; max-height: 104px;
             border: 1px solid var(--line); background: #fff; }
.thumb b { color: var(--ink); }
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


def _thumbnail_uri(path: str, size: int = 96) -> str:
    """A PNG data URI of an image file shrunk to fit `size` px (EXIF applied)."""
    import io

    from PIL import Image, ImageOps

    try:
        with Image.open(path) as image:
            image = ImageOps.exif_transpose(image)
            image.thumbnail((size, size))
            buffer = io.BytesIO()
            image.convert("RGB").save(buffer, "PNG")
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return ""
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"data:image/png;base64,{encoded}"


def _page(title: str, heading: str, subtitle: str, kpis, sections) -> str:
    """One self-contained HTML page: header with KPIs, a nav bar, the sections.

    `kpis` are `(label, value)` pairs; `sections` are `(anchor, title, html)`.
    """
    nav = "".join(f'<a href="#{anchor}">{_escape(t)}</a>' for anchor, t, _ in sections)
    body = "".join(_section(anchor, t, content) for anchor, t, content in sections)
    kpi_html = "".join(
        f'<div class="kpi"><b>{_escape(v)}</b><span>{_escape(k)}</span></div>'
        for k, v in kpis
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_escape(title)}</title>"
        f"<style>{_CSS}</style></head><body><main>"
        f"<header><h1>{_escape(heading)}</h1><p>{subtitle}</p>"
        f'<div class="kpis">{kpi_html}</div></header>'
        f"<nav>{nav}</nav>{body}</main></body></html>\n"
    )


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
    from kerasvision._files import write_text
    from kerasvision.runs import load_run

    if int(top_losses) < 0:
        raise ValueError(f"top_losses must be >= 0, got {top_losses}")
    run = load_run(run_dir)
    output = os.fspath(output) if output is not None else None
    output = output or os.path.join(run.path, "report.html")
    if os.path.isdir(output):
        raise ValueError(f"--output must be a file path, got the folder {output}")
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"output folder not found: {folder}")
    with tempfile.TemporaryDirectory(prefix="kerasvision-report-") as scratch:
        page = _render(run, scratch, int(top_losses))
    write_text(output, page)
    return output


def _render(run, scratch: str, top_count: int) -> str:
    info = run.info
    metrics = run.metrics()
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
    subtitle = (
        f"{_escape(info.get('created', ''))} &rarr; {_escape(info.get('finished', ''))}"
    )
    return _page(f"kerasvision report: {name}", name, subtitle, kpis, sections)


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * float(value):.2f}%"


def _fixed(value) -> str:
    return "n/a" if value is None else f"{float(value):.4f}"


def _predictions(run, split):
    """Probabilities, labels and the split of the run's evaluation data."""
    import numpy as np

    from kerasvision.evaluation import (
        apply_temperature,
        expected_calibration_error,
        predict_probabilities,
    )

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
    calibrated = apply_temperature(probabilities, run.temperature)
    return {
        "data": data,
        "split": split,
        "probabilities": probabilities,
        "labels": labels,
        "ece": expected_calibration_error(probabilities, labels),
        "temperature": run.temperature,
        "calibrated": calibrated,
        "ece_calibrated": expected_calibration_error(calibrated, labels),
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
        history = run.history()
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

    from kerasvision.evaluation import top_losses
    from kerasvision.visualization.plots import plot_top_losses

    probabilities, labels = predictions["probabilities"], predictions["labels"]
    indices, losses = top_losses(probabilities, labels, count)
    images = _images_at(predictions["data"], predictions["split"], indices)
    heatmaps, note = None, ""
    try:
        from kerasvision.visualization.gradcam import gradcam
        from kerasvision.visualization.pictures import run_feature_layer

        layer = run_feature_layer(run)
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

    temperature = predictions["temperature"]
    path = plot_reliability_diagram(
        predictions["probabilities"],
        predictions["labels"],
        os.path.join(scratch, "reliability.png"),
        title="Before calibration",
    )
    text = (
        f'<p class="note">Expected calibration error (15 equal-width bins) on the '
        f"{_escape(predictions['split'])} split: <b>{predictions['ece']:.4f}</b> "
        f"before, <b>{predictions['ece_calibrated']:.4f}</b> after the "
        f"temperature T = {temperature:g} fitted on the validation split (what "
        "the exports serve). Bars below the diagonal mean over-confidence.</p>"
    )
    figures = _figure(path, alt="reliability diagram before calibration")
    if temperature != 1.0:
        after = plot_reliability_diagram(
            predictions["calibrated"],
            predictions["labels"],
            os.path.join(scratch, "reliability_calibrated.png"),
            title=f"After calibration (T = {temperature:g})",
        )
        figures += _figure(after, alt="reliability diagram after calibration")
    return text + figures


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
