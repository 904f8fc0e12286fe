"""A search's outcome: `TuneResult` (what `tune.json` holds) and the ranking."""

from __future__ import annotations

from dataclasses import dataclass, field

from kerasvision.tuning.space import describe_values

__all__ = ["OBJECTIVE", "TuneResult", "ranked"]

#: What trials are scored on (the validation split).
OBJECTIVE = "val_accuracy"


@dataclass
class TuneResult:
    """What a search found (also in its folder's `tune.json`).

    Attributes:
        folder: The search folder.
        trials: Every trial: `{"trial", "values", "epochs", "val_accuracy",
            "val_loss", "seconds", "status"}`; trial "defaults" first.
        best: The best trial (highest validation accuracy; the earlier on a
            tie, so the defaults win ties).
        run_dir: The best configuration's run directory.
        metrics: That run's `metrics.json` (test split).
        stopped: Why the search ended: "trials", "time budget" or "search
            space exhausted".
        seconds: Wall time of this call.
    """

    folder: str
    trials: list = field(default_factory=list)
    best: dict | None = None
    run_dir: str | None = None
    metrics: dict | None = None
    stopped: str = "trials"
    seconds: float = 0.0

    @property
    def defaults(self) -> dict | None:
        return next((t for t in self.trials if t["trial"] == "defaults"), None)

    def leaderboard(self, top: int | None = None) -> str:
        """The scored trials, best first, as a text table."""
        scored = ranked(self.trials)[:top]
        lines = [f"{'rank':>4}  {'trial':<8} {'epochs':>6}  {'val acc':>7}  "
                 f"{'seconds':>7}  options"]  # fmt: skip
        for rank, trial in enumerate(scored, 1):
            lines.append(
                f"{rank:>4}  {trial['trial']:<8} {trial['epochs']:>6}  "
                f"{trial[OBJECTIVE]:>7.4f}  {trial['seconds']:>7.1f}  "
                f"{describe_values(trial['values'])}"
            )
        failed = [t for t in self.trials if t.get(OBJECTIVE) is None]
        if failed:
            lines.append(f"({len(failed)} trial(s) failed: see tune.json)")
        return "\n".join(lines)

    def summary(self) -> str:
        """The best trial against the defaults, and the best run."""
        best, defaults = self.best or {}, self.defaults or {}
        lines = [
            f"best: trial {best.get('trial')} - val accuracy "
            f"{best.get(OBJECTIVE, float('nan')):.4f} (defaults "
            f"{defaults.get(OBJECTIVE, float('nan')):.4f}); "
            f"{len(ranked(self.trials))} trial(s), stopped by {self.stopped}"
        ]
        if self.metrics is not None:
            lines.append(
                f"best configuration trained as {self.run_dir}: "
                f"{self.metrics.get('split', 'test')} accuracy "
                f"{self.metrics.get('accuracy', float('nan')):.4f}"
            )
        return "\n".join(lines)

    def to_json(self) -> dict:
        return {
            "folder": self.folder,
            "trials": self.trials,
            "best": self.best,
            "run_dir": self.run_dir,
            "metrics": self.metrics,
            "stopped": self.stopped,
        }


def ranked(trials: list[dict]) -> list[dict]:
    """Scored trials, best first (stable: an earlier trial wins a tie)."""
    scored = [t for t in trials if t.get(OBJECTIVE) is not None]
    return sorted(scored, key=lambda t: -t[OBJECTIVE])
