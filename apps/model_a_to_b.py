"""The lectures' Model A -> B/C experiment, fully offline.

Model A (the bipyramidal CNN) is trained on task A; its convolutional part is then
reused for task B: B = feature extraction (frozen, new head), C = fine-tuned, and a
scratch CNN trained on B alone for comparison. Default: digits 0-4 (A) -> digits
5-9 (B), with only --b-per-class training images per class for B (small data is
where transfer pays). Then a dissimilar target: the same Model A -> flowers5 in
grayscale at Model A's 16x16 (--d-per-class images per class), D = feature
extraction and E = fine-tuned; D and E need ../shared/data/flowers5 and are
skipped without it. With --flowers: flowers5 daisy/dandelion/rose (A) ->
sunflower/tulip (B) from ../shared/data/flowers5 (no D/E). Override the shared
folder with --shared or the KERASVISION_SHARED environment variable. The table
lists every model's test accuracy and training time.

Example:
    python apps/model_a_to_b.py
"""

from __future__ import annotations

import os
import tempfile
import time

import click
import numpy as np
from _shared import shared_root

import kerasvision
from kerasvision.data import load_image_folder
from kerasvision.data.datasets import load_builtin


def _subset(x, y, classes, per_class, rng):
    keep = []
    for c in classes:
        members = np.flatnonzero(y == c)
        keep += list(rng.choice(members, min(per_class, len(members)), replace=False))
    keep = np.sort(keep)
    remap = {c: i for i, c in enumerate(classes)}
    return x[keep], np.array([remap[v] for v in y[keep]])


def _flowers_arrays(root, classes, size, seed, channels=3):
    data = load_image_folder(
        os.path.join(root, "data", "flowers5"),
        image_size=size,
        channels=channels,
        seed=seed,
        val_split=0,
        test_split=0,
    )
    images = np.concatenate(
        [
            b.numpy()
            for b in data.dataset(
                "train", batch_size=256, shuffle=False, include_labels=False
            )
        ]
    ).astype("uint8")
    labels = data.splits["train"].labels
    index = [data.class_names.index(c) for c in classes]
    return images, labels, index


@click.command()
@click.option(
    "--flowers", is_flag=True, help="Use ../shared flowers5 instead of digits."
)
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option(
    "--b-per-class",
    default=30,
    show_default=True,
    help="Images per class available for task B (train+val+test).",
)
@click.option(
    "--d-per-class",
    default=200,
    show_default=True,
    help="Flowers per class for the dissimilar target D/E (digits mode).",
)
@click.option("--epochs", default=15, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--output", default="saved_models", show_default=True)
def main(flowers, shared, b_per_class, d_per_class, epochs, seed, output):
    """Train Model A, transfer to task B (feature extraction, fine-tuning, scratch)."""
    rng = np.random.default_rng(seed)
    if flowers:
        size = 64
        x, y, _ = _flowers_arrays(shared_root(shared), [], size, seed)
        a_classes, b_classes = [0, 1, 2], [3, 4]
        a_per_class = 10_000
    else:
        x, y, _ = load_builtin("digits")
        size, a_classes, b_classes, a_per_class = (
            16,
            [0, 1, 2, 3, 4],
            [5, 6, 7, 8, 9],
            10_000,
        )
    xa, ya = _subset(x, y, a_classes, a_per_class, rng)
    xb, yb = _subset(x, y, b_classes, b_per_class, rng)
    common = dict(image_size=size, seed=seed, overwrite=True, test_split=0.3)
    rows = []

    def run(label, data, **kwargs):
        start = time.perf_counter()
        result = kerasvision.fit(
            data, output=os.path.join(output, f"a_to_b-{label}"), **common, **kwargs
        )
        rows.append(
            (
                label,
                len(data[0]),
                result.metrics["accuracy"],
                time.perf_counter() - start,
            )
        )
        click.echo(f"{label}: test accuracy {result.metrics['accuracy']:.4f}")
        return result

    model_a = run(
        "A (source task)", (xa, ya), epochs=epochs, model_kwargs={"batch_norm": True}
    )
    transfer = {"backbone": model_a.run_dir, "epochs": epochs, "lr": 3e-3}
    fine_tune = {
        "mode": "fine-tune",
        "warmup_epochs": epochs,
        "epochs": max(3, epochs // 3),
        "unfreeze": "all",
        "fine_tune_lr": 3e-4,
    }
    with tempfile.TemporaryDirectory():
        run("B feature extraction", (xb, yb), **transfer)
        run("C fine-tuned", (xb, yb), **{**transfer, **fine_tune})
        run("scratch on B", (xb, yb), epochs=epochs, model_kwargs={"batch_norm": True})
    flowers_dir = os.path.join(shared_root(shared), "data", "flowers5")
    if not flowers and os.path.isdir(flowers_dir):
        # Dissimilar target: photos, grayscale at Model A's input size.
        xf, yf, _ = _flowers_arrays(shared_root(shared), [], size, seed, channels=1)
        xd, yd = _subset(xf, yf, sorted(set(yf.tolist())), d_per_class, rng)
        run("D flowers5 feature extr.", (xd, yd), **transfer)
        run("E flowers5 fine-tuned", (xd, yd), **{**transfer, **fine_tune})
    elif not flowers:
        click.echo(f"D/E skipped: {flowers_dir} not found (pass --shared)")
    click.echo(f"\n{'model':24s} {'images':>7s} {'test acc':>9s} {'wall s':>7s}")
    for label, count, accuracy, seconds in rows:
        click.echo(f"{label:24s} {count:7d} {accuracy:9.4f} {seconds:7.0f}")


if __name__ == "__main__":
    main()
