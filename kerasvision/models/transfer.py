"""Transfer learning: a new head on a keras.applications backbone (or on Model A).

`build_transfer_classifier` wraps a backbone as a nested model whose BatchNorm
layers stay in inference mode even when unfrozen (`bn="train"` for the other
policy) behind the family's preprocessing, so the model takes raw
0-255 pixels. `unfreeze` resolves fine-tuning choices *inside* the nested backbone
(a nested layer is only trainable when its parent is, which Keras does not tell
you) and `trainability_table` shows the result per block.
"""

from __future__ import annotations

import os
import re

import keras
from keras import layers

from kerasvision.models.backbones import BACKBONES, BackboneSpec, get_backbone_spec
from kerasvision.models.cnn import apply_classifier_head

__all__ = [
    "BN_POLICIES",
    "backbone_blocks",
    "build_backbone",
    "build_transfer_classifier",
    "freeze_backbone",
    "get_backbone",
    "is_backbone_reference",
    "load_model_a",
    "parse_unfreeze",
    "raise_download_error",
    "trainability_table",
    "unfreeze",
]

BN_POLICIES = ("frozen", "train")
POOLINGS = ("avg", "max")
_GENERIC_BLOCKS = r"^([a-z]+\d+[a-z]?)_"  # block1_conv1, c3_conv, stage2_... (Model A)
_URL = re.compile(r"https?://\S+?/([^/\s:]+\.h5)")


def is_backbone_reference(value) -> bool:
    """True when `value` names a file or run directory (Model A) not a registry key."""
    text = os.fspath(value)
    return text.endswith(".keras") or os.sep in text or os.path.exists(text)


def _check_weights(weights):
    if weights is None or weights == "imagenet":
        return weights
    path = os.fspath(weights)
    if path.lower() == "none":
        return None
    if not os.path.isfile(path):
        raise FileNotFoundError(f"weights file not found: {path}")
    if not path.endswith(".h5"):
        raise ValueError(
            f"weights must be 'imagenet', None or a .h5/.weights.h5 file: {path}"
        )
    return path


def build_backbone(name: str, input_shape, *, weights=None):
    """A keras.applications backbone without its top.

    Args:
        name: Registry name (`list_backbones()`) or keras.applications name.
        input_shape: `(height, width, 3)`.
        weights: "imagenet" (Keras download and cache), None (random) or a path to
            a local `.h5` / `.weights.h5` file. Defaults to None.

    Returns:
        The backbone (a functional `keras.Model`).

    Raises:
        ValueError: On an unknown name, a too-small input, or an input size that
            the ImageNet weights of this family do not allow.
        FileNotFoundError: If a weights path does not exist.
        RuntimeError: If ImageNet weights must be downloaded and cannot be.
    """
    key, spec = get_backbone_spec(name)
    weights = _check_weights(weights)
    height, width, channels = (int(v) for v in input_shape)
    if min(height, width) < spec.min_size:
        raise ValueError(
            f"image size {height}x{width} is too small for {key}: it needs at least "
            f"{spec.min_size}x{spec.min_size}"
        )
    if channels != 3:
        raise ValueError(f"{key} takes 3-channel (RGB) images, got {channels} channels")
    if (
        weights == "imagenet"
        and spec.fixed_size_with_weights
        and (height, width) != (spec.default_size, spec.default_size)
    ):
        raise ValueError(
            f"{key}'s ImageNet weights need {spec.default_size}x{spec.default_size} "
            f"inputs, got {height}x{width}"
        )
    constructor = getattr(keras.applications, spec.constructor)
    try:
        return constructor(
            include_top=False, weights=weights, input_shape=(height, width, 3)
        )
    except Exception as error:  # Keras raises a bare Exception for URL failures
        if weights == "imagenet":
            raise_download_error(error, f"{key} (ImageNet weights)")
        raise


def raise_download_error(error, what: str, cache: str = "~/.keras/models/"):
    """Turn Keras's URL-fetch failure into one clear line (RuntimeError)."""
    message = str(error)
    if "URL fetch failure" in message or "http" in message:
        match = _URL.search(message) or re.search(r"https?://\S+?/([^/\s:]+)", message)
        filename = match.group(1) if match else "a file"
        raise RuntimeError(
            f"could not download {filename} for {what} (offline?); pass --weights "
            f"PATH to a local .h5/.weights.h5 file, or put {filename} in {cache}"
        ) from None


