"""Distances between images in pixel space and in a trained run's feature space.

The lectures' point: in pixel space two different 4s can be farther apart than
a 4 and a 9, while in the feature space a trained classifier learned, images of
one class sit together. `embed` measures both for the same images;
`format_distances` prints the two matrices side by side.
"""

from __future__ import annotations

import numpy as np

__all__ = ["embed", "feature_model", "format_distances", "pairwise_distances"]


def pairwise_distances(vectors) -> np.ndarray:
    """Euclidean distances between the rows of `vectors` `[N, D]`: `[N, N]`.

    Example:
        >>> pairwise_distances([[0, 0], [3, 4]]).tolist()
        [[0.0, 5.0], [5.0, 0.0]]
    """
    vectors = np.asarray(vectors, dtype="float64").reshape(len(vectors), -1)
    squared = np.sum(vectors**2, axis=1)
    gram = vectors @ vectors.T
    distances = np.sqrt(np.maximum(squared[:, None] + squared[None, :] - 2 * gram, 0))
    np.fill_diagonal(distances, 0.0)
    return distances


def feature_model(model, layer: str | None = None):
    """The model from raw pixels to a feature space: `(model, layer name)`.

    Args:
        model: A kerasvision classifier (raw 0-255 pixels in).
        layer: A layer name; None takes the input of the `predictions` layer,
            the space the classifier separates linearly (after pooling, the
            dense layers and dropout, which is off at inference). Defaults to
            None.

    Raises:
        ValueError: If the layer does not exist.
    """
    import keras

    if layer is None:
        predictions = model.get_layer("predictions")
        tensor = predictions.input
        layer = _producer(model, tensor) or "predictions (its input)"
    else:
        try:
            tensor = model.get_layer(layer).output
        except ValueError:
            names = ", ".join(ly.name for ly in model.layers[-8:])
            raise ValueError(
                f"model {model.name!r} has no layer {layer!r} (its last layers: "
                f"{names})"
            ) from None
    return keras.Model(model.inputs[0], tensor, name="features"), layer


def _producer(model, tensor) -> str | None:
    for candidate in reversed(model.layers):
        try:
            if candidate.output is tensor:
                return candidate.name
        except (AttributeError, ValueError):
            continue
    return None


def embed(run_dir, images, *, layer: str | None = None, batch_size: int = 64) -> dict:
    """Pairwise distances of images in pixel space and in a run's feature space.

    Files are decoded and resized as the run's training data. Pixel space is the
    image the model sees (scaled to 0-1, flattened); feature space is the
    output of `layer` (by default the input of `predictions`) for a classifier
    run, or the code of an autoencoder run.

    Args:
        run_dir: A finished run directory.
        images: Image file(s) and/or folder(s) (at least two images).
        layer: A layer of the run's model; None for the default (see above).
            Defaults to None.
        batch_size: Prediction batch size. Defaults to 64.

    Returns:
        A dict: `paths`, `layer`, `dims` (of the feature vectors),
        `pixel_distances` and `feature_distances` (`[N, N]` arrays), and for
        a classifier `predicted` (each image's class).

    Raises:
        FileNotFoundError: If the run or an image does not exist.
        ValueError: On fewer than two images or an unknown layer.

    Example:
        >>> result = embed("saved_models/digits", ["four_a.png", "four_b.png",
        ...                                        "nine.png"])
        >>> print(format_distances(result))
    """
    from kerasvision.reuse import load_encoder, predict_in_batches
    from kerasvision.runs import load_run

    run = load_run(run_dir)
    paths, pixels = run.load_images(images)
    if len(paths) < 2:
        raise ValueError(f"give at least two images to compare, got {len(paths)}")
    predicted = None
    if run.kind == "autoencoder":
        if layer is not None:
            raise ValueError(
                "--layer is for classifier runs (an autoencoder: its code)"
            )
        features_of, layer = load_encoder(run, spatial=False)[0], "code"
    else:
        from kerasvision.models.heads import strip_auxiliary_heads

        model = strip_auxiliary_heads(run.model)
        features_of, layer = feature_model(model, layer)
        labels = _labels(predict_in_batches(model, pixels, batch_size))
        predicted = [run.class_names[int(i)] for i in labels]
    features = predict_in_batches(features_of, pixels, batch_size)
    features = features.reshape(len(features), -1)
    return {
        "paths": paths,
        "layer": layer,
        "dims": int(features.shape[1]),
        "pixel_distances": pairwise_distances(pixels / 255.0),
        "feature_distances": pairwise_distances(features),
        "predicted": predicted,
    }


def _labels(outputs) -> np.ndarray:
    outputs = np.asarray(outputs)
    if outputs.shape[-1] == 1:  # one sigmoid unit
        return (outputs[:, 0] >= 0.5).astype("int64")
    return outputs.argmax(axis=-1)


def format_distances(result: dict) -> str:
    """Both distance matrices as text, and each image's nearest neighbour.

    Example:
        >>> print(format_distances(embed(run, images)))  # doctest: +SKIP
    """
    import os

    names = [os.path.basename(path) for path in result["paths"]]
    if result.get("predicted"):
        names = [f"{n} ({c})" for n, c in zip(names, result["predicted"], strict=True)]
    width = max(8, *(len(name) for name in names)) + 1
    lines = []
    titles = (
        ("pixel_distances", "pixel space (0-1 pixels, euclidean)"),
        (
            "feature_distances",
            f"feature space ({result['layer']}, {result['dims']} dims, euclidean)",
        ),
    )
    for key, title in titles:
        matrix = result[key]
        lines.append(f"{title}:")
        lines.append(" " * width + "".join(f"{i + 1:>10d}" for i in range(len(names))))
        for index, name in enumerate(names):
            row = "".join(f"{value:10.3f}" for value in matrix[index])
            lines.append(f"{index + 1:>2d} {name:<{width - 3}}{row}")
        lines.append("")
    lines.append("nearest image (pixels -> features):")
    for index, name in enumerate(names):
        nearest = [_nearest(result[key], index) for key, _ in titles]
        lines.append(f"  {name}: {names[nearest[0]]} -> {names[nearest[1]]}")
    return "\n".join(lines)


def _nearest(matrix, index: int) -> int:
    row = np.array(matrix[index], dtype="float64")
    row[index] = np.inf
    return int(np.argmin(row))
