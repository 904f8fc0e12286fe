"""Pictures of a finished run for given images: filters, feature maps, saliency,
Grad-CAM and activation maximization, written as PNG files (`visualize_run`).

Only the standard library is imported at module level so that the CLI can read
`VISUALIZATION_KINDS` without loading TensorFlow.
"""

from __future__ import annotations

import os

__all__ = ["VISUALIZATION_KINDS", "run_feature_layer", "visualize_run"]

VISUALIZATION_KINDS = (
    "filters",
    "feature-maps",
    "saliency",
    "smoothgrad",
    "gradcam",
    "gradcam++",
    "activation-max",
)
_IMAGE_KINDS = ("feature-maps", "saliency", "smoothgrad", "gradcam", "gradcam++")
_CLASS_KINDS = ("saliency", "smoothgrad", "gradcam", "gradcam++", "activation-max")
_FILE_SLUGS = {"gradcam++": "gradcam_plus_plus", "feature-maps": "feature_maps"}
_ACTIVATION_MAX_FILTERS = 16


def run_feature_layer(run):
    """The run's recorded feature layer when the model has it, else automatic."""
    from kerasvision.visualization._gradients import find_layer
    from kerasvision.visualization.gradcam import target_layer

    name = run.info.get("model", {}).get("feature_layer")
    if name:
        try:
            find_layer(run.model, name)
            return target_layer(run.model, name)
        except ValueError:
            pass
    return target_layer(run.model)


def _class_index(run, class_name):
    if class_name is None:
        return None
    if class_name in run.class_names:
        return run.class_names.index(class_name)
    raise ValueError(
        f"unknown class {class_name!r}; choose one of: {', '.join(run.class_names)}"
    )


def visualize_run(
    run_dir,
    images=(),
    *,
    kind: str,
    output,
    layer: str | None = None,
    class_name: str | None = None,
    overwrite: bool = False,
) -> list[str]:
    """Write pictures explaining a run's model, as PNG files in `output`.

    Kinds: "filters" (first-layer kernels, or the kernels of `layer`),
    "feature-maps", "saliency", "smoothgrad", "gradcam", "gradcam++" (one PNG per
    image) and "activation-max" (synthetic inputs maximizing 16 channels of
    `layer`, or the logit of `class_name`).

    Args:
        run_dir: Run directory (or a loaded `Run`).
        images: Image files and/or folders (searched recursively); needed by the
            per-image kinds. Defaults to ().
        kind: One of `VISUALIZATION_KINDS`.
        output: Folder to write into (created if missing). The files appear
            only once all are drawn; on a failure nothing is left behind.
        layer: Layer name, plain or `"outer/inner"` for a nested backbone.
            Defaults to None (the run's feature layer; for filters the first
            convolution; for activation-max with a class, the output layer).
        class_name: Class to explain (saliency, Grad-CAM, activation-max).
            Defaults to None (each image's predicted class).
        overwrite: Replace files of the same names in `output`; without it
            none is written and a `ValueError` names the first. Defaults to
            False.

    Returns:
        The paths written.

    Raises:
        FileNotFoundError: If the run or an image is missing.
        ValueError: On an unknown kind, layer or class, a bad image, or missing
            images for a per-image kind.
        WriteError: On a full disk, a read-only `output` or one under a file.

    Example:
        >>> visualize_run(run, ["cat.jpg"], kind="gradcam", output="viz")
        ['viz/gradcam_00_cat.png']
    """
    from kerasvision.runs import load_run

    if kind not in VISUALIZATION_KINDS:
        raise ValueError(
            f"unknown kind {kind!r}; choose one of: {', '.join(VISUALIZATION_KINDS)}"
        )
    if class_name is not None and kind not in _CLASS_KINDS:
        raise ValueError(
            f"a class applies to {', '.join(_CLASS_KINDS)}; not to kind {kind!r}"
        )
    if kind in _IMAGE_KINDS and not images:
        raise ValueError(f"kind {kind!r} needs at least one image")
    from kerasvision._files import staged_files

    run = load_run(run_dir)
    class_index = _class_index(run, class_name)
    output = os.fspath(output)
    # Staged: a failure (bad layer, full disk) leaves no file and no new folder.
    with staged_files(output, overwrite=overwrite) as staging:
        written = _draw(run, images, kind, layer, class_index, staging)
    return [os.path.join(output, os.path.basename(path)) for path in written]


def _draw(run, images, kind, layer, class_index, output):
    slug = _FILE_SLUGS.get(kind, kind.replace("-", "_"))
    if kind == "filters":
        return [_write_filters(run, layer, output)]
    if kind == "activation-max":
        return [_write_activation_max(run, layer, class_index, output)]
    paths, pixels = run.load_images(images)
    if kind == "feature-maps":
        return _write_feature_maps(run, pixels, paths, layer, output, slug)
    return _write_explanations(run, kind, pixels, paths, layer, class_index, output)


