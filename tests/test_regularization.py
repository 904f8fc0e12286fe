"""Regularization: initializers, class weights as sample weights, ensembles."""

import math
import re

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import assert_keras_round_trip, assert_layer_config_round_trip
from scipy import stats
from sklearn.utils.class_weight import compute_class_weight

from kerasvision.layers.outputs import BinaryToCategorical
from kerasvision.models.ensemble import build_ensemble
from kerasvision.regularization import (
    INITIALIZERS,
    TorchUniform,
    add_sample_weights,
    compute_class_weights,
    get_initializer,
)

# === Initializers ===


def test_torch_uniform_bounds_are_one_over_sqrt_fan_in():
    for shape in [(3, 3, 4, 8), (100, 10), (5, 5, 1, 2)]:  # conv, dense, 1-channel
        fan_in = math.prod(shape[:-1])
        bound = 1.0 / math.sqrt(fan_in)
        assert TorchUniform.fan_in(shape) == fan_in
        values = np.asarray(TorchUniform(seed=0)(shape))
        assert values.shape == shape
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.9 * bound  # fills the whole interval
        assert abs(values.mean()) < 0.2 * bound


def test_torch_uniform_round_trips_through_keras_file(tmp_path):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Conv2D(4, 3, kernel_initializer=TorchUniform(seed=3), name="c")(
        inputs
    )
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(
        3, kernel_initializer=get_initializer("torch_uniform", seed=1), name="d"
    )(x)
    model = keras.Model(inputs, outputs)
    images = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 3)).astype("float32")
    loaded = assert_keras_round_trip(model, tmp_path / "m.keras", images)
    for name in ("c", "d"):
        original = model.get_layer(name).kernel_initializer
        restored = loaded.get_layer(name).kernel_initializer
        assert isinstance(restored, TorchUniform)
        assert restored.get_config() == original.get_config()
    config = TorchUniform(seed=5).get_config()
    assert TorchUniform.from_config(config).get_config() == config


def _kernels(initializer):
    """Dense, Conv and a second Conv kernel drawn from one shared initializer."""
    dense = keras.layers.Dense(6, kernel_initializer=initializer)
    dense.build((None, 12))
    conv = keras.layers.Conv2D(6, 3, kernel_initializer=initializer)
    conv.build((None, 8, 8, 2))
    twin = keras.layers.Conv2D(6, 3, kernel_initializer=initializer)
    twin.build((None, 8, 8, 2))
    return [np.asarray(layer.kernel) for layer in (dense, conv, twin)]


@pytest.mark.parametrize("name", list(INITIALIZERS), ids=list(INITIALIZERS))
def test_every_initializer_builds_dense_and_conv_kernels(name):
    dense, conv, twin = _kernels(get_initializer(name, seed=0))
    assert dense.shape == (12, 6)
    assert conv.shape == (3, 3, 2, 6)
    assert np.all(np.isfinite(conv))
    if INITIALIZERS[name].random:
        assert np.std(conv) > 0
        # One shared instance still gives each layer its own values ...
        assert not np.array_equal(conv, twin)
        # ... and the same seed gives the same values again.
        for first, again in zip(
            (dense, conv, twin), _kernels(get_initializer(name, seed=0)), strict=True
        ):
            np.testing.assert_array_equal(again, first)
    else:
        np.testing.assert_array_equal(conv, 0.0)


def test_get_initializer_options_and_errors():
    constant = keras.layers.Dense(
        2, kernel_initializer=get_initializer("constant=0.25")
    )
    constant.build((None, 3))
    np.testing.assert_array_equal(np.asarray(constant.kernel), 0.25)
    assert get_initializer("constant", value=2.0).get_config()["value"] == 2.0
    with pytest.raises(
        ValueError, match="unknown initializer 'xavier'; valid: uniform"
    ):
        get_initializer("xavier")
    with pytest.raises(ValueError, match="VALUE must be a number, got 'abc'"):
        get_initializer("constant=abc")
    with pytest.raises(ValueError, match="'he_normal' takes no value"):
        get_initializer("he_normal", value=1.0)
    with pytest.raises(ValueError, match="seed must be None, an int"):
        TorchUniform(seed="0")


