"""Grad-CAM / Grad-CAM++: sanity (localization, randomization), nested backbones,
reference values, automatic target layer, overlays and plots."""

from __future__ import annotations

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras import layers
from scipy.stats import spearmanr

from kerasvision.models.cnn import build_bipyramidal_cnn, build_lenet5
from kerasvision.visualization import gradcam, gradcam_plus_plus, overlay_heatmap
from kerasvision.visualization._gradients import split_at_layer
from kerasvision.visualization.gradcam import plot_gradcam, target_layer

# Patch box grown by 1 px: 36 of 256 pixels, so a map blind to the patch puts
# about 14 % of its mass there. Grad-CAM works on block2_act1 (8x8, one cell per
# 2x2 pixels) and bilinear upsampling spreads each cell about 1 px further, hence
# the 1-px dilation. Requiring 35 % (2.5x chance) on EVERY positive image is a
# clear localization; the trained model measures 62-71 % (Grad-CAM) and 50-62 %
# (Grad-CAM++), so the bound leaves room for numeric drift across versions.
CHANCE_DILATED = 36 / 256
MIN_CAM_MASS = 0.35


@pytest.mark.parametrize(
    "method", [gradcam, gradcam_plus_plus], ids=lambda f: f.__name__
)
def test_heatmaps_localize_the_deciding_patch(patch_task, box_mask, method):
    model, images, boxes = (
        patch_task["model"],
        patch_task["images"],
        patch_task["boxes"],
    )
    heatmaps = method(model, images)  # predicted class (= 1 on these images)
    assert heatmaps.shape == images.shape[:3]
    assert heatmaps.dtype == np.float32
    masses = [
        heatmap[box_mask(box, dilate=1)].sum() / heatmap.sum()
        for heatmap, box in zip(heatmaps, boxes, strict=True)
    ]
    assert MIN_CAM_MASS > 2.4 * CHANCE_DILATED
    assert min(masses) > MIN_CAM_MASS, masses


def test_target_layer_of_the_patch_model_is_the_last_spatial_activation(patch_task):
    # block2_pool follows block2_act1: the map before pooling is finer.
    assert target_layer(patch_task["model"]) == "block2_act1"


def mean_spearman(maps, others):
    """Mean per-image Spearman rank correlation.

    A constant map (Grad-CAM is all zero when no evidence is positive) has no
    rank correlation: it counts 1 against an identical map, else 0.
    """
    values = []
    for first, second in zip(maps, others, strict=True):
        if np.array_equal(first, second):
            values.append(1.0)
        elif first.std() == 0 or second.std() == 0:
            values.append(0.0)
        else:
            values.append(spearmanr(first.ravel(), second.ravel())[0])
    return float(np.mean(values))


def test_model_randomization_changes_gradcam(patch_task):
    """Adebayo et al. (2018): maps must depend on the learned weights.

    `clone_model` rebuilds the architecture with freshly initialized weights
    (the caller's model is untouched). For a two-conv network, a random model's
    CAM can still light up the bright patch when the random output weights
    happen to favour the channels it excites, so a single re-initialization is
    a coin flip; the mean over 3 re-initializations of the mean per-image
    Spearman rank correlation is what we bound. Identical maps give 1 (checked
    below, so the statistic can fail); trained-vs-random maps measure 0.23,
    -0.08 and 0.19 (mean 0.11). Below 0.5 means at most a weak monotone relation
    survives randomization, the "substantial change" Adebayo et al. ask for.
    """
    model, images = patch_task["model"], patch_task["all_images"][:16]
    trained = gradcam(model, images, class_index=1)
    correlations = []
    for seed in range(3):
        keras.utils.set_random_seed(seed)
        randomized = keras.models.clone_model(model)
        assert not np.allclose(randomized.weights[0], model.weights[0])
        maps = gradcam(randomized, images, class_index=1)
        correlations.append(mean_spearman(trained, maps))
    assert np.mean(correlations) < 0.5, correlations
    # The same statistic for the model against itself is 1: the bound has power.
    again = gradcam(model, images, class_index=1)
    assert mean_spearman(trained, again) > 0.99


