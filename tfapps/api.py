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
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from tfapps import __version__, reports, runs, runtime
from tfapps.config import RunConfig
from tfapps.errors import Interrupted, InvalidInput, TerminationRequest, WorkerLost

TRAINED_WEIGHTS = "trained.weights.h5"  # the final (best) weights, kept until the run is done


@dataclass
class RunResult:
    """What a finished run hands back.

    Args:
        run_dir: the finished run directory.
        headline: `{"split", "metric", "value"}` shown in summary.csv.
        metrics: the metrics table (split, metric, value).
        model: the trained in-memory Keras model (taking raw input).
        seconds: wall time of the whole run.
    """

    run_dir: Path
    headline: dict[str, Any]
    metrics: pd.DataFrame
    model: Any = field(repr=False)
    seconds: float = 0.0


def train(config: RunConfig, resume: str | None = None, callbacks: Sequence[Any] = ()) -> RunResult:
    """Trains, evaluates and exports one model as `config` describes.

    Args:
        config: a validated task config (`ImageConfig`, ...).
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
        Interrupted: Ctrl-C or SIGTERM; the run's checkpoint is kept for `resume`.
        RunFailed: the run started but could not finish.
    """
    started, started_at = time.perf_counter(), runs.utc_now()
    multi_worker = config.strategy == "multi-worker"
    if not multi_worker:  # fail fast, before TensorFlow loads
        output_dir, parent, run, record = _prepare_output(config, resume)
    runtime.import_tensorflow(config.debug)

    from tfapps import export
    from tfapps.data.load import load_splits
    from tfapps.tasks import TASKS

    task = TASKS[config.task]
    compute = runtime.set_up(config)
    if multi_worker and compute.is_chief:  # before loading data, so a bad directory fails fast
        output_dir, parent, run, record = _prepare_output(config, resume)
    splits = load_splits(config)
    timings = {"data_seconds": time.perf_counter() - started}
    if not compute.is_chief:
        # Another worker of a multi-worker run: it takes part in every collective step the
        # chief runs (training, evaluation, export) but writes only to a scratch directory.
        with tempfile.TemporaryDirectory(prefix="tfapps-worker-") as scratch:
            built, eval_batches = _build_and_fit(config, compute, splits, None, callbacks)
            task.report(built, eval_batches, splits, Path(scratch))
            export.export_model(built.serving_model, Path(scratch), built.assets)
        return RunResult(
            run_dir=None,
            headline={},
            metrics=pd.DataFrame(),
            model=built.serving_model,
            seconds=time.perf_counter() - started,
        )

    if resume:
        for stale in ("error", "interrupted_at"):
            record.pop(stale, None)
        record.update(status="running", resumed_at=[*record.get("resumed_at", []), started_at])
        timings = record["timings"] = {**record["timings"], **timings}
    else:
        run = runs.reserve(parent)
        record = {
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
    claim = runs.claim(run)  # refuses a run another process is still training
    runs.write_json(run.temp / runs.RUN_JSON, record)
    trained_weights = run.temp / runs.BACKUP_DIR / TRAINED_WEIGHTS
    try:
        mark = time.perf_counter()
        built, eval_batches = _build_and_fit(
            config, compute, splits, run.temp, callbacks, trained_weights
        )
        timings["train_seconds"] = time.perf_counter() - mark
        record["status"] = "reporting"  # a resume from here skips training
        runs.write_json(run.temp / runs.RUN_JSON, record)

        mark = time.perf_counter()
        metrics = task.report(built, eval_batches, splits, run.temp)
        timings["evaluate_seconds"] = time.perf_counter() - mark

        mark = time.perf_counter()
        export.export_model(built.serving_model, run.temp, built.assets)
        timings["export_seconds"] = time.perf_counter() - mark

        history = pd.read_csv(run.temp / runs.HISTORY_CSV)  # all epochs, across resumes
        losses = history["val_loss"]
        timings["total_seconds"] = time.perf_counter() - started
        record.update(
            status="complete",
            finished_at=runs.utc_now(),
            training={
                "epochs_run": len(history),
                "best_epoch": int(losses.idxmin()) + 1 if losses.notna().any() else None,
                "per_replica_batch_size": config.batch_size,
                "global_batch_size": config.batch_size * compute.replicas,
                "length_batches": built.batcher is not None,
                "examples_per_second": splits.info.sizes["train"]
                * len(history)
                / history["seconds"].sum(),
                "parameters": int(built.serving_model.count_params()),
            },
            headline=reports.headline(metrics, task.headline_metric),
        )
        shutil.rmtree(run.temp / runs.BACKUP_DIR, ignore_errors=True)
        runs.write_json(run.temp / runs.RUN_JSON, record)
        final = runs.finalize(run)
    except KeyboardInterrupt as interrupt:
        record.update(status="interrupted", interrupted_at=runs.utc_now())
        runs.write_json(run.temp / runs.RUN_JSON, record)
        raise Interrupted(
            run.run_id, 143 if isinstance(interrupt, TerminationRequest) else 130
        ) from None
    except BaseException as error:
        record.update(status="failed", error=f"{type(error).__name__}: {error}")
        runs.write_json(run.temp / runs.RUN_JSON, record)
        if multi_worker and _is_lost_worker(error):
            raise WorkerLost(run.run_id, _first_line(error)) from None
        raise
    finally:
        claim.close()
    runs.rebuild_summary(output_dir)
    return RunResult(
        run_dir=final,
        headline=record["headline"],
        metrics=metrics,
        model=built.serving_model,
        seconds=timings["total_seconds"],
    )


def _prepare_output(config: RunConfig, resume: str | None):
    """Checks the output directory and, for `resume`, finds the run and compares options.

    Returns:
        `(output_dir, parent of the task's runs, run or None, its run.json or None)`.
    """
    output_dir = runs.ensure_writable(config.output_dir)
    parent = output_dir / config.task / runs.dataset_slug(config.dataset)
    if not resume:
        return output_dir, parent, None, None
    run = runs.resumable(parent, resume)
    record = runs.read_run(run.temp)
    _check_same_options(RunConfig.from_dict(record["config"]), config, run.run_id)
    return output_dir, parent, run, record


def _build_and_fit(
    config: RunConfig,
    compute: runtime.Runtime,
    splits,
    run_dir: Path | None,
    callbacks: Sequence[Any] = (),
    trained_weights: Path | None = None,
):
    """Builds the task's model under the run's strategy, prepares the data with the global
    batch size (per-replica batch × replicas) and trains; returns `(built, eval batches)`.

    With `trained_weights`, an existing file means training already finished (a resume after
    an interruption during evaluation or export): the weights are loaded instead of trained.
    Otherwise the trained weights are saved there, so such a resume can skip training.
    """
    from tfapps import training
    from tfapps.tasks import TASKS

    global_batch = config.batch_size * compute.replicas
    with compute.strategy.scope():
        built = TASKS[config.task].build(config, splits)
    if compute.workers > 1:
        # Each worker would cut its own batches to other lengths and retrace its step
        # function for each; this is untested, so workers take plain batches.
        built.batcher = None
    prepare = functools.partial(
        training.batched,
        batch_size=global_batch,
        preprocess=built.preprocess,
        batcher=built.batcher,
    )
    eval_batches = {"validation": prepare(splits.validation), "test": prepare(splits.test)}
    trained = trained_weights is not None and trained_weights.is_file()
    if trained:
        built.model.load_weights(trained_weights)
    if compute.workers > 1:  # every worker takes the chief's path, with the chief's weights
        strategy, chief = compute.strategy, compute.is_chief
        trained = bool(training.adopt_chief_state(strategy, chief, built.model.variables, trained))
    if trained:
        return built, eval_batches
    training.fit(
        built.model,
        prepare(splits.train, shuffle_seed=config.seed),
        eval_batches["validation"],
        config,
        run_dir,
        compute.strategy,
        callbacks,
    )
    if trained_weights is not None:
        trained_weights.parent.mkdir(exist_ok=True)
        built.model.save_weights(trained_weights)
    return built, eval_batches


def _is_lost_worker(error: BaseException) -> bool:
    """True for the error collective ops raise when a peer worker stopped responding."""
    import tensorflow as tf

    return isinstance(error, tf.errors.UnavailableError)


def _first_line(error: BaseException) -> str:
    """The first line of an error's message, without TensorFlow's `{{function_node ...}}`."""
    message = str(error).split("}}")[-1].strip()
    return message.splitlines()[0] if message else type(error).__name__


def _check_same_options(original: RunConfig, requested: RunConfig, run_id: str) -> None:
    """Refuses a resume whose options contradict the interrupted run's."""
    ignored = {"quiet", "debug", "checkpoint_seconds"}
    before, after = original.to_dict(), requested.to_dict()
    changed = [
        f"--{name.replace('_', '-')} {after[name]!r} (the run used {before[name]!r})"
        for name in before
        if name not in ignored and before[name] != after.get(name)
    ]
    if changed:
        raise InvalidInput(
            f"Invalid value for --resume: run {run_id} was started with other "
            f"options: {'; '.join(changed)}. Repeat its options, or start a new "
            "run without --resume."
        )


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    packages = ("tensorflow", "keras", "tensorflow-datasets", "numpy", "pandas", "scikit-learn")
    return {
        "python": platform.python_version(),
        "tfapps": __version__,
        **{name: version(name) for name in packages},
    }
