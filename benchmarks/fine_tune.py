"""Does fine-tuning ever lose to feature extraction on small sets? (defaults as typed)

Needs ../shared (override with --shared or KERASVISION_SHARED): the flowers5
photos and the offline MobileNetV2 weights. For each two-class subset of
flowers5 (5 class pairs) and each seed, 120 training photos per class (a seeded
draw; the rest of the two classes held out), kerasvision trains
`fit DATA --backbone mobilenet_v2` (feature extraction) and the same with
`--mode fine-tune`, both as typed (only the offline weights and the seed given;
no export, which changes no accuracy). Accuracy is on the held-out photos. Then
the same two commands on all five classes (a seeded 10% of each class held out,
as recipes.py row b), once per `--five-seeds` fit seed (the mean printed when
there are several). Prints a table, the mean and worst FT - FE difference, and
how often the fine-tuned run kept its warm-up head (`run.json`
"fine_tune_choice"). Both of the fine-tuned run's candidates (its warm-up head
and its fine-tuned model; the one not kept is in the run's checkpoints) are
scored on the held-out photos too, so the last lines can say what each
selection rule (`RULES`) would have kept, from the same runs. `--mixes a,b`
also scores weight-space mixes of the two, (1 - a) x warm-up + a x fine-tuned
(WiSE-FT's interpolation), on the same held-out photos.

Example:
    python benchmarks/fine_tune.py --seeds 0,1
    python benchmarks/fine_tune.py --seeds '' --five-seeds 0,1,2
    python benchmarks/fine_tune.py --seeds 0,1 --mixes 0.25,0.5,0.75
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "apps"))
sys.path.insert(0, os.path.dirname(__file__))

import click  # noqa: E402
from _shared import shared_root  # noqa: E402
from recipes import WEIGHTS, _five_class_split, _kerasvision, _link_split  # noqa: E402

from kerasvision.training.selection import keeps_warm_up  # noqa: E402

PAIRS = (
    ("daisy", "dandelion"),
    ("rose", "tulip"),
    ("sunflower", "daisy"),
    ("dandelion", "tulip"),
    ("rose", "sunflower"),
)


#: Selection rules, given the run's record: True keeps the warm-up head.
RULES = {
    "validation loss (the first rule)": lambda warm, tuned: (
        warm["val_loss"] < tuned["val_loss"]
    ),
    "validation accuracy, ties to fine-tuned (the default)": keeps_warm_up,
    "validation accuracy, ties by loss": lambda warm, tuned: (
        (warm["val_accuracy"], -warm["val_loss"])
        > (tuned["val_accuracy"], -tuned["val_loss"])
    ),
}


def _both(data, test, work, name, weights, seed=0, mixes=()):
    """(FE accuracy, FE seconds, FT accuracy, FT seconds, what FT kept,
    {"choice": run.json's record, "warm-up"/"fine-tuned": held-out accuracy,
    "mixes": {a: held-out accuracy}})."""
    options = {"backbone": "mobilenet_v2", "weights": weights, "export": False,
               "seed": seed}  # fmt: skip
    fe = _kerasvision(data, test, os.path.join(work, f"{name}-fe"), **options)
    output = os.path.join(work, f"{name}-ft")
    ft = _kerasvision(data, test, output, mode="fine-tune", **options)
    with open(os.path.join(output, "run.json"), encoding="utf-8") as stream:
        choice = json.load(stream).get("fine_tune_choice") or {}
    candidates = {"choice": choice, **_candidates(output, test, choice, ft[0], mixes)}
    return (*fe, *ft, choice.get("kept", "-"), candidates)


def _candidates(output, test, choice, kept_accuracy, mixes=()):
    """Held-out accuracy of the warm-up head and of the fine-tuned model, and
    of each weight mix `a` of `mixes`: (1 - a) x warm-up + a x fine-tuned, every
    weight (WiSE-FT's interpolation; BatchNorm's statistics are frozen in both
    phases, so the same in both)."""
    from kerasvision.evaluation import evaluate_model
    from kerasvision.runs import load_run
    from kerasvision.training.selection import (
        FINE_TUNED_WEIGHTS,
        WARMUP_WEIGHTS,
        load_model_weights,
    )

    if not choice:
        return {}
    kept = choice["kept"]
    other = "fine-tuned" if kept == "warm-up" else "warm-up"
    run = load_run(output)
    model, held_out = run.model, run.data(test)
    weights = {kept: model.get_weights()}
    where = FINE_TUNED_WEIGHTS if other == "fine-tuned" else WARMUP_WEIGHTS
    load_model_weights(model, os.path.join(output, *where))
    weights[other] = model.get_weights()
    scores = {kept: kept_accuracy, other: evaluate_model(model, held_out)["accuracy"]}
    if mixes:
        scores["mixes"] = {}
    for a in mixes:
        pairs = zip(weights["warm-up"], weights["fine-tuned"], strict=True)
        model.set_weights([(1 - a) * w + a * t for w, t in pairs])
        scores["mixes"][a] = evaluate_model(model, held_out)["accuracy"]
    return scores


@click.command()
@click.option("--shared", type=click.Path(), help="The shared folder (../shared).")
@click.option("--seeds", default="0,1", show_default=True,
              help="Subset seeds ('' for none: the five-class row only).")  # fmt: skip
@click.option("--five/--no-five", default=True, help="Also all five classes.")
@click.option("--mixes", default="", show_default=True,
              help="Also score weight mixes, e.g. 0.5,0.75 (WiSE-FT).")  # fmt: skip
@click.option("--five-seeds", default="0", show_default=True,
              help="Fit seeds of the five-class pair (one held-out set).")  # fmt: skip
def main(shared, seeds, five, five_seeds, mixes):
    """Fine-tuning vs feature extraction on small flowers5 subsets (needs ../shared)."""
    root = os.path.abspath(shared_root(shared))
    flowers = os.path.join(root, "data", "flowers5")
    weights = os.path.join(root, WEIGHTS)
    mixes = tuple(float(a) for a in mixes.split(",") if a.strip())
    rows = []
    with tempfile.TemporaryDirectory(prefix="kv-finetune-") as work:
        for seed in [int(s) for s in seeds.split(",") if s.strip()]:
            for pair in PAIRS:
                name = f"{pair[0]}-{pair[1]}-s{seed}"
                data, test = _link_split(
                    flowers, pair, os.path.join(work, name), lambda n: 120, seed
                )
                rows.append((name, *_both(data, test, work, name, weights, 0, mixes)))
                print(_line(rows[-1]), flush=True)
        small = [row[3] - row[1] for row in rows]
        if small:
            kept = sum(row[5] == "warm-up" for row in rows)
            print(f"small subsets: FT - FE mean {sum(small) / len(small):+.4f}, "
                  f"worst {min(small):+.4f} over {len(small)} runs; warm-up kept "
                  f"in {kept}", flush=True)  # fmt: skip
        if five:
            data, test = _five_class_split(flowers, work)
            for seed in [int(s) for s in five_seeds.split(",") if s.strip()]:
                name = f"five classes s{seed}"
                runs = _both(data, test, work, f"five-s{seed}", weights, seed, mixes)
                rows.append((name, *runs))
                print(_line(rows[-1]), flush=True)
            _five_means([row for row in rows if row[0].startswith("five")])
    _rules(rows)
    _mix_lines(rows, mixes)


def _mix_lines(rows, mixes):
    """Each weight mix's held-out accuracy against feature extraction's."""
    for a in mixes:
        scored = [row for row in rows if "mixes" in row[6]]
        gains = [row[6]["mixes"][a] - row[1] for row in scored if row[0][:4] != "five"]
        five = [row[6]["mixes"][a] for row in scored if row[0][:4] == "five"]
        parts = []
        if gains:
            parts.append(_gain_text("mix - FE", gains))
        if five:
            mean = sum(five) / len(five)
            parts.append(f"five classes {mean:.4f} (mean of {len(five)})")
        print(f"mix {a:g} x fine-tuned + {1 - a:g} x warm-up: " + "; ".join(parts),
              flush=True)  # fmt: skip


def _five_means(rows):
    """The five-class pair's mean over its seeds (one held-out set)."""
    if len(rows) > 1:
        fe = sum(row[1] for row in rows) / len(rows)
        ft = sum(row[3] for row in rows) / len(rows)
        print(f"five classes, mean of {len(rows)} seeds: FE {fe:.4f}, FT {ft:.4f}",
              flush=True)  # fmt: skip


