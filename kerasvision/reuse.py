"""Reusing trained runs: Model A and encoders as backbones, and `encode`.

`load_backbone(path)` turns a kerasvision classifier (a run directory or a
`.keras` file: "Model A") or an autoencoder run into a backbone taking raw 0-255
pixels and ending at its feature layer, for `fit(backbone=PATH)` and
`build_transfer_classifier`. `load_encoder` and `encode` give an autoencoder
run's codes.
"""

from __future__ import annotations

import os

import numpy as np

__all__ = ["encode", "load_backbone", "load_encoder"]


def load_backbone(path):
    """A trained kerasvision model cut at its feature layer, as a backbone.

    Args:
        path: A classifier run directory or `.keras` file (Model A, cut at the
            run's recorded feature layer, else its last spatial map of at least
            2x2), or an autoencoder run directory (its encoder up to the last
            spatial map, see `load_encoder`).

    Returns:
        `(backbone, feature_layer)`: a functional `keras.Model` taking raw 0-255
        pixels, named "model_a" (a classifier) or "encoder" (an autoencoder run:
        `build_transfer_classifier` then flattens and standardizes its code),
        and the name of its last (feature) layer.

    Raises:
        FileNotFoundError: If the path does not exist.
        ValueError: If it is not a kerasvision model.

    Example:
        >>> backbone, layer = load_backbone("saved_models/digits-cnn")
        >>> model = build_transfer_classifier(backbone, 5)
    """
    import keras

    from kerasvision.models import find_feature_layer
    from kerasvision.models.transfer import ENCODER_BACKBONE
    from kerasvision.runs import load_run
    from kerasvision.saving import load_model

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"backbone model not found: {path}")
    feature = None
    if os.path.isdir(path):
        run = load_run(path)
        if run.kind == "autoencoder":
            encoder, info = load_encoder(run)
            backbone = keras.Model(
                encoder.inputs[0], encoder.outputs[0], name=ENCODER_BACKBONE
            )
            return backbone, info["feature_layer"]
        model = run.model
        feature = run.info.get("model", {}).get("feature_layer")
    else:
        try:
            model = load_model(path, compile=False)
        except Exception as error:  # Keras raises ValueError/OSError/TypeError
            raise ValueError(f"cannot load backbone model {path}: {error}") from None
    if feature not in {layer.name for layer in model.layers}:
        feature = find_feature_layer(model)
    layer = model.get_layer(feature)
    if isinstance(layer, keras.Model):  # a transfer run: cut after its backbone
        return _through_nested(model, layer), feature
    backbone = keras.Model(model.inputs[0], layer.output, name="model_a")
    return backbone, feature


def _through_nested(model, nested):
    """Model A ending at a nested backbone's output.

    A nested model's `.output` is its own inner graph's tensor, not the one in
    `model`'s graph, so the top-level layers up to it are called again on a new
    input (a transfer classifier is a chain: image, preprocessing, backbone).
    """
    import keras

    inputs = keras.Input(shape=model.input_shape[1:], name="image")
    x = inputs
    for layer in model.layers[1 : model.layers.index(nested) + 1]:
        x = layer(x)
    return keras.Model(inputs, x, name="model_a")


def load_encoder(run_dir, *, spatial: bool = True):
    """The encoder of an autoencoder run, taking raw 0-255 pixels.

    With `spatial=True` (the default, for `--backbone RUN_DIR`) it returns a
    spatial feature map `[B, h, w, c]`: the code itself when the latent is
    spatial; for a dense latent (and the VAE) the last spatial encoder layer
    before `enc_flatten`; for a segmentation run the U-Net bottleneck. With
    `spatial=False` it returns the code (`[B, D]` dense, or the spatial map; the
    VAE's `z_mean`).

    Args:
        run_dir: A finished autoencoder run directory (or a loaded `Run`).
        spatial: Return the last spatial feature map. Defaults to True.

    Returns:
        `(encoder, info)`: a functional model `image -> rescaling -> encoder`, and
        a dict with `task`, `feature_layer` (inside the nested encoder),
        `spatial`, `output_shape`, `input_shape`, `latent_dim`, `class_names`,
        `image_size`, `channels`, `resize` and `run_dir`.

    Raises:
        FileNotFoundError: If the run does not exist.
        ValueError: If it is not an autoencoder run, or a dense autoencoder asked
            for a spatial map.

    Example:
        >>> encoder, info = load_encoder("saved_models/autoencoder-digits-...")
        >>> info["feature_layer"], encoder.output_shape
    """
    from kerasvision.models.autoencoders import extract_encoder
    from kerasvision.runs import load_run

    run = load_run(run_dir)
    if run.kind != "autoencoder":
        raise ValueError(
            f"{run.path} is not an autoencoder run (run.json has no "
            f'"kind": "autoencoder")'
        )
    encoder, feature = extract_encoder(run.model, spatial=spatial)
    shape = list(encoder.output_shape[1:])
    return encoder, {
        "run_dir": run.path,
        "task": run.info.get("task"),
        "feature_layer": feature,
        "spatial": len(shape) == 3,
        "output_shape": shape,
        "input_shape": list(encoder.input_shape[1:]),
        "latent_dim": run.info.get("latent_dim"),
        "class_names": run.class_names,
        "image_size": list(run.image_size),
        "channels": run.channels,
        "resize": run.resize,
    }