def load_model_a(path):
    """Model A (a kerasvision classifier) cut at its feature layer, as a backbone.

    Args:
        path: A `.keras` file or a kerasvision run directory.

    Returns:
        `(backbone, feature_layer_name)`; the backbone takes raw 0-255 pixels.

    Raises:
        FileNotFoundError: If the path does not exist.
        ValueError: If it is not a kerasvision model.
    """
    from kerasvision.models import find_feature_layer
    from kerasvision.saving import load_model

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"backbone model not found: {path}")
    feature = None
    if os.path.isdir(path):
        from kerasvision.runs import load_run

        run = load_run(path)
        if run.info.get("kind") == "autoencoder":
            from kerasvision.autoencoding import load_encoder

            encoder, info = load_encoder(path)
            backbone = keras.Model(
                encoder.inputs[0], encoder.outputs[0], name="model_a"
            )
            return backbone, info["feature_layer"]
        model = run.model
        feature = run.info.get("model", {}).get("feature_layer")
    else:
        try:
            model = load_model(path)
        except Exception as error:  # Keras raises ValueError/OSError/TypeError
            raise ValueError(f"cannot load backbone model {path}: {error}") from None
    names = {layer.name for layer in model.layers}
    if feature not in names:
        feature = find_feature_layer(model)
    inputs = model.inputs[0] if isinstance(model.inputs, list) else model.inputs
    backbone = keras.Model(inputs, model.get_layer(feature).output, name="model_a")
    return backbone, feature


