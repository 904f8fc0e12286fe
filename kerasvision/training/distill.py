"""Knowledge distillation: a small student run trained on its teachers' soft labels.

`distill(teachers, model=... | backbone=..., **fit_options)` trains a normal
run (`fit_classifier`: record, phases, checkpoints, evaluation, calibration,
export, report) whose training step is Keras's `keras.distillation.Distiller`:
the loss is `alpha` x the usual loss on the true labels plus `1 - alpha` x
the KL divergence between the temperature-softened probabilities of the
teachers (averaged, each with its calibrated temperature) and of the student,
times `temperature**2` (Hinton et al.). kerasvision's classifiers end in a
softmax, so `LogitsDistillation` is given log-probabilities: `softmax(log p /
T)` is the softened distribution of the logits behind `p`.

The student trains on the first teacher's data and recorded split (the same
test images none of the teachers saw), at the teachers' image size unless
given; each teacher sees the student's images resized to its own input size.
The student's `run.json` names its teachers under "distillation", and
`DistillResult.comparison` holds teacher vs student accuracy on the test split,
parameters and images/s.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "DEFAULT_ALPHA",
    "DEFAULT_TEMPERATURE",
    "DistillResult",
    "Teacher",
    "distill",
    "images_per_second",
]

#: Softening temperature of the teachers' and the student's probabilities.
DEFAULT_TEMPERATURE = 4.0
#: Weight of the loss on the true labels (the rest is the distillation loss).
DEFAULT_ALPHA = 0.3


def _log_probabilities(probabilities):
    """log p of `[N, K]` probabilities (a one-unit sigmoid as two columns)."""
    import keras

    ops = keras.ops
    if probabilities.shape[-1] == 1:
        probabilities = ops.concatenate([1.0 - probabilities, probabilities], axis=-1)
    return ops.log(ops.clip(probabilities, 1e-7, 1.0))


def _distillation_loss(temperature: float):
    """`LogitsDistillation` (KL divergence x T^2) on probabilities."""
    import keras

    class ProbabilityDistillation(keras.distillation.LogitsDistillation):
        def compute_loss(self, teacher_outputs, student_outputs, **kwargs):
            return super().compute_loss(
                _log_probabilities(teacher_outputs),
                _log_probabilities(student_outputs),
                **kwargs,
            )

    # A `KLDivergence` instance: its default "kl_divergence" string becomes the
    # plain function, which `compute_loss` then applies to the scaled logits
    # themselves instead of their softmax (Keras 3.15), giving ~0.
    return ProbabilityDistillation(
        temperature=float(temperature), loss=keras.losses.KLDivergence()
    )


@dataclass
class Teacher:
    """One or more finished runs that teach a student (`fit_classifier`'s
    `teacher`).

    Attributes:
        runs: The teacher runs (`kerasvision.runs.Run`), same classes and data.
        temperature: The softening temperature. Defaults to 4.0.
        alpha: Weight of the loss on the true labels, in [0, 1]. Defaults to 0.3.
    """

    runs: list
    temperature: float = DEFAULT_TEMPERATURE
    alpha: float = DEFAULT_ALPHA
    _models: dict = field(default_factory=dict, repr=False)

    def model(self, input_shape, units: int):
        """The teachers' averaged calibrated probabilities, taking the student's
        input (resized to each teacher's size) and giving `units` columns."""
        import keras

        from kerasvision.models.heads import serving_model, strip_auxiliary_heads

        key = (tuple(input_shape), units)
        if key in self._models:
            return self._models[key]
        inputs = keras.Input(shape=input_shape, name="images")
        outputs = []
        for index, run in enumerate(self.runs, start=1):
            network = serving_model(
                strip_auxiliary_heads(run.model), temperature=run.temperature
            )
            height, width = (int(v) for v in network.input_shape[1:3])
            x = inputs
            if (height, width) != tuple(input_shape[:2]):
                x = keras.layers.Resizing(height, width, name=f"teacher{index}_size")(x)
            x = network(x, training=False)
            if x.shape[-1] == 1:
                x = keras.layers.Concatenate()([1.0 - x, x])
            outputs.append(x)
        x = outputs[0] if len(outputs) == 1 else keras.layers.Average()(outputs)
        if units == 1:  # a sigmoid student: P(class 1)
            x = x[:, 1:2]
        teacher = keras.Model(inputs, x, name="teachers")
        teacher.trainable = False
        self._models[key] = teacher
        return teacher

    def wrap(self, student):
        """A `keras.distillation.Distiller` of the compiled `student`, compiled
        like it (optimizer, loss on the true labels, metrics)."""
        import keras

        units = int(student.outputs[0].shape[-1])
        distiller = keras.distillation.Distiller(
            teacher=self.model(student.input_shape[1:], units),
            student=student,
            distillation_losses=_distillation_loss(self.temperature),
            student_loss_weight=float(self.alpha),
        )
        # Keras's `compile_from_config` skips models with their own `compile`.
        compiled = keras.saving.deserialize_keras_object(student.get_compile_config())
        compiled["optimizer"] = student.optimizer  # as built (schedule, EMA...)
        distiller.compile(**compiled)
        return distiller

    def to_json(self) -> dict:
        """What the student's run.json records under "distillation"."""
        return {
            "teachers": [
                {
                    "run": run.path,
                    "model": (run.info.get("model") or {}).get("name"),
                    "params": (run.info.get("model") or {}).get("params"),
                    "accuracy": run.metrics().get("accuracy"),
                    "temperature": run.temperature,
                }
                for run in self.runs
            ],
            "temperature": self.temperature,
            "alpha": self.alpha,
            "loss": "alpha * loss(true labels) + (1 - alpha) * T^2 * KL(teachers_T "
            "|| student_T) (keras.distillation)",
        }


@dataclass
class DistillResult:
    """What `distill` did: the student's `FitResult` and the comparison."""

    fit: object
    comparison: dict

    @property
    def run_dir(self):
        return self.fit.run_dir

    def summary(self) -> str:
        """The closing line: teacher vs student accuracy, parameters, images/s."""
        t, s = self.comparison["teacher"], self.comparison["student"]
        return (
            f"teacher accuracy {t['accuracy']:.4f} ({t['params']:,} parameters, "
            f"{t['images_per_second']:.0f} images/s) -> student accuracy "
            f"{s['accuracy']:.4f} ({s['params']:,} parameters, "
            f"{s['images_per_second']:.0f} images/s): "
            f"{self.comparison['smaller']:.1f}x smaller, "
            f"{self.comparison['faster']:.1f}x faster on "
            f"{self.comparison['count']} {self.comparison['split']} images"
        )


def images_per_second(models, batches, *, repeats: int = 7) -> list[float]:
    """Inference throughput of each of `models` on its batch of `batches`.

    Traced calls after a warm-up, measured in turns (each round calls every
    model once), so that a change of load on the machine slows all of them
    alike; the median of `repeats` rounds.
    """
    import tensorflow as tf

    calls = []
    for model, images in zip(models, batches, strict=True):
        batch = tf.constant(np.asarray(images, dtype="float32"))
        call = tf.function(lambda x, m=model: m(x, training=False), autograph=False)
        call(batch)
        calls.append((call, batch))
    times = [[] for _ in calls]
    for _ in range(repeats):
        for found, (call, batch) in zip(times, calls, strict=True):
            tick = time.perf_counter()
            np.asarray(call(batch))
            found.append(time.perf_counter() - tick)
    return [
        float(len(batch) / np.median(found))
        for found, (_, batch) in zip(times, calls, strict=True)
    ]


def _load_teachers(teachers) -> list:
    from kerasvision.runs import load_run, require_classifier, require_same_classes

    runs = [require_classifier(load_run(path)) for path in teachers]
    if not runs:
        raise ValueError("give at least one teacher run")
    require_same_classes(runs, "teacher ")
    first = runs[0]
    for run in runs[1:]:
        if (run.info.get("data") or {}).get("fingerprint") != (
            first.info.get("data") or {}
        ).get("fingerprint") or run.info.get("split") != first.info.get("split"):
            raise ValueError(
                f"teachers {first.path} and {run.path} were trained on different "
                f"data or splits: a teacher could have seen the student's test images"
            )
    return runs


def _student_config(first, options):
    """The student's `FitConfig`: the first teacher's data options (its data,
    classes, channels, image size) unless given, the student's own model and
    training options."""
    from kerasvision.config import FitConfig
    from kerasvision.config.sections import DataOptions

    if options.get("model") is None and options.get("backbone") is None:
        raise ValueError("name the student: --model NAME or --backbone NAME")
    if options.get("resume"):
        raise ValueError("a distillation cannot be resumed; start it again")
    taught = FitConfig.from_json(first.info["arguments"])
    data_options = {
        f.name: getattr(taught, f.name) for f in dataclasses.fields(DataOptions)
    }
    height, width = first.image_size
    data_options.update(image_size=f"{height}x{width}", channels=first.channels)
    return FitConfig.from_options(**{**data_options, **options})


def _teachers_on_their_data(teacher, split):
    """The teachers' averaged probabilities on `split` (each at its own image
    size, from its own record of the shared split), their serving models and a
    batch of each one's images (for `images_per_second`)."""
    from kerasvision._keras_internals import predict_without_xla
    from kerasvision.models.heads import serving_model, serving_probabilities

    probabilities, networks, batches = [], [], []
    for run in teacher.runs:
        network = serving_model(run.model, temperature=run.temperature)
        images = run.data().arrays(split)[0]
        found = predict_without_xla(network, images)
        probabilities.append(np.asarray(serving_probabilities(found)))
        networks.append(network)
        batches.append(_batch(images))
    return np.mean(probabilities, axis=0), networks, batches


def _batch(images, size: int = 32):
    """`size` images for a throughput measure (repeated when there are fewer)."""
    return np.resize(images, (size, *images.shape[1:]))


def _compare(teacher, fit_result) -> dict:
    """Teachers (averaged, each at its own size) vs student on the student's
    evaluation split: accuracy, parameters, images/s on this machine."""
    data, student = fit_result.data, fit_result.model
    split = data.scored_split
    images, labels = data.arrays(split)
    probabilities, networks, batches = _teachers_on_their_data(teacher, split)
    # The teachers one after the other (an ensemble), then the student: timed
    # in turns, so that their ratio holds on a machine whose load changes.
    *speeds, student_speed = images_per_second(
        [*networks, student], [*batches, _batch(images)]
    )
    speed = 1.0 / sum(1.0 / found for found in speeds)
    params = sum(int(run.model.count_params()) for run in teacher.runs)
    found = {
        "teacher": {
            "accuracy": float(np.mean(probabilities.argmax(-1) == labels)),
            "params": params,
            "images_per_second": speed,
        },
        "student": {
            "accuracy": float(fit_result.metrics["accuracy"]),
            "params": int(student.count_params()),
            "images_per_second": student_speed,
        },
        "split": split,
        "count": int(len(images)),
    }
    found["smaller"] = params / max(1, found["student"]["params"])
    found["faster"] = (
        found["student"]["images_per_second"] / found["teacher"]["images_per_second"]
    )
    return found


def distill(
    teachers,
    *,
    temperature: float = DEFAULT_TEMPERATURE,
    alpha: float = DEFAULT_ALPHA,
    output=None,
    overwrite: bool = False,
    export: bool = True,
    verbose="auto",
    log=None,
    **options,
) -> DistillResult:
    """Train a small student run on the (averaged) soft labels of teacher runs.

    Args:
        teachers: One or more finished classifier run directories with the
            same classes, data and split.
        temperature: Softening temperature (> 0). Defaults to 4.0.
        alpha: Weight of the loss on the true labels, in [0, 1]; the
            distillation loss gets `1 - alpha`. Defaults to 0.3.
        output: The student's run directory. Defaults to None
            (`saved_models/<model>-<data>-<time>`).
        overwrite: Replace a finished run at `output`. Defaults to False.
        export: Export and check the student's SavedModel. Defaults to True.
        verbose: See `fit`. Defaults to "auto".
        log: Receives progress lines. Defaults to None (stderr).
        **options: `fit`'s options for the student: `model` or `backbone`
            (required), and any other (the data options default to the first
            teacher's, the image size to its size).

    Returns:
        A `DistillResult` (`fit`: the student's `FitResult`; `comparison`:
        teacher vs student accuracy, parameters, images/s).

    Raises:
        ValueError: On no student model, teachers that disagree, data that
            cannot be read back, or invalid options.

    Example:
        >>> result = distill(["saved_models/big"], model="mobilenet_v1", epochs=20)
        >>> print(result.summary())
    """
    from kerasvision.data.sources import fit_inputs
    from kerasvision.training.fit import fit_distributed

    if not temperature > 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    if not 0.0 <= alpha <= 1.0:
        raise ValueError(f"alpha must be in [0, 1], got {alpha}")
    runs = _load_teachers(teachers)
    first = runs[0]
    source = (first.info.get("data") or {}).get("source") or {"kind": "arrays"}
    data, changes = fit_inputs(source, first.path)
    config = _student_config(first, {**changes, **options}).resolved().with_seed()
    if config.task != "classification":
        raise ValueError("distillation trains classifiers (--task classification)")
    teacher = Teacher(runs, float(temperature), float(alpha))
    result = fit_distributed(
        data,
        config,
        output=output,
        overwrite=overwrite,
        export=export,
        verbose=verbose,
        log=log,
        split=first.info.get("split"),
        teacher=teacher,
    )
    comparison = _compare(teacher, result)
    if result.run_dir is not None:
        from kerasvision.runs import load_run

        student = load_run(result.run_dir)
        student.record(distillation={**student.info["distillation"], **comparison})
    return DistillResult(result, comparison)
