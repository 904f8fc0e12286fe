"""keras.applications architectures trained from scratch (`fit --model xception`).

`build_application` builds a `kerasvision.models.backbones.BACKBONES` family with
`weights=None` on a raw-pixel input (the family's preprocessing inside, grayscale
tiled to RGB) and the kerasvision head. The family's layers are part of the
returned model (not a nested backbone), so its feature layer is reachable by name.
The registry entries (`application_specs`) are plain data made from `BACKBONES`.
"""

from __future__ import annotations

from kerasvision.models._spec import ModelSpec
from kerasvision.models.backbones import BACKBONES, get_backbone_spec

__all__ = ["APPLICATION_PREFIX", "application_specs", "build_application"]

#: Registry names of the scratch keras.applications models: "keras_xception"...
APPLICATION_PREFIX = "keras_"


def application_specs() -> dict[str, ModelSpec]:
    """One `ModelSpec` per keras.applications family, named `keras_<backbone>`."""
    return {
        f"{APPLICATION_PREFIX}{name}": ModelSpec(
            builder="kerasvision.models.applications:build_application",
            description=f"keras.applications.{spec.constructor} from scratch "
            f"(weights=None), {spec.params / 1e6:.1f}M parameters without top.",
            default_size=max(64, spec.min_size),
            min_size=spec.min_size,
            feature_layer=spec.feature_layer,
            defaults={"architecture": name},
        )
        for name, spec in BACKBONES.items()
    }


def build_application(
    input_shape,
    num_classes: int,
    *,
    architecture: str,
    pooling: str = "avg",
    dropout_rate: float = 0.2,
    classifier_activation: str | None = None,
    name: str | None = None,
):
    """A keras.applications architecture with random weights and a kerasvision head.

    Args:
        input_shape: `(height, width, channels)` of raw 0-255 pixels, 1 or 3
            channels (grayscale is tiled to RGB by `to_rgb`), at least the
            family's minimum size (`kerasvision backbones`).
        num_classes: Number of classes (2 -> one sigmoid unit by default).
        architecture: A backbone registry name, e.g. "xception", "inception_v3",
            "efficientnet_b0"; required.
        pooling: "avg", "max" or "flatten". Defaults to "avg".
        dropout_rate: Dropout before `predictions`. Defaults to 0.2.
        classifier_activation: None, "softmax" or "sigmoid". Defaults to None.
        name: Model name. Defaults to None (the architecture name).

    Returns:
        An uncompiled functional `keras.Model`, every layer trainable.

    Raises:
        ValueError: On an unknown architecture, a too small input or 4 channels.

    Example:
        >>> model = build_application((64, 64, 1), 10, architecture="mobilenet_v2")
        >>> model.get_layer("out_relu").output.shape
        (None, 2, 2, 1280)
    """
    import keras
    from keras import layers

    from kerasvision.layers.preprocessing import preprocessing_layer
    from kerasvision.models.heads import apply_classifier_head, check_input_shape

    key, spec = get_backbone_spec(architecture)
    shape = check_input_shape(input_shape, min_size=spec.min_size, model_name=key)
    if shape[2] not in (1, 3):
        raise ValueError(f"{key} takes 1 or 3 channels, got {shape[2]}")
    inputs = keras.Input(shape=shape, name="image")
    x = inputs
    if shape[2] == 1:
        x = layers.Concatenate(name="to_rgb")([x, x, x])
    if spec.preprocessing:
        x = preprocessing_layer(spec.preprocessing)(x)
    constructor = getattr(keras.applications, spec.constructor)
    # input_tensor: the family's layers join this graph (no nested model).
    base = constructor(include_top=False, weights=None, input_tensor=x)
    outputs = apply_classifier_head(
        base.outputs[0],
        num_classes,
        pooling=pooling,
        dropout_rate=dropout_rate,
        classifier_activation=classifier_activation,
    )
    return keras.Model(inputs, outputs, name=name or key)
