"""kerasvision.models.autoencoders and the noise / Sampling / KSparse layers."""

import keras
import numpy as np
import pytest
from helpers import (
    assert_keras_round_trip,
    assert_layer_config_round_trip,
    small_digits,
)

from kerasvision.layers.noise import (
    AdditiveGaussianNoise,
    RandomMasking,
    SaltAndPepperNoise,
    make_noise_layer,
)
from kerasvision.layers.sampling import KSparse, Sampling
from kerasvision.models.autoencoders import (
    VariationalAutoencoder,
    build_conv_autoencoder,
    build_dense_autoencoder,
    build_unet,
    build_vae,
    extract_encoder,
)
from kerasvision.saving import load_model

NOISE_LAYERS = {
    "gaussian": lambda: AdditiveGaussianNoise(0.3, seed=1),
    "salt_pepper": lambda: SaltAndPepperNoise(0.2, seed=1),
    "mask_pixels": lambda: RandomMasking(0.3, seed=1),
    "mask_patches": lambda: RandomMasking(0.3, patch_size=4, seed=1),
}
ODD_SHAPES = [(17, 23, 1), (28, 28, 3)]


def _images(shape, count=2, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (count, *shape)).astype("float32")


# === Layers ===


@pytest.mark.parametrize("name", list(NOISE_LAYERS), ids=list(NOISE_LAYERS))
def test_noise_is_identity_at_inference_and_corrupts_in_training(name):
    layer = NOISE_LAYERS[name]()
    x = np.random.default_rng(0).uniform(0.2, 0.8, (2, 17, 23, 3)).astype("float32")
    np.testing.assert_array_equal(np.asarray(layer(x, training=False)), x)
    np.testing.assert_array_equal(np.asarray(layer(x)), x)
    noisy = np.asarray(layer(x, training=True))
    assert noisy.shape == x.shape
    assert not np.allclose(noisy, x)
    assert noisy.min() >= 0.0 and noisy.max() <= 1.0
    # Seeded: a fresh layer with the same seed draws the same noise.
    again = np.asarray(NOISE_LAYERS[name]()(x, training=True))
    np.testing.assert_array_equal(again, noisy)
    assert_layer_config_round_trip(layer)


def test_salt_pepper_and_masking_hit_whole_pixels():
    x = np.full((4, 16, 16, 3), 0.5, "float32")
    noisy = np.asarray(SaltAndPepperNoise(0.3, seed=0)(x, training=True))
    assert set(np.unique(noisy)) <= {0.0, 0.5, 1.0}
    assert np.all(noisy == noisy[..., :1])  # all channels of a pixel together
    assert 0.2 < np.mean(noisy != 0.5) < 0.4
    masked = np.asarray(RandomMasking(0.5, patch_size=4, seed=0)(x, training=True))
    blocks = masked[..., 0].reshape(4, 4, 4, 4, 4).transpose(0, 1, 3, 2, 4)
    per_block = blocks.reshape(4, 4, 4, 16)
    assert np.all(per_block.min(-1) == per_block.max(-1))  # 4x4 cells all or none


def test_gaussian_noise_strength_is_in_image_units():
    x = np.full((8, 32, 32, 1), 0.5, "float32")
    noisy = np.asarray(AdditiveGaussianNoise(0.1, seed=0)(x, training=True))
    assert abs(np.std(noisy - x) - 0.1) < 0.01


def test_noise_layers_reject_bad_arguments():
    with pytest.raises(ValueError, match="stddev"):
        AdditiveGaussianNoise(-1.0)
    with pytest.raises(ValueError, match="rate"):
        SaltAndPepperNoise(1.5)
    with pytest.raises(ValueError, match="patch_size"):
        RandomMasking(0.2, patch_size=0)
    with pytest.raises(ValueError, match="unknown noise"):
        make_noise_layer("blur=2")


