"""Input checks of the exported serving signatures, before any op that can abort.

A SavedModel signature does not check what it is fed against its declared
`TensorSpec`: a rank-3 `images` reached the first convolution, where oneDNN
aborts the whole serving process (`Check failed ... MklDnnConvUtil`), and an
empty batch failed inside oneDNN too. So every signature validates its input
first, with ops whose outputs the model's ops consume:

- `checked_pixels`: rank, shape (`EnsureShape`, checked at run time) and
  finite values (`CheckNumerics`: NaN or infinity is an error, not
  ordinary-looking probabilities);
- `checked_bytes`: a vector of encoded images;
- `call_model`: an empty batch returns an empty `[0, ...]` result without
  running the model.

Wrong dtypes are refused by the signature itself (a float32/string input);
decompression bombs by the bytes decoder (`kerasvision.data.encoded`).
"""

from __future__ import annotations

__all__ = ["call_model", "checked_bytes", "checked_pixels"]


def checked_pixels(images, shape):
    """Graph function: `images` once they are `[N, *shape]` and finite.

    Raises (when the graph runs):
        InvalidArgumentError: On another rank or shape, or NaN/infinite pixels.
    """
    import tensorflow as tf

    images = tf.ensure_shape(images, [None, *shape])
    return tf.debugging.check_numerics(
        images, "images contain NaN or infinity (pixels must be finite, 0-255)"
    )


def checked_bytes(image_bytes):
    """Graph function: `image_bytes` once it is a vector `[N]`."""
    import tensorflow as tf

    return tf.ensure_shape(image_bytes, [None])


def call_model(model, images):
    """Graph function: `model(images)`, or its empty `[0, ...]` output for an
    empty batch (which the model's kernels do not take)."""
    import tensorflow as tf

    spec = model.outputs[0]
    dims = [0 if size is None else int(size) for size in spec.shape[1:]]
    return tf.cond(
        tf.shape(images)[0] > 0,
        lambda: model(images, training=False),
        lambda: tf.zeros([0, *dims], spec.dtype),
    )
