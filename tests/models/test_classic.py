"""Tests of the classic architectures (models/classic.py, models/blocks.py).

Every registry entry of `CLASSIC_MODELS` is built with its defaults at its
`default_size`, trained for one step, round-tripped through `.keras` and exported
as a SavedModel; the rest checks exact parameter counts against hand counts.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from kerasvision.layers.normalization import LocalResponseNormalization  # noqa: E402
from kerasvision.models import (  # noqa: E402
    MODELS,
    build_model,
    classic,
    feature_layer_name,
)
from kerasvision.models._classic_specs import CLASSIC_MODELS  # noqa: E402
from kerasvision.models.blocks import apply_residual_block  # noqa: E402
from kerasvision.models.densenet import (  # noqa: E402
    apply_dense_block,
    apply_transition,
)
from kerasvision.models.heads import strip_auxiliary_heads  # noqa: E402
from kerasvision.models.inception import apply_inception_module  # noqa: E402
from kerasvision.models.mobilenet import (  # noqa: E402
    apply_depthwise_separable_block,
)

NAMES = sorted(CLASSIC_MODELS)
REPO_ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _seed_zero():
    # conftest has already cleared the Keras session for this test.
    keras.utils.set_random_seed(0)


def _count(layer) -> int:
    return sum(math.prod(weight.shape) for weight in layer.weights)


def _trainable_count(model) -> int:
    return sum(math.prod(weight.shape) for weight in model.trainable_weights)


def _as_list(outputs):
    return list(outputs) if isinstance(outputs, (list, tuple)) else [outputs]


# === Registry ===


def test_classic_specs_import_without_keras():
    # Load the spec modules with stub parent packages so only their own imports
    # run: the registry must stay plain data.
    code = f"""
import sys, types
root = {str(REPO_ROOT)!r}
for name, path in (("kerasvision", root + "/kerasvision"),
                   ("kerasvision.models", root + "/kerasvision/models")):
    module = types.ModuleType(name)
    module.__path__ = [path]
    sys.modules[name] = module
import kerasvision.models._classic_specs as specs
assert specs.CLASSIC_MODELS, "empty registry"
heavy = [m for m in ("keras", "tensorflow") if m in sys.modules]
assert not heavy, heavy
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_classic_models_are_registered():
    expected = {
        "alexnet", "vgg11", "vgg13", "vgg16", "vgg19", "inception_v1", "resnet18",
        "resnet34", "resnet50", "resnet20", "densenet121", "densenet_small",
        "mobilenet_v1", "plain_cnn", "residual_cnn",
    }  # fmt: skip
    assert expected <= set(CLASSIC_MODELS)
    for name, spec in CLASSIC_MODELS.items():
        assert MODELS[name] is spec
        assert callable(spec.resolve_builder())
        assert spec.min_size <= spec.default_size
        assert spec.feature_layer
    assert CLASSIC_MODELS["inception_v1"].aux_loss_weight == 0.3


