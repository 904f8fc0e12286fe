"""The workarounds that need private Keras/TensorFlow internals, in one place.

Each names the upstream issue it works around; `tests/test_keras_internals.py`
checks both that the internal still exists (so an upgrade that removes it fails
loudly) and that the upstream problem is still there (so a fix upstream tells us
to drop the workaround).
"""

from __future__ import annotations

import contextlib

# Keras exports no public name for the base class of its random image layers
# (`keras.layers.RandomFlip`...); kerasvision's random layers follow it.
from keras.src.layers.preprocessing.image_preprocessing.base_image_preprocessing_layer import (  # noqa: E501
    BaseImagePreprocessingLayer,
)

__all__ = [
    "SEED_GENERATOR_STATE",
    "BaseImagePreprocessingLayer",
    "rand_augment_transformation",
    "build_for_strategy",
    "ema_weights",
    "is_functional_graph",
    "op_determinism",
    "optimizer_variable_index",
    "predict_without_xla",
    "run_functional_graph",
    "seed_generator_states",
    "tensor_seeds",
]


def build_for_strategy(model, dataset, strategy) -> None:
    """Build a model's training state under `strategy` without iterating data.

    keras-team/keras#20585: Keras 3's `fit` on a model that remembers its
    distribution strategy first pulls one batch through a new iterator to build
    the training state symbolically; that extra iteration advances the seeded
    reshuffle, so every epoch sees the order of the next one and distributed
    training no longer matches a single process. Building the state from the
    dataset's `element_spec` (`Model._symbolic_build`, private) and letting the
    model take the strategy from the active scope (`Model._distribute_strategy`,
    private) gives the same batches, epoch by epoch, as one process.

    Args:
        model: A compiled Keras model created under `strategy.scope()`.
        dataset: The training `tf.data.Dataset`.
        strategy: The `tf.distribute.Strategy`.
    """
    with strategy.scope():
        model._symbolic_build(data_batch=dataset.element_spec)
    model._distribute_strategy = None  # resolved from the active scope


def op_determinism_enabled() -> bool:
    """Whether TensorFlow op determinism is on (a private TF query)."""
    from tensorflow.python.framework import config as tf_config

    return bool(tf_config.is_op_determinism_enabled())


def _set_op_determinism(enabled: bool) -> None:
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    if enabled:
        tf.config.experimental.enable_op_determinism()
    elif tf_config.is_op_determinism_enabled():
        # TensorFlow has no public way to switch it off again.
        tf_config.disable_op_determinism()


@contextlib.contextmanager
def op_determinism(enabled: bool):
    """TensorFlow op determinism on (or off) inside the block, restored after.

    Seeded runs are bit-reproducible with it on. Keras turns XLA off while it is
    on, so a run with `jit_compile=True` switches it off for its duration.
    `tf.config.experimental.enable_op_determinism` has no public inverse, hence
    the private `disable_op_determinism` here.
    """
    previous = op_determinism_enabled()
    _set_op_determinism(enabled)
    try:
        yield
    finally:
        _set_op_determinism(previous)


def ema_weights(model) -> list:
    """`[(variable, moving_average)]` of the model's optimizer with `use_ema`.

    Keras keeps the averages privately, aligned with the optimizer's variables,
    and only offers `finalize_variable_values` (the end-of-fit swap); EMA
    validation needs the pairs during training. Empty without EMA.
    """
    optimizer = getattr(model, "optimizer", None)
    optimizer = getattr(optimizer, "inner_optimizer", optimizer)  # loss scaling
    if optimizer is None or not getattr(optimizer, "use_ema", False):
        return []
    averages = getattr(optimizer, "_model_variables_moving_average", None) or []
    variables = getattr(optimizer, "_trainable_variables", None) or []
    return [
        (variable, average)
        for variable, average in zip(variables, averages, strict=False)
        if average is not None
    ]


def is_functional_graph(model) -> bool:
    """Whether `run_functional_graph` can run `model` (a functional model; not a
    subclassed one, whose `call` is plain Python, nor a `Sequential`)."""
    return hasattr(model, "_run_through_graph")


