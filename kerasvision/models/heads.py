"""Classifier heads: input checks, the head builder, and finding the main output.

Every kerasvision classifier ends in the same head (`apply_classifier_head`):
global pooling (`avg_pool` / `max_pool`) or `flatten`, optional dense layers
`fc1..fcN`, `dropout`, and the float32 `predictions` layer. Auxiliary heads
(Inception v1) are named `aux<i>_...`; `main_output` and `strip_auxiliary_heads`
find the main one by the layer name `predictions`.
"""

from __future__ import annotations

import keras
from keras import layers

from kerasvision._choices import POOLINGS
from kerasvision.models.blocks import batch_normalization

__all__ = [
    "UNKNOWN_CLASS",
    "apply_classifier_head",
    "as_tuple",
    "check_input_shape",
    "classifier_units",
    "main_output",
    "make_regularizer",
    "output_layer",
    "serving_model",
    "serving_probabilities",
    "strip_auxiliary_heads",
    "unknown_threshold",
]

#: The answer of `predict --min-confidence` / `export --min-confidence` below P.
UNKNOWN_CLASS = "unknown"


def check_input_shape(input_shape, *, min_size: int = 1, model_name: str = "model"):
    """Validate `(height, width, channels)`; returns it as a tuple of ints.

    Raises:
        ValueError: If the shape is not 3 positive integers or smaller than
            `min_size` in height or width.
    """
    try:
        shape = tuple(int(v) for v in input_shape)
    except (TypeError, ValueError):
        raise ValueError(
            f"input_shape must be (height, width, channels), got {input_shape!r}"
        ) from None
    if len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            f"input_shape must be 3 positive integers (height, width, channels), "
            f"got {input_shape!r}"
        )
    if shape[0] < min_size or shape[1] < min_size:
        raise ValueError(
            f"image size {shape[0]}x{shape[1]} is too small for {model_name}: "
            f"it needs at least {min_size}x{min_size}"
        )
    return shape


def classifier_units(num_classes: int, classifier_activation: str | None):
    """Output units and activation for `num_classes` (2 -> one sigmoid unit).

    Args:
        num_classes: Number of classes, >= 2.
        classifier_activation: `None` (sigmoid for 2 classes, softmax otherwise),
            `"softmax"` (one unit per class, also for 2), `"sigmoid"` (binary
            only) or `"multilabel"` (one sigmoid unit per label: a set of
            labels per image, `--task multilabel`). Defaults to `None` at every
            caller.

    Returns:
        `(units, activation)`.
    """
    if not isinstance(num_classes, int) or isinstance(num_classes, bool):
        raise ValueError(f"num_classes must be an integer, got {num_classes!r}")
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if classifier_activation is None:
        classifier_activation = "sigmoid" if num_classes == 2 else "softmax"
    if classifier_activation == "sigmoid":
        if num_classes != 2:
            raise ValueError(
                "classifier_activation='sigmoid' is only for 2 classes "
                f"(got num_classes={num_classes})"
            )
        return 1, "sigmoid"
    if classifier_activation == "softmax":
        return num_classes, "softmax"
    if classifier_activation == "multilabel":
        return num_classes, "sigmoid"
    raise ValueError(
        "classifier_activation must be None, 'softmax', 'sigmoid' or "
        f"'multilabel', got {classifier_activation!r}"
    )


def make_regularizer(l1: float = 0.0, l2: float = 0.0):
    """A Keras L1/L2 kernel regularizer, or `None` when both are 0."""
    for name, value in (("l1", l1), ("l2", l2)):
        if value < 0:
            raise ValueError(f"{name} must be >= 0, got {value}")
    if not l1 and not l2:
        return None
    return keras.regularizers.L1L2(l1=float(l1), l2=float(l2))


