"""kerasvision.models.heads.apply_classifier_head: a dropout after each dense layer."""

import keras
import pytest

from kerasvision.models import build_model
from kerasvision.models.cnn import build_bipyramidal_cnn


def _head(model):
    """The layers after the pooling, as (kind, name) pairs."""
    start = next(
        i
        for i, layer in enumerate(model.layers)
        if layer.name in ("flatten", "avg_pool", "max_pool")
    )
    return [(type(layer).__name__, layer.name) for layer in model.layers[start + 1 :]]


def test_dense_dropout_puts_one_dropout_after_each_dense_layer():
    model = build_bipyramidal_cnn(
        (8, 8, 1), 3, filters=(4,), dense_units=(16, 8, 8), dense_dropout=True
    )
    assert _head(model) == [
        ("Dense", "fc1"), ("Dropout", "fc1_dropout"),
        ("Dense", "fc2"), ("Dropout", "fc2_dropout"),
        ("Dense", "fc3"), ("Dropout", "dropout"),
        ("Dense", "predictions"),
    ]  # fmt: skip
    rates = {
        layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)
    }
    assert rates == {0.3}
    # Off by default: one dropout before the output layer.
    keras.backend.clear_session(free_memory=False)
    default = build_bipyramidal_cnn((8, 8, 1), 3, filters=(4,), dense_units=(16, 8))
    assert [kind for kind, _ in _head(default)].count("Dropout") == 1


@pytest.mark.parametrize("name", ["alexnet", "zfnet", "vgg16"])
def test_alexnet_and_vgg_heads_follow_the_papers(name):
    # Krizhevsky et al. 2012 and Simonyan & Zisserman 2014: dropout after fc1
    # and after fc2, none between the convolutions.
    model = build_model(name, (32, 32, 3), 5)
    head = _head(model)
    dense = [layer for kind, layer in head if kind == "Dense"]
    dropouts = [layer for kind, layer in head if kind == "Dropout"]
    assert dense == ["fc1", "fc2", "predictions"]
    assert dropouts == ["fc1_dropout", "dropout"]
    assert len(dropouts) == len(dense) - 1  # one per hidden dense layer
    assert [kind for kind, _ in head][-2:] == ["Dropout", "Dense"]
    single = build_model(name, (32, 32, 3), 5, dense_dropout=False)
    assert [kind for kind, _ in _head(single)].count("Dropout") == 1
