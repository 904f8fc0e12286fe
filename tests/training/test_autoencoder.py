"""kerasvision.autoencoding: fit_autoencoder runs, segmentation data, encode."""

import csv
import json
import os

import numpy as np
import pytest
from helpers import small_digits, write_image_folder
from PIL import Image

from kerasvision.data.segmentation import load_segmentation_folder
from kerasvision.evaluation import image_quality, segmentation_metrics
from kerasvision.layers.noise import parse_noise
from kerasvision.reuse import encode, load_encoder
from kerasvision.training import fit_autoencoder

TINY = {"filters": (8, 16)}


def _quiet(_line):
    pass


@pytest.fixture(scope="module")
def autoencoder_run(tmp_path_factory):
    """One tiny digits autoencoder run shared by the read-only tests."""
    output = tmp_path_factory.mktemp("runs") / "ae"
    return fit_autoencoder(
        dataset="digits",
        epochs=2,
        seed=0,
        output=output,
        model_kwargs=TINY,
        verbose=0,
        log=_quiet,
    )


def _write_squares(root, count=40, size=16, seed=0):
    """Dark noisy images with one bright square; mask = the square (class 1)."""
    rng = np.random.default_rng(seed)
    os.makedirs(root / "images")
    os.makedirs(root / "masks")
    for index in range(count):
        image = rng.integers(0, 60, (size, size, 3)).astype("uint8")
        mask = np.zeros((size, size), "uint8")
        side = int(rng.integers(4, 9))
        top, left = rng.integers(0, size - side, 2)
        image[top : top + side, left : left + side] = rng.integers(
            180, 256, (side, side, 3)
        )
        mask[top : top + side, left : left + side] = 1
        Image.fromarray(image).save(root / "images" / f"{index:03d}.png")
        Image.fromarray(mask).save(root / "masks" / f"{index:03d}.png")
    return root


# === Small pieces ===


@pytest.mark.parametrize(
    "text, kind, amount, patch",
    [
        ("gaussian=0.3", "gaussian", 0.3, 1),
        ("salt_pepper=0.1", "salt_pepper", 0.1, 1),
        ("salt-pepper=0.05", "salt_pepper", 0.05, 1),
        ("mask=0.25", "mask", 0.25, 1),
        (" Mask=0.5@4 ", "mask", 0.5, 4),
    ],
)
def test_parse_noise_accepts(text, kind, amount, patch):
    spec = parse_noise(text)
    assert (spec.kind, spec.amount, spec.patch_size) == (kind, amount, patch)
    assert parse_noise(str(spec)) == spec


@pytest.mark.parametrize(
    "text, message",
    [
        ("gaussian", "KIND=AMOUNT"),
        ("blur=0.3", "unknown noise"),
        ("gaussian=abc", "must be a number"),
        ("gaussian=-0.1", ">= 0"),
        ("salt_pepper=1.5", r"in \[0, 1\]"),
        ("gaussian=0.3@2", "only mask"),
        ("mask=0.2@0", "patch size"),
    ],
)
def test_parse_noise_rejects_with_one_line(text, message):
    with pytest.raises(ValueError, match=message) as error:
        parse_noise(text)
    assert "\n" not in str(error.value)


def test_image_quality_and_segmentation_metrics():
    clean = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    same = image_quality(clean, clean)
    assert same["mse"] == 0 and same["ssim"] == pytest.approx(1.0)
    worse = image_quality(clean, np.clip(clean + 0.1, 0, 1))
    assert 15 < worse["psnr"] < 30 and worse["ssim"] < 1
    true = np.array([[[0, 0], [1, 1]]])
    pred = np.array([[[0, 1], [1, 1]]])
    metrics = segmentation_metrics(true, pred, ["bg", "square", "unused"])
    assert metrics["pixel_accuracy"] == 0.75
    assert metrics["iou"] == {"bg": 0.5, "square": 2 / 3, "unused": None}
    assert metrics["mean_iou"] == pytest.approx((0.5 + 2 / 3) / 2)


# === fit_autoencoder ===


