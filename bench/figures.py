"""The figures the tables show, derived from the raw results of the training runs.

A training process writes every epoch's train-phase seconds and test quality
(`bench/measure.py`); `run_summary` keeps what the tables need of them, and only that is stored:

- time to target: the seconds of the training phases (validation and end-of-epoch callbacks
  excluded) up to and including the first epoch whose weights score at or past the target on
  the test split, plus any preprocessing the recipe did before `fit` that tfapps does inside
  its first epoch (the reference's vectorization of the training texts); `None` when no
  epoch reached it.
- steady-state examples/s: training examples ÷ the median training phase of the epochs after
  the first (the first also traces the step functions and, for tfapps, fills the cache).
- stalled epochs: epochs after the first whose training phase took at least `STALL_SECONDS`
  (5) longer than the run's median; on the 2-core VMs measured here such epochs took about
  10 s more than their neighbours, on either side, at random.
"""

from __future__ import annotations

import statistics

import pandas as pd
from scipy import stats

from bench.plan import SIDES, Comparison

STALL_SECONDS = 5.0


def time_to_target(run: dict, comparison: Comparison) -> float | None:
    """Seconds of training until the test quality first reached the target, or `None`."""
    elapsed = run.get("prepare_seconds", 0.0)
    for seconds, quality in zip(run["epoch_seconds"], run["epoch_quality"], strict=True):
        elapsed += seconds
        if comparison.reached(quality):
            return elapsed
    return None


def steady_examples_per_second(run: dict) -> float:
    """Training examples per second in the epochs after the first (the only one if alone)."""
    epochs = run["epoch_seconds"][1:] or run["epoch_seconds"]
    return run["train_examples"] / statistics.median(epochs)


def stalled_epochs(run: dict) -> int:
    """How many epochs after the first took at least `STALL_SECONDS` longer than the median."""
    epochs = run["epoch_seconds"]
    typical = statistics.median(epochs)
    return sum(seconds >= typical + STALL_SECONDS for seconds in epochs[1:])


def run_summary(run: dict, comparison: Comparison) -> dict:
    """What is stored of one training run (`bench.runner.training_run`): its `side`, `seed`,
    `steps_per_execution`, `train_examples`, `quality` (the final test figure), `epochs`,
    `time_to_target`, `examples_per_second`, `stalled_epochs`, `fit_seconds`,
    `wall_seconds` and `peak_rss_mb`; not the epoch lists."""
    kept = ("side", "seed", "steps_per_execution", "train_examples")
    return {
        **{key: run[key] for key in kept},
        "quality": run["final_quality"],
        "epochs": len(run["epoch_seconds"]),
        "time_to_target": time_to_target(run, comparison),
        "examples_per_second": steady_examples_per_second(run),
        "stalled_epochs": stalled_epochs(run),
        **{key: run[key] for key in ("fit_seconds", "wall_seconds", "peak_rss_mb")},
    }


def paired_gain(runs: list[dict], comparison: Comparison) -> dict | None:
    """How much better tfapps' final test quality is than the reference's, seed by seed.

    Args:
        runs: the runs of both sides (`side`, `seed`, `quality`); only seeds run on both
            sides are paired.
        comparison: the task, which says whether higher quality is better.

    Returns:
        `seeds`, `mean` (the mean gain: positive where tfapps scored better), `low` and
        `high` (the 95% Student-t confidence interval of the mean; `None` for a single seed
        or gains without spread), `better` and `worse` (seeds where tfapps scored better or
        worse; the rest tied); `None` when no seed ran on both sides.
    """
    quality = pd.DataFrame(runs).pivot(index="seed", columns="side", values="quality")
    quality = quality.reindex(columns=list(SIDES)).dropna()
    if quality.empty:
        return None
    gains = [comparison.gain(q.tfapps, q.reference) for q in quality.itertuples()]
    mean = statistics.fmean(gains)
    spread = statistics.stdev(gains) if len(gains) > 1 else 0.0
    half = float(stats.t.ppf(0.975, len(gains) - 1)) * spread / len(gains) ** 0.5 if spread else 0
    low, high = (mean - half, mean + half) if spread else (None, None)
    better, worse = sum(g > 0 for g in gains), sum(g < 0 for g in gains)
    return {
        "seeds": len(gains),
        "mean": mean,
        "low": low,
        "high": high,
        "better": better,
        "worse": worse,
    }