# === Every entry: build, train one step, save/load, export ===


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_classic_model_trains_saves_and_exports(name, tmp_path):
    spec = CLASSIC_MODELS[name]
    size = spec.default_size
    model = build_model(name, (size, size, 1), 3)

    # Raw pixels in, rescaled inside; named feature layer of at least 2x2.
    assert model.inputs[0].shape == (None, size, size, 1)
    assert model.get_layer("rescaling") is model.layers[1]
    feature = model.get_layer(spec.feature_layer).output
    assert len(feature.shape) == 4 and min(feature.shape[1:3]) >= 2
    assert feature_layer_name(model, name) == spec.feature_layer

    rng = np.random.default_rng(0)
    images = rng.uniform(0, 255, (4, size, size, 1)).astype("float32")
    labels = np.array([0, 1, 2, 0])
    num_outputs = len(model.outputs)
    # Eager: tracing the backward graph of DenseNet-121 alone takes about a
    # minute on 2 cores; graph-mode training is covered by
    # test_alexnet_with_lrn_trains_in_graph_mode and the export traces the
    # inference graph of every entry.
    compile_kwargs = {"optimizer": "adam", "run_eagerly": True}
    if spec.aux_loss_weight:
        assert [t.shape for t in model.outputs] == [(None, 3)] * 3
        assert model.output_names[0] == "predictions"
        aux = spec.aux_loss_weight
        model.compile(
            loss=["sparse_categorical_crossentropy"] * 3,
            loss_weights=[1.0, aux, aux],
            **compile_kwargs,
        )
        targets = [labels] * 3
    else:
        assert num_outputs == 1 and model.output_shape == (None, 3)
        model.compile(loss="sparse_categorical_crossentropy", **compile_kwargs)
        targets = labels
    kernel = model.get_layer("predictions").kernel
    before = keras.ops.convert_to_numpy(kernel).copy()
    logs = model.train_on_batch(images, targets, return_dict=True)
    assert np.isfinite(logs["loss"])
    assert not np.allclose(before, keras.ops.convert_to_numpy(kernel))

    # .keras round trip (safe mode: no Lambda layers).
    # Eager calls: the export below traces each entry's inference graph once.
    expected = _as_list(model(images, training=False))
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    got_outputs = _as_list(loaded(images, training=False))
    for got, want in zip(got_outputs, expected, strict=True):
        np.testing.assert_allclose(got, want, atol=1e-6)
    assert loaded.get_layer(spec.feature_layer).name == spec.feature_layer

    # SavedModel export of the serving model: predictions only.
    serving = strip_auxiliary_heads(model)
    assert len(serving.outputs) == 1
    assert not [layer.name for layer in serving.layers if layer.name.startswith("aux")]
    serving_expected = np.asarray(serving(images, training=False))
    np.testing.assert_allclose(serving_expected, expected[0], atol=1e-6)
    export_dir = tmp_path / "export"
    serving.export(str(export_dir), format="tf_saved_model", verbose=False)
    reloaded = tf.saved_model.load(str(export_dir))
    served = reloaded.serve(tf.constant(images))
    assert not isinstance(served, (list, tuple, dict))
    served = served.numpy()
    assert served.shape == (4, 3)
    assert np.max(np.abs(served - serving_expected)) <= 1e-5


@pytest.mark.parametrize("name", NAMES, ids=NAMES)
def test_classic_model_binary_head_and_min_size(name):
    spec = CLASSIC_MODELS[name]
    # 2 classes: one sigmoid unit (on every output), computed in float32.
    size = spec.default_size
    model = build_model(name, (size, size, 3), 2)
    assert all(tensor.shape == (None, 1) for tensor in model.outputs)
    assert model.get_layer("predictions").activation is keras.activations.sigmoid
    assert model.get_layer("predictions").dtype_policy.compute_dtype == "float32"

    # min_size builds with a >= 2x2 feature map; one pixel less is refused.
    with pytest.raises(ValueError, match="too small"):
        build_model(name, (spec.min_size - 1, spec.min_size + 8, 3), 3)
    model = build_model(name, (spec.min_size, spec.min_size, 3), 3)
    feature = model.get_layer(spec.feature_layer).output
    assert min(feature.shape[1:3]) >= 2


@pytest.mark.parametrize(
    ("builder", "kwargs", "message"),
    [
        (classic.build_resnet, {"depth": 19}, "depth must be one of"),
        (classic.build_resnet, {"block": "wide"}, "block must be one of"),
        (classic.build_cifar_resnet, {"depth": 21}, "depth must be 6 \\* n \\+ 2"),
        (classic.build_vgg, {"depths": "vgg12"}, "unknown VGG preset"),
        (classic.build_vgg, {"depths": (1, 1)}, "one value per block"),
        (classic.build_alexnet, {"width_multiplier": 0}, "width_multiplier"),
        (classic.build_alexnet, {"stem": "huge"}, "stem must be one of"),
        (classic.build_densenet, {"compression": 0.0}, "compression"),
        (classic.build_densenet, {"growth_rate": 0}, "growth_rate"),
        (classic.build_mobilenet_v1, {"alpha": -1.0}, "alpha"),
        (classic.build_inception_v1, {"dropout_rate": 1.0}, "dropout_rate"),
    ],
    ids=[
        "resnet-depth",
        "resnet-block",
        "cifar-depth",
        "vgg-preset",
        "vgg-depths",
        "alexnet-width",
        "alexnet-stem",
        "densenet-compression",
        "densenet-growth",
        "mobilenet-alpha",
        "inception-dropout",
    ],  # fmt: skip
)
def test_builders_reject_invalid_arguments(builder, kwargs, message):
    with pytest.raises(ValueError, match=message):
        builder((32, 32, 3), 3, **kwargs)


def test_num_classes_is_validated():
    with pytest.raises(ValueError, match="num_classes"):
        classic.build_resnet((32, 32, 3), 1)


