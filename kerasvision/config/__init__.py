"""Configuration: every `fit` option declared once, and the registries it selects.

- `sections`: the option declarations (`DataOptions`, `ModelOptions`,
  `TransferOptions`, `AutoencoderOptions`, `TrainingOptions`, plus the
  command-line shortcuts `ModelArgs` and `fit`'s own `RunOptions`), each field
  carrying its help, the tasks and recipes it applies to and its parser
  (`options.Option`, `options.Cli`).
- `fit_config`: `FitConfig` (all sections; what `run.json` records).
- `tasks`: the task registry (`TASKS`); `recipes`: the training recipes
  (`RECIPES`: defaults, phases, caching, epoch caps).
- `validation`: the checks, including the generated "does not apply" ones.

Nothing here imports Keras or TensorFlow at import time.
"""

from kerasvision.config.fit_config import CONFIG_VERSION, FitConfig
from kerasvision.config.options import (
    Cli,
    Option,
    declared_options,
    flag_name,
    options_doc,
)
from kerasvision.config.parsing import parse_class_weight
from kerasvision.config.recipes import RECIPES, PhaseSpec, Recipe, get_recipe
from kerasvision.config.sections import ModelArgs, RunOptions
from kerasvision.config.tasks import TASKS, Task, get_task
from kerasvision.config.validation import MAX_BATCH_SIZE, MAX_IMAGE_SIDE

__all__ = [
    "CONFIG_VERSION",
    "MAX_BATCH_SIZE",
    "MAX_IMAGE_SIDE",
    "RECIPES",
    "TASKS",
    "Cli",
    "FitConfig",
    "ModelArgs",
    "Option",
    "PhaseSpec",
    "Recipe",
    "RunOptions",
    "Task",
    "declared_options",
    "flag_name",
    "get_recipe",
    "get_task",
    "options_doc",
    "parse_class_weight",
]
