"""fit(distribute=...): TF_CONFIG parsing, MirroredStrategy, two real workers."""

import csv
import json
import os
import signal
import socket
import subprocess
import sys
import time

import numpy as np
import pytest

import kerasvision
from kerasvision.distribute import make_distribution, parse_tf_config
from kerasvision.models.heads import serving_model
from kerasvision.saving import load_model

# Digits with these fractions leaves exactly 1,024 training images (checked below),
# 16 global batches of 64: every batch splits 32 + 32 across two workers, so the
# distributed gradient (mean of two 32-image means) is the single-process one.
SPLITS = {"val_split": 0.2, "test_split": 0.23}
BATCH = 64
SEED = 0
MODEL = {"filters": (4, 8), "dropout_rate": 0.0}  # dropout masks are per replica


def _config(ports, index):
    return json.dumps(
        {
            "cluster": {"worker": [f"127.0.0.1:{port}" for port in ports]},
            "task": {"type": "worker", "index": index},
        }
    )


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    try:
        for item in sockets:
            item.bind(("127.0.0.1", 0))
        return [item.getsockname()[1] for item in sockets]
    finally:
        for item in sockets:
            item.close()


def _start_workers(tmp_path, arguments, count=2, tag="w"):
    """`kerasvision fit ...` once per worker; each gets its own TMPDIR to inspect."""
    ports = _free_ports(count)
    processes = []
    for index in range(count):
        scratch = tmp_path / f"{tag}{index}-tmp"
        scratch.mkdir()
        env = dict(
            os.environ,
            TF_CONFIG=_config(ports, index),
            TF_CPP_MIN_LOG_LEVEL="3",
            TMPDIR=str(scratch),
        )
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "kerasvision", "fit", *arguments],
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    return processes


def _finish(processes, timeout=240):
    """Wait for every worker; always leaves none running."""
    outputs = []
    try:
        deadline = time.time() + timeout
        for process in processes:
            remaining = max(1.0, deadline - time.time())
            outputs.append(process.communicate(timeout=remaining))
    finally:
        _kill(processes)
    return outputs


def _kill(processes):
    for process in processes:
        if process.poll() is None:
            process.kill()
            process.communicate()


def _cli_arguments(output, epochs=2):
    return [
        "--dataset",
        "digits",
        "--distribute",
        "multiworker",
        "--model-arg",
        "filters=(4, 8)",
        "--dropout-rate",
        "0",
        "--epochs",
        str(epochs),
        "--batch-size",
        str(BATCH),
        "--val-split",
        str(SPLITS["val_split"]),
        "--test-split",
        str(SPLITS["test_split"]),
        "--seed",
        str(SEED),
        "--output",
        str(output),
    ]


def _max_weight_difference(first, second):
    pairs = zip(first.get_weights(), second.get_weights(), strict=True)
    return max(float(np.max(np.abs(a - b))) for a, b in pairs)


# === TF_CONFIG ===


@pytest.mark.parametrize(
    ("config", "chief", "workers"),
    [
        ("", True, 1),
        (_config([1, 2], 0), True, 2),
        (_config([1, 2], 1), False, 2),
        (
            '{"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, '
            '"task": {"type": "worker", "index": 0}}',
            False,
            2,
        ),
        (
            '{"cluster": {"chief": ["a:1"], "worker": ["b:2"]}, '
            '"task": {"type": "chief", "index": 0}}',
            True,
            2,
        ),
    ],
    ids=["unset", "worker0", "worker1", "worker-with-chief", "chief"],
)
def test_parse_tf_config_finds_the_chief(config, chief, workers):
    task = parse_tf_config(config)
    assert task.is_chief is chief and task.num_workers == workers


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("{not json", "not valid JSON"),
        ('{"cluster": {}}', "TF_CONFIG must be"),
        (_config([1, 2], 2), "outside the 2 worker"),
        ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps"}}', "'worker' or"),
    ],
    ids=["json", "no-task", "index", "ps"],
)
def test_parse_tf_config_rejects_bad_values(config, message):
    with pytest.raises(ValueError, match=message):
        parse_tf_config(config)


def test_unknown_mode_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="distribute must be one of"):
        make_distribution("horovod")
    with pytest.raises(ValueError, match="distribute must be one of"):
        kerasvision.fit(dataset="digits", distribute="ring", output=str(tmp_path))


def test_multiworker_needs_a_fresh_process(monkeypatch):
    # TensorFlow is running in this (pytest) process already: collective ops can
    # no longer be configured, which must be one clear ValueError.
    import tensorflow as tf

    tf.constant(1.0)  # the runtime has started
    monkeypatch.setenv("TF_CONFIG", _config(_free_ports(2), 0))
    with pytest.raises(ValueError, match="fresh process"):
        make_distribution("multiworker")


# === MirroredStrategy on this machine's one CPU device ===


def test_mirrored_on_one_cpu_matches_single_process(tmp_path):
    common = {
        "dataset": "digits",
        "model_kwargs": MODEL,
        "epochs": 1,
        "batch_size": BATCH,
        "seed": SEED,
        "verbose": 0,
        **SPLITS,
    }
    plain = kerasvision.fit(output=str(tmp_path / "plain"), export=False, **common)
    mirrored = kerasvision.fit(
        output=str(tmp_path / "mirrored"), distribute="mirrored", **common
    )
    # One replica: the same batches and the same ops, so the same weights; 1e-6
    # only allows for a different fusion of the same float32 sums.
    assert _max_weight_difference(plain.model, mirrored.model) <= 1e-6
    info = json.loads((tmp_path / "mirrored" / "run.json").read_text())
    assert info["arguments"]["distribute"] == "mirrored"
    assert info["distribution"]["replicas"] == 1 and info["distribution"]["is_chief"]
    assert mirrored.distribution["mode"] == "mirrored"
    assert (tmp_path / "mirrored" / "serving" / "saved_model.pb").exists()
    assert "distribution" not in json.loads(
        (tmp_path / "plain" / "run.json").read_text()
    )


