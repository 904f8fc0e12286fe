"""Transfer learning: frozen/unfrozen behaviour, unfreezing, two phases, Model A."""

import json
import os

import keras
import numpy as np
import pytest
from helpers import small_digits

import kerasvision
from kerasvision.models.transfer import (
    backbone_blocks,
    build_transfer_classifier,
    get_backbone,
    parse_unfreeze,
    trainability_table,
    unfreeze,
)


def _snapshot(layer):
    return {w.path: np.array(w.numpy()) for w in layer.weights}


def _train_steps(model, steps=3, size=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0, 255, (8, size, size, 3)).astype("float32")
    y = rng.integers(0, 3, 8)
    for _ in range(steps):
        model.train_on_batch(x, y)


def _compile(model, lr=1e-2):
    model.compile(keras.optimizers.SGD(lr), "sparse_categorical_crossentropy")


def _is_bn_statistic(path):
    return "moving_mean" in path or "moving_variance" in path


def test_feature_extraction_leaves_backbone_bit_identical():
    model = build_transfer_classifier(
        "mobilenet_v2", 3, weights=None, input_shape=(32, 32, 3)
    )
    backbone = get_backbone(model)
    before = _snapshot(backbone)
    head_before = _snapshot(model.get_layer("predictions"))
    _compile(model)
    _train_steps(model)
    after = _snapshot(backbone)
    for path, value in before.items():
        np.testing.assert_array_equal(after[path], value, err_msg=path)
    assert any(
        not np.array_equal(v, _snapshot(model.get_layer("predictions"))[k])
        for k, v in head_before.items()
    )


@pytest.mark.parametrize("bn", ["frozen", "train"])
def test_fine_tuning_changes_weights_and_bn_statistics_per_policy(bn):
    model = build_transfer_classifier(
        "densenet121", 3, weights=None, input_shape=(32, 32, 3), bn=bn, trainable=True
    )
    backbone = get_backbone(model)
    before = _snapshot(backbone)
    _compile(model)
    _train_steps(model)
    after = _snapshot(backbone)
    stats = [p for p in before if _is_bn_statistic(p)]
    kernels = [p for p in before if p.endswith("kernel")]
    assert stats and kernels
    changed_kernels = sum(not np.array_equal(before[p], after[p]) for p in kernels)
    assert changed_kernels >= len(kernels) * 0.9
    changed_stats = sum(not np.array_equal(before[p], after[p]) for p in stats)
    if bn == "frozen":
        assert changed_stats == 0
    else:
        assert changed_stats >= len(stats) * 0.9


@pytest.mark.parametrize("bn", ["frozen", "train"])
def test_top_n_unfreezing_changes_exactly_those_layers(bn):
    model = build_transfer_classifier(
        "densenet121", 3, weights=None, input_shape=(32, 32, 3), bn=bn
    )
    names = unfreeze(model, "top:6", bn=bn)
    backbone = get_backbone(model)
    body = [layer for layer in backbone.layers if layer.weights]
    expected = [
        layer.name
        for layer in backbone.layers[-6:]
        if bn == "train" or not isinstance(layer, keras.layers.BatchNormalization)
    ]
    assert names == expected and "conv5_block16_2_conv" in names
    before = {layer.name: _snapshot(layer) for layer in body}
    _compile(model)
    _train_steps(model)
    for layer in body:
        changed = any(
            not np.array_equal(value, _snapshot(layer)[path])
            for path, value in before[layer.name].items()
            if bn == "train" or not _is_bn_statistic(path)
        )
        assert changed == (layer.name in names), layer.name


def test_unfreeze_handles_the_frozen_parent_and_counts():
    model = build_transfer_classifier(
        "mobilenet_v2", 3, weights=None, input_shape=(32, 32, 3)
    )
    backbone = get_backbone(model)
    assert not backbone.trainable
    chosen = unfreeze(model, "from:block_16_expand")
    assert backbone.trainable  # the parent must be trainable for the inner layers
    trainable = {w.path for w in model.trainable_weights}
    expected = {
        w.path
        for layer in backbone.layers
        if layer.name in chosen
        for w in layer.trainable_weights
    }
    head = {w.path for w in model.get_layer("predictions").trainable_weights}
    assert trainable == expected | head
    blocks = [name for name, _ in backbone_blocks(backbone)]
    assert blocks[0] == "stem" and blocks[-1] == "block_16"
    unfreeze(model, "blocks:2")
    assert {layer.name for layer in backbone.layers if layer.trainable} >= {
        "block_15_expand",
        "block_16_project",
        "out_relu",
    }
    assert not backbone.get_layer("block_14_expand").trainable
    table = trainability_table(model, lr=1e-4)
    assert "block_16" in table and "learning rate 0.0001" in table and "head" in table


