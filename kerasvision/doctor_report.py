"""The files `kerasvision doctor` writes: `doctor.json`, `doctor.html` (summary,
histograms, bad files, duplicate groups as thumbnails side by side, the
method) and the histogram PNG, from a `kerasvision.doctor.DoctorResult`."""

from __future__ import annotations

import html
import os

import numpy as np

__all__ = [
    "MAX_GROUPS_SHOWN",
    "check_output",
    "default_output",
    "write_doctor_report",
]

#: Duplicate groups drawn as thumbnails per section (all are in doctor.json).
MAX_GROUPS_SHOWN = 100


def default_output(data_dir, *, where=".") -> str:
    """`doctor-<data folder name>[-N]` in `where`: a name not taken yet."""
    base = os.path.join(where, f"doctor-{os.path.basename(os.path.abspath(data_dir))}")
    candidate, number = base, 1
    while os.path.lexists(candidate):
        number += 1
        candidate = f"{base}-{number}"
    return candidate


def check_output(output: str, root: str) -> None:
    """Refuse an `--output` inside the data, a file, or a folder that is not an
    earlier doctor output."""
    from kerasvision.runs import check_not_overlapping

    check_not_overlapping(output, root)
    if os.path.isfile(output):
        raise ValueError(f"--output {output} is a file, not a folder")
    if (
        os.path.isdir(output)
        and os.listdir(output)
        and not os.path.isfile(os.path.join(output, "doctor.json"))
    ):
        raise ValueError(
            f"--output {output} exists and is not an earlier doctor output; "
            f"choose a new folder"
        )


def write_doctor_report(result, output: str) -> str:
    """Write `doctor.json`, `doctor.html` and the histogram PNGs into `output`
    (staged beside it and moved into place in one step)."""
    from kerasvision._files import current_umask, staged_dir, write_json, write_text

    with staged_dir(output, prefix=".doctor-") as staging:
        os.chmod(staging, 0o777 & ~current_umask())  # mkdtemp makes a private folder
        figures = _histograms(result, staging)
        labels = _label_sets_html(result, staging)  # multi-label tables
        write_json(os.path.join(staging, "doctor.json"), result.to_json())
        write_text(os.path.join(staging, "doctor.html"), _html(result, figures, labels))
    return output


#: Up to this many distinct sizes/ratios are drawn as labelled bars (a
#: histogram of one value is a single bar on a meaningless axis).
_FEW_VALUES = 8


def _value_bars(axis, values, color) -> None:
    """One bar per distinct value (in order of count), labelled."""
    labels = sorted(set(values), key=lambda v: (-values.count(v), v))
    bars = axis.bar(labels, [values.count(v) for v in labels], color=color)
    axis.bar_label(bars)
    axis.set_ylabel("images")
    axis.tick_params(axis="x", rotation=30 if len(labels) > 3 else 0)


def _size_panel(axis, valid) -> None:
    """Sizes as labelled bars ("32x32") when few, else width/height histograms."""
    sizes = [f"{i.width}x{i.height}" for i in valid]
    if len(set(sizes)) <= _FEW_VALUES:
        _value_bars(axis, sizes, "#0969da")
        return
    axis.hist([i.width for i in valid], bins=30, alpha=0.7, label="width")
    axis.hist([i.height for i in valid], bins=30, alpha=0.7, label="height")
    axis.set_xlabel("pixels")
    axis.legend()


def _histograms(result, folder: str) -> list[tuple[str, str]]:
    from matplotlib.figure import Figure

    valid = [i for i in result.images if i.error is None]
    figure = Figure(figsize=(12, 7))
    axes = figure.subplots(2, 3).ravel()
    counts = result.label_counts
    axes[0].bar(list(counts), list(counts.values()), color="#0969da")
    per_label = bool(result.layout.get("label_sets"))
    title = "images holding each label" if per_label else "valid images per class"
    axes[0].set_title(title)
    axes[0].tick_params(axis="x", rotation=45)
    if valid:
        _size_panel(axes[1], valid)
        ratios = [round(i.width / i.height, 2) for i in valid]
        if len(set(ratios)) <= _FEW_VALUES:  # a few ratios: one labelled bar each
            _value_bars(axes[2], [f"{r:.2f}" for r in ratios], "#8250df")
        else:
            axes[2].hist(ratios, bins=30, color="#8250df")
    axes[1].set_title("image sizes (px)")
    axes[2].set_title("aspect ratio (width / height)")
    for axis, attribute in ((axes[3], "mode"), (axes[4], "format")):
        values = [getattr(i, attribute) for i in valid]
        labels = sorted(set(values))
        axis.bar(labels, [values.count(v) for v in labels], color="#1a7f37")
        axis.set_title(f"image {attribute}s")
    per_class = result.per_class
    bottom = np.zeros(len(per_class))
    for key in ("bad", "tiny", "huge", "exif_rotated"):
        heights = [row[key] for row in per_class.values()]
        axes[5].bar(list(per_class), heights, bottom=bottom, label=key)
        bottom += heights
    axes[5].set_ylim(0, max(1.0, float(bottom.max(initial=0)) * 1.1))
    axes[5].set_title("odd files per class")
    axes[5].legend()
    axes[5].tick_params(axis="x", rotation=45)
    figure.tight_layout()
    path = os.path.join(folder, "histograms.png")
    figure.savefig(path, dpi=80)
    return [(path, "Classes, sizes, aspect ratios, modes, formats, odd files")]