def _file_name(slug, index, path):
    stem = os.path.splitext(os.path.basename(path))[0]
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in stem)
    return f"{slug}_{index:02d}_{safe}.png"


def _safe_layer(name):
    return name.replace("/", "__")


def _write_filters(run, layer, output):
    from kerasvision.visualization.filters import (
        first_layer_filters,
        layer_kernels,
        plot_filters,
    )

    model = run.model
    if layer is None:
        tiles = first_layer_filters(model)
        return plot_filters(
            tiles,
            os.path.join(output, "filters.png"),
            title="first convolution (gray = 0)",
        )
    kernels = layer_kernels(model, layer)
    path = os.path.join(output, f"filters_{_safe_layer(layer)}.png")
    if kernels.shape[1] in (1, 3):
        tiles = first_layer_filters(model, layer=layer)
        return plot_filters(tiles, path, title=f"{layer} (gray = 0)")
    return plot_filters(kernels, path, per_channel=True, title=layer)


def _write_activation_max(run, layer, class_index, output):
    from kerasvision.visualization._gradients import find_layer, split_at_layer
    from kerasvision.visualization.filters import (
        activation_maximization,
        plot_activation_maximization,
    )

    model = run.model
    if class_index is not None and layer is None:
        split = split_at_layer(model)
        final = split.logit_operation
        layer = final.name if final is not None else model.layers[-1].name
    if layer is None:
        layer = run_feature_layer(run)
    path = find_layer(model, layer)
    if class_index is not None:
        filters = [class_index]
        labels = [run.class_names[class_index]]
    else:
        size = path[-1].output.shape[-1]
        filters = list(range(min(_ACTIVATION_MAX_FILTERS, int(size))))
        labels = [f"ch {i}" for i in filters]
    images = activation_maximization(model, layer, filters)
    return plot_activation_maximization(
        images,
        os.path.join(output, f"activation_max_{_safe_layer(layer)}.png"),
        labels=labels,
        title=f"activation maximization: {layer}",
    )


def _write_feature_maps(run, pixels, paths, layer, output, slug):
    from kerasvision.visualization.feature_maps import feature_maps, plot_feature_maps

    layer = layer or run_feature_layer(run)
    maps = feature_maps(run.model, pixels, layer)
    if maps.ndim != 4:
        raise ValueError(
            f"layer {layer!r} outputs shape {maps.shape[1:]}, not feature maps"
        )
    written = []
    for index, path in enumerate(paths):
        written.append(
            plot_feature_maps(
                maps[index],
                os.path.join(output, _file_name(slug, index, path)),
                image=pixels[index],
                title=f"{layer}: {os.path.basename(path)}",
            )
        )
    return written


def _write_explanations(run, kind, pixels, paths, layer, class_index, output):
    import numpy as np

    from kerasvision.evaluation import apply_temperature
    from kerasvision.models.heads import serving_probabilities
    from kerasvision.visualization.gradcam import (
        gradcam,
        gradcam_plus_plus,
        plot_gradcam,
        target_layer,
    )
    from kerasvision.visualization.saliency import (
        plot_saliency,
        smoothgrad,
        vanilla_saliency,
    )

    model = run.model
    outputs = model.predict(pixels, verbose=0)
    if isinstance(outputs, list | tuple):
        outputs = outputs[0]
    # The served probabilities (the run's temperature), as predict prints them.
    probabilities = apply_temperature(
        np.asarray(serving_probabilities(outputs)), run.temperature
    )
    state = "calibrated" if run.temperature != 1.0 else "uncalibrated, T = 1"
    classes = (
        np.argmax(probabilities, axis=1)
        if class_index is None
        else np.full(len(pixels), class_index)
    )
    if kind in ("gradcam", "gradcam++"):
        layer = target_layer(model, layer or run_feature_layer(run))
        function = gradcam if kind == "gradcam" else gradcam_plus_plus
        maps = function(model, pixels, layer=layer, class_index=classes)
        plot, suffix = plot_gradcam, f" at {layer}"
    else:
        if layer is not None:
            raise ValueError(f"kind {kind!r} explains the input; it takes no layer")
        function = vanilla_saliency if kind == "saliency" else smoothgrad
        maps = function(model, pixels, class_index=classes)
        plot, suffix = plot_saliency, ""
    slug = _FILE_SLUGS.get(kind, kind)
    written = []
    for index, path in enumerate(paths):
        name = run.class_names[int(classes[index])]
        probability = probabilities[index, int(classes[index])]
        caption = f"{name}\np = {probability:.3f}"
        written.append(
            plot(
                pixels[index : index + 1],
                maps[index : index + 1],
                os.path.join(output, _file_name(slug, index, path)),
                titles=[caption],
                title=(
                    f"{kind} for class {name}{suffix}: {os.path.basename(path)}\n"
                    f"p({name}) = {probability:.3f} ({state})"
                ),
            )
        )
    return written