@pytest.mark.parametrize("shape", [(6, 20), (3, 4, 4, 5)], ids=["dense", "spatial"])
def test_ksparse_keeps_exactly_k_largest_units(shape):
    x = np.random.default_rng(0).normal(size=shape).astype("float32")
    y = np.asarray(KSparse(5)(x))
    assert y.shape == x.shape
    flat_x, flat_y = x.reshape(len(x), -1), y.reshape(len(y), -1)
    assert np.all(np.count_nonzero(flat_y, axis=1) == 5)
    for row_x, row_y in zip(flat_x, flat_y, strict=True):
        kept = np.sort(row_x)[-5:]
        np.testing.assert_allclose(np.sort(row_y[row_y != 0]), kept)
    assert_layer_config_round_trip(KSparse(5))


def test_ksparse_gradient_flows_through_kept_units_only():
    import tensorflow as tf

    x = tf.constant([[0.1, 0.5, -0.2, 0.3]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(KSparse(2)(x))
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), [[0, 1, 0, 1]])


def test_ksparse_rejects_k_larger_than_the_code():
    with pytest.raises(ValueError, match="k must be"):
        KSparse(0)
    with pytest.raises(ValueError, match="larger than"):
        build_conv_autoencoder((8, 8, 1), filters=(4,), latent_dim=3, k_sparse=4)


def test_sampling_reparameterizes_in_training_and_returns_mean_at_inference():
    mean = np.full((4000, 2), 1.5, "float32")
    log_var = np.log(np.full((4000, 2), 0.25, "float32"))
    layer = Sampling(seed=3)
    np.testing.assert_array_equal(np.asarray(layer([mean, log_var])), mean)
    z = np.asarray(layer([mean, log_var], training=True))
    assert abs(z.mean() - 1.5) < 0.03 and abs(z.std() - 0.5) < 0.03
    always = Sampling(seed=3, sample_in_inference=True)
    assert not np.allclose(np.asarray(always([mean, log_var])), mean)
    assert_layer_config_round_trip(always)


def test_custom_layers_round_trip_through_keras_files(tmp_path):
    inputs = keras.Input((8, 8, 1))
    x = AdditiveGaussianNoise(0.2, seed=0, name="gauss")(inputs)
    x = SaltAndPepperNoise(0.1, seed=0, name="salt")(x)
    x = RandomMasking(0.2, patch_size=2, seed=0, name="mask")(x)
    x = keras.layers.Flatten()(x)
    mean = keras.layers.Dense(6)(x)
    log_var = keras.layers.Dense(6)(x)
    z = Sampling(seed=0, name="sampling")([mean, log_var])
    outputs = KSparse(3, name="k_sparse")(z)
    model = keras.Model(inputs, outputs)
    x = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    loaded = assert_keras_round_trip(model, str(tmp_path / "layers.keras"), x)
    for name in ("gauss", "salt", "mask", "sampling", "k_sparse"):
        assert loaded.get_layer(name).get_config() == model.get_layer(name).get_config()


# === Builders ===


def test_conv_autoencoder_structure_and_names():
    model = build_conv_autoencoder(
        (28, 28, 1), filters=(8, 16, 32), noise="gaussian=0.3", seed=0
    )
    assert [layer.name for layer in model.layers] == [
        "image",
        "rescaling",
        "noise",
        "encoder",
        "decoder",
    ]
    encoder, decoder = model.get_layer("encoder"), model.get_layer("decoder")
    names = {layer.name for layer in encoder.layers}
    assert {"enc_pad", "enc1_conv1", "enc1_act1", "enc3_pool"} <= names
    assert {"dec3_transpose", "dec1_act1", "dec_crop", "reconstruction"} <= {
        layer.name for layer in decoder.layers
    }
    assert encoder.output_shape == (None, 4, 4, 32)  # 28 -> padded to 32
    assert not any(isinstance(layer, keras.layers.Lambda) for layer in encoder.layers)
    assert decoder.get_layer("reconstruction").activation.__name__ == "sigmoid"
    plain = build_conv_autoencoder((8, 8, 1), filters=(4,))
    assert "noise" not in [layer.name for layer in plain.layers]


