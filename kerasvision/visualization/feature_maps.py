"""Intermediate activations ("feature maps") of any named layer, nested included."""

from __future__ import annotations

import numpy as np

from kerasvision.visualization._gradients import layer_activations

__all__ = ["feature_maps", "plot_feature_maps"]


def feature_maps(model, images, layer) -> np.ndarray:
    """The output of `layer` for `images`, at any depth of the model.

    The forward pass runs in inference mode (dropout off, batch-norm moving
    statistics) and the caller's model is not modified.

    Args:
        model: A Keras model taking raw 0-255 pixels.
        images: `[N, H, W, C]` (or one `[H, W, C]`) raw pixels.
        layer: Layer name; a layer inside a nested model (a transfer model's
            backbone) is found by its own name (`"out_relu"`) or its qualified
            name (`"mobilenetv2_1.00_96/out_relu"`).

    Returns:
        A float32 array of the layer's output shape, e.g. `[N, h, w, channels]`.

    Raises:
        ValueError: If the layer is unknown or ambiguous.

    Example:
        >>> maps = feature_maps(model, images[:1], "block1_act1")
        >>> maps.shape
        (1, 32, 32, 32)
    """
    return layer_activations(model, images, layer)


def plot_feature_maps(
    maps,
    path: str,
    *,
    image=None,
    max_channels: int = 32,
    order: str = "strongest",
    columns: int = 8,
    title: str = "",
) -> str:
    """Grid of the channels of one image's feature maps, each on its own scale.

    Args:
        maps: `[h, w, C]`, or `[N, h, w, C]` of which the first is shown.
        path: Output PNG path.
        image: The input image (raw 0-255 pixels) shown first. Defaults to None.
        max_channels: Most channels shown. Defaults to 32.
        order: "strongest" (highest mean activation first) or "index".
            Defaults to "strongest".
        columns: Panels per row. Defaults to 8.
        title: Figure title. Defaults to "".

    Returns:
        The path written.

    Raises:
        ValueError: If the maps are not spatial or `order` is unknown.

    Example:
        >>> plot_feature_maps(feature_maps(model, x[:1], "block1_act1"), "fm.png")
    """
    from kerasvision.visualization.plots import (
        _hide_axes,
        display_image,
        panel_grid,
        save_figure,
    )

    maps = np.asarray(maps, dtype="float32")
    if maps.ndim == 4:
        maps = maps[0]
    if maps.ndim != 3:
        raise ValueError(
            f"feature maps must be [h, w, C] or [N, h, w, C], got shape {maps.shape}"
        )
    if order not in ("strongest", "index"):
        raise ValueError(f"order must be 'strongest' or 'index', got {order!r}")
    channels = np.arange(maps.shape[-1])
    if order == "strongest":
        channels = np.argsort(-maps.mean(axis=(0, 1)), kind="stable")
    channels = channels[: max(1, int(max_channels))]
    panels = len(channels) + (image is not None)
    figure, axes, columns = panel_grid(panels, columns, height=1.75, title=title)
    for axis in axes.ravel():
        _hide_axes(axis)
        axis.set_visible(False)
    cells = iter(axes.ravel())
    if image is not None:
        axis = next(cells)
        axis.set_visible(True)
        pixels, gray = display_image(image)
        axis.imshow(pixels, cmap=gray, vmin=0, vmax=255)
        axis.set_title("input", fontsize=8)
    for channel in channels:
        axis = next(cells)
        axis.set_visible(True)
        axis.imshow(maps[..., channel], cmap="viridis")
        axis.set_title(f"ch {channel}", fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)