# === Local response normalization ===


def test_lrn_config_round_trip_and_matches_tf():
    layer = LocalResponseNormalization(
        depth_radius=3, bias=1.5, alpha=2e-3, beta=0.6, name="lrn"
    )
    config = layer.get_config()
    assert {key: config[key] for key in ("depth_radius", "bias", "alpha", "beta")} == {
        "depth_radius": 3,
        "bias": 1.5,
        "alpha": 2e-3,
        "beta": 0.6,
    }
    clone = LocalResponseNormalization.from_config(config)
    assert clone.get_config() == config
    serialized = keras.saving.serialize_keras_object(layer)
    assert serialized["registered_name"] == "kerasvision>LocalResponseNormalization"
    revived = keras.saving.deserialize_keras_object(serialized)
    assert isinstance(revived, LocalResponseNormalization)
    assert revived.get_config() == config

    x = np.random.default_rng(1).normal(size=(2, 5, 5, 11)).astype("float32") * 3
    expected = tf.nn.local_response_normalization(
        x, depth_radius=3, bias=1.5, alpha=2e-3, beta=0.6
    )
    np.testing.assert_allclose(layer(x), expected, rtol=1e-5, atol=1e-6)


def test_alexnet_with_lrn_trains_in_graph_mode(tmp_path):
    model = classic.build_alexnet(
        (32, 32, 3), 3, width_multiplier=0.125, local_response_norm=True
    )
    assert isinstance(model.get_layer("conv1_lrn"), LocalResponseNormalization)
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3))
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    logs = model.train_on_batch(images, np.array([0, 1, 2, 1]), return_dict=True)
    assert np.isfinite(logs["loss"])
    expected = model.predict(images, verbose=0)
    path = tmp_path / "alexnet_lrn.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(loaded.predict(images, verbose=0), expected, atol=1e-6)
    model.export(str(tmp_path / "export"), format="tf_saved_model", verbose=False)
    # Keep a reference: the restored object owns the variables.
    reloaded = tf.saved_model.load(str(tmp_path / "export"))
    served = reloaded.serve(tf.constant(images, "float32"))
    assert np.max(np.abs(served.numpy() - expected)) <= 1e-5


# === Blocks: exact parameter counts ===


def test_mobilenet_v1_depthwise_separable_weights():
    model = build_model("mobilenet_v1", (32, 32, 3), 3)
    for index in range(1, 14):
        depthwise = model.get_layer(f"dw{index}_depthwise")
        pointwise = model.get_layer(f"dw{index}_pointwise")
        c_in = depthwise.input.shape[-1]
        c_out = pointwise.output.shape[-1]
        assert tuple(depthwise.kernel.shape) == (3, 3, c_in, 1)
        assert tuple(pointwise.kernel.shape) == (1, 1, c_in, c_out)
        # No biases: batch norm follows each convolution.
        separable = _count(depthwise) + _count(pointwise)
        assert separable == 3 * 3 * c_in + c_in * c_out
        standard = 3 * 3 * c_in * c_out
        assert separable / standard == pytest.approx(1 / c_out + 1 / 9)
    # alpha 0.25: 8 -> 16 (dw1) ... -> 256 (dw13).
    assert model.get_layer("dw13_pointwise").kernel.shape[-1] == 256


def test_residual_block_projection_shortcut():
    inputs = keras.Input((8, 8, 16))
    outputs = apply_residual_block(inputs, 32, strides=2, name="conv3_block1")
    block = keras.Model(inputs, outputs)
    assert outputs.shape == (None, 4, 4, 32)
    shortcut = block.get_layer("conv3_block1_shortcut")
    assert tuple(shortcut.kernel.shape) == (1, 1, 16, 32)
    assert block.get_layer("conv3_block1_shortcut_pool").output.shape[1:3] == (4, 4)
    assert _count(shortcut) == 16 * 32  # 1x1 projection, no bias
    assert _count(block.get_layer("conv3_block1_shortcut_bn")) == 4 * 32
    # conv1 3x3 16->32 + conv2 3x3 32->32 + projection 16->32, + 3 BN (4 each).
    assert block.count_params() == 9 * 16 * 32 + 9 * 32 * 32 + 16 * 32 + 3 * 4 * 32

    # Same shape: identity shortcut, no projection layer.
    keras.backend.clear_session(free_memory=False)
    inputs = keras.Input((8, 8, 32))
    identity = keras.Model(inputs, apply_residual_block(inputs, 32, name="b"))
    assert "b_shortcut" not in [layer.name for layer in identity.layers]
    assert identity.count_params() == 2 * (9 * 32 * 32 + 4 * 32)

    # Bottleneck 16 -> 4 * 16 channels: projection 16 * 64.
    keras.backend.clear_session(free_memory=False)
    inputs = keras.Input((8, 8, 16))
    outputs = apply_residual_block(inputs, 16, block="bottleneck", name="c")
    bottleneck = keras.Model(inputs, outputs)
    assert outputs.shape == (None, 8, 8, 64)
    assert bottleneck.count_params() == (
        16 * 16 + 9 * 16 * 16 + 16 * 64 + 16 * 64  # conv1, conv2, conv3, shortcut
        + 4 * (16 + 16 + 64 + 64)  # batch norms
    )  # fmt: skip


