"""kerasvision.layers.tta and `serving_model(..., tta=...)`: the same averaging in
evaluate, predict and the export."""

import json
import shutil

import numpy as np
import pytest
from helpers import assert_keras_round_trip, assert_layer_config_round_trip

from kerasvision._choices import TTA_MODES
from kerasvision.layers import tta as tta_layers
from kerasvision.models.cnn import build_bipyramidal_cnn
from kerasvision.models.heads import serving_model


def _model():
    return build_bipyramidal_cnn((12, 12, 3), 3, filters=(4,), dense_units=())


def _images(count=3):
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (count, 12, 12, 3)).astype("float32")


@pytest.mark.parametrize("mode", TTA_MODES)
def test_views_layers_round_trip(mode, tmp_path):
    import keras

    layer = tta_layers.TestTimeViews(mode)
    views = np.asarray(layer(_images()))
    assert views.shape == (3 * tta_layers.view_count(mode), 12, 12, 3)
    np.testing.assert_array_equal(views[3:6], _images()[:, :, ::-1])
    assert_layer_config_round_trip(layer)
    assert_layer_config_round_trip(tta_layers.ViewAverage(tta_layers.view_count(mode)))
    model = serving_model(_model(), tta=mode)
    assert isinstance(model.get_layer("tta_views"), keras.layers.Layer)
    assert_keras_round_trip(model, str(tmp_path / "tta.keras"), _images())


def test_flip_averages_the_image_and_its_mirror():
    model = _model()
    images = _images()
    expected = (
        model.predict(images, verbose=0)
        + model.predict(images[:, :, ::-1].copy(), verbose=0)
    ) / 2
    actual = serving_model(model, tta="flip").predict(images, verbose=0)
    np.testing.assert_allclose(actual, expected, atol=1e-6)
    with pytest.raises(ValueError, match="tta must be one of"):
        serving_model(model, tta="rotate")


def test_export_bakes_tta_in_and_passes_the_parity_check(tmp_path):
    import tensorflow as tf

    from kerasvision.export import export_saved_model

    served = serving_model(_model(), temperature=1.5, tta="flip+crop")
    report = export_saved_model(
        served, tmp_path / "s", class_names=["a", "b", "c"], sample_images=_images()
    )
    assert report["max_abs_diff"] <= 1e-5 and report["deterministic"]
    loaded = tf.saved_model.load(str(tmp_path / "s"))
    out = loaded.signatures["serving_default"](images=tf.constant(_images()))
    np.testing.assert_allclose(
        out["probabilities"].numpy(), served.predict(_images(), verbose=0), atol=1e-5
    )


def test_evaluate_and_predict_with_tta_on_a_run(tiny_run, tmp_path):
    from kerasvision.evaluation import evaluate, predict

    run_dir = tmp_path / "run"
    shutil.copytree(tiny_run[0], run_dir)
    metrics = evaluate(run_dir, tta="flip")
    assert metrics["tta"]["mode"] == "flip" and "accuracy" in metrics["tta"]
    recorded = json.loads((run_dir / "metrics.json").read_text())
    assert recorded["tta"] == metrics["tta"] and "accuracy" in recorded
    plain = predict(run_dir, tiny_run[1][:2])
    averaged = predict(run_dir, tiny_run[1][:2], tta="flip")
    assert plain[0]["probabilities"] != averaged[0]["probabilities"]