def apply_classifier_head(
    x,
    num_classes: int,
    *,
    pooling: str = "avg",
    feature_norm: bool = False,
    dense_units=(),
    activation: str = "relu",
    dropout_rate: float = 0.0,
    dense_dropout: bool = False,
    kernel_initializer="glorot_uniform",
    kernel_regularizer=None,
    classifier_activation: str | None = None,
):
    """Pooling/flatten, optional dense layers, dropout and the `predictions` layer.

    Layer names: `avg_pool`, `max_pool` or `flatten`, `feature_bn`,
    `fc1`..`fcN`, `dropout`, `predictions`; with `dense_dropout`, `fc1_dropout`
    .. `fc{N-1}_dropout` too (the last dense layer's is `dropout`).

    Args:
        x: The last spatial feature map (a Keras tensor).
        num_classes: Number of classes.
        pooling: "avg" (global average pooling, `avg_pool`), "max" (global max
            pooling, `max_pool`) or "flatten". Defaults to "avg".
        feature_norm: A `feature_bn` BatchNormalization on the pooled features
            (standardized inputs for the dense layers). Defaults to False.
        dense_units: Units of hidden dense layers. Defaults to ().
        activation: Activation of the hidden dense layers. Defaults to "relu".
        dropout_rate: Dropout before `predictions`; 0 disables. Defaults to 0.0.
        dense_dropout: A dropout of `dropout_rate` after every hidden dense
            layer, not only before `predictions` ("a dropout layer after each
            fully connected layer", as in AlexNet and VGG). Defaults to False.
        kernel_initializer: Initializer of the dense kernels. Defaults to
            "glorot_uniform".
        kernel_regularizer: Regularizer of the dense kernels. Defaults to None.
        classifier_activation: See `classifier_units`. Defaults to None.

    Returns:
        The output tensor.
    """
    if pooling not in POOLINGS:
        raise ValueError(f"pooling must be one of {POOLINGS}, got {pooling!r}")
    if not 0.0 <= dropout_rate < 1.0:
        raise ValueError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    units, output_activation = classifier_units(num_classes, classifier_activation)
    if pooling == "flatten":
        x = layers.Flatten(name="flatten")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    else:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if feature_norm:
        x = batch_normalization(name="feature_bn")(x)
    widths = as_tuple(dense_units, "dense_units")
    for index, width in enumerate(widths, start=1):
        x = layers.Dense(
            int(width),
            activation=activation,
            kernel_initializer=kernel_initializer,
            kernel_regularizer=kernel_regularizer,
            name=f"fc{index}",
        )(x)
        if dense_dropout and dropout_rate and index < len(widths):
            x = layers.Dropout(dropout_rate, name=f"fc{index}_dropout")(x)
    if dropout_rate:
        x = layers.Dropout(dropout_rate, name="dropout")(x)
    # float32 output keeps the softmax numerically safe under mixed precision.
    return layers.Dense(
        units,
        activation=output_activation,
        kernel_initializer=kernel_initializer,
        dtype="float32",
        name="predictions",
    )(x)


def as_tuple(value, name: str = "value") -> tuple:
    """None -> (), a whole number -> (n,), a sequence of them -> a tuple of ints.

    Raises:
        ValueError: Naming `name`, for anything else (`64.0`, `inf`, `"a"`).
    """
    import numbers

    if value is None:
        return ()
    iterable = hasattr(value, "__iter__") and not isinstance(value, str | bytes)
    items = tuple(value) if iterable else (value,)
    if not all(
        isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in items
    ):
        raise ValueError(f"{name} must be whole numbers, got {value!r}")
    return tuple(int(v) for v in items)


def main_output(model):
    """The main output tensor of a classifier (the `predictions` layer's).

    A single-output model's only output; a multi-output model's output of the
    layer named `predictions` (the auxiliary heads are `aux<i>_...`).

    Raises:
        ValueError: If a multi-output model has no `predictions` layer.
    """
    if len(model.outputs) == 1:
        return model.outputs[0]
    try:
        return model.get_layer("predictions").output
    except ValueError:
        raise ValueError(
            f"model {model.name!r} has {len(model.outputs)} outputs and no layer "
            f"named 'predictions'"
        ) from None


