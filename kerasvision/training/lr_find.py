"""The learning-rate finder: an exponential sweep on a copy of the model.

`sweep` trains a clone for ~100 steps while the learning rate grows
exponentially, and records the loss; `suggest` picks a rate from the smoothed
curve with fastai's "valley" rule (the middle of the longest steadily falling
stretch, which is more robust than the steepest point, also reported). `lr_find`
(in `training.fit`) is the command: it loads and builds exactly like `fit` and
writes only the plot.
`fit(lr="auto")` calls `choose_lr` and records the choice in run.json.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from kerasvision.progress import Progress, current

__all__ = ["LrFindResult", "choose_lr", "suggest", "sweep"]

#: Sweep range and length, smoothing and the divergence stop (fastai's values).
SWEEP = {"start": 1e-7, "end": 10.0, "steps": 100, "smoothing": 0.98, "diverge": 4.0}
#: Steps left out at the start and the end when suggesting (as fastai does).
SKIP = (10, 5)


@dataclass
class LrFindResult:
    """The sweep: learning rates, raw and smoothed losses, and the suggestions."""

    learning_rates: list = field(default_factory=list)
    losses: list = field(default_factory=list)
    smoothed: list = field(default_factory=list)
    suggested: float = 0.0
    steepest: float = 0.0
    rule: str = "valley"
    plot: str | None = None

    def to_json(self) -> dict:
        return {
            "suggested": self.suggested,
            "rule": self.rule,
            "steepest": self.steepest,
            "steps": len(self.losses),
        }

    def summary(self) -> str:
        return (
            f"suggested learning rate: {self.suggested:.3g} ({self.rule} rule; "
            f"steepest descent at {self.steepest:.3g}; {len(self.losses)} steps)"
        )


def suggest(learning_rates, smoothed) -> tuple[float, float]:
    """`(valley, steepest)` learning rates of a smoothed loss curve.

    Valley (fastai): the longest run of steps whose loss keeps falling; the
    suggestion is 1/2 of the way down that run. Steepest: where the loss falls
    fastest per log-step of the learning rate.
    """
    rates, losses = np.asarray(learning_rates), np.asarray(smoothed)
    if len(losses) > 4 * (SKIP[0] + SKIP[1]):  # ignore the noisy ends (fastai)
        rates = rates[SKIP[0] : len(rates) - SKIP[1]]
        losses = losses[SKIP[0] : len(losses) - SKIP[1]]
    count = len(losses)
    if count < 3:
        raise ValueError("the learning-rate sweep needs at least 3 steps")
    run = np.ones(count, dtype=int)  # longest decreasing subsequence ending at i
    best_end = 0
    for i in range(1, count):
        earlier = [run[j] + 1 for j in range(i) if losses[i] < losses[j]]
        run[i] = max(earlier, default=1)
        if run[i] > run[best_end]:
            best_end = i
    best_start = best_end - run[best_end] + 1
    valley = rates[(best_start + best_end) // 2]
    slopes = np.gradient(losses, np.log(rates))
    steepest = rates[int(np.argmin(slopes[1:-1])) + 1]
    return float(valley), float(steepest)


def sweep(model, dataset, compile_fn, **settings) -> LrFindResult:
    """Run the exponential sweep on a clone of `model` (the model is untouched).

    Args:
        model: A built classifier (or head).
        dataset: Its training `tf.data` pipeline (`(x, y[, w])` batches).
        compile_fn: `compile_fn(clone, optimizer)` compiles the clone with the
            run's loss.
        **settings: Overrides of `SWEEP` (start, end, steps, smoothing, diverge).

    Returns:
        An `LrFindResult`.
    """
    import keras

    options = {**SWEEP, **settings}
    start, end, steps = options["start"], options["end"], int(options["steps"])
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    growth = (end / start) ** (1.0 / max(1, steps - 1))
    schedule = keras.optimizers.schedules.ExponentialDecay(start, 1, growth)
    compile_fn(clone, keras.optimizers.Adam(schedule))
    result, average, best = LrFindResult(), 0.0, math.inf
    beta = options["smoothing"]
    progress = current()  # the caller's step, if any, counts the batches
    for step, batch in enumerate(dataset.repeat().take(steps)):
        logs = clone.train_on_batch(*batch, return_dict=True)
        if progress is not None:
            progress.update(1)
        loss = float(logs["loss"])
        average = beta * average + (1 - beta) * loss
        smooth = average / (1 - beta ** (step + 1))
        if not math.isfinite(loss) or smooth > options["diverge"] * best:
            break
        best = min(best, smooth)
        result.learning_rates.append(start * growth**step)
        result.losses.append(loss)
        result.smoothed.append(smooth)
    result.suggested, result.steepest = suggest(result.learning_rates, result.smoothed)
    return result


def _sweep_dataset(model, data, config):
    """`(model to sweep, its train pipeline, compile function)` for the run's
    first phase: the cached head for a frozen backbone, else the whole model."""
    from kerasvision.training.compile import compile_classifier
    from kerasvision.training.phases import (
        CachedTargets,
        cached_head,
        plan_phases,
        use_feature_cache,
    )
    from kerasvision.training.pipelines import pipelines, uses_categorical_labels

    categorical = uses_categorical_labels(config, data)

    def compile_fn(clone, optimizer):
        compile_classifier(
            clone,
            optimizer,
            label_mode="categorical" if categorical else "int",
            num_classes=data.num_classes,
            label_smoothing=float(config.label_smoothing or 0.0),
        )

    phase = plan_phases(config)[0]
    if config.is_transfer:
        from kerasvision.training.phases import enter_phase

        enter_phase(model, phase, bn=config.bn)
    if use_feature_cache(config, phase):
        binary = model.outputs[0].shape[-1] == 1
        targets = CachedTargets(binary, categorical, config.seed)
        head, train, _ = cached_head(model, data, config, targets)
        return head, train, compile_fn
    train, _ = pipelines(model, data, config)
    return model, train, compile_fn


def choose_lr(model, data, config, *, log=None, plot=None) -> LrFindResult:
    """Sweep the run's model on its training data and suggest a learning rate.

    Args:
        model: The built classifier of the run (left untouched).
        data: The run's `ImageData`.
        config: A resolved `FitConfig` with a seed.
        log: Receives the summary line. Defaults to None (silent).
        plot: Write the loss-vs-LR plot here. Defaults to None (no plot).

    Returns:
        An `LrFindResult`.
    """
    with Progress("lr-find: preparing the training batches"):
        target, train, compile_fn = _sweep_dataset(model, data, config)
    label = "lr-find: sweeping the learning rate"
    with Progress(label, int(SWEEP["steps"]), unit="batches", announce=True):
        result = sweep(target, train, compile_fn)
    if plot is not None:
        from kerasvision.visualization.plots import plot_lr_find

        result.plot = plot_lr_find(result, plot)
    if log is not None:
        log(result.summary())
    return result