@pytest.mark.parametrize(
    "spec, expected",
    [
        ("all", ("all", None)),
        ("top:20", ("top", 20)),
        ("blocks:3", ("blocks", 3)),
        ("from:conv5_block1_1_conv", ("from", "conv5_block1_1_conv")),
    ],
)
def test_parse_unfreeze(spec, expected):
    assert parse_unfreeze(spec) == expected


@pytest.mark.parametrize("spec", ["top", "top:0", "blocks:x", "from:", "bottom:3"])
def test_parse_unfreeze_rejects(spec):
    with pytest.raises(ValueError, match="--unfreeze"):
        parse_unfreeze(spec)


def test_unknown_layer_in_from():
    model = build_transfer_classifier(
        "mobilenet_v2", 3, weights=None, input_shape=(32, 32, 3)
    )
    with pytest.raises(ValueError, match="no layer 'nope'"):
        unfreeze(model, "from:nope")


def _fit_transfer(tmp_path, name, **kwargs):
    x, y, names = small_digits(per_class=8)
    options = dict(
        backbone="mobilenet_v2",  # the smallest registry backbone at 32 px
        weights=None,
        image_size=32,
        epochs=2,
        seed=0,
        batch_size=16,
        verbose=0,
        output=str(tmp_path / name),
        export=False,
    )
    options.update(kwargs)
    return kerasvision.fit((x, y), **options)


def test_feature_caches_give_the_same_model_as_the_slow_path(tmp_path):
    # The warm-up trains the head on cached pooled features, the fine-tuning
    # phase the last two blocks on cached activations of the frozen part.
    options = dict(mode="fine-tune", warmup_epochs=1, epochs=1, unfreeze="blocks:2")
    fast = _fit_transfer(tmp_path, "fast", feature_cache="on", **options)
    slow = _fit_transfer(tmp_path, "slow", feature_cache="off", **options)
    fast_base, slow_base = get_backbone(fast.model), get_backbone(slow.model)
    pairs = [(fast.model.get_layer("predictions"), slow.model.get_layer("predictions"))]
    pairs += [
        (fast_base.get_layer(name), slow_base.get_layer(name))
        for name in ("block_16_project", "Conv_1", "block_1_expand")
    ]
    for a_layer, b_layer in pairs:
        for a, b in zip(a_layer.get_weights(), b_layer.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, atol=1e-4)
    assert fast.metrics["loss"] == pytest.approx(slow.metrics["loss"], abs=1e-3)
    assert len(fast.history["loss"]) == 2
    info = json.loads((tmp_path / "fast" / "run.json").read_text())
    assert info["feature_cache_seconds"] > 0
    assert info["model"]["backbone"] == "mobilenet_v2"
    assert info["model"]["feature_layer"] == "out_relu"
    slow_info = json.loads((tmp_path / "slow" / "run.json").read_text())
    assert slow_info["feature_cache_seconds"] == 0


def test_two_phase_fine_tuning_in_one_call(tmp_path):
    result = _fit_transfer(
        tmp_path,
        "ft",
        mode="fine-tune",
        warmup_epochs=1,
        epochs=1,
        unfreeze="blocks:2",
        lr=1e-2,
        early_stopping=3,
        export=True,
    )
    assert len(result.history["loss"]) == 2
    info = json.loads((tmp_path / "ft" / "run.json").read_text())
    phases = info["model"]["phases"]
    assert [p["name"] for p in phases] == ["warm-up", "fine-tune"]
    assert phases[1]["lr"] == pytest.approx(1e-3)  # 10x lower by default
    table = (tmp_path / "ft" / "trainability.txt").read_text()
    assert "phase warm-up" in table and "phase fine-tune" in table
    assert info["export"]["max_abs_diff"] <= 1e-5
    backbone = get_backbone(result.model)
    assert backbone.get_layer("block_16_project").trainable
    assert not backbone.get_layer("block_1_expand").trainable


