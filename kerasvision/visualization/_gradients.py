"""GradientTape helpers shared by the visualizers: layer lookup, split, gradients.

Every visualizer needs "the activations of layer L and the class scores, in one
forward pass, inside a GradientTape". `keras.Model(model.inputs, [layer.output,
model.output])` does that only for top-level layers: a layer inside a nested
backbone (`Input -> preprocessing -> MobileNetV2(...) -> avg_pool -> predictions`)
lives in another graph, and that is where tf-keras-vis breaks (tf-keras-vis#63).

Here the forward pass is re-run op by op instead: the outer functional graph is
executed eagerly with a hook on every operation (`run_functional_graph` of
`kerasvision._keras_internals`, over a private Keras executor); when the operation
is the nested model that holds the target layer, its own graph is executed the
same way, and the target layer's output is recorded on the way. The recorded
tensor is therefore an intermediate of the very computation that produces the
scores, so `tape.gradient(score, activations)` works at any depth. Nothing is
built on or added to the caller's model: no new layers, weights, nodes or flags.

Class score convention (used by saliency, Grad-CAM and Grad-CAM++):

- When the output layer is a `Dense` (or `Activation`/`Softmax` layer) ending in
  softmax or sigmoid, the score is the **pre-activation logit**, computed from the
  same layer's kernel and bias. Logits do not saturate, so their gradients stay
  informative for confidently classified images; Grad-CAM is defined on them.
- Otherwise (any other final layer) the score is the model output, i.e. the
  probability.
- One-sigmoid-unit binary models are expanded to two scores: with logits,
  class 1 = z and class 0 = -z (the logit of 1 - p); with probabilities,
  class 1 = p and class 0 = 1 - p.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from kerasvision._keras_internals import is_functional_graph, run_functional_graph
from kerasvision.models.heads import main_output, output_layer

__all__ = [
    "ForwardSplit",
    "as_image_batch",
    "find_layer",
    "input_gradients",
    "is_spatial_feature_layer",
    "iter_layers",
    "last_spatial_layer",
    "layer_activations",
    "layer_gradients",
    "list_layer_names",
    "normalize_max",
    "normalize_min_max",
    "predict_scores",
    "predicted_classes",
    "resize_maps",
    "split_at_layer",
]

DEFAULT_BATCH_SIZE = 32
_SQUASHING = ("softmax", "sigmoid")
_POOLING_TYPES = (
    keras.layers.MaxPooling2D,
    keras.layers.AveragePooling2D,
    keras.layers.GlobalAveragePooling2D,
    keras.layers.GlobalMaxPooling2D,
)


# === Finding layers, also inside nested models ===


def _is_container(layer) -> bool:
    return isinstance(layer, keras.Model)


def iter_layers(model, *, prefix: str = "") -> Iterator[tuple[str, tuple]]:
    """Every layer of `model`, nested models included, in graph order.

    Args:
        model: A Keras model.
        prefix: Qualified-name prefix of `model`'s layers. Defaults to "".

    Yields:
        `(qualified_name, path)` where `qualified_name` is `"outer/inner"` for a
        layer inside a nested model and `path` is the tuple of layers from the
        top-level layer down to the layer itself.
    """
    for layer in model.layers:
        name = f"{prefix}{layer.name}"
        yield name, (layer,)
        if _is_container(layer):
            for inner_name, inner_path in iter_layers(layer, prefix=f"{name}/"):
                yield inner_name, (layer, *inner_path)


def list_layer_names(model) -> list[str]:
    """Qualified names of every layer, nested models included, in graph order.

    Args:
        model: A Keras model.

    Returns:
        Names such as `"avg_pool"` (top level) or
        `"mobilenetv2_1.00_96/out_relu"` (inside the nested backbone).

    Example:
        >>> [n for n in list_layer_names(model) if n.endswith("out_relu")]
        ['mobilenetv2_1.00_96/out_relu']
    """
    return [name for name, _ in iter_layers(model)]


def find_layer(model, layer) -> tuple:
    """Resolve a layer name (plain or qualified) or instance to its path.

    A plain name is looked up among the top-level layers first, then inside
    nested models (depth first); `"outer/inner"` addresses a layer of the nested
    model `outer` explicitly, and a qualified name may leave out leading
    containers (`"backbone/conv"` finds `"wrapper/backbone/conv"`).

    Args:
        model: A Keras model.
        layer: A layer name, a qualified name such as
            `"mobilenetv2_1.00_96/out_relu"`, or a layer instance.

    Returns:
        The path: a tuple of layers from the top-level one down to the target.

    Raises:
        ValueError: If no layer matches, or a plain name matches layers in several
            nested models (use the qualified name then).

    Example:
        >>> [layer.name for layer in find_layer(model, "out_relu")]
        ['mobilenetv2_1.00_96', 'out_relu']
    """
    everything = list(iter_layers(model))
    if isinstance(layer, keras.layers.Layer):
        for _, path in everything:
            if path[-1] is layer:
                return path
        raise ValueError(f"layer {layer.name!r} is not part of model {model.name!r}")
    if not isinstance(layer, str) or not layer:
        raise ValueError(f"layer must be a layer name or instance, got {layer!r}")
    if "/" in layer:
        matches = [path for name, path in everything if name == layer]
        if not matches:
            matches = [p for name, p in everything if name.endswith(f"/{layer}")]
    else:
        matches = [path for _, path in everything if len(path) == 1]
        matches = [path for path in matches if path[-1].name == layer]
        if not matches:
            matches = [path for _, path in everything if path[-1].name == layer]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = [_qualified(path) for path in matches]
        raise ValueError(
            f"layer name {layer!r} is ambiguous in model {model.name!r}; use one of: "
            f"{', '.join(names)}"
        )
    names = [name for name, _ in everything]
    close = difflib.get_close_matches(layer, names, n=5, cutoff=0.5)
    hint = f"; did you mean {', '.join(close)}?" if close else ""
    raise ValueError(f"model {model.name!r} has no layer {layer!r}{hint}")


def _qualified(path) -> str:
    return "/".join(layer.name for layer in path)


def output_shape_of(layer) -> tuple | None:
    """The (batch-less) output shape of a layer in its own graph, or None."""
    try:
        output = layer.output
    except (AttributeError, ValueError, RuntimeError):
        return None
    shape = getattr(output, "shape", None)
    return None if shape is None else tuple(shape)


def is_spatial_feature_layer(layer, *, min_size: int = 2) -> bool:
    """True when `layer` outputs a `[N, H, W, C]` map with H, W >= `min_size`.

    Pooling and input layers are left out: the map just before a pooling layer
    carries the same evidence at twice the resolution.
    """
    if isinstance(layer, (keras.layers.InputLayer, *_POOLING_TYPES)):
        return False
    shape = output_shape_of(layer)
    if shape is None or len(shape) != 4:
        return False
    height, width = shape[1], shape[2]
    return height is not None and width is not None and min(height, width) >= min_size


def last_spatial_layer(model, *, min_size: int = 2) -> tuple:
    """Path of the last layer with a >= `min_size` spatial output, nested included.

    Nested models are searched from their last layer backwards before the layers
    that precede them, so a transfer model's target is a layer inside its
    backbone (e.g. MobileNetV2's `out_relu`), never the preprocessing.

    Raises:
        ValueError: If the model has no such layer.
    """
    found = _last_spatial(model, min_size)
    if found is None:
        raise ValueError(
            f"model {model.name!r} has no layer with a spatial output of at least "
            f"{min_size}x{min_size}; give the layer by name"
        )
    return found


def _last_spatial(model, min_size):
    for layer in reversed(model.layers):
        if _is_container(layer):
            inner = _last_spatial(layer, min_size)
            if inner is not None:
                return (layer, *inner)
            continue
        if is_spatial_feature_layer(layer, min_size=min_size):
            return (layer,)
    return None


# === The split forward pass ===


def _accepts_training(operation) -> bool:
    call = getattr(operation, "call", None)
    if call is None:
        return False
    try:
        return "training" in inspect.signature(call).parameters
    except (TypeError, ValueError):
        return False


def _main_output_index(model) -> int:
    """Index of the `predictions` output (models with auxiliary heads), else 0."""
    outputs = list(getattr(model, "outputs", None) or [])
    if len(outputs) > 1:
        try:
            main = main_output(model)
        except ValueError:
            return 0
        return next(i for i, tensor in enumerate(outputs) if tensor is main)
    return 0


def _output_operation(model, index):
    outputs = list(getattr(model, "outputs", None) or [])
    if not outputs:
        return None
    return output_layer(model, outputs[index])


def _activation_name(function) -> str:
    return getattr(function, "__name__", "")


def _logit_function(operation) -> Callable | None:
    """`inputs -> pre-activation logits` of an output layer, when it is cheap.

    Covers `Dense(activation="softmax"|"sigmoid"|"linear")` (matmul + bias with
    the layer's own variables) and standalone `Activation`/`Softmax` layers (their
    input is the logit). Returns None for anything else (probabilities are used).
    """
    if isinstance(operation, keras.layers.Dense):
        name = _activation_name(operation.activation)
        plain = getattr(operation, "quantization_mode", None) is None and not getattr(
            operation, "lora_enabled", False
        )
        if plain and name in (*_SQUASHING, "linear"):

            def dense_logits(inputs):
                inputs = tf.cast(inputs, operation.compute_dtype)
                outputs = tf.matmul(inputs, operation.kernel)
                if operation.bias is not None:
                    outputs = outputs + operation.bias
                return outputs

            return dense_logits
    if isinstance(operation, keras.layers.Softmax):
        return lambda inputs: inputs
    if isinstance(operation, keras.layers.Activation):
        if _activation_name(operation.activation) in _SQUASHING:
            return lambda inputs: inputs
    return None


def _run_graph(model, inputs, path, captured, *, final_operation=None, logits=None):
    """Run `model` eagerly on `inputs`, recording the output of `path[-1]`.

    `path` leads from one of `model`'s layers down to the target (empty: record
    nothing). When `final_operation` is met, `logits` (a dict) receives its
    pre-activation output.
    """
    target = path[0] if path else None

    def call(operation, *args, **kwargs):
        if _accepts_training(operation):
            kwargs["training"] = False
        if target is not None and operation is target and len(path) > 1:
            if not isinstance(operation, keras.Model):
                raise ValueError(f"layer {operation.name!r} is not a model")
            return _run_graph(operation, args[0], path[1:], captured)
        outputs = operation(*args, **kwargs)
        if target is not None and operation is target:
            captured.append(outputs)
        if final_operation is not None and operation is final_operation:
            logits["value"] = _logit_function(operation)(args[0])
        return outputs

    if isinstance(model, keras.Sequential):
        outputs = inputs
        for layer in model.layers:
            outputs = call(layer, outputs)
        return outputs
    if not is_functional_graph(model):
        raise ValueError(
            f"cannot look inside model {model.name!r} ({type(model).__name__}): only "
            "functional and Sequential models can be split at a layer"
        )
    return run_functional_graph(model, inputs, call)


def _final_operation(model):
    """The layer producing the main output (None for subclassed models)."""
    if isinstance(model, keras.Sequential):
        return model.layers[-1] if model.layers else None
    return _output_operation(model, _main_output_index(model))


@dataclass(frozen=True)
class ForwardSplit:
    """`images -> (activations, scores)` for one model and one layer.

    Attributes:
        model: The caller's model (used, never modified).
        path: Layers from a top-level layer down to the target; `()` for scores
            only.
        layer_name: Qualified name of the target layer ("" for scores only).
        logit_operation: The output layer whose pre-activation logits are the
            scores, or None when the scores are the model's output probabilities
            (see the module docstring).
    """

    model: object
    path: tuple
    layer_name: str
    logit_operation: object = None

    @property
    def uses_logits(self) -> bool:
        """Whether the scores are pre-activation logits."""
        return self.logit_operation is not None

    def __call__(self, images):
        """Run the model on `images` (a float tensor of raw pixels, 0-255).

        Returns:
            `(activations, scores)`: the target layer's output (None when the
            split has no layer) and `[N, K]` float32 class scores (K >= 2).

        Raises:
            ValueError: If the layer runs several times in one forward pass.
        """
        model = self.model
        images = tf.cast(images, model.inputs[0].dtype if model.inputs else "float32")
        captured: list = []
        logits: dict = {}
        graph_model = isinstance(model, keras.Sequential) or is_functional_graph(model)
        if graph_model or self.path:  # _run_graph explains what it cannot split
            outputs = _run_graph(
                model,
                images,
                self.path,
                captured,
                final_operation=self.logit_operation,
                logits=logits,
            )
        else:  # a subclassed model: scores only, as probabilities
            outputs = model(images, training=False)
        outputs = tf.nest.flatten(outputs)[_main_output_index(model)]
        if self.path and len(captured) != 1:
            raise ValueError(
                f"layer {self.layer_name!r} ran {len(captured)} times in one forward "
                "pass; pick a layer that is used once"
            )
        activations = captured[0] if self.path else None
        are_logits = "value" in logits
        raw = logits["value"] if are_logits else outputs
        return activations, _expand_binary(tf.cast(raw, tf.float32), are_logits)


def _expand_binary(scores, are_logits):
    scores = tf.reshape(scores, (tf.shape(scores)[0], -1))
    if scores.shape[-1] != 1:
        return scores
    if are_logits:
        return tf.concat([-scores, scores], axis=-1)
    return tf.concat([1.0 - scores, scores], axis=-1)


def split_at_layer(model, layer=None, *, logits: bool = True) -> ForwardSplit:
    """A function `images -> (layer activations, class scores)` for any layer.

    Works for top-level layers and for layers inside nested models (a transfer
    model's backbone), by re-running the forward pass with the target layer's
    output recorded (see the module docstring); the caller's model is untouched.

    Args:
        model: A functional or Sequential Keras classifier taking raw pixels.
        layer: Target layer: name, qualified `"outer/inner"` name or instance.
            Defaults to None (scores only; activations are None).
        logits: Use the pre-activation logits as class scores when the output
            layer allows it cheaply (see the module docstring). Defaults to True.

    Returns:
        A callable `ForwardSplit`.

    Raises:
        ValueError: If the layer is not found or is ambiguous.

    Example:
        >>> split = split_at_layer(model, "out_relu")
        >>> with tf.GradientTape() as tape:
        ...     activations, scores = split(images)
        ...     top = tf.reduce_max(scores, axis=-1)
        >>> grads = tape.gradient(top, activations)
    """
    path = find_layer(model, layer) if layer is not None else ()
    final = _final_operation(model) if logits else None
    if final is not None and _logit_function(final) is None:
        final = None
    return ForwardSplit(
        model=model,
        path=path,
        layer_name=_qualified(path) if path else "",
        logit_operation=final,
    )


# === Class indices and gradients ===


def predicted_classes(scores) -> np.ndarray:
    """`[N]` arg-max classes of `[N, K]` scores (logits or probabilities)."""
    return np.asarray(tf.argmax(scores, axis=-1), dtype="int64")


def _class_indices(class_index, scores) -> tf.Tensor:
    """`[N]` class indices: predicted when None, else broadcast and checked."""
    count, num_classes = scores.shape[0], scores.shape[-1]
    if class_index is None:
        return tf.argmax(scores, axis=-1, output_type=tf.int32)
    indices = np.asarray(class_index)
    if indices.dtype.kind not in "iu" or indices.ndim > 1:
        raise ValueError(
            f"class_index must be an integer or one integer per image, got "
            f"{class_index!r}"
        )
    indices = np.broadcast_to(indices, (count,)) if indices.ndim == 0 else indices
    if len(indices) != count:
        raise ValueError(f"got {len(indices)} class indices for {count} images")
    if indices.min() < 0 or indices.max() >= num_classes:
        raise ValueError(
            f"class_index must be in [0, {num_classes - 1}], got {indices.tolist()}"
        )
    return tf.constant(indices, dtype=tf.int32)


def _selected_scores(scores, indices):
    return tf.gather(scores, indices, axis=1, batch_dims=1)


def as_image_batch(images) -> np.ndarray:
    """Images as a float32 `[N, H, W, C]` array (a single `[H, W, C]` gets N=1).

    Raises:
        ValueError: If the array is not 3-D or 4-D.
    """
    array = np.asarray(images, dtype="float32")
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4:
        raise ValueError(
            f"images must be [N, H, W, C] or [H, W, C], got shape {array.shape}"
        )
    return array


def _batches(count, batch_size):
    for start in range(0, count, batch_size):
        yield slice(start, min(count, start + batch_size))


def _class_index_slice(class_index, part):
    if class_index is None:
        return None
    array = np.asarray(class_index)
    return array if array.ndim == 0 else array[part]


def input_gradients(
    model, images, *, class_index=None, batch_size: int = DEFAULT_BATCH_SIZE
):
    """Gradients of the class score with respect to the input pixels.

    Args:
        model: A Keras classifier taking raw pixels.
        images: `[N, H, W, C]` raw pixels (0-255).
        class_index: Class whose score is differentiated: an int, one int per
            image, or None for the predicted class. Defaults to None.
        batch_size: Images per forward pass. Defaults to 32.

    Returns:
        `(gradients [N, H, W, C] float32, class indices [N])`.

    Raises:
        ValueError: On a bad `class_index` or image array.
    """
    images = as_image_batch(images)
    split = split_at_layer(model)
    gradients, classes = [], []
    for part in _batches(len(images), batch_size):
        batch = tf.constant(images[part])
        with tf.GradientTape() as tape:
            tape.watch(batch)
            _, scores = split(batch)
            indices = _class_indices(_class_index_slice(class_index, part), scores)
            selected = _selected_scores(scores, indices)
        gradients.append(np.asarray(tape.gradient(selected, batch), dtype="float32"))
        classes.append(np.asarray(indices))
    return np.concatenate(gradients), np.concatenate(classes)


def layer_gradients(
    model, images, layer, *, class_index=None, batch_size: int = DEFAULT_BATCH_SIZE
):
    """Activations of `layer` and the gradients of the class score with respect to them.

    Args:
        model: A Keras classifier taking raw pixels.
        images: `[N, H, W, C]` raw pixels (0-255).
        layer: Layer name, qualified `"outer/inner"` name or instance.
        class_index: An int, one int per image, or None for the predicted class.
            Defaults to None.
        batch_size: Images per forward pass. Defaults to 32.

    Returns:
        `(activations, gradients, class indices [N])`, the first two float32
        arrays of the layer's output shape.

    Raises:
        ValueError: If the layer is unknown or the score does not depend on it.
    """
    images = as_image_batch(images)
    split = split_at_layer(model, layer)
    activations, gradients, classes = [], [], []
    for part in _batches(len(images), batch_size):
        batch = tf.constant(images[part])
        with tf.GradientTape() as tape:
            acts, scores = split(batch)
            indices = _class_indices(_class_index_slice(class_index, part), scores)
            selected = _selected_scores(scores, indices)
        grads = tape.gradient(selected, acts)
        if grads is None:
            raise ValueError(
                f"the class score does not depend on layer {split.layer_name!r}"
            )
        activations.append(np.asarray(tf.cast(acts, tf.float32)))
        gradients.append(np.asarray(tf.cast(grads, tf.float32)))
        classes.append(np.asarray(indices))
    return (
        np.concatenate(activations),
        np.concatenate(gradients),
        np.concatenate(classes),
    )


def layer_activations(model, images, layer, *, batch_size: int = DEFAULT_BATCH_SIZE):
    """The output of `layer` (any depth) for `images`, as a float32 array."""
    images = as_image_batch(images)
    split = split_at_layer(model, layer, logits=False)
    outputs = []
    for part in _batches(len(images), batch_size):
        acts, _ = split(tf.constant(images[part]))
        outputs.append(np.asarray(tf.cast(acts, tf.float32)))
    return np.concatenate(outputs)


def predict_scores(model, images, *, batch_size: int = DEFAULT_BATCH_SIZE):
    """`[N, K]` class scores (see the module docstring) without gradients."""
    images = as_image_batch(images)
    split = split_at_layer(model)
    scores = [
        np.asarray(split(tf.constant(images[part]))[1])
        for part in _batches(len(images), batch_size)
    ]
    return np.concatenate(scores)


# === Map post-processing ===


def normalize_min_max(maps) -> np.ndarray:
    """Scale each `[H, W]` map of a batch to [0, 1]; constant maps become 0."""
    maps = np.asarray(maps, dtype="float32")
    axes = tuple(range(1, maps.ndim))
    low = maps.min(axis=axes, keepdims=True)
    span = maps.max(axis=axes, keepdims=True) - low
    return np.divide(maps - low, span, out=np.zeros_like(maps), where=span > 0).astype(
        "float32"
    )


def normalize_max(maps) -> np.ndarray:
    """Divide each non-negative map of a batch by its maximum (0 stays 0)."""
    maps = np.maximum(np.asarray(maps, dtype="float32"), 0.0)
    axes = tuple(range(1, maps.ndim))
    top = maps.max(axis=axes, keepdims=True)
    return np.divide(maps, top, out=np.zeros_like(maps), where=top > 0).astype(
        "float32"
    )


def resize_maps(maps, size) -> np.ndarray:
    """Bilinear resize of `[N, h, w]` maps to `size = (H, W)`."""
    maps = np.asarray(maps, dtype="float32")
    if maps.shape[1:3] == tuple(size):
        return maps
    resized = tf.image.resize(maps[..., None], tuple(size), method="bilinear")
    return np.asarray(resized)[..., 0]
