"""The figures the tables show, derived from the raw results of the training runs.

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


def summarize(runs: list[dict], comparison: Comparison) -> dict:
    """Medians over the seeds of one side's runs.

    Returns:
        A dict with `time_to_target` (median over the seeds that reached it, or `None`),
        `reached` (how many did), `runs`, `examples_per_second`, `fit_seconds`,
        `wall_seconds`, `quality`, `qualities` (per seed), `epochs` (per seed),
        `stalled_epochs` (per seed) and `peak_rss_mb`.
    """
    times = [t for t in (time_to_target(r, comparison) for r in runs) if t is not None]
    return {
        "time_to_target": statistics.median(times) if times else None,
        "reached": len(times),
        "runs": len(runs),
        "examples_per_second": statistics.median(steady_examples_per_second(r) for r in runs),
        "fit_seconds": statistics.median(r["fit_seconds"] for r in runs),
        "wall_seconds": statistics.median(r["wall_seconds"] for r in runs),
        "quality": statistics.median(r["final_quality"] for r in runs),
        "qualities": [r["final_quality"] for r in runs],
        "epochs": [len(r["epoch_seconds"]) for r in runs],
        "stalled_epochs": [stalled_epochs(r) for r in runs],
        "peak_rss_mb": statistics.median(r["peak_rss_mb"] for r in runs),
    }


def paired_gain(runs: list[dict], comparison: Comparison) -> dict | None:
    """How much better tfapps' final test quality is than the reference's, seed by seed.

    Args:
        runs: the runs of both sides (`side`, `seed`, `final_quality`); only seeds run on
            both sides are paired.
        comparison: the task, which says whether higher quality is better.

    Returns:
        A dict with `seeds`, `mean` (the mean gain: positive where tfapps scored better),
        `low` and `high` (the 95% Student-t confidence interval of the mean; `None` for a
        single seed or gains without spread), `better` and `worse` (seeds where tfapps
        scored better or worse; the rest tied), or `None` when no seed ran on both sides.
    """
    quality, seeds = _paired(runs)
    if not seeds:
        return None
    gains = [comparison.gain(quality["tfapps", s], quality["reference", s]) for s in seeds]
    mean = statistics.fmean(gains)
    spread = statistics.stdev(gains) if len(gains) > 1 else 0.0
    low = high = None
    if spread > 0:
        half = float(stats.t.ppf(0.975, len(gains) - 1)) * spread / len(gains) ** 0.5
        low, high = mean - half, mean + half
    return {
        "seeds": len(gains),
        "mean": mean,
        "low": low,
        "high": high,
        "better": sum(g > 0 for g in gains),
        "worse": sum(g < 0 for g in gains),
    }


def non_inferiority(runs: list[dict], comparison: Comparison, margin: float) -> dict | None:
    """Whether tfapps' final test quality is no worse than the reference's, up to a margin.

    tfapps passes when the lower end of the 95% interval of its mean paired gain
    (`paired_gain`) lies above minus the margin: with 95% confidence (2.5% on the side that
    matters), tfapps falls short of the reference by less than the margin, if at all.

    Args:
        runs: the runs of both sides, as for `paired_gain`.
        comparison: the task, which says whether higher quality is better.
        margin: the largest shortfall that still counts as equal quality, as a share of the
            reference's median final quality (0.01 is 1%).

    Returns:
        `paired_gain`'s dict plus `medians` (each side's median final quality over the seeds
        run on both sides), `allowed` (the margin in the metric's units) and `passed`, or
        `None` when no seed ran on both sides.
    """
    gain = paired_gain(runs, comparison)
    if gain is None:
        return None
    quality, seeds = _paired(runs)
    medians = {side: statistics.median(quality[side, s] for s in seeds) for side in SIDES}
    allowed = margin * abs(medians["reference"])
    passed = gain["low"] is not None and gain["low"] > -allowed
    return {**gain, "medians": medians, "allowed": allowed, "passed": passed}


def missing_runs(runs: list[dict], seeds: range) -> list[tuple[str, int]]:
    """The `(side, seed)` pairs of `seeds` that `runs` lack, seed by seed."""
    done = {(r["side"], r["seed"]) for r in runs}
    return [(side, seed) for seed in seeds for side in SIDES if (side, seed) not in done]


def _paired(runs: list[dict]) -> tuple[dict[tuple[str, int], float], list[int]]:
    """`({(side, seed): final quality}, the seeds run on both sides, sorted)`."""
    quality = {(r["side"], r["seed"]): r["final_quality"] for r in runs}
    seeds = sorted(s for side, s in quality if side == "reference" and ("tfapps", s) in quality)
    return quality, seeds