def _large_kernel(initializer):
    """A 400 x 250 Dense kernel (100,000 weights) as float64."""
    dense = keras.layers.Dense(250, kernel_initializer=initializer)
    dense.build((None, 400))
    return np.asarray(dense.kernel, dtype=np.float64).ravel()


@pytest.mark.parametrize(("mean", "std"), [(0.0, 1.0), (2.5, 0.3), (-1.0, 4.0)])
def test_normal_mean_std_samples_follow_that_normal(mean, std):
    weights = _large_kernel(get_initializer(f"normal:{mean},{std}", seed=0))

    # Standard errors on 1e5 samples: std/316 for the mean, ~std/447 for the std.
    assert abs(weights.mean() - mean) < 5 * std / math.sqrt(weights.size)
    assert weights.std() == pytest.approx(std, rel=0.02)
    # Not truncated: about 0.27% of N(mean, std^2) lies beyond 3 std.
    assert 0.002 < np.mean(np.abs(weights - mean) > 3 * std) < 0.0035
    assert stats.kstest(weights, "norm", args=(mean, std)).pvalue > 1e-3


@pytest.mark.parametrize(("low", "high"), [(-1.0, 1.0), (0.5, 2.0), (-3.0, -2.5)])
def test_uniform_low_high_samples_fill_that_interval(low, high):
    weights = _large_kernel(get_initializer(f"uniform:{low},{high}", seed=0))
    width = high - low

    assert weights.min() >= low and weights.max() <= high
    assert weights.min() < low + 0.001 * width and weights.max() > high - 0.001 * width
    assert abs(weights.mean() - (low + high) / 2) < 5 * width / math.sqrt(
        12 * weights.size
    )
    assert weights.var() == pytest.approx(width**2 / 12, rel=0.02)
    assert stats.kstest(weights, "uniform", args=(low, width)).pvalue > 1e-3


def test_parameter_forms_set_the_keras_arguments():
    forms = {
        "normal": {"mean": 0.0, "stddev": 0.05},
        "normal:0,1": {"mean": 0.0, "stddev": 1.0},
        " Normal: -0.5 , 2e-1 ": {"mean": -0.5, "stddev": 0.2},
        "uniform": {"minval": -0.05, "maxval": 0.05},
        "uniform:-2,3": {"minval": -2.0, "maxval": 3.0},
        "uniform=0,0.25": {"minval": 0.0, "maxval": 0.25},
        "constant": {"value": 0.0},
        "constant:0.1": {"value": 0.1},
        "constant=-3": {"value": -3.0},
    }
    for text, expected in forms.items():
        config = get_initializer(text, seed=0).get_config()
        assert {k: config[k] for k in expected} == expected, text
    config = get_initializer("normal", value=(1.0, 3.0), seed=0).get_config()
    assert (config["mean"], config["stddev"]) == (1.0, 3.0)
    constant = keras.layers.Dense(2, kernel_initializer=get_initializer("constant:7"))
    constant.build((None, 3))
    np.testing.assert_array_equal(np.asarray(constant.kernel), 7.0)
    assert INITIALIZERS["normal"].usage("normal") == "normal:MEAN,STD"
    assert INITIALIZERS["he_normal"].usage("he_normal") == "he_normal"


