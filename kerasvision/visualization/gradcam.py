"""Grad-CAM and Grad-CAM++ class activation maps, for any layer at any depth.

`gradcam`/`gradcam_plus_plus` are pure: `(model, images, *, layer, class_index)
-> [N, H, W]` float32 heatmaps at the input size in [0, 1]. The target layer may
sit inside a nested backbone (a transfer model's MobileNetV2); it is addressed by
its name (`"out_relu"`) or qualified name (`"mobilenetv2_1.00_96/out_relu"`), and
found automatically when not given (`target_layer`).
"""

from __future__ import annotations

import numpy as np

from kerasvision.visualization._gradients import (
    as_image_batch,
    find_layer,
    last_spatial_layer,
    layer_gradients,
    normalize_max,
    resize_maps,
)
from kerasvision.visualization.plots import map_plotter

__all__ = [
    "gradcam",
    "gradcam_plus_plus",
    "overlay_heatmap",
    "plot_gradcam",
    "target_layer",
]


def target_layer(model, layer=None) -> str:
    """Qualified name of the Grad-CAM target layer of `model`.

    Args:
        model: A Keras classifier.
        layer: A layer name (plain or `"outer/inner"`) or instance to check and
            qualify. Defaults to None: the registry's `feature_layer` when
            `model.name` is a registered architecture, else the last layer with
            a spatial output of at least 2x2, searching into nested models
            (pooling layers skipped: the map before them is finer).

    Returns:
        The qualified layer name, e.g. `"block3_act2"` or
        `"mobilenetv2_1.00_96/out_relu"`.

    Raises:
        ValueError: If the layer is unknown, or no layer qualifies.

    Example:
        >>> target_layer(transfer_model)
        'mobilenetv2_1.00_96/out_relu'
    """
    if layer is not None:
        path = find_layer(model, layer)
    else:
        path = _registry_layer(model) or last_spatial_layer(model)
    return "/".join(item.name for item in path)


def _registry_layer(model):
    from kerasvision.models import MODELS

    spec = MODELS.get(model.name)
    if spec is None or not spec.feature_layer:
        return None
    try:
        return find_layer(model, spec.feature_layer)
    except ValueError:  # a non-default configuration without that layer
        return None


def _spatial_gradients(model, images, layer, class_index):
    name = target_layer(model, layer)
    activations, gradients, _ = layer_gradients(
        model, images, name, class_index=class_index
    )
    if activations.ndim != 4:
        raise ValueError(
            f"layer {name!r} outputs shape {activations.shape[1:]}, not a spatial "
            "map [H, W, C]; pick a convolutional layer"
        )
    return activations, gradients


def gradcam(model, images, *, layer=None, class_index=None) -> np.ndarray:
    """Grad-CAM (Selvaraju et al. 2017) heatmaps.

    Channel weights are the spatially averaged gradients of the class score with
    respect to the layer's activations; the map is ReLU(sum of weighted
    activations), bilinearly upsampled to the input size and divided by its
    maximum (an all-zero map means no positive evidence for the class).

    Args:
        model: A Keras classifier taking raw 0-255 pixels.
        images: `[N, H, W, C]` (or one `[H, W, C]`) raw pixels.
        layer: Target layer name (plain or `"outer/inner"`) or instance.
            Defaults to None (see `target_layer`).
        class_index: Class to explain: an int, one int per image, or None for
            each image's predicted class. Defaults to None.

    Returns:
        `[N, H, W]` float32 heatmaps in [0, 1].

    Raises:
        ValueError: If the layer is unknown or not spatial, or on a bad class
            index or image array.

    Example:
        >>> heatmaps = gradcam(model, images[:4], layer="out_relu")
    """
    images = as_image_batch(images)
    activations, gradients = _spatial_gradients(model, images, layer, class_index)
    weights = gradients.mean(axis=(1, 2), keepdims=True)
    cams = np.maximum((weights * activations).sum(axis=-1), 0.0)
    return normalize_max(resize_maps(cams, images.shape[1:3]))


def gradcam_plus_plus(model, images, *, layer=None, class_index=None) -> np.ndarray:
    """Grad-CAM++ (Chattopadhay et al. 2018) heatmaps.

    With `g` the gradient of the class score and `A` the activations, the
    pixel-wise weights are `alpha = g^2 / (2 g^2 + sum_ij(A) g^3)` (the paper's
    closed form for an exponential score, whose higher derivatives are powers
    of `g`; `alpha = 0` where `g = 0`), the channel weights are
    `w = sum_ij(alpha * ReLU(g))`, and the map is ReLU(sum_k w_k A_k). The
    paper's `exp(score)` factor scales every weight of an image equally, so it is
    left out (it overflows for large logits) and the normalization removes it.

    Arguments, return value and errors are those of `gradcam`.

    Example:
        >>> heatmaps = gradcam_plus_plus(model, images[:4])
    """
    images = as_image_batch(images)
    activations, gradients = _spatial_gradients(model, images, layer, class_index)
    activations = activations.astype("float64")
    gradients = gradients.astype("float64")
    squared = gradients**2
    cubed = squared * gradients
    totals = activations.sum(axis=(1, 2), keepdims=True)
    denominator = 2.0 * squared + totals * cubed
    alphas = np.divide(
        squared,
        denominator,
        out=np.zeros_like(squared),
        where=(squared != 0) & (denominator != 0),
    )
    weights = (alphas * np.maximum(gradients, 0.0)).sum(axis=(1, 2), keepdims=True)
    cams = np.maximum((weights * activations).sum(axis=-1), 0.0)
    return normalize_max(resize_maps(cams.astype("float32"), images.shape[1:3]))


def overlay_heatmap(image, heatmap, alpha: float = 0.4, *, cmap: str = "jet"):
    """Blend a heatmap, colored with a colormap, over an image.

    Args:
        image: `[H, W]`, `[H, W, 1]` or `[H, W, 3]` raw 0-255 pixels.
        heatmap: `[h, w]` values in [0, 1]; resized (bilinear) to the image size.
        alpha: Opacity of the colored heatmap. Defaults to 0.4.
        cmap: Matplotlib colormap name. Defaults to "jet".

    Returns:
        `[H, W, 3]` uint8 RGB image.

    Raises:
        ValueError: If `alpha` is outside [0, 1] or the arrays have bad shapes.

    Example:
        >>> rgb = overlay_heatmap(images[0], gradcam(model, images[:1])[0])
    """
    import matplotlib
    from PIL import Image

    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    image = np.asarray(image, dtype="float32")
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    if image.ndim != 3 or image.shape[-1] not in (3, 4):
        raise ValueError(f"image must be [H, W], [H, W, 1|3], got {image.shape}")
    image = image[..., :3]
    heatmap = np.asarray(heatmap, dtype="float32")
    if heatmap.ndim != 2:
        raise ValueError(f"heatmap must be [H, W], got shape {heatmap.shape}")
    height, width = image.shape[:2]
    if heatmap.shape != (height, width):
        resized = Image.fromarray(heatmap).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        heatmap = np.asarray(resized)
    colors = matplotlib.colormaps[cmap](np.clip(heatmap, 0.0, 1.0))[..., :3] * 255.0
    blended = (1.0 - alpha) * np.clip(image, 0, 255) + alpha * colors
    return np.clip(np.round(blended), 0, 255).astype("uint8")


plot_gradcam = map_plotter("plot_gradcam", "heatmap", "jet", 0.4, "Grad-CAM heatmap")