def test_strided_projection_trains_in_graph_mode_with_few_channels():
    # A strided 1x1 convolution with < 16 input channels corrupts the heap in its
    # oneDNN backward pass (TF 2.21 on AVX-512 CPUs; uxlfoundation/oneDNN#6035):
    # the block must train in graph mode. In a subprocess, so a crash is a failure.
    code = """
import numpy as np, keras
from kerasvision.models.blocks import apply_residual_block
inputs = keras.Input((32, 32, 8))
x = apply_residual_block(inputs, 16, strides=2, name="conv3_block1")
x = keras.layers.GlobalAveragePooling2D()(x)
model = keras.Model(inputs, keras.layers.Dense(10, activation="softmax")(x))
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
rng = np.random.default_rng(0)
# 93 = 2 * 32 + 29: the partial last batch is what trips the bug.
images = rng.uniform(size=(93, 32, 32, 8)).astype("float32")
model.fit(images, rng.integers(0, 10, 93), epochs=2, batch_size=32, verbose=0)
print("trained")
"""
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO_ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2"},
    )
    assert result.returncode == 0 and "trained" in result.stdout, result.stderr[-2000:]


@pytest.mark.parametrize(
    ("name", "projections"), [("resnet18", 3), ("resnet50", 4), ("resnet20", 2)]
)
def test_resnet_projection_shortcut_count(name, projections):
    model = build_model(name, (32, 32, 3), 3)
    shortcuts = [layer for layer in model.layers if layer.name.endswith("_shortcut")]
    assert len(shortcuts) == projections
    for layer in shortcuts:
        assert layer.kernel.shape[:2] == (1, 1)


def test_dense_block_channel_growth_and_transition():
    inputs = keras.Input((8, 8, 24))
    x = apply_dense_block(inputs, 5, 12, name="dense1")
    assert x.shape == (None, 8, 8, 24 + 5 * 12)
    model = keras.Model(inputs, apply_transition(x, name="transition1"))
    for index in range(1, 6):
        concat = model.get_layer(f"dense1_block{index}_concat")
        assert concat.output.shape[-1] == 24 + index * 12
        conv = model.get_layer(f"dense1_block{index}_conv")
        assert tuple(conv.kernel.shape) == (3, 3, 4 * 12, 12)
    assert model.output_shape == (None, 4, 4, 42)  # floor(84 * 0.5), halved
    assert model.get_layer("transition1_pool").name == "transition1_pool"


def test_densenet_stage_channels():
    model = build_model("densenet_small", (32, 32, 3), 3)  # (6, 6, 6), k = 12
    # 24 -> 24 + 6*12 = 96 -> 48 -> 48 + 72 = 120 -> 60 -> 60 + 72 = 132.
    assert model.get_layer("dense1_block6_concat").output.shape[-1] == 96
    assert model.get_layer("transition1_pool").output.shape[1:] == (16, 16, 48)
    assert model.get_layer("dense2_block6_concat").output.shape[-1] == 120
    assert model.get_layer("final_relu").output.shape[1:] == (8, 8, 132)


def test_inception_module_channels():
    inputs = keras.Input((16, 16, 192))
    outputs = apply_inception_module(
        inputs, 64, 96, 128, 16, 32, 32, name="inception3a"
    )
    assert outputs.shape == (None, 16, 16, 64 + 128 + 32 + 32)
    module = keras.Model(inputs, outputs)
    assert tuple(module.get_layer("inception3a_5x5").kernel.shape) == (5, 5, 16, 32)
    assert tuple(module.get_layer("inception3a_pool_proj").kernel.shape) == (
        1,
        1,
        192,
        32,
    )


