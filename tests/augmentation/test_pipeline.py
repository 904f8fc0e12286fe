"""The tf.data augmentation pipeline: layers, seeds, label format."""

import hashlib

import keras
import numpy as np
import pytest
import tensorflow as tf

from kerasvision.augmentation import (
    AUGMENTATIONS,
    AugmentStep,
    apply_augmentation,
    build_augmentation,
    parse_augment_spec,
)
from kerasvision.augmentation.pipeline import _layer_seeds, augment_images

IMAGE_STEPS = [name for name, spec in AUGMENTATIONS.items() if spec.kind == "image"]
ALL_STEPS = ",".join(AUGMENTATIONS)


def _images(count=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (count, size, size, 3)).astype("float32")


def _dataset(images, labels, batch_size=4, repeat=1):
    return (
        tf.data.Dataset.from_tensor_slices((images, labels))
        .batch(batch_size)
        .repeat(repeat)
    )


def _stream(dataset):
    digest = hashlib.sha256()
    for images, labels in dataset:
        digest.update(np.asarray(images).tobytes())
        digest.update(np.asarray(labels).tobytes())
    return digest.hexdigest()


@pytest.mark.parametrize("name", IMAGE_STEPS, ids=IMAGE_STEPS)
def test_every_image_augmentation_is_identity_without_training(name):
    images = _images(8)
    augment = build_augmentation(name, seed=0)
    assert [layer.name for layer in augment.layers] == [f"augment_{name}"]
    np.testing.assert_array_equal(np.asarray(augment(images, training=False)), images)
    augmented = np.asarray(augment(images, training=True))
    assert augmented.shape == images.shape
    assert not np.array_equal(augmented, images)
    assert augmented.min() >= -1e-3 and augmented.max() <= 255 + 1e-3


def test_build_augmentation_skips_mixers_and_keeps_registry_order():
    augment = build_augmentation("mixup,zoom,flip", seed=1)
    assert [layer.name for layer in augment.layers] == ["augment_flip", "augment_zoom"]
    assert build_augmentation("cutmix,mixup") is None
    assert build_augmentation("") is None


def test_layer_seeds_stay_put_when_entries_are_added():
    seeds = _layer_seeds(7)
    assert list(seeds) == list(AUGMENTATIONS)
    assert len(set(seeds.values())) == len(AUGMENTATIONS)
    # The seeds of seed 7 before shear, resolution, blur and cutout were added.
    assert {name: seeds[name] for name in ("flip", "randaugment", "erasing")} == {
        "flip": 2083679832,
        "randaugment": 860110766,
        "erasing": 1396522860,
    }
    assert _layer_seeds(None) == dict.fromkeys(AUGMENTATIONS)


def _bilinear(image, rows, cols):
    """Sample `image` at float coordinates (inside the image) bilinearly."""
    height, width = image.shape[:2]
    rows, cols = np.clip(rows, 0, height - 1), np.clip(cols, 0, width - 1)
    top, left = np.floor(rows).astype(int), np.floor(cols).astype(int)
    dy, dx = (rows - top)[..., None], (cols - left)[..., None]
    bottom, right = np.minimum(top + 1, height - 1), np.minimum(left + 1, width - 1)
    return (
        image[top, left] * (1 - dy) * (1 - dx)
        + image[top, right] * (1 - dy) * dx
        + image[bottom, left] * dy * (1 - dx)
        + image[bottom, right] * dy * dx
    )


