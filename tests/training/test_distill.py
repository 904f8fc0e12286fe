"""kerasvision.training.distill and `kerasvision distill`: a student run taught
by teacher runs through `keras.distillation`."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from kerasvision.cli import main
from kerasvision.runs import load_run
from kerasvision.training.distill import Teacher, distill


def test_cli_distills_bipyramidal_cnn_into_a_narrower_one(digits_run, tmp_path):
    student_dir = tmp_path / "student"
    result = CliRunner().invoke(
        main,
        ["distill", str(digits_run), "--model", "bipyramidal_cnn",
         "--model-arg", "filters=(4, 8)", "--epochs", "3", "--seed", "1",
         "--temperature", "3", "--alpha", "0.5", "--output", str(student_dir)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    closing = result.output.strip().splitlines()[-1]
    assert closing.startswith("teacher accuracy ") and "-> student accuracy" in closing
    assert "parameters" in closing and "images/s" in closing and "x smaller" in closing

    teacher, student = load_run(digits_run), load_run(student_dir)
    recorded = student.info["distillation"]
    assert [t["run"] for t in recorded["teachers"]] == [str(digits_run)]
    assert recorded["temperature"] == 3.0 and recorded["alpha"] == 0.5
    assert recorded["student"]["params"] < recorded["teacher"]["params"]
    assert recorded["student"]["accuracy"] == student.metrics()["accuracy"]
    # The student trains on the teacher's data and split: the same test images.
    assert student.info["split"]["test"] == teacher.info["split"]["test"]
    assert student.info["data"]["image_size"] == teacher.info["data"]["image_size"]
    # A normal run: model, checked SavedModel with its model card, history.
    history = (student_dir / "history.csv").read_text().splitlines()[0]
    assert "distillation_loss" in history and len(history.split(",")) > 3
    card = (student_dir / "serving" / "MODEL_CARD.md").read_text()
    assert "Distilled from" in card and str(digits_run) in card
    assert "knowledge-distillation" in card
    assert json.loads((student_dir / "run.json").read_text())["status"] == "complete"


def test_the_distillation_loss_is_not_zero(digits_run):
    """Keras 3.15's default "kl_divergence" compares the scaled logits
    themselves (~0); the student must see the teacher's softened labels."""
    import keras

    from kerasvision.models.cnn import build_bipyramidal_cnn

    teacher = Teacher([load_run(digits_run)], temperature=2.0, alpha=0.0)
    student = build_bipyramidal_cnn((8, 8, 1), 10, filters=(4,), dense_units=())
    student.compile(optimizer="adam", loss="sparse_categorical_crossentropy",
                    metrics=["accuracy"])  # fmt: skip
    distiller = teacher.wrap(student)
    images = np.random.default_rng(0).integers(0, 256, (4, 8, 8, 1)).astype("float32")
    loss = distiller.compute_loss(x=images, y=np.zeros(4), y_pred=student(images))
    assert float(keras.ops.convert_to_numpy(loss)) > 0.01


def test_a_student_must_be_named_and_teachers_must_agree(digits_run, tiny_run):
    with pytest.raises(ValueError, match="--model NAME or --backbone NAME"):
        distill([digits_run], epochs=1)
    with pytest.raises(ValueError, match="has classes"):
        distill([digits_run, tiny_run[0]], model="bipyramidal_cnn")
    with pytest.raises(ValueError, match="alpha must be in"):
        distill([digits_run], model="bipyramidal_cnn", alpha=2.0)


def test_throughput_is_measured_in_turns_one_figure_per_model():
    import keras

    from kerasvision.training.distill import images_per_second

    small = keras.Sequential([keras.Input((4, 4, 1)), keras.layers.Flatten()])
    wide = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.Conv2D(8, 3)])
    batches = [np.zeros((5, 4, 4, 1)), np.zeros((3, 8, 8, 3))]
    speeds = images_per_second([small, wide], batches, repeats=2)
    assert len(speeds) == 2 and all(np.isfinite(s) and s > 0 for s in speeds)
    with pytest.raises(ValueError):  # a batch per model
        images_per_second([small, wide], batches[:1])
