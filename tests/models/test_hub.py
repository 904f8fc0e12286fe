"""KerasHub backbones (`--backbone hub:PRESET`) on a tiny preset written offline."""

import importlib.util
import json
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from helpers import assert_keras_round_trip, write_image_folder

from kerasvision.cli import main
from kerasvision.models import hub

needs_hub = pytest.mark.skipif(
    importlib.util.find_spec("keras_hub") is None,
    reason="keras_hub is not installed (pip install 'kerasvision[hub]')",
)
_SCALE = [1 / (255 * 0.229), 1 / (255 * 0.224), 1 / (255 * 0.225)]
_OFFSET = [-0.485 / 0.229, -0.456 / 0.224, -0.406 / 0.225]


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def tiny_hub(tmp_path_factory):
    """A randomly initialised one-stack ResNet preset (76k parameters; KerasHub
    fixes the first stack at 64 filters) with a per-channel ImageConverter, and
    3 classes x 8 images of 32x32. Returns `(root, "hub:<preset dir>")`."""
    import keras_hub

    root = tmp_path_factory.mktemp("hub")
    backbone = keras_hub.models.ResNetBackbone(
        input_conv_filters=[64],
        input_conv_kernel_sizes=[3],
        stackwise_num_filters=[64],
        stackwise_num_blocks=[1],
        stackwise_num_strides=[1],
        block_type="basic_block",
    )
    backbone.save_to_preset(str(root / "tiny_resnet"))
    converter = keras_hub.layers.ResNetImageConverter(
        image_size=(32, 32), scale=_SCALE, offset=_OFFSET
    )
    converter.save_to_preset(str(root / "tiny_resnet"))
    write_image_folder(root / "data", classes=("a", "b", "c"), size=(32, 32))
    return root, f"hub:{root / 'tiny_resnet'}"


@needs_hub
def test_transfer_model_holds_the_preset_preprocessing_and_round_trips(
    tiny_hub, tmp_path
):
    from kerasvision.models.transfer import (
        build_transfer_classifier,
        get_backbone,
        transfer_feature_layer,
    )

    _, name = tiny_hub
    assert hub.hub_default_size(name) == 32
    model = build_transfer_classifier(name, 3, input_shape=(32, 32, 3))
    assert model.name == "hub_tiny_resnet_classifier"
    assert transfer_feature_layer(model) == "stack0_block0_out"
    assert get_backbone(model).output.shape == (None, 8, 8, 64)
    pixels = np.random.default_rng(0).uniform(0, 255, (2, 32, 32, 3))
    pixels = pixels.astype("float32")
    preprocessed = model.get_layer("preprocessing")(pixels)
    np.testing.assert_allclose(
        preprocessed, pixels * np.array(_SCALE) + np.array(_OFFSET), atol=1e-5
    )
    loaded = assert_keras_round_trip(model, tmp_path / "m.keras", pixels)
    assert loaded.get_layer("preprocessing").image_size is None


@needs_hub
def test_fit_feature_extraction_exports_and_explains(tiny_hub):
    root, name = tiny_hub
    result = _invoke(
        "fit", root / "data", "--backbone", name, "--image-size", "32",
        "--epochs", "1", "--seed", "0", "--output", root / "fe",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    info = json.loads((root / "fe" / "run.json").read_text())
    assert info["model"]["backbone"] == name
    assert info["model"]["feature_layer"] == "stack0_block0_out"
    assert info["feature_cache_seconds"] > 0  # the head trained on cached features
    assert info["export"]["max_abs_diff"] <= 1e-5
    assert info["export"]["max_abs_diff_bytes"] <= 1e-5
    image = root / "data" / "a" / "a_0.png"
    cam = _invoke(
        "visualize", root / "fe", image, "--kind", "gradcam", "--output", root / "cam"
    )
    assert cam.exit_code == 0, cam.output
    assert [p.suffix for p in (root / "cam").iterdir()] == [".png"]
    from kerasvision.reuse import load_backbone

    model_a, feature = load_backbone(root / "fe")  # the run as Model A
    assert feature == "res_net_backbone" and model_a.output.shape == (None, 8, 8, 64)
    if all(importlib.util.find_spec(m) for m in ("tf2onnx", "onnxruntime")):
        onnx = _invoke("export", root / "fe", "--format", "onnx")
        assert onnx.exit_code == 0, onnx.output
        assert (root / "fe" / "model.onnx").is_file()


@needs_hub
def test_fit_fine_tune_trains_the_backbone(tiny_hub):
    root, name = tiny_hub
    result = _invoke(
        "fit", root / "data", "--backbone", name, "--mode", "fine-tune",
        "--warmup-epochs", "0", "--unfreeze", "blocks:1", "--image-size", "32",
        "--epochs", "1", "--seed", "0", "--output", root / "ft",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "stack0" in result.output  # the trainability table's blocks
    info = json.loads((root / "ft" / "run.json").read_text())
    assert [p["name"] for p in info["model"]["phases"]] == ["fine-tune"]
    assert info["export"]["max_abs_diff"] <= 1e-5


@needs_hub
def test_bad_presets_fail_with_one_line(tiny_hub, tmp_path):
    root, name = tiny_hub
    with pytest.raises(FileNotFoundError, match="preset directory not found"):
        hub.load_hub_converter(f"hub:{tmp_path / 'missing'}")
    with pytest.raises(ValueError, match="not a KerasHub preset directory"):
        hub.load_hub_converter(f"hub:{root / 'data'}")
    with pytest.raises(ValueError, match="brings the preset's weights"):
        hub.build_hub_backbone(name, (32, 32, 3), weights=str(tmp_path / "w.h5"))
    with pytest.raises(ValueError, match="too small"):
        hub.build_hub_backbone(name, (16, 16, 3))
    result = _invoke(
        "fit", root / "data", "--backbone", "hub:", "--output", tmp_path / "r"
    )
    assert result.exit_code == 2 and "give hub:PRESET" in result.output


def test_offline_preset_names_it():
    def offline():
        raise ConnectionError("Failed to resolve 'api.kaggle.com'")

    with pytest.raises(RuntimeError) as error:
        hub._load("resnet_18_imagenet", offline)
    assert str(error.value).startswith(
        "could not download KerasHub preset 'resnet_18_imagenet' (offline?)"
    )


def test_missing_keras_hub_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_hub", None)  # `import` now fails
    with pytest.raises(RuntimeError, match=r"pip install kerasvision\[hub\]$"):
        hub.build_hub_backbone("hub:resnet_18_imagenet", (32, 32, 3))