def test_model_a_to_b_runs_offline(tmp_path):
    x, y, names = small_digits(per_class=8)
    model_a = kerasvision.fit(
        (x[y < 5], y[y < 5]),
        epochs=1,
        seed=0,
        verbose=0,
        export=False,
        model_kwargs={"filters": (8, 16), "dense_units": ()},
        output=str(tmp_path / "a"),
    )
    assert model_a.model.input_shape == (None, 8, 8, 1)
    model_b = kerasvision.fit(
        (x[y >= 5], y[y >= 5] - 5),
        backbone=str(tmp_path / "a"),
        epochs=2,
        seed=0,
        verbose=0,
        export=True,
        output=str(tmp_path / "b"),
    )
    backbone = get_backbone(model_b.model)
    assert backbone.name == "model_a"
    assert backbone.layers[-1].name == "block2_act2"  # Model A's feature layer
    assert model_b.model.output_shape == (None, 5)
    info = json.loads((tmp_path / "b" / "run.json").read_text())
    assert info["model"]["input_shape"] == [8, 8, 1]
    with pytest.raises(ValueError, match="takes 8x8"):
        kerasvision.fit(
            (x, y),
            backbone=str(tmp_path / "a"),
            image_size=16,
            output=str(tmp_path / "c"),
        )


def test_weights_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="weights file not found"):
        build_transfer_classifier(
            "mobilenet_v2", 3, weights=str(tmp_path / "w.h5"), input_shape=(32, 32, 3)
        )
    try:
        build_transfer_classifier(
            "mobilenet_v2", 3, weights="imagenet", input_shape=(96, 96, 3)
        )
    except RuntimeError as error:  # offline: one clear line naming the file
        message = str(error)
        assert "\n" not in message
        assert (
            "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"
            in message
        )
        assert "--weights PATH" in message
    # else: online, the real download worked


def test_pretrained_prediction_offline_or_real(tmp_path):
    from PIL import Image

    image = tmp_path / "x.png"
    Image.fromarray(np.zeros((40, 40, 3), dtype=np.uint8)).save(image)
    try:
        results = kerasvision.evaluation.predict_pretrained(
            "mobilenet_v2", [str(image)]
        )
    except RuntimeError as error:
        assert "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224.h5" in str(
            error
        )
    else:
        assert len(results[0]["top_k"]) == 5


def test_pretrained_prediction_from_local_files_through_the_cli(tmp_path):
    """`predict --pretrained` offline: the model's own ImageNet head from a local
    full-model .h5 (same layer names as the download), and the ImageNet class
    index in the Keras cache (the published file, rebuilt from keras-hub)."""
    import subprocess
    import sys

    from PIL import Image

    imagenet = pytest.importorskip("keras_hub.src.utils.imagenet.imagenet_utils")
    keras_home = tmp_path / "keras_home"
    (keras_home / "models").mkdir(parents=True)
    index = {str(k): list(v) for k, v in imagenet.IMAGENET_NAMES.items()}
    (keras_home / "models" / "imagenet_class_index.json").write_text(json.dumps(index))
    model = keras.applications.MobileNetV3Small(weights=None, include_top=True)
    weights = tmp_path / "mobilenet_v3_small.h5"
    model.save(weights)  # the legacy full-model .h5 format of the downloads
    pixels = np.full((224, 224, 3), (200, 120, 40), dtype=np.uint8)
    Image.fromarray(pixels).save(tmp_path / "orange.png")
    expected = np.asarray(model(pixels[None].astype("float32"), training=False))[0]
    result = subprocess.run(
        [sys.executable, "-m", "kerasvision", "predict", "--pretrained",
         "mobilenet_v3_small", "--weights", str(weights), "--format", "json",
         "--top-k", "3", str(tmp_path / "orange.png")],
        capture_output=True, text=True, timeout=300,
        env={**os.environ, "KERAS_HOME": str(keras_home)},
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    (row,) = json.loads(result.stdout)
    top = np.argsort(expected)[::-1][:3]
    assert [item["wnid"] for item in row["top_k"]] == [index[str(i)][0] for i in top]
    assert row["class_name"] == index[str(top[0])][1]
    assert row["probability"] == pytest.approx(float(expected[top[0]]), abs=1e-4)


def _position_codes(count=240, seed=0):
    """ReLU-like codes `[N, 2, 2, 4]` whose class is *where* the signal is.

    Every position holds the same un-centred channel values (mean ~3), so global
    average pooling sees only noise; the class (0-3) is the position that is
    brighter.
    """
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 4, count)
    codes = 3.0 + rng.uniform(0.0, 0.5, (count, 2, 2, 4))
    rows, cols = labels // 2, labels % 2
    codes[np.arange(count), rows, cols] += 1.0
    return codes.astype("float32"), labels