# === Whole-model parameter counts, by hand ===


def test_resnet20_parameter_count():
    # CIFAR ResNet-20, 3 input channels, 10 classes; convs have no bias, BN has
    # 4 weights per channel (2 trainable).
    #   conv1 3x3x3x16 = 432, BN 64                                  ->    496
    #   conv2: 6 convs 3x3x16x16 = 6 * 2304 = 13824, 6 BN * 64 = 384 ->  14208
    #   conv3: 3x3x16x32 = 4608, 3x3x32x32 = 9216, shortcut 16x32 = 512,
    #          3 BN * 128 = 384; blocks 2-3: 4 * 9216 = 36864, 4 BN * 128 = 512
    #                                                                ->  52096
    #   conv4: 3x3x32x64 = 18432, 3x3x64x64 = 36864, shortcut 32x64 = 2048,
    #          3 BN * 256 = 768; blocks 2-3: 4 * 36864 = 147456, 4 BN * 256 = 1024
    #                                                                -> 206592
    #   predictions 64 * 10 + 10 = 650
    #   total 496 + 14208 + 52096 + 206592 + 650 = 274042 (the paper's "0.27M")
    model = classic.build_cifar_resnet((32, 32, 3), 10, depth=20)
    assert model.count_params() == 274042
    # Non-trainable: BN moving mean/variance, 2 per channel.
    bn_channels = 16 + 6 * 16 + 3 * 32 + 4 * 32 + 3 * 64 + 4 * 64
    assert model.count_params() - _trainable_count(model) == 2 * bn_channels


def test_vgg11_parameter_count():
    # VGG-11 at 1/8 width (8, 16, 32, 64, 64 filters; 512-unit dense layers),
    # 1 input channel, 3 classes, no batch norm (convs with bias), 32x32 input:
    #   block1 3*3*1*8 + 8 = 80; block2 3*3*8*16 + 16 = 1168
    #   block3 3*3*16*32 + 32 = 4640, 3*3*32*32 + 32 = 9248
    #   block4 3*3*32*64 + 64 = 18496, 3*3*64*64 + 64 = 36928
    #   block5 2 * 36928 = 73856
    #   flatten 1x1x64 -> fc1 64*512 + 512 = 33280 -> fc2 512*512 + 512 = 262656
    #   predictions 512*3 + 3 = 1539
    #   total 80 + 1168 + 13888 + 55424 + 73856 + 33280 + 262656 + 1539 = 441891
    model = classic.build_vgg((32, 32, 1), 3, depths="vgg11", width_multiplier=0.125)
    assert model.name == "vgg11"
    assert model.count_params() == 441891


def test_multiply_adds():
    inputs = keras.Input((16, 16, 8))
    x = apply_depthwise_separable_block(inputs, 16, strides=2, name="dw1")
    x = keras.layers.GlobalAveragePooling2D()(x)
    outputs = keras.layers.Dense(5)(x)
    model = keras.Model(inputs, outputs)
    # depthwise 8*8 * 3*3*8 = 4608; pointwise 8*8 * 8*16 = 8192; dense 16*5 = 80.
    assert classic.count_multiply_adds(model) == 4608 + 8192 + 80

    keras.backend.clear_session(free_memory=False)
    inputs = keras.Input((8, 8, 4))
    x = keras.layers.SeparableConv2D(6, 3, padding="same")(inputs)
    x = keras.layers.Conv2DTranspose(2, 2, strides=2)(x)
    model = keras.Model(inputs, x)
    # separable 64 * (9*4 + 4*6) = 3840; transpose 64 input px * 2*2*2*6 = 3072.
    assert classic.count_multiply_adds(model) == 3840 + 3072

    # The ImageNet configuration reproduces the paper's 1.8 G multiply-adds.
    keras.backend.clear_session(free_memory=False)
    resnet18 = classic.build_resnet((224, 224, 3), 1000)
    assert resnet18.get_layer("pool1").output.shape == (None, 56, 56, 64)
    assert 1.8e9 < classic.count_multiply_adds(resnet18) < 1.85e9
    assert _trainable_count(resnet18) == 11_689_512  # torchvision's resnet18


# === Architecture details ===


