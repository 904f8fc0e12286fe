"""The report page of a multi-label run (`kerasvision.report.write_report`).

Beside the sections every run's report has (training curves, evaluations,
exports, arguments), a multi-label run's page shows its label sets and how
each label is decided: images per label and split, label cardinality and
co-occurrence, the metrics at the chosen thresholds (mAP, micro and macro F1,
subset accuracy, Hamming loss), a per-label table (precision, recall, F1, AP,
support, threshold, temperature), the precision-recall curve of every label
with its threshold marked, and each label's top losses.
"""

from __future__ import annotations

import os

import numpy as np

from kerasvision.data.labelsets import cooccurrence, recorded_thresholds
from kerasvision.evaluation_multilabel import (
    DEFAULT_THRESHOLD,
    apply_label_temperatures,
    binary_losses,
    label_top_losses,
    split_probabilities,
)
from kerasvision.pages import escape as _escape
from kerasvision.pages import figure as _figure
from kerasvision.pages import page as _page
from kerasvision.pages import table as _table

__all__ = ["render_multilabel"]

#: Images shown per label among its top losses.
PER_LABEL = 4


def _note(text: str, warn: bool = False) -> str:
    return f'<p class="note{" warn" if warn else ""}">{text}</p>'


def _predictions(run, split):
    """The served probabilities of the run's evaluation split, or why not."""
    from kerasvision.run_evaluations import evaluation_split

    data, split, problem = evaluation_split(run, split)
    if problem:
        return None, problem
    trained = split_probabilities(run.model, data, split)
    thresholds = recorded_thresholds(run, run.class_names)
    if thresholds is None:
        thresholds = np.full(len(run.class_names), DEFAULT_THRESHOLD)
    return {
        "data": data,
        "split": split,
        "served": apply_label_temperatures(trained, run.temperature),
        "targets": np.asarray(data.splits[split].targets),
        "thresholds": thresholds,
    }, None


def _data_section(run, predictions, scratch) -> str:
    from kerasvision.visualization.label_plots import plot_label_cooccurrence

    counts = (run.info.get("data") or {}).get("counts") or {}
    splits = [s for s in ("train", "val", "test") if s in counts]
    rows = [
        (name, *[int(counts[s].get(name, 0)) for s in splits])
        for name in run.class_names
    ]
    split_counts = ((run.info.get("split") or {}).get("counts")) or {}
    rows.append(("images", *[int(split_counts.get(s, 0)) for s in splits]))
    html = _note(
        f"{len(run.class_names)} labels; each image has a set of them. Rows: "
        f"images holding the label in each split; the last row counts images."
    ) + _table(("label", *splits), rows)
    if predictions is None:
        return html
    train = predictions["data"].splits["train"].targets
    if train is None or not len(train):
        return html
    cardinality = float((np.asarray(train) > 0.5).sum(axis=1).mean())
    path = plot_label_cooccurrence(
        cooccurrence(train), run.class_names, os.path.join(scratch, "cooc.png"),
        title=f"label co-occurrence in the training split ({len(train)} images)",
    )  # fmt: skip
    return (
        html
        + _note(
            f"Label cardinality (training): {cardinality:.2f} labels per image."
        )  # fmt: skip
        + _figure(path, "Images holding both labels; the diagonal: each label's images")
    )


def _metrics_section(run, metrics) -> str:
    if not metrics:
        return _note("No metrics were recorded.")
    names = ("count", "loss", "map", "micro_f1", "macro_f1", "subset_accuracy",
             "hamming_loss")  # fmt: skip
    html = _table(("metric", "value"), [(n, metrics[n]) for n in names if n in metrics])
    averages = [
        (name.replace("_avg", ""), *(metrics[name][k] for k in ("precision", "recall",
                                                               "f1")))
        for name in ("micro_avg", "macro_avg")
        if name in metrics
    ]  # fmt: skip
    html += _table(("average", "precision", "recall", "F1"), averages)
    record = run.info.get("thresholds") or {}
    fallback = record.get("fallback") or []
    text = (
        f"On the {_escape(metrics.get('split', 'test'))} split, the served "
        f"probabilities (a temperature per label) decided at each label's "
        f"threshold ({_escape(record.get('rule', 'per label'))})."
    )
    if fallback:
        text += f" {len(fallback)} label(s) without validation positives use 0.5: "
        text += _escape(", ".join(fallback)) + "."
    return _note(text) + html


