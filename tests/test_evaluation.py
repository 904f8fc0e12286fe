"""kerasvision.evaluation: metrics, evaluating runs, predicting files."""

import json
import math

import numpy as np
import pytest
from helpers import write_image_folder
from PIL import Image

import kerasvision
from kerasvision.evaluation import compute_metrics


def test_compute_metrics_by_hand():
    probabilities = np.array([[0.9, 0.1], [0.2, 0.8], [0.6, 0.4], [0.3, 0.7]])
    labels = np.array([0, 1, 1, 1])
    metrics = compute_metrics(probabilities, labels, ["a", "b"])
    expected_loss = -(math.log(0.9) + math.log(0.8) + math.log(0.4) + math.log(0.7)) / 4
    assert metrics["loss"] == pytest.approx(expected_loss)
    assert metrics["accuracy"] == 0.75
    assert metrics["confusion_matrix"] == [[1, 0], [1, 2]]
    assert metrics["per_class"]["a"] == pytest.approx(
        {"precision": 0.5, "recall": 1.0, "f1": 2 / 3, "support": 1}
    )
    assert metrics["per_class"]["b"]["recall"] == pytest.approx(2 / 3)
    assert "top5_accuracy" not in metrics


def test_top5_accuracy_for_ten_classes():
    probabilities = np.tile(np.linspace(1, 0.1, 10), (2, 1))
    probabilities /= probabilities.sum(axis=1, keepdims=True)
    metrics = compute_metrics(
        probabilities, np.array([4, 5]), [str(i) for i in range(10)]
    )
    assert metrics["top5_accuracy"] == 0.5 and metrics["accuracy"] == 0.0


@pytest.fixture(scope="module")
def folder_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("evaluation")
    write_image_folder(root / "data", classes=("dark", "mid", "light"), per_class=10)
    result = kerasvision.fit(
        str(root / "data"),
        image_size=12,
        epochs=15,
        batch_size=4,
        seed=0,
        verbose=0,
        lr=1e-2,
        model_kwargs={"filters": (8,), "dense_units": (), "dropout_rate": 0.0},
        output=str(root / "run"),
    )
    return root, result


def test_evaluate_rebuilds_the_recorded_test_split(folder_run):
    root, result = folder_run
    metrics = kerasvision.evaluate(result.run_dir)
    saved = json.loads((root / "run" / "metrics.json").read_text())
    assert metrics["count"] == saved["count"] == 3
    assert metrics["accuracy"] == pytest.approx(saved["accuracy"])
    assert metrics["loss"] == pytest.approx(saved["loss"], rel=1e-5)


def test_evaluate_on_another_folder_maps_classes_by_name(folder_run, tmp_path):
    _, result = folder_run
    write_image_folder(tmp_path / "new", classes=("dark", "light"), per_class=4, seed=9)
    metrics = kerasvision.evaluate(result.run_dir, str(tmp_path / "new"))
    assert metrics["count"] == 8
    assert metrics["per_class"]["mid"]["support"] == 0
    assert metrics["per_class"]["light"]["support"] == 4
    write_image_folder(tmp_path / "alien", classes=("dark", "zebra"), per_class=2)
    with pytest.raises(ValueError, match="zebra"):
        kerasvision.evaluate(result.run_dir, str(tmp_path / "alien"))


def test_predict_files_and_folders(folder_run, tmp_path):
    _, result = folder_run
    dark = tmp_path / "dark.jpg"
    Image.fromarray(np.full((30, 30, 3), 35, dtype=np.uint8)).save(dark)
    light = tmp_path / "folder" / "nested" / "light.png"
    light.parent.mkdir(parents=True)
    Image.fromarray(np.full((9, 9, 3), 205, dtype=np.uint8)).save(light)
    (tmp_path / "folder" / "broken.png").write_bytes(b"nope")
    skipped = []
    results = kerasvision.predict(
        result.run_dir,
        [str(dark), str(tmp_path / "folder")],
        top_k=2,
        on_bad_file=lambda path, reason: skipped.append(path),
    )
    assert [r["path"] for r in results] == [str(dark), str(light)]
    assert skipped == [str(tmp_path / "folder" / "broken.png")]
    assert results[0]["class_name"] == "dark" and results[1]["class_name"] == "light"
    assert len(results[0]["top_k"]) == 2
    assert sum(results[0]["probabilities"].values()) == pytest.approx(1.0, abs=1e-5)
    with pytest.raises(ValueError, match="broken.png"):
        kerasvision.predict(result.run_dir, [str(tmp_path / "folder" / "broken.png")])
    with pytest.raises(ValueError, match="top_k"):
        kerasvision.predict(result.run_dir, [str(dark)], top_k=4)


def test_predict_agrees_with_the_exported_bytes_signature(folder_run, tmp_path):
    import tensorflow as tf

    _, result = folder_run
    image = tmp_path / "x.png"
    Image.fromarray(
        np.random.default_rng(0).integers(0, 255, (17, 23, 3), dtype=np.uint8)
    ).save(image)
    ours = kerasvision.predict(result.run_dir, [str(image)])[0]["probabilities"]
    loaded = tf.saved_model.load(f"{result.run_dir}/serving")
    served = loaded.signatures["serving_bytes"](
        image_bytes=tf.constant([image.read_bytes()])
    )["probabilities"].numpy()[0]
    np.testing.assert_allclose(list(ours.values()), served, atol=1e-5)


def test_load_run_errors(tmp_path):
    from kerasvision.runs import load_run

    with pytest.raises(FileNotFoundError):
        load_run(tmp_path / "missing")
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="not a kerasvision run"):
        load_run(tmp_path / "plain")


def test_macro_average_leaves_out_classes_absent_from_the_labels():
    probabilities = np.array([[0.9, 0.05, 0.05], [0.1, 0.8, 0.1], [0.2, 0.7, 0.1]])
    metrics = compute_metrics(probabilities, np.array([0, 1, 1]), ["a", "b", "lone"])
    assert metrics["macro_avg"]["recall"] == pytest.approx(1.0)  # not 2/3
    assert metrics["classes_without_support"] == ["lone"]
    assert metrics["per_class"]["lone"]["support"] == 0
