"""One declaration per option: the CLI, the checks and the docstring come from it."""

from __future__ import annotations

import dataclasses
import importlib
import re

import numpy as np
import pytest
from click.testing import CliRunner

from kerasvision.cli import main
from kerasvision.config import (
    RECIPES,
    FitConfig,
    ModelArgs,
    RunOptions,
    declared_options,
    flag_name,
)
from kerasvision.config.tasks import tasks_of
from kerasvision.config.validation import check_applicable

ALL = [*declared_options(FitConfig), *declared_options(ModelArgs)]
ALL += declared_options(RunOptions)


def test_every_field_is_declared_once_with_help_and_a_section():
    fields = {item.name for item in dataclasses.fields(FitConfig)}
    declared = {item.name for item, _ in declared_options(FitConfig)}
    assert fields == declared
    for item, option in ALL:
        assert option.help and not option.help.endswith("."), item.name
        assert option.section, item.name
        assert option.recipes is None or set(option.recipes) <= set(RECIPES)
        assert tasks_of(option.tasks), item.name


@pytest.fixture(scope="module")
def fit_help():
    result = CliRunner().invoke(main, ["fit", "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    return result.output


def test_fit_help_shows_every_option_by_section(fit_help):
    for item, option in ALL:
        if option.cli is None or option.cli.argument:
            continue
        assert (option.cli.flag or flag_name(item.name)) in fit_help, item.name
    sections = [f"{option.section} options:" for _, option in ALL]
    positions = [fit_help.index(title) for title in dict.fromkeys(sections)]
    assert positions == sorted(positions)


def test_lr_find_takes_only_what_it_uses():
    result = CliRunner().invoke(main, ["lr-find", "--help"], terminal_width=200)
    for item, option in declared_options(FitConfig):
        if option.cli is None or option.cli.argument:
            continue
        flag = option.cli.flag or flag_name(item.name)
        listed = re.search(rf"^  {flag}[ /]", result.output, re.MULTILINE)
        assert bool(listed) == option.lr_find, item.name


def test_the_fit_docstring_lists_every_option():
    fit = importlib.import_module("kerasvision.training.fit").fit
    for item, _ in declared_options(FitConfig):
        assert f"\n            {item.name}: " in fit.__doc__, item.name


def _config_for(recipe):
    options = {
        "scratch": {},
        "feature-extraction": {"backbone": "mobilenet_v2"},
        "fine-tune": {"backbone": "mobilenet_v2", "mode": "fine-tune"},
        "autoencoder": {"task": "autoencoder"},
    }[recipe]
    return FitConfig(dataset="digits", **options)


@pytest.mark.parametrize("recipe", list(RECIPES), ids=list(RECIPES))
def test_each_recipe_takes_exactly_its_declared_options(recipe):
    config = _config_for(recipe)
    assert config.recipe == recipe
    applicable = set(config.applicable())
    for item, option in declared_options(FitConfig):
        declared_ok = config.task in tasks_of(option.tasks) and (
            option.recipes is None or recipe in option.recipes
        )
        assert (item.name in applicable) == declared_ok, item.name
        if declared_ok:
            check_applicable(config, [item.name])
        else:
            with pytest.raises(ValueError, match=flag_name(item.name)) as caught:
                check_applicable(config, [item.name])
            assert "only apply" in str(caught.value)
            assert "\n" not in str(caught.value)


def test_a_new_option_is_one_field_momentum():
    """`--momentum` was added as one field: CLI, checks, record and optimizer."""
    import keras

    from kerasvision.training.compile import make_optimizer

    config = FitConfig(dataset="digits", optimizer="sgd", momentum=0.0)
    assert config.to_json()["momentum"] == 0.0
    assert FitConfig.from_json(config.to_json()).momentum == 0.0
    with pytest.raises(ValueError, match="--momentum applies to --optimizer sgd"):
        FitConfig(dataset="digits", momentum=0.5)
    with pytest.raises(ValueError, match="--momentum only apply to --task"):
        FitConfig(task="autoencoder", momentum=0.5)
    # Momentum 0 is the slide's plain update: W <- W - lr * dJ/dW.
    weights = keras.Variable(np.array([1.0, -2.0], dtype="float32"))
    gradient = np.array([0.5, 0.25], dtype="float32")
    optimizer = make_optimizer("sgd", 0.1, momentum=0.0)
    for _ in range(2):
        before = np.array(weights.numpy())
        optimizer.apply_gradients([(keras.ops.convert_to_tensor(gradient), weights)])
        np.testing.assert_allclose(weights.numpy(), before - 0.1 * gradient, rtol=1e-6)
    default = make_optimizer("sgd", 0.1)
    assert float(default.momentum) == pytest.approx(0.9)
