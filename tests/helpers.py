"""Checks shared by several test modules (instead of copy-paste)."""

from __future__ import annotations

import os

import numpy as np
from PIL import Image


def assert_layer_config_round_trip(layer):
    """`from_config(get_config())` rebuilds a layer with the same config."""
    config = layer.get_config()
    clone = type(layer).from_config(config)
    assert clone.get_config() == config


def assert_keras_round_trip(model, path, inputs, atol=1e-6):
    """Save as .keras, reload, and compare predictions."""
    from kerasvision.saving import load_model

    model.save(path)
    loaded = load_model(path)
    expected = model.predict(inputs, verbose=0)
    actual = loaded.predict(inputs, verbose=0)
    np.testing.assert_allclose(actual, expected, atol=atol)
    return loaded


def write_image_folder(
    root, classes=("cats", "dogs"), per_class=6, size=(20, 24), seed=0, fmt="png"
):
    """Write a small folder-per-class dataset whose classes differ by brightness."""
    rng = np.random.default_rng(seed)
    paths = []
    for index, name in enumerate(classes):
        folder = os.path.join(root, name)
        os.makedirs(folder, exist_ok=True)
        for item in range(per_class):
            base = 40 + 160 * index / max(1, len(classes) - 1)
            pixels = np.clip(base + rng.normal(0, 10, (*size, 3)), 0, 255).astype(
                "uint8"
            )
            path = os.path.join(folder, f"{name}_{item}.{fmt}")
            Image.fromarray(pixels).save(path)
            paths.append(path)
    return paths


def small_digits(per_class=12, seed=0):
    """A class-balanced subset of scikit-learn's digits as raw 0-255 uint8 images."""
    from kerasvision.data.datasets import load_builtin

    x, y, names = load_builtin("digits")
    rng = np.random.default_rng(seed)
    keep = np.concatenate(
        [
            rng.choice(np.flatnonzero(y == c), per_class, replace=False)
            for c in range(10)
        ]
    )
    keep.sort()
    return x[keep], y[keep], names