def test_conv_autoencoder_dense_and_sparse_code():
    model = build_conv_autoencoder(
        (16, 16, 3),
        filters=(4, 8),
        latent_dim=10,
        downsample="strided",
        upsample="upsample",
        batch_norm=True,
        sparsity=1e-3,
        k_sparse=3,
    )
    encoder = model.get_layer("encoder")
    assert encoder.output_shape == (None, 10)
    assert {"enc_flatten", "latent", "k_sparse", "code_sparsity", "enc1_bn1"} <= {
        layer.name for layer in encoder.layers
    }
    assert "dec1_upsample" in {
        layer.name for layer in model.get_layer("decoder").layers
    }
    codes = np.asarray(encoder(np.random.default_rng(0).uniform(size=(5, 16, 16, 3))))
    assert np.all(np.count_nonzero(codes, axis=1) == 3)
    model(_images((16, 16, 3)), training=True)
    assert model.losses  # the L1 activity penalty


def test_builders_reject_bad_arguments():
    with pytest.raises(ValueError, match="filters"):
        build_conv_autoencoder((8, 8, 1), filters=())
    with pytest.raises(ValueError, match="downsample"):
        build_conv_autoencoder((8, 8, 1), downsample="avg")
    with pytest.raises(ValueError, match="latent_dim"):
        build_conv_autoencoder((8, 8, 1), latent_dim=0)
    with pytest.raises(ValueError, match="num_classes"):
        build_unet((8, 8, 1), 1)
    with pytest.raises(ValueError, match="at least 2 levels"):
        build_unet((8, 8, 1), 2, filters=(8,))
    with pytest.raises(ValueError, match="beta"):
        build_vae((8, 8, 1), beta=-1.0)
    with pytest.raises(ValueError, match="input_shape"):
        build_dense_autoencoder((8, 8))


BUILDERS = {
    "conv_pool_transpose": lambda s: build_conv_autoencoder(s, filters=(4, 8, 8)),
    "conv_strided_upsample_dense": lambda s: build_conv_autoencoder(
        s, filters=(4, 8, 8), latent_dim=6, downsample="strided", upsample="upsample"
    ),
    "unet": lambda s: build_unet(s, 3, filters=(4, 8, 8)),
    "vae": lambda s: build_vae(s, filters=(4, 8, 8), latent_dim=2),
}


@pytest.mark.parametrize("shape", ODD_SHAPES, ids=["17x23x1", "28x28x3"])
@pytest.mark.parametrize("name", list(BUILDERS), ids=list(BUILDERS))
def test_output_shape_equals_input_shape_for_odd_sizes(name, shape):
    model = BUILDERS[name](shape)
    outputs = np.asarray(model(_images(shape), training=False))
    expected = (2, *shape[:2], 3) if name == "unet" else (2, *shape)
    assert outputs.shape == expected
    if name == "unet":
        np.testing.assert_allclose(outputs.sum(-1), 1.0, atol=1e-5)
    else:
        assert outputs.min() >= 0.0 and outputs.max() <= 1.0


ROUND_TRIP = {
    "conv": lambda: build_conv_autoencoder((9, 11, 1), filters=(4, 8)),
    "denoising": lambda: build_conv_autoencoder(
        (9, 11, 1), filters=(4, 8), noise="salt_pepper=0.2", seed=0
    ),
    "sparse": lambda: build_conv_autoencoder(
        (9, 11, 1), filters=(4, 8), latent_dim=8, sparsity=1e-3, k_sparse=3
    ),
    "dense": lambda: build_dense_autoencoder(
        (9, 11, 1), units=(16, 4), noise="mask=0.3@2", seed=0
    ),
    "unet": lambda: build_unet((9, 11, 1), 3, filters=(4, 8)),
    "vae": lambda: build_vae((9, 11, 1), filters=(4, 8), latent_dim=2, seed=0),
}


