"""MLP vs CNN on digits: parameters, accuracy, and accuracy on shifted digits.

Trains the `mlp` registry model (flatten -> dense 256-128) and the bipyramidal
CNN on the built-in digits (offline) at --image-size, then evaluates both on the
same test images and on those images translated by --shift pixels (down and
right, zero fill). The CNN shares each filter across positions and pools, so a
shift changes its input much less than it changes the MLP's, which has one weight
per pixel.

Example:
    python apps/mlp_vs_cnn.py
"""

from __future__ import annotations

import os
import time

import click
import numpy as np

import kerasvision

MODELS = (
    ("mlp", {}),
    ("bipyramidal_cnn", {"filters": (16, 32), "batch_norm": True}),
)


def translate(images, shift: int):
    """Images `[N, H, W, C]` moved `shift` pixels down and right, zeros entering."""
    moved = np.zeros_like(images)
    moved[:, shift:, shift:, :] = images[:, : images.shape[1] - shift, : -shift or None]
    return moved


def test_split(result):
    """The run's test split as resized raw-pixel arrays and integer labels."""
    batches = list(result.data.dataset("test", batch_size=256, shuffle=False))
    images = np.concatenate([np.asarray(x) for x, _ in batches])
    labels = np.concatenate([np.asarray(y) for _, y in batches])
    return images, labels


@click.command()
@click.option("--image-size", default=16, show_default=True)
@click.option("--shift", default=2, show_default=True, help="Translation in pixels.")
@click.option("--epochs", default=20, show_default=True)
@click.option("--seed", default=0, show_default=True)
@click.option("--output", default="saved_models", show_default=True)
def main(image_size, shift, epochs, seed, output):
    """Train an MLP and a CNN on digits; compare them on shifted test digits."""
    rows = []
    for name, model_kwargs in MODELS:
        start = time.perf_counter()
        result = kerasvision.fit(
            dataset="digits",
            model=name,
            model_kwargs=model_kwargs,
            image_size=image_size,
            epochs=epochs,
            seed=seed,
            overwrite=True,
            export=False,
            output=os.path.join(output, f"mlp_vs_cnn-{name}"),
        )
        seconds = time.perf_counter() - start
        images, labels = test_split(result)
        shifted = result.model.predict(translate(images, shift), verbose=0)
        shifted_accuracy = float(np.mean(np.argmax(shifted, axis=1) == labels))
        rows.append(
            (
                name,
                result.model.count_params(),
                result.metrics["accuracy"],
                shifted_accuracy,
                seconds,
            )
        )
    click.echo(f"\ndigits at {image_size}x{image_size}, test images shifted {shift} px")
    click.echo(
        f"{'model':16s} {'params':>8s} {'test acc':>9s} {'shifted':>8s} {'wall s':>7s}"
    )
    for name, params, accuracy, shifted_accuracy, seconds in rows:
        click.echo(
            f"{name:16s} {params:8,d} {accuracy:9.4f} {shifted_accuracy:8.4f} "
            f"{seconds:7.0f}"
        )


if __name__ == "__main__":
    main()