def test_autoencoder_run_directory_is_complete(autoencoder_run):
    import tensorflow as tf

    run_dir = autoencoder_run.run_dir
    assert not os.path.exists(os.path.join(os.path.dirname(run_dir), ".ae.partial"))
    expected = {
        "model.keras",
        "encoder.keras",
        "encoder_serving",
        "history.csv",
        "curves.png",
        "metrics.json",
        "run.json",
        "labels.txt",
        "reconstructions.png",
        "latent.png",
    }
    assert expected <= set(os.listdir(run_dir))
    with open(os.path.join(run_dir, "run.json")) as stream:
        info = json.load(stream)
    assert info["kind"] == "autoencoder" and info["task"] == "autoencoder"
    assert info["status"] == "complete" and info["seed"] == 0
    assert info["latent_shape"] == [2, 2, 16] and info["latent_dim"] == 64
    assert info["split"]["counts"]["test"] == autoencoder_run.metrics["count"]
    assert "tensorflow" in info["versions"]
    with open(os.path.join(run_dir, "metrics.json")) as stream:
        metrics = json.load(stream)
    assert {"mse", "psnr", "ssim", "count"} <= set(metrics)
    assert 0 < metrics["mse"] < 0.2 and metrics["psnr"] > 5
    with open(os.path.join(run_dir, "history.csv")) as stream:
        assert len(list(csv.DictReader(stream))) == 2

    # The SavedModel reproduces encoder.predict on raw pixels.
    x, _, _ = small_digits(per_class=2)
    x = x.astype("float32")
    encoder = autoencoder_run.encoder
    serving = tf.saved_model.load(os.path.join(run_dir, "encoder_serving"))
    latent = serving.signatures["serving_default"](images=tf.constant(x))["latent"]
    expected_codes = encoder.predict(x, verbose=0).reshape(len(x), -1)
    assert np.max(np.abs(latent.numpy() - expected_codes)) <= 1e-5
    assert autoencoder_run.export["max_abs_diff"] <= 1e-5


def test_load_encoder_gives_a_raw_pixel_backbone(autoencoder_run):
    from kerasvision.saving import load_model

    encoder, info = load_encoder(autoencoder_run.run_dir)
    assert info["spatial"] and info["feature_layer"] == "enc2_pool"
    assert encoder.output_shape == (None, 2, 2, 16)
    assert info["input_shape"] == [8, 8, 1] and len(info["class_names"]) == 10
    x, _, _ = small_digits(per_class=1)
    x = x.astype("float32")
    saved = load_model(os.path.join(autoencoder_run.run_dir, "encoder.keras"))
    np.testing.assert_allclose(
        encoder.predict(x, verbose=0), saved.predict(x, verbose=0), atol=1e-6
    )


def test_encode_writes_npy_and_csv(autoencoder_run, tmp_path):
    paths = write_image_folder(
        tmp_path / "new", classes=("a", "b"), per_class=3, size=(8, 8)
    )
    vectors = encode(
        autoencoder_run.run_dir, [tmp_path / "new"], output=tmp_path / "z.npy"
    )
    assert vectors.shape == (6, 64) and vectors.dtype == np.float32
    np.testing.assert_array_equal(np.load(tmp_path / "z.npy"), vectors)
    single = encode(autoencoder_run.run_dir, paths[0], output=tmp_path / "z.csv")
    np.testing.assert_allclose(single[0], vectors[0], atol=1e-6)
    with open(tmp_path / "z.csv") as stream:
        rows = list(csv.reader(stream))
    assert rows[0][:3] == ["path", "z0", "z1"] and len(rows[0]) == 65
    assert rows[1][0] == paths[0] and len(rows) == 2
    with pytest.raises(ValueError, match=".npy or .csv"):
        encode(autoencoder_run.run_dir, paths, output=tmp_path / "z.txt")
    with pytest.raises(FileNotFoundError):
        encode(autoencoder_run.run_dir, [tmp_path / "missing.png"])


def test_denoising_run_reports_noisy_and_denoised_psnr(tmp_path):
    result = fit_autoencoder(
        dataset="digits",
        task="denoising",
        noise="gaussian=0.3",
        epochs=8,
        seed=0,
        output=tmp_path / "dn",
        model_kwargs={"filters": (16, 32), "downsample": "strided"},
        export=False,
        verbose=0,
        log=_quiet,
    )
    metrics = result.metrics
    assert metrics["noise"] == "gaussian=0.3"
    assert metrics["psnr_gain"] == pytest.approx(
        metrics["psnr"] - metrics["noisy_psnr"]
    )
    assert 10 < metrics["noisy_psnr"] < 16
    assert metrics["psnr_gain"] > 0  # even 8 epochs beat the noisy input
    assert [layer.name for layer in result.model.layers][2] == "noise"
    assert "encoder_serving" not in os.listdir(result.run_dir)


