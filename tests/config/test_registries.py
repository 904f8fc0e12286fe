"""The task and recipe registries: every entry is checked."""

from __future__ import annotations

import pytest

from kerasvision.config import RECIPES, TASKS, FitConfig, get_task
from kerasvision.config.recipes import select_recipe
from kerasvision.training.phases import plan_phases


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


@pytest.mark.parametrize("name", list(RECIPES), ids=list(RECIPES))
def test_every_recipe_is_selected_and_plans_its_phases(name):
    recipe = RECIPES[name]
    backbone = "mobilenet_v2" if recipe.backbone else None
    assert select_recipe(recipe.family, backbone, recipe.mode or "x") is recipe
    if recipe.family != "classifier":
        return
    options = {"backbone": backbone} if backbone else {}
    if recipe.mode:
        options["mode"] = recipe.mode
    config = FitConfig(dataset="digits", epochs=2, **options).resolved()
    for option, value in recipe.defaults.items():
        if option != "epochs":
            assert getattr(config, option) == value, option
    phases = plan_phases(config)
    assert [p.name for p in phases] == [spec.name for spec in recipe.phases]
    assert phases[-1].end == sum(p.end - p.start for p in phases)
    assert recipe.requirement
