"""The Python API prints none of TensorFlow's C++/absl log lines unless asked,
and `import kerasvision` itself has no side effect (fresh interpreters)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

#: What TensorFlow's C++ and absl logging write (e.g. "I0000 00:00:17... port.cc",
#: "E0000 ... failed call to cuInit", "W0000 ... NodeDef mentions attribute").
_TF_LOG = re.compile(
    r"^[IWEF]\d{4} |oneDNN|cuda|cuInit|absl::InitializeLog|NodeDef mentions|"
    r"retracing|cpu_feature_guard",
    re.IGNORECASE | re.MULTILINE,
)


def _python(code: str, **env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in ("TF_CPP_MIN_LOG_LEVEL", "KERASVISION_VERBOSE")}  # fmt: skip
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True,
        env={**clean, **env}, timeout=600,
    )  # fmt: skip


def test_import_has_no_side_effect():
    done = _python(
        "import os, sys, kerasvision; "
        "print('tensorflow' in sys.modules, os.environ.get('TF_CPP_MIN_LOG_LEVEL'))"
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["False", "None"]


def test_the_python_api_writes_no_tensorflow_log_line(tmp_path):
    """The README's Python calls (fit on arrays, evaluate, predict)."""
    from helpers import write_image_folder

    write_image_folder(tmp_path / "data", classes=("a", "b"), per_class=10,
                       size=(16, 16))  # fmt: skip
    code = f"""
import kerasvision
result = kerasvision.fit({str(tmp_path / "data")!r}, image_size=16, epochs=1, seed=1,
                         output={str(tmp_path / "run")!r}, verbose=0,
                         log=lambda line: None, model_kwargs={{"filters": (4, 8)}})
kerasvision.evaluate(result.run_dir)
kerasvision.predict(result.run_dir, [{str(tmp_path / "data" / "a")!r}], top_k=2)
print("done")
"""
    done = _python(code)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("done")
    assert not _TF_LOG.search(done.stderr), done.stderr[-3000:]


def test_asking_for_the_logs_leaves_tensorflow_alone():
    code = (
        "import logging, os, kerasvision; kerasvision.FitConfig; "
        "print(os.environ.get('TF_CPP_MIN_LOG_LEVEL'), "
        "logging.getLogger('tensorflow').level)"
    )
    quiet = _python(code)
    assert quiet.stdout.split() == ["3", str(logging_error())]
    verbose = _python(code, KERASVISION_VERBOSE="1")
    assert verbose.stdout.split()[0] == "None"
    assert verbose.stdout.split()[1] != str(logging_error())
    mine = _python(code, TF_CPP_MIN_LOG_LEVEL="1")  # the user's own level wins
    assert mine.stdout.split()[0] == "1"


def logging_error() -> int:
    import logging

    return logging.ERROR