def run_functional_graph(model, inputs, call_fn):
    """Run a functional model's own graph on `inputs`, every layer through a hook.

    `call_fn(layer, *args, **kwargs)` stands in for `layer(*args, **kwargs)` at
    each layer of `model`'s graph, in order, and returns that layer's outputs: it
    may call the layer, record what it returns, or run a nested model its own way.

    The visualizers need one layer's activations and the class scores from one
    forward pass inside a `GradientTape`, also for a layer inside a nested model
    (a transfer model's backbone). The public way, `keras.Model(model.inputs,
    [layer.output, model.output])`, refuses a nested layer ("not connected to
    `inputs`": its output belongs to the nested model's own graph;
    tf-keras-vis#63), and `Functional.call` offers no public per-layer hook.
    `Function._run_through_graph(inputs, operation_fn, call_fn)` (private) is the
    executor of `Functional.call`, and its `call_fn` is that hook.

    Args:
        model: A functional Keras model (see `is_functional_graph`).
        inputs: The model's inputs (a tensor or the structure `model` takes).
        call_fn: `(layer, *args, **kwargs) -> outputs`.

    Returns:
        The model's outputs.

    Raises:
        ValueError: If `model` is not a functional model.
    """
    if not is_functional_graph(model):
        raise ValueError(
            f"model {model.name!r} ({type(model).__name__}) has no functional graph"
        )
    return model._run_through_graph(
        inputs, operation_fn=lambda operation: operation, call_fn=call_fn
    )


#: The name Keras gives the state variable of every `SeedGenerator`.
SEED_GENERATOR_STATE = "seed_generator_state"


def seed_generator_states(layer) -> list:
    """The state variables of the `SeedGenerator`s of `layer` and its sublayers.

    Keras lists a layer's seed generators only privately (`Layer._seed_generators`,
    without the sublayers'); their states are found among the layer's public
    `non_trainable_variables` by the name Keras gives them,
    `"seed_generator_state"`. Keras does not save these states in `.keras` files,
    so a resumed run sets them itself (`reseed_random_layers`).

    Args:
        layer: A Keras layer (a model: the states of all its layers).

    Returns:
        The state variables, in the layer's variable order.
    """
    return [
        variable
        for variable in layer.non_trainable_variables
        if variable.name == SEED_GENERATOR_STATE
    ]


def predict_without_xla(model, images):
    """`model.predict(images)` with XLA off for the call, then back on.

    An export serves the plain graph, and an XLA-fused predict rounds (bf16
    especially) differently, so export checks compare with a predict without
    XLA. Keras traces `predict_function` once, with the `jit_compile` of that
    moment, and keeps it (`Trainer.make_predict_function` returns the cached
    function): switching `model.jit_compile` alone changes nothing. The cached
    function (the Trainer's `predict_function` attribute, not public API) is
    dropped before and after the call so each setting gets its own trace.

    Args:
        model: A Keras model.
        images: Its input.

    Returns:
        The predictions, as `model.predict` returns them.
    """
    if getattr(model, "jit_compile", False) is not True:
        return model.predict(images, verbose=0)
    model.jit_compile = False
    model.predict_function = None
    try:
        return model.predict(images, verbose=0)
    finally:
        model.jit_compile = True
        model.predict_function = None


@contextlib.contextmanager
def tensor_seeds():
    """Let tf.data ops take tensor seeds inside a traced function under a global
    seed.

    tensorflow/tensorflow#17284 and #58433: `random_seed.get_seed` compares the
    seeds with `(0, 0)` in Python, which fails ("a symbolic tf.Tensor as a Python
    bool") for a tensor op seed whenever a global seed is set, as
    `keras.utils.set_random_seed` does. Inside the block the function graph being
    traced has no graph seed, so the op seed (a tensor) is used alone; this
    changes only that function's graph.
    """
    import tensorflow as tf

    graph = tf.compat.v1.get_default_graph()
    saved = graph.seed
    graph.seed = None
    try:
        yield
    finally:
        graph.seed = saved


def rand_augment_transformation(layer, images, seeds):
    """What `RandAugment.get_random_transformation` returns, drawn from `seeds`.

    Keras's `RandAugment` ignores the `seed` it is given and draws from its own
    generator (keras 3.15), so a tf.data pipeline could not make it
    reproducible. Its sub-layers (public attributes, named in the private class
    attribute `_AUGMENT_LAYERS`) do honour a seed, and its `transform_images`
    reads the `{"transforms", "layer_idxes"}` built here from them.

    Args:
        layer: A `keras.layers.RandAugment`.
        images: The batch `[B, H, W, C]`.
        seeds: A `keras.random.SeedGenerator` (or an int seed).
    """
    import keras

    names = type(layer)._AUGMENT_LAYERS
    transforms = {
        name: getattr(layer, name).get_random_transformation(
            images, training=True, seed=seeds
        )
        for name in names
    }
    indices = keras.random.randint((layer.num_ops,), 0, len(names), seed=seeds)
    return {"transforms": transforms, "layer_idxes": indices}


def optimizer_variable_index(optimizer, variable) -> int:
    """The position of `variable` among the optimizer's built variables.

    `update_step(gradient, variable, learning_rate)` receives the backend's
    variable (on TensorFlow the backing `tf.Variable`, not the
    `keras.Variable`), so a per-variable setting (layer-wise learning rates)
    needs Keras's private `Optimizer._get_variable_index` to find it.
    """
    return optimizer._get_variable_index(variable)
