"""The `visualize` and `report` commands on a real tiny run, and their misuse."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import pytest
from click.testing import CliRunner
from PIL import Image

from kerasvision.cli.visualize import report, visualize
from kerasvision.visualization.pictures import VISUALIZATION_KINDS


@click.group()
def group():
    """Throwaway group: the lead registers the commands on `kerasvision.cli.main`."""


group.add_command(visualize)
group.add_command(report)


def _invoke(*args):
    return CliRunner().invoke(group, [str(a) for a in args], catch_exceptions=False)


@pytest.fixture(scope="module")
def cli_run(tiny_run):
    run, paths = tiny_run
    return run, paths[:2]


@pytest.mark.parametrize("kind", VISUALIZATION_KINDS)
def test_every_kind_writes_pngs(cli_run, tmp_path, kind):
    run, images = cli_run
    out = tmp_path / "out"
    result = _invoke("visualize", run, *images, "--kind", kind, "--output", out)
    assert result.exit_code == 0, result.output
    written = sorted(os.listdir(out))
    per_image = kind not in ("filters", "activation-max")
    assert len(written) == (2 if per_image else 1), written
    assert f"wrote {len(written)} file(s) to {out}" in result.output
    for name in written:
        with Image.open(out / name) as picture:
            assert picture.format == "PNG" and picture.size[0] > 100


def test_layer_and_class_options(cli_run, tmp_path):
    run, images = cli_run
    result = _invoke(
        "visualize",
        run,
        images[0],
        "--kind",
        "gradcam++",
        "--layer",
        "block1_act2",
        "--class",
        "bee",
        "--output",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path) == [f"gradcam_plus_plus_00_{Path(images[0]).stem}.png"]
    result = _invoke(
        "visualize",
        run,
        "--kind",
        "activation-max",
        "--class",
        "ant",
        "--output",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "activation_max_predictions.png").is_file()
    result = _invoke(
        "visualize",
        run,
        "--kind",
        "filters",
        "--layer",
        "block2_conv1",
        "--output",
        tmp_path,
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "filters_block2_conv1.png").is_file()


def test_report_command(cli_run, tmp_path):
    run, _ = cli_run
    result = _invoke("report", run, "--output", tmp_path / "r.html")
    assert result.exit_code == 0, result.output
    assert f"report written to {tmp_path / 'r.html'}" in result.output
    assert (tmp_path / "r.html").read_text().startswith("<!DOCTYPE html>")


@pytest.mark.parametrize(
    "arguments, fragment",
    [
        (["--kind", "gradcam", "--class", "yak"], "unknown class 'yak'"),
        (["--kind", "gradcam", "--layer", "nope"], "has no layer 'nope'"),
        (["--kind", "feature-maps", "--layer", "avg_pool"], "not feature maps"),
        (["--kind", "filters", "--class", "ant"], "a class applies to"),
        (["--kind", "saliency", "--layer", "block1_act1"], "takes no layer"),
    ],
    ids=["class", "layer", "not-spatial", "class-for-filters", "layer-for-saliency"],
)
def test_bad_options_are_one_line_errors(cli_run, tmp_path, arguments, fragment):
    run, images = cli_run
    output = tmp_path / "new" / "pictures"
    result = _invoke("visualize", run, images[0], *arguments, "--output", output)
    _assert_one_line_error(result, fragment)
    assert os.listdir(tmp_path) == []  # no empty folders left behind


def test_a_failed_call_leaves_an_existing_folder_as_it_was(cli_run, tmp_path):
    run, images = cli_run
    (tmp_path / "notes.txt").write_text("mine")
    first = _invoke(
        "visualize", run, images[0], "--kind", "saliency", "--output", tmp_path
    )
    assert first.exit_code == 0, first.output
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    again = _invoke(
        "visualize", run, *images[:2], "--kind", "gradcam", "--layer", "nope",
        "--output", tmp_path,
    )  # fmt: skip
    _assert_one_line_error(again, "has no layer 'nope'")
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_bad_paths_are_one_line_errors(cli_run, tmp_path):
    run, images = cli_run
    missing_image = _invoke(
        "visualize",
        run,
        tmp_path / "nope.png",
        "--kind",
        "gradcam",
        "--output",
        tmp_path,
    )
    _assert_one_line_error(missing_image, "image not found")
    no_images = _invoke("visualize", run, "--kind", "smoothgrad", "--output", tmp_path)
    _assert_one_line_error(no_images, "needs at least one image")
    missing_run = _invoke(
        "visualize",
        tmp_path / "no-run",
        images[0],
        "--kind",
        "gradcam",
        "--output",
        tmp_path,
    )
    _assert_one_line_error(missing_run, "run directory not found")
    (tmp_path / "fake.png").write_bytes(b"not an image")
    bad_image = _invoke(
        "visualize",
        run,
        tmp_path / "fake.png",
        "--kind",
        "gradcam",
        "--output",
        tmp_path,
    )
    _assert_one_line_error(bad_image, "fake.png")
    _assert_one_line_error(
        _invoke("report", tmp_path / "no-run"), "run directory not found"
    )
    _assert_one_line_error(
        _invoke("report", run, "--output", tmp_path), "must be a file path"
    )


def _assert_one_line_error(result, fragment):
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:"), result.output
    assert fragment in lines[0], lines[0]
    assert "Traceback" not in result.output


def test_importing_the_commands_does_not_load_tensorflow():
    code = (
        "import sys; import kerasvision.cli.visualize;"
        "assert 'tensorflow' not in sys.modules, 'tensorflow imported';"
        "assert 'keras' not in sys.modules, 'keras imported'"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
