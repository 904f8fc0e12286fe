"""The task registry: every entry is checked."""

from __future__ import annotations

import pytest

from kerasvision.config import RECIPES, TASKS, FitConfig, get_task


@pytest.mark.parametrize("name", list(TASKS), ids=list(TASKS))
def test_every_task_resolves_its_defaults(name):
    task = TASKS[name]
    data = {"data": "somewhere"} if name == "segmentation" else {"dataset": "digits"}
    config = FitConfig(task=name, **data).resolved(train_images=1000)
    assert config.family == task.family
    for option, value in task.defaults.items():
        assert getattr(config, option) == value, option
    recipe = RECIPES[config.recipe]
    assert recipe.family == task.family
    assert get_task(name) is task


def test_unknown_task_names_the_choices():
    with pytest.raises(ValueError, match="task must be one of .*classification"):
        get_task("gan")
