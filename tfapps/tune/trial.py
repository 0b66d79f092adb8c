"""One trial of a search, in its own process (`tfapps tune-trial SPEC`): the trial's options
trained on the saved train split (or on each fold's), scored on validation, its report and
result written into the trial's directory.

Each training keeps its checkpoint in its own directory (`backup/`, Keras BackupAndRestore
through `training.fit`), so a trial whose process was killed continues from its last
checkpointed epoch when the search resumes, and a trial of several folds keeps the folds it
finished. The process stops at the next step end when the search's process is gone (a kill
of the search leaves no trial running), and at the budget's deadline.
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import statistics
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import filelock
import keras
import pandas as pd

from tfapps import runs, runtime
from tfapps.callbacks import TrainingProgress
from tfapps.errors import explain
from tfapps.progress import clock
from tfapps.signals import stop_on_sigterm
from tfapps.tasks import config_from_dict, get_task
from tfapps.tune.data import load_search_splits
from tfapps.tune.search import RESULT_JSON, TRIAL_WEIGHTS

FIT_JSON = "fit.json"  # one training's result, in its directory
LOCK_SECONDS = 120  # how long a trial waits for an earlier process of itself to stop
ORPHAN_POLL_SECONDS = 0.5
# A trial's status, worst first: a trial is as finished as its least finished training.
STATUSES = ("time_limit", "early_stopped", "complete")


class Deadline(keras.callbacks.Callback):
    """Stops training at the first step end after `at` (a `time.time()` instant; `None`
    never). The epoch cut short is validated, and early stopping then restores the best
    epoch's weights, as when it stops training itself.

    Args:
        at: when training must end.
    """

    def __init__(self, at: float | None) -> None:
        super().__init__()
        self.at, self.reached = at, False

    def on_train_batch_end(self, batch, logs=None):
        if self.at is not None and time.time() >= self.at:
            self.reached = True
            self.model.stop_training = True


class StartFrom(keras.callbacks.Callback):
    """Loads weights before the first epoch (a Hyperband round continues the last round's
    trial from its weights, with a fresh optimizer, as KerasTuner's own tuners do).

    Args:
        path: a `.weights.h5` file of the same model.
    """

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def on_train_begin(self, logs=None):
        self.model.load_weights(self.path)


class TrialProgress(TrainingProgress):
    """Training progress under a line about the search: which trial (and fold), the best so
    far, and the budget left, counted down as the trial runs.

    Args:
        title: `trial 3/20, best val_accuracy 0.9813 (trial 1)`.
        budget: the budget in seconds, and when it ends (`time.time()`); `None` for none.
        examples_per_step: the global batch size.
    """

    def __init__(self, title: str, budget: tuple[float, float] | None, examples_per_step: int):
        super().__init__(examples_per_step)
        self.title, self.budget = title, budget

    def _header(self) -> str:
        if self.budget is None:
            return self.title
        seconds, end = self.budget
        return f"{self.title}, {clock(max(0.0, end - time.time()))} of {clock(seconds)} left"

    def _live_lines(self) -> list[str]:
        return [self._header(), *super()._live_lines()]

    def _epoch_line(self) -> str:
        return f"{self.title.split(',')[0]}: {super()._epoch_line()}"


def run_trial(spec_path: Path, debug: bool = False) -> bool:
    """Runs the trial `spec_path` describes and writes its `result.json` beside it.

    Args:
        spec_path: the trial's spec.json.
        debug: print the traceback of a failure. Defaults to False.

    Returns:
        Whether the trial finished; a failed one's result says how (the search prints it).

    Raises:
        KeyboardInterrupt: Ctrl-C or SIGTERM (also when the search's process is gone); the
            trial keeps its checkpoint and writes no result.
    """
    spec = json.loads(spec_path.read_text())
    directory = spec_path.parent
    _stop_when_orphaned(os.getppid())
    lock = filelock.FileLock(directory / runs.CLAIM_LOCK, timeout=LOCK_SECONDS)
    with lock, stop_on_sigterm():
        try:
            result = _train_each(spec, directory)
        except Exception as error:
            if debug:
                traceback.print_exc()
            failed = {"status": "failed", "error": explain(error).message}
            runs.write_json(directory / RESULT_JSON, failed)
            return False
        runs.write_json(directory / RESULT_JSON, result)
        return True


def _train_each(spec: dict[str, Any], directory: Path) -> dict[str, Any]:
    """Trains on the trial's splits (each fold's with `--folds`); returns the result."""
    config = config_from_dict(spec["config"])
    runtime.import_tensorflow(config.debug)
    setup = runtime.set_up(config)
    task = get_task(config.task)
    every = [
        dataclasses.replace(splits, info=task.tuned_info(config, splits.info))
        for splits in load_search_splits(Path(spec["data"]))
    ]
    fits = []
    for fold, splits in enumerate(every, start=1):
        where = directory if len(every) == 1 else directory / f"fold_{fold}"
        title = spec["title"] + (f", fold {fold}/{len(every)}" if len(every) > 1 else "")
        fits.append(_train_one(spec, config, setup, splits, where, directory, title))
        if fits[-1]["status"] == "time_limit":  # later folds would only start to stop
            break
    return _combined(fits, spec["initial_epoch"])


def _train_one(spec, config, setup, splits, where: Path, trial_dir: Path, title: str) -> dict:
    """One training and its validation report, or the result of the one finished before."""
    from tfapps.training import build_and_train

    done = where / FIT_JSON
    if done.is_file():
        return json.loads(done.read_text())
    where.mkdir(exist_ok=True)
    resumed = runs.finished_epochs(where)
    deadline = Deadline(spec["deadline"])
    callbacks = [deadline]
    if spec["load_from"] and not resumed:
        past = Path(spec["load_from"]) / where.relative_to(trial_dir) / TRIAL_WEIGHTS
        callbacks.append(StartFrom(past))
    if not spec["quiet"]:
        budget = spec["budget"] and (spec["budget"], spec["budget_end"])
        callbacks.append(TrialProgress(title, budget, config.batch_size * setup.replicas))
    task = get_task(config.task)
    epochs = task.max_epochs(config, splits.info)
    trained = build_and_train(config, setup, splits, where, callbacks)
    task_model = trained.task_model
    metrics = task.evaluate_and_report(
        task_model, {"validation": trained.batches["validation"]}, splits, where
    )
    history = pd.read_csv(where / runs.HISTORY_CSV)
    if spec["save_weights"]:
        task_model.model.save_weights(where / TRIAL_WEIGHTS)
    status = "complete" if len(history) >= epochs else "early_stopped"
    fit = {
        "status": "time_limit" if deadline.reached else status,
        "score": _value(metrics, task.headline_metric),
        "metrics": {row.metric: float(row.value) for row in metrics.itertuples()},
        "best_epoch": best_epoch(history, max(config.start_from_epoch, resumed)),
        "phase_epochs": phase_epochs(task_model, history),
        "epochs_run": len(history),
        "example_epochs": len(history) * splits.info.sizes["train"],
        "resumed_at_epoch": resumed,
    }
    runs.write_json(done, fit)
    shutil.rmtree(where / runs.BACKUP_DIR, ignore_errors=True)  # the training is over
    return fit


def best_epoch(history: pd.DataFrame, first: int) -> int:
    """The epoch (1-based) whose weights early stopping kept: the first lowest validation
    loss from epoch `first` (0-based; `--start-from-epoch`, or where training resumed, since
    early stopping starts afresh on resume), else the last epoch (Keras `EarlyStopping`'s
    rule, `restore_best_weights=True`).

    Args:
        history: history.csv, one row per epoch.
        first: the first epoch early stopping watched.
    """
    watched = history[history["epoch"] >= first]
    if watched.empty or watched["val_loss"].isna().all():
        return int(history["epoch"].iloc[-1]) + 1
    return int(watched.loc[watched["val_loss"].idxmin(), "epoch"]) + 1


def phase_epochs(task_model, history: pd.DataFrame) -> dict[str, int] | None:
    """For a model trained in phases (`TaskModel.phases`), the epochs a final training
    should run in each, by the option that sets them (`Phase.epochs_option`): each phase's
    best epoch within it (as `best_epoch` finds it), up to the phase whose weights were kept;
    0 for the phases after it, whose weights were dropped. `None` for a single `fit`.

    Args:
        task_model: the trained model (its `trained_phases` filled in).
        history: history.csv, one row per epoch across the phases.
    """
    if not task_model.phases:
        return None
    epochs, kept = {}, False
    for phase, record in zip(task_model.phases, task_model.trained_phases, strict=True):
        first = record["first_epoch"]
        rows = history[history["epoch"].between(first, first + record["epochs_run"] - 1)]
        epochs[phase.epochs_option] = 0 if kept or rows.empty else best_epoch(rows, first) - first
        kept = kept or record["kept"]
    return epochs


def _combined(fits: list[dict], initial_epoch: int) -> dict[str, Any]:
    """A trial's result from its trainings (the folds'): the mean scores and metrics, the
    median best epoch (after a Hyperband round's `initial_epoch`), the worst status."""
    metrics = pd.DataFrame([fit["metrics"] for fit in fits]).mean().to_dict()
    return {
        "status": min((fit["status"] for fit in fits), key=STATUSES.index),
        "score": statistics.mean(fit["score"] for fit in fits),
        "metrics": metrics,
        "best_epoch": initial_epoch + round(statistics.median(f["best_epoch"] for f in fits)),
        "phase_epochs": fits[0]["phase_epochs"]
        and {
            option: round(statistics.median(fit["phase_epochs"][option] for fit in fits))
            for option in fits[0]["phase_epochs"]
        },
        "epochs_run": round(statistics.mean(fit["epochs_run"] for fit in fits)),
        "example_epochs": sum(fit["example_epochs"] for fit in fits),
        "resumed_at_epoch": max(fit["resumed_at_epoch"] for fit in fits),
        "folds": fits if len(fits) > 1 else None,
    }


def _value(metrics: pd.DataFrame, name: str) -> float:
    return float(metrics.loc[metrics["metric"] == name, "value"].iloc[0])


def _stop_when_orphaned(parent: int) -> None:
    """Sends this process SIGTERM (a stop at the next step end) once the search's process
    `parent` is gone, so a killed search leaves no trial running."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(ORPHAN_POLL_SECONDS)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True, name="orphan-watch").start()