def _splits_html(result) -> str:
    from kerasvision.pages import key_values as _key_values
    from kerasvision.pages import table as _table

    layout = {
        k: v for k, v in result.layout.items() if k not in ("bad_rows", "label_sets")
    }
    html_text = _key_values(layout)
    report = result.splits
    if report:
        rows = [(c, *(report["counts"][s][c] for s in report["splits"]))
                for c in result.class_names]  # fmt: skip
        html_text += _table(("class", *report["splits"]), rows)
        html_text += _key_values({k: v for k, v in report.items() if k != "counts"})
    bad_rows = result.layout.get("bad_rows")
    if bad_rows:
        html_text += _table(("row", "path", "reason"), bad_rows, numeric_from=99)
    return html_text


def label_sets_line(found: dict) -> str:
    """One line of a multi-label table's labels (`kerasvision doctor`)."""
    frequencies = sorted(found["frequencies"].items(), key=lambda item: -item[1])
    shown = ", ".join(f"{name} {count}" for name, count in frequencies[:10])
    pairs = ", ".join(f"{a}+{b} {n}" for a, b, n in found["top_pairs"][:3])
    return (
        f"labels (multi-label): {len(found['labels'])}, {found['cardinality']:.2f} "
        f"per image (at most {found['max_labels']}); images per label: {shown}"
        + ("" if len(frequencies) <= 10 else ", ...")
        + (f"; most frequent pairs: {pairs}" if pairs else "")
    )


def _label_sets_html(result, folder: str) -> str:
    """A multi-label table's labels: frequencies, cardinality, co-occurrence."""
    from kerasvision.pages import figure as _figure
    from kerasvision.pages import table as _table
    from kerasvision.visualization.label_plots import plot_label_cooccurrence

    found = result.layout.get("label_sets")
    if not found:
        return '<p class="note">One label per image.</p>'
    note = (
        f'<p class="note">{found["images"]} images, {len(found["labels"])} labels: '
        f"{found['cardinality']:.2f} labels per image on average (at most "
        f"{found['max_labels']}), {found['distinct_sets']} distinct label sets. "
        f"Files are listed above under the first of their labels.</p>"
    )
    frequencies = _table(("label", "images"), list(found["frequencies"].items()))
    pairs = _table(("label", "label", "images"), found["top_pairs"], numeric_from=2)
    path = plot_label_cooccurrence(
        found["cooccurrence"], found["labels"], os.path.join(folder, "cooc.png")
    )
    return (
        note
        + frequencies
        + "<h3>Most frequent pairs</h3>"
        + pairs
        + _figure(path, "Images holding both labels; the diagonal: each label's images")
    )


def _group_html(result, group, number: int) -> str:
    from kerasvision.pages import gallery

    items = [
        (path, f"<b>{html.escape(label)}</b><br>{html.escape(path)}")
        for path, label in zip(group.paths, group.labels, strict=True)
    ]
    title = f"group {number}: {group.kind}, {len(group.paths)} files"
    if group.cross_class:
        title += f", classes {', '.join(sorted(set(group.labels)))}"
    return f"<h3>{html.escape(title)}</h3>{gallery(result.data_dir, items)}"


def _groups_section(result, groups, what: str) -> str:
    if not groups:
        return f'<p class="note">No {what}.</p>'
    shown = groups[:MAX_GROUPS_SHOWN]
    note = (
        f'<p class="note">{len(groups)} groups; the first {len(shown)} are shown '
        f"(all are in doctor.json).</p>"
        if len(groups) > len(shown)
        else ""
    )
    return note + "".join(
        _group_html(result, g, n) for n, g in enumerate(shown, start=1)
    )


def _html(result, figures, labels: str = "") -> str:
    from kerasvision.pages import figure as _figure
    from kerasvision.pages import key_values as _key_values
    from kerasvision.pages import page as _page
    from kerasvision.pages import table as _table

    summary = result.summary()
    per_class = result.per_class
    header = ("class", *next(iter(per_class.values())).keys()) if per_class else ()
    rows = [(name, *row.values()) for name, row in per_class.items()]
    warnings = "".join(
        f'<li class="warn">{html.escape(w)}</li>' for w in result.warnings
    )
    overview = (
        (f"<ul>{warnings}</ul>" if warnings else '<p class="note">No warnings.</p>')
        + _table(header, rows)
        + _key_values(summary)
    )
    bad = (
        _table(("file", "reason"), result.bad_files)
        if result.bad_files
        else '<p class="note">No bad files.</p>'
    )
    cross = result.cross_class_groups
    within = [g for g in result.groups if not g.cross_class]
    sections = [
        ("summary", "Summary", overview),
        ("histograms", "Histograms", "".join(_figure(p, c) for p, c in figures)),
        ("bad-files", "Bad files", bad),
        (
            "cross-class",
            "Duplicates across classes (label conflicts)",
            _groups_section(result, cross, "duplicates across classes"),
        ),
        (
            "within-class",
            "Duplicates within a class",
            _groups_section(result, within, "duplicates within a class"),
        ),
        ("method", "Method", _key_values(result.method)),
        ("splits", "Layout and splits", _splits_html(result)),
    ]
    if result.layout.get("label_sets"):
        sections.insert(1, ("label-sets", "Label sets (multi-label)", labels))
    kpis = [
        ("images", summary["valid_images"]),
        ("classes", summary["classes"]),
        ("bad files", summary["bad_files"]),
        ("exact groups", summary["exact_groups"]),
        ("near groups", summary["near_groups"]),
        ("cross-class groups", summary["cross_class_groups"]),
    ]
    name = os.path.basename(result.data_dir)
    subtitle = html.escape(result.data_dir)
    return _page(
        f"kerasvision doctor: {name}", f"doctor: {name}", subtitle, kpis, sections
    )
