"""kerasvision's random augmentation layers (`kerasvision.layers.augment`)."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from helpers import assert_keras_round_trip, assert_layer_config_round_trip
from scipy import ndimage

from kerasvision.augmentation import build_augmentation
from kerasvision.layers.augment import (
    PixelGaussianNoise,
    RandomBlur,
    RandomPadCrop,
    RandomResolution,
)


def _images(count=4, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(0, 255, (count, size, size, 3)).astype("float32")


def test_random_pad_crop_takes_a_window_of_the_reflect_padded_image():
    images = _images(6, size=8)
    layer = RandomPadCrop(0.25, seed=3)
    output = np.asarray(layer(images, training=True))
    padded = np.pad(images, [(0, 0), (2, 2), (2, 2), (0, 0)], mode="reflect")
    offsets = set()
    for index in range(len(images)):
        matches = [
            (top, left)
            for top in range(5)
            for left in range(5)
            if np.array_equal(
                padded[index, top : top + 8, left : left + 8], output[index]
            )
        ]
        assert matches, f"image {index} is not a window of its padded image"
        offsets.add(matches[0])
    assert len(offsets) > 1  # every image gets its own offset


def test_kerasvision_layers_config_round_trip():
    assert_layer_config_round_trip(RandomPadCrop(0.2, seed=1))
    assert_layer_config_round_trip(PixelGaussianNoise(5.0, seed=2))
    assert_layer_config_round_trip(RandomBlur(2.0, seed=3))
    assert_layer_config_round_trip(RandomBlur((0.5, 1.5), seed=3))
    assert_layer_config_round_trip(RandomResolution(0.25, seed=4))
    assert_layer_config_round_trip(RandomResolution((0.5, 0.5), seed=4))


LAYERS = {
    "RandomPadCrop": lambda: RandomPadCrop(0.25, seed=1),
    "PixelGaussianNoise": lambda: PixelGaussianNoise(8.0, seed=2),
    "RandomBlur": lambda: RandomBlur((0.5, 1.5), seed=3),
    "RandomResolution": lambda: RandomResolution(0.5, seed=4),
}


@pytest.mark.parametrize("name", list(LAYERS), ids=list(LAYERS))
def test_layer_round_trips_through_a_keras_file(name, tmp_path):
    images = _images(2, size=8)
    layer = LAYERS[name]()
    assert keras.saving.get_registered_name(type(layer)) == f"kerasvision>{name}"
    model = keras.Sequential([keras.Input((8, 8, 3)), layer])
    # Inference is the identity, before and after.
    loaded = assert_keras_round_trip(model, tmp_path / "augment.keras", images)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0), images)
    clone = loaded.layers[0]
    assert type(clone) is type(layer)
    assert clone.get_config() == layer.get_config()
    # The same seed draws the same augmentation from both.
    outputs = []
    for augmenter in (layer, clone):
        seed = keras.random.SeedGenerator(5)
        transformation = augmenter.get_random_transformation(images, seed=seed)
        outputs.append(np.asarray(augmenter.transform_images(images, transformation)))
    np.testing.assert_array_equal(outputs[0], outputs[1])
    assert not np.array_equal(outputs[0], images)


def test_configs_saved_by_earlier_versions_load():
    """Models saved before the layers moved carry configs without data_format."""
    padcrop = RandomPadCrop.from_config(
        {"name": "crop", "trainable": True, "dtype": "float32", "padding": 0.25,
         "seed": 1}
    )  # fmt: skip
    assert (padcrop.padding, padcrop.seed) == (0.25, 1)
    noise = PixelGaussianNoise.from_config(
        {"name": "noise", "trainable": True, "dtype": "float32",
         "value_range": [0.0, 255.0], "seed": 3, "stddev": 8.0, "relative": False}
    )  # fmt: skip
    assert (noise.stddev, noise.value_range, noise.relative) == (8.0, (0, 255), False)
    with pytest.raises(ValueError, match="pixel units"):
        PixelGaussianNoise(0.1, relative=True)
    with pytest.raises(ValueError, match="channels_last"):
        RandomBlur(1.0, data_format="channels_first")


def test_unbatched_images_and_bare_calls():
    image = _images(1, size=8)[0]
    layer = RandomPadCrop(0.25, seed=0)
    # A bare call is the identity (training defaults to False), as before.
    np.testing.assert_array_equal(np.asarray(layer(image[None])), image[None])
    assert layer(image, training=True).shape == image.shape


@pytest.mark.parametrize(
    ("layer", "value"),
    [
        (RandomBlur, 0.0),
        (RandomBlur, -1.0),
        (RandomBlur, (2.0, 1.0)),
        (RandomBlur, float("nan")),
        (RandomResolution, 0.0),
        (RandomResolution, 1.5),
        (RandomResolution, (0.5, 1.2)),
        (RandomResolution, "half"),
    ],
)
def test_new_layers_reject_bad_ranges(layer, value):
    with pytest.raises(ValueError):
        layer(value)


def _high_frequency_energy(images):
    """Per image: mean squared difference of neighbouring pixels."""
    rows = np.diff(images, axis=1) ** 2
    cols = np.diff(images, axis=2) ** 2
    return rows.mean(axis=(1, 2, 3)) + cols.mean(axis=(1, 2, 3))


def test_blur_is_the_gaussian_filter_and_lowers_high_frequencies():
    images = _images(4, size=16)
    fixed = np.asarray(RandomBlur((1.5, 1.5))(images, training=True))
    # scipy's "mirror" is reflect padding without the edge pixel, as here; the
    # kernel radius is ceil(3 * 1.5) = 5.
    expected = ndimage.gaussian_filter(
        images.astype("float64"), (0, 1.5, 1.5, 0), mode="mirror", truncate=5 / 1.5
    )
    np.testing.assert_allclose(fixed, expected, atol=1e-3)

    blurred = np.asarray(build_augmentation("blur=2", seed=0)(images, training=True))
    before, after = _high_frequency_energy(images), _high_frequency_energy(blurred)
    # Sigma is drawn in [0, 2], so a nearly untouched image is allowed; none
    # gains high frequencies and on average they drop a lot.
    assert np.all(after <= before * (1 + 1e-5))
    assert after.mean() < 0.5 * before.mean()
    # A blur averages pixels: the mean brightness stays, the range shrinks.
    np.testing.assert_allclose(
        blurred.mean(axis=(1, 2)), images.mean(axis=(1, 2)), rtol=0.02
    )
    assert blurred.min() >= images.min() and blurred.max() <= images.max()
    # Sigma is drawn per image: the four images are blurred by different amounts.
    assert len(np.unique(np.round(after / before, 4))) == 4


def _down_up(images, size):
    """The reference: tf.image.resize down by area, back up by nearest."""
    height, width = images.shape[1:3]
    small = tf.image.resize(images, size, method="area")
    return tf.image.resize(small, (height, width), method="nearest").numpy()


@pytest.mark.parametrize("scale", [0.5, 0.3, 0.7, 0.85])
def test_resolution_equals_a_down_up_resize(scale):
    images = np.random.default_rng(1).uniform(0, 255, (3, 12, 20, 3)).astype("float32")
    size = (int(np.floor(scale * 12 + 0.5)), int(np.floor(scale * 20 + 0.5)))

    output = np.asarray(RandomResolution((scale, scale))(images, training=True))

    np.testing.assert_allclose(output, _down_up(images, size), atol=1e-3)


def test_resolution_half_gives_2x2_blocks_and_varies_per_image():
    images = _images(8, size=16)
    half = np.asarray(RandomResolution((0.5, 0.5))(images, training=True))
    # Every 2x2 block is one pixel: the mean of the four it replaces.
    blocks = images.reshape(8, 8, 2, 8, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(
        half, blocks.repeat(2, axis=1).repeat(2, axis=2), atol=1e-3
    )

    # The registry step draws a scale in [0.5, 1] per image: each output is the
    # down-up resize of its image at one of those sizes.
    output = np.asarray(
        build_augmentation("resolution=0.5", seed=0)(images, training=True)
    )
    sizes = []
    for image, augmented in zip(images, output, strict=True):
        matches = [
            size
            for size in range(1, 17)
            if np.allclose(_down_up(image[None], (size, size))[0], augmented, atol=1e-3)
        ]
        assert matches and min(matches) >= 8, matches
        sizes.append(matches[0])
    assert len(set(sizes)) > 1


def test_pixel_gaussian_noise_is_the_additive_layer_in_pixel_units(tmp_path):
    from kerasvision.layers.noise import AdditiveGaussianNoise

    images = _images(2, size=8)
    old = PixelGaussianNoise(8.0, seed=3)
    new = AdditiveGaussianNoise(8.0, (0, 255), seed=3, relative=False)
    np.testing.assert_array_equal(
        np.asarray(old(images, training=True)), np.asarray(new(images, training=True))
    )
    # A model saved with the old layer name loads as before.
    model = keras.Sequential([keras.Input((8, 8, 3)), PixelGaussianNoise(8.0, seed=3)])
    loaded = assert_keras_round_trip(model, tmp_path / "old.keras", images)
    assert type(loaded.layers[0]).__name__ == "PixelGaussianNoise"
    assert loaded.layers[0].stddev == 8.0 and not loaded.layers[0].relative
