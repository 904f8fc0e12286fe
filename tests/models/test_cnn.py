"""kerasvision.models.cnn and the registry: bipyramidal CNN and LeNet-5."""

import numpy as np
import pytest
from helpers import assert_keras_round_trip

from kerasvision.models import (
    MODELS,
    build_model,
    feature_layer_name,
    find_feature_layer,
    list_models,
)
from kerasvision.models.cnn import build_bipyramidal_cnn, build_lenet5

OWN_MODELS = ["bipyramidal_cnn", "lenet5"]


def test_registry_is_plain_data_and_listed():
    assert set(OWN_MODELS) <= set(list_models())
    assert list_models("lenet*") == ["lenet5"]
    for spec in MODELS.values():
        assert ":" in spec.builder and spec.min_size >= 1


@pytest.mark.parametrize("name", OWN_MODELS, ids=OWN_MODELS)
def test_registry_entry_builds_trains_and_round_trips(name, tmp_path):
    spec = MODELS[name]
    size = max(spec.min_size, 32)
    model = build_model(name, (size, size, 1), 3)
    assert model.output_shape == (None, 3)
    assert model.get_layer("predictions").activation.__name__ == "softmax"
    layer = feature_layer_name(model, name)
    shape = model.get_layer(layer).output.shape
    assert len(shape) == 4 and shape[1] >= 2 and shape[2] >= 2
    model.compile("adam", "sparse_categorical_crossentropy")
    x = np.random.default_rng(0).integers(0, 256, (4, size, size, 1)).astype("float32")
    model.train_on_batch(x, np.array([0, 1, 2, 0]))
    assert_keras_round_trip(model, str(tmp_path / "m.keras"), x)


def test_bipyramidal_structure_and_names():
    model = build_bipyramidal_cnn(
        (32, 32, 3),
        5,
        filters=(8, 16, 32),
        convs_per_block=(1, 2, 2),
        batch_norm=True,
        dense_units=(24,),
        pooling="flatten",
    )
    names = [layer.name for layer in model.layers]
    for expected in (
        "rescaling",
        "block1_conv1",
        "block1_bn1",
        "block1_act1",
        "block1_pool",
        "block3_conv2",
        "flatten",
        "fc1",
        "dropout",
        "predictions",
    ):
        assert expected in names
    assert "block1_conv2" not in names
    assert model.get_layer("block3_pool").output.shape[1:] == (4, 4, 32)
    assert model.get_layer("flatten").output.shape[-1] == 4 * 4 * 32
    assert find_feature_layer(model) == "block3_act2"
    # Filters double while the spatial size halves.
    assert [model.get_layer(f"block{i}_conv1").filters for i in (1, 2, 3)] == [
        8,
        16,
        32,
    ]


def test_bipyramidal_parameter_count_is_exact():
    model = build_bipyramidal_cnn(
        (8, 8, 1), 10, filters=(4, 8), convs_per_block=1, dense_units=(), dropout_rate=0
    )
    conv1 = 3 * 3 * 1 * 4 + 4
    conv2 = 3 * 3 * 4 * 8 + 8
    head = 8 * 10 + 10
    assert model.count_params() == conv1 + conv2 + head


def test_binary_head_is_one_sigmoid_unit_unless_asked():
    model = build_bipyramidal_cnn((16, 16, 3), 2, filters=(4,))
    assert model.output_shape == (None, 1)
    assert model.get_layer("predictions").activation.__name__ == "sigmoid"
    softmax = build_bipyramidal_cnn(
        (16, 16, 3), 2, filters=(4,), classifier_activation="softmax"
    )
    assert softmax.output_shape == (None, 2)


def test_rescaling_inside_model_takes_raw_pixels():
    model = build_bipyramidal_cnn((8, 8, 1), 3, filters=(4,))
    assert model.get_layer("rescaling").scale == pytest.approx(1 / 255)


def test_regularizers_and_options_are_applied():
    model = build_bipyramidal_cnn(
        (16, 16, 1),
        3,
        filters=(4,),
        l2=0.01,
        activation="leaky_relu",
        block_pooling="avg",
        kernel_initializer="glorot_normal",
    )
    conv = model.get_layer("block1_conv1")
    assert conv.kernel_regularizer is not None
    assert type(model.get_layer("block1_pool")).__name__ == "AveragePooling2D"
    assert type(model.get_layer("block1_act1")).__name__ == "LeakyReLU"
    assert len(model.losses) > 0


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"input_shape": (4, 4, 1)}, "too small"),
        ({"filters": ()}, "filters"),
        ({"activation": "relu6x"}, "activation"),
        ({"block_pooling": "median"}, "block_pooling"),
        ({"pooling": "attention"}, "pooling"),
        ({"dropout_rate": 1.5}, "dropout_rate"),
        ({"num_classes": 1}, "num_classes"),
        ({"l2": -1.0}, "l2"),
        ({"convs_per_block": (1, 2)}, "convs_per_block"),
    ],
)
def test_bipyramidal_validates_arguments(kwargs, message):
    arguments = {"input_shape": (16, 16, 1), "num_classes": 3, "filters": (4, 8, 16)}
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=message):
        build_bipyramidal_cnn(
            arguments.pop("input_shape"), arguments.pop("num_classes"), **arguments
        )