def test_vae_and_sparse_runs(tmp_path):
    x, y, names = small_digits(per_class=15)
    vae = fit_autoencoder(
        (x, y),
        task="vae",
        epochs=2,
        seed=1,
        output=tmp_path / "vae",
        model_kwargs=TINY,
        verbose=0,
        log=_quiet,
    )
    assert {"samples.png", "interpolation.png", "encoder_serving"} <= set(
        os.listdir(vae.run_dir)
    )
    metrics = vae.metrics
    assert metrics["elbo"] == pytest.approx(
        -(metrics["reconstruction_loss"] + metrics["kl_loss"])
    )
    assert metrics["latent_dim"] == 2 and vae.encoder.output_shape == (None, 2)
    sparse = fit_autoencoder(
        (x, y),
        task="sparse",
        latent_dim=12,
        epochs=1,
        seed=1,
        output=tmp_path / "sparse",
        model_kwargs={"filters": (8,), "k_sparse": 4},
        export=False,
        verbose=0,
        log=_quiet,
    )
    assert sparse.metrics["code_zero_fraction"] == pytest.approx(8 / 12)


def test_segmentation_run_learns_the_squares(tmp_path):
    root = _write_squares(tmp_path / "squares")
    data = load_segmentation_folder(root, seed=0)
    assert data.input_shape == (16, 16, 3) and data.class_names == ["0", "1"]
    result = fit_autoencoder(
        root,
        task="segmentation",
        epochs=10,
        batch_size=8,
        lr=1e-2,
        seed=0,
        output=tmp_path / "seg",
        model_kwargs={"filters": (8, 16)},
        verbose=0,
        log=_quiet,
    )
    assert result.metrics["pixel_accuracy"] > 0.9
    assert 0 <= result.metrics["mean_iou"] <= 1
    assert {"segmentation.png", "serving", "model.keras", "metrics.json"} <= set(
        os.listdir(result.run_dir)
    )
    encoder, info = load_encoder(result.run_dir)
    assert info["feature_layer"] == "bottleneck_act2"


def test_segmentation_folder_errors(tmp_path):
    root = _write_squares(tmp_path / "squares", count=4)
    os.remove(root / "masks" / "002.png")
    with pytest.raises(FileNotFoundError, match="no mask for 002.png"):
        load_segmentation_folder(root)
    with pytest.raises(FileNotFoundError, match="DATA/images"):
        load_segmentation_folder(tmp_path / "nothing")
    Image.fromarray(np.full((16, 16), 5, "uint8")).save(root / "masks" / "002.png")
    with open(root / "classes.txt", "w") as stream:
        stream.write("background\nsquare\n")
    with pytest.raises(ValueError, match="mask value 5"):
        load_segmentation_folder(root)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"task": "gan"}, "task must be one of"),
        ({"noise": "gaussian=0.3"}, "--noise only apply to --task denoising"),
        ({"task": "denoising", "noise": "blur=1"}, "unknown noise"),
        ({"task": "segmentation", "latent_dim": 4}, "latent.dim"),
        ({"epochs": 0}, "epochs"),
        ({"model_kwargs": {"filters": (8,), "depth": 3}}, "does not take"),
    ],
)
def test_fit_autoencoder_rejects_bad_arguments(kwargs, message, tmp_path):
    with pytest.raises(ValueError, match=message):
        fit_autoencoder(
            dataset="digits", epochs=kwargs.pop("epochs", 1), output=tmp_path / "r",
            verbose=0, log=_quiet, **kwargs,
        )  # fmt: skip
    assert not os.path.exists(tmp_path / "r")


def test_existing_output_needs_overwrite(autoencoder_run):
    with pytest.raises(ValueError, match="already exists"):
        fit_autoencoder(
            dataset="digits", epochs=1, output=autoencoder_run.run_dir, log=_quiet
        )
