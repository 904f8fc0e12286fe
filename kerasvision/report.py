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

import os
import tempfile

from kerasvision.data.labelsets import is_multi_label
from kerasvision.pages import escape as _escape
from kerasvision.pages import figure as _figure
from kerasvision.pages import key_values as _key_values
from kerasvision.pages import page as _page
from kerasvision.pages import table as _table

__all__ = ["write_report"]


# === Report ===


def write_report(
    run_dir, *, output=None, top_losses: int = 8, overwrite: bool = False
) -> str:
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
        overwrite: Replace an existing file at `output` (the run's own
            `report.html` is always replaced). Defaults to False.

    Returns:
        The path written (atomically: temp file, then rename).

    Raises:
        FileNotFoundError: If the run directory does not exist.
        ValueError: If it is not a finished run, `top_losses` < 0, or `output`
            exists (without `overwrite`) or is not a regular file.

    Example:
        >>> write_report("saved_models/bipyramidal_cnn-digits-20261121-101500")
        'saved_models/bipyramidal_cnn-digits-20261121-101500/report.html'
    """
    from kerasvision._files import check_output_file, write_text
    from kerasvision.runs import load_run

    if int(top_losses) < 0:
        raise ValueError(f"top_losses must be >= 0, got {top_losses}")
    run = load_run(run_dir)
    given = output is not None and bool(os.fspath(output))
    output = os.fspath(output) if given else os.path.join(run.path, "report.html")
    if os.path.isdir(output):
        raise ValueError(f"--output must be a file path, got the folder {output}")
    check_output_file(output, overwrite=overwrite or not given)
    folder = os.path.dirname(os.path.abspath(output))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"output folder not found: {folder}")
    with tempfile.TemporaryDirectory(prefix="kerasvision-report-") as scratch:
        page = _render(run, scratch, int(top_losses))
    write_text(output, page)
    return output


def _render(run, scratch: str, top_count: int) -> str:
    if is_multi_label(run):  # label sets: its own metrics, curves and losses
        from kerasvision.report_multilabel import render_multilabel

        common = {
            "training": _training_section(run, scratch),
            "evaluations": _evaluations_section(run),
            "exports": _exports_section(run),
            "run": _run_section(run.info),
        }
        return render_multilabel(run, scratch, top_count, common)
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
        ("metrics", "Metrics", _metrics_section(metrics, run.temperature)),
        ("evaluations", "Evaluations on other data", _evaluations_section(run)),
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
            _calibration_section(
                predictions, problem, scratch, run.info.get("calibration") or {}
            ),
        ),
        ("exports", "Exports and model cards", _exports_section(run)),
        ("run", "Run arguments and versions", _run_section(info)),
    ]
    name = os.path.basename(run.path.rstrip(os.sep))
    state = _calibration_state(run.temperature)
    split = metrics.get("split", "test")
    kpis = [
        ("model", _model_label(info.get("model", {}))),
        (f"{split} accuracy", _percent(metrics.get("accuracy"))),
        (f"{split} loss, {state}", _fixed(metrics.get("loss"))),
    ]
    if predictions is not None:
        kpis.append((f"{split} ECE, {state}", _fixed(predictions["ece_calibrated"])))
    kpis += [
        ("classes", len(run.class_names)),
        ("epochs", info.get("epochs_trained", "?")),
    ]
    subtitle = (
        f"{_escape(info.get('created', ''))} &rarr; {_escape(info.get('finished', ''))}"
    )
    return _page(f"kerasvision report: {name}", name, subtitle, kpis, sections)


def _calibration_state(temperature) -> str:
    """How the served probabilities relate to the trained ones, in words."""
    if temperature == 1.0:
        return "uncalibrated (T = 1)"
    return f"calibrated (T = {temperature:g})"


def _model_label(model: dict) -> str:
    """The model a run trained: the backbone and mode of a transfer run."""
    backbone = model.get("backbone")
    if not backbone:
        return model.get("name", "?")
    if os.path.exists(str(backbone)):
        backbone = os.path.basename(str(backbone).rstrip(os.sep))
    return f"{backbone} ({model.get('mode', 'transfer')})"


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
    from kerasvision.run_evaluations import evaluation_split

    data, split, problem = evaluation_split(run, split)
    if problem:
        return None, problem
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
    origin = data.get("split_source")
    if origin:
        table += "<h3>Where each split came from</h3>" + _table(
            ("split", "from"), list(origin.items()), numeric_from=99
        )
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
    if info.get("fine_tune_choice"):
        from kerasvision.training.selection import choice_line

        line = choice_line(info["fine_tune_choice"])
        note += f'<p class="note">On validation: {_escape(line)}.</p>'
    return note + _figure(curves, "Loss and metrics per epoch, train vs validation")


def _metrics_section(metrics, temperature=1.0) -> str:
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
    note = (
        f'<p class="note">On the {_escape(metrics.get("split", "test"))} split; the '
        f"loss is that of the served probabilities, "
        f"{_escape(_calibration_state(temperature))}.</p>"
    )
    if averages:
        table += _table(("average", "precision", "recall", "F1"), averages)
    return note + table


def _evaluations_section(run) -> str:
    """Every evaluation recorded under `RUN/evaluations/` (`kerasvision
    evaluate RUN DATA`)."""
    from kerasvision.run_evaluations import recorded_evaluations

    found = recorded_evaluations(run.path)
    if not found:
        return (
            '<p class="note">None recorded (<code>kerasvision evaluate RUN DATA'
            "</code> records one).</p>"
        )
    rows = [
        (name, m.get("evaluated_on") or m.get("data", "?"), m.get("count"),
         _percent(m.get("accuracy")), _fixed(m.get("loss")))
        for name, m in found
    ]  # fmt: skip
    return _table(("record", "data", "images", "accuracy", "loss"), rows, 2)


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

    # The served (calibrated) probabilities, as predict and visualize show them.
    probabilities, labels = predictions["calibrated"], predictions["labels"]
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
        title=f"probabilities {_calibration_state(predictions['temperature'])}",
    )
    state = _calibration_state(predictions["temperature"])
    intro = (
        f'<p class="note">The {len(indices)} {_escape(predictions["split"])} images '
        f"with the highest cross-entropy loss, worst first; red = misclassified; "
        f"probabilities {_escape(state)}, as predict serves them.{note}</p>"
    )
    table = _top_loss_table(run, predictions, indices, losses, probabilities)
    return intro + _figure(path, alt="top losses") + table


def _top_loss_table(run, predictions, indices, losses, probabilities) -> str:
    """The top losses as rows: file, true and predicted class, probability."""
    import numpy as np

    part = predictions["data"].splits[predictions["split"]]
    root = predictions["data"].source.get("path")
    rows = []
    for rank, (index, loss) in enumerate(zip(indices, losses, strict=True), 1):
        row = probabilities[index]
        predicted = int(np.argmax(row))
        where = f"#{int(index)}"
        if part.paths is not None:
            path = part.paths[index]
            where = os.path.relpath(path, root) if root else path
        rows.append((
            rank, where, run.class_names[int(predictions["labels"][index])],
            run.class_names[predicted], f"{row[predicted]:.3f}", f"{loss:.3f}",
        ))  # fmt: skip
    header = ("rank", "image", "true", "predicted", "probability", "loss")
    return _table(header, rows, numeric_from=99)


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


def _calibration_section(predictions, problem, scratch, record=None) -> str:
    if predictions is None:
        return f'<p class="note warn">Not available: {_escape(problem)}.</p>'
    from kerasvision.visualization.plots import plot_reliability_diagram

    temperature = predictions["temperature"]
    path = plot_reliability_diagram(
        predictions["probabilities"],
        predictions["labels"],
        os.path.join(scratch, "reliability.png"),
        title="Before calibration" if temperature != 1.0 else "Served (T = 1)",
    )
    skipped = (record or {}).get("skipped")
    how = (
        f"no temperature was fitted ({_escape(skipped)}): T = 1"
        if skipped
        else f"the temperature T = {temperature:g} fitted on the validation split"
    )
    text = (
        f'<p class="note">Expected calibration error (15 equal-width bins) on the '
        f"{_escape(predictions['split'])} split: <b>{predictions['ece']:.4f}</b> "
        f"before, <b>{predictions['ece_calibrated']:.4f}</b> after calibration; "
        f"{how} (what predict and the exports serve). Bars below the diagonal "
        "mean over-confidence.</p>"
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


def _applicable_arguments(arguments: dict) -> dict:
    """The recorded arguments that apply to the run's task and recipe
    (`FitConfig.applicable`: a scratch run shows no backbone options) and are
    set (`weights` None is shown as "none": no pretrained weights)."""
    from kerasvision.config import FitConfig

    try:
        keep = set(FitConfig.from_json(arguments).applicable())
    except (ValueError, TypeError, KeyError):  # not a fit record: show it all
        return arguments
    shown = {k: v for k, v in arguments.items() if k in keep}
    if "weights" in shown and shown["weights"] is None:
        shown["weights"] = "none"
    return {k: v for k, v in shown.items() if v not in (None, "", {}, [])}


def _exports_section(run) -> str:
    """A link to each export's model card (`MODEL_CARD.md`), relative to the run."""
    from kerasvision.export.model_card import run_cards

    cards = run_cards(run)
    if not cards:
        return '<p class="note">No export with a model card yet.</p>'
    items = "".join(
        f'<li>{_escape(key)}: <a href="{_escape(os.path.relpath(card, run.path))}">'
        f"{_escape(os.path.relpath(card, run.path))}</a></li>"
        for key, card in cards
    )
    return f"<ul>{items}</ul>"


def _run_section(info) -> str:
    parts = []
    for key, title in (
        ("arguments", "Arguments"),
        ("model", "Model"),
        ("versions", "Versions"),
    ):
        if info.get(key):
            values = info[key]
            if key == "arguments":
                values = _applicable_arguments(values)
            parts.append(f"<div><h3>{title}</h3>{_key_values(values)}</div>")
    extra = {
        key: info[key]
        for key in ("seed", "created", "finished", "epochs_trained", "train_seconds")
        if key in info
    }
    steps = info.get("step_seconds") or {}
    extra.update({f"{step} (s)": seconds for step, seconds in steps.items()})
    if extra:
        parts.append(f"<div><h3>Run</h3>{_key_values(extra)}</div>")
    return f'<div class="grid">{"".join(parts)}</div>'
