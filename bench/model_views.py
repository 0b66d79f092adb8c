"""What docs/BENCHMARKS.md shows of the model sections (`bench/model_sections.py`): each
dataset's rows (medians over the seeds) and whether its goals are met (`bench/plan.py`)."""

from __future__ import annotations

import pandas as pd

from bench import plan

FIGURES = ["accuracy", "balanced_accuracy", "roc_auc", "wall_seconds", "peak_rss_mb"]


def _rows(entry: dict, figures: list[str], sides: list[str]) -> dict[str, pd.DataFrame]:
    """The datasets on which every one of `sides` ran: their sides in the order they ran,
    with their medians over the seeds."""
    runs = pd.DataFrame(entry["runs"])
    runs = runs.reindex(columns=["dataset", "side", "seed", *figures]).astype(
        {f: float for f in figures}
    )
    medians = {
        name: rows.groupby("side", sort=False)[figures].median()
        for name, rows in runs.groupby("dataset", sort=False)
    }
    return {name: rows for name, rows in medians.items() if set(sides) <= set(rows.index)}


def _seeds(entry: dict) -> str:
    seeds = max(run["seed"] for run in entry["runs"])
    return "seed 1" if seeds == 1 else f"medians of seeds 1-{seeds}"


def text_baselines(entry: dict) -> dict:
    """Per dataset: --architecture auto at least TF-IDF + LR and at least conv; on IMDB also
    at least `TEXT_IMDB_GOAL`."""
    datasets = []
    sides = [f"tfapps {a}" for a in plan.TEXT_ARCHITECTURES] + ["tfidf_lr"]
    for name, rows in _rows(entry, FIGURES, sides).items():
        auto = rows.loc["tfapps auto", "accuracy"]
        checks = {
            "auto ≥ TF-IDF + LR": auto >= rows.loc["tfidf_lr", "accuracy"],
            "auto ≥ conv": auto >= rows.loc["tfapps conv", "accuracy"],
        }
        if name == "imdb":
            checks[f"auto ≥ {plan.TEXT_IMDB_GOAL}"] = auto >= plan.TEXT_IMDB_GOAL
        chosen = next(
            run["architecture"]
            for run in entry["runs"]
            if run["dataset"] == name and run["side"] == "tfapps auto"
        )
        datasets.append(_dataset(entry, name, rows, checks, chosen=chosen))
    return {"entry": entry, "datasets": datasets, "seeds": _seeds(entry)}


def table_baselines(entry: dict) -> dict:
    """Per table: tfapps' accuracy and ROC AUC at least logistic regression's; on Adult also
    accuracy at least `TABLE_ADULT_GOAL[0]`, at most `[1]` under gradient boosting's, and a
    wall time under `[2]` seconds."""
    least, trail, seconds = plan.TABLE_ADULT_GOAL
    datasets = []
    for name, rows in _rows(entry, FIGURES, ["tfapps", "hgb", "logistic"]).items():
        ours, logistic = rows.loc["tfapps"], rows.loc["logistic"]
        checks = {
            "accuracy ≥ LR's": ours.accuracy >= logistic.accuracy,
            "ROC AUC ≥ LR's": ours.roc_auc >= logistic.roc_auc,
        }
        if name == "adult":
            checks[f"accuracy ≥ {least}"] = ours.accuracy >= least
            gap = rows.loc["hgb", "accuracy"] - ours.accuracy
            checks[f"within {trail * 100:g} points of HGB"] = gap <= trail
            checks[f"wall < {seconds:g} s"] = ours.wall_seconds < seconds
        datasets.append(_dataset(entry, name, rows, checks))
    return {"entry": entry, "datasets": datasets, "seeds": _seeds(entry)}