def _per_label_section(run, metrics) -> str:
    per_class = metrics.get("per_class") or {}
    if not per_class:
        return _note("No per-label metrics were recorded.")
    temperature = run.temperature
    temperatures = temperature if isinstance(temperature, list) else None
    rows = []
    for index, name in enumerate(run.class_names):
        row = per_class.get(name) or {}
        ap = row.get("ap")
        rows.append((
            name, row.get("precision", 0.0), row.get("recall", 0.0), row.get("f1", 0.0),
            "n/a" if ap is None else ap, row.get("support", 0),
            row.get("threshold", DEFAULT_THRESHOLD),
            temperatures[index] if temperatures else 1.0,
        ))  # fmt: skip
    header = ("label", "precision", "recall", "F1", "AP", "support", "threshold",
              "temperature")  # fmt: skip
    return _table(header, rows)


def _curves_section(predictions, problem, scratch) -> str:
    if predictions is None:
        return _note(f"Not available: {_escape(problem)}.", warn=True)
    from kerasvision.visualization.label_plots import plot_precision_recall_curves

    path = plot_precision_recall_curves(
        predictions["served"], predictions["targets"],
        predictions["data"].class_names, os.path.join(scratch, "pr.png"),
        thresholds=predictions["thresholds"],
    )  # fmt: skip
    return _figure(path, f"{predictions['split']} split; dots: the thresholds")


def _images(data, split, indices) -> dict:
    """`{index: image}` of a split (one unshuffled pass)."""
    wanted, found, position = set(int(i) for i in indices), {}, 0
    for batch in data.dataset(split, batch_size=64, shuffle=False,
                              include_labels=False):  # fmt: skip
        for offset, image in enumerate(np.asarray(batch)):
            if position + offset in wanted:
                found[position + offset] = image
        position += len(batch)
        if len(found) == len(wanted):
            break
    return found


def _top_losses_section(predictions, problem, count, scratch) -> str:
    if count == 0:
        return _note("Left out (top_losses=0).")
    if predictions is None:
        return _note(f"Not available: {_escape(problem)}.", warn=True)
    from kerasvision.visualization.label_plots import plot_label_top_losses

    served, targets = predictions["served"], predictions["targets"]
    losses = binary_losses(served, targets)
    decided = served >= np.asarray(predictions["thresholds"], "float32")
    top = label_top_losses(served, targets, min(PER_LABEL, count))
    rows = [
        (label, [(int(i), int(targets[i, label] > 0.5), float(served[i, label]),
                  float(losses[i, label]), int(decided[i, label])) for i in items])
        for label, items in enumerate(top)
    ]  # fmt: skip
    images = _images(predictions["data"], predictions["split"], top.reshape(-1))
    path = plot_label_top_losses(
        images, rows, predictions["data"].class_names, os.path.join(scratch, "t.png")
    )
    return _note(
        f"For each label, the {top.shape[1]} {_escape(predictions['split'])} images "
        f"whose decision on it costs most (binary cross-entropy of the served "
        f"probability); red: decided wrong at the label's threshold."
    ) + _figure(path, alt="top losses per label")


def render_multilabel(run, scratch: str, top_count: int, common: dict) -> str:
    """The report page of a multi-label run.

    Args:
        run: The loaded run.
        scratch: A folder for the figures (embedded, then deleted).
        top_count: Top losses to show (at most `PER_LABEL` per label; 0: none).
        common: HTML of the sections every report has: "training",
            "evaluations", "exports", "run".

    Returns:
        The page's HTML.
    """
    metrics = run.metrics()
    predictions, problem = _predictions(run, metrics.get("split"))
    sections = [
        ("data", "Data: label sets", _data_section(run, predictions, scratch)),
        ("training", "Training", common["training"]),
        ("metrics", "Metrics", _metrics_section(run, metrics)),
        ("evaluations", "Evaluations on other data", common["evaluations"]),
        ("per-label", "Per-label results", _per_label_section(run, metrics)),
        ("pr-curves", "Precision-recall curves",
         _curves_section(predictions, problem, scratch)),
        ("top-losses", "Top losses per label",
         _top_losses_section(predictions, problem, top_count, scratch)),
        ("exports", "Exports and model cards", common["exports"]),
        ("run", "Run arguments and versions", common["run"]),
    ]  # fmt: skip
    split = metrics.get("split", "test")
    info = run.info
    model = info.get("model", {})
    kpis = [
        ("model", model.get("backbone") or model.get("name", "?")),
        (f"{split} mAP", _fixed(metrics.get("map"))),
        (f"{split} micro-F1", _fixed(metrics.get("micro_f1"))),
        (f"{split} subset accuracy", _fixed(metrics.get("subset_accuracy"))),
        ("labels", len(run.class_names)),
        ("epochs", info.get("epochs_trained", "?")),
    ]
    name = os.path.basename(run.path.rstrip(os.sep))
    subtitle = (
        f"{_escape(info.get('created', ''))} &rarr; {_escape(info.get('finished', ''))}"
        f" &middot; multi-label"
    )
    return _page(f"kerasvision report: {name}", name, subtitle, kpis, sections)


def _fixed(value) -> str:
    return "n/a" if value is None else f"{float(value):.4f}"