# === Nested backbones ===


def test_gradcam_on_nested_backbone_by_inner_name(transfer_model, transfer_images):
    by_inner = gradcam(transfer_model, transfer_images, layer="out_relu")
    qualified = gradcam(
        transfer_model, transfer_images, layer="mobilenetv2_1.00_64/out_relu"
    )
    automatic = gradcam(transfer_model, transfer_images)
    assert by_inner.shape == (2, 64, 64)
    assert 0.0 <= by_inner.min() and by_inner.max() <= 1.0
    np.testing.assert_allclose(by_inner, qualified, atol=1e-6)
    np.testing.assert_allclose(by_inner, automatic, atol=1e-6)
    assert target_layer(transfer_model) == "mobilenetv2_1.00_64/out_relu"


def test_gradcam_plus_plus_on_nested_backbone(transfer_model, transfer_images):
    heatmaps = gradcam_plus_plus(transfer_model, transfer_images, layer="out_relu")
    assert heatmaps.shape == (2, 64, 64)
    assert np.isfinite(heatmaps).all()
    assert 0.0 <= heatmaps.min() and heatmaps.max() <= 1.0
    deeper = gradcam_plus_plus(
        transfer_model, transfer_images, layer="block_13_expand_relu", class_index=2
    )
    assert deeper.shape == (2, 64, 64)


def test_nested_gradcam_matches_a_hand_built_split(transfer_model, transfer_images):
    """The standard fix done by hand: backbone output -> head, logits by hand."""
    backbone = transfer_model.get_layer("mobilenetv2_1.00_64")
    dense = transfer_model.get_layer("predictions")
    preprocess = transfer_model.get_layer("preprocess")
    images = tf.constant(transfer_images)
    with tf.GradientTape() as tape:
        features = backbone(preprocess(images), training=False)  # = out_relu
        tape.watch(features)
        pooled = tf.reduce_mean(features, axis=[1, 2])
        logits = tf.matmul(pooled, dense.kernel) + dense.bias
        classes = tf.argmax(logits, axis=-1)
        score = tf.gather(logits, classes, axis=1, batch_dims=1)
    grads = tape.gradient(score, features)
    weights = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)
    cams = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))
    cams = tf.image.resize(cams[..., None], (64, 64))[..., 0].numpy()
    cams = cams / np.maximum(cams.max(axis=(1, 2), keepdims=True), 1e-12)
    np.testing.assert_allclose(gradcam(transfer_model, images), cams, atol=1e-4)


def test_gradcam_matches_keras_io_recipe_on_a_top_level_layer():
    """keras.io's recipe (multi-output model + tape), with the logits computed
    from the `predictions` kernel instead of mutating its activation."""
    model = build_bipyramidal_cnn((16, 16, 3), 3, filters=(4, 8), dense_units=())
    images = np.random.default_rng(0).uniform(0, 255, (3, 16, 16, 3))
    dense = model.get_layer("predictions")
    probe = keras.Model(
        model.inputs,
        [model.get_layer("block2_act2").output, model.get_layer("avg_pool").output],
    )
    with tf.GradientTape() as tape:
        features, pooled = probe([images], training=False)
        logits = tf.matmul(pooled, dense.kernel) + dense.bias
        score = logits[:, 1]
    grads = tape.gradient(score, features)
    weights = tf.reduce_mean(grads, axis=[1, 2], keepdims=True)
    cams = tf.nn.relu(tf.reduce_sum(weights * features, axis=-1))
    cams = tf.image.resize(cams[..., None], (16, 16))[..., 0].numpy()
    top = cams.max(axis=(1, 2), keepdims=True)
    cams = np.divide(cams, top, out=np.zeros_like(cams), where=top > 0)
    actual = gradcam(model, images, layer="block2_act2", class_index=1)
    np.testing.assert_allclose(actual, cams, atol=1e-4)


def test_visualizers_leave_the_model_unchanged(
    transfer_model, transfer_images, assert_unchanged
):
    with assert_unchanged(transfer_model):
        gradcam(transfer_model, transfer_images, layer="out_relu")
        gradcam_plus_plus(transfer_model, transfer_images)
        target_layer(transfer_model)


