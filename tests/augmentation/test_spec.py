"""The augmentation registry and its mini-syntax (parse, format, reject)."""

import pytest

from kerasvision.augmentation import (
    AUGMENTATIONS,
    AugmentStep,
    format_augment_spec,
    parse_augment_spec,
)


@pytest.mark.parametrize("name", list(AUGMENTATIONS), ids=list(AUGMENTATIONS))
def test_parser_accepts_and_rejects_every_entry(name):
    spec = AUGMENTATIONS[name]
    (step,) = parse_augment_spec(name)
    assert step.name == name
    assert step.values == tuple(p.default for p in spec.params)
    assert step.probability == (1.0 if spec.kind == "batch" else None)
    # The canonical text parses back to the same step.
    assert parse_augment_spec(str(step)) == [step]
    param = spec.params[0]
    if param.kind == "choice":
        text, expected = f"{name}={param.choices[-1].upper()}", param.choices[-1]
        bad = ["diagonal", "1"]
    else:
        expected = param.maximum
        text = f"{name}={expected:g}"
        bad = [f"{param.maximum * 2 + 1:g}", f"{param.minimum:g}", "-1", "nan", "x"]
    (step,) = parse_augment_spec(text)
    assert step.value == expected
    for value in bad:
        with pytest.raises(ValueError, match=f"augmentation '{name}'"):
            parse_augment_spec(f"{name}={value}")
    with pytest.raises(ValueError, match=f"'{name}' is given twice"):
        parse_augment_spec(f"{name},{name}")


def test_parser_reads_the_documented_example():
    steps = parse_augment_spec(" flip, rotate=0.1,zoom=0.2 ,cutmix=1.0,mixup=0.2")
    assert [s.name for s in steps] == ["flip", "rotate", "zoom", "cutmix", "mixup"]
    assert format_augment_spec(steps) == (
        "flip=horizontal,rotate=0.1,zoom=0.2,cutmix=1@0.5,mixup=0.2@0.5"
    )
    assert parse_augment_spec("") == []
    assert parse_augment_spec(None) == []
    assert parse_augment_spec(["flip", "rotate=0.2"]) == parse_augment_spec(
        "flip,rotate=0.2"
    )
    # Steps run in registry order, whatever the text order.
    steps = parse_augment_spec("mixup,noise=5,flip=vertical")
    assert [s.name for s in steps] == ["flip", "noise", "mixup"]
    assert steps[0].value == "vertical"


def test_randaugment_takes_magnitude_and_num_ops():
    (step,) = parse_augment_spec("randaugment=0.3:4")
    assert step.values == (0.3, 4)
    assert step.layer_kwargs()["num_ops"] == 4
    assert step.layer_kwargs()["factor"] == 0.3
    with pytest.raises(ValueError, match="num_ops must be a whole number"):
        parse_augment_spec("randaugment=0.3:2.5")
    with pytest.raises(ValueError, match="takes randaugment=magnitude:num_ops"):
        parse_augment_spec("randaugment=0.3:2:1")


MIXER_PROBABILITIES = {
    "cutmix": {"cutmix": 1.0},
    "mixup": {"mixup": 1.0},
    "cutmix,mixup": {"cutmix": 0.5, "mixup": 0.5},
    "cutmix=2@0.3,mixup": {"cutmix": 0.3, "mixup": 0.7},
    "mixup=0.4@0.25,cutmix@0.25": {"cutmix": 0.25, "mixup": 0.25},
    "cutmix=1.0@0.5": {"cutmix": 0.5},
}


def test_mixer_probabilities():
    for text, expected in MIXER_PROBABILITIES.items():
        steps = parse_augment_spec(text)
        assert {s.name: s.probability for s in steps} == pytest.approx(expected), text


REJECTED = {
    "flp": "unknown augmentation 'flp'; valid: flip, crop, rotate",
    "rotate=abc": "factor must be a number, got 'abc'",
    "rotate=0.7": r"factor must be in \(0, 0.5\], got 0.7",
    "flip,rotate,flip": "'flip' is given twice",
    "rotate=0.1@0.5": "takes no '@probability'; only the batch mixers",
    "cutmix@0.7,mixup@0.6": r"add up to 1.3 \(> 1\)",
    "cutmix@1,mixup": "no probability left for mixup",
    "cutmix@0": r"probability must be in \(0, 1\]",
    "flip,,rotate": "empty step",
    "rotate=": "missing value",
    "flip=sideways": "mode must be one of horizontal, vertical",
}


def test_parser_rejects_with_one_line_messages():
    for text, message in REJECTED.items():
        with pytest.raises(ValueError, match=message) as error:
            parse_augment_spec(text)
        assert "\n" not in str(error.value), text
    with pytest.raises(ValueError, match="factor must be in"):
        parse_augment_spec([AugmentStep("rotate", (3.0,))])


def test_importing_the_spec_does_not_import_tensorflow():
    import subprocess
    import sys

    code = (
        "import sys, kerasvision.augmentation as a; a.parse_augment_spec('flip'); "
        "print('tensorflow' in sys.modules, 'keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.split() == ["False", "False"]