def test_lenet5_matches_the_paper_layout():
    model = build_lenet5((32, 32, 1), 10)
    # C1 156, C3 2,416, C5 48,120, F6 10,164, output 850 (LeCun et al. 1998).
    assert model.count_params() == 61706
    assert model.get_layer("c1_conv").output.shape[1:] == (28, 28, 6)
    assert model.get_layer("c3_conv").output.shape[1:] == (10, 10, 16)
    assert model.get_layer("c5_conv").output.shape[1:] == (1, 1, 120)
    with pytest.raises(ValueError, match="at least 32x32"):
        build_lenet5((28, 28, 1), 10)


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model 'resnet9000'"):
        build_model("resnet9000", (32, 32, 3), 3)


@pytest.mark.parametrize(
    ("norm", "layer", "kind"),
    [
        ("batch", "block1_bn1", "BatchNormalization"),
        ("layer", "block1_ln1", "LayerNormalization"),
        ("group", "block1_gn1", "GroupNormalization"),
    ],
)
def test_norm_choices_in_the_scratch_cnns(norm, layer, kind, tmp_path):
    model = build_bipyramidal_cnn((8, 8, 1), 3, filters=(4, 8), norm=norm)
    assert type(model.get_layer(layer)).__name__ == kind
    assert not model.get_layer("block1_conv1").use_bias  # the norm's offset
    lenet = build_lenet5((32, 32, 1), 3, norm=norm)
    assert type(lenet.get_layer(f"c1_{layer.split('_')[1][:2]}")).__name__ == kind
    x = np.random.default_rng(0).uniform(0, 255, (2, 8, 8, 1)).astype("float32")
    assert_keras_round_trip(model, str(tmp_path / "m.keras"), x)


def test_norm_none_and_conflicts():
    model = build_bipyramidal_cnn((8, 8, 1), 3, filters=(4,), norm="none")
    assert model.get_layer("block1_conv1").use_bias
    assert build_model("resnet20", (8, 8, 1), 3, norm="group").get_layer(
        "conv2_block1_conv1_gn"
    )
    with pytest.raises(ValueError, match="norm must be one of"):
        build_bipyramidal_cnn((8, 8, 1), 3, norm="weight")
    with pytest.raises(ValueError, match="contradicts"):
        build_bipyramidal_cnn((8, 8, 1), 3, batch_norm=True, norm="layer")


@pytest.mark.parametrize("padding", ["valid", 1, "same"])
def test_dilated_blocks_match_the_lecture_arithmetic(padding):
    from kerasvision.teaching.arithmetic import (
        conv_output_size,
        effective_kernel_size,
    )

    # The lecture's 3x3 kernel with dilation 2 spans 5 pixels with 9 weights.
    model = build_bipyramidal_cnn(
        (48, 48, 1),
        3,
        filters=(4, 8, 8),
        convs_per_block=(1, 2, 1),
        dilation_rate=(2, 3, 1),
        padding=padding,
        dense_units=(),
    )
    size = 48
    for block, (dilation, convs) in enumerate(((2, 1), (3, 2), (1, 1)), start=1):
        for conv in range(1, convs + 1):
            layer = model.get_layer(f"block{block}_conv{conv}")
            assert layer.dilation_rate == (dilation, dilation)
            assert layer.kernel.shape[:2] == (3, 3)  # the same 9 weights
            size = conv_output_size(size, 3, padding=padding, dilation_rate=dilation)
            assert layer.output.shape[1:3] == (size, size)
        size //= 2
        assert model.get_layer(f"block{block}_pool").output.shape[1] == size
    assert effective_kernel_size(3, 2) == 5
    if padding == "valid":  # 48 - (5 - 1) = 44 -> 22 -> 22 - 6 - 6 = 10 -> 5
        assert model.get_layer("block1_conv1").output.shape[1] == 44
        assert model.get_layer("block2_conv2").output.shape[1] == 10
    if padding == 1:
        assert model.get_layer("block1_pad1").output.shape[1:3] == (50, 50)


def test_dilation_is_checked_per_block():
    with pytest.raises(ValueError, match="dilation_rate"):
        build_bipyramidal_cnn((32, 32, 1), 3, filters=(4, 8), dilation_rate=(2,))
    with pytest.raises(ValueError, match="padding"):
        build_bipyramidal_cnn((32, 32, 1), 3, filters=(4,), padding="full")
    # A dilated kernel wider than the map is one clear line, before building.
    with pytest.raises(ValueError, match="too small for block 2"):
        build_bipyramidal_cnn(
            (16, 16, 1), 3, filters=(4, 8), dilation_rate=(1, 4), padding="valid"
        )
