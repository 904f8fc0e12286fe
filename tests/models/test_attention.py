"""kerasvision.models.attention: (1 + mask) x trunk modules, and one epoch."""

import keras
import numpy as np

from kerasvision.models import build_model
from kerasvision.models.attention import (
    apply_attention_module,
    build_residual_attention_network,
)


def test_attention_module_is_one_plus_mask_times_trunk():
    inputs = keras.Input((9, 9, 16))
    outputs = apply_attention_module(inputs, 4, skips=1, name="att")
    module = keras.Model(inputs, outputs)
    assert outputs.shape == (None, 9, 9, 16)
    names = [layer.name for layer in module.layers]
    # Odd sizes: 9 -> 5 -> 3 pooled, upsampled to 6 and 10 and cropped back.
    for name in (
        "att_mask_pool1",
        "att_mask_pool2",
        "att_mask_skip1_out",
        "att_mask_crop1",
    ):
        assert name in names
    assert module.get_layer("att_mask_up2").output.shape[1:3] == (6, 6)
    assert module.get_layer("att_mask_crop2").output.shape[1:3] == (5, 5)
    assert "att_mask_skip2_out" not in names
    probe = keras.Model(
        inputs,
        [
            module.get_layer("att_mask").output,
            module.get_layer("att_trunk2_out").output,
            module.get_layer("att_attended").output,
        ],
    )
    images = np.random.default_rng(0).normal(size=(2, 9, 9, 16)).astype("float32")
    mask, trunk, attended = (np.asarray(v) for v in probe(images))
    assert 0.0 < mask.min() and mask.max() < 1.0  # a sigmoid
    np.testing.assert_allclose(attended, (1.0 + mask) * trunk, rtol=1e-5, atol=1e-5)


def test_attention56_layout_and_one_epoch_on_digits(train_one_epoch):
    model = build_model("residual_attention", (16, 16, 1), 10)
    assert model.name == "attention56"
    modules = {
        layer.name.split("_")[0] for layer in model.layers if "_mask" in layer.name
    }
    assert modules == {"attention1", "attention2", "attention3"}  # (1, 1, 1)
    assert model.get_layer("post_relu").output.shape == (None, 2, 2, 256)
    train_one_epoch(model)
    keras.backend.clear_session(free_memory=False)
    deeper = build_residual_attention_network(
        (16, 16, 1), 3, depth=92, width_multiplier=0.0625
    )
    assert deeper.get_layer("attention3_3_post_out")  # (1, 2, 3) modules