def _rules(rows):
    """What each rule would have kept, from the same runs' two candidates."""
    for rule, keeps_head in RULES.items():
        gains, five = [], []
        for name, fe, _, _, _, _, candidates in rows:
            choice = candidates.get("choice")
            if not choice:
                continue
            pick = keeps_head(choice["warm_up"], choice["fine_tuned"])
            accuracy = candidates["warm-up" if pick else "fine-tuned"]
            if name.startswith("five"):
                five.append((accuracy, fe))
            else:
                gains.append(accuracy - fe)
        parts = []
        if gains:
            parts.append(_gain_text("FT - FE", gains))
        if five:
            ft, fe = (sum(pair[i] for pair in five) / len(five) for i in (0, 1))
            parts.append(f"five classes FT {ft:.4f} (FE {fe:.4f}, mean of {len(five)})")
        print(f"rule '{rule}': " + "; ".join(parts), flush=True)


def _gain_text(what, gains):
    return (f"small subsets {what} mean {sum(gains) / len(gains):+.4f}, worst "
            f"{min(gains):+.4f} over {len(gains)}")  # fmt: skip


def _line(row):
    name, fe, fe_s, ft, ft_s, kept, candidates = row
    line = (f"{name:24s} FE {fe:.4f} ({fe_s:5.0f} s)  FT {ft:.4f} ({ft_s:5.0f} s)  "
            f"FT-FE {ft - fe:+.4f}  kept {kept}")  # fmt: skip
    choice = candidates.get("choice")
    if choice:
        for label, key in (("warm-up", "warm_up"), ("fine-tuned", "fine_tuned")):
            scores = choice[key]
            line += (f"\n    {label:10s} val_loss {scores['val_loss']:.4f} "
                     f"val_acc {scores['val_accuracy']:.4f} "
                     f"held-out {candidates[label]:.4f}")  # fmt: skip
    for a, accuracy in candidates.get("mixes", {}).items():
        line += f"\n    mix {a:<5g}    held-out {accuracy:.4f}"
    return line


if __name__ == "__main__":
    main()
