"""Data-parallel training with `tf.distribute`, for `fit(distribute=...)`.

- "none": no strategy at all (plain Keras, the default).
- "mirrored": `tf.distribute.MirroredStrategy` over the local devices (all GPUs of
  one machine, else its CPU).
- "multiworker": `tf.distribute.MultiWorkerMirroredStrategy` across processes or
  machines described by the standard `TF_CONFIG` environment variable; every
  worker runs the same command. Without `TF_CONFIG` it is a one-worker cluster.

The batch size given to `fit` is the global batch: each step takes one batch of the
same pipeline a single process would use and splits it across the replicas, so the
updates are those of single-process training with that batch (up to the order of
floating-point sums; batch-dependent layers such as BatchNormalization see their
replica's part only, and dropout masks differ).

This module does not import TensorFlow at import time (the CLI lists its choices).
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass

from kerasvision._choices import DISTRIBUTE_MODES
from kerasvision._keras_internals import build_for_strategy

__all__ = [
    "DISTRIBUTE_MODES",
    "ClusterTask",
    "Distribution",
    "make_distribution",
    "parse_tf_config",
    "shard_dataset",
]


@dataclass(frozen=True)
class ClusterTask:
    """This process's place in a `TF_CONFIG` cluster.

    Attributes:
        task_type: "worker" or "chief" (None without `TF_CONFIG`).
        task_index: Index within its task type.
        num_workers: Processes that train (chief + workers).
        is_chief: Whether this process writes the run directory: the "chief" task,
            else worker 0 when the cluster has no chief.
    """

    task_type: str | None = None
    task_index: int = 0
    num_workers: int = 1
    is_chief: bool = True


def parse_tf_config(value: str | None = None) -> ClusterTask:
    """Read a `TF_CONFIG` value (JSON with "cluster" and "task").

    Args:
        value: The JSON text. Defaults to None (the `TF_CONFIG` environment
            variable; unset or empty means a single worker).

    Returns:
        A `ClusterTask`.

    Raises:
        ValueError: If the JSON is invalid or names a task outside its cluster.

    Example:
        >>> parse_tf_config('{"cluster": {"worker": ["a:1", "b:2"]},'
        ...                 ' "task": {"type": "worker", "index": 1}}').is_chief
        False
    """
    text = os.environ.get("TF_CONFIG", "") if value is None else value
    if not text.strip():
        return ClusterTask()
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"TF_CONFIG is not valid JSON: {error}") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise ValueError(
            'TF_CONFIG must be {"cluster": {"worker": ["host:port", ...]}, '
            '"task": {"type": "worker", "index": N}}'
        )
    task_type = task.get("type")
    task_index = task.get("index", 0)
    members = cluster.get(task_type) if isinstance(task_type, str) else None
    if task_type not in ("worker", "chief") or not isinstance(members, list):
        raise ValueError(
            f"TF_CONFIG task type must be 'worker' or 'chief' and listed in its "
            f"cluster, got {task_type!r}"
        )
    if not isinstance(task_index, int) or not 0 <= task_index < len(members):
        raise ValueError(
            f"TF_CONFIG task index {task_index!r} is outside the {len(members)} "
            f"{task_type} address(es) of the cluster"
        )
    has_chief = bool(cluster.get("chief"))
    is_chief = task_type == "chief" or (not has_chief and task_index == 0)
    count = len(cluster.get("worker") or []) + len(cluster.get("chief") or [])
    return ClusterTask(task_type, task_index, count, is_chief)


@dataclass
class Distribution:
    """A created strategy (or none) and this process's role.

    Attributes:
        mode: One of `DISTRIBUTE_MODES`.
        strategy: The `tf.distribute.Strategy`, or None for "none".
        task: This process's `ClusterTask`.
    """

    mode: str = "none"
    strategy: object = None
    task: ClusterTask = ClusterTask()

    @property
    def is_chief(self) -> bool:
        return self.task.is_chief

    @property
    def num_replicas(self) -> int:
        return 1 if self.strategy is None else int(self.strategy.num_replicas_in_sync)

    def scope(self):
        """`strategy.scope()`, or a no-op context for "none"."""
        if self.strategy is None:
            return contextlib.nullcontext()
        return self.strategy.scope()

    def shard(self, dataset):
        """`dataset` with the DATA auto-shard policy (unchanged for "none")."""
        if self.strategy is None:
            return dataset
        return shard_dataset(dataset)

    def prepare_fit(self, model, dataset) -> None:
        """Get a model built under the strategy ready for `model.fit(dataset)`.

        Call it, and `fit`, inside `scope()`. Keras 3's `fit` on a model that
        remembers its strategy first pulls one batch through a new iterator to
        build the training state symbolically; that extra iteration advances the
        seeded reshuffle, so every epoch would see the order of the next one and
        training would no longer match `distribute="none"`. Building that state
        here from the dataset's `element_spec` (no iteration) and letting the
        model take the strategy from the active scope instead gives the same
        batches, epoch by epoch, as a single process. No-op for "none".

        Args:
            model: A compiled Keras model created under `scope()`.
            dataset: The training `tf.data.Dataset` (global batches).
        """
        if self.strategy is None:
            return
        build_for_strategy(model, dataset, self.strategy)

    def summary(self) -> dict:
        """JSON-able description for run.json."""
        return {
            "mode": self.mode,
            "replicas": self.num_replicas,
            "workers": self.task.num_workers,
            "task": (
                None
                if self.task.task_type is None
                else f"{self.task.task_type}:{self.task.task_index}"
            ),
            "is_chief": self.is_chief,
        }

    def describe(self, batch_size: int) -> str:
        """One log line: strategy, workers, replicas and the batch split."""
        role = "chief" if self.is_chief else "non-chief, writes to a temporary folder"
        where = (
            f"{self.task.num_workers} worker(s), this is "
            f"{self.task.task_type or 'worker'} {self.task.task_index} ({role})"
        )
        per_replica = batch_size / self.num_replicas
        return (
            f"distribute: {self.mode}, {where}, {self.num_replicas} replica(s); "
            f"global batch {batch_size} = {per_replica:g} per replica"
        )


def make_distribution(mode: str = "none") -> Distribution:
    """Create the strategy for `mode`; call it before any other TensorFlow work.

    `MultiWorkerMirroredStrategy` configures collective ops, which TensorFlow only
    allows before its runtime starts (so: first thing in a fresh process, as the
    `kerasvision fit` command does).

    Args:
        mode: "none", "mirrored" or "multiworker". Defaults to "none".

    Returns:
        A `Distribution`.

    Raises:
        ValueError: On an unknown mode, an invalid `TF_CONFIG`, or a multi-worker
            strategy requested after TensorFlow already ran operations.

    Example:
        >>> distribution = make_distribution("mirrored")
        >>> with distribution.scope():
        ...     model = build_model("bipyramidal_cnn", (32, 32, 3), 10)
    """
    if mode not in DISTRIBUTE_MODES:
        raise ValueError(f"distribute must be one of {DISTRIBUTE_MODES}, got {mode!r}")
    if mode == "none":
        return Distribution()
    import tensorflow as tf

    if mode == "mirrored":
        return Distribution(mode, tf.distribute.MirroredStrategy())
    task = parse_tf_config()
    try:
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
    except RuntimeError as error:
        raise ValueError(
            f"--distribute multiworker could not start ({error}): create it before "
            f"TensorFlow runs anything, i.e. in a fresh process such as the "
            f"`kerasvision fit` command"
        ) from None
    _reduce_nested_values(strategy)
    return Distribution(mode, strategy, task)


def _reduce_nested_values(strategy) -> None:
    """Make a multi-worker strategy's `reduce` take what Keras 3's `fit` gives it.

    Keras 3.15's TensorFlow trainer calls `strategy.reduce` in two ways that
    `MultiWorkerMirroredStrategy` rejects as soon as there are two workers
    (keras-team/keras#20585, tensorflow/tensorflow#72388):

    - `reduce("MEAN", (x, y), axis=None)` on a whole batch, to learn its shapes
      before the first step: `MirroredStrategy` maps a nest, the collective
      implementation takes one value only ("Attempt to convert a value
      (PerReplica...)").
    - `reduce("MEAN", loss_or_metric, axis=0)` on the per-replica scalar logs
      of every step ("Invalid reduction dimension 0 for input with 0
      dimensions"): the mean across replicas is what is meant, i.e. `axis=None`.

    This wraps `reduce` on this strategy object only: each leaf is reduced on its
    own, and a scalar is reduced across replicas. Gradients do not pass through
    here (the optimizer all-reduces them itself).
    """
    import tensorflow as tf

    reduce = strategy.reduce

    def rank(value):
        if isinstance(value, tf.distribute.DistributedValues):
            value = strategy.experimental_local_results(value)[0]
        return getattr(getattr(value, "shape", None), "rank", None)

    def reduce_each(reduce_op, value, axis=None):
        def one(item):
            return reduce(reduce_op, item, axis=None if rank(item) == 0 else axis)

        return tf.nest.map_structure(one, value)

    strategy.reduce = reduce_each


def shard_dataset(dataset):
    """Set the DATA auto-shard policy on a `tf.data.Dataset`.

    kerasvision's pipelines start from in-memory arrays or a list of file paths
    (`from_tensor_slices`), not from reader datasets over many files, so FILE
    sharding has nothing to split (AUTO would try it, log a warning and fall back
    to DATA). DATA is also what keeps the arithmetic of single-process training:
    each global batch of the one pipeline is split, worker i taking the i-th part,
    so a step sees the same images as a single process with that batch. It needs
    the same element order on every worker, which the seeded shuffle and
    TensorFlow op determinism (set by `fit`) provide. The price: every worker
    reads and decodes the whole pipeline before discarding the other parts
    (decoded once when the images fit the memory cache).

    Args:
        dataset: A `tf.data.Dataset`.

    Returns:
        The dataset with the option set.
    """
    import tensorflow as tf

    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = (
        tf.data.experimental.AutoShardPolicy.DATA
    )
    return dataset.with_options(options)
