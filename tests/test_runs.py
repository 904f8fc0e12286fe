"""kerasvision.runs: the run writer (lock, overwrite, overlap) and reading runs,
also those written by kerasvision 0.1 (tests/data/legacy_*_run)."""

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
from helpers import write_image_folder

import kerasvision
from kerasvision.runs import LOCK_FILE, RunWriter, is_run_dir, load_run

LEGACY = os.path.join(os.path.dirname(__file__), "data")


def _legacy(name, tmp_path):
    """A writable copy of a committed 0.1 run (tests never change the original)."""
    copy = tmp_path / name
    shutil.copytree(os.path.join(LEGACY, name), copy)
    return copy


# --- the writer ---


def test_writer_publishes_atomically_and_releases_the_lock(tmp_path):
    with RunWriter.create(tmp_path / "run") as run:
        assert os.path.exists(os.path.join(run.path, LOCK_FILE))
        assert not (tmp_path / "run").exists()  # only the partial folder so far
        run.record({"kind": "classifier"})
        run.save_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
        run.publish()
    assert is_run_dir(tmp_path / "run")
    assert not (tmp_path / "run" / LOCK_FILE).exists()
    assert os.listdir(tmp_path) == ["run"]


def test_a_second_writer_fails_at_once_naming_the_holder(tmp_path):
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from kerasvision.runs import RunWriter;"
            f"w = RunWriter.create({str(tmp_path / 'run')!r});"
            "print('locked', flush=True); time.sleep(60)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        with pytest.raises(ValueError, match=f"being written by process {holder.pid}"):
            RunWriter.create(tmp_path / "run")
        assert time.monotonic() - started < 5
    finally:
        holder.kill()
        holder.wait()


def test_a_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    partial = tmp_path / ".run.partial"
    partial.mkdir()
    import socket

    (partial / LOCK_FILE).write_text(f"{dead.pid}@{socket.gethostname()}\n")
    with RunWriter.create(tmp_path / "run") as run:
        assert (
            open(os.path.join(run.path, LOCK_FILE)).read().startswith(str(os.getpid()))
        )


def test_overwrite_replaces_only_a_run(tmp_path):
    user = tmp_path / "mine"
    user.mkdir()
    (user / "notes.txt").write_text("keep me")
    with pytest.raises(ValueError, match="already exists"):
        RunWriter.plan(user)
    with pytest.raises(ValueError, match="replaces only a kerasvision run"):
        RunWriter.plan(user, overwrite=True)
    assert (user / "notes.txt").read_text() == "keep me"


@pytest.mark.parametrize("where", ["inside", "equal", "around"])
def test_output_may_not_overlap_the_data(tmp_path, where):
    data = tmp_path / "data"
    write_image_folder(data, per_class=2)
    output = {
        "inside": data / "run",
        "equal": data,
        "around": tmp_path,
    }[where]
    before = sorted(p.name for p in data.rglob("*"))
    with pytest.raises(ValueError, match="data folder"):
        kerasvision.fit(str(data), output=str(output), overwrite=True, verbose=0)
    assert sorted(p.name for p in data.rglob("*")) == before


def test_cli_overwrite_on_the_data_folder_exits_2_and_keeps_every_image(tmp_path):
    data = tmp_path / "x"
    write_image_folder(data, per_class=3)
    command = [sys.executable, "-m", "kerasvision", "fit", str(data)]
    result = subprocess.run(
        [*command, "--output", str(data), "--overwrite"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert len(list(data.rglob("*.png"))) == 6


# --- runs written by kerasvision 0.1 ---


def test_legacy_classifier_run_evaluates_predicts_exports_and_reports(tmp_path):
    run_dir = _legacy("legacy_classifier_run", tmp_path)
    recorded = json.loads((run_dir / "metrics.json").read_text())
    metrics = kerasvision.evaluate(str(run_dir))
    assert metrics["accuracy"] == pytest.approx(recorded["accuracy"])
    assert metrics["loss"] == pytest.approx(recorded["loss"], abs=1e-6)
    run = load_run(str(run_dir))
    assert run.kind == "classifier"
    images = run.sample_images(3)
    from PIL import Image

    paths = []
    for index, image in enumerate(np.asarray(images, dtype="uint8")):
        path = tmp_path / f"digit{index}.png"
        Image.fromarray(image.squeeze(-1)).save(path)
        paths.append(str(path))
    predictions = kerasvision.predict(str(run_dir), paths, top_k=2)
    assert len(predictions) == 3 and len(predictions[0]["top_k"]) == 2
    report = kerasvision.export_run(str(run_dir), str(tmp_path / "exported"))
    assert report["max_abs_diff"] <= 1e-5
    page = kerasvision.write_report(str(run_dir))
    assert open(page, encoding="utf-8").read().startswith("<!DOCTYPE html>")


def test_legacy_autoencoder_run_encodes_and_exports(tmp_path):
    run_dir = _legacy("legacy_autoencoder_run", tmp_path)
    run = load_run(str(run_dir))
    assert run.kind == "autoencoder"
    from kerasvision.reuse import encode

    codes = encode(str(run_dir), np.zeros((2, *run.image_size, run.channels)))
    assert codes.shape[0] == 2 and np.all(np.isfinite(codes))
    every = encode(str(run_dir), dataset="digits", output=str(tmp_path / "z.csv"))
    assert every.shape == (1797, codes.shape[1])
    assert (tmp_path / "z.csv").read_text().splitlines()[1].startswith('"digits:0"')
    with pytest.raises(ValueError, match="one of them"):
        encode(str(run_dir))


#: A recorded run of every `config_version` (1 is kerasvision 0.1's), each
#: written by the version that recorded it.
RECORDED = {
    1: "legacy_classifier_run",
    2: "recorded_run_v2",
    3: "recorded_run_v3",
}


def test_every_config_version_has_a_recorded_run():
    from kerasvision.config import CONFIG_VERSION

    assert set(RECORDED) == set(range(1, CONFIG_VERSION + 1))
    for version, name in RECORDED.items():
        info = json.loads((Path(LEGACY) / name / "run.json").read_text())
        assert info["arguments"].get("config_version", 1) == version


@pytest.mark.parametrize("version", list(RECORDED), ids=[f"v{v}" for v in RECORDED])
def test_rerun_and_evaluate_reproduce_every_recorded_version(tmp_path, version):
    """Same recorded config and seed on CPU -> the same test metrics."""
    run_dir = _legacy(RECORDED[version], tmp_path)
    recorded = json.loads((run_dir / "metrics.json").read_text())
    metrics = kerasvision.evaluate(str(run_dir))
    assert metrics["accuracy"] == recorded["accuracy"]
    assert metrics["loss"] == pytest.approx(recorded["loss"], abs=1e-6)
    again = kerasvision.rerun(str(run_dir), output=str(tmp_path / "again"), verbose=0)
    assert again.metrics["loss"] == pytest.approx(recorded["loss"], abs=1e-5)
    assert again.metrics["accuracy"] == recorded["accuracy"]
    info = json.loads((tmp_path / "again" / "run.json").read_text())
    assert info["arguments"]["seed"] == 0


def test_rerun_refuses_an_arrays_run(tmp_path):
    from helpers import small_digits

    x, y, _ = small_digits(per_class=3)
    kerasvision.fit(
        (x, y),
        epochs=1,
        seed=0,
        verbose=0,
        export=False,
        model_kwargs={"filters": (4,), "dense_units": ()},
        output=str(tmp_path / "arrays"),
    )
    with pytest.raises(ValueError, match="in-memory arrays"):
        kerasvision.rerun(str(tmp_path / "arrays"))
