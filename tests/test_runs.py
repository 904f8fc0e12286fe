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
    4: "recorded_run_v4",
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


# --- what --overwrite may replace, and damaged runs ---


def test_overwrite_refuses_a_hand_made_run_and_keeps_it_byte_identical(tmp_path):
    from helpers import tree_hash

    project = tmp_path / "myproject"
    (project / "src").mkdir(parents=True)
    (project / "src" / "main.py").write_text("print('my work')\n")
    (project / "run.json").write_text('{"name": "myproject", "status": "complete"}')
    (project / "model.keras").write_bytes(b"PK\x03\x04 not ours")
    before = tree_hash(project)
    assert is_run_dir(project)  # looks like a run...
    with pytest.raises(ValueError, match="replaces only a kerasvision run"):
        RunWriter.plan(project, overwrite=True)  # ...but is not provably ours
    assert tree_hash(project) == before


@pytest.mark.parametrize(
    "name", ["legacy_classifier_run", "recorded_run_v2", "recorded_run_v3"]
)
def test_runs_from_before_the_marker_may_still_be_overwritten(tmp_path, name):
    from kerasvision.runs import is_kerasvision_run

    copy = _legacy(name, tmp_path)
    assert is_kerasvision_run(copy)
    with RunWriter.create(copy, overwrite=True) as run:
        run.record({"kind": "classifier"})
        run.save_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
        run.publish()
    assert is_kerasvision_run(copy) and not (copy / "splits").exists()


def test_a_new_run_holds_the_run_marker(tmp_path):
    from kerasvision._files import read_marker

    with RunWriter.create(tmp_path / "run") as run:
        run.record({"kind": "classifier"})
        run.save_model(keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)]))
        run.publish()
    assert read_marker(tmp_path / "run", "run")["pid"] == os.getpid()


def test_an_output_may_not_be_an_input_run(tiny_run, tmp_path):
    run = tiny_run[0]
    for output in (run, run.parent):
        with pytest.raises(ValueError, match="is \\(or contains\\) the input run"):
            RunWriter.plan(output, overwrite=True, inputs=[run])


def test_damaged_runs_fail_with_one_line_naming_the_file(tiny_run, tmp_path):
    copy = tmp_path / "run"
    shutil.copytree(tiny_run[0], copy)
    (copy / "labels.txt").write_text("ant\nbee\n")
    with pytest.raises(ValueError, match="labels.txt names 2 classes but the model"):
        _ = load_run(copy).model
    info = json.loads((copy / "run.json").read_text())
    (copy / "run.json").write_text(
        json.dumps({k: v for k, v in info.items() if k != "data"})
    )
    with pytest.raises(ValueError, match="run.json has no data record"):
        load_run(copy)
    (copy / "run.json").write_text('{"kerasvision_version": ')
    with pytest.raises(ValueError, match="run.json is not valid JSON"):
        load_run(copy)
    (copy / "run.json").write_text(json.dumps(info))
    (copy / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(ValueError, match="model.keras is damaged or not a .keras"):
        _ = load_run(copy).model


def test_a_damaged_checkpoint_state_is_named(tmp_path):
    partial = tmp_path / ".run.partial"
    (partial / "checkpoints").mkdir(parents=True)
    (partial / "run.json").write_text("{}")
    (partial / "checkpoints" / "state.json").write_text('{"epoch": "three"}')
    with pytest.raises(ValueError, match="state.json is damaged \\(epoch 'three'\\)"):
        RunWriter.resume(tmp_path / "run")
    assert not (partial / LOCK_FILE).exists()


def test_changed_data_is_named(tiny_run, tmp_path):
    from types import SimpleNamespace

    from kerasvision.runs import data_change

    run = load_run(tiny_run[0])
    digests = dict(
        line.rstrip("\n").split("  ", 1)[::-1]
        for line in open(tiny_run[0] / "digests.txt")
    )
    same = SimpleNamespace(
        fingerprint=run.info["data"]["fingerprint"], file_digests=digests
    )
    assert data_change(run, same) is None
    first, second = sorted(digests)[:2]
    changed = {**digests, first: "0" * 64}
    del changed[second]
    now = SimpleNamespace(fingerprint="other", file_digests={**changed, "new.png": "1"})
    line = data_change(run, now)
    assert f"1 changed, 1 missing, 1 new: {first}, {second}, new.png" in line
