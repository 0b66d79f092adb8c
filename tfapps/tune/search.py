"""The search: KerasTuner's tuner loop over a task's space, each trial in its own process.

A trial runs in a fresh Python process (`tfapps tune-trial`, `trial.py`), so whatever
TensorFlow keeps of a model after it is gone (traced functions, graphs: about 8 MB a trial
of the digits convnet on TF 2.21, `clear_session` and `gc` included) leaves with the
process, and every trial starts from the same memory. The process reads only the saved train
and validation splits (`data.save_search_data`). This process measures its peak resident
memory (psutil), keeps the budget, shows progress, and records each trial's outcome in
`trial_<id>/record.json`.

A search stopped by a kill resumes from KerasTuner's project (`overwrite=False`): finished
trials are kept, and the interrupted one, which KerasTuner queues for a retry with the same
id and values, continues in its process from the checkpoint in its own directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import keras_tuner
import psutil

from tfapps.config import RunConfig
from tfapps.data.info import DatasetInfo
from tfapps.errors import InvalidInput, RunFailed
from tfapps.progress import clock
from tfapps.tasks import Task
from tfapps.tune import oracles
from tfapps.tune.budget import Budget
from tfapps.tune.options import TuneOptions
from tfapps.tune.space import Space

log = logging.getLogger("tfapps")

SPEC_JSON, RESULT_JSON, RECORD_JSON = "spec.json", "result.json", "record.json"
BUDGET_JSON = "budget.json"
TRIAL_WEIGHTS = "trained.weights.h5"  # a Hyperband trial's weights, for its next round
POLL_SECONDS = 0.1  # how often the trial's process is checked and its memory sampled
INTERRUPTED = (130, 143)  # a trial's process stopped by SIGINT or SIGTERM


@dataclass
class SearchSetup:
    """What the search needs besides KerasTuner.

    Args:
        task: the task.
        config: the options the search starts from.
        info: the data.
        options: `tfapps tune`'s own options.
        space: the task's space, declared (`declare_space`).
        directory: the search's folder in the run directory.
        data: the saved train and validation splits (`data.save_search_data`).
        pool_examples: train + validation examples (what the final training reads).
    """

    task: Task
    config: RunConfig
    info: DatasetInfo
    options: TuneOptions
    space: Space
    directory: Path
    data: Path
    pool_examples: int

    @property
    def objective(self) -> keras_tuner.Objective:
        """The task's headline metric on validation, as Keras logs it (`val_accuracy`)."""
        return keras_tuner.Objective(
            f"val_{self.task.headline_metric}", self.task.headline_direction
        )


class SearchHyperModel(keras_tuner.HyperModel):
    """Declares the task's space; `build` returns a trial's options (not a model)."""

    def __init__(self, setup: SearchSetup) -> None:
        super().__init__(name=setup.task.name)
        self.setup = setup

    def build(self, hp: keras_tuner.HyperParameters) -> RunConfig:
        setup = self.setup
        space = Space(hp, setup.options.overrides)
        return setup.task.search_space(space, setup.config, setup.info)


def declare_space(task: Task, config: RunConfig, info: DatasetInfo, options: TuneOptions) -> Space:
    """Declares the task's space once and checks `--space` against it: unknown knobs, and
    values the task's options do not take (each knob's choices or bounds, the others at
    their defaults), before anything is written.

    Raises:
        InvalidInput: naming the `--space` item.
    """
    overrides = options.overrides
    space = Space(keras_tuner.HyperParameters(), overrides)
    task.search_space(space, config, info)
    space.check_overrides(task.name)
    for name, knob in space.knobs.items():
        for value in knob.values:
            probe = space.hp.copy()
            probe.values[name] = value
            try:
                task.search_space(Space(probe, overrides), config, info)
            except InvalidInput as error:
                if name not in overrides:
                    raise
                raise InvalidInput(
                    f"Invalid value for --space: {overrides[name].text} gives {name} "
                    f"{value!r}, which the options refuse ({error})"
                ) from None
    return space


