"""CutMix and MixUp through `apply_augmentation`: labels follow the pixels."""

import numpy as np
import tensorflow as tf

from kerasvision.augmentation import apply_augmentation


def _dataset(images, labels, batch_size=4, repeat=1):
    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .batch(batch_size)
        .repeat(repeat)
    )


def _constant_batch():
    """4 images of one constant value each, with distinct labels 0..3."""
    values = np.array([10.0, 80.0, 150.0, 220.0], dtype="float32")
    images = np.broadcast_to(values[:, None, None, None], (4, 16, 16, 3)).copy()
    return values, images, np.arange(4)


def test_cutmix_label_weights_equal_the_pasted_area():
    values, images, labels = _constant_batch()
    dataset, one_hot = apply_augmentation(
        _dataset(images, labels, repeat=25), "cutmix=1.0", num_classes=4, seed=0
    )
    assert one_hot
    partial = 0
    for batch_images, batch_labels in dataset:
        batch_images, batch_labels = np.asarray(batch_images), np.asarray(batch_labels)
        np.testing.assert_allclose(batch_labels.sum(axis=1), 1.0, atol=1e-6)
        for index in range(4):
            pixels = batch_images[index]
            # Every pixel comes from one of the images, whole (no blending) ...
            assert np.all(np.isin(pixels, values))
            # ... and each image's label weight is its fraction of the pixels.
            fractions = np.array([np.mean(pixels == v) for v in values])
            np.testing.assert_allclose(batch_labels[index], fractions, atol=1e-6)
            partial += 0.0 < fractions[index] < 1.0
    assert partial > 20  # the boxes were neither always empty nor always full


def test_mixup_blends_images_exactly_like_labels():
    values, images, labels = _constant_batch()
    dataset, _ = apply_augmentation(
        _dataset(images, labels, repeat=10), "mixup=0.4", num_classes=4, seed=0
    )
    weights = []
    for batch_images, batch_labels in dataset:
        batch_images, batch_labels = np.asarray(batch_images), np.asarray(batch_labels)
        np.testing.assert_allclose(batch_labels.sum(axis=1), 1.0, atol=1e-6)
        assert np.all(batch_labels >= 0)
        expected = batch_labels @ values  # the same convex combination
        np.testing.assert_allclose(
            batch_images,
            np.broadcast_to(expected[:, None, None, None], images.shape),
            rtol=1e-5,
            atol=1e-3,
        )
        weights.extend(batch_labels.max(axis=1))
    assert min(weights) < 0.95  # some images were really mixed


def test_both_mixers_switch_per_batch():
    values, images, labels = _constant_batch()
    dataset, _ = apply_augmentation(
        _dataset(images, labels, repeat=40),
        "cutmix@0.4,mixup@0.4",
        num_classes=4,
        seed=0,
    )
    kinds = set()
    for batch_images, batch_labels in dataset:
        batch_images, batch_labels = np.asarray(batch_images), np.asarray(batch_labels)
        if np.array_equal(batch_labels, np.eye(4)):
            kinds.add("none")
        elif np.all(np.isin(batch_images, values)):
            kinds.add("cutmix")
        else:
            kinds.add("mixup")
    assert kinds == {"none", "cutmix", "mixup"}


def test_mixup_mixes_multi_hot_label_sets_by_lambda():
    values, images, _ = _constant_batch()
    sets = np.array([[1, 1, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1], [1, 0, 0, 1]], "float32")
    dataset, one_hot = apply_augmentation(
        _dataset(images, sets, repeat=5), "mixup=0.4@1.0", num_classes=4, seed=0
    )
    assert one_hot
    for mixed_images, mixed in dataset:
        mixed_images, mixed = mixed_images.numpy(), mixed.numpy()
        for row in range(4):  # pixels and labels mixed by the same lambda
            lam = (mixed_images[row, 0, 0, 0] - values[row]) / 1.0
            weights = np.linalg.lstsq(sets.T, mixed[row], rcond=None)[0]
            assert np.isclose(weights.sum(), 1.0, atol=1e-5)
            pixel = float(weights @ values)
            assert np.isclose(pixel, mixed_images[row, 0, 0, 0], atol=1e-2), lam
