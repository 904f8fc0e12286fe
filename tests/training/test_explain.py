"""What a run tells its user: the defaults it chose and a word on useless results."""

from __future__ import annotations

import numpy as np

from kerasvision.config import FitConfig
from kerasvision.data import from_arrays
from kerasvision.training.explain import (
    chance_level,
    describe_run,
    result_warning,
    size_reason,
)


def _data(count=60, classes=3, size=8):
    rng = np.random.default_rng(0)
    x = rng.integers(0, 255, (count, size, size, 1)).astype("uint8")
    return from_arrays(x, np.arange(count) % classes, seed=3)


def _metrics(accuracy, supports):
    names = [str(i) for i in range(len(supports))]
    per_class = {n: {"support": s} for n, s in zip(names, supports, strict=True)}
    return {"accuracy": accuracy, "per_class": per_class, "split": "test"}


def test_first_lines_say_data_split_size_resize_model_and_epochs():
    data = _data()
    config = FitConfig(epochs=None).resolved(train_images=len(data.splits["train"]))
    lines = describe_run(config, data, size_reason=size_reason(config, data, "x"))
    assert [line.split(":")[0] for line in lines] == ["data", "images", "model"]
    assert "60 images in 3 classes" in lines[0] and "seed 3" in lines[0]
    assert "8x8 grayscale (the images' own size)" in lines[1]
    assert "stretched to it" in lines[1]
    assert "bipyramidal_cnn from scratch" in lines[2]
    assert "15 epoch(s) (the default; --epochs to change)" in lines[2]
    resumed = describe_run(config, data, recorded=True)[0]
    assert "the run's recorded split" in resumed


def test_a_short_fine_tune_says_it_is_mostly_warm_up():
    config = FitConfig(
        backbone="mobilenet_v2", weights="none", mode="fine-tune", epochs=1
    ).resolved()
    line = describe_run(config, _data())[2]
    assert "random weights (--weights none)" in line
    assert "15 warm-up epoch(s)" in line and "1 fine-tuning epoch(s)" in line
    assert "15 of the 16 epochs train only the head" in line


def test_chance_level_results_get_one_line_with_reasons():
    data = _data()
    config = FitConfig(
        backbone="mobilenet_v2", weights="none", mode="fine-tune", epochs=1
    ).resolved()
    metrics = _metrics(0.34, [10, 10, 10])
    assert chance_level(metrics) == 1 / 3
    line = result_warning(metrics, config, data, epochs_trained=16)
    assert line.startswith("warning: test accuracy 0.3400 is within 0.05 of chance")
    assert "random weights (--weights none)" in line
    assert "15 of the 16 epochs only warmed up the head" in line
    assert "training images (16 per class)" in line
    assert result_warning(_metrics(0.9, [10, 10, 10]), config, data) is None
    # Chance is the largest class's share when the split is unbalanced.
    assert chance_level(_metrics(0.8, [8, 1, 1])) == 0.8
    assert result_warning(_metrics(0.8, [8, 1, 1]), config, data) is not None
