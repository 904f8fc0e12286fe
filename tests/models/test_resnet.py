"""kerasvision.models.resnet: `zero_init_residual` ("initially f(h) = 0")."""

import keras
import numpy as np
import pytest

from kerasvision.models import build_model
from kerasvision.models.resnet import (
    build_cifar_resnet,
    build_plain_cnn,
    build_resnet,
    build_wide_resnet,
)


def _branch_and_shortcut_norms(model, images):
    """Summed L2 norms of every block's residual branch and shortcut, as the
    add layers see them in the first training step (batch statistics)."""
    adds = [layer for layer in model.layers if isinstance(layer, keras.layers.Add)]
    tensors = [tensor for layer in adds for tensor in layer.input]
    values = keras.Model(model.input, tensors)(images, training=True)
    shortcut = sum(float(np.linalg.norm(np.asarray(v))) for v in values[0::2])
    branch = sum(float(np.linalg.norm(np.asarray(v))) for v in values[1::2])
    return branch, shortcut


def test_zero_init_residual_starts_every_block_as_its_shortcut(digits_images):
    images, _ = digits_images(32)
    default = build_model("resnet20", (32, 32, 1), 10)
    branch, shortcut = _branch_and_shortcut_norms(default, images[:16])
    # As in the paper and torchvision, off by default: branch ~ shortcut.
    assert branch / shortcut > 0.5
    keras.backend.clear_session(free_memory=False)
    zeroed = build_model("resnet20", (32, 32, 1), 10, zero_init_residual=True)
    gamma = zeroed.get_layer("conv2_block1_conv2_bn").gamma
    assert not np.any(keras.ops.convert_to_numpy(gamma))
    assert np.all(
        keras.ops.convert_to_numpy(zeroed.get_layer("conv2_block1_conv1_bn").gamma)
    )
    branch, shortcut = _branch_and_shortcut_norms(zeroed, images[:16])
    assert shortcut > 0 and branch / shortcut < 1e-3  # << 1: f(h) = 0 at init
    # Same parameters, and the branch learns: after a step gamma moves off 0.
    assert zeroed.count_params() == default.count_params()
    zeroed.compile("adam", "sparse_categorical_crossentropy", run_eagerly=True)
    zeroed.train_on_batch(images[:16], np.arange(16) % 10)
    assert np.any(keras.ops.convert_to_numpy(gamma))


def test_zero_init_residual_in_every_resnet_family_builder():
    bottleneck = build_resnet(
        (32, 32, 3), 3, depth=50, width_multiplier=0.125, zero_init_residual=True
    )
    gamma = bottleneck.get_layer("conv2_block1_conv3_bn").gamma
    assert not np.any(keras.ops.convert_to_numpy(gamma))
    # Pre-activation (v2) blocks end in a bare convolution: its kernel is 0.
    wide = build_wide_resnet((16, 16, 3), 3, depth=10, width=1, zero_init_residual=True)
    kernel = wide.get_layer("conv2_block1_conv2").kernel
    assert not np.any(keras.ops.convert_to_numpy(kernel))
    assert np.any(
        keras.ops.convert_to_numpy(wide.get_layer("conv2_block1_conv1").kernel)
    )
    # Without a normalization the last convolution is zeroed too.
    bare = build_cifar_resnet(
        (8, 8, 1), 3, depth=8, norm="none", zero_init_residual=True
    )
    assert not np.any(
        keras.ops.convert_to_numpy(bare.get_layer("conv2_block1_conv2").kernel)
    )
    with pytest.raises(ValueError, match="zero_init_residual"):
        build_plain_cnn((8, 8, 1), 3, depth=8, zero_init_residual=True)
