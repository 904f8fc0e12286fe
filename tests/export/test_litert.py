"""kerasvision.export.export_litert and `kerasvision export --format tflite`."""

import shutil

import numpy as np
import pytest

pytest.importorskip(
    "ai_edge_litert",
    reason="LiteRT export is optional: pip install 'kerasvision[litert]'",
)

from ai_edge_litert.interpreter import Interpreter  # noqa: E402
from click.testing import CliRunner  # noqa: E402

from kerasvision._choices import QUANTIZE_MODES  # noqa: E402
from kerasvision.cli import main  # noqa: E402
from kerasvision.export import (  # noqa: E402
    LITERT_TOLERANCES,
    ExportError,
    export_litert,
    export_run,
)
from kerasvision.export.core import MARKER_FILE  # noqa: E402
from kerasvision.models.cnn import build_bipyramidal_cnn  # noqa: E402
from kerasvision.runs import load_run  # noqa: E402


@pytest.fixture(scope="module")
def litert_run(tiny_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("litert") / "run"
    shutil.copytree(tiny_run[0], path)
    return path


@pytest.mark.parametrize("quantize", QUANTIZE_MODES)
def test_every_quantization_loads_runs_and_is_recorded(litert_run, quantize):
    report = export_run(litert_run, format="tflite", quantize=quantize)
    folder = litert_run / f"litert-{quantize}"
    assert sorted(p.name for p in folder.iterdir()) == [
        MARKER_FILE,
        "MODEL_CARD.md",
        "labels.txt",
        "model.tflite",
    ]
    run = load_run(litert_run)
    assert (folder / "labels.txt").read_text().split() == run.class_names
    assert report["file_bytes"] == (folder / "model.tflite").stat().st_size
    assert report["latency_ms"] > 0 and report["top1_agreement"] >= 0.99
    assert "accuracy" in report and "keras_accuracy" in report
    if quantize in LITERT_TOLERANCES:
        assert report["max_abs_diff"] <= LITERT_TOLERANCES[quantize]
    assert run.info["exports"][f"tflite-{quantize}"]["quantize"] == quantize
    runner = Interpreter(model_path=str(folder / "model.tflite")).get_signature_runner(
        "serving_default"
    )
    _, images = run.load_images(_one(run))
    out = runner(images=images)["probabilities"]
    assert out.shape == (1, len(run.class_names)) and out.dtype == np.float32


def _one(run):
    """One of the run's own training images."""
    data = run.data()
    return [data.splits["train"].paths[0]]


def test_low_agreement_fails_and_writes_nothing(tmp_path):
    model = build_bipyramidal_cnn((8, 8, 1), 3, filters=(4,), dense_units=())
    images = np.random.default_rng(0).integers(0, 256, (6, 8, 8, 1)).astype("float32")
    with pytest.raises(ExportError, match="agrees with Keras on the top-1"):
        export_litert(
            model,
            tmp_path / "litert",
            class_names=["a", "b", "c"],
            quantize="dynamic",
            sample_images=images,
            min_agreement=1.01,
        )
    assert list(tmp_path.iterdir()) == []  # no staging left either


def test_int8_needs_representative_images(tmp_path):
    model = build_bipyramidal_cnn((8, 8, 1), 3, filters=(4,), dense_units=())
    with pytest.raises(ValueError, match="representative"):
        export_litert(model, tmp_path / "x", class_names="abc", quantize="int8")


def test_cli_prints_size_latency_and_agreement(litert_run):
    result = CliRunner().invoke(
        main,
        ["export", str(litert_run), "--format", "tflite", "--quantize", "int8",
         "--representative", "8"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "LiteRT, quantize int8" in result.output
    assert "KiB" in result.output and "top-1 agreement" in result.output
    wrong = CliRunner().invoke(main, ["export", str(litert_run), "--quantize", "int8"])
    assert wrong.exit_code == 2 and "--format tflite only" in wrong.output


def test_missing_package_is_one_line(monkeypatch, tmp_path):
    import sys

    monkeypatch.setitem(sys.modules, "ai_edge_litert.interpreter", None)
    model = build_bipyramidal_cnn((8, 8, 1), 3, filters=(4,), dense_units=())
    with pytest.raises(ExportError, match=r"pip install 'kerasvision\[litert\]'"):
        export_litert(model, tmp_path / "x", class_names="abc")


def test_multilabel_int8_decisions_agree_on_the_label_slots(tmp_path):
    import keras

    from kerasvision.data.labelsets import decide

    inputs = keras.Input((8, 8, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inputs)
    head = keras.layers.Dense(3, activation="sigmoid", name="predictions")
    model = keras.Model(inputs, head(pooled))
    head.set_weights([np.eye(3, dtype="float32") * 0.1, np.full(3, -12.8, "float32")])
    rng = np.random.default_rng(0)
    images = rng.choice([20.0, 230.0], (64, 1, 1, 3)) * np.ones((64, 8, 8, 3))
    images = np.clip(images + rng.normal(0, 5, images.shape), 0, 255)
    thresholds = [0.5, 0.4, 0.6]
    targets = decide(model.predict(images, verbose=0), thresholds)
    report = export_litert(
        model, str(tmp_path / "lite"), class_names=["a", "b", "c"], quantize="int8",
        representative=images, test_data=(images, targets), thresholds=thresholds,
    )  # fmt: skip
    assert report["outputs"] == ["probabilities", "labels"]
    assert report["label_agreement"] >= 0.99 and report["subset_accuracy"] >= 0.95
    runner = Interpreter(model_path=report["file"]).get_signature_runner(
        "serving_default"
    )
    assert set(runner(images=images[:2].astype("float32"))) == {"probabilities",
                                                                  "labels"}  # fmt: skip
    assert "multi-label" in report["metadata_missing"]
