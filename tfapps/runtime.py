"""Where and how a run computes: device, distribution strategy, precision policy and seeds.

The same code path serves CPU and GPU: on a machine without a GPU the default strategy and
float32 are used; with GPUs, memory growth is turned on, mixed precision is picked where the chip
supports it, and several GPUs are used through `tf.distribute.MirroredStrategy`.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from tfapps.config import RunConfig
from tfapps.errors import InvalidInput

MIXED_FLOAT16_MIN_COMPUTE_CAPABILITY = (7, 0)


@dataclass
class RuntimeSetup:
    """The compute set-up of one run.

    Args:
        device: `"CPU"` or the GPUs used, e.g. `"GPU x2 (NVIDIA A100)"`.
        precision: the Keras dtype policy name in force.
        strategy: the `tf.distribute.Strategy` that model building and training run under.
        replicas: number of replicas in sync, across all workers (1 without distribution).
        workers: number of worker processes (1 unless multi-worker).
        is_chief: whether this process writes the run directory (only the chief does).
    """

    device: str
    precision: str
    strategy: Any = field(repr=False)
    replicas: int = 1
    workers: int = 1
    is_chief: bool = True

    def describe(self) -> dict[str, Any]:
        """Returns the JSON-ready facts recorded in run.json."""
        return {
            "device": self.device,
            "precision": self.precision,
            "strategy": strategy_name(self.strategy),
            "replicas": self.replicas,
            "workers": self.workers,
        }


def strategy_name(strategy) -> str:
    """The public name of a strategy (MultiWorkerMirroredStrategy's class has another)."""
    import tensorflow as tf

    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "MultiWorkerMirroredStrategy"
    return type(strategy).__name__


@contextlib.contextmanager
def muted_stderr(enabled: bool = True) -> Iterator[None]:
    """Sends file descriptor 2 to /dev/null inside the block (C++ logs bypass Python's stderr)."""
    if not enabled:
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def import_tensorflow(debug: bool) -> None:
    """Imports TensorFlow, hiding its C++ and absl start-up chatter unless `debug`.

    TensorFlow 2.21 prints those lines before its log settings apply, so the import runs with
    stderr muted; errors still surface as Python exceptions afterwards.
    """
    if debug:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with muted_stderr():
        import tensorflow as tf

        tf.config.list_physical_devices("GPU")
    for name in ("absl", "tensorflow"):
        logging.getLogger(name).setLevel(logging.ERROR)


def set_up(config: RunConfig) -> RuntimeSetup:
    """Chooses device, precision and strategy for `config`, and seeds every generator.

    Args:
        config: the run's options (`device`, `precision`, `seed`).
    """
    import keras
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    if config.device == "gpu" and not gpus:
        raise InvalidInput(
            "Invalid value for --device: 'gpu' was requested but TensorFlow sees "
            "no GPU on this machine. Use --device auto or cpu."
        )
    if config.device == "cpu" and gpus:
        tf.config.set_visible_devices([], "GPU")
        gpus = []
    for gpu in gpus:
        tf.config.experimental.set_memory_growth(gpu, True)

    # MultiWorkerMirroredStrategy must exist before TensorFlow runs any operation.
    strategy, workers, is_chief = _choose_strategy(config, gpus)
    precision = _choose_precision(config.precision, gpus)
    keras.mixed_precision.set_global_policy(precision)
    keras.utils.set_random_seed(config.seed)
    tf.config.experimental.enable_op_determinism()

    names = {tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus}
    device = f"GPU x{len(gpus)} ({', '.join(sorted(names))})" if gpus else "CPU"
    return RuntimeSetup(
        device=device,
        precision=precision,
        strategy=strategy,
        replicas=strategy.num_replicas_in_sync,
        workers=workers,
        is_chief=is_chief,
    )


def _choose_strategy(config: RunConfig, gpus: list):
    """Returns `(strategy, workers, is_chief)` for `--strategy` and `--cpu-replicas`."""
    import tensorflow as tf

    if config.strategy == "multi-worker":
        cluster = _read_tf_config()
        strategy = tf.distribute.MultiWorkerMirroredStrategy()
        resolver = strategy.cluster_resolver
        is_chief = resolver.task_type == "chief" or (
            resolver.task_type == "worker" and resolver.task_id == 0 and "chief" not in cluster
        )
        return strategy, sum(len(hosts) for hosts in cluster.values()), is_chief
    if config.strategy == "mirrored" or (config.strategy == "auto" and len(gpus) > 1):
        if gpus:
            return tf.distribute.MirroredStrategy(), 1, True
        cpu = tf.config.list_physical_devices("CPU")[0]
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * config.cpu_replicas
            )
        except RuntimeError:
            raise InvalidInput(
                "--cpu-replicas must be set before TensorFlow starts; run tfapps in a new "
                f"process. Received: cpu_replicas={config.cpu_replicas}"
            ) from None
        devices = [f"/cpu:{index}" for index in range(config.cpu_replicas)]
        return tf.distribute.MirroredStrategy(devices=devices), 1, True
    return tf.distribute.get_strategy(), 1, True


def _read_tf_config() -> dict:
    """Returns the cluster of `TF_CONFIG`, or raises `InvalidInput` saying what is wrong."""
    raw = os.environ.get("TF_CONFIG")
    example = (
        '{"cluster": {"worker": ["host1:12345", "host2:12345"]}, '
        '"task": {"type": "worker", "index": 0}}'
    )
    try:
        parsed = json.loads(raw or "")
        cluster, task = parsed["cluster"], parsed["task"]
        if task["type"] not in cluster or not 0 <= task["index"] < len(cluster[task["type"]]):
            raise KeyError("task")
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            "--strategy multi-worker needs the TF_CONFIG environment variable, e.g. "
            f"{example}. Received: TF_CONFIG={raw!r}"
        ) from None
    return cluster


def _choose_precision(requested: str, gpus: list) -> str:
    if requested != "auto":
        return requested
    if not gpus:
        return "float32"
    import tensorflow as tf

    capabilities = [
        tf.config.experimental.get_device_details(g).get("compute_capability", (0, 0)) for g in gpus
    ]
    if all(c >= MIXED_FLOAT16_MIN_COMPUTE_CAPABILITY for c in capabilities):
        return "mixed_float16"
    return "float32"
