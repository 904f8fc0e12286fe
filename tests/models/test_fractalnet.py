"""kerasvision.models.fractalnet: the fractal expansion rule, and one epoch."""

import keras

from kerasvision.layers.drop_path import FractalJoin
from kerasvision.models import build_model
from kerasvision.models.fractalnet import apply_fractal_block, build_fractalnet


def _convs(model, prefix):
    return [
        layer.name
        for layer in model.layers
        if isinstance(layer, keras.layers.Conv2D) and layer.name.startswith(prefix)
    ]


def test_fractal_block_follows_the_expansion_rule():
    inputs = keras.Input((8, 8, 4))
    outputs = apply_fractal_block(inputs, 6, columns=4, name="block1")
    block = keras.Model(inputs, outputs)
    # Column c has 2 ** (c - 1) convolutions: 1 + 2 + 4 + 8 = 15.
    for column, count in ((1, 1), (2, 2), (3, 4), (4, 8)):
        assert len(_convs(block, f"block1_col{column}_")) == count
    # A join wherever paths end at the same depth (every 2 convolutions of the
    # deepest column, figure 1 of the paper): depth 2 joins columns 3-4, depth 4
    # columns 2-4, depth 6 columns 3-4, and the block output all 4.
    assert len(block.get_layer("block1_out").input) == 4
    inner = [ly for ly in block.layers if ly.name.startswith("block1_join")]
    assert sorted(len(layer.input) for layer in inner) == [2, 2, 3]
    assert all(isinstance(layer, FractalJoin) for layer in inner)
    assert outputs.shape == (None, 8, 8, 6)


def test_fractalnet_layout_and_one_epoch_on_digits(train_one_epoch):
    model = build_model("fractalnet", (16, 16, 1), 10)
    assert model.name == "fractalnet16"  # 4 blocks x 4 convs on the deepest path
    assert model.get_layer("block4_out").output.shape == (None, 2, 2, 64)
    assert [model.get_layer(f"block{b}_pool").output.shape[1] for b in (1, 2, 3)] == [
        8,
        4,
        2,
    ]
    train_one_epoch(model)
    # Without drop-path the joins are Keras's own Average layers.
    paper = build_fractalnet((32, 32, 3), 10, columns=4, drop_path_rate=0.0)
    assert paper.name == "fractalnet40"  # the paper's FractalNet-40 (B=5, C=4)
    assert isinstance(paper.get_layer("block5_out"), keras.layers.Average)
