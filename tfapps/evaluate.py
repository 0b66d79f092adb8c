"""Scores a finished run's model on another split or dataset of the same kind.

Results go to `<run>/evaluations/<dataset>-<split>/<id>/` (metrics.csv and the same tables and
plots as training), written atomically (an evaluation refused or failed on the way leaves no
folder behind); the run's own training results are never touched.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tfapps import run_dirs, runs
from tfapps.data.info import SPLIT_NAMES
from tfapps.errors import InvalidInput


@dataclass
class Evaluation:
    """Where an evaluation was written, and its metrics table."""

    directory: Path
    metrics: pd.DataFrame


def evaluate(
    run_dir: Path,
    dataset: str,
    split: str = "test",
    data_dir: str | None = None,
    max_examples: int | None = None,
) -> Evaluation:
    """Scores the model of `run_dir` on `split` of `dataset`.

    Args:
        run_dir: a finished run directory (or its saved_model/ folder).
        dataset: any `--dataset` value of the run's task (embedded, catalog or local path).
        split: `"train"`, `"validation"` or `"test"`. Defaults to `"test"`.
        data_dir: TFDS data directory. Defaults to TFDS's own.
        max_examples: cap, as in training (splits shrink in proportion). Defaults to all.

    Raises:
        InvalidInput: not a run, an unknown split, data that does not fit the model (other
            classes, other columns, other image channels), or examples whose predictions are
            not finite numbers (`finite_outputs.refuse`, before anything is written).
    """
    if split not in SPLIT_NAMES:
        raise InvalidInput(
            f"Invalid value for --split: expected one of {'|'.join(SPLIT_NAMES)}. "
            f"Received: {split!r}"
        )
    record = runs.load_finished(run_dir)
    from tfapps.tasks import get_task

    task = get_task(record.task)
    overrides = {
        "dataset": dataset,
        "data_dir": data_dir,
        "max_examples": max_examples,
        "quiet": True,
        **task.evaluation_options(record),
    }
    config = dataclasses.replace(record.run_config, **overrides)

    from tfapps.data.load import load_splits
    from tfapps.pipeline import batched
    from tfapps.tasks import TaskModel

    splits = load_splits(config)
    task.check_fits(splits.info, record.dataset, dataset)
    task.adopt_training_facts(splits.info, record.dataset)
    model = task.load_model(record.directory / runs.MODEL_KERAS)
    batches = {split: batched(getattr(splits, split), config.batch_size)}
    folder = f"{run_dirs.dataset_slug(dataset)}-{split}"
    target = run_dirs.reserve(record.directory / runs.EVALUATIONS_DIR / folder)
    started = time.perf_counter()
    try:  # an evaluation is never resumed: a refusal or a failure leaves nothing behind
        metrics = task.evaluate_and_report(TaskModel(model), batches, splits, target.temp)
        runs.write_json(
            target.temp / runs.EVALUATION_JSON,
            {
                "run_id": record.run_id,
                "dataset": splits.info.to_dict(),
                "split": split,
                "finished_at": run_dirs.utc_now(),
                "seconds": time.perf_counter() - started,
            },
        )
    except BaseException:
        _discard(target.temp, record.directory)
        raise
    return Evaluation(run_dirs.publish(target), metrics)


def _discard(temp: Path, run_dir: Path) -> None:
    """Removes an evaluation's temporary folder, and the folders above it up to the run that
    it leaves empty."""
    shutil.rmtree(temp, ignore_errors=True)
    for folder in temp.parents:
        if folder == run_dir:
            break
        with contextlib.suppress(OSError):  # not empty: other evaluations live there
            folder.rmdir()