class SearchTuner(keras_tuner.engine.base_tuner.BaseTuner):
    """KerasTuner's tuner loop, each trial run by `tfapps tune-trial` in its own process.

    Args:
        setup: what the search needs.
        budget: the search's time budget.
    """

    def __init__(self, setup: SearchSetup, budget: Budget) -> None:
        self.setup, self.budget = setup, budget
        options, task, config = setup.options, setup.task, setup.config
        hypermodel = SearchHyperModel(setup)
        oracle = oracles.make_oracle(
            options.tuner,
            setup.objective,
            options.trial_limit,
            max_epochs=task.max_epochs(config, setup.info),
            min_epochs=config.patience,
            knobs=len(setup.space.knobs),
            seed=config.seed,
        )
        oracle.admit = self._admits
        with contextlib.redirect_stdout(io.StringIO()):  # KerasTuner prints "Reloading ..."
            super().__init__(
                oracle,
                hypermodel,
                directory=str(setup.directory.parent),
                project_name=setup.directory.name,
                overwrite=False,
            )
        self.save()  # a search killed in its first trial resumes it too

    def records(self) -> list[dict[str, Any]]:
        """The finished trials' records, in the order they started."""
        return trial_records(self.setup.directory)

    def run_trial(self, trial, *args, **kwargs) -> dict[str, float]:
        """Runs one trial's process and returns its validation score.

        Raises:
            keras_tuner.errors.FailedTrialError: the trial failed (the search goes on).
            KeyboardInterrupt: the search was interrupted (the trial keeps its checkpoint).
        """
        setup, values = self.setup, dict(trial.hyperparameters.values)
        directory = Path(self.get_trial_dir(trial.trial_id))
        config = self.hypermodel.build(trial.hyperparameters)
        number = int(trial.trial_id) + 1
        spec = {
            "trial": number,
            "config": dataclasses.replace(config, quiet=True).to_dict(),
            "quiet": setup.config.quiet,
            "data": str(setup.data),
            "folds": setup.options.folds,
            "objective": setup.objective.name,
            "save_weights": setup.options.tuner == "hyperband",
            "load_from": None,
            "initial_epoch": 0,
            "title": self._title(number),
            "budget": self.budget.seconds,
            "budget_end": None if self.budget.left is None else time.time() + self.budget.left,
        }
        if "tuner/epochs" in values:  # Hyperband: this round's epochs, after the last's
            spec["initial_epoch"] = values["tuner/initial_epoch"]
            spec["config"]["epochs"] = values["tuner/epochs"] - values["tuner/initial_epoch"]
            if values.get("tuner/trial_id"):
                spec["load_from"] = self.get_trial_dir(values["tuner/trial_id"])
        spec["deadline"] = self.budget.deadline(self._reserve())
        settings = {k: v for k, v in values.items() if not k.startswith("tuner/")}
        left = self.budget.left
        budget = (
            "" if left is None else f", {clock(max(0, left))} of {clock(self.budget.seconds)} left"
        )
        log.info("%s%s: %s", spec["title"], budget, _settings(settings))
        (directory / SPEC_JSON).write_text(json.dumps(spec, indent=2))
        result, peak, seconds = self._run_process(directory)
        record = {
            **result,
            "trial": number,
            "trial_id": trial.trial_id,
            "settings": settings,
            "config": spec["config"],
            "from_trial": values.get("tuner/trial_id"),
            "initial_epoch": spec["initial_epoch"],
            "seconds": seconds,
            "peak_rss_mb": peak / 2**20,
        }
        (directory / RECORD_JSON).write_text(json.dumps(record, indent=2))
        log.info("%s", _outcome_line(record, setup.objective.name))
        if record["status"] == "failed":
            raise keras_tuner.errors.FailedTrialError(record["error"])
        return {setup.objective.name: record["score"]}

    def _run_process(self, directory: Path) -> tuple[dict, float, float]:
        """Runs `tfapps tune-trial` on the trial's spec; returns its result, its peak resident
        memory in bytes and its wall seconds."""
        started, peak = time.monotonic(), 0
        command = [sys.executable, "-m", "tfapps", "tune-trial", str(directory / SPEC_JSON)]
        with psutil.Popen(command, stdin=subprocess.DEVNULL) as process:
            try:
                while process.poll() is None:
                    with contextlib.suppress(psutil.Error):
                        peak = max(peak, process.memory_info().rss)
                    self.budget.save()
                    time.sleep(POLL_SECONDS)
            except KeyboardInterrupt:  # stop the trial at a step end, keeping its checkpoint
                with contextlib.suppress(OSError):
                    process.send_signal(signal.SIGTERM)
                process.wait()
                raise
        self.budget.save(force=True)
        result_path = directory / RESULT_JSON
        if process.returncode in INTERRUPTED and not result_path.is_file():
            raise KeyboardInterrupt
        if not result_path.is_file():
            result = {
                "status": "failed",
                "error": f"the trial's process ended with status "
                f"{process.returncode} and no result (rerun with --debug)",
            }
        else:
            result = json.loads(result_path.read_text())
        return result, float(peak), time.monotonic() - started

    def _admits(self) -> bool:
        """Whether another trial fits the budget (the finished trials' median time)."""
        seconds = [r["seconds"] for r in self.records() if r["status"] != "failed"]
        return self.budget.admits(seconds, self._reserve())

    def _reserve(self) -> float | None:
        """Seconds the final training is expected to take: the best trial's examples per
        second (epochs × training examples of each of its trainings over its wall time)
        at its best epoch on train + validation; `None` before a trial finished."""
        best = best_record(self.records(), self.setup.task.headline_direction)
        if best is None:
            return None
        rate = best["example_epochs"] / max(best["seconds"], 1e-9)
        return best["best_epoch"] * self.setup.pool_examples / max(rate, 1e-9)

    def _title(self, number: int) -> str:
        """`trial 3/20, best val_accuracy 0.9813 (trial 1)`."""
        limit = self.setup.options.trial_limit
        parts = [f"trial {number}" + (f"/{limit}" if limit else "")]
        best = best_record(self.records(), self.setup.task.headline_direction)
        if best is not None:
            parts.append(
                f"best {self.setup.objective.name} {best['score']:.4f} (trial {best['trial']})"
            )
        return ", ".join(parts)