# === Target layer ===


def test_registry_feature_layer_is_the_default():
    model = build_lenet5((32, 32, 1), 10)  # registered: feature_layer="c3_conv"
    assert target_layer(model) == "c3_conv"
    assert gradcam(model, np.zeros((1, 32, 32, 1))).shape == (1, 32, 32)


def test_default_skips_convolutions_smaller_than_2x2():
    inputs = keras.Input((8, 8, 3))
    x = layers.Conv2D(4, 3, padding="same", activation="relu", name="conv_a")(inputs)
    x = layers.MaxPooling2D(2, name="pool")(x)
    x = layers.Conv2D(4, 4, activation="relu", name="conv_1x1")(x)  # 1x1 output
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    outputs = layers.Dense(2, activation="softmax", name="predictions")(x)
    model = keras.Model(inputs, outputs, name="unregistered")
    assert target_layer(model) == "conv_a"


def test_bad_layers_and_classes_are_value_errors(patch_task):
    model, images = patch_task["model"], patch_task["images"][:2]
    with pytest.raises(ValueError, match="no layer 'block2_actt'.*block2_act1"):
        gradcam(model, images, layer="block2_actt")
    with pytest.raises(ValueError, match="not a spatial map"):
        gradcam(model, images, layer="avg_pool")
    with pytest.raises(ValueError, match=r"class_index must be in \[0, 1\]"):
        gradcam(model, images, class_index=2)
    with pytest.raises(ValueError, match="2 class indices for"):
        gradcam(model, patch_task["images"][:3], class_index=[0, 1])


# === Scores ===


def test_binary_sigmoid_scores_are_plus_minus_the_logit(patch_task):
    model, images = patch_task["model"], patch_task["all_images"][:4]
    split = split_at_layer(model)
    assert split.uses_logits
    _, scores = split(tf.constant(images))
    scores = scores.numpy()
    np.testing.assert_allclose(scores[:, 0], -scores[:, 1], atol=1e-6)
    probabilities = model.predict(images, verbose=0)[:, 0]
    np.testing.assert_allclose(
        1 / (1 + np.exp(-scores[:, 1])), probabilities, atol=1e-5
    )
    probability_split = split_at_layer(model, logits=False)
    _, as_probabilities = probability_split(tf.constant(images))
    np.testing.assert_allclose(
        as_probabilities.numpy(),
        np.stack([1 - probabilities, probabilities], axis=1),
        atol=1e-6,
    )


def test_class_zero_and_one_explain_different_evidence(patch_task):
    model, images = patch_task["model"], patch_task["images"][:4]
    for_patch = gradcam(model, images, class_index=1)
    against = gradcam(model, images, class_index=0)
    assert not np.allclose(for_patch, against)


# === Overlay and plot ===


def test_overlay_heatmap_blends_a_colormap():
    image = np.full((8, 8, 1), 100, dtype="uint8")
    heatmap = np.zeros((4, 4), dtype="float32")
    heatmap[0, 0] = 1.0
    plain = overlay_heatmap(image, heatmap, alpha=0.0)
    assert plain.shape == (8, 8, 3) and plain.dtype == np.uint8
    assert (plain == 100).all()
    colored = overlay_heatmap(image, heatmap, alpha=1.0)
    assert tuple(colored[7, 7]) == (0, 0, 128)  # jet(0): dark blue
    assert colored[0, 0, 0] > colored[0, 0, 2]  # towards jet(1): red
    with pytest.raises(ValueError, match="alpha"):
        overlay_heatmap(image, heatmap, alpha=1.5)


def test_plot_gradcam_writes_a_png(tmp_path, patch_task):
    from PIL import Image

    images = patch_task["images"][:2]
    heatmaps = gradcam(patch_task["model"], images)
    path = plot_gradcam(images, heatmaps, str(tmp_path / "cam.png"), titles=["a", "b"])
    assert os.path.isfile(path)
    with Image.open(path) as picture:
        assert picture.size[0] > 100
    assert os.listdir(tmp_path) == ["cam.png"]  # atomic write left no temp file
