"""TFLite metadata for MediaPipe Tasks and ML Kit, and the MediaPipe check.

A bare float LiteRT model is refused by MediaPipe Tasks' `ImageClassifier`
("Input tensor has type float32: it requires specifying NormalizationOptions
metadata"). `add_metadata` writes, with MediaPipe's own metadata writers
(`mediapipe.tasks.python.metadata.metadata_writers`, the optional extra
`kerasvision[mediapipe]`): the task (image classifier), the input
normalization (mean 0, std 1: the model's rescaling is in its graph, so it
takes raw 0-255 RGB pixels), the label file (embedded, one class per line),
and name, description, version and author. `mediapipe_top1` loads the file in
MediaPipe Tasks' Python `ImageClassifier`, as an app on Android, iOS, the web
or Python would, and returns its top-1 class of each image.

The writers need one compiled module that current mediapipe wheels no longer
ship; `kerasvision.export._metadata_version` provides it (see there).
"""

from __future__ import annotations

import numpy as np

from kerasvision.export.core import ExportError, one_line

__all__ = [
    "METADATA_EXTRA",
    "METADATA_PACKAGES",
    "MEDIAPIPE_AGREEMENT",
    "add_metadata",
    "metadata_missing",
    "mediapipe_top1",
    "read_metadata",
]

#: The pip extra of the metadata writers and MediaPipe Tasks.
METADATA_EXTRA = "mediapipe"
METADATA_PACKAGES = (
    "mediapipe.tasks.python.metadata.metadata_writers",
    "mediapipe.tasks.python.vision",
)
#: Smallest top-1 agreement of MediaPipe's `ImageClassifier` with Keras on the
#: run's test split, per quantization (float exports vs quantized ones).
MEDIAPIPE_AGREEMENT = {"none": 0.99, "float16": 0.99, "dynamic": 0.98, "int8": 0.98}
#: What an app is told the model does (the metadata's description).
_DESCRIPTION = (
    "Image classifier trained with kerasvision: one of {count} classes for the "
    "whole image ({names}). Input: an RGB image (resized to {height}x{width} "
    "by the runtime), raw 0-255 pixels (normalization mean 0, std 1: the "
    "rescaling is in the graph{gray}). Output: calibrated class probabilities."
)


def metadata_missing() -> str | None:
    """None when the metadata writers and MediaPipe Tasks import, else the one
    line that names the extra to install."""
    try:
        _writers()
        from mediapipe.tasks.python.vision import image_classifier  # noqa: F401
    except ImportError as error:
        return (
            f"no MediaPipe metadata written ({one_line(error)}): pip install "
            f"'kerasvision[{METADATA_EXTRA}]'"
        )
    return None


def _writers():
    """`(metadata_writer, metadata_info)` of mediapipe, after the workaround."""
    import mediapipe  # noqa: F401  (ImportError when the extra is missing)

    from kerasvision.export._metadata_version import install

    install()
    from mediapipe.tasks.python.metadata.metadata_writers import (
        metadata_info,
        metadata_writer,
    )

    return metadata_writer, metadata_info


def add_metadata(
    content: bytes,
    *,
    class_names,
    name: str,
    version: str,
    author: str,
    input_shape,
    gray: bool = False,
) -> bytes:
    """`content` (a LiteRT flatbuffer) with image-classifier TFLite metadata.

    Args:
        content: The `.tflite` bytes: one float32 `[1, H, W, 3]` RGB input of
            raw 0-255 pixels, one `[1, K]` probabilities output.
        class_names: The K class names in output order (the embedded
            `labels.txt`).
        name: The model's name.
        version: The model's version (the run and its date).
        author: Who made it.
        input_shape: `(H, W, C)` the model was trained on.
        gray: The graph turns RGB into gray first (a grayscale model). Defaults
            to False.

    Returns:
        The model bytes with the metadata and the label file inside.

    Raises:
        ImportError: If mediapipe is not installed (`metadata_missing`).
        ExportError: If the writers refuse the model.
    """
    metadata_writer, metadata_info = _writers()
    height, width = int(input_shape[0]), int(input_shape[1])
    description = _DESCRIPTION.format(
        count=len(class_names),
        names=", ".join(class_names[:20]) + (", ..." if len(class_names) > 20 else ""),
        height=height,
        width=width,
        gray=", which also turns RGB into gray (ITU-R 601)" if gray else "",
    )
    general = metadata_info.GeneralMd(
        name=name, version=version, description=description, author=author
    )

    class Writer(metadata_writer.MetadataWriter):
        """The generic writer with version and author too (its
        `add_general_info` takes a name and a description only)."""

        def __init__(self, buffer):
            super().__init__(buffer)
            self._general_md = general

    try:
        written, _ = (
            Writer(bytearray(content))
            .add_image_input([0.0], [1.0])
            .add_classification_output(metadata_writer.Labels().add(list(class_names)))
            .populate()
        )
    except Exception as error:  # the writers raise many types
        raise ExportError(
            f"MediaPipe metadata writer failed: {one_line(error)}"
        ) from error
    return bytes(written)


def read_metadata(path) -> dict:
    """The TFLite metadata of the model at `path`, as MediaPipe shows it (JSON).

    Raises:
        ImportError: If mediapipe is not installed.
        ValueError: If the file has no metadata.
    """
    import json

    _writers()
    from mediapipe.tasks.python.metadata import metadata

    with open(path, "rb") as stream:
        content = stream.read()
    displayer = metadata.MetadataDisplayer.with_model_buffer(content)
    info = json.loads(displayer.get_metadata_json())
    info["associated_files"] = sorted(displayer.get_packed_associated_file_list())
    return info


def mediapipe_top1(path, images, class_names) -> np.ndarray:
    """The top-1 class index of each image in MediaPipe Tasks' `ImageClassifier`.

    Args:
        path: A `.tflite` file with metadata (`add_metadata`).
        images: `[N, H, W, C]` raw 0-255 pixels, C 1 (given as RGB, each gray
            value in all three channels) or 3.
        class_names: The class names in output order: each MediaPipe category
            name (from the embedded label file) must be one.

    Returns:
        int `[N]` class indices.

    Raises:
        ExportError: If MediaPipe refuses the model, or names a category that
            is not a class of the model.
    """
    from mediapipe.tasks.python.core.base_options import BaseOptions
    from mediapipe.tasks.python.vision import image_classifier
    from mediapipe.tasks.python.vision.core.image import Image, ImageFormat

    pixels = np.clip(np.round(np.asarray(images)), 0, 255).astype(np.uint8)
    if pixels.shape[-1] == 1:
        pixels = np.repeat(pixels, 3, axis=-1)
    options = image_classifier.ImageClassifierOptions(
        base_options=BaseOptions(model_asset_path=str(path)), max_results=1
    )
    index = {name: position for position, name in enumerate(class_names)}
    found = []
    try:
        classifier = image_classifier.ImageClassifier.create_from_options(options)
    except Exception as error:  # MediaPipe raises RuntimeError/ValueError
        raise ExportError(
            f"MediaPipe ImageClassifier refuses {path}: {one_line(error)}"
        ) from error
    with classifier:
        for image in pixels:
            result = classifier.classify(
                Image(image_format=ImageFormat.SRGB, data=np.ascontiguousarray(image))
            )
            category = result.classifications[0].categories[0]
            if category.category_name not in index:
                raise ExportError(
                    f"MediaPipe names the category {category.category_name!r} "
                    f"(index {category.index}), not one of the model's classes"
                )
            found.append(index[category.category_name])
    return np.asarray(found, dtype=int)
