"""The private Keras/TF internals kerasvision relies on (kerasvision._keras_internals).

Each test fails when an upgrade removes the internal (the workaround must be
rewritten) and the "still needed" tests fail when upstream fixes the problem
(the workaround can go).
"""

import contextlib

import keras
import numpy as np
import tensorflow as tf

from kerasvision._keras_internals import (
    SEED_GENERATOR_STATE,
    build_for_strategy,
    is_functional_graph,
    op_determinism,
    op_determinism_enabled,
    predict_without_xla,
    run_functional_graph,
    seed_generator_states,
    tensor_seeds,
)


def _model():
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    return model


def _dataset():
    x = np.arange(24, dtype="float32").reshape(8, 3)
    return tf.data.Dataset.from_tensor_slices((x, x[:, :2])).batch(4)


def test_the_private_model_hooks_still_exist():
    model = _model()
    assert callable(getattr(model, "_symbolic_build", None))
    assert hasattr(model, "_distribute_strategy")
    strategy = tf.distribute.get_strategy()
    build_for_strategy(model, _dataset(), strategy)
    assert model.optimizer.built and model._distribute_strategy is None


def test_keras_20585_fit_still_pulls_an_extra_batch_under_a_strategy():
    """keras-team/keras#20585: a model created under a strategy scope pulls one
    batch through a new iterator before training (what build_for_strategy
    avoids). When this stops being true, drop the workaround."""
    pulled = []

    def count(x, y):
        tf.py_function(lambda: pulled.append(1) or 0, [], tf.int32)
        return x, y

    strategy = tf.distribute.OneDeviceStrategy("/cpu:0")
    with strategy.scope():
        model = _model()
    dataset = _dataset().map(count)
    model.fit(dataset, epochs=1, verbose=0)
    assert len(pulled) > 2  # 2 batches per epoch, plus the extra pull


def test_op_determinism_is_restored_and_has_no_public_inverse():
    assert not hasattr(tf.config.experimental, "disable_op_determinism")
    before = op_determinism_enabled()
    with op_determinism(True):
        assert op_determinism_enabled()
        with op_determinism(False):
            assert not op_determinism_enabled()
        assert op_determinism_enabled()
    assert op_determinism_enabled() == before


def _nested_classifier():
    """`Input -> backbone (a nested functional model: conv, pool) -> Dense`."""
    inner_inputs = keras.Input((6, 6, 1))
    features = keras.layers.Conv2D(2, 3, name="conv")(inner_inputs)
    pooled = keras.layers.GlobalAveragePooling2D()(features)
    backbone = keras.Model(inner_inputs, pooled, name="backbone")
    inputs = keras.Input((6, 6, 1))
    outputs = keras.layers.Dense(3, name="predictions")(backbone(inputs))
    return keras.Model(inputs, outputs), backbone


def test_the_private_functional_graph_executor_still_exists():
    model, backbone = _nested_classifier()
    images = tf.constant(np.arange(72, dtype="float32").reshape(2, 6, 6, 1))
    called = []

    def call(layer, *args, **kwargs):
        called.append(layer.name)
        return layer(*args, **kwargs)

    outputs = run_functional_graph(model, images, call)

    assert called == ["backbone", "predictions"]
    np.testing.assert_allclose(outputs, model(images), rtol=1e-6)
    assert is_functional_graph(model) and is_functional_graph(backbone)
    sequential = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2)])
    assert not is_functional_graph(sequential)
    try:
        run_functional_graph(sequential, tf.ones((1, 3)), call)
    except ValueError as error:
        assert "has no functional graph" in str(error)
    else:  # pragma: no cover - the check above must refuse it
        raise AssertionError("run_functional_graph ran a Sequential model")


def test_tf_keras_vis_63_a_nested_layer_is_still_not_connected_to_the_inputs():
    """The public way to get a layer's activations with the scores,
    `keras.Model(model.inputs, [layer.output, model.output])`, still refuses a
    layer inside a nested model (what run_functional_graph avoids). When this
    stops being true, use it and drop the private executor."""
    model, backbone = _nested_classifier()
    try:
        keras.Model(model.inputs, [backbone.get_layer("conv").output, model.output])
    except ValueError as error:
        assert "not connected" in str(error)  # still needed
    else:  # pragma: no cover - fixed upstream: drop run_functional_graph
        raise AssertionError("nested layers connect now; drop run_functional_graph")


