"""How long does an epoch wait before its first batch? (tf.data autotuning on vs off)

Keras makes a new iterator of the training dataset at every epoch start and
drops the previous one; deleting it waits for the old iterator's threads,
tf.data's autotuning thread among them. This script builds kerasvision's own
training pipeline (`ImageData.dataset`, shuffled per epoch) over in-memory
28x28 images, consumes each epoch at a steady 20 ms per batch (a stand-in for
the training step, so the measurement does not depend on the model), and
times each epoch start: dropping the previous iterator plus the first batch of
the new one. Once with tf.data's autotuning model on (TensorFlow's default)
and once with kerasvision's `pipeline_options()` (model off), same data and
order. Needs nothing outside the repository.

Example:
    python benchmarks/epoch_start.py --images 54000 --epochs 10
"""

from __future__ import annotations

import gc
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click  # noqa: E402
import numpy as np  # noqa: E402


def _epoch_starts(dataset, epoch, epochs, step_seconds):
    """Seconds from dropping the previous epoch's iterator to the new one's
    first batch, per epoch (the first epoch has no previous iterator)."""
    starts, iterator = [], None
    for number in range(epochs):
        epoch.assign(number)
        tick = time.perf_counter()
        iterator = None
        gc.collect()
        iterator = iter(dataset)
        next(iterator)
        starts.append(time.perf_counter() - tick)
        for _ in iterator:
            time.sleep(step_seconds)
    return starts


@click.command()
@click.option("--images", default=54000, show_default=True, help="Training images.")
@click.option("--epochs", default=10, show_default=True, help="Epochs per setting.")
@click.option("--step-ms", default=20.0, show_default=True,
              help="Milliseconds per batch (stands in for the step).")  # fmt: skip
def main(images, epochs, step_ms):
    """Epoch-start waits of kerasvision's pipeline, tf.data autotuning on vs off."""
    import tensorflow as tf

    from kerasvision.data.epochs import epoch_variable
    from kerasvision.data.sources import from_arrays

    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (images, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, images)
    data = from_arrays(x, y, val_split=0.0, test_split=0.0, seed=0)
    epoch = epoch_variable(0)
    ours = data.dataset("train", batch_size=32, epoch=epoch)
    tensorflow_default = tf.data.Options()
    tensorflow_default.autotune.enabled = True
    settings = {
        "autotuning model on (tf.data default)": ours.with_options(tensorflow_default),
        "autotuning model off (kerasvision)": ours,
    }
    batches = int(ours.cardinality())
    print(f"{images:,} images, {batches:,} batches of 32 per epoch, {step_ms:g} ms "
          f"per batch, {epochs} epochs per setting ({os.cpu_count()} CPUs)",
          flush=True)  # fmt: skip
    rows = []
    for name, dataset in settings.items():
        enabled = dataset.options().autotune.enabled
        starts = _epoch_starts(dataset, epoch, epochs, step_ms / 1000)
        later = starts[1:]
        slow = sum(s > 2.0 for s in later)
        rows.append((name, enabled, later, slow))
        print(f"{name} (autotune.enabled={enabled}): epoch starts "
              + ", ".join(f"{s:.2f}" for s in starts) + " s", flush=True)  # fmt: skip
    print("\n| setting | epoch starts after the first: median | max | over 2 s |")
    print("|---|---|---|---|")
    for name, _, later, slow in rows:
        print(
            f"| {name} | {np.median(later):.2f} s | {max(later):.2f} s | "
            f"{slow} of {len(later)} |"
        )


if __name__ == "__main__":
    main()
