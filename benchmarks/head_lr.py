"""The transfer recipes' head learning rate: which peak rate, for which set size?

Needs ../shared (override with --shared or KERASVISION_SHARED): the flowers5
photos and the offline MobileNetV2 weights. The frozen backbone's pooled
features of every photo are computed once (kerasvision's transfer classifier
at 224 px, as `fit DATA --backbone mobilenet_v2 --weights W` caches them); then
the recipe's head (kerasvision's own: dropout 0.2 and one softmax layer, one
sigmoid unit for two classes; Adam, 15 epochs of batch 32, a linear warm-up
over 5% of the steps then cosine decay to 0) is fitted on those features at
each peak rate, outside `fit` so that each of the ~200 fits takes seconds.
Accuracy is on held-out photos none of the heads trained on.

1. Five classes: recipes.py row b's split (a seeded 10% of each class held
   out, 406 photos); heads on seeded draws of 250-2,000 of the 3,658 other
   photos and on 2,926 of them (the 80% a default run trains its head on),
   mean over --seeds.
2. Two classes: fine_tune.py's subsets (120 photos per class, a seeded draw,
   the rest of the two classes held out); 192 of the 240 train the head, as in
   a default run (which carves 24 for validation and 24 for its test split),
   mean and worst over pairs x seeds.

Example:
    python benchmarks/head_lr.py --seeds 0,1,2,3     # ~6 minutes on 2 cores
"""

from __future__ import annotations

import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))
sys.path.insert(0, os.path.dirname(__file__))

import click  # noqa: E402
import numpy as np  # noqa: E402
from _shared import shared_root  # noqa: E402
from fine_tune import PAIRS  # noqa: E402
from recipes import WEIGHTS, _five_class_split, _folder_arrays  # noqa: E402

RATES = (1e-2, 5e-3, 3e-3, 2e-3, 1e-3)
SIZES = (250, 500, 1000, 2000, 2926)
EPOCHS = 15  # the recipes' head epochs


def _features(folder, weights):
    """(pooled features, labels) of a class-per-folder tree."""
    import keras

    from kerasvision.models.transfer import build_transfer_classifier

    images, labels = _folder_arrays(folder, 224)
    model = build_transfer_classifier("mobilenet_v2", 5, weights=weights,
                                      input_shape=(224, 224, 3))  # fmt: skip
    pooled = keras.Model(model.inputs, model.get_layer("avg_pool").output)
    return pooled.predict(images, batch_size=64, verbose=0), labels


def _steps(size, epochs=EPOCHS):
    return epochs * -(-size // 32)


def _head_accuracy(x, y, x_test, y_test, rate, seed):
    """Held-out accuracy of the recipe's head trained on `(x, y)` at `rate`:
    kerasvision's own head, loss, optimizer and schedule (one sigmoid unit for
    two classes), on features shaped as a 1x1 map so the head's pooling is the
    identity."""
    import keras

    from kerasvision.models.heads import apply_classifier_head
    from kerasvision.optimization import WarmupSchedule, keras_schedule
    from kerasvision.training.compile import compile_classifier, make_optimizer

    keras.utils.set_random_seed(seed)
    classes = int(max(y.max(), y_test.max())) + 1
    inputs = keras.Input((1, 1, x.shape[-1]))
    head = keras.Model(inputs, apply_classifier_head(inputs, classes, dropout_rate=0.2))
    steps = _steps(len(x))
    schedule = WarmupSchedule("cosine", rate, steps, int(0.05 * steps))
    compile_classifier(head, make_optimizer("adam", keras_schedule(schedule)))
    if head.output_shape[-1] == 1:  # one sigmoid unit: P(class 1) targets
        y, y_test = (v[:, None].astype("float32") for v in (y, y_test))
    x, x_test = (v[:, None, None, :] for v in (x, x_test))
    head.fit(x, y, batch_size=32, epochs=EPOCHS, verbose=0)
    return head.evaluate(x_test, y_test, verbose=0, return_dict=True)["accuracy"]


def _header(first):
    rates = " | ".join(f"{rate:g}" for rate in RATES)
    print(f"\n| {first} | head steps | {rates} |")
    print("|---|---|" + "---|" * len(RATES), flush=True)


def _row(label, size, accuracies):
    best = max(accuracies)
    cells = " | ".join(f"**{a:.4f}**" if a == best else f"{a:.4f}" for a in accuracies)
    print(f"| {label} | {_steps(size)} | {cells} |", flush=True)


@click.command()
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--seeds", default="0,1,2,3", show_default=True)
def main(shared, seeds):
    """Head accuracy by peak learning rate and training-set size (needs ../shared)."""
    root = os.path.abspath(shared_root(shared))
    flowers = os.path.join(root, "data", "flowers5")
    weights = os.path.join(root, WEIGHTS)
    seeds = [int(s) for s in seeds.split(",") if s.strip()]
    with tempfile.TemporaryDirectory(prefix="kv-head-lr-") as work:
        train, test = _five_class_split(flowers, work)
        x, y = _features(train, weights)
        x_test, y_test = _features(test, weights)
    _header("five classes: training photos (mean of seeds)")
    for size in SIZES:
        accuracies = []
        for rate in RATES:
            scores = []
            for seed in seeds:
                pick = np.random.default_rng(seed).permutation(len(x))[:size]
                scores.append(
                    _head_accuracy(x[pick], y[pick], x_test, y_test, rate, seed)
                )
            accuracies.append(float(np.mean(scores)))
        _row(f"{size}", size, accuracies)
    # Two classes: all photos of both (train and held-out folders together).
    every_x, every_y = np.concatenate([x, x_test]), np.concatenate([y, y_test])
    names = sorted(os.listdir(flowers))
    found = {rate: [] for rate in RATES}
    for seed in seeds:
        for pair in PAIRS:
            rng = np.random.default_rng(seed)
            chosen, held = [], []
            for label, name in enumerate(pair):
                members = rng.permutation(np.flatnonzero(every_y == names.index(name)))
                chosen += [(i, label) for i in members[:120]]
                held += [(i, label) for i in members[120:]]
            chosen, held = np.array(chosen), np.array(held)
            fit = chosen[rng.permutation(len(chosen))[48:]]  # a run's val + test
            for rate in RATES:
                found[rate].append(_head_accuracy(
                    every_x[fit[:, 0]], fit[:, 1], every_x[held[:, 0]], held[:, 1],
                    rate, seed,
                ))  # fmt: skip
    _header("two classes, 192 training photos: mean / worst")
    runs = len(found[RATES[0]])
    _row(f"{runs} runs: mean", 192, [float(np.mean(found[r])) for r in RATES])
    _row(f"{runs} runs: worst", 192, [float(np.min(found[r])) for r in RATES])


if __name__ == "__main__":
    main()
