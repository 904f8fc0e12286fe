"""MLflow tracking: `fit --track` logs to a real local tracking server."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kerasvision.cli import main
from kerasvision.tracking import params_of, parse_track

mlflow = pytest.importorskip("mlflow")

TINY = ["--classes", "0,1,2", "--model-arg", "filters=(4,)", "--model-arg",
        "dense_units=()", "--epochs", "2", "--batch-size", "16", "--lr", "0.01",
        "--seed", "0"]  # fmt: skip


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="session")
def mlflow_server(tmp_path_factory):
    """A real MLflow tracking server on 127.0.0.1 (SQLite store, artifacts
    served from a temporary folder), shared by the tests of this module."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = _free_port()
    command = [
        sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1",
        "--port", str(port), "--workers", "1",
        "--backend-store-uri", f"sqlite:///{root / 'mlflow.db'}",
        "--artifacts-destination", str(root / "artifacts"),
    ]  # fmt: skip
    # No background job runner: the tests need tracking and artifacts only.
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with open(root / "server.log", "wb") as output:
        server = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT,
                                  env=env, cwd=root,
                                  start_new_session=True)  # fmt: skip
    uri = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while True:
            try:
                with urllib.request.urlopen(f"{uri}/health", timeout=2):
                    break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    log = (root / "server.log").read_text(errors="replace")[-2000:]
                    pytest.fail(f"mlflow server did not start:\n{log}")
                time.sleep(0.5)
        yield uri
    finally:  # the server and the worker process it started: its own group
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def _invoke(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def test_parse_track():
    assert parse_track("mlflow") == ("mlflow", None)
    assert parse_track("mlflow:http://127.0.0.1:5000") == (
        "mlflow",
        "http://127.0.0.1:5000",
    )
    for bad in ("wandb", "mlflow:", ""):
        with pytest.raises(ValueError, match="--track must be mlflow"):
            parse_track(bad)


def test_params_are_text_within_mlflow_limits():
    params = dict(params_of({"lr": 0.001, "model_kwargs": {"filters": [4]},
                             "seed": None, "augment": "x" * 9000}))  # fmt: skip
    assert params["lr"] == "0.001" and params["seed"] == "null"
    assert json.loads(params["model_kwargs"]) == {"filters": [4]}
    assert len(params["augment"]) == 6000


@pytest.fixture(scope="module")
def tracked_run(mlflow_server, tmp_path_factory):
    root = tmp_path_factory.mktemp("tracked")
    result = _invoke(
        "fit", "--dataset", "digits", *TINY, "--output", root / "run",
        "--track", f"mlflow:{mlflow_server}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "MLflow tracking stopped" not in result.output
    assert "tracking: MLflow run" in result.output and "View run" not in result.output
    return root, json.loads((root / "run" / "run.json").read_text())


def test_fit_logs_params_epochs_files_and_model(tracked_run, mlflow_server):
    root, info = tracked_run
    record = info["tracking"]
    assert record["tracker"] == "mlflow" and record["tracking_uri"] == mlflow_server
    client = mlflow.MlflowClient(mlflow_server)
    run = client.get_run(record["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "run"
    params = run.data.params
    assert params["epochs"] == "2" and params["seed"] == "0"
    assert params["dataset"] == "digits" and params["batch_size"] == "16"
    assert json.loads(params["model_kwargs"]) == {"filters": [4], "dense_units": []}
    history = client.get_metric_history(record["run_id"], "val_accuracy")
    assert [m.step for m in history] == [0, 1]
    assert history[1].value == pytest.approx(info["overfitting"]["val_accuracy"], 1e-3)
    assert client.get_metric_history(record["run_id"], "learning_rate")
    metrics = json.loads((root / "run" / "metrics.json").read_text())
    assert run.data.metrics["test_accuracy"] == pytest.approx(metrics["accuracy"])
    files = {item.path for item in client.list_artifacts(record["run_id"])}
    assert {"run.json", "metrics.json", "history.csv", "labels.txt",
            "curves.png", "confusion_matrix.png", "splits"} <= files  # fmt: skip
    assert run.outputs.model_outputs[0].model_id in record["model_uri"]


def test_logged_model_predicts_the_classes_of_kerasvision_predict(
    tracked_run, mlflow_server, tmp_path
):
    root, info = tracked_run
    from kerasvision.data.datasets import load_builtin

    images, _, _ = load_builtin("digits")
    paths = []
    for index in range(12):
        path = tmp_path / f"digit_{index}.png"
        Image.fromarray(images[index * 7, :, :, 0]).save(path)
        paths.append(path)
    predicted = _invoke("predict", root / "run", *paths, "--format", "json")
    assert predicted.exit_code == 0, predicted.output
    expected = [record["class_name"] for record in json.loads(predicted.output)]

    mlflow.set_tracking_uri(mlflow_server)
    try:
        served = mlflow.pyfunc.load_model(info["tracking"]["model_uri"])
    finally:
        mlflow.set_tracking_uri(None)
    batch = np.stack([images[index * 7] for index in range(12)]).astype("float32")
    probabilities = np.asarray(served.predict(batch))
    names = served.metadata.metadata["class_names"]
    assert [names[i] for i in probabilities.argmax(axis=1)] == expected


def test_an_unreachable_server_is_one_warning_and_the_fit_goes_on(tmp_path):
    uri = f"http://127.0.0.1:{_free_port()}"  # nothing listens there
    result = _invoke(
        "fit", "--dataset", "digits", *TINY, "--output", tmp_path / "run",
        "--no-calibrate", "--track", f"mlflow:{uri}",
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if "MLflow" in line]
    assert len(warnings) == 1 and uri in warnings[0], result.output
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["status"] == "complete" and "tracking" not in info


def test_track_misuse_is_one_line(tmp_path):
    result = _invoke("fit", "--dataset", "digits", "--track", "wandb")
    assert result.exit_code == 2, result.output
    assert "--track must be mlflow" in result.output
    assert "Traceback" not in result.output


class _Interrupt(Exception):
    pass


def test_a_resumed_run_goes_on_logging_to_its_mlflow_run(tmp_path):
    import kerasvision

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    options = dict(dataset="digits", classes="0,1,2", epochs=3, seed=0, batch_size=16,
                   model_kwargs={"filters": (4,), "dense_units": ()}, export=False,
                   calibrate=False, output=str(tmp_path / "run"))  # fmt: skip

    def stop_in_epoch_2(line):
        if line.startswith("epoch 2/"):  # epoch 1 is checkpointed; 2 is not
            raise _Interrupt

    with pytest.raises(_Interrupt):
        kerasvision.fit(**options, track=f"mlflow:{uri}", verbose=2,
                        log=stop_in_epoch_2)  # fmt: skip
    partial = json.loads((tmp_path / ".run.partial" / "run.json").read_text())
    client = mlflow.MlflowClient(uri)
    run_id = partial["tracking"]["run_id"]
    assert client.get_run(run_id).info.status == "FAILED"
    kerasvision.fit(resume=True, output=options["output"], verbose=0,
                    log=lambda line: None)  # fmt: skip
    assert client.get_run(run_id).info.status == "FINISHED"
    steps = [m.step for m in client.get_metric_history(run_id, "val_accuracy")]
    assert steps == [0, 1, 2]
    info = json.loads((tmp_path / "run" / "run.json").read_text())
    assert info["tracking"]["run_id"] == run_id and info["tracking"]["model_uri"]
