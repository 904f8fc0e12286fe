"""kerasvision.fit: run directory, losses per label kind, seeds, NaN, resume."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import small_digits, write_image_folder

import kerasvision
from kerasvision.models.heads import serving_model
from kerasvision.training import TrainingError

TINY = {"filters": (4, 8), "dense_units": (16,)}


def _fit(tmp_path, data=None, name="run", **kwargs):
    options = {
        "model_kwargs": TINY,
        "epochs": 2,
        "batch_size": 16,
        "seed": 0,
        "output": str(tmp_path / name),
        "verbose": 0,
    }
    options.update(kwargs)
    return kerasvision.fit(data, **options)


def test_fit_writes_a_complete_run_directory(tmp_path):
    x, y, names = small_digits(per_class=10)
    result = _fit(tmp_path, (x, y), epochs=3, early_stopping=5)
    run = tmp_path / "run"
    assert result.run_dir == str(run)
    for name in (
        "model.keras",
        "labels.txt",
        "history.csv",
        "metrics.json",
        "confusion_matrix.png",
        "curves.png",
        "run.json",
        "checkpoints/best.keras",
        "splits/train.txt",
        "splits/test.txt",
        "serving/saved_model.pb",
    ):
        assert (run / name).exists(), name
    assert not (tmp_path / ".run.partial").exists()
    assert not (run / "checkpoints" / "last.keras").exists()
    assert (run / "labels.txt").read_text().split() == [str(d) for d in range(10)]
    with open(run / "history.csv") as stream:
        rows = list(csv.DictReader(stream))
    assert [int(r["epoch"]) for r in rows] == [0, 1, 2]
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "top5_accuracy"} <= set(
        rows[0]
    )
    metrics = json.loads((run / "metrics.json").read_text())
    assert metrics["split"] == "test" and metrics["count"] == 10
    assert set(metrics["per_class"]) == set(names)
    assert "top5_accuracy" in metrics and len(metrics["confusion_matrix"]) == 10
    info = json.loads((run / "run.json").read_text())
    assert info["status"] == "complete" and info["seed"] == 0
    assert info["arguments"]["epochs"] == 3
    assert info["versions"]["tensorflow"] and info["versions"]["keras"]
    assert info["split"]["counts"] == {"train": 80, "val": 10, "test": 10}
    assert len(info["split"]["test"]) == 10 and len(info["data"]["fingerprint"]) == 64
    assert info["export"]["max_abs_diff"] <= 1e-5
    assert info["model"]["feature_layer"] == "block2_act2"
    assert len(result.epoch_seconds) == 3
    assert set(result.history) >= {"loss", "val_loss"}


def test_fit_learns_digits(tmp_path):
    result = _fit(
        tmp_path,
        None,
        dataset="digits",
        epochs=6,
        batch_size=32,
        export=False,
        model_kwargs={"filters": (16, 32), "dense_units": (64,)},
    )
    assert result.metrics["accuracy"] >= 0.9


def test_same_seed_gives_identical_weights(tmp_path):
    x, y, _ = small_digits(per_class=8)
    first = _fit(tmp_path, (x, y), name="a", export=False)
    second = _fit(tmp_path, (x, y), name="b", export=False)
    third = _fit(tmp_path, (x, y), name="c", export=False, seed=1)
    for w1, w2 in zip(
        first.model.get_weights(), second.model.get_weights(), strict=True
    ):
        np.testing.assert_array_equal(w1, w2)
    differs = any(
        not np.array_equal(w1, w3)
        for w1, w3 in zip(
            first.model.get_weights(), third.model.get_weights(), strict=True
        )
    )
    assert differs


def test_folder_run_records_bad_files_and_split_lists(tmp_path):
    data_dir = tmp_path / "data"
    write_image_folder(data_dir, per_class=10)
    (data_dir / "cats" / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    result = _fit(tmp_path, str(data_dir), image_size=16, epochs=1)
    run = tmp_path / "run"
    bad = (run / "bad_files.txt").read_text()
    assert "broken.jpg" in bad
    info = json.loads((run / "run.json").read_text())
    assert info["data"]["bad_files"][0][0].endswith("broken.jpg")
    listed = (run / "splits" / "train.txt").read_text().split()
    assert len(listed) == 16 and all(p.startswith(("cats/", "dogs/")) for p in listed)
    assert result.model.output_shape == (None, 1)  # 2 classes: one sigmoid unit
    assert result.metrics["count"] == 2


def test_one_hot_labels_use_categorical_loss(tmp_path):
    x, y, _ = small_digits(per_class=6)
    result = _fit(tmp_path, (x, np.eye(10)[y]), epochs=1, export=False)
    assert type(result.model.loss).__name__ == "CategoricalCrossentropy"
    assert np.isfinite(result.metrics["loss"])


def test_image_size_below_model_minimum_is_an_error(tmp_path):
    x, y, _ = small_digits(per_class=3)
    with pytest.raises(ValueError, match="too small for lenet5"):
        kerasvision.fit(
            (x, y), model="lenet5", image_size=16, output=str(tmp_path / "r")
        )
    assert not (tmp_path / "r").exists() and not (tmp_path / ".r.partial").exists()


def test_small_arrays_are_scaled_up_to_the_model_minimum(tmp_path):
    x, y, _ = small_digits(per_class=4)
    result = _fit(
        tmp_path, (x, y), model="lenet5", model_kwargs={}, epochs=1, export=False
    )
    assert result.model.input_shape == (None, 32, 32, 1)


def test_existing_run_is_never_overwritten_by_default(tmp_path):
    x, y, _ = small_digits(per_class=4)
    _fit(tmp_path, (x, y), epochs=1, export=False)
    before = (tmp_path / "run" / "run.json").read_bytes()
    with pytest.raises(ValueError, match="already exists"):
        _fit(tmp_path, (x, y), epochs=1, export=False)
    assert (tmp_path / "run" / "run.json").read_bytes() == before
    _fit(tmp_path, (x, y), epochs=1, export=False, overwrite=True, seed=3)
    assert json.loads((tmp_path / "run" / "run.json").read_text())["seed"] == 3


def test_nan_loss_stops_with_a_clear_error(tmp_path):
    x, y, _ = small_digits(per_class=6)
    # An absurd learning rate blows the weights up to inf, then NaN.
    with pytest.raises(
        TrainingError, match=r"NaN/inf at epoch \d+, batch \d+.*lower --lr"
    ):
        _fit(tmp_path, (x, y), optimizer="sgd", lr=1e12, epochs=5, export=False)
    assert not (tmp_path / "run").exists()  # never published as a finished run


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"epochs": 0}, "epochs"),
        ({"epochs": 2.5}, "epochs"),
        ({"optimizer": "adagrad"}, "optimizer"),
        ({"lr": 0.0}, "lr"),
        ({"model": "nope"}, "unknown model"),
        ({"val_split": 0.6, "test_split": 0.6}, "split"),
    ],
)
def test_invalid_arguments(tmp_path, kwargs, message):
    x, y, _ = small_digits(per_class=3)
    with pytest.raises(ValueError, match=message):
        kerasvision.fit((x, y), output=str(tmp_path / "r"), verbose=0, **kwargs)


def test_resume_after_sigkill_mid_epoch(tmp_path):
    output = tmp_path / "killed"
    partial = tmp_path / ".killed.partial"
    command = [
        sys.executable,
        "-m",
        "kerasvision",
        "fit",
        "--dataset",
        "digits",
        "--image-size",
        "24",
        "--epochs",
        "4",
        "--seed",
        "0",
        "--batch-size",
        "16",
        "--model-arg",
        "filters=(8, 16)",
        "--output",
        str(output),
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    state = partial / "checkpoints" / "state.json"
    try:
        deadline = time.time() + 180
        while time.time() < deadline and process.poll() is None:
            if state.exists() and json.loads(state.read_text())["epoch"] >= 1:
                break
            time.sleep(0.05)
        time.sleep(0.3)  # now inside the next epoch
        assert process.poll() is None, process.stderr.read().decode()[-2000:]
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not output.exists() and partial.exists()
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < 4

    resumed = subprocess.run(
        [
            sys.executable,
            "-m",
            "kerasvision",
            "fit",
            "--resume",
            "--output",
            str(output),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert f"resuming {output} from epoch {done}" in resumed.stderr
    assert output.exists() and not partial.exists()
    with open(output / "history.csv") as stream:
        epochs = [int(row["epoch"]) for row in csv.DictReader(stream)]
    assert epochs == [0, 1, 2, 3]
    info = json.loads((output / "run.json").read_text())
    assert info["status"] == "complete" and info["resumed"][0]["epoch"] == done
    assert info["metrics"]["accuracy"] > 0.3  # learned (chance 0.1; 4 short epochs)


def test_resume_of_something_that_is_not_a_run(tmp_path):
    (tmp_path / "plain").mkdir()
    with pytest.raises(ValueError, match="not an interrupted kerasvision run"):
        kerasvision.fit(resume=True, output=str(tmp_path / "plain"))
    assert os.listdir(tmp_path / "plain") == []


def test_augmentation_and_regularizers_through_fit(tmp_path):
    import tensorflow as tf

    x, y, _ = small_digits(per_class=8)
    result = _fit(
        tmp_path,
        (x, y),
        epochs=1,
        augment="rotate=0.1,zoom=0.1,cutmix@0.5,mixup@0.5",
        label_smoothing=0.1,
        class_weight="balanced",
        optimizer="adamw",
        weight_decay=1e-3,
        kernel_initializer="torch_uniform",
        model_kwargs={**TINY, "batch_norm": True, "l2": 1e-4, "dropout_rate": 0.2},
    )
    model = result.model
    assert type(model.loss).__name__ == "CategoricalCrossentropy"  # mixed labels
    assert model.loss.label_smoothing == pytest.approx(0.1)
    assert type(model.optimizer).__name__ == "AdamW"
    assert model.optimizer.weight_decay == pytest.approx(1e-3)
    assert not any("augment" in layer.name for layer in model.layers)
    # The exported model has no random layer: deterministic and equal to predict.
    served = tf.saved_model.load(str(tmp_path / "run" / "serving"))
    images = tf.constant(x[:8].astype("float32"))
    first = served.signatures["serving_default"](images=images)["probabilities"]
    second = served.signatures["serving_default"](images=images)["probabilities"]
    np.testing.assert_array_equal(first, second)
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    calibrated = serving_model(model, temperature=info["calibration"]["temperature"])
    np.testing.assert_allclose(
        first, calibrated.predict(images, verbose=0), atol=1e-5
    )  # the export serves the calibrated probabilities
    assert info["arguments"]["augment"].startswith("rotate=0.1")


def test_augmentation_switches_off_the_feature_cache(tmp_path):
    x, y, _ = small_digits(per_class=4)
    result = _fit(
        tmp_path,
        (x, y),
        backbone="mobilenet_v2",
        weights=None,
        image_size=32,
        epochs=1,
        augment="flip",
        model_kwargs={},
        export=False,
    )
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["feature_cache_seconds"] == 0.0
    assert result.model.output_shape == (None, 10)


def test_a_long_head_phase_trains_and_records_the_scaled_rate(tmp_path):
    x, y, _ = small_digits(per_class=4)
    lines = []
    _fit(tmp_path, (x, y), backbone="mobilenet_v2", weights=None, image_size=32,
         epochs=25, batch_size=1, model_kwargs={}, export=False, calibrate=False,
         log=lines.append)  # fmt: skip
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    steps = 25 * info["split"]["counts"]["train"]
    assert steps > 400
    expected = float(f"{1e-2 * 400 / steps:.2g}")
    assert info["arguments"]["lr"] == expected  # what a rerun trains with
    assert info["schedule"][0]["peak_lr"] == pytest.approx(expected)
    said = [line for line in lines if line.startswith("head learning rate")]
    assert said == [
        f"head learning rate {expected:g}: the default 0.01 scaled by 400 / "
        f"{steps:,} steps of the phase (recorded; --lr to choose)"
    ]


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"augment": "spin=3"}, "unknown augmentation 'spin'"),
        ({"label_smoothing": 1.5}, "label_smoothing"),
        ({"weight_decay": 0.1}, "adamw"),
        ({"kernel_initializer": "zeros_please"}, "initializer"),
        ({"model_kwargs": {"wings": 2}}, "does not take the option 'wings'"),
    ],
)
def test_invalid_regularization_arguments(tmp_path, kwargs, message):
    x, y, _ = small_digits(per_class=3)
    with pytest.raises(ValueError, match=message):
        kerasvision.fit((x, y), output=str(tmp_path / "r"), verbose=0, **kwargs)
    assert not (tmp_path / "r").exists() and not (tmp_path / ".r.partial").exists()


@pytest.mark.parametrize(
    "precision, jit", [("mixed_bfloat16", True), ("mixed_float16", False)]
)
def test_mixed_precision_and_xla_on_cpu(tmp_path, precision, jit):
    import keras

    x, y, _ = small_digits(per_class=6)
    result = _fit(tmp_path, (x, y), epochs=1, precision=precision, jit_compile=jit)
    model = result.model
    assert model.get_layer("block1_conv1").dtype_policy.name == precision
    assert model.get_layer("predictions").dtype_policy.name == "float32"
    assert model.output.dtype == "float32"
    if precision == "mixed_float16":
        assert type(model.optimizer).__name__ == "LossScaleOptimizer"
    assert np.isfinite(result.metrics["loss"])
    assert result.export["max_abs_diff"] <= 1e-5  # the export check passed
    assert keras.mixed_precision.dtype_policy().name == "float32"  # restored
    assert model.jit_compile is jit  # XLA really on (op determinism switched off)


def test_a_class_with_one_image_is_warned_about_and_recorded(tmp_path):
    write_image_folder(tmp_path / "data", classes=("ant", "bee"), per_class=8)
    write_image_folder(tmp_path / "data", classes=("solo",), per_class=1, seed=1)
    lines = []
    _fit(tmp_path, str(tmp_path / "data"), image_size=16, epochs=1, log=lines.append)
    # (a chance-level result of this tiny run has its own warning line)
    warnings = [x for x in lines if x.startswith("warning:") and "class(es)" in x]
    assert len(warnings) == 1 and "'solo' (no val/test)" in warnings[0], lines
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["data"]["classes_missing"] == {"val": ["solo"], "test": ["solo"]}
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text())
    assert "solo" in json.dumps(metrics)  # listed as absent from the test split


class _Interrupt(Exception):
    pass


def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path):
    """Shuffle, augmentation (flip + mixup) and dropout restart from (seed, epoch)
    every epoch, so interrupting after epoch 1 and resuming changes nothing: the
    weights and history.csv (line endings included) are identical on CPU."""
    write_image_folder(tmp_path / "data", classes=("a", "b", "c"), per_class=12)
    options = dict(
        image_size=16,
        epochs=3,
        augment="flip,mixup",
        model_kwargs={"filters": (4, 8), "dense_units": (8,), "dropout_rate": 0.5},
        batch_size=8,
        export=False,
    )
    full = _fit(tmp_path, str(tmp_path / "data"), "full", **options)

    def stop_in_epoch_2(line):
        if line.startswith("epoch 2/"):  # epoch 1 is checkpointed; 2 is not
            raise _Interrupt

    with pytest.raises(_Interrupt):
        _fit(tmp_path, str(tmp_path / "data"), "cut", **options, verbose=2,
             log=stop_in_epoch_2)  # fmt: skip
    state = json.loads((tmp_path / ".cut.partial/checkpoints/state.json").read_text())
    assert state["epoch"] == 1
    resumed = kerasvision.fit(resume=True, output=str(tmp_path / "cut"), verbose=0)
    for a, b in zip(full.model.get_weights(), resumed.model.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    history = (tmp_path / "full" / "history.csv").read_bytes()
    assert (tmp_path / "cut" / "history.csv").read_bytes() == history
    assert history.count(b"\r\n") == 4  # header + 3 epochs, as Keras's CSVLogger


def test_older_runs_keep_their_per_run_streams():
    from kerasvision.config import FitConfig

    record = FitConfig(dataset="digits", seed=0).to_json()
    assert record["epoch_seeds"] is True
    del record["epoch_seeds"]  # a run recorded before epoch seeds
    assert FitConfig.from_json(record).epoch_seeds is False


def test_reseeding_keys_generators_by_layer_not_by_process_numbering():
    import keras

    from kerasvision.training.callbacks import reseed_random_layers

    def network():
        inner = keras.Sequential(
            [keras.Input((4,)), keras.layers.GaussianNoise(0.1, name="noise")],
            name="inner",
        )
        return keras.Sequential(
            [keras.Input((4,)), inner, keras.layers.Dropout(0.5, name="dropout")]
        )

    first, second = network(), network()  # Keras numbers their generators apart
    assert reseed_random_layers(first, 3, 2) == reseed_random_layers(second, 3, 2) == 2
    states = [[v.numpy().tolist() for v in m.non_trainable_variables]
              for m in (first, second)]  # fmt: skip
    assert states[0] == states[1]
    reseed_random_layers(second, 3, 5)
    assert [v.numpy().tolist() for v in second.non_trainable_variables] != states[0]


def test_the_default_scratch_model_takes_its_shape_from_the_input_size(tmp_path):
    """From 48 px the recipe's four one-convolution blocks with batch
    normalization; the arguments used are what run.json records."""
    x, y, _ = small_digits(per_class=4)
    big = np.kron(x, np.ones((1, 6, 6, 1), dtype=x.dtype))  # 8 px -> 48 px
    lines = []
    result = _fit(tmp_path, (big, y), model_kwargs={"dense_units": ()},
                  epochs=1, export=False, log=lines.append)  # fmt: skip
    model_line = next(line for line in lines if line.startswith("model: "))
    assert model_line.startswith(
        "model: bipyramidal_cnn (4 blocks of 1 convolution + batch normalization, "
        "the recipe's for 48 px; --model-arg to change) from scratch"
    ), model_line
    names = [layer.name for layer in result.model.layers]
    assert "block4_bn1" in names and "block1_conv2" not in names
    recorded = json.loads((tmp_path / "run" / "run.json").read_text())["arguments"]
    assert recorded["model_kwargs"] == {"filters": [32, 64, 128, 256],
                                        "convs_per_block": 1, "norm": "batch",
                                        "dense_units": []}  # fmt: skip
    assert recorded["config_version"] == 4