@pytest.mark.parametrize("name", list(ROUND_TRIP), ids=list(ROUND_TRIP))
def test_every_autoencoder_round_trips_through_keras_file(name, tmp_path):
    model = ROUND_TRIP[name]()
    x = _images((9, 11, 1), count=8)
    if name == "vae":
        model.compile(optimizer="adam")
        model.fit(x, epochs=1, batch_size=4, verbose=0)
    elif name == "unet":
        model.compile("adam", "sparse_categorical_crossentropy")
        model.fit(x, (x[..., 0] > 128).astype("int32"), epochs=1, verbose=0)
    else:
        model.compile("adam", "mse")
        model.fit(x, x / 255.0, epochs=1, batch_size=4, verbose=0)
    loaded = assert_keras_round_trip(model, str(tmp_path / f"{name}.keras"), x)
    assert type(loaded) is type(model)
    if name == "vae":
        assert isinstance(loaded, VariationalAutoencoder)
        assert loaded.beta == model.beta and loaded.latent_dim == 2
        np.testing.assert_allclose(
            loaded.generate(3, seed=1), model.generate(3, seed=1)
        )


def test_vae_train_step_lowers_loss_and_generates(tmp_path):
    x, _, _ = small_digits(per_class=30)
    vae = build_vae((8, 8, 1), filters=(16, 32), latent_dim=2, seed=0)
    vae.compile(optimizer=keras.optimizers.Adam(3e-3))
    history = vae.fit(x.astype("float32"), epochs=6, batch_size=32, verbose=0).history
    assert {"loss", "reconstruction_loss", "kl_loss"} <= set(history)
    assert history["loss"][-1] < 0.9 * history["loss"][0]
    np.testing.assert_allclose(
        history["loss"][-1],
        history["reconstruction_loss"][-1] + history["kl_loss"][-1],
        rtol=1e-4,
    )
    evaluated = vae.evaluate(x[:64].astype("float32"), verbose=0, return_dict=True)
    assert set(evaluated) == {"loss", "reconstruction_loss", "kl_loss"}
    samples = vae.generate(5, seed=0)
    assert samples.shape == (5, 8, 8, 1)
    assert samples.min() >= 0 and samples.max() <= 1
    np.testing.assert_array_equal(samples, vae.generate(5, seed=0))
    strip = vae.interpolate(x[0], x[1], steps=6)
    assert strip.shape == (6, 8, 8, 1)
    ends = vae.decode(vae.encode(x[:2]))
    np.testing.assert_allclose(strip[[0, -1]], ends, atol=1e-5)


def test_vae_beta_weights_the_kl_term():
    x = _images((8, 8, 1), count=16)
    vae = build_vae((8, 8, 1), filters=(4,), latent_dim=2, beta=0.0, seed=0)
    vae.compile(optimizer="adam")
    logs = vae.fit(x, epochs=1, batch_size=16, verbose=0).history
    np.testing.assert_allclose(logs["loss"], logs["reconstruction_loss"], rtol=1e-6)


def test_extract_encoder_takes_raw_pixels():
    model = build_conv_autoencoder((12, 12, 1), filters=(4, 8), latent_dim=5)
    x = _images((12, 12, 1), count=3)
    encoder, layer = extract_encoder(model)
    assert layer == "latent" and encoder.output_shape == (None, 5)
    expected = model.get_layer("encoder")(x / 255.0)
    np.testing.assert_allclose(encoder.predict(x, verbose=0), expected, atol=1e-6)
    spatial, layer = extract_encoder(model, spatial=True)
    assert layer == "enc2_pool" and spatial.output_shape == (None, 3, 3, 8)
    with pytest.raises(ValueError, match="no spatial feature map"):
        extract_encoder(build_dense_autoencoder((8, 8, 1)), spatial=True)
    vae = build_vae((8, 8, 1), filters=(4,), latent_dim=3)
    code, layer = extract_encoder(vae)
    assert layer == "z_mean" and code.output_shape == (None, 3)
    unet, layer = extract_encoder(build_unet((8, 8, 1), 2, filters=(4, 8)))
    assert layer == "bottleneck_act2" and unet.output_shape == (None, 4, 4, 8)


def test_loading_needs_no_custom_objects_argument(tmp_path):
    model = build_conv_autoencoder((8, 8, 1), filters=(4,), k_sparse=2, latent_dim=4)
    path = str(tmp_path / "ae.keras")
    model.save(path)
    loaded = load_model(path)
    assert isinstance(loaded.get_layer("encoder").get_layer("k_sparse"), KSparse)
