"""The Python API behind every training command: `train(config)` runs one task end to end.

data → model → fit → report → export → run directory, each step in its own module; this module
only orders them. Click is not involved, so the same call works from a notebook:

>>> from tfapps.api import train
>>> from tfapps.tasks.image import ImageClassifyConfig
>>> result = train(ImageClassifyConfig(dataset="digits", epochs=5))  # doctest: +SKIP
>>> result.run_dir, result.headline  # doctest: +SKIP
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tfapps import __version__, recording, runs, runtime
from tfapps.config import RunConfig
from tfapps.signals import stop_on_sigterm


@dataclass
class RunResult:
    """What a finished run hands back.

    Args:
        run_dir: the finished run directory (`None` on a multi-worker run's other workers).
        headline: `{"split", "metric", "value"}` shown in summary.csv.
        metrics: the metrics table (split, metric, value).
        model: the trained in-memory Keras model (taking raw input).
        seconds: wall time of the whole run.
    """

    run_dir: Path | None
    headline: dict[str, Any]
    metrics: pd.DataFrame
    model: Any = field(repr=False)
    seconds: float = 0.0


def train(config: RunConfig, resume: str | None = None, callbacks: Sequence[Any] = ()) -> RunResult:
    """Trains, evaluates and exports one model as `config` describes.

    Args:
        config: a validated task config (`ImageClassifyConfig`, ...).
        resume: `"latest"` or the id of an interrupted run of the same task and dataset to
            continue from its last finished epoch; its options must equal `config`'s (but for
            `quiet`, `debug` and `checkpoint_seconds`). Defaults to a new run.
        callbacks: extra `keras.callbacks.Callback`s for training, run after tfapps' own
            (their `model` is the training model, which takes preprocessed input). Defaults
            to none.

    Returns:
        The finished run's directory, headline metric, metrics table and model.

    Raises:
        InvalidInput: bad dataset, path or option value (nothing is written).
        Interrupted: Ctrl-C or SIGTERM; the run's checkpoint is kept, and the message holds
            the command that resumes it.
        WorkerLost: another worker of a multi-worker run stopped (resumable too).
        RunFailed: the run started but could not finish.
    """
    started = time.perf_counter()
    with stop_on_sigterm():
        multi_worker = config.strategy == "multi-worker"
        if not multi_worker:  # fail fast, before TensorFlow loads
            output = recording.open_output(config, resume)
        runtime.import_tensorflow(config.debug)
        from tfapps.data.load import load_splits

        setup = runtime.set_up(config)
        if multi_worker and setup.is_chief:  # before loading data: a bad directory fails fast
            output = recording.open_output(config, resume)
        splits = load_splits(config)
        from tfapps.tasks import get_task

        get_task(config.task).fetch_resources(config, splits)
        timings = {"data_seconds": time.perf_counter() - started}
        if not setup.is_chief:
            return _train_as_worker(config, setup, splits, callbacks, started)
        recorder = recording.RunRecorder.start(
            output, config, setup.describe(), splits.info, versions(), timings
        )
        with recorder:
            trained, history, metrics = train_report_export(
                config, setup, splits, recorder, callbacks
            )
            final = complete(recorder, config, trained, splits, history, metrics, started)
    from tfapps.summary import rebuild_summary

    rebuild_summary(output.output_dir)
    model = trained.task_model.serving_model
    return RunResult(final, recorder.record.headline, metrics, model, _elapsed(started))


def train_report_export(config, setup, splits, recorder, callbacks=()):
    """The steps that write into the run directory: training (or loading the weights a run
    interrupted after training kept), the report, the learning curves, the export.

    Returns:
        `(training.Trained, history table, metrics table)`.
    """
    from tfapps import export, reports
    from tfapps.tasks import get_task
    from tfapps.training import build_and_train

    directory = recorder.directory
    with recorder.timed("train_seconds"):
        trained = build_and_train(
            config, setup, splits, directory, callbacks, recorder.trained_weights
        )
    recorder.set_status("reporting")  # a resume from here skips training
    task_model = trained.task_model
    with recorder.timed("evaluate_seconds"):
        metrics = get_task(config.task).evaluate_and_report(
            task_model, trained.batches, splits, directory
        )
        history = _history(directory)  # every epoch, across resumes
        reports.write_learning_curves(history, directory)
    with recorder.timed("export_seconds"):
        export.export_model(
            task_model.serving_model,
            directory,
            task_model.assets,
            splits.test,
            _served_class_names(config, splits),
        )
    return trained, history, metrics


def _train_as_worker(config, setup, splits, callbacks, started: float) -> RunResult:
    """A multi-worker run's other worker: it takes part in every collective step the chief
    runs (training, evaluation, export) but writes only to a scratch directory."""
    from tfapps import export
    from tfapps.tasks import get_task
    from tfapps.training import build_and_train

    with tempfile.TemporaryDirectory(prefix="tfapps-worker-") as scratch:
        trained = build_and_train(config, setup, splits, None, callbacks)
        model = trained.task_model
        get_task(config.task).evaluate_and_report(model, trained.batches, splits, Path(scratch))
        export.export_model(
            model.serving_model,
            Path(scratch),
            model.assets,
            class_names=_served_class_names(config, splits),
        )
    return RunResult(None, {}, pd.DataFrame(), model.serving_model, _elapsed(started))


def _served_class_names(config, splits) -> list[str] | None:
    """The class names the SavedModel outputs, when its task serves them."""
    from tfapps.tasks import get_task

    return splits.info.class_names if get_task(config.task).serves_class_names else None


def _history(directory: Path) -> pd.DataFrame:
    """history.csv: one row per epoch, across resumes (empty when no epoch ran)."""
    path = directory / runs.HISTORY_CSV
    return pd.read_csv(path) if path.is_file() and path.stat().st_size else pd.DataFrame()


def complete(
    recorder, config, trained, splits, history: pd.DataFrame, metrics, started: float
) -> Path:
    """Records what training did and the headline metric, and publishes the run.

    Args:
        started: `time.perf_counter()` when the run started.

    Returns:
        The published run directory.
    """
    return recorder.complete(
        _training_facts(config, trained, splits, history),
        _headline(config, metrics),
        time.perf_counter() - started,
    )


def _training_facts(config, trained, splits, history: pd.DataFrame) -> dict[str, Any]:
    """run.json's `training`: epochs, best epoch, batch sizes, throughput and parameters
    (no best epoch without a validation split)."""
    task_model = trained.task_model
    losses = history.get("val_loss", pd.Series(dtype=float))
    weights = trained.class_weight
    return {
        "epochs_run": len(history),
        "epochs_planned": trained.epochs,
        "best_epoch": int(losses.idxmin()) + 1 if losses.notna().any() else None,
        "per_replica_batch_size": config.batch_size,
        "global_batch_size": trained.global_batch_size,
        "length_batches": task_model.batcher is not None,
        "examples_per_second": splits.info.sizes["train"] * len(history) / history["seconds"].sum(),
        "parameters": int(task_model.serving_model.count_params()),
        "steps_per_execution": int(task_model.model.steps_per_execution),
        "class_weight": None
        if weights is None
        else dict(zip(splits.info.class_names, weights, strict=True)),
        **task_model.architecture,
        **({"phases": task_model.trained_phases} if task_model.trained_phases else {}),
    }


def _headline(config: RunConfig, metrics: pd.DataFrame) -> dict[str, Any]:
    from tfapps import reports
    from tfapps.tasks import get_task

    return reports.headline(metrics, get_task(config.task).headline_metric)


def _elapsed(started: float) -> float:
    return time.perf_counter() - started


def versions() -> dict[str, str]:
    """Versions of Python, tfapps and the packages a run depends on (run.json)."""
    from importlib.metadata import version

    packages = ("tensorflow", "keras", "tensorflow-datasets", "numpy", "pandas", "scikit-learn")
    return {
        "python": platform.python_version(),
        "tfapps": __version__,
        **{name: version(name) for name in packages},
    }