def test_shear_moves_pixels_along_the_shear_matrix():
    images = _images(4, size=16)
    layer = build_augmentation("shear=0.5", seed=3).layers[0]
    assert isinstance(layer, keras.layers.RandomShear)
    transformation = layer.get_random_transformation(images, training=True)
    output = np.asarray(layer.transform_images(images, transformation, training=True))
    factors = np.asarray(transformation["shear_factor"])
    assert np.all(np.abs(factors) <= 0.5) and np.any(np.abs(factors) > 0.1)

    # Output pixel (row y, column x) comes from column x + s_x y, row y + s_y x.
    rows, cols = np.mgrid[0:16, 0:16].astype("float64")
    for image, augmented, (shear_x, shear_y) in zip(
        images, output, factors, strict=True
    ):
        source_cols, source_rows = cols + shear_x * rows, rows + shear_y * cols
        inside = (
            (source_cols >= 0)
            & (source_cols <= 15)
            & (source_rows >= 0)
            & (source_rows <= 15)
        )
        expected = _bilinear(image, source_rows, source_cols)
        assert inside.sum() > 100
        np.testing.assert_allclose(augmented[inside], expected[inside], atol=1e-2)
        assert not np.allclose(augmented, image)


def test_cutout_erases_the_box_erasing_would_with_grey():
    images = _images(6, size=16)
    erasing = keras.layers.RandomErasing(
        **AugmentStep("erasing", (1.0,)).layer_kwargs(), seed=5
    )
    cutout = keras.layers.RandomErasing(
        **AugmentStep("cutout", (1.0,)).layer_kwargs(), seed=5
    )
    erased = np.asarray(erasing(images, training=True))
    cut = np.asarray(cutout(images, training=True))

    for index in range(len(images)):
        changed = np.any(cut[index] != images[index], axis=-1)
        rows, cols = np.nonzero(changed)
        assert rows.size > 0
        box = np.zeros_like(changed)
        box[rows.min() : rows.max() + 1, cols.min() : cols.max() + 1] = True
        # Cutout: one solid grey rectangle, the rest untouched ...
        np.testing.assert_array_equal(changed, box)
        np.testing.assert_array_equal(cut[index][box], 127.5)
        # ... exactly where erasing (same seed) puts its noise.
        np.testing.assert_array_equal(erased[index][~box], images[index][~box])
        assert np.mean(erased[index][box] != images[index][box]) > 0.9
    (step,) = parse_augment_spec("cutout")
    assert step.value == 1.0  # DeVries & Taylor cut every image
    (step,) = parse_augment_spec("cutout=0.5")
    assert step.layer_kwargs()["factor"] == (0.5, 0.5)


def test_stream_is_reproducible_for_a_seed_and_differs_otherwise():
    images, labels = _images(4), np.array([0, 1, 2, 0])
    source = _dataset(images, labels)
    # Every step at once: each layer must take the per-batch seed.
    first, one_hot = apply_augmentation(source, ALL_STEPS, num_classes=3, seed=7)
    again, _ = apply_augmentation(source, ALL_STEPS, num_classes=3, seed=7)
    other, _ = apply_augmentation(source, ALL_STEPS, num_classes=3, seed=8)
    assert one_hot
    epoch1 = _stream(first)
    assert _stream(again) == epoch1
    assert _stream(other) != epoch1
    assert _stream(first) != epoch1  # the next epoch gets new augmentations
    batch_images, batch_labels = next(iter(first))
    assert batch_images.shape == (4, 16, 16, 3)
    assert batch_images.dtype == tf.float32
    assert batch_labels.shape == (4, 3)
    np.testing.assert_allclose(np.sum(batch_labels, axis=1), 1.0, atol=1e-6)


def test_label_format_and_one_hot_flag():
    images, labels = _images(4), np.array([0, 2, 1, 2])
    source = _dataset(images, labels)
    same, one_hot = apply_augmentation(source, "", num_classes=3)
    assert same is source and not one_hot
    flipped, one_hot = apply_augmentation(source, "flip", num_classes=3, seed=0)
    assert not one_hot
    np.testing.assert_array_equal(next(iter(flipped))[1], labels)
    forced, one_hot = apply_augmentation(source, "flip", num_classes=3, one_hot=True)
    assert one_hot
    np.testing.assert_array_equal(next(iter(forced))[1], np.eye(3)[labels])
    soft = _dataset(images, np.eye(3, dtype="float32")[labels])
    _, one_hot = apply_augmentation(soft, "flip", num_classes=3, seed=0)
    assert one_hot


