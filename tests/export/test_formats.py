"""kerasvision.export.formats: every registered format, exported from a run."""

import importlib.util
import json
import shutil
import subprocess
import sys

import pytest

from kerasvision.export import (
    EXPORT_FORMAT_NAMES,
    EXPORT_FORMATS,
    export_run,
    is_export,
)
from kerasvision.export.formats import RUN_OPTIONS, describe_export, format_help
from kerasvision.export.model_card import read_front_matter
from kerasvision.runs import load_run

#: A value other than the default of each per-format option of `export_run`.
SET_OPTIONS = {
    "quantize": "float16",
    "representative": 8,
    "min_confidence": 0.5,
    "tta": "flip",
}


@pytest.fixture(scope="module")
def run_copy(tiny_run, tmp_path_factory):
    path = tmp_path_factory.mktemp("formats") / "run"
    shutil.copytree(tiny_run[0], path)
    return path


def test_every_option_of_export_run_is_described():
    assert set(SET_OPTIONS) == set(RUN_OPTIONS)
    for entry in EXPORT_FORMATS.values():
        assert set(entry.options) <= set(RUN_OPTIONS), entry.name
    assert EXPORT_FORMAT_NAMES == tuple(EXPORT_FORMATS)
    assert EXPORT_FORMAT_NAMES[0] == "savedmodel"  # export_run's default


@pytest.mark.parametrize("name", list(EXPORT_FORMATS), ids=list(EXPORT_FORMATS))
def test_each_format_exports_a_run_and_records_it(run_copy, name):
    entry = EXPORT_FORMATS[name]
    missing = [
        m for m in entry.packages if importlib.util.find_spec(m.split(".")[0]) is None
    ]
    if missing:
        pytest.skip(f"pip install 'kerasvision[{entry.extra}]' ({', '.join(missing)})")
    for option in sorted(set(RUN_OPTIONS) - set(entry.options)):
        with pytest.raises(ValueError, match="applies to --format .* only"):
            export_run(run_copy, format=name, **{option: SET_OPTIONS[option]})
    report = export_run(run_copy, format=name)
    defaults = dict(RUN_OPTIONS)
    destination = run_copy / entry.default_name.format(**defaults)
    assert report["path"] == str(destination) and is_export(destination)
    assert report["format"] == name
    recorded = load_run(run_copy).info["exports"][entry.record_key.format(**defaults)]
    assert recorded["path"] == str(destination) and recorded["format"] == name
    assert describe_export(report).startswith("exported ")
    # Every export writes a model card whose metrics are the run's metrics.json.
    card = read_front_matter(report["model_card"])
    metrics = json.loads((run_copy / "metrics.json").read_text())
    assert card["library_name"] == "kerasvision"
    assert card["metrics"] == {
        k: metrics[k] for k in ("accuracy", "top5_accuracy", "loss") if k in metrics
    }
    assert card["classes"] == load_run(run_copy).class_names
    assert name in format_help()
    if entry.extra is not None:
        assert f"pip install 'kerasvision[{entry.extra}]'" in format_help()


def test_an_unknown_format_is_refused_with_the_names(run_copy):
    with pytest.raises(ValueError, match="format must be one of") as raised:
        export_run(run_copy, format="coreml")
    assert all(name in str(raised.value) for name in EXPORT_FORMAT_NAMES)


def test_the_registry_imports_no_tensorflow():
    """The CLI builds `--format` from it: `kerasvision --help` stays fast."""
    code = (
        "import json, sys\n"
        "from kerasvision.export.formats import EXPORT_FORMAT_NAMES\n"
        "print(json.dumps([list(EXPORT_FORMAT_NAMES), "
        "sorted(m for m in ('tensorflow', 'keras') if m in sys.modules)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    names, heavy = json.loads(done.stdout)
    assert names == list(EXPORT_FORMAT_NAMES) and heavy == []
