"""The `kerasvision` command: real runs on tiny data, and every misuse."""

import json
import os
import subprocess
import sys

import pytest
from click.testing import CliRunner
from helpers import write_image_folder

from kerasvision.cli import main

TINY = ["--model-arg", "filters=(4, 8)", "--model-arg", "dense_units=(8,)"]


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _assert_one_line_error(result, code, *fragments):
    assert result.exit_code == code, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("Error:")]
    assert len(errors) == 1, result.output
    assert "Traceback" not in result.output and "Usage:" not in result.output
    for fragment in fragments:
        assert fragment in errors[0], errors[0]


def test_help_is_fast_and_does_not_import_tensorflow():
    code = (
        "import sys; from click.testing import CliRunner;"
        "from kerasvision.cli import main;"
        "r = CliRunner().invoke(main, ['--help']); assert r.exit_code == 0, r.output;"
        "assert 'fit' in r.output and 'export' in r.output;"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported';"
        "assert 'keras' not in sys.modules, 'keras imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    write_image_folder(root / "data", classes=("a", "b", "c"), per_class=8)
    result = _invoke(
        "fit",
        root / "data",
        "--image-size",
        "12",
        "--epochs",
        "2",
        "--seed",
        "0",
        "--output",
        root / "run",
        *TINY,
    )
    assert result.exit_code == 0, result.output
    return root, result


def test_fit_prints_accuracy_and_run_dir(cli_run):
    root, result = cli_run
    assert "test accuracy:" in result.output
    assert f"run written to {root / 'run'}" in result.output
    assert "epoch 1/2" in result.output and "epoch 2/2" in result.output  # not a TTY
    info = json.loads((root / "run" / "run.json").read_text())
    assert info["arguments"]["image_size"] == "12"
    assert info["arguments"]["model_kwargs"] == {"filters": [4, 8], "dense_units": [8]}
    assert info["arguments"]["optimizer"] == "adam"  # the library default


def test_predict_csv_and_json(cli_run):
    root, _ = cli_run
    image = root / "data" / "a" / "a_0.png"
    csv_out = _invoke("predict", root / "run", image, "--top-k", "2")
    assert csv_out.exit_code == 0, csv_out.output
    header, row = csv_out.output.strip().splitlines()
    assert header == "path,class_1,probability_1,class_2,probability_2"
    assert row.startswith(str(image))
    json_out = _invoke("predict", root / "run", root / "data" / "b", "--format", "json")
    records = json.loads(json_out.output)
    assert len(records) == 8 and {"class_name", "probability"} <= set(records[0])


def test_evaluate_and_export(cli_run):
    root, _ = cli_run
    evaluated = _invoke("evaluate", root / "run")
    assert evaluated.exit_code == 0, evaluated.output
    assert json.loads(evaluated.output)["count"] == 3
    exported = _invoke("export", root / "run", "--output", root / "exported")
    assert exported.exit_code == 0, exported.output
    assert (root / "exported" / "saved_model.pb").exists()
    assert "serving_bytes" in exported.output


def test_models_and_datasets_lists():
    models = _invoke("models")
    assert "bipyramidal_cnn" in models.output and "lenet5" in models.output
    datasets = _invoke("datasets")
    assert "digits" in datasets.output and "offline" in datasets.output


@pytest.mark.parametrize(
    "args, code, fragments",
    [
        (["fit", "{tmp}/missing"], 2, ["data directory not found", "missing"]),
        (["fit", "{tmp}/empty"], 2, ["at least 2 class folders"]),
        (["fit", "{tmp}/oneclass"], 2, ["found only 'solo'"]),
        (["fit", "--model", "resnet9000"], 2, ["'--model'", "resnet9000"]),
        (["fit", "--dataset", "imagenet"], 2, ["'--dataset'", "imagenet"]),
        (["fit", "--epochs", "ten"], 2, ["'--epochs'", "ten"]),
        (["fit", "--epochs", "0"], 2, ["'--epochs'"]),
        (
            ["fit", "--model", "lenet5", "--image-size", "16"],
            2,
            ["too small for lenet5", "32x32"],
        ),
        (["fit", "--image-size", "big"], 2, ["image size"]),
        (["fit", "--output", "{tmp}/afile/run"], 1, ["cannot write", "afile"]),
        (
            ["fit", "--resume", "--output", "{tmp}/empty"],
            2,
            ["not an interrupted kerasvision run"],
        ),
        (["fit", "--model-arg", "filters"], 2, ["KEY=VALUE"]),
        (["fit", "--model-arg", "filters=oops("], 2, ["--model-arg filters", "oops("]),
        (["fit", "--batch-size", "99999999999999999999"], 2, ["at most 65536"]),
        (["fit", "--lr", "inf"], 2, ["lr must be a finite number"]),
        (
            [
                "fit",
                "--dataset",
                "digits",
                "--class-weight",
                "1,2",
                "--output",
                "{tmp}/weighted",
            ],
            2,
            ["class weights need 10 values"],
        ),  # fmt: skip
        (["fit", "--image-size", "100000"], 2, ["at most 4096 pixels per side"]),
        (["fit", "--image-size", "4096", "--batch-size", "65536"], 2, ["GiB"]),
        (["evaluate", "{tmp}/missing"], 2, ["run directory not found"]),
        (["evaluate", "{tmp}/empty"], 2, ["not a kerasvision run"]),
        (["predict", "{tmp}/empty", "x.png"], 2, ["not a kerasvision run"]),
        (["export", "{tmp}/missing"], 2, ["run directory not found"]),
    ],
    ids=lambda value: None,
)
def test_misuse_gives_one_line_and_exit_code(tmp_path, args, code, fragments):
    (tmp_path / "empty").mkdir()
    write_image_folder(tmp_path / "oneclass", classes=("solo",), per_class=2)
    (tmp_path / "afile").write_text("a file, not a folder")
    result = _invoke(*[a.format(tmp=tmp_path) for a in args])
    _assert_one_line_error(result, code, *[f.format(tmp=tmp_path) for f in fragments])
    # Refused before any run directory was planned or created.
    assert "run directory:" not in result.output


def test_failed_fit_loses_nothing_already_written(cli_run):
    root, _ = cli_run
    before = {p: p.read_bytes() for p in (root / "run").rglob("*") if p.is_file()}
    result = _invoke(
        "fit", root / "data", "--image-size", "12", "--output", root / "run"
    )
    _assert_one_line_error(result, 2, "already exists", "--overwrite")
    after = {p: p.read_bytes() for p in (root / "run").rglob("*") if p.is_file()}
    assert before == after
    assert not any(name.endswith(".partial") for name in os.listdir(root))


def test_real_console_script_runs(tmp_path):
    """The installed `kerasvision` entry point (a subprocess, as users run it)."""
    write_image_folder(tmp_path / "data", per_class=6)
    command = [
        "kerasvision",
        "fit",
        str(tmp_path / "data"),
        "--image-size",
        "8",
        "--epochs",
        "1",
        "--output",
        str(tmp_path / "run"),
        *TINY,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "run written to" in done.stdout
    bad = subprocess.run(
        ["kerasvision", "fit", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines() == [
        f"Error: data directory not found: {tmp_path / 'nope'}"
    ]


def test_write_dataset_gives_a_trainable_folder(tmp_path):
    result = _invoke(
        "write-dataset", "digits", tmp_path / "digits", "--image-size", "16"
    )
    assert result.exit_code == 0, result.output
    assert "wrote 1797 images in 10 class folders" in result.output
    assert sorted(os.listdir(tmp_path / "digits")) == [str(d) for d in range(10)]
    again = _invoke("write-dataset", "digits", tmp_path / "digits")
    _assert_one_line_error(again, 2, "not an empty folder")
    fit = _invoke(
        "fit",
        tmp_path / "digits",
        "--epochs",
        "1",
        "--channels",
        "1",
        "--cache",
        "none",
        "--output",
        tmp_path / "run",
        *TINY,
    )
    assert fit.exit_code == 0, fit.output
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["data"]["image_size"] == [64, 64]  # the model's default for folders
    assert info["model"]["input_shape"] == [64, 64, 1]


def test_augment_preview_and_ensemble(cli_run, tmp_path):
    root, _ = cli_run
    preview = _invoke(
        "augment",
        root / "data",
        "--preview",
        tmp_path / "p.png",
        "--augment",
        "flip,cutmix",
        "--image-size",
        "12",
    )
    assert preview.exit_code == 0, preview.output
    from PIL import Image

    assert Image.open(tmp_path / "p.png").size[0] > 100
    bad = _invoke(
        "augment", root / "data", "--preview", tmp_path / "q.png", "--augment", "wobble"
    )
    _assert_one_line_error(bad, 2, "unknown augmentation 'wobble'")
    second = _invoke(
        "fit",
        root / "data",
        "--image-size",
        "12",
        "--epochs",
        "1",
        "--seed",
        "0",
        "--output",
        tmp_path / "run2",
        *TINY,
    )
    assert second.exit_code == 0, second.output
    result = _invoke(
        "ensemble", root / "run", tmp_path / "run2", "--output", tmp_path / "ens"
    )
    assert result.exit_code == 0, result.output
    assert "ensemble accuracy:" in result.output  # same data and split: evaluated
    info = json.loads((tmp_path / "ens" / "run.json").read_text())
    assert info["kind"] == "ensemble" and len(info["members"]) == 2
    assert info["export"]["max_abs_diff"] <= 1e-5
    predicted = _invoke("predict", tmp_path / "ens", root / "data" / "a" / "a_0.png")
    assert predicted.exit_code == 0, predicted.output


def test_backbones_list_and_transfer_fit(tmp_path):
    listed = _invoke("backbones")
    assert "mobilenet_v2" in listed.output and "convnext_xlarge" in listed.output
    write_image_folder(tmp_path / "data", per_class=6)
    result = _invoke(
        "fit",
        tmp_path / "data",
        "--backbone",
        "mobilenet_v2",
        "--weights",
        "none",
        "--image-size",
        "32",
        "--epochs",
        "1",
        "--output",
        tmp_path / "run",
    )
    assert result.exit_code == 0, result.output
    assert "block_16" in result.output  # the trainability table
    bad = _invoke(
        "fit",
        tmp_path / "data",
        "--backbone",
        "mobilenet_v2",
        "--weights",
        tmp_path / "missing.h5",
        "--output",
        tmp_path / "r2",
    )
    _assert_one_line_error(bad, 2, "weights file not found")
    unfreeze = _invoke(
        "fit",
        tmp_path / "data",
        "--backbone",
        "mobilenet_v2",
        "--mode",
        "fine-tune",
        "--unfreeze",
        "middle",
        "--output",
        tmp_path / "r3",
    )
    _assert_one_line_error(unfreeze, 2, "--unfreeze must be")


def test_autoencoder_task_encode_and_encoder_reuse(tmp_path):
    ae = _invoke(
        "fit",
        "--task",
        "denoising",
        "--noise",
        "gaussian=0.3",
        "--image-size",
        "16",
        "--epochs",
        "1",
        "--seed",
        "0",
        "--model-arg",
        "filters=(4, 8)",
        "--output",
        tmp_path / "ae",
    )
    assert ae.exit_code == 0, ae.output
    assert "psnr_gain" in ae.output
    info = json.loads((tmp_path / "ae" / "run.json").read_text())
    assert info["kind"] == "autoencoder" and info["task"] == "denoising"
    write_image_folder(tmp_path / "imgs", per_class=2, size=(16, 16))
    encoded = _invoke(
        "encode", tmp_path / "ae", tmp_path / "imgs", "--output", tmp_path / "codes.npy"
    )
    assert encoded.exit_code == 0, encoded.output
    import numpy as np

    assert np.load(tmp_path / "codes.npy").shape[0] == 4
    reuse = _invoke(
        "fit",
        "--backbone",
        tmp_path / "ae",
        "--epochs",
        "1",
        "--output",
        tmp_path / "clf",
    )
    assert reuse.exit_code == 0, reuse.output
    clf = json.loads((tmp_path / "clf" / "run.json").read_text())
    assert clf["model"]["input_shape"] == [16, 16, 1]
    wrong = _invoke("evaluate", tmp_path / "ae")
    _assert_one_line_error(wrong, 2, "autoencoder run")
    mixed = _invoke("fit", "--task", "vae", "--augment", "flip")
    _assert_one_line_error(mixed, 2, "--augment only apply to --task classification")


def test_fit_classes_subset_and_unknown_class(tmp_path):
    write_image_folder(tmp_path / "d", classes=("a", "b", "c"), size=(8, 9))
    bad = _invoke("fit", tmp_path / "d", "--classes", "a,x", "--epochs", "1")
    assert bad.exit_code == 2 and "unknown class 'x'" in bad.output
    assert "Traceback" not in bad.output
    result = _invoke(
        "fit", tmp_path / "d", "--classes", "c,a", "--norm", "layer", "--epochs", "1",
        "--image-size", "8x9", "--model-arg", "filters=(4,)", "--seed", "0",
        "--output", tmp_path / "run",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert (tmp_path / "run" / "labels.txt").read_text().split() == ["c", "a"]
    arguments = json.loads((tmp_path / "run" / "run.json").read_text())["arguments"]
    assert arguments["classes"] == ["c", "a"]
    assert arguments["model_kwargs"]["norm"] == "layer"
