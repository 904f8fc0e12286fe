"""Input-pipeline benchmark: `kerasvision.fit` on a JPEG folder vs the compute ceiling.

Uses ../shared/data/flowers5 (4,064 real JPEG photos; override with --data, --shared
or the KERASVISION_SHARED environment variable). Three trainings of the same model
(same initial weights, batch size and epochs) are timed in one process:

1. `kerasvision.fit` on the JPEG folder (decode + resize in tf.data, cache, prefetch);
   images/s from its own timing of each epoch's training pass (validation and the
   up-front bad-file scan are reported apart, as the other two do neither).
2. Compute ceiling: the same images pre-decoded into one in-memory uint8 tensor,
   fed by `from_tensor_slices` -> shuffle -> batch -> prefetch.
3. The keras.io tutorial pipeline: `image_dataset_from_directory` without cache or
   prefetch.

Printed ratios: fit / ceiling (goal >= 0.95) and fit / tutorial (goal >= 1.0), over
all epochs and over epochs 2+ (steady state, after the decode cache is filled).
"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time

import click


def _shared_root(shared):
    if shared:
        return shared
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get(
        "KERASVISION_SHARED", os.path.join(here, "..", "..", "shared")
    )


class _Timer:
    def __init__(self):
        import keras

        class Callback(keras.callbacks.Callback):
            def __init__(self):
                super().__init__()
                self.seconds = []

            def on_epoch_begin(self, epoch, logs=None):
                self._start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                self.seconds.append(time.perf_counter() - self._start)

        self.callback = Callback()


def _rates(count, seconds):
    overall = count * len(seconds) / sum(seconds)
    steady = count / statistics.median(seconds[1:]) if len(seconds) > 1 else overall
    return overall, steady


@click.command()
@click.option(
    "--data",
    type=click.Path(exists=True, file_okay=False),
    help="JPEG folder (default: SHARED/data/flowers5).",
)
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--image-size", default=64, show_default=True)
@click.option("--epochs", default=4, show_default=True)
@click.option("--batch-size", default=32, show_default=True)
@click.option("--seed", default=0, show_default=True)
def main(data, shared, image_size, epochs, batch_size, seed):
    """Benchmark the input pipeline (needs ../shared/data/flowers5 or --data)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import keras
    import numpy as np
    import tensorflow as tf

    import kerasvision
    from kerasvision.data import load_image_folder
    from kerasvision.models import build_model

    data = data or os.path.join(_shared_root(shared), "data", "flowers5")
    if not os.path.isdir(data):
        raise click.UsageError(
            f"data folder not found: {data} (pass --data or --shared)"
        )
    size = (image_size, image_size)
    print(
        f"data {data}; {image_size}x{image_size}; batch {batch_size}; "
        f"{epochs} epochs; {os.cpu_count()} CPUs; TF {tf.__version__}"
    )

    start = time.perf_counter()
    image_data = load_image_folder(data, image_size=size, seed=seed)
    scan_seconds = time.perf_counter() - start
    train = image_data.splits["train"]
    count = len(train)
    print(
        f"scan + check of {sum(len(s) for s in image_data.splits.values())} files: "
        f"{scan_seconds:.1f}s ({len(image_data.bad_files)} bad)"
    )

    # 1. kerasvision.fit on the JPEG folder.
    with tempfile.TemporaryDirectory() as runs:
        result = kerasvision.fit(
            image_data,
            image_size=size,
            epochs=epochs,
            batch_size=batch_size,
            seed=seed,
            output=os.path.join(runs, "run"),
            export=False,
            verbose=0,
            val_split=0.1,
            test_split=0.1,
        )
    fit_overall, fit_steady = _rates(count, result.train_epoch_seconds)

    # 2. Ceiling: the same decoded images, already in memory.
    decoded = np.concatenate(
        [
            batch.numpy().astype("uint8")
            for batch in image_data.dataset(
                "train", batch_size=256, shuffle=False, include_labels=False
            )
        ]
    )
    labels = train.labels

    def fresh_model():
        keras.utils.set_random_seed(seed)
        model = build_model(
            "bipyramidal_cnn", image_data.input_shape, image_data.num_classes
        )
        model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
        return model

    memory = (
        tf.data.Dataset.from_tensor_slices((decoded, labels))
        .shuffle(count, seed=seed)
        .map(lambda x, y: (tf.cast(x, tf.float32), y))
        .batch(batch_size)
        .prefetch(tf.data.AUTOTUNE)
    )
    timer = _Timer()
    fresh_model().fit(
        memory, epochs=epochs, verbose=0, callbacks=[timer.callback], shuffle=False
    )
    ceiling_overall, ceiling_steady = _rates(count, timer.callback.seconds)

    # 3. keras.io tutorial pipeline (all files of the folder, no cache/prefetch):
    # it trains on its own 80% subset; rates are per image, so sizes may differ.
    tutorial = keras.utils.image_dataset_from_directory(
        data,
        validation_split=0.2,
        subset="training",
        seed=seed,
        image_size=size,
        batch_size=batch_size,
        verbose=False,
    )
    tutorial_count = len(tutorial.file_paths)
    timer = _Timer()
    fresh_model().fit(
        tutorial, epochs=epochs, verbose=0, callbacks=[timer.callback], shuffle=False
    )
    tutorial_overall, tutorial_steady = _rates(tutorial_count, timer.callback.seconds)

    print(f"{'pipeline':34s} {'img/s all epochs':>16s} {'img/s epochs 2+':>16s}")
    for name, overall, steady in (
        ("kerasvision fit (JPEG folder)", fit_overall, fit_steady),
        ("ceiling (decoded, in memory)", ceiling_overall, ceiling_steady),
        ("keras.io tutorial pipeline", tutorial_overall, tutorial_steady),
    ):
        print(f"{name:34s} {overall:16.1f} {steady:16.1f}")
    print(
        f"fit / ceiling:  {fit_overall / ceiling_overall:.3f} (all epochs), "
        f"{fit_steady / ceiling_steady:.3f} (epochs 2+)  goal >= 0.95"
    )
    print(
        f"fit / tutorial: {fit_overall / tutorial_overall:.3f} (all epochs), "
        f"{fit_steady / tutorial_steady:.3f} (epochs 2+)  goal >= 1.0"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