BAD_INITIALIZERS = {
    "normal:0,0": "'normal:MEAN,STD': STD must be > 0, got 0",
    "normal:0,-1": "STD must be > 0, got -1",
    "normal:0": "'normal:MEAN,STD' takes 2 number",
    "normal:0,1,2": "takes 2 number",
    "normal:nan,1": "MEAN must be finite, got nan",
    "normal:0,inf": "STD must be finite, got inf",
    "normal:a,1": "MEAN must be a number, got 'a'",
    "uniform:1,1": "'uniform:LOW,HIGH': LOW must be < HIGH, got 1 and 1",
    "uniform:2,-2": "LOW must be < HIGH, got 2 and -2",
    "uniform:-inf,0": "LOW must be finite",
    "uniform:": "takes 2 number",
    "constant:1,2": "'constant:VALUE' takes 1 number",
    "constant:inf": "VALUE must be finite",
    "he_uniform:1": "'he_uniform' takes no value",
    "glorot_normal=0.1": "'glorot_normal' takes no value",
}


def test_bad_initializer_parameters_raise_one_line_errors():
    for text, message in BAD_INITIALIZERS.items():
        with pytest.raises(ValueError, match=re.escape(message)) as error:
            get_initializer(text)
        assert "\n" not in str(error.value), text
    with pytest.raises(ValueError, match="value given twice"):
        get_initializer("constant:1", value=2.0)
    with pytest.raises(ValueError, match=re.escape("'uniform:LOW,HIGH' takes 2")):
        get_initializer("uniform", value=0.5)


# === Class weights ===


def test_balanced_class_weights_match_sklearn():
    labels = np.array([0] * 10 + [1] * 3 + [2] * 7 + [3] * 1)
    expected = compute_class_weight("balanced", classes=np.arange(4), y=labels)
    np.testing.assert_allclose(compute_class_weights(labels, 4), expected)
    one_hot = np.eye(4)[labels]
    np.testing.assert_allclose(compute_class_weights(one_hot, 4), expected)


def test_class_weight_modes_and_errors():
    np.testing.assert_array_equal(
        compute_class_weights(
            [0, 1], 3, {1: 2.0, "owl": 0.5}, class_names=["a", "b", "owl"]
        ),
        [1.0, 2.0, 0.5],
    )
    np.testing.assert_array_equal(compute_class_weights([0], 2, [1, 3]), [1.0, 3.0])
    with pytest.raises(ValueError, match="none of class"):
        compute_class_weights([0, 0, 1], 3)
    with pytest.raises(ValueError, match="labels must be in"):
        compute_class_weights([0, 5], 3)
    with pytest.raises(ValueError, match="unknown class 'cat'"):
        compute_class_weights([0, 1], 2, {"cat": 2.0})
    with pytest.raises(ValueError, match="finite and >= 0"):
        compute_class_weights([0, 1], 2, [1.0, -1.0])


def test_add_sample_weights_follow_the_labels():
    weights = np.array([0.5, 2.0, 4.0])
    images = np.zeros((4, 2, 2, 1), "float32")
    labels = np.array([0, 2, 1, 2])
    int_ds = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    _, y, w = next(iter(add_sample_weights(int_ds, weights)))
    np.testing.assert_array_equal(y, labels)
    np.testing.assert_allclose(w, weights[labels])

    soft = np.array(
        [[1, 0, 0], [0, 0, 1], [0.25, 0.75, 0], [0, 0.5, 0.5]], dtype="float32"
    )
    soft_ds = tf.data.Dataset.from_tensor_slices((images, soft)).batch(4)
    _, _, w = next(iter(add_sample_weights(soft_ds, weights)))
    np.testing.assert_allclose(w, [0.5, 4.0, 0.25 * 0.5 + 0.75 * 2.0, 3.0])

    sigmoid = np.array([[0.0], [1.0], [0.25], [1.0]], dtype="float32")
    binary_ds = tf.data.Dataset.from_tensor_slices((images, sigmoid)).batch(4)
    _, _, w = next(iter(add_sample_weights(binary_ds, [1.0, 3.0])))
    np.testing.assert_allclose(w, [1.0, 3.0, 1.5, 3.0])
    with pytest.raises(ValueError, match="3 columns but 2 weights"):
        add_sample_weights(soft_ds, [1.0, 2.0])


# === Ensembles ===


