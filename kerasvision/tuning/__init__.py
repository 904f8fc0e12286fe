"""`kerasvision tune`: search a recipe's hyperparameters with KerasTuner.

- `space`: what is searched (`search_space`), a trial's config
  (`trial_config`), the augmentation strength (`scaled_augment`).
- `search`: the trials (each a real `fit`, scored on validation), the time
  budget, KerasTuner's oracles, and `tune` itself (`tune.json`, `best/`).
"""

from kerasvision.tuning.result import TuneResult
from kerasvision.tuning.search import TUNE_FILE, TUNERS, fit_trial, tune
from kerasvision.tuning.space import (
    DEFAULT_AUGMENT,
    describe_values,
    scaled_augment,
    search_space,
    trial_config,
)

__all__ = [
    "DEFAULT_AUGMENT",
    "TUNERS",
    "TUNE_FILE",
    "TuneResult",
    "describe_values",
    "fit_trial",
    "scaled_augment",
    "search_space",
    "trial_config",
    "tune",
]
