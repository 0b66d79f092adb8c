"""A search's report: trials.csv (one row per trial) and plots/search.png."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from tfapps import runs
from tfapps.report_plots import pyplot


def write_search_report(
    run_dir: Path, trials: list[dict], objective: str, direction: str
) -> pd.DataFrame:
    """Writes trials.csv (one row per trial of a `tfapps tune` search: its settings, status,
    best validation score, epochs, seconds and peak memory) and plots/search.png.

    Args:
        run_dir: the (temporary) run directory.
        trials: the trials' records (`tune.search`), in the order they started; trial 1
            is the defaults.
        objective: the score's name (`val_accuracy`).
        direction: `"max"` or `"min"`, whether a higher score is better.

    Returns:
        The trials table.
    """
    table = pd.DataFrame(
        [
            {
                "trial": trial["trial"],
                "status": trial["status"],
                objective: trial.get("score"),
                "best_epoch": trial.get("best_epoch"),
                "epochs": trial.get("epochs_run"),
                "seconds": round(trial["seconds"], 2),
                "peak_rss_mb": round(trial["peak_rss_mb"], 1),
                "from_trial": None
                if trial.get("from_trial") is None
                else int(trial["from_trial"]) + 1,
                "resumed_at_epoch": trial.get("resumed_at_epoch") or None,
                **trial["settings"],
                "error": trial.get("error"),
            }
            for trial in trials
        ]
    )
    counts = ["best_epoch", "epochs", "from_trial", "resumed_at_epoch"]
    table[counts] = table[counts].astype("Int64")  # whole numbers, empty where none
    table.to_csv(run_dir / runs.TRIALS_CSV, index=False)
    plots = run_dir / runs.PLOTS_DIR
    plots.mkdir(exist_ok=True)
    plot_search(table, objective, direction, plots / "search.png")
    return table


def plot_search(table: pd.DataFrame, objective: str, direction: str, path: Path) -> None:
    """Draws each trial's validation score with the best so far, and each trial's wall time
    and peak memory."""
    plt = pyplot()
    scores = table[objective].astype(float)
    best = scores.cummax() if direction == "max" else scores.cummin()
    figure, (score_axis, time_axis) = plt.subplots(1, 2, figsize=(11, 3.8))
    score_axis.plot(table["trial"], scores, "o", label="trial")
    score_axis.step(table["trial"], best.ffill(), where="post", label="best so far")
    score_axis.plot(
        table["trial"][:1], scores[:1], "s", markersize=10, fillstyle="none", label="the defaults"
    )
    score_axis.set(title=f"{objective} by trial", xlabel="trial")
    score_axis.grid(alpha=0.3)
    score_axis.legend()
    time_axis.bar(table["trial"], table["seconds"], color="tab:gray", label="seconds")
    time_axis.set(title="wall time and peak memory by trial", xlabel="trial", ylabel="seconds")
    memory_axis = time_axis.twinx()
    memory_axis.plot(table["trial"], table["peak_rss_mb"], "o-", color="tab:red")
    memory_axis.set_ylabel("peak resident memory (MB)", color="tab:red")
    memory_axis.set_ylim(bottom=0)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