def test_apply_augmentation_rejects_unbatched_or_mismatched_data():
    images, labels = _images(4), np.array([0, 1, 2, 0])
    unbatched = tf.data.Dataset.from_tensor_slices((images, labels))
    with pytest.raises(ValueError, match="batched images"):
        apply_augmentation(unbatched, "flip", num_classes=3)
    soft = _dataset(images, np.eye(3, dtype="float32")[labels])
    with pytest.raises(ValueError, match="3 columns but num_classes is 5"):
        apply_augmentation(soft, "cutmix", num_classes=5)


def _members(layer):
    """The layer and its sub-layers (RandAugment's)."""
    return [layer] + [v for v in vars(layer).values() if isinstance(v, keras.Layer)]


def _generator_states(augment):
    """`(layer name, attribute, generator, state value)` of every random
    generator of the augmentation layers and their sub-layers (RandAugment's)."""
    states = []
    for layer in augment.layers:
        for member in _members(layer):
            for attribute in ("generator", "seed_generator"):
                generator = getattr(member, attribute, None)
                if isinstance(generator, keras.random.SeedGenerator):
                    value = np.asarray(generator.state.value).copy()
                    states.append((member.name, attribute, generator, value))
    return states


@pytest.mark.parametrize("name", IMAGE_STEPS, ids=IMAGE_STEPS)
def test_every_layer_draws_from_the_explicit_seed_only(name):
    images = _images(8, size=16)
    augment = build_augmentation(name, seed=0)
    before = _generator_states(augment)
    assert before  # every layer has a generator of its own

    @tf.function
    def run(seed):
        return augment_images(augment, images, seed)

    first = np.asarray(run(tf.constant([3, 4], tf.int64)))
    again = np.asarray(run(tf.constant([3, 4], tf.int64)))
    other = np.asarray(run(tf.constant([5, 6], tf.int64)))
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)
    assert not np.array_equal(first, images)
    # The layers' own generators are neither replaced nor advanced.
    after = _generator_states(augment)
    assert len(after) == len(before)
    for (*_, generator, value), (*_, new_generator, new_value) in zip(
        before, after, strict=True
    ):
        assert new_generator is generator
        np.testing.assert_array_equal(new_value, value)


def test_apply_augmentation_leaves_every_layer_attribute_alone():
    """The pipeline only calls public layer methods: no attribute is swapped."""
    images, labels = _images(8, size=8), np.arange(8) % 3
    augment = build_augmentation("flip,crop,noise", seed=0)
    members = [member for layer in augment.layers for member in _members(layer)]
    before = [dict(vars(member)) for member in members]
    dataset = _dataset(images, labels, batch_size=2).map(
        lambda x, y: (augment_images(augment, x, tf.constant([1, 2], tf.int64)), y),
        num_parallel_calls=4,
    )
    for _ in dataset:
        pass
    for member, attributes in zip(members, before, strict=True):
        for key in ("generator", "seed_generator"):
            assert vars(member).get(key) is attributes.get(key), (member.name, key)


def test_epoch_streams_are_a_function_of_seed_and_epoch():
    """With `epoch`, epoch k's augmentation is the same whether or not the
    epochs before it were iterated (a resumed run), and epochs differ."""
    from kerasvision.data.epochs import epoch_variable

    images, labels = _images(8, size=8), np.arange(8) % 3
    spec = "flip,crop,noise,cutmix"

    def stream(epochs):
        epoch = epoch_variable()
        dataset, _ = apply_augmentation(
            _dataset(images, labels, batch_size=2),
            spec,
            num_classes=3,
            seed=3,
            epoch=epoch,
        )
        streams = []
        for value in epochs:
            epoch.assign(value)
            streams.append(_stream(dataset))
        return streams

    zero, one = stream([0, 1])
    (resumed,) = stream([1])
    assert resumed == one
    assert zero != one
