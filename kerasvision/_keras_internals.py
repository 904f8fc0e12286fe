"""The workarounds that need private Keras/TensorFlow internals, in one place.

Each names the upstream issue it works around; `tests/test_keras_internals.py`
checks both that the internal still exists (so an upgrade that removes it fails
loudly) and that the upstream problem is still there (so a fix upstream tells us
to drop the workaround).
"""

from __future__ import annotations

import contextlib

__all__ = ["build_for_strategy", "ema_weights", "op_determinism", "tensor_seeds"]


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