def test_strip_auxiliary_heads_shares_weights():
    model = classic.build_inception_v1((32, 32, 1), 3, width_multiplier=0.125)
    assert [t.shape for t in model.outputs] == [(None, 3)] * 3
    assert model.get_layer("aux1_predictions").dtype_policy.compute_dtype == "float32"
    serving = strip_auxiliary_heads(model)
    assert serving.get_layer("predictions") is model.get_layer("predictions")
    assert serving.count_params() < model.count_params()
    single = classic.build_inception_v1(
        (32, 32, 1), 3, width_multiplier=0.125, aux_classifiers=False
    )
    assert strip_auxiliary_heads(single) is single
    assert single.count_params() == serving.count_params()


def test_plain_and_residual_twins_match():
    kwargs = {"depth": 32, "filters": (8, 16, 32)}
    plain = classic.build_plain_cnn((32, 32, 1), 3, **kwargs)
    residual = classic.build_cifar_resnet((32, 32, 1), 3, **kwargs)
    assert (plain.name, residual.name) == ("plain32", "resnet32")

    def main_path(model):
        return [
            (layer.name, tuple(layer.kernel.shape))
            for layer in model.layers
            if isinstance(layer, (keras.layers.Conv2D, keras.layers.Dense))
            and not layer.name.endswith("_shortcut")
        ]

    assert main_path(plain) == main_path(residual)
    assert len(main_path(plain)) == 32  # 31 convolutions + the output layer
    assert not [layer for layer in plain.layers if isinstance(layer, keras.layers.Add)]
    assert len([ly for ly in residual.layers if isinstance(ly, keras.layers.Add)]) == 15


def test_stems_adapt_to_input_size():
    small = classic.build_resnet((32, 32, 3), 3, width_multiplier=0.125)
    assert tuple(small.get_layer("conv1").kernel.shape[:2]) == (3, 3)
    assert "pool1" not in [layer.name for layer in small.layers]
    large = classic.build_resnet((112, 112, 3), 3, width_multiplier=0.125)
    assert tuple(large.get_layer("conv1").kernel.shape[:2]) == (7, 7)
    assert large.get_layer("conv5_block2_out").output.shape[1:3] == (4, 4)
    alexnet = classic.build_alexnet((128, 128, 3), 3, width_multiplier=0.125)
    assert alexnet.get_layer("conv1").strides == (4, 4)
    forced = classic.build_alexnet(
        (64, 64, 3), 3, width_multiplier=0.125, stem="imagenet"
    )
    assert forced.get_layer("conv1").kernel.shape[0] == 11
    with pytest.raises(ValueError, match="too small"):
        classic.build_mobilenet_v1((48, 48, 3), 3, alpha=0.25, stem="imagenet")


def test_preact_resnet():
    model = classic.build_resnet(
        (32, 32, 3), 3, depth=50, preact=True, width_multiplier=0.125
    )
    assert model.name == "resnet50_v2"
    assert feature_layer_name(model) == "post_relu"
    first = model.get_layer("conv2_block1_shortcut")
    # v2: the projection reads the pre-activated input, and has no BN of its own.
    assert first.input is model.get_layer("conv2_block1_preact_relu").output
    assert "conv2_block1_shortcut_bn" not in [layer.name for layer in model.layers]
    plain = classic.build_plain_cnn((32, 32, 1), 3, depth=8, preact=True)
    assert plain.name == "plain8_v2"
    assert plain.get_layer("conv4_block1_out").output.shape == (None, 8, 8, 64)
    assert feature_layer_name(plain) == "post_relu"


def test_wide_resnet_and_zfnet_layouts():
    # WRN-16-4 (Zagoruyko & Komodakis 2016, table 1): 2.7M parameters on CIFAR.
    model = classic.build_wide_resnet((32, 32, 3), 10, depth=16, width=4)
    assert model.name == "wrn16_4"
    assert model.count_params() == 2_752_522
    assert model.get_layer("conv4_block2_out").output.shape == (None, 8, 8, 256)
    with pytest.raises(ValueError, match="6 \\* n \\+ 4"):
        classic.build_wide_resnet((32, 32, 3), 10, depth=20)
    # ZFNet: AlexNet with conv1 7x7/2 and conv2 stride 2 (13x13 conv5 at 224).
    zfnet = classic.build_zfnet((224, 224, 3), 10, width_multiplier=0.25)
    assert zfnet.get_layer("conv1").kernel.shape == (7, 7, 3, 24)
    assert zfnet.get_layer("conv2").strides == (2, 2)
    assert zfnet.get_layer("conv5_relu").output.shape == (None, 13, 13, 64)