def _code_backbone(name):
    inputs = keras.Input((2, 2, 4), name="image")
    return keras.Model(inputs, keras.layers.Identity(name="code")(inputs), name=name)


def test_an_encoder_backbone_gets_a_flattened_standardized_head():
    codes, labels = _position_codes()
    encoder = build_transfer_classifier(_code_backbone("encoder"), 4)
    model_a = build_transfer_classifier(_code_backbone("model_a"), 4)
    names = [layer.name for layer in encoder.layers]
    assert names[2:] == ["flatten", "feature_bn", "dropout", "predictions"]
    assert [layer.name for layer in model_a.layers][2] == "avg_pool"
    accuracies = {}
    for label, model in (("encoder", encoder), ("model_a", model_a)):
        model.compile(
            keras.optimizers.Adam(1e-3),
            "sparse_categorical_crossentropy",
            metrics=["accuracy"],
        )
        model.fit(codes[:200], labels[:200], epochs=20, batch_size=16, verbose=0)
        accuracies[label] = model.evaluate(codes[200:], labels[200:], verbose=0)[1]
    # The pooled head cannot see positions; the encoder head learns them fast.
    assert accuracies["encoder"] >= 0.9 > accuracies["model_a"] + 0.3


@pytest.fixture(scope="module")
def foreign_weights(tmp_path_factory):
    """Weights files of other architectures (MobileNetV2 at alpha 0.35, a tiny
    CNN) in both Keras formats."""
    root = tmp_path_factory.mktemp("weights")
    narrow = keras.applications.MobileNetV2(
        include_top=False, weights=None, input_shape=(32, 32, 3), alpha=0.35
    )
    narrow.save_weights(root / "narrow.weights.h5")
    narrow.save(root / "narrow.h5")
    tiny = keras.Sequential(
        [keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3), keras.layers.Dense(2)]
    )
    tiny.save_weights(root / "tiny.weights.h5")
    return root


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("narrow.weights.h5", "Conv1/kernel is (3, 3, 3, 32) in the model but (3, 3"),
        ("narrow.h5", "Conv1/kernel is (3, 3, 3, 32) in the model but (3, 3, 3, 16)"),
        ("tiny.weights.h5", "layer Conv1 has 1 weight(s) in the model but 2"),
    ],
)
def test_weights_of_another_architecture_are_one_line(foreign_weights, name, fragment):
    import warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="does not fit MobileNetV2") as error:
            build_transfer_classifier(
                "mobilenet_v2",
                3,
                weights=str(foreign_weights / name),
                input_shape=(32, 32, 3),
            )
    message = str(error.value)
    assert "\n" not in message and fragment in message and len(message) < 300
    assert not caught  # Keras's loading warnings are symptoms of the same error


def test_unknown_unfreeze_layer_fails_before_training_and_the_run_folder(tmp_path):
    from kerasvision.runs import is_run_dir, partial_dir

    options = dict(mode="fine-tune", warmup_epochs=1, epochs=1)
    with pytest.raises(ValueError, match="no layer 'nope'"):
        _fit_transfer(tmp_path, "run", unfreeze="from:nope", **options)
    assert not os.path.exists(partial_dir(tmp_path / "run"))
    assert not os.path.exists(tmp_path / "run")
    _fit_transfer(tmp_path, "run", unfreeze="from:block_16_expand", **options)
    assert is_run_dir(tmp_path / "run")