def build_transfer_classifier(
    backbone,
    num_classes: int,
    *,
    weights="imagenet",
    input_shape=None,
    pooling: str = "avg",
    dropout_rate: float = 0.2,
    dense_units=(),
    trainable=False,
    bn: str = "frozen",
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """A new classifier head on a pretrained backbone (feature extraction / fine-tune).

    Args:
        backbone: Registry name (e.g. "mobilenet_v2"), keras.applications name, a
            kerasvision `.keras` model / run directory (Model A, cut at its feature
            layer), or a `keras.Model` used as is.
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        weights: "imagenet", None, or a local `.h5`/`.weights.h5` path (ignored for
            Model A). Defaults to "imagenet".
        input_shape: `(height, width, 3)`. Defaults to None (the family's default
            size, or Model A's input shape).
        pooling: "avg" (`avg_pool`) or "max" (`max_pool`). Defaults to "avg".
        dropout_rate: Dropout before `predictions`. Defaults to 0.2.
        dense_units: Hidden dense layers of the head. Defaults to ().
        trainable: False (feature extraction), True (all), or an `unfreeze` spec
            ("top:N", "from:LAYER", "blocks:K"). Defaults to False.
        bn: "frozen" (BatchNorm layers stay in inference mode, statistics and
            scale/offset fixed, also after `unfreeze`) or "train" (unfrozen
            BatchNorm layers train and update their statistics). Defaults to
            "frozen".
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name. Defaults to None ("<backbone>_classifier").

    Returns:
        An uncompiled functional `keras.Model` taking raw 0-255 pixels.

    Raises:
        ValueError, FileNotFoundError, RuntimeError: see `build_backbone`.

    Example:
        >>> model = build_transfer_classifier(
        ...     "mobilenet_v2", 5, weights=None, input_shape=(96, 96, 3))
    """
    from kerasvision.layers import ImagenetPreprocessing

    if bn not in BN_POLICIES:
        raise ValueError(f"bn must be one of {BN_POLICIES}, got {bn!r}")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    spec: BackboneSpec | None = None
    if isinstance(backbone, keras.Model):
        base, label = backbone, backbone.name
    elif is_backbone_reference(backbone):
        base, _ = load_model_a(backbone)
        label = "model_a"
        if input_shape is not None and tuple(input_shape) != tuple(
            base.input_shape[1:]
        ):
            height, width, channels = base.input_shape[1:]
            raise ValueError(
                f"the backbone model takes {height}x{width}x{channels} images, not "
                f"{'x'.join(str(v) for v in input_shape)}; use --image-size "
                f"{height}x{width}"
            )
    else:
        label, spec = get_backbone_spec(backbone)
        if input_shape is None:
            input_shape = (spec.default_size, spec.default_size, 3)
        base = build_backbone(label, input_shape, weights=weights)
    input_shape = tuple(base.input_shape[1:])

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    if spec is not None and spec.preprocessing:
        x = ImagenetPreprocessing(spec.preprocessing, name="preprocessing")(x)
    # training=False states the intent (inference-mode backbone); under `fit`
    # Keras 3 overrides it, so `unfreeze` also keeps BatchNorm layers frozen.
    x = base(x, training=False) if bn == "frozen" else base(x)
    outputs = apply_classifier_head(
        x,
        num_classes,
        head="gap" if pooling == "avg" else "gmp",
        dense_units=dense_units,
        dropout_rate=dropout_rate,
        classifier_activation=classifier_activation,
    )
    model = keras.Model(inputs, outputs, name=name or f"{label}_classifier")
    freeze_backbone(model)
    if trainable is True:
        unfreeze(model, "all", bn=bn)
    elif trainable:
        unfreeze(model, trainable, bn=bn)
    return model


def get_backbone(model):
    """The nested backbone model inside a transfer classifier."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ValueError(f"model {model.name!r} has no nested backbone")


def freeze_backbone(model):
    """Freeze every backbone layer (feature extraction). Recompile afterwards."""
    backbone = get_backbone(model)
    backbone.trainable = False
    return model


def parse_unfreeze(spec) -> tuple[str, object]:
    """ "all" | "top:N" | "from:LAYER" | "blocks:K" -> `(kind, value)`.

    Raises:
        ValueError: On anything else.
    """
    text = str(spec).strip()
    if text == "all":
        return "all", None
    kind, sep, value = text.partition(":")
    if sep and kind in ("top", "blocks"):
        try:
            count = int(value)
        except ValueError:
            count = 0
        if count >= 1:
            return kind, count
    elif sep and kind == "from" and value:
        return kind, value
    raise ValueError(
        "--unfreeze must be all, top:N, from:LAYER or blocks:K (N, K >= 1), "
        f"got {spec!r}"
    )


def _spec_for(backbone) -> BackboneSpec | None:
    """The registry entry a keras.applications model was built from (by its name)."""
    name = re.sub(r"[^a-z0-9]", "", backbone.name.lower())
    best = None
    for spec in BACKBONES.values():
        key = re.sub(r"[^a-z0-9]", "", spec.constructor.lower())
        if name.startswith(key) and (best is None or len(key) > len(best[0])):
            best = (key, spec)
    return best[1] if best else None


def backbone_blocks(
    backbone, spec: BackboneSpec | None = None
) -> list[tuple[str, list]]:
    """The backbone's layers grouped into blocks, in order: `[(block, [layers])]`.

    Layers before the first block form "stem"; unnamed layers after a block join
    it (prefix style), or layers up to a boundary layer form its block (boundary
    style, e.g. Inception's `mixedN`).
    """
    spec = spec or _spec_for(backbone)
    pattern = spec.block_pattern if spec else _GENERIC_BLOCKS
    style = spec.block_style if spec else "prefix"
    body = [
        layer for layer in backbone.layers if not isinstance(layer, layers.InputLayer)
    ]
    blocks: list[tuple[str, list]] = []
    if style == "boundary":
        pending: list = []
        for layer in body:
            pending.append(layer)
            match = re.match(pattern, layer.name)
            if match:
                blocks.append((match.group(1), pending))
                pending = []
        if pending:
            if blocks:
                blocks[-1][1].extend(pending)
            else:
                blocks.append(("stem", pending))
        return blocks
    index: dict[str, int] = {}
    for layer in body:
        match = re.match(pattern, layer.name)
        block = match.group(1) if match else None
        if block is None:
            if not blocks:
                blocks.append(("stem", []))
                index["stem"] = 0
            blocks[-1][1].append(layer)
        elif block in index:
            blocks[index[block]][1].append(layer)
        else:
            index[block] = len(blocks)
            blocks.append((block, [layer]))
    return blocks


def unfreeze(model, spec="all", *, bn: str = "frozen") -> list[str]:
    """Make part of the nested backbone trainable; everything else stays frozen.

    The backbone itself is set trainable first (a trainable layer inside a frozen
    parent trains nothing in Keras), then each inner layer is set on or off.
    With `bn="frozen"` BatchNormalization layers stay non-trainable: Keras 3 runs a
    non-trainable BatchNormalization in inference mode, which is the only reliable
    way to keep its statistics fixed, because `fit` calls the whole model with
    `training=True` and that overrides a `training=False` recorded in a functional
    graph (keras-team/keras#20285). Recompile the model afterwards.

    Args:
        model: A transfer classifier (`build_transfer_classifier`).
        spec: "all", "top:N" (last N layers), "from:LAYER" (that layer onwards) or
            "blocks:K" (last K blocks). Defaults to "all".
        bn: "frozen" or "train" (BatchNormalization layers in the chosen part
            train too, statistics included). Defaults to "frozen".

    Returns:
        Names of the backbone layers now trainable.

    Raises:
        ValueError: On a bad spec or an unknown layer name.
    """
    kind, value = parse_unfreeze(spec)
    backbone = get_backbone(model)
    body = [
        layer for layer in backbone.layers if not isinstance(layer, layers.InputLayer)
    ]
    if kind == "all":
        chosen = body
    elif kind == "top":
        chosen = body[-value:]
    elif kind == "from":
        names = [layer.name for layer in body]
        if value not in names:
            raise ValueError(
                f"--unfreeze from:{value}: no layer {value!r} in backbone "
                f"{backbone.name}"
            )
        chosen = body[names.index(value) :]
    else:
        blocks = backbone_blocks(backbone)
        chosen = [layer for _, members in blocks[-value:] for layer in members]
    if bn not in BN_POLICIES:
        raise ValueError(f"bn must be one of {BN_POLICIES}, got {bn!r}")
    backbone.trainable = True
    chosen_ids = {
        id(layer)
        for layer in chosen
        if not (bn == "frozen" and isinstance(layer, layers.BatchNormalization))
    }
    for layer in body:
        layer.trainable = id(layer) in chosen_ids
    return [layer.name for layer in body if id(layer) in chosen_ids]


def _count(weights) -> int:
    total = 0
    for weight in weights:
        size = 1
        for dim in weight.shape:
            size *= int(dim)
        total += size
    return total


def trainability_table(model, *, lr=None, bn: str = "frozen") -> str:
    """Per-block trainable/frozen parameters of the backbone, then the head.

    Args:
        model: A transfer classifier.
        lr: Learning rate shown in the header. Defaults to None.
        bn: BatchNorm policy shown in the header. Defaults to "frozen".

    Returns:
        A printable table.
    """
    backbone = get_backbone(model)
    rows = []
    for block, members in backbone_blocks(backbone):
        trainable = sum(
            _count(m.trainable_weights) for m in members if backbone.trainable
        )
        total = sum(_count(m.weights) for m in members)
        rows.append((block, len(members), trainable, total - trainable))
    head_layers = [
        layer
        for layer in model.layers
        if layer is not backbone and not isinstance(layer, layers.InputLayer)
    ]
    head_trainable = sum(_count(layer.trainable_weights) for layer in head_layers)
    head_total = sum(_count(layer.weights) for layer in head_layers)
    rows.append(("head", len(head_layers), head_trainable, head_total - head_trainable))
    bn_mode = "inference (frozen statistics)" if bn == "frozen" else "training"
    header = f"backbone {backbone.name}; BatchNorm {bn_mode}"
    if lr is not None:
        header += f"; learning rate {lr:g}"
    lines = [header, f"{'block':34s} {'layers':>6s} {'trainable':>12s} {'frozen':>12s}"]
    for block, count, trainable, frozen in rows:
        lines.append(f"{block:34s} {count:6d} {trainable:12,d} {frozen:12,d}")
    total_trainable = sum(r[2] for r in rows)
    total_frozen = sum(r[3] for r in rows)
    lines.append(f"{'total':34s} {'':6s} {total_trainable:12,d} {total_frozen:12,d}")
    return "\n".join(lines)
