"""Transfer learning: a new head on a keras.applications or KerasHub backbone
(or on Model A).

`build_transfer_classifier` wraps a backbone as a nested model whose BatchNorm
layers stay in inference mode even when unfrozen (`bn="train"` for the other
policy) behind the family's preprocessing, so the model takes raw
0-255 pixels. `unfreeze` resolves fine-tuning choices *inside* the nested backbone
(a nested layer is only trainable when its parent is, which Keras does not tell
you) and `trainability_table` shows the result per block.
"""

from __future__ import annotations

import re

import keras
from keras import layers

from kerasvision._choices import BN_POLICIES
from kerasvision.models.backbones import (
    BACKBONES,
    BackboneSpec,
    build_backbone,
    get_backbone_spec,
    is_backbone_reference,
)
from kerasvision.models.heads import apply_classifier_head
from kerasvision.models.hub import (
    build_hub_backbone,
    hub_default_size,
    hub_feature_layer,
    hub_label,
    is_hub_backbone,
    is_hub_model,
)

__all__ = [
    "ENCODER_BACKBONE",
    "backbone_blocks",
    "backbone_with_preprocessing",
    "build_transfer_classifier",
    "freeze_backbone",
    "get_backbone",
    "parse_unfreeze",
    "resolve_unfreeze",
    "trainability_table",
    "transfer_feature_layer",
    "unfreeze",
]

POOLINGS = ("avg", "max", "flatten")
#: Name of an autoencoder's encoder used as a backbone (`reuse.load_backbone`).
#: Its output is a code, not pooled classifier features: the head flattens it and
#: standardizes it (see `build_transfer_classifier`).
ENCODER_BACKBONE = "encoder"
_GENERIC_BLOCKS = r"^([a-z]+\d+[a-z]?)_"  # block1_conv1, c3_conv, stage2_... (Model A)


