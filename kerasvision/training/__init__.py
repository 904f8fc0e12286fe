"""Training: `fit` and its steps.

- `fit`, `fit_autoencoder` (one call), `rerun`, `resume_run`, `lr_find`:
  `kerasvision.training.fit`.
- `distill` (a student run taught by teacher runs): `kerasvision.training.distill`.
- Classifier steps (load data, build, record, train, evaluate, export):
  `kerasvision.training.classifier`; autoencoder steps:
  `kerasvision.training.autoencoder`.
- `compile` (optimizers, losses), `callbacks` (progress, NaN guard, checkpoints),
  `phases` (transfer schedule, per-phase optimizers, feature cache), `pipelines`
  (tf.data), `lr_find` (the sweep), `budget` (`--time-budget`), `calibration`,
  `results` (`FitResult`...).
"""

from kerasvision.training.compile import (
    compile_autoencoder,
    compile_classifier,
    make_optimizer,
)
from kerasvision.training.distill import distill
from kerasvision.training.fit import fit, fit_autoencoder, lr_find, rerun, resume_run
from kerasvision.training.results import AutoencoderResult, FitResult, TrainingError

__all__ = [
    "AutoencoderResult",
    "FitResult",
    "TrainingError",
    "compile_autoencoder",
    "compile_classifier",
    "distill",
    "fit",
    "fit_autoencoder",
    "lr_find",
    "make_optimizer",
    "rerun",
    "resume_run",
]
