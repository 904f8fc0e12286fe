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


@pytest.fixture(scope="module")
def tempered_run(tiny_run, tmp_path_factory):
    """A copy of the tiny run serving a temperature of 1.7 (calibrated and raw
    probabilities differ)."""
    from kerasvision.runs import load_run

    path = tmp_path_factory.mktemp("tempered") / "run"
    shutil.copytree(tiny_run[0], path)
    load_run(path).record(calibration={"temperature": 1.7, "fitted_on": "val"})
    return path


def test_one_image_shows_one_probability_everywhere(tempered_run, tmp_path):
    """`predict`, the Grad-CAM title of `visualize` and the report's top-loss
    tile and table all show the served (calibrated) probability."""
    from kerasvision.evaluation import predict
    from kerasvision.runs import load_run
    from kerasvision.visualization.pictures import visualize_run

    page = open(write_report(tempered_run, output=tmp_path / "r.html")).read()
    row = re.search(
        r"<tr><td>1</td><td>([^<]+)</td><td>([^<]+)</td><td>([^<]+)</td>"
        r"<td>([^<]+)</td>",
        page,
    )
    image, _, predicted, shown = row.groups()
    root = load_run(tempered_run).info["data"]["source"]["path"]
    served = predict(tempered_run, [os.path.join(root, image)])[0]
    assert served["class_name"] == predicted
    assert f"{served['probability']:.3f}" == shown
    tiles = re.search(r'alt="top losses" src="data:image/png;base64,([^"]+)"', page)
    with Image.open(io.BytesIO(base64.b64decode(tiles.group(1)))) as picture:
        assert f"pred {predicted} ({shown})" in picture.text["Description"]
    (written,) = visualize_run(
        tempered_run, [os.path.join(root, image)], kind="gradcam", output=tmp_path
    )
    with Image.open(written) as picture:
        title = picture.text["Title"]
    assert f"p({predicted}) = {shown} (calibrated)" in title
    run = load_run(tempered_run)
    _, pixels = run.load_images([os.path.join(root, image)])
    raw = run.model.predict(pixels, verbose=0)
    assert f"{raw.max():.3f}" != shown  # the temperature does change it


def test_header_pairs_each_metric_with_its_calibration_state(tempered_run, tmp_path):
    page = open(write_report(tempered_run, output=tmp_path / "r.html")).read()
    assert "test loss, calibrated (T = 1.7)" in page
    assert "test ECE, calibrated (T = 1.7)" in page
    assert "probabilities calibrated (T = 1.7), as predict serves them" in page


def test_arguments_table_shows_only_what_applies(report_run):
    page = open(write_report(report_run), encoding="utf-8").read()
    arguments = page.split("<h3>Arguments</h3>")[1].split("</table>")[0]
    assert "<td>epochs</td>" in arguments and "<td>model</td>" in arguments
    for name in ("mode", "weights", "backbone", "unfreeze", "latent_dim"):
        assert f"<td>{name}</td>" not in arguments  # a scratch run's


def test_report_names_a_transfer_runs_backbone():
    from kerasvision.report import _model_label

    transfer = {"name": "transfer", "backbone": "mobilenet_v2", "mode": "fine-tune"}
    assert _model_label(transfer) == "mobilenet_v2 (fine-tune)"
    assert _model_label({"name": "lenet5"}) == "lenet5"


def test_multilabel_report_shows_labels_curves_and_losses(multilabel_run, tmp_path):
    run_dir, _ = multilabel_run
    html = open(write_report(run_dir, output=str(tmp_path / "r.html"), top_losses=2),
                encoding="utf-8").read()  # fmt: skip
    for anchor in ("data", "metrics", "per-label", "pr-curves", "top-losses", "run"):
        assert f'id="{anchor}"' in html, anchor
    assert html.count("data:image/png;base64,") >= 4  # curves, cooc, PR, losses
    for words in ("mAP", "micro-F1", "subset accuracy", "threshold", "temperature"):
        assert words in html, words
