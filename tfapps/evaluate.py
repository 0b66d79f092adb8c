"""Scores a finished run's model on another split or dataset of the same kind.

Results go to `<run>/evaluations/<dataset>-<split>/<id>/` (metrics.csv and the same tables and
plots as training), written atomically; the run's own training results are never touched.
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from tfapps import runs
from tfapps.config import RunConfig
from tfapps.data.splits import SPLIT_NAMES
from tfapps.errors import InvalidInput

EVALUATIONS = "evaluations"


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
        InvalidInput: not a run, an unknown split, or data that does not fit the model (other
            classes, other columns, other image channels).
    """
    if split not in SPLIT_NAMES:
        raise InvalidInput(
            f"Invalid value for --split: expected one of {'|'.join(SPLIT_NAMES)}. "
            f"Received: {split!r}"
        )
    run_dir = Path(run_dir)
    run_dir = run_dir.parent if run_dir.name == "saved_model" else run_dir
    record = runs.read_run(run_dir)
    if record.get("status") != "complete":
        raise InvalidInput(f"{run_dir} is not a finished run (status {record.get('status')!r}).")
    trained = record["dataset"]
    config = RunConfig.from_dict(record["config"])
    overrides = {
        "dataset": dataset,
        "data_dir": data_dir,
        "max_examples": max_examples,
        "quiet": True,
    }
    if config.task == "image-classify":
        overrides["image_size"] = tuple(trained["input_shape"][:2])
    config = dataclasses.replace(config, **overrides)

    import keras

    from tfapps import tasks, training  # tasks imports models, registering its serializables
    from tfapps.data.load import load_splits

    splits = load_splits(config)
    _check_fits(splits.info, trained, dataset)
    model = keras.models.load_model(run_dir / "model.keras", safe_mode=True)
    if config.task == "regress":  # the baseline is the mean the model was trained with
        splits.info.details["target_mean_train"] = trained["details"]["target_mean_train"]
    batches = {split: training.batched(getattr(splits, split), config.batch_size)}
    target = runs.reserve(run_dir / EVALUATIONS / f"{runs.dataset_slug(dataset)}-{split}")
    started = time.perf_counter()
    metrics = tasks.TASKS[config.task].report(tasks.Built(model), batches, splits, target.temp)
    runs.write_json(
        target.temp / "evaluation.json",
        {
            "run_id": record["run_id"],
            "dataset": dataclasses.asdict(splits.info),
            "split": split,
            "finished_at": runs.utc_now(),
            "seconds": time.perf_counter() - started,
        },
    )
    return Evaluation(runs.finalize(target), metrics)


def _check_fits(info, trained: dict, dataset: str) -> None:
    """Refuses data the model cannot score: other classes, channels or columns."""
    if info.class_names != trained["class_names"]:
        raise InvalidInput(
            f"{dataset!r} has classes {info.class_names}; the model was trained "
            f"on {trained['class_names']}."
        )
    if trained.get("input_shape") and info.input_shape != trained["input_shape"]:
        raise InvalidInput(
            f"{dataset!r} has images of shape {info.input_shape}; the model takes "
            f"{trained['input_shape']}."
        )
    columns = {c["input"]: c["kind"] for c in trained["details"].get("columns", [])}
    found = {c["input"]: c["kind"] for c in info.details.get("columns", [])}
    if columns != found:
        raise InvalidInput(
            f"{dataset!r} has the feature columns {sorted(found)}; the model "
            f"takes {sorted(columns)} with the same kinds."
        )
    if trained["details"].get("target") != info.details.get("target"):
        raise InvalidInput(
            f"{dataset!r} predicts {info.details.get('target')!r}; the model "
            f"predicts {trained['details'].get('target')!r}."
        )