def strip_auxiliary_heads(model):
    """The serving model of a multi-output classifier: `predictions` only.

    The returned functional model shares the layers (hence the weights) of
    `model` up to the `predictions` layer; auxiliary heads such as Inception v1's
    `aux1_predictions`/`aux2_predictions` are left out. Export, evaluate and
    serve this model. A single-output model is returned unchanged.

    Args:
        model: A functional `keras.Model` with a layer named `predictions`.

    Returns:
        A `keras.Model` with one output, `predictions`.

    Raises:
        ValueError: If a multi-output model has no `predictions` layer.

    Example:
        >>> model = build_inception_v1((32, 32, 1), 10, width_multiplier=0.25)
        >>> len(strip_auxiliary_heads(model).outputs)
        1
    """
    if len(model.outputs) == 1:
        return model
    # `model.input` keeps the input structure (a bare tensor, not a one-item
    # list), so the exported serving signature takes a plain tensor.
    return keras.Model(model.input, main_output(model), name=model.name)


def output_layer(model, tensor=None):
    """The layer of `model` whose output is `tensor` (default: the main output).

    Returns:
        The layer, or None when no layer of `model` produced `tensor` (e.g. the
        output of a nested model's inner layer).
    """
    tensor = main_output(model) if tensor is None else tensor
    for layer in reversed(model.layers):
        try:
            produced = layer.output
        except (AttributeError, ValueError):  # unbuilt, or called several times
            continue
        if produced is tensor:
            return layer
    return None


def serving_probabilities(outputs):
    """Class probabilities `[N, K]` from a classifier output (1 sigmoid unit -> 2).

    Works on NumPy arrays and on TensorFlow tensors inside a serving graph.
    """
    outputs = keras.ops.cast(outputs, "float32")
    if outputs.shape[-1] == 1:
        return keras.ops.concatenate([1.0 - outputs, outputs], axis=-1)
    return outputs


def serving_model(model, *, temperature=None, tta=None):
    """The model that serves: main output only, calibrated, optionally with TTA.

    Args:
        model: A trained classifier (raw 0-255 pixels in).
        temperature: The run's fitted temperature, or one per label (a list:
            a multi-label run, `LabelTemperatureScaling`); None or 1.0 adds
            nothing. Defaults to None.
        tta: Test-time augmentation, "flip" or "flip+crop" (see
            `kerasvision.layers.tta`): the probabilities of the views are
            averaged inside the model. Defaults to None (none).

    Returns:
        A one-output `keras.Model` sharing `model`'s weights (or `model` itself
        when there is nothing to add).

    Example:
        >>> served = serving_model(model, temperature=1.7, tta="flip")
    """
    model = strip_auxiliary_heads(model)
    scale = _temperature_layer(temperature)
    if scale is None and tta is None:
        return model
    calibrated = model
    if scale is not None:
        calibrated = keras.Model(model.input, scale(model.outputs[0]), name=model.name)
    if tta is None:
        return calibrated
    from kerasvision.layers.tta import TestTimeViews, ViewAverage, view_count

    inputs = keras.Input(model.input_shape[1:], name="images")
    probabilities = calibrated(TestTimeViews(tta, name="tta_views")(inputs))
    averaged = ViewAverage(view_count(tta), name="tta_average")(probabilities)
    return keras.Model(inputs, averaged, name=f"{model.name}_tta")


def _temperature_layer(temperature):
    """The layer that serves `temperature` (one, or one per label), or None
    when it changes nothing."""
    if temperature is None:
        return None
    if isinstance(temperature, list | tuple):  # a multi-label run's, per label
        if all(float(t) == 1.0 for t in temperature):
            return None
        from kerasvision.layers.label_sets import LabelTemperatureScaling

        return LabelTemperatureScaling(temperature, name="temperature", dtype="float32")
    if float(temperature) == 1.0:
        return None
    from kerasvision.layers.outputs import TemperatureScaling

    return TemperatureScaling(temperature, name="temperature", dtype="float32")


def unknown_threshold(min_confidence, class_names) -> float | None:
    """Check a `--min-confidence` P (0 < P <= 1) against the class names.

    Raises:
        ValueError: If P is out of range, or a class is already named "unknown".
    """
    if min_confidence is None:
        return None
    value = float(min_confidence)
    if not 0.0 < value <= 1.0:
        raise ValueError(f"--min-confidence must be in (0, 1], got {min_confidence}")
    if UNKNOWN_CLASS in class_names:
        raise ValueError(
            f"a class is named {UNKNOWN_CLASS!r}: --min-confidence would make its "
            f"answers ambiguous"
        )
    return value
