"""The Python API behind every training command: `train(config)` runs one task end to end.

data → model → fit → report → export → run directory, each step in its own module; this module
only orders them and records what happened in run.json. Click is not involved, so the same call
works from a notebook:

>>> from tfapps.api import train
>>> from tfapps.config import ImageConfig
>>> result = train(ImageConfig(dataset="digits", epochs=5))  # doctest: +SKIP
>>> result.run_dir, result.headline  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import functools
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tfapps import __version__, reports, runs, runtime
from tfapps.config import RunConfig


@dataclass
class RunResult:
    """What a finished run hands back.

    Args:
        run_dir: the finished run directory.
        headline: `{"split", "metric", "value"}` shown in summary.csv.
        metrics: the metrics table (split, metric, value).
        model: the trained in-memory Keras model.
    """

    run_dir: Path
    headline: dict[str, Any]
    metrics: pd.DataFrame
    model: Any = field(repr=False)


def train(config: RunConfig) -> RunResult:
    """Trains, evaluates and exports one model as `config` describes.

    Args:
        config: a validated task config (`ImageConfig`, ...).

    Returns:
        The finished run's directory, headline metric, metrics table and model.

    Raises:
        InvalidInput: bad dataset, path or option value (nothing is written).
        RunFailed: the run started but could not finish.
    """
    started, started_at = time.perf_counter(), runs.utc_now()
    output_dir = runs.ensure_writable(config.output_dir)
    runtime.import_tensorflow(config.debug)

    from tfapps import export, training
    from tfapps.data.load import load_splits
    from tfapps.tasks import TASKS

    task = TASKS[config.task]
    compute = runtime.set_up(config)
    splits = load_splits(config)
    timings = {"data_seconds": time.perf_counter() - started}

    run = runs.reserve(output_dir, config.task, config.dataset)
    record: dict[str, Any] = {
        "tfapps_version": __version__,
        "task": config.task,
        "run_id": run.run_id,
        "status": "running",
        "started_at": started_at,
        "config": config.to_dict(),
        "seed": config.seed,
        "versions": _versions(),
        "compute": compute.describe(),
        "dataset": dataclasses.asdict(splits.info),
        "timings": timings,
    }
    runs.write_json(run.temp / runs.RUN_JSON, record)
    try:
        global_batch = config.batch_size * compute.replicas
        with compute.strategy.scope():
            built = task.build(config, splits)
        prepare = functools.partial(
            training.batched, batch_size=global_batch, preprocess=built.preprocess
        )
        train_batches = prepare(splits.train, shuffle_seed=config.seed)
        eval_batches = {"validation": prepare(splits.validation), "test": prepare(splits.test)}

        mark = time.perf_counter()
        history = training.fit(
            built.model, train_batches, eval_batches["validation"], config, run.temp
        )
        timings["train_seconds"] = time.perf_counter() - mark

        mark = time.perf_counter()
        metrics = task.report(built, eval_batches, splits, run.temp)
        timings["evaluate_seconds"] = time.perf_counter() - mark

        mark = time.perf_counter()
        export.export_model(built.serving_model, run.temp, built.assets)
        timings["export_seconds"] = time.perf_counter() - mark
    except BaseException as error:
        record.update(status="failed", error=f"{type(error).__name__}: {error}")
        runs.write_json(run.temp / runs.RUN_JSON, record)
        raise

    val_losses = history.history.get("val_loss", [])
    timings["total_seconds"] = time.perf_counter() - started
    record.update(
        status="complete",
        finished_at=runs.utc_now(),
        training={
            "epochs_run": len(val_losses),
            "best_epoch": int(min(range(len(val_losses)), key=val_losses.__getitem__)) + 1,
            "per_replica_batch_size": config.batch_size,
            "global_batch_size": global_batch,
            "parameters": int(built.serving_model.count_params()),
        },
        headline=reports.headline(metrics, task.headline_metric),
    )
    runs.write_json(run.temp / runs.RUN_JSON, record)
    final = runs.finalize(run)
    runs.rebuild_summary(output_dir)
    return RunResult(
        run_dir=final, headline=record["headline"], metrics=metrics, model=built.serving_model
    )


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    packages = ("tensorflow", "keras", "tensorflow-datasets", "numpy", "pandas", "scikit-learn")
    return {
        "python": platform.python_version(),
        "tfapps": __version__,
        **{name: version(name) for name in packages},
    }
