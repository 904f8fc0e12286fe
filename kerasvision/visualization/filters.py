"""Convolution kernels as images, and activation maximization (what a filter wants).

`first_layer_filters` and `layer_kernels` read weights (nothing runs);
`activation_maximization` runs gradient ascent on the input image, with random
jitter, an L2 penalty and periodic blurring as regularizers (Erhan et al. 2009;
Olah et al. 2017, "Feature Visualization"), and returns uint8 images.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf

from kerasvision.visualization._gradients import (
    find_layer,
    iter_layers,
    split_at_layer,
)

__all__ = [
    "activation_maximization",
    "first_layer_filters",
    "layer_kernels",
    "plot_activation_maximization",
    "plot_filters",
]

_CONV_TYPES = (
    keras.layers.Conv2D,
    keras.layers.DepthwiseConv2D,
    keras.layers.SeparableConv2D,
    keras.layers.Conv2DTranspose,
)
# Blur the image every this many ascent steps (Lucid-style "blur every n").
_BLUR_EVERY = 4


# === Kernels ===


def _first_conv_name(model) -> str:
    for name, path in iter_layers(model):
        if isinstance(path[-1], _CONV_TYPES):
            return name
    raise ValueError(f"model {model.name!r} has no 2-D convolution layer")


def layer_kernels(model, layer) -> np.ndarray:
    """The kernels of a 2-D convolution layer, one `[kh, kw]` slice per input channel.

    Args:
        model: A Keras model.
        layer: Name (plain or qualified `"outer/inner"`) or instance of a
            `Conv2D`, `DepthwiseConv2D`, `SeparableConv2D` (its depthwise kernel)
            or `Conv2DTranspose` layer, at any depth.

    Returns:
        A float32 array `[filters, input_channels, kh, kw]`; a depthwise kernel
        gives `[channels * multiplier, 1, kh, kw]`.

    Raises:
        ValueError: If the layer is unknown or not a 2-D convolution.

    Example:
        >>> layer_kernels(model, "block1_conv1").shape
        (32, 3, 3, 3)
    """
    conv = find_layer(model, layer)[-1]
    if isinstance(conv, keras.layers.DepthwiseConv2D):
        kernel = np.asarray(conv.kernel)  # [kh, kw, channels, multiplier]
        height, width = kernel.shape[:2]
        return kernel.reshape(height, width, -1).transpose(2, 0, 1)[:, None]
    if isinstance(conv, keras.layers.SeparableConv2D):
        kernel = np.asarray(conv.depthwise_kernel)
        height, width = kernel.shape[:2]
        return kernel.reshape(height, width, -1).transpose(2, 0, 1)[:, None]
    if isinstance(conv, keras.layers.Conv2DTranspose):
        # [kh, kw, filters, input_channels]
        return np.asarray(conv.kernel).transpose(2, 3, 0, 1).astype("float32")
    if isinstance(conv, keras.layers.Conv2D):
        # [kh, kw, input_channels, filters]
        return np.asarray(conv.kernel).transpose(3, 2, 0, 1).astype("float32")
    raise ValueError(
        f"layer {conv.name!r} is a {type(conv).__name__}, not a 2-D convolution"
    )


def first_layer_filters(model, *, layer=None, normalize: str = "global") -> np.ndarray:
    """First-layer kernels as small RGB (or gray) tiles in [0, 1].

    Tiles are mapped symmetrically around zero, `0.5 + w / (2 max|w|)`, so a
    zero weight is mid-gray, positive weights brighten and negative ones darken
    each input channel (for RGB inputs the tile shows the color the filter
    responds to).

    Args:
        model: A Keras model.
        layer: A convolution whose input has 1 or 3 channels. Defaults to None
            (the first 2-D convolution, searching into nested models).
        normalize: "global" (one scale for all filters, so magnitudes compare)
            or "filter" (each filter on its own scale). Defaults to "global".

    Returns:
        A float32 array `[filters, kh, kw, channels]` with channels 1 or 3.

    Raises:
        ValueError: If there is no convolution, its input does not have 1 or 3
            channels (use `layer_kernels`), or `normalize` is unknown.

    Example:
        >>> tiles = first_layer_filters(model)
        >>> tiles.shape
        (32, 3, 3, 3)
    """
    if normalize not in ("global", "filter"):
        raise ValueError(f"normalize must be 'global' or 'filter', got {normalize!r}")
    name = _first_conv_name(model) if layer is None else layer
    kernels = layer_kernels(model, name)
    if kernels.shape[1] not in (1, 3):
        raise ValueError(
            f"layer {name!r} has {kernels.shape[1]} input channels; tiles need 1 or "
            "3 (use layer_kernels to see every input channel)"
        )
    tiles = kernels.transpose(0, 2, 3, 1)
    axes = (1, 2, 3) if normalize == "filter" else (0, 1, 2, 3)
    scale = np.abs(tiles).max(axis=axes, keepdims=True)
    scaled = np.divide(tiles, 2 * scale, out=np.zeros_like(tiles), where=scale > 0)
    return (0.5 + scaled).astype("float32")


# === Activation maximization ===


def _gaussian_kernel(sigma: float, channels: int):
    radius = max(1, int(np.ceil(2 * sigma)))
    offsets = np.arange(-radius, radius + 1, dtype="float32")
    weights = np.exp(-(offsets**2) / (2 * sigma**2))
    weights /= weights.sum()
    kernel = np.outer(weights, weights)[:, :, None, None]
    return tf.constant(np.repeat(kernel, channels, axis=2), dtype=tf.float32)


def _blur(images, kernel):
    radius = (kernel.shape[0] - 1) // 2
    padded = tf.pad(
        images, [[0, 0], [radius, radius], [radius, radius], [0, 0]], mode="REFLECT"
    )
    return tf.nn.depthwise_conv2d(padded, kernel, [1, 1, 1, 1], "VALID")


def _objective_index(filters, size, layer_name):
    indices = np.atleast_1d(np.asarray(filters))
    if indices.ndim != 1 or indices.dtype.kind not in "iu" or len(indices) == 0:
        raise ValueError(f"filters must be an int or a list of ints, got {filters!r}")
    if indices.min() < 0 or indices.max() >= size:
        raise ValueError(
            f"layer {layer_name!r} has {size} channels/units; filters must be in "
            f"[0, {size - 1}], got {indices.tolist()}"
        )
    return indices.astype("int32")


def _image_shape(model, image_size):
    shape = tuple(model.inputs[0].shape[1:])
    if len(shape) != 3:
        raise ValueError(f"model input must be [H, W, C], got {shape}")
    height, width, channels = shape
    if image_size is not None:
        from kerasvision.data.images import parse_image_size

        size = parse_image_size(image_size)
        if (height, width) not in ((None, None), size):
            raise ValueError(
                f"model {model.name!r} takes {height}x{width} images; image_size "
                f"{size[0]}x{size[1]} does not fit"
            )
        height, width = size
    if height is None or width is None:
        height, width = 64, 64
    return int(height), int(width), int(channels)


def activation_maximization(
    model,
    layer,
    filters,
    *,
    steps: int = 128,
    lr: float = 0.05,
    jitter: int = 2,
    l2: float = 1e-3,
    blur: float = 0.5,
    image_size=None,
    seed: int = 0,
) -> np.ndarray:
    """Synthesize inputs that maximally activate channels (or units) of a layer.

    One image per requested filter starts as gray plus small noise (in [0, 1],
    fed to the model as 0-255 pixels) and climbs the gradient of the filter's
    mean activation (border pixels excluded for spatial maps) minus
    `l2 * mean((x - 0.5)^2)`. Each step shifts the image by a random offset of up
    to `jitter` pixels before the forward pass, normalizes the gradient to unit
    RMS (so `lr` is in image units per step) and clips to [0, 1]; every 4 steps
    the image is blurred with a Gaussian of `blur` pixels. For the model's output
    layer the unit's logit is maximized when available (Simonyan et al. 2013).

    Args:
        model: A Keras model taking raw 0-255 pixels (not modified).
        layer: Layer name (plain or qualified `"outer/inner"`), any depth.
        filters: Channel (or unit) index, or a list of them.
        steps: Gradient-ascent steps. Defaults to 128.
        lr: Step size in [0, 1] image units. Defaults to 0.05.
        jitter: Largest random shift in pixels; 0 disables. Defaults to 2.
        l2: Weight of the L2 penalty towards gray. Defaults to 1e-3.
        blur: Gaussian blur sigma in pixels; 0 disables. Defaults to 0.5.
        image_size: N or (H, W); must match a fixed-size model. Defaults to None
            (the model's input size, else 64x64).
        seed: Seed of the start image and the jitter. Defaults to 0.

    Returns:
        uint8 images `[len(filters), H, W, C]`, contrast-stretched for display.

    Raises:
        ValueError: On an unknown layer, out-of-range filters or bad settings.

    Example:
        >>> images = activation_maximization(model, "block2_act1", [0, 1, 2])
        >>> images.shape, images.dtype
        ((3, 32, 32, 3), dtype('uint8'))
    """
    if int(steps) < 1:
        raise ValueError(f"steps must be >= 1, got {steps}")
    if lr <= 0 or l2 < 0 or blur < 0 or int(jitter) < 0:
        raise ValueError("lr must be > 0 and l2, blur, jitter >= 0")
    split = split_at_layer(model, layer)
    target = split.path[-1]
    use_logits = split.uses_logits and target is split.logit_operation
    height, width, channels = _image_shape(model, image_size)
    probe = tf.zeros((1, height, width, channels))
    activations, scores = split(probe)
    if use_logits:
        size = scores.shape[-1]
    else:
        size = activations.shape[-1]
    indices = _objective_index(filters, size, split.layer_name)
    spatial = not use_logits and activations.shape.rank == 4
    border = 1 if spatial and min(activations.shape[1:3]) > 4 else 0
    rng = np.random.default_rng(seed)
    start = 0.5 + (rng.uniform(size=(len(indices), height, width, channels)) - 0.5) / 4
    images = tf.Variable(start.astype("float32"))
    kernel = _gaussian_kernel(blur, channels) if blur > 0 else None
    selector = tf.one_hot(indices, size)

    # One traced graph for all steps: the op-by-op forward pass of the split is
    # Python work that tf.function pays once instead of every step.
    @tf.function
    def ascend(shift, smooth):
        with tf.GradientTape() as tape:
            tape.watch(images)
            shifted = tf.roll(images, shift=shift, axis=[1, 2])
            acts, scores = split(shifted * 255.0)
            values = scores if use_logits else tf.cast(acts, tf.float32)
            if spatial:
                if border:
                    values = values[:, border:-border, border:-border, :]
                values = tf.reduce_mean(values, axis=[1, 2])
            objective = tf.reduce_sum(values * selector, axis=-1)
            penalty = l2 * tf.reduce_mean(tf.square(images - 0.5), axis=[1, 2, 3])
            total = tf.reduce_sum(objective - penalty)
        gradients = tape.gradient(total, images)
        rms = tf.sqrt(
            tf.reduce_mean(tf.square(gradients), axis=[1, 2, 3], keepdims=True)
        )
        images.assign(tf.clip_by_value(images + lr * gradients / (rms + 1e-8), 0, 1))
        if kernel is not None and smooth:
            images.assign(_blur(images, kernel))

    for step in range(int(steps)):
        shift = rng.integers(-int(jitter), int(jitter) + 1, size=2).astype("int32")
        ascend(tf.constant(shift), tf.constant((step + 1) % _BLUR_EVERY == 0))
    return _to_uint8(images.numpy())


def _to_uint8(images):
    """Contrast stretch for display: mean 0.5, 0.15 per standard deviation."""
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    std = images.std(axis=(1, 2, 3), keepdims=True)
    stretched = (images - mean) / (std + 1e-5) * 0.15 + 0.5
    return np.clip(np.round(stretched * 255), 0, 255).astype("uint8")


# === Plots ===


def plot_filters(
    filters,
    path: str,
    *,
    per_channel: bool = False,
    max_filters: int = 64,
    max_channels: int = 16,
    columns: int = 8,
    title: str = "",
) -> str:
    """Grid of convolution kernels.

    Args:
        filters: `first_layer_filters` tiles `[F, kh, kw, 1|3]` in [0, 1], or
            with `per_channel` the raw `layer_kernels` array `[F, C_in, kh, kw]`.
        path: Output PNG path.
        per_channel: Draw one row per filter and one column per input channel,
            on a diverging colormap centered on 0. Defaults to False.
        max_filters: Most filters drawn. Defaults to 64.
        max_channels: Most input channels drawn with `per_channel`. Defaults
            to 16.
        columns: Tiles per row without `per_channel`. Defaults to 8.
        title: Figure title. Defaults to "".

    Returns:
        The path written.

    Raises:
        ValueError: If the array does not have the expected shape.

    Example:
        >>> plot_filters(first_layer_filters(model), "filters.png")
    """
    from kerasvision.visualization.plots import _hide_axes, _pyplot, save_figure

    filters = np.asarray(filters, dtype="float32")
    if filters.ndim != 4:
        raise ValueError(f"filters must be a 4-D array, got shape {filters.shape}")
    filters = filters[: max(1, int(max_filters))]
    plt = _pyplot()
    extra = 0.4 if title else 0
    if per_channel:
        filters = filters[:, : max(1, int(max_channels))]
        rows, cols = filters.shape[:2]
        figure, axes = plt.subplots(
            rows, cols, figsize=(0.8 * cols + 0.6, 0.8 * rows + extra), squeeze=False
        )
        limit = float(np.abs(filters).max()) or 1.0
        for (row, col), axis in np.ndenumerate(axes):
            axis.imshow(filters[row, col], cmap="RdBu_r", vmin=-limit, vmax=limit)
            _hide_axes(axis)
            if col == 0:
                axis.set_ylabel(f"f{row}", fontsize=7)
            if row == 0:
                axis.set_title(f"in {col}", fontsize=7)
    else:
        if filters.shape[-1] not in (1, 3):
            raise ValueError(
                "tiles must be [F, kh, kw, 1|3]; pass per_channel=True for "
                "layer_kernels arrays"
            )
        count = len(filters)
        columns = max(1, min(int(columns), count))
        rows = int(np.ceil(count / columns))
        figure, axes = plt.subplots(
            rows, columns, figsize=(1.1 * columns, 1.2 * rows + extra), squeeze=False
        )
        for index, axis in enumerate(axes.ravel()):
            _hide_axes(axis)
            if index >= count:
                axis.set_visible(False)
                continue
            tile = np.clip(filters[index], 0, 1)
            if tile.shape[-1] == 1:
                axis.imshow(tile[..., 0], cmap="gray", vmin=0, vmax=1)
            else:
                axis.imshow(tile)
            axis.set_title(str(index), fontsize=7)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_activation_maximization(
    images, path: str, *, labels=None, columns: int = 8, title: str = ""
) -> str:
    """Grid of activation-maximization images.

    Args:
        images: uint8 `[F, H, W, C]` from `activation_maximization`.
        path: Output PNG path.
        labels: One caption per image (e.g. the filter indices). Defaults to
            None (their position).
        columns: Images per row. Defaults to 8.
        title: Figure title. Defaults to "".

    Returns:
        The path written.

    Raises:
        ValueError: If the images are not `[F, H, W, C]` or labels mismatch.

    Example:
        >>> plot_activation_maximization(images, "am.png", labels=[0, 1, 2])
    """
    from kerasvision.visualization.plots import (
        _hide_axes,
        display_image,
        panel_grid,
        save_figure,
    )

    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"images must be [F, H, W, C], got shape {images.shape}")
    labels = list(range(len(images))) if labels is None else list(labels)
    if len(labels) != len(images):
        raise ValueError(f"got {len(labels)} labels for {len(images)} images")
    figure, axes, columns = panel_grid(len(images), columns, height=1.8, title=title)
    for index, axis in enumerate(axes.ravel()):
        _hide_axes(axis)
        if index >= len(images):
            axis.set_visible(False)
            continue
        pixels, gray = display_image(images[index])
        axis.imshow(pixels, cmap=gray, vmin=0, vmax=255)
        axis.set_title(str(labels[index]), fontsize=8)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)