def test_seed_generator_states_are_still_found_by_their_keras_name():
    first = keras.layers.Dropout(0.5, seed=1)
    second = keras.layers.Dropout(0.5, seed=2)
    model = keras.Sequential([keras.Input((4,)), first, keras.layers.Dense(2), second])

    found = [seed_generator_states(layer) for layer in model.layers]

    assert keras.random.SeedGenerator(3).state.name == SEED_GENERATOR_STATE
    assert found[0] == [first.seed_generator.state]
    assert found[1] == []
    assert found[2] == [second.seed_generator.state]
    assert seed_generator_states(model) == [
        first.seed_generator.state,
        second.seed_generator.state,
    ]
    # Keras lists a layer's seed generators only privately; with a public list,
    # use it instead of the variable name.
    assert hasattr(first, "_seed_generators")
    assert not hasattr(first, "seed_generators")


def _shuffled_by_tensor_seed(workaround):
    def order(seed):
        with tensor_seeds() if workaround else contextlib.nullcontext():
            return tf.data.Dataset.range(6).shuffle(6, seed=seed * 7 + 1)

    start = tf.data.Dataset.from_tensors(tf.constant(3, tf.int64))
    return [int(v) for v in start.flat_map(order)]


def test_tensorflow_17284_tensor_seeds_still_fail_under_a_global_seed():
    keras.utils.set_random_seed(0)  # a global seed, as every seeded fit sets
    try:
        _shuffled_by_tensor_seed(workaround=False)
    except tf.errors.OperatorNotAllowedInGraphError:
        pass  # still needed
    else:  # pragma: no cover - fixed upstream: drop tensor_seeds
        raise AssertionError("tensor seeds work now; remove tensor_seeds()")
    first = _shuffled_by_tensor_seed(workaround=True)
    assert sorted(first) == list(range(6))
    assert _shuffled_by_tensor_seed(workaround=True) == first


def test_keras_caches_predict_function_across_jit_compile_changes():
    """`Trainer.make_predict_function` keeps the function traced with the
    `jit_compile` of the first predict: switching `model.jit_compile` alone
    does not rebuild it (what `predict_without_xla` works around by dropping
    the private `predict_function`). When this stops being true, drop the reset."""
    model = _model()
    x = np.arange(12, dtype="float32").reshape(4, 3)
    expected = model.predict(x, verbose=0)
    cached = model.predict_function
    assert cached is not None  # the attribute still exists and is still cached
    model.jit_compile = True
    model.predict(x, verbose=0)
    assert model.predict_function is cached  # still needed: not rebuilt
    np.testing.assert_allclose(predict_without_xla(model, x), expected, rtol=1e-6)
    assert model.jit_compile is True and model.predict_function is None


def test_rand_augment_still_ignores_an_explicit_seed():
    """Keras's RandAugment draws from its own generator whatever `seed` it gets;
    when this fails, `rand_augment_transformation` can go. It builds what the
    layer's `transform_images` reads, from its public sub-layers."""
    import keras
    import numpy as np

    from kerasvision._keras_internals import rand_augment_transformation

    images = np.random.default_rng(0).uniform(0, 255, (4, 16, 16, 3))
    images = images.astype("float32")
    layer = keras.layers.RandAugment(seed=1)
    draws = [
        layer.get_random_transformation(images, seed=keras.random.SeedGenerator(3))
        for _ in range(2)
    ]
    values = [
        np.asarray(d["transforms"]["random_brightness"]["rgb_delta"]) for d in draws
    ]
    assert not np.array_equal(values[0], values[1])
    ours = [rand_augment_transformation(layer, images, 3) for _ in range(2)]
    assert set(ours[0]["transforms"]) == set(type(layer)._AUGMENT_LAYERS)
    out = [np.asarray(layer.transform_images(images, t)) for t in ours]
    np.testing.assert_array_equal(out[0], out[1])


def test_the_random_image_layer_base_class_is_still_private():
    """kerasvision's random layers subclass Keras's `BaseImagePreprocessingLayer`,
    which Keras does not export; when it does, import it from there."""
    import keras

    from kerasvision._keras_internals import BaseImagePreprocessingLayer

    assert issubclass(keras.layers.RandomFlip, BaseImagePreprocessingLayer)
    assert not hasattr(keras.layers, "BaseImagePreprocessingLayer")


def test_update_step_still_gets_the_backend_variable():
    """`update_step` receives the backing tf.Variable, not the keras.Variable, so
    the layer-wise rates need `optimizer_variable_index` (private
    `_get_variable_index`) to find each variable's scale."""
    import keras

    from kerasvision._keras_internals import optimizer_variable_index

    seen = []

    class Probe(keras.optimizers.SGD):
        def update_step(self, gradient, variable, learning_rate):
            seen.append((variable, optimizer_variable_index(self, variable)))
            return super().update_step(gradient, variable, learning_rate)

    first, second = keras.Variable([1.0]), keras.Variable([2.0])
    optimizer = Probe(0.1)
    optimizer.apply_gradients([(np.ones(1, "float32"), first),
                               (np.ones(1, "float32"), second)])  # fmt: skip
    assert [index for _, index in seen] == [0, 1]
    assert not any(variable is first for variable, _ in seen)  # still needed
