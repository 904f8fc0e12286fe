"""kerasvision.layers._config: every layer's config from its declared fields."""

from __future__ import annotations

import inspect

import keras
import pytest

from kerasvision.layers._config import ConfigFields
from kerasvision.layers.augment import PixelGaussianNoise
from kerasvision.layers.noise import AdditiveGaussianNoise


def _configured_layers():
    found = {}
    for module_name in ("augment", "drop_path", "label_sets", "noise",
                        "normalization", "outputs", "preprocessing", "sampling",
                        "tta"):  # fmt: skip
        module = __import__(f"kerasvision.layers.{module_name}", fromlist=["x"])
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, ConfigFields)
                    and not name.startswith("_")):  # fmt: skip
                found[name] = value
    return found


def test_fields_add_up_along_the_class_hierarchy():
    layer = AdditiveGaussianNoise(0.2, (0, 2), seed=4, relative=False, name="n")
    config = layer.get_config()
    # _ImageNoise's fields, then the subclass's; tuples become lists (JSON).
    assert {k: config[k] for k in ("value_range", "seed", "stddev", "relative")} == {
        "value_range": [0.0, 2.0], "seed": 4, "stddev": 0.2, "relative": False,
    }  # fmt: skip
    assert config["name"] == "n"  # the Keras base's config is kept
    again = AdditiveGaussianNoise.from_config(config)
    assert again.get_config() == config


def test_every_declared_field_is_a_constructor_argument():
    classes = _configured_layers()
    assert len(classes) >= 15, sorted(classes)
    for name, cls in classes.items():
        parameters = set()
        for klass in cls.__mro__:
            if "__init__" in vars(klass):
                parameters |= set(inspect.signature(klass.__init__).parameters)
        for klass in cls.__mro__:
            for field in vars(klass).get("config_fields", ()):
                assert field in parameters, (name, field)


def test_a_layer_whose_field_is_missing_fails_loudly():
    class Broken(ConfigFields, keras.layers.Layer):
        config_fields = ("width",)

    with pytest.raises(AttributeError, match="width"):
        Broken().get_config()


def test_pixel_noise_no_longer_writes_relative_but_reads_it():
    config = PixelGaussianNoise(4.0, seed=1).get_config()
    assert "relative" not in config and config["stddev"] == 4.0
    assert PixelGaussianNoise.from_config({**config, "relative": False}).stddev == 4.0