def build_transfer_classifier(
    backbone,
    num_classes: int,
    *,
    weights="imagenet",
    input_shape=None,
    pooling: str | None = None,
    feature_norm: bool | None = None,
    dropout_rate: float = 0.2,
    dense_units=(),
    trainable=False,
    bn: str = "frozen",
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """A new classifier head on a pretrained backbone (feature extraction / fine-tune).

    Args:
        backbone: Registry name (e.g. "mobilenet_v2"), keras.applications name,
            "hub:PRESET" (a KerasHub image backbone with its preset's
            preprocessing, `kerasvision.models.hub`), or a `keras.Model` taking
            raw pixels, used as is (e.g. Model A from
            `kerasvision.reuse.load_backbone(path)`, cut at its feature layer).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        weights: "imagenet" (for "hub:PRESET": the preset's weights), None, or a
            local `.h5`/`.weights.h5` path (keras.applications only; ignored
            for a `keras.Model`). Defaults to "imagenet".
        input_shape: `(height, width, 3)`. Defaults to None (the family's default
            size, or the given model's input shape).
        pooling: "avg" (`avg_pool`), "max" (`max_pool`) or "flatten"; None
            gives "flatten" for an autoencoder's encoder (a backbone model named
            `ENCODER_BACKBONE`: its spatial code says *where* strokes are, which
            global pooling throws away) and "avg" otherwise. Defaults to None.
        feature_norm: Standardize the pooled features with a trainable
            `feature_bn` BatchNormalization before the dropout; None turns it on
            for an encoder, whose ReLU code is un-centred (all >= 0, mean ~1)
            and makes a linear head converge very slowly at Adam's 1e-3.
            Defaults to None.
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
        ValueError, FileNotFoundError, RuntimeError: see `build_backbone` and
            `build_hub_backbone`.
        TypeError: If `backbone` is a path (load it with
            `kerasvision.reuse.load_backbone` first).

    Example:
        >>> model = build_transfer_classifier(
        ...     "mobilenet_v2", 5, weights=None, input_shape=(96, 96, 3))
    """
    if bn not in BN_POLICIES:
        raise ValueError(f"bn must be one of {BN_POLICIES}, got {bn!r}")
    is_encoder = isinstance(backbone, keras.Model) and (
        backbone.name == ENCODER_BACKBONE
    )
    pooling = pooling or ("flatten" if is_encoder else "avg")
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    feature_norm = is_encoder if feature_norm is None else bool(feature_norm)
    base, preprocessing, label, input_shape = backbone_with_preprocessing(
        backbone, weights=weights, input_shape=input_shape
    )
    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs if preprocessing is None else preprocessing(inputs)
    # training=False states the intent (inference-mode backbone); under `fit`
    # Keras 3 overrides it, so `unfreeze` also keeps BatchNorm layers frozen.
    x = base(x, training=False) if bn == "frozen" else base(x)
    outputs = apply_classifier_head(
        x,
        num_classes,
        pooling=pooling,
        feature_norm=feature_norm,
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


def backbone_with_preprocessing(backbone, *, weights="imagenet", input_shape=None):
    """The backbone model and the layer that maps raw pixels to its inputs.

    Args:
        backbone: See `build_transfer_classifier`.
        weights: See `build_transfer_classifier`. Defaults to "imagenet".
        input_shape: `(height, width, 3)`. Defaults to None (the family's or
            preset's default size, or the given model's input shape).

    Returns:
        `(backbone model, preprocessing layer or None, label, input shape)`:
        call the preprocessing (when not None), then the backbone, on raw 0-255
        pixels of that shape; `label` names the backbone in model names.

    Raises:
        ValueError, FileNotFoundError, RuntimeError, TypeError: see
            `build_transfer_classifier`.
    """
    from kerasvision.layers.preprocessing import preprocessing_layer

    if isinstance(backbone, keras.Model):
        if input_shape is not None and tuple(input_shape) != tuple(
            backbone.input_shape[1:]
        ):
            height, width, channels = backbone.input_shape[1:]
            raise ValueError(
                f"the backbone model takes {height}x{width}x{channels} images, not "
                f"{'x'.join(str(v) for v in input_shape)}; use --image-size "
                f"{height}x{width}"
            )
        return backbone, None, backbone.name, tuple(backbone.input_shape[1:])
    if not isinstance(backbone, str) or is_backbone_reference(backbone):
        raise TypeError(
            f"backbone must be a registry name, hub:PRESET or a keras.Model, got "
            f"{backbone!r}; load a model file or run directory with "
            f"kerasvision.reuse.load_backbone(path) first"
        )
    if is_hub_backbone(backbone):
        if input_shape is None:
            size = hub_default_size(backbone)
            input_shape = (size, size, 3)
        base, converter = build_hub_backbone(backbone, input_shape, weights=weights)
        if all(v is not None for v in base.input_shape[1:]):
            input_shape = base.input_shape[1:]
        return base, converter, hub_label(backbone), tuple(input_shape)
    label, spec = get_backbone_spec(backbone)
    if input_shape is None:
        input_shape = (spec.default_size, spec.default_size, 3)
    base = build_backbone(label, input_shape, weights=weights)
    preprocessing = None
    if spec.preprocessing:
        preprocessing = preprocessing_layer(spec.preprocessing)
    return base, preprocessing, label, tuple(base.input_shape[1:])


def get_backbone(model):
    """The nested backbone model inside a transfer classifier."""
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            return layer
    raise ValueError(f"model {model.name!r} has no nested backbone")


def transfer_feature_layer(model, backbone_name: str | None = None) -> str:
    """Name of the last spatial feature layer inside a transfer classifier's backbone.

    Args:
        model: A transfer classifier (`build_transfer_classifier`).
        backbone_name: The registry name it was built from. Defaults to None
            (recognised from the nested backbone's name).

    Returns:
        A layer name inside the nested backbone, e.g. "out_relu".
    """
    inner = get_backbone(model)
    if is_hub_model(inner):
        return hub_feature_layer(inner)
    if backbone_name is not None and not is_backbone_reference(backbone_name):
        spec = get_backbone_spec(backbone_name)[1]
    else:
        spec = _spec_for(inner)
    return (spec.feature_layer if spec else None) or inner.layers[-1].name


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
    if is_hub_model(backbone):  # "mobile_net_backbone" is no keras.applications one
        return None
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


def resolve_unfreeze(model, spec="all", *, bn: str = "frozen") -> list:
    """The backbone layers that `unfreeze(model, spec, bn=bn)` would make trainable.

    Changes nothing, so a bad spec is caught before any training.

    Raises:
        ValueError: On a bad spec, an unknown layer name, or more layers/blocks
            than the backbone has.
    """
    kind, value = parse_unfreeze(spec)
    if bn not in BN_POLICIES:
        raise ValueError(f"bn must be one of {BN_POLICIES}, got {bn!r}")
    backbone = get_backbone(model)
    body = [
        layer for layer in backbone.layers if not isinstance(layer, layers.InputLayer)
    ]
    if kind == "all":
        chosen = body
    elif kind == "top":
        if value > len(body):
            raise ValueError(
                f"--unfreeze top:{value}: backbone {backbone.name} has only "
                f"{len(body)} layers"
            )
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
        if value > len(blocks):
            raise ValueError(
                f"--unfreeze blocks:{value}: backbone {backbone.name} has only "
                f"{len(blocks)} blocks"
            )
        chosen = [layer for _, members in blocks[-value:] for layer in members]
    return [
        layer
        for layer in chosen
        if not (bn == "frozen" and isinstance(layer, layers.BatchNormalization))
    ]


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
        ValueError: On a bad spec, an unknown layer name, or more layers/blocks
            than the backbone has.
    """
    chosen_ids = {id(layer) for layer in resolve_unfreeze(model, spec, bn=bn)}
    backbone = get_backbone(model)
    backbone.trainable = True
    body = [
        layer for layer in backbone.layers if not isinstance(layer, layers.InputLayer)
    ]
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
