"""Input-gradient attribution maps: vanilla saliency, SmoothGrad, gradient x input.

Every function is pure: `(model, images, *, ...) -> [N, H, W]` float32 maps in
[0, 1] (min-max normalized per image), one per input image, at the input size.
The class score is the pre-softmax logit when the output layer allows it (see
`kerasvision.visualization._gradients`), and the class is the predicted one
unless `class_index` says otherwise.
"""

from __future__ import annotations

import numpy as np

from kerasvision.visualization._gradients import (
    as_image_batch,
    input_gradients,
    normalize_min_max,
    predict_scores,
    predicted_classes,
)
from kerasvision.visualization.plots import map_plotter

__all__ = ["gradient_x_input", "plot_saliency", "smoothgrad", "vanilla_saliency"]


def vanilla_saliency(model, images, *, class_index=None) -> np.ndarray:
    """Saliency map: max over channels of |d score / d pixel| (Simonyan et al. 2013).

    Args:
        model: A Keras classifier taking raw 0-255 pixels.
        images: `[N, H, W, C]` (or one `[H, W, C]`) raw pixels.
        class_index: Class to explain: an int, one int per image, or None for each
            image's predicted class. Defaults to None.

    Returns:
        `[N, H, W]` float32 maps in [0, 1].

    Raises:
        ValueError: On a bad image array or class index.

    Example:
        >>> maps = vanilla_saliency(model, images[:4])
        >>> maps.shape
        (4, 32, 32)
    """
    gradients, _ = input_gradients(model, images, class_index=class_index)
    return normalize_min_max(np.abs(gradients).max(axis=-1))


def smoothgrad(
    model,
    images,
    *,
    class_index=None,
    samples: int = 20,
    noise_level: float = 0.2,
    seed: int = 0,
) -> np.ndarray:
    """SmoothGrad (Smilkov et al. 2017): saliency averaged over noisy copies.

    Each image gets `samples` copies with Gaussian noise of standard deviation
    `noise_level * (max - min)` of that image (the paper's 10-20 % works best);
    the map is the mean absolute gradient, max over channels. The class is fixed
    from the clean image so every noisy copy explains the same class.

    Args:
        model: A Keras classifier taking raw 0-255 pixels.
        images: `[N, H, W, C]` (or one `[H, W, C]`) raw pixels.
        class_index: An int, one int per image, or None for each image's
            predicted class. Defaults to None.
        samples: Noisy copies per image. Defaults to 20.
        noise_level: Noise standard deviation relative to the image's value
            range. Defaults to 0.2.
        seed: Seed of the noise. Defaults to 0.

    Returns:
        `[N, H, W]` float32 maps in [0, 1].

    Raises:
        ValueError: On a bad image array, class index, `samples` < 1 or a
            negative `noise_level`.

    Example:
        >>> maps = smoothgrad(model, images[:2], samples=10, noise_level=0.15)
    """
    if int(samples) < 1:
        raise ValueError(f"samples must be >= 1, got {samples}")
    if noise_level < 0:
        raise ValueError(f"noise_level must be >= 0, got {noise_level}")
    images = as_image_batch(images)
    count = len(images)
    if class_index is None:
        classes = predicted_classes(predict_scores(model, images))
    else:
        classes = np.broadcast_to(np.asarray(class_index), (count,))
    spread = images.max(axis=(1, 2, 3)) - images.min(axis=(1, 2, 3))
    sigma = (noise_level * spread).reshape(1, count, 1, 1, 1)
    rng = np.random.default_rng(seed)
    noisy = images[None] + rng.normal(size=(int(samples), *images.shape)) * sigma
    gradients, _ = input_gradients(
        model,
        noisy.reshape(-1, *images.shape[1:]).astype("float32"),
        class_index=np.tile(classes, int(samples)),
    )
    gradients = np.abs(gradients).reshape(int(samples), *images.shape).mean(axis=0)
    return normalize_min_max(gradients.max(axis=-1))


def gradient_x_input(model, images, *, class_index=None) -> np.ndarray:
    """Gradient x input (Shrikumar et al. 2016): |sum over channels of grad * x|.

    The input is the raw 0-255 image, so the implicit baseline is a black image.
    Adebayo et al. (2018) show this map stays partly image-like for a randomized
    model (the `x` factor dominates): read it together with `vanilla_saliency`.

    Args:
        model: A Keras classifier taking raw 0-255 pixels.
        images: `[N, H, W, C]` (or one `[H, W, C]`) raw pixels.
        class_index: An int, one int per image, or None for each image's
            predicted class. Defaults to None.

    Returns:
        `[N, H, W]` float32 maps in [0, 1].

    Raises:
        ValueError: On a bad image array or class index.

    Example:
        >>> maps = gradient_x_input(model, images[:4], class_index=3)
    """
    images = as_image_batch(images)
    gradients, _ = input_gradients(model, images, class_index=class_index)
    return normalize_min_max(np.abs((gradients * images).sum(axis=-1)))


plot_saliency = map_plotter("plot_saliency", "saliency", "inferno", 0.5, "saliency map")
