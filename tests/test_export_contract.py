"""The SavedModel serving contract, read by TensorFlow's own `saved_model_cli`.

The README's "Serving" section documents both signatures; this checks them as
TensorFlow Serving sees them (names, dtypes, shapes), and runs one.
"""

import os
import re
import shutil
import subprocess
import sys

import numpy as np
import pytest

from kerasvision.export import export_saved_model
from kerasvision.models.heads import serving_model
from kerasvision.runs import load_run

#: The README's contract: signature -> {"inputs"/"outputs": {name: (dtype, shape)}}.
CONTRACT = {
    "serving_default": {
        "inputs": {"images": ("DT_FLOAT", "(-1, H, W, C)")},
        "outputs": {"probabilities": ("DT_FLOAT", "(-1, K)")},
    },
    "serving_bytes": {
        "inputs": {"image_bytes": ("DT_STRING", "(-1)")},
        "outputs": {
            "probabilities": ("DT_FLOAT", "(-1, K)"),
            "class_index": ("DT_INT64", "(-1)"),
            "class_name": ("DT_STRING", "(-1)"),
        },
    },
}


def _cli():
    """The console script, else the module (same code)."""
    script = shutil.which("saved_model_cli")
    return [script] if script else [sys.executable, "-m", _MODULE]


_MODULE = "tensorflow.python.tools.saved_model_cli"


def _signatures(text):
    """`saved_model_cli show --all` -> {signature: {"inputs"/"outputs": {...}}}."""
    found = {}
    blocks = re.split(r"^signature_def\['([^']+)'\]:$", text, flags=re.M)
    for name, body in zip(blocks[1::2], blocks[2::2], strict=True):
        entries = re.findall(
            r"(inputs|outputs)\['([^']+)'\] tensor_info:\s+dtype: (\w+)\s+shape: "
            r"([^\n]+)",
            body,
        )
        found[name] = {"inputs": {}, "outputs": {}}
        for kind, key, dtype, shape in entries:
            found[name][kind][key] = (dtype, shape.strip())
    return found


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    run = load_run(tiny_run[0])
    path = tmp_path_factory.mktemp("contract") / "serving"
    export_saved_model(
        serving_model(run.model, temperature=run.temperature),
        path,
        class_names=run.class_names,
        resize=run.resize,
    )
    return run, str(path)


def test_saved_model_cli_sees_the_documented_signatures(exported, tmp_path):
    run, path = exported
    height, width = run.image_size
    sizes = {"H": height, "W": width, "C": run.channels, "K": len(run.class_names)}
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    sample = np.full((2, height, width, run.channels), 128.0).tolist()
    processes = [  # both at once: each pays TensorFlow's import
        subprocess.Popen(
            [*_cli(), *arguments],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for arguments in (
            ["show", "--dir", path, "--all"],
            [
                "run",
                "--dir",
                path,
                "--tag_set",
                "serve",
                "--signature_def",
                "serving_default",
                "--input_exprs",
                f"images={sample}",
            ],
        )  # fmt: skip
    ]
    (shown, shown_err), (ran, ran_err) = (p.communicate(timeout=300) for p in processes)
    assert processes[0].returncode == 0, shown_err[-2000:]
    assert processes[1].returncode == 0, ran_err[-2000:]
    signatures = _signatures(shown)
    for name, contract in CONTRACT.items():
        for kind in ("inputs", "outputs"):
            expected = {
                key: (dtype, re.sub(r"[HWCK]", lambda m: str(sizes[m[0]]), shape))
                for key, (dtype, shape) in contract[kind].items()
            }
            assert signatures[name][kind] == expected, (name, kind)
    assert "Result for output key probabilities" in ran
    values = np.array(
        [float(v) for v in re.findall(r"[-+]?\d*\.\d+(?:e[-+]?\d+)?", ran)]
    )
    assert len(values) == 2 * len(run.class_names)
    np.testing.assert_allclose(values.reshape(2, -1).sum(axis=1), 1.0, atol=1e-5)