def predict_in_batches(model, images, batch_size: int = 256) -> np.ndarray:
    """Inference-mode outputs in batches (eager calls: no retracing per shape)."""
    images = np.asarray(images, dtype="float32")
    outputs = [
        np.asarray(model(images[start : start + batch_size], training=False))
        for start in range(0, len(images), batch_size)
    ]
    return np.concatenate(outputs)


def _dataset_pixels(name: str, run) -> tuple[list[str], np.ndarray]:
    """Every image of a built-in dataset, at the run's size and channels."""
    from kerasvision.data.sources import load_builtin_dataset

    data = load_builtin_dataset(
        name, image_size=run.image_size, channels=run.channels, val_split=0.0,
        test_split=0.0,
    )  # fmt: skip
    pixels = np.concatenate(
        [np.asarray(b) for b in data.dataset("train", shuffle=False,
                                              include_labels=False)]
    )  # fmt: skip
    order = data.splits["train"].indices
    return [f"{name}:{i}" for i in order], pixels


def encode(
    run_dir, images=None, *, dataset=None, output=None, batch_size: int = 64
) -> np.ndarray:
    """Latent vectors of images with a run's encoder.

    Files are decoded and resized like the run's training data. Spatial codes are
    flattened (row-major, channels last), so every image gives one vector.

    Args:
        run_dir: A finished autoencoder run directory.
        images: Image file(s) and/or folder(s) (searched recursively), or raw
            0-255 pixels `[N, H, W, C]` at the run's size. Defaults to None.
        dataset: A built-in dataset name: encode all its images (in dataset
            order; their `path` is "NAME:INDEX"). Defaults to None.
        output: Write the vectors to a `.npy` file (the array) or a `.csv` file
            (a `path` column, then `z0..z{D-1}`). Defaults to None (no file).
        batch_size: Prediction batch size. Defaults to 64.

    Returns:
        float32 `[N, D]` latent vectors, in the order of the (sorted) files.

    Raises:
        FileNotFoundError: If the run or an image does not exist.
        ValueError: On an output that is not `.npy`/`.csv`, an undecodable image,
            or arrays of the wrong shape.

    Example:
        >>> vectors = encode("saved_models/ae-digits", ["new/"], output="z.csv")
    """
    from kerasvision.runs import load_run

    if output is not None and not os.fspath(output).lower().endswith((".npy", ".csv")):
        raise ValueError(f"output must end with .npy or .csv, got {output}")
    run = load_run(run_dir)
    encoder, info = load_encoder(run, spatial=False)
    shape = tuple(info["input_shape"])
    if (images is None) == (dataset is None):
        raise ValueError("give images to encode or --dataset NAME (one of them)")
    if dataset is not None:
        paths, pixels = _dataset_pixels(dataset, run)
    elif isinstance(images, np.ndarray):
        pixels = images.astype("float32")
        if pixels.ndim == 3:
            pixels = pixels[None]
        if pixels.shape[1:] != shape:
            raise ValueError(
                f"images must be [N, {', '.join(map(str, shape))}] raw pixels, got "
                f"{pixels.shape}"
            )
        paths = [str(i) for i in range(len(pixels))]
    else:
        paths, pixels = run.load_images(images)
    vectors = predict_in_batches(encoder, pixels, batch_size)
    vectors = vectors.reshape(len(vectors), -1).astype("float32")
    if output is not None:
        _write_vectors(os.path.abspath(os.fspath(output)), paths, vectors)
    return vectors


def _write_vectors(path: str, paths, vectors) -> None:
    from kerasvision._files import staged_file, write_text

    if path.lower().endswith(".npy"):
        with staged_file(path, suffix=".npy", prefix=".tmp-") as temp:
            np.save(temp, vectors)
        return
    header = "path," + ",".join(f"z{i}" for i in range(vectors.shape[1]))
    lines = [header] + [
        f'"{name}",' + ",".join(f"{v:.7g}" for v in row)
        for name, row in zip(paths, vectors, strict=True)
    ]
    write_text(path, "\n".join(lines) + "\n")
