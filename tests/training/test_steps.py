"""The README's "Step by step" example runs as written and equals `fit`."""

import contextlib
import io
import os
import re

import pytest

import kerasvision

README = os.path.join(os.path.dirname(__file__), "..", "..", "README.md")


def _step_by_step_code() -> str:
    text = open(README, encoding="utf-8").read()
    section = text.split("### Step by step", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_readme_step_by_step_equals_fit(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        exec(compile(_step_by_step_code(), "README step by step", "exec"), {})
    match = re.search(r"test accuracy ([\d.]+), loss ([\d.]+)", printed.getvalue())
    assert match, printed.getvalue()
    run = kerasvision.load_run(str(tmp_path / "saved_models" / "step-by-step"))
    assert run.info["status"] == "complete"
    one_call = kerasvision.fit(
        dataset="digits",
        epochs=3,
        seed=1,
        output=str(tmp_path / "fit"),
        verbose=0,
        export=False,  # the step-by-step run exports; the metrics are compared
    )
    assert float(match.group(2)) == pytest.approx(one_call.metrics["loss"], abs=1e-6)
    # printed with 4 decimals
    assert float(match.group(1)) == pytest.approx(
        one_call.metrics["accuracy"], abs=5e-5
    )
