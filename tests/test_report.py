"""The HTML run report: one self-contained file, every section, a real screenshot."""

from __future__ import annotations

import base64
import io
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest
from PIL import Image

from kerasvision.report import write_report


@pytest.fixture(scope="module")
def report_run(tiny_run):
    """The shared tiny run (3 classes, one corrupt file, 1 epoch, no export)."""
    return tiny_run[0]


@pytest.fixture(scope="module")
def report_html(report_run):
    path = write_report(report_run)
    with open(path, encoding="utf-8") as stream:
        return path, stream.read()


def test_report_is_one_self_contained_html_file(report_run, report_html):
    path, page = report_html
    assert path == os.path.join(str(report_run), "report.html")
    assert page.startswith("<!DOCTYPE html>")
    sources = re.findall(r"""\bsrc\s*=\s*["']([^"']*)""", page)
    links = re.findall(r"""\bhref\s*=\s*["']([^"']*)""", page)
    # curves, confusion, per-class, top losses, reliability before (and after)
    # the temperature
    calibrated = json.loads((report_run / "run.json").read_text())["calibration"]
    assert len(sources) == 5 + (calibrated["temperature"] != 1.0)
    assert all(s.startswith("data:image/png;base64,") for s in sources)
    assert all(link.startswith("#") for link in links)  # in-page anchors only
    for marker in ("<script", "<link", "<iframe", "@import", "url(", "http://"):
        assert marker not in page.lower()
    assert "https://" not in page
    for source in sources:
        payload = base64.b64decode(source.split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(payload)) as image:
            assert image.format == "PNG" and image.size[0] > 100


def test_report_holds_every_section(report_run, report_html):
    _, page = report_html
    info = json.loads((report_run / "run.json").read_text())
    for anchor in (
        "data",
        "training",
        "metrics",
        "confusion",
        "per-class",
        "top-losses",
        "calibration",
        "run",
    ):
        assert f'id="{anchor}"' in page
    for name in ("ant", "bee", "cow"):
        assert f"<td>{name}</td>" in page
    assert "broken.png" in page and "1 bad file(s) skipped" in page
    assert "Expected calibration error" in page and "Grad-CAM overlay" in page
    assert info["versions"]["tensorflow"] in page and "batch_size" in page
    assert f"{info['metrics']['accuracy'] * 100:.2f}%" in page


def test_output_option_top_losses_and_atomic_write(report_run, tmp_path):
    before = set(os.listdir(report_run))
    target = tmp_path / "elsewhere.html"
    path = write_report(str(report_run), output=target, top_losses=0)
    assert path == str(target) and target.is_file()
    assert "Left out (top_losses=0)" in target.read_text()
    assert set(os.listdir(report_run)) == before  # nothing else written in RUN
    assert os.listdir(tmp_path) == ["elsewhere.html"]  # no temp file left over
    with pytest.raises(FileNotFoundError, match="output folder not found"):
        write_report(report_run, output=tmp_path / "missing" / "r.html")
    with pytest.raises(ValueError, match="top_losses"):
        write_report(report_run, top_losses=-1)
    with pytest.raises(FileNotFoundError, match="run directory not found"):
        write_report(tmp_path / "no-run")


def test_report_without_the_data_says_why(report_run, tmp_path):
    moved = tmp_path / "run"
    shutil.copytree(report_run, moved)
    info = json.loads((moved / "run.json").read_text())
    info["data"]["source"]["path"] = str(tmp_path / "gone")
    (moved / "run.json").write_text(json.dumps(info))
    page = open(write_report(moved), encoding="utf-8").read()
    assert page.count("Not available: the run&#x27;s data could not be loaded") == 2
    assert 'id="metrics"' in page and "data:image/png;base64," in page


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(
    _chromium() is None,
    reason="headless Chromium not installed (apt-get install -y chromium)",
)
def test_report_renders_in_headless_chromium(report_html, tmp_path):
    path, _ = report_html
    screenshot = tmp_path / "report.png"
    subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            f"--screenshot={screenshot}",
            "--window-size=1200,3000",
            f"file://{os.path.abspath(path)}",
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    with Image.open(screenshot) as image:
        assert image.size == (1200, 3000)
        pixels = np.asarray(image.convert("L"), dtype="float32")
    # A blank (or error) page is one flat color: std 0-2. The report's dark
    # header, section cards and plots measure 40+; 15 leaves a wide margin
    # while still failing for a page that did not render its content.
    assert pixels.std() > 15, pixels.std()
    # The dark header is drawn at the top (CSS applied, not raw text).
    assert pixels[40:120, 100:1100].mean() < 80