def run_search(setup: SearchSetup) -> list[dict[str, Any]]:
    """Runs (or resumes) the search until its trials, its budget or its space run out.

    Returns:
        Every trial's record, in the order the trials started.

    Raises:
        RunFailed: three trials in a row failed (the last one's error is named).
        KeyboardInterrupt: the search was interrupted; it resumes where it stopped.
    """
    budget = Budget(setup.options.budget, setup.directory / BUDGET_JSON)
    tuner = SearchTuner(setup, budget)
    try:
        tuner.search(verbose=0)  # tfapps shows the progress
    except RuntimeError as error:  # KerasTuner's limit of consecutive failed trials
        failed = [r for r in tuner.records() if r["status"] == "failed"]
        if not failed:
            raise
        raise RunFailed(
            f"{len(failed)} trials failed, the last three in a row; the last: {failed[-1]['error']}"
        ) from error
    finally:
        budget.save(force=True)
    return tuner.records()


def trial_records(directory: Path) -> list[dict[str, Any]]:
    """The records of a search's finished trials (in `directory`), in the order they started
    (KerasTuner numbers trials as it creates them, and a resumed trial keeps its number)."""
    found = [json.loads(path.read_text()) for path in directory.glob(f"trial_*/{RECORD_JSON}")]
    return sorted(found, key=lambda record: record["trial"])


def drop_trial_weights(directory: Path) -> None:
    """Deletes the weights Hyperband's trials kept for their next round, once the search is
    over (the final model is trained anew)."""
    for path in directory.glob(f"trial_*/**/{TRIAL_WEIGHTS}"):
        path.unlink()


def best_record(records: list[dict[str, Any]], direction: str) -> dict[str, Any] | None:
    """The trial with the best score (the earliest of equals, so the defaults win a tie);
    `None` when no trial scored."""
    scored = [r for r in records if r.get("score") is not None]
    if not scored:
        return None
    sign = -1 if direction == "max" else 1
    return min(scored, key=lambda r: (sign * r["score"], r["trial"]))


def _settings(settings: dict[str, Any]) -> str:
    return " ".join(
        f"{name}={value:.3g}" if isinstance(value, float) else f"{name}={value}"
        for name, value in settings.items()
    )


def _outcome_line(record: dict[str, Any], objective: str) -> str:
    """`trial 3: val_accuracy 0.9750 at epoch 18 of 23 (early stopped), 0:31, 812 MB`."""
    if record["status"] == "failed":
        return f"trial {record['trial']} failed: {record['error']}"
    resumed = record.get("resumed_at_epoch")
    return (
        f"trial {record['trial']}: {objective} {record['score']:.4f} at epoch "
        f"{record['best_epoch']} of {record['epochs_run']} ({record['status'].replace('_', ' ')}"
        f"{f', continued from epoch {resumed}' if resumed else ''}), "
        f"{clock(record['seconds'])}, peak memory {record['peak_rss_mb']:.0f} MB"
    )
