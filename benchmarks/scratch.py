"""The scratch recipe's default CNN vs the one before it, by input size.

Needs ../shared (override with --shared or KERASVISION_SHARED) for the flowers5
rows. Each row trains kerasvision exactly as typed (`fit DATA --image-size S`,
`fit --dataset digits`; only the seed is given), once with today's default
model (`SCRATCH_ARCHITECTURES` in kerasvision/config/recipes.py: one
convolution per block with batch normalization, four blocks, from 48 px) and
once with the previous default (`PREVIOUS_SCRATCH_ARCHITECTURE`: the lectures'
two convolutions per block, no normalization; what runs of config_version 3
and earlier rebuild), given as `--model-arg`s. Rows (--rows):

  digits  scikit-learn's digits (8x8), on kerasvision's own test split.
  f32     flowers5 at 32 px (CIFAR-sized inputs), benchmarks/recipes.py's
          held-out 10% of each class.
  f48     flowers5 at 48 px, the same held-out images.
  f64     flowers5 at 64 px, the same held-out images (recipes.py row c).
  m28     60,000 28x28 grayscale images (the digits upscaled and repeated, as
          recipes.py row e): wall time and epochs only (the repeats put test
          images in training).

Prints one table: held-out accuracy and wall time of `fit` per row and model.

Example:
    python benchmarks/scratch.py --rows digits,f32,f64
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))

import click  # noqa: E402
import numpy as np  # noqa: E402
import recipes  # noqa: E402
from _shared import shared_root  # noqa: E402

from kerasvision.config.recipes import PREVIOUS_SCRATCH_ARCHITECTURE  # noqa: E402

#: The previous default, spelled out (no normalization was the builder default).
PREVIOUS = {**PREVIOUS_SCRATCH_ARCHITECTURE, "norm": "none"}
MODELS = {"default": {}, "previous": {"model_kwargs": PREVIOUS}}


def row_digits(flowers, work, options):
    import kerasvision

    tick = time.perf_counter()
    result = kerasvision.fit(dataset="digits", seed=0, verbose=0,
                             output=os.path.join(work, "digits"),
                             log=lambda line: None, **options)  # fmt: skip
    return result.metrics["accuracy"], time.perf_counter() - tick, result


def _flowers(size):
    def row(flowers, work, options):
        data, test = recipes._five_class_split(flowers, work)
        output = os.path.join(work, f"f{size}")
        accuracy, seconds = recipes._kerasvision(
            data, test, output, image_size=size, **options
        )
        return accuracy, seconds, None

    return row


def row_m28(flowers, work, options):
    import kerasvision
    from kerasvision.data.datasets import load_builtin

    x, y, _ = load_builtin("digits")
    x = np.asarray(recipes._upscale(x, 28), dtype="uint8")
    repeat = np.resize(np.arange(len(x)), 60000)
    tick = time.perf_counter()
    result = kerasvision.fit((x[repeat], y[repeat]), seed=0, verbose=0,
                             output=os.path.join(work, "m28"),
                             log=lambda line: None, **options)  # fmt: skip
    return result.metrics["accuracy"], time.perf_counter() - tick, result


ROWS = {"digits": row_digits, "f32": _flowers(32), "f48": _flowers(48),
        "f64": _flowers(64), "m28": row_m28}  # fmt: skip


@click.command()
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--rows", default="digits,f32,f64", show_default=True,
              help="Rows to run (digits, f32, f48, f64, m28).")  # fmt: skip
def main(shared, rows):
    """Today's default scratch CNN vs the previous one (flowers5: ../shared)."""
    root = os.path.abspath(shared_root(shared))
    flowers = os.path.join(root, "data", "flowers5")
    table = []
    with tempfile.TemporaryDirectory() as work:
        for name in rows.split(","):
            for model, options in MODELS.items():
                folder = os.path.join(work, model)
                os.makedirs(folder, exist_ok=True)
                accuracy, seconds, result = ROWS[name](flowers, folder, options)
                epochs = "" if result is None else len(result.history["loss"])
                table.append((name, model, accuracy, seconds, epochs))
                print(f"{name:6} {model:8} accuracy {accuracy:.4f} "
                      f"{seconds:7.1f} s {epochs}", flush=True)  # fmt: skip
    print("\n| row | model | held-out accuracy | fit wall time (s) | epochs |")
    print("|---|---|---|---|---|")
    for name, model, accuracy, seconds, epochs in table:
        print(f"| {name} | {model} | {accuracy:.4f} | {seconds:.0f} | {epochs} |")


if __name__ == "__main__":
    main()
