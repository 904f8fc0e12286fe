"""What TensorFlow op determinism (kerasvision's default) costs in training speed.

kerasvision keeps op determinism on so that a seed repeats a run exactly on CPU
(`--no-deterministic` turns it off). This times a plain Keras `model.fit` epoch
with and without it, and with Keras's XLA choice (`jit_compile="auto"`) and
without XLA, on the same model, random data and batch size: each variant in
its own process (determinism is process-wide), one after the other. Needs
nothing outside the repository (random weights and images).

Rows: MobileNetV2 at 224 px, every layer trained (batch 32, 256 images); the
default scratch CNN at 64 px (batch 32, 1,024 images).

Example:
    python benchmarks/determinism.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import click

VARIANTS = (("auto", False), ("auto", True), ("none", False), ("none", True))


def _measure(model_name: str, jit: str, deterministic: bool) -> float:
    """images/s of the second `fit` epoch (the first traces) in this process."""
    import numpy as np
    import tensorflow as tf

    if deterministic:
        tf.config.experimental.enable_op_determinism()
    import keras

    keras.utils.set_random_seed(0)
    if model_name == "mobilenet_v2":
        size, count = 224, 128
        base = keras.applications.MobileNetV2(
            input_shape=(size, size, 3), include_top=False, weights=None,
            pooling="avg",
        )  # fmt: skip
        inputs = keras.Input((size, size, 3))
        model = keras.Model(inputs, keras.layers.Dense(5)(base(inputs)))
    else:
        from kerasvision.config.recipes import get_recipe
        from kerasvision.models import build_model

        size, count = 64, 1024
        kwargs = get_recipe("scratch").architecture((size, size, 3), {})
        model = build_model("bipyramidal_cnn", (size, size, 3), 5, **kwargs)
    model.compile(
        keras.optimizers.Adam(1e-4),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        jit_compile="auto" if jit == "auto" else False,
    )
    rng = np.random.default_rng(0)
    low, high = (-1, 1) if model_name == "mobilenet_v2" else (0, 255)  # its input
    images = rng.uniform(low, high, (count, size, size, 3)).astype("float32")
    labels = rng.integers(0, 5, count)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32).cache()
    model.fit(data, epochs=1, verbose=0)
    tick = time.perf_counter()
    model.fit(data, epochs=1, verbose=0)
    speed = count / (time.perf_counter() - tick)
    from tensorflow.python.framework import config as tf_config

    xla = bool(model.jit_compile)
    return speed, xla, bool(tf_config.is_op_determinism_enabled())


@click.command()
@click.option("--models", default="mobilenet_v2,scratch", show_default=True)
@click.option("--one", default=None, hidden=True)
def main(models, one):
    """Training images/s with and without op determinism and XLA (no ../shared)."""
    if one:  # a child process: one measurement, printed as JSON
        model_name, jit, deterministic = json.loads(one)
        print(json.dumps(_measure(model_name, jit, deterministic)))
        return
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    print("| model | jit_compile | op determinism | images/s | vs deterministic |")
    print("|---|---|---|---|---|")
    for model_name in models.split(","):
        found = {}
        for jit, deterministic in VARIANTS:
            spec = json.dumps([model_name, jit, deterministic])
            output = subprocess.run(
                [sys.executable, __file__, "--one", spec], env=env, check=True,
                capture_output=True, text=True,
            ).stdout  # fmt: skip
            found[jit, deterministic] = json.loads(output.strip().splitlines()[-1])
        for (jit, _), (speed, xla, on) in found.items():
            ratio = speed / found[jit, True][0]
            print(f"| {model_name} | {jit} (XLA {'used' if xla else 'not used'}) | "
                  f"{'on' if on else 'off'} | {speed:.1f} | {ratio:.2f}x |",
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