# === Two real workers on 127.0.0.1 ===


def test_two_workers_train_like_one_process(tmp_path):
    import tensorflow as tf

    from kerasvision.data.datasets import load_builtin

    _, labels, _ = load_builtin("digits")
    train = kerasvision.load_data(dataset="digits", seed=SEED, **SPLITS)
    assert len(train.splits["train"]) % BATCH == 0 and len(labels) == 1797

    output = tmp_path / "runs" / "mw"
    processes = _start_workers(tmp_path, _cli_arguments(output))
    try:
        # The single-process reference trains meanwhile (same seed, global batch).
        reference = kerasvision.fit(
            dataset="digits",
            model_kwargs=MODEL,
            epochs=2,
            batch_size=BATCH,
            seed=SEED,
            output=str(tmp_path / "reference"),
            export=False,  # the chief's export is compared with its model below
            verbose=0,
            **SPLITS,
        )
        outputs = _finish(processes)
    finally:
        _kill(processes)
    for process, (_, stderr) in zip(processes, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
    assert f"run written to {output}" in outputs[0][0]
    assert "worker worker:1 done; the chief writes the run" in outputs[1][0]
    # Only the chief's run exists; the non-chief's scratch folder is gone.
    assert sorted(os.listdir(output.parent)) == ["mw"]
    assert os.listdir(tmp_path / "w1-tmp") == []

    info = json.loads((output / "run.json").read_text())
    assert info["status"] == "complete"
    assert info["distribution"] == {
        "mode": "multiworker",
        "replicas": 2,
        "workers": 2,
        "task": "worker:0",
        "is_chief": True,
    }
    chief = load_model(str(output / "model.keras"))
    # DATA sharding gives worker i half i of every global batch and the gradients
    # are summed across workers, so each step is the single-process step; what
    # differs is only the order of float32 sums (two 32-image sums added after an
    # all-reduce instead of one 64-image sum), ~1e-7 relative per step. Measured:
    # 6e-8 after 32 Adam steps. 1e-5 leaves room for that drift while a real
    # mistake (other batches, a missing all-reduce, an epoch's shuffle shifted)
    # moves weights by 1e-3 to 1e-2.
    assert _max_weight_difference(chief, reference.model) <= 1e-5

    serving = tf.saved_model.load(str(output / "serving"))
    images = np.asarray(
        next(iter(train.dataset("test", batch_size=16, include_labels=False)))
    )
    served = serving.signatures["serving_default"](images=tf.constant(images))
    recorded = json.loads((output / "run.json").read_text())["calibration"]
    calibrated = serving_model(reference.model, temperature=recorded["temperature"])
    expected = calibrated.predict(images, verbose=0)  # what the export serves
    np.testing.assert_allclose(served["probabilities"].numpy(), expected, atol=1e-4)


@pytest.mark.slow  # two more multi-process runs: minutes on 2 cores
def test_a_failing_chief_stops_the_other_worker_with_one_line(tmp_path):
    output = tmp_path / "taken"
    output.mkdir()
    (output / "keep.txt").write_text("not a run")
    processes = _start_workers(tmp_path, _cli_arguments(output, epochs=1))
    (_, chief_err), (_, worker_err) = _finish(processes, timeout=120)
    assert processes[0].returncode == 2
    assert chief_err.strip().splitlines()[-1].startswith(f"Error: output {output}")
    assert processes[1].returncode == 1
    last = worker_err.strip().splitlines()[-1]
    assert last.startswith("Error: worker 1 lost contact with the other workers")
    assert "Traceback" not in worker_err
    assert os.listdir(tmp_path / "w1-tmp") == []
    assert os.listdir(output) == ["keep.txt"]


@pytest.mark.slow  # two more multi-process runs: minutes on 2 cores
def test_restarted_workers_resume_from_the_chiefs_checkpoint(tmp_path):
    output = tmp_path / "runs" / "killed"
    state = tmp_path / "runs" / ".killed.partial" / "checkpoints" / "state.json"
    processes = _start_workers(tmp_path, _cli_arguments(output, epochs=3))
    try:
        deadline = time.time() + 180
        while time.time() < deadline and all(p.poll() is None for p in processes):
            if state.exists() and json.loads(state.read_text())["epoch"] >= 1:
                break
            time.sleep(0.05)
        assert all(p.poll() is None for p in processes), processes[0].stderr.read()
        for process in processes:  # the whole worker set goes down
            process.send_signal(signal.SIGKILL)
        for process in processes:
            process.wait(timeout=30)
    finally:
        _kill(processes)
    done = json.loads(state.read_text())["epoch"]
    assert 1 <= done < 3 and not output.exists()

    resume = ["--resume", "--distribute", "multiworker", "--output", str(output)]
    restarted = _start_workers(tmp_path, resume, tag="r")
    outputs = _finish(restarted)
    for process, (_, stderr) in zip(restarted, outputs, strict=True):
        assert process.returncode == 0, stderr[-3000:]
        assert f"from epoch {done}" in stderr
    with open(output / "history.csv") as stream:
        assert [int(row["epoch"]) for row in csv.DictReader(stream)] == [0, 1, 2]
    info = json.loads((output / "run.json").read_text())
    assert info["status"] == "complete" and info["resumed"][0]["epoch"] == done
    assert sorted(os.listdir(output.parent)) == ["killed"]
    assert os.listdir(tmp_path / "r1-tmp") == []
