"""Pictures of the autoencoder and segmentation tasks: image grids (inputs,
reconstructions, denoised), the latent space, and segmentation masks."""

from __future__ import annotations

import numpy as np

from kerasvision.visualization.plots import _pyplot, save_figure

__all__ = ["plot_image_rows", "plot_latent_scatter", "plot_segmentation"]


def _show(axis, image, cmap=None):
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
        cmap = cmap or "gray"
    axis.imshow(np.clip(image, 0, 1), cmap=cmap, vmin=0, vmax=1)
    axis.set_xticks([])
    axis.set_yticks([])


def plot_image_rows(rows, path: str, *, title: str = "") -> str:
    """A grid of 0-1 images: `rows` is `[(label, images [n, H, W, C]), ...]`."""
    plt = _pyplot()
    columns = max(len(images) for _, images in rows)
    figure, axes = plt.subplots(
        len(rows),
        columns,
        figsize=(1.3 * columns + 0.8, 1.4 * len(rows) + 0.4),
        squeeze=False,
    )
    for row, (label, images) in enumerate(rows):
        for column in range(columns):
            axis = axes[row, column]
            if column < len(images):
                _show(axis, images[column])
            else:
                axis.axis("off")
        axes[row, 0].set_ylabel(label)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)


def plot_latent_scatter(codes, labels, class_names, path: str, *, title="") -> str:
    """2-D scatter of codes coloured by label (PCA to 2-D when the code is larger)."""
    plt = _pyplot()
    codes = np.asarray(codes, dtype="float64").reshape(len(codes), -1)
    method = "code"
    if codes.shape[1] > 2:
        from sklearn.decomposition import PCA

        codes = PCA(2, random_state=0).fit_transform(codes)
        method = "PCA of the code"
    elif codes.shape[1] == 1:
        codes = np.concatenate([codes, np.zeros_like(codes)], axis=1)
    figure, axis = plt.subplots(figsize=(6, 5))
    labels = np.asarray(labels)
    colours = plt.get_cmap("tab10" if len(class_names) <= 10 else "tab20")
    for index, name in enumerate(class_names):
        chosen = labels == index
        if np.any(chosen):
            axis.scatter(
                codes[chosen, 0],
                codes[chosen, 1],
                s=10,
                alpha=0.7,
                color=colours(index % colours.N),
                label=name,
            )
    axis.set_xlabel(f"{method} 1")
    axis.set_ylabel(f"{method} 2")
    axis.legend(fontsize=7, markerscale=1.5, loc="best")
    axis.set_title(title or "latent space (held-out images)")
    figure.tight_layout()
    return save_figure(figure, path)


def plot_segmentation(images, masks, predicted, num_classes, path, title=""):
    plt = _pyplot()
    count = len(images)
    figure, axes = plt.subplots(3, count, figsize=(1.6 * count + 0.8, 5), squeeze=False)
    cmap = plt.get_cmap("tab10" if num_classes <= 10 else "tab20")
    for column in range(count):
        image = images[column] / 255.0
        for row, mask in enumerate((None, masks[column], predicted[column])):
            axis = axes[row, column]
            _show(axis, image)
            if mask is not None:
                colour = cmap(np.asarray(mask) % cmap.N)[..., :3]
                alpha = np.where(np.asarray(mask) > 0, 0.5, 0.0)[..., None]
                axis.imshow(np.concatenate([colour, alpha], axis=-1))
    for row, label in enumerate(("image", "true mask", "predicted")):
        axes[row, 0].set_ylabel(label)
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    return save_figure(figure, path)
