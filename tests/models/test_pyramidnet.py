"""kerasvision.models.pyramidnet: additive widening, zero-padded shortcuts."""

import keras
import numpy as np
import pytest

from kerasvision.models import build_model
from kerasvision.models.pyramidnet import apply_pyramidal_unit, build_pyramidnet


def test_widths_grow_by_alpha_over_n_at_every_unit():
    model = build_pyramidnet((32, 32, 3), 10, depth=20, alpha=48)
    widths = [
        model.get_layer(f"conv{stage}_block{unit}_out").output.shape[-1]
        for stage in (2, 3, 4)
        for unit in (1, 2, 3)
    ]
    # 16 + 48 * k / 9 for k = 1..9, rounded: no doubling at the downsamplings.
    assert widths == [21, 27, 32, 37, 43, 48, 53, 59, 64]
    assert model.get_layer("conv3_block1_out").output.shape[1:3] == (16, 16)
    # No ReLU before the add: each unit ends with a normalization.
    add = model.get_layer("conv2_block2_out")
    assert add.input[1] is model.get_layer("conv2_block2_bn3").output
    with pytest.raises(ValueError, match="depth must be 6"):
        build_pyramidnet((32, 32, 3), 10, depth=21)
    # The paper's PyramidNet-110 (alpha 48): "1.7M" parameters (trainable ones;
    # Keras also counts the batch norms' moving statistics).
    keras.backend.clear_session(free_memory=False)
    paper = build_pyramidnet((32, 32, 3), 10, depth=110, alpha=48)
    trainable = sum(int(np.prod(w.shape)) for w in paper.trainable_weights)
    assert 1.7e6 <= trainable < 1.8e6


def test_shortcut_is_parameter_free_and_zero_padded():
    inputs = keras.Input((8, 8, 4))
    outputs = apply_pyramidal_unit(inputs, 6, strides=2, name="unit")
    unit = keras.Model(inputs, outputs)
    shortcut = keras.Model(inputs, unit.get_layer("unit_shortcut_out").output)
    images = np.random.default_rng(0).normal(size=(2, 8, 8, 4)).astype("float32")
    expected = images.reshape(2, 4, 2, 4, 2, 4).mean(axis=(2, 4))  # 2x2 average
    got = np.asarray(shortcut(images))
    np.testing.assert_allclose(got[..., :4], expected, atol=1e-5)
    np.testing.assert_allclose(got[..., 4:], 0.0)
    shortcut_layers = [ly for ly in unit.layers if "_shortcut" in ly.name]
    assert not [w for ly in shortcut_layers for w in ly.weights]
    bottleneck = apply_pyramidal_unit(inputs, 6, block="bottleneck", name="b")
    assert bottleneck.shape == (None, 8, 8, 24)


def test_pyramidnet_trains_one_epoch_on_digits(train_one_epoch):
    model = build_model("pyramidnet", (8, 8, 1), 10, zero_init_residual=True)
    gamma = model.get_layer("conv2_block1_bn3").gamma
    assert not np.any(keras.ops.convert_to_numpy(gamma))
    train_one_epoch(model)
