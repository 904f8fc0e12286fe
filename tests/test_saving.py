"""A run's model.keras loads in plain Keras (no kerasvision import) and agrees
with `kerasvision predict`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

_PLAIN_KERAS = """
import json, sys
import keras
import numpy as np
model = keras.saving.load_model(sys.argv[1])
images = np.load(sys.argv[2])
top = np.argmax(model.predict(images, verbose=0), axis=-1)
loaded = sorted(m for m in sys.modules if m.split(".")[0] == "kerasvision")
print(json.dumps({"top": top.tolist(), "kerasvision": loaded,
                  "compiled": model.compiled}))
"""


def _plain_keras_top1(run_dir, tmp_path):
    """Top-1 of the run's model.keras on its test images, in a fresh process
    that imports only Keras; and `kerasvision.predict`'s top-1 on the files."""
    from kerasvision import predict
    from kerasvision.runs import load_run

    run = load_run(run_dir)
    data = run.data()
    images, _ = data.arrays("test")
    np.save(tmp_path / "images.npy", images)
    paths = list(data.splits["test"].paths)
    assert len(paths) == len(images) > 0
    out = subprocess.run(
        [sys.executable, "-c", _PLAIN_KERAS, str(run_dir / "model.keras"),
         str(tmp_path / "images.npy")],
        capture_output=True, text=True, check=True,
        env={"TF_CPP_MIN_LOG_LEVEL": "3", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["kerasvision"] == [] and result["compiled"] is False
    names = run.class_names
    expected = [names.index(row["class_name"]) for row in predict(run_dir, paths)]
    return result["top"], expected


def test_default_scratch_run_loads_in_plain_keras(tiny_run, tmp_path):
    run_dir, _ = tiny_run
    top, expected = _plain_keras_top1(run_dir, tmp_path)
    assert top == expected


@pytest.mark.parametrize("mode", ["feature-extraction"])
def test_transfer_run_loads_in_plain_keras(tiny_run, tmp_path, mode):
    from kerasvision.training import fit

    _, paths = tiny_run
    data = paths[0].rsplit("/", 2)[0]
    fit(data, backbone="mobilenet_v2", weights="none", image_size=32, epochs=1,
        mode=mode, seed=0, export=False, output=str(tmp_path / "run"), verbose=0,
        log=lambda line: None)  # fmt: skip
    top, expected = _plain_keras_top1(tmp_path / "run", tmp_path)
    assert top == expected
