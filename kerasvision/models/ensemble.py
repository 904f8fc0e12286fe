"""`build_ensemble`: one model averaging the class probabilities of classifiers."""

from __future__ import annotations

import keras

from kerasvision.layers.outputs import BinaryToCategorical
from kerasvision.models.heads import main_output

__all__ = ["build_ensemble"]


def build_ensemble(models, *, name: str = "ensemble"):
    """One model that averages the class probabilities of several classifiers.

    Members must take the same input shape (raw pixels) and output probabilities
    (softmax, or one sigmoid unit, which is turned into 2 columns); auxiliary
    heads are dropped. Each member is wrapped under a unique name
    (`member<i>_<name>`), so the result saves as `.keras` (load it with
    `kerasvision.load_model`) and exports like any classifier.

    Args:
        models: Two or more Keras classifiers.
        name: Name of the ensemble model. Defaults to "ensemble".

    Returns:
        An uncompiled functional `keras.Model`, output layer "predictions".

    Raises:
        ValueError: On fewer than 2 models, different input shapes or different
            numbers of classes.

    Example:
        >>> ensemble = build_ensemble([load_run(a).model, load_run(b).model])
        >>> ensemble.save("ensemble.keras")
    """
    models = list(models)
    if len(models) < 2:
        raise ValueError(f"an ensemble needs at least 2 models, got {len(models)}")
    shapes = [tuple(m.inputs[0].shape[1:]) for m in models]
    if len(set(shapes)) != 1:
        listed = ", ".join(f"{m.name} {s}" for m, s in zip(models, shapes, strict=True))
        raise ValueError(f"ensemble members need the same input shape, got {listed}")
    classes = []
    for model in models:
        units = main_output(model).shape[-1]
        classes.append(2 if units == 1 else units)
    if len(set(classes)) != 1:
        listed = ", ".join(
            f"{m.name} {k}" for m, k in zip(models, classes, strict=True)
        )
        raise ValueError(
            f"ensemble members need the same number of classes, got {listed}"
        )

    inputs = keras.Input(shape=shapes[0], name="images")
    probabilities = []
    for index, model in enumerate(models, start=1):
        member_name = f"member{index}_{model.name}"
        member = keras.Model(model.inputs, main_output(model), name=member_name)
        output = member(inputs)
        if output.shape[-1] == 1:
            output = BinaryToCategorical(name=f"member{index}_two_columns")(output)
        probabilities.append(output)
    outputs = keras.layers.Average(name="predictions")(probabilities)
    return keras.Model(inputs, outputs, name=name)
