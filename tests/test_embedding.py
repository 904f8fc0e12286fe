"""kerasvision.embedding and `kerasvision embed`: "in feature space, the two 4s
are closer than 4 and 9", measured on a CNN trained on the real digits."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from kerasvision.cli import main
from kerasvision.data.datasets import load_builtin
from kerasvision.embedding import embed, feature_model, pairwise_distances


@pytest.fixture(scope="module")
def digits_run(tmp_path_factory):
    """A small CNN trained 3 epochs on the digits (about 0.9 test accuracy)."""
    from kerasvision.training import fit

    run = tmp_path_factory.mktemp("embed") / "run"
    fit(
        None,
        dataset="digits",
        model_kwargs={"filters": (16, 32), "convs_per_block": 1, "dense_units": (),
                      "dropout_rate": 0.0},
        image_size=8,
        epochs=3,
        lr=1e-2,
        seed=0,
        export=False,
        output=str(run),
        verbose=0,
        log=lambda line: None,
    )  # fmt: skip
    return run


def _four_four_nine():
    """Indices of a 4, the 9 nearest it in pixels, and the 4s farther from it
    in pixels than that 9 (chosen from pixels only, never from the model)."""
    x, y, _ = load_builtin("digits")
    pixels = x.reshape(len(x), -1) / 255.0
    fours, nines = np.flatnonzero(y == 4), np.flatnonzero(y == 9)
    four = fours[0]
    distance = np.linalg.norm(pixels - pixels[four], axis=1)
    nine = nines[np.argmin(distance[nines])]
    far_fours = [i for i in fours if distance[i] > distance[nine]]
    far_fours.sort(key=lambda i: distance[i])
    return x, four, nine, far_fours


def test_two_fours_are_closer_in_feature_space_than_a_four_and_a_nine(
    digits_run, tmp_path
):
    x, four, nine, far_fours = _four_four_nine()
    other = far_fours[len(far_fours) // 2]  # the median of the far 4s
    files = []
    for index, name in ((four, "four_a"), (other, "four_b"), (nine, "nine")):
        files.append(tmp_path / f"{name}.png")
        Image.fromarray(x[index][..., 0]).save(files[-1])
    result = CliRunner().invoke(
        main, ["embed", str(digits_run), *map(str, files), "--format", "json"]
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.output)
    pixel, feature = (np.array(record[k]) for k in ("pixel_distances",
                                                     "feature_distances"))  # fmt: skip
    # In pixels the 9 is the nearer one; in the run's features the other 4 is.
    assert pixel[0, 2] < pixel[0, 1]
    assert feature[0, 1] < feature[0, 2]
    assert record["layer"] == "avg_pool" and record["dims"] == 32
    table = CliRunner().invoke(main, ["embed", str(digits_run), *map(str, files)])
    assert "four_a.png (4): nine.png" in table.output  # nearest in pixels
    assert "-> four_b.png (4)" in table.output  # nearest in features
    # Not one lucky pair: most 4s that are farther than the 9 in pixels are
    # closer than it in features.
    from kerasvision.runs import load_run

    features, _ = feature_model(load_run(digits_run).model)
    chosen = [four, nine, *far_fours]
    vectors = np.asarray(features(x[chosen].astype("float32"), training=False))
    distances = pairwise_distances(vectors)[0]
    assert np.mean(distances[2:] < distances[1]) > 0.6


def test_embed_checks_its_inputs(digits_run, tmp_path):
    image = tmp_path / "one.png"
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(image)
    with pytest.raises(ValueError, match="at least two images"):
        embed(digits_run, [str(image)])
    with pytest.raises(ValueError, match="no layer 'nope'"):
        embed(digits_run, [str(image), str(image)], layer="nope")
    result = embed(digits_run, [str(image), str(image)], layer="block2_conv1")
    assert result["dims"] == 4 * 4 * 32
    assert result["feature_distances"][0, 1] == pytest.approx(0.0, abs=1e-4)
    assert pairwise_distances([[0, 0], [3, 4]]).tolist() == [[0, 5], [5, 0]]
