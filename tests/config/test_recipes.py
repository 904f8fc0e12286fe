"""The training-recipe registry: every entry is selected and plans its phases."""

from __future__ import annotations

import pytest

from kerasvision.config import RECIPES, FitConfig
from kerasvision.config.recipes import select_recipe
from kerasvision.training.phases import plan_phases


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