def _tiny_classifier(units, activation, seed, name="tiny"):
    inputs = keras.Input((8, 8, 3))
    x = keras.layers.Rescaling(1 / 255)(inputs)
    x = keras.layers.Conv2D(4, 3, kernel_initializer=keras.initializers.HeNormal(seed))(
        x
    )
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(
        units,
        activation=activation,
        kernel_initializer=keras.initializers.GlorotUniform(seed),
        name="predictions",
    )(x)
    return keras.Model(inputs, outputs, name=name)


def _pixels(count=5):
    return np.random.default_rng(1).uniform(0, 255, (count, 8, 8, 3)).astype("float32")


def test_ensemble_averages_members_and_round_trips(tmp_path):
    first = _tiny_classifier(3, "softmax", 1)
    second = _tiny_classifier(3, "softmax", 2)  # same name: wrapped uniquely
    ensemble = build_ensemble([first, second])
    images = _pixels()
    expected = (
        first.predict(images, verbose=0) + second.predict(images, verbose=0)
    ) / 2
    np.testing.assert_allclose(ensemble.predict(images, verbose=0), expected, atol=1e-6)
    assert ensemble.name == "ensemble"
    assert ensemble.output_shape == (None, 3)
    assert ensemble.layers[-1].name == "predictions"
    assert_keras_round_trip(ensemble, tmp_path / "ensemble.keras", images)


def test_ensemble_with_a_sigmoid_member_exports(tmp_path):
    from kerasvision.export import export_saved_model

    binary = _tiny_classifier(1, "sigmoid", 3, name="binary")
    softmax = _tiny_classifier(2, "softmax", 4, name="softmax")
    ensemble = build_ensemble([binary, softmax], name="mixed")
    images = _pixels()
    p = binary.predict(images, verbose=0)
    expected = (
        np.concatenate([1 - p, p], axis=1) + softmax.predict(images, verbose=0)
    ) / 2
    np.testing.assert_allclose(ensemble.predict(images, verbose=0), expected, atol=1e-6)
    np.testing.assert_allclose(
        ensemble.predict(images, verbose=0).sum(1), 1.0, atol=1e-6
    )
    report = export_saved_model(
        ensemble, tmp_path / "serving", class_names=["no", "yes"], sample_images=images
    )
    assert report["max_abs_diff"] <= 1e-5
    assert_layer_config_round_trip(BinaryToCategorical(name="two"))


def test_ensemble_rejects_mismatched_members():
    small = _tiny_classifier(3, "softmax", 1)
    with pytest.raises(ValueError, match="at least 2 models"):
        build_ensemble([small])
    with pytest.raises(ValueError, match="same number of classes"):
        build_ensemble([small, _tiny_classifier(4, "softmax", 2)])
    inputs = keras.Input((16, 16, 3))
    outputs = keras.layers.Dense(3, activation="softmax")(
        keras.layers.GlobalAveragePooling2D()(inputs)
    )
    with pytest.raises(ValueError, match="same input shape"):
        build_ensemble([small, keras.Model(inputs, outputs)])


def test_augmented_weighted_stream_trains_with_a_smoothed_categorical_loss():
    from kerasvision.augmentation import apply_augmentation

    images, labels = _pixels(8), np.array([0, 1, 2, 0, 0, 1, 0, 0])
    train = tf.data.Dataset.from_tensor_slices((images, labels)).batch(4)
    train, one_hot = apply_augmentation(
        train, "flip,cutmix,mixup", num_classes=3, seed=0
    )
    assert one_hot  # so the caller compiles a categorical loss
    train = add_sample_weights(train, compute_class_weights(labels, 3))
    model = _tiny_classifier(3, "softmax", 5)
    model.compile(
        optimizer="adam",
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        metrics=[keras.metrics.CategoricalAccuracy(name="accuracy")],
    )
    history = model.fit(train, epochs=2, verbose=0, shuffle=False)
    assert np.all(np.isfinite(history.history["loss"]))
