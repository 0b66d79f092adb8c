"""`saved_models/summary.csv`: one row per finished run, rebuilt from the runs' run.json files."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import filelock

from tfapps.errors import InvalidInput
from tfapps.run_dirs import finished_runs
from tfapps.runs import SUMMARY_CSV, RunRecord

SUMMARY_COLUMNS = [
    "task",
    "dataset",
    "architecture",
    "run_id",
    "split",
    "metric",
    "value",
    "epochs",
    "parameters",
    "train_seconds",
    "examples_per_second",
    "seconds",
    "finished_at",
    "path",
]


def rebuild_summary(output_dir: Path) -> Path:
    """Rewrites `<output_dir>/summary.csv` with one row per finished run, atomically.

    Runs whose run.json does not parse are left out. The file is replaced under a lock, so
    runs finishing at once never corrupt it.

    Returns:
        The path of summary.csv.
    """
    import pandas as pd

    output_dir = Path(output_dir)
    with filelock.FileLock(output_dir / f".{SUMMARY_CSV}.lock"):
        rows = []
        for run_dir in finished_runs(output_dir):
            with contextlib.suppress(InvalidInput):
                rows.append(summary_row(RunRecord.load(run_dir)))
        table = pd.DataFrame(rows, columns=SUMMARY_COLUMNS)
        target = output_dir / SUMMARY_CSV
        temp = target.with_name(f".{SUMMARY_CSV}.{os.getpid()}.tmp")
        table.to_csv(temp, index=False)
        os.replace(temp, target)
    return target


def summary_row(record: RunRecord) -> dict[str, Any]:
    """Returns the summary.csv row of one finished run (its `directory` is the path)."""
    headline, training, timings = record.headline, record.training, record.timings
    return {
        "task": record.task,
        "dataset": record.dataset.name,
        "architecture": record.architecture,
        "run_id": record.run_id,
        "split": headline.get("split"),
        "metric": headline.get("metric"),
        "value": headline.get("value"),
        "epochs": training.get("epochs_run"),
        "parameters": training.get("parameters"),
        "train_seconds": timings.get("train_seconds"),
        "examples_per_second": training.get("examples_per_second"),
        "seconds": timings.get("total_seconds"),
        "finished_at": record.finished_at,
        "path": str(record.directory),
    }