def backbones(entry: dict) -> dict:
    """Per folder: the backbone's test accuracy at least `BACKBONE_GOALS`', its wall time
    at most the tutorial's and its peak RSS at most `BACKBONE_RSS_MARGIN_MB` over it."""
    datasets = []
    figures = ["accuracy", "wall_seconds", "peak_rss_mb"]
    sides = [f"tfapps --backbone {plan.BACKBONE}", "tfapps --backbone none", "tutorial"]
    for name, rows in _rows(entry, figures, sides).items():
        ours, tutorial = rows.loc[sides[0]], rows.loc["tutorial"]
        bar, margin = plan.BACKBONE_GOALS[name], plan.BACKBONE_RSS_MARGIN_MB
        checks = {
            f"accuracy ≥ {bar}": ours.accuracy >= bar,
            "wall ≤ the tutorial's": ours.wall_seconds <= tutorial.wall_seconds,
            f"peak RSS ≤ the tutorial's + {margin:,} MB": (
                ours.peak_rss_mb <= tutorial.peak_rss_mb + margin
            ),
        }
        datasets.append(_dataset(entry, name, rows, checks, photos=entry["photos"][name]))
    return {"entry": entry, "datasets": datasets, "seeds": _seeds(entry)}


def tune(entry: dict) -> dict:
    """Per dataset: the defaults' median and standard deviation over their seeds, the
    search's run, its gain on test over the defaults' run of the same seed (the same
    split; positive: better, for MAE too), and
    its peak memory by trial; the goal (`plan.TUNE_BEYOND_SPREAD`, `TUNE_MEMORY_GROWTH`)
    over all datasets. A search never scores worse on validation than the defaults, which
    are its first trial."""
    figures = ["validation", "quality", "trials", "wall_seconds", "peak_rss_mb"]
    runs = pd.DataFrame(entry["runs"])
    datasets = []
    for name, rows in _rows(entry, figures, ["default", "tune"]).items():
        metric = next(run["metric"] for run in entry["runs"] if run["dataset"] == name)
        defaults = runs[(runs.dataset == name) & (runs.side == "default")]
        spread = defaults["quality"].std() if len(defaults) > 1 else None
        search = runs[(runs.dataset == name) & (runs.side == "tune")].iloc[0]
        paired = defaults[defaults.seed == search.seed]["quality"].iloc[0]  # the same split
        gain = search.quality - paired
        gain = -gain if metric == "mae" else gain
        view = {"name": name, "metric": metric, "rows": rows.reset_index().to_dict("records")}
        view.update(defaults=len(defaults), spread=spread, gain=gain, paired=paired)
        view["seed"] = int(search.seed)
        view.update(memory=_trial_memory(runs, name), folds=entry.get("folds", {}).get(name))
        view["beyond_spread"] = spread is not None and gain > spread
        datasets.append(view)
    at_least = all(d["gain"] >= 0 for d in datasets)
    beyond = sum(d["beyond_spread"] for d in datasets)
    measured = [d["memory"]["flat"] for d in datasets if d["memory"] is not None]
    flat = all(measured) if measured else None  # None: no search recorded its trials' memory
    met = at_least and beyond >= plan.TUNE_BEYOND_SPREAD and bool(flat)
    goal = {"at_least": at_least, "beyond": beyond, "flat": flat, "met": met}
    return {"entry": entry, "datasets": datasets, "goal": goal, "seeds": _seeds(entry)}


def _trial_memory(runs: pd.DataFrame, name: str) -> dict | None:
    """The search's peak resident MB of trial 2 and of trial `plan.TUNE_MEMORY_TRIAL` (or
    its last, if it ran fewer), their growth, and the most of any trial; `None` before
    trial 2 or where the run recorded none."""
    search = runs[(runs.dataset == name) & (runs.side == "tune")]
    peaks = search["trial_peak_rss_mb"].iloc[0] if "trial_peak_rss_mb" in search else None
    if not isinstance(peaks, list) or len(peaks) < 2:
        return None
    later = min(plan.TUNE_MEMORY_TRIAL, len(peaks))
    growth = peaks[later - 1] / peaks[1] - 1
    memory = {"second": peaks[1], "later_trial": later, "later": peaks[later - 1]}
    memory.update(most=max(peaks), growth=growth, flat=growth <= plan.TUNE_MEMORY_GROWTH)
    return memory


def _dataset(entry: dict, name: str, rows: pd.DataFrame, checks: dict, **facts) -> dict:
    verdict = "; ".join(f"{check}: {'yes' if ok else 'no'}" for check, ok in checks.items())
    return {
        "name": name,
        "rows": rows.reset_index().to_dict("records"),
        "sizes": entry.get("sizes", {}).get(name),
        "met": all(checks.values()),
        "verdict": verdict,
        **facts,
    }


VIEWS = {
    "text_baselines": text_baselines,
    "table_baselines": table_baselines,
    "backbones": backbones,
    "tune": tune,
}
