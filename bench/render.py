"""Renders docs/BENCHMARKS.md from the stored results.

pandas derives what the tables show from the stored runs (medians, ratios, goals met);
the template `bench/BENCHMARKS.md.j2` lays out the tables and holds the prose around them.
"""

from __future__ import annotations

from pathlib import Path

import jinja2
import pandas as pd

from bench import model_views, plan
from bench.figures import STALL_SECONDS, paired_gain
from bench.plan import ALL_COMPARISONS, COMPARISONS, PHOTOS, SIDES, Comparison

TEMPLATE = Path(__file__).with_name("BENCHMARKS.md.j2")
MEDIANS = ["time_to_target", "examples_per_second", "fit_seconds", "wall_seconds", "quality"]
ABLATIONS = (  # (entry, side, steps per call or None for any, label)
    ("comparison", "reference", None, "reference: NumPy arrays, `model.fit`, 1 step per call"),
    ("ablation", "reference", None, "reference + 32 steps per call"),
    (
        "ablation",
        "tfapps",
        1,
        "tfapps at 1 step per call (tf.data: preprocess once, cache, shuffle, batch, prefetch;"
        " for text, batches padded to full length)",
    ),
    ("ablation", "tfapps", 32, "tfapps + 32 steps per call (batches padded to full length)"),
    ("comparison", "tfapps", None, "tfapps default (32 steps per call; for text, length batches)"),
)


def render(entries: dict) -> str:
    """Returns the markdown of docs/BENCHMARKS.md for the stored entries (`Results.entries`)."""
    environment = jinja2.Environment(
        undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    environment.filters.update(f=format, each=_values)
    helpers = {"gain": _gain, "time": _time, "ratio": _ratio, "stalls": _stalls}
    environment.globals.update(provenance=provenance, plan=plan, stall=STALL_SECONDS, **helpers)
    runs = {
        c: entries.get(f"comparison/{c.name}", {"runs": []})["runs"]
        for c in ALL_COMPARISONS.values()
    }
    ran = [c for c, done in runs.items() if {run["side"] for run in done} == set(SIDES)]
    shown = {
        "comparisons": [_comparison(c, entries) for c in ran if c is not PHOTOS],
        "photos": _comparison(PHOTOS, entries) if PHOTOS in ran else None,
        "ablations": [a for a in (_ablation(c, entries) for c in COMPARISONS.values()) if a],
        **{key: view(entries[key]) for key, view in _VIEWS.items() if key in entries},
    }
    template = environment.from_string(TEMPLATE.read_text())
    return template.render({**dict.fromkeys(_VIEWS), **shown}) + "\n"


def _comparison(comparison: Comparison, entries: dict) -> dict:
    """Each side's medians and per-seed figures, the paired gain, and whether the goal is met:
    for the photos, the tutorial's accuracy at no more wall time or peak memory; otherwise
    `GOAL_SPEED_UP` at equal or better median quality or, failing that, a confirmation on
    fresh seeds that passed."""
    entry = entries[f"comparison/{comparison.name}"]
    runs = pd.DataFrame(entry["runs"]).astype({"time_to_target": float})
    medians = runs.groupby("side")[[*MEDIANS, "peak_rss_mb"]].median()
    ref, ours = ({**medians.loc[side], **_per_seed(runs[runs.side == side])} for side in SIDES)
    speed_up = ours["examples_per_second"] / ref["examples_per_second"]
    view = {"c": comparison, "entry": entry, "ref": ref, "ours": ours, "speed_up": speed_up}
    view.update(gain=paired_gain(entry["runs"], comparison), seeds=_seeds(len(ref["qualities"])))
    if comparison is PHOTOS:
        checks = {
            "accuracy at least the tutorial's": ours["quality"] >= ref["quality"],
            "no more wall time": ours["wall_seconds"] <= ref["wall_seconds"],
            "no more peak memory": ours["peak_rss_mb"] <= ref["peak_rss_mb"],
        }
        verdict = "; ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in checks.items())
        return {**view, "met": all(checks.values()), "verdict": verdict}
    median_ok = comparison.gain(ours["quality"], ref["quality"]) >= 0
    confirmation = entries.get(f"confirmation/{comparison.name}")
    verdict = f"median final quality {'equal or better' if median_ok else 'worse'}"
    if confirmation:
        seeds = f"seeds {confirmation['first_seed']}-{confirmation['last_seed']}"
        confirmation = {**confirmation, "seeds": seeds}
        outcome = "not worse" if confirmation["passed"] else "not shown to be not worse"
        verdict += (
            f"; {outcome} by more than {confirmation['margin']:.0%} on {confirmation['seeds']}"
        )
    passed = median_ok or bool(confirmation and confirmation["passed"])
    met = speed_up >= plan.GOAL_SPEED_UP and passed
    return {**view, "met": met, "verdict": verdict, "confirmation": confirmation}


def _per_seed(runs: pd.DataFrame) -> dict:
    """One side's figures seed by seed, and how many seeds reached the target."""
    lists = {"qualities": runs.quality, "epochs": runs.epochs, "stalls": runs.stalled_epochs}
    return {key: values.tolist() for key, values in lists.items()} | {
        "reached": int(runs.time_to_target.count())
    }


def _ablation(comparison: Comparison, entries: dict) -> dict | None:
    """Seed 1 of each variant of one comparison, or `None` when fewer than two ran."""
    found = []
    for source, side, steps, label in ABLATIONS:
        runs = entries.get(f"{source}/{comparison.name}", {"runs": []})["runs"]
        for run in runs:
            if (
                run["side"] == side
                and run["seed"] == 1
                and steps in (None, run["steps_per_execution"])
            ):
                found.append(
                    {**run, "label": label, "entry": entries[f"{source}/{comparison.name}"]}
                )
                break
    return {"c": comparison, "runs": found} if len(found) > 1 else None


def _photo_memory(entry: dict) -> dict:
    first, last = entry["runs"][0], entry["runs"][-1]
    growth = (last["peak_rss_mb"] - first["peak_rss_mb"]) / max(1, last["photos"] - first["photos"])
    peak, most = max(run["peak_rss_mb"] for run in entry["runs"]), plan.PHOTO_MEMORY_GOAL
    return {"entry": entry, "growth": growth, "met": peak < most[0] and growth < most[1]}


def _short_texts(entry: dict) -> dict:
    runs = pd.DataFrame(entry["runs"])
    layouts = runs.groupby("layout", sort=False).agg(
        accuracies=("accuracy", list),
        median=("accuracy", "median"),
        chosen=("chosen_layout", "first"),
        sequence_length=("sequence_length", "first"),
        wall_seconds=("wall_seconds", "median"),
    )
    auto = layouts.loc["auto"]
    return {
        "entry": entry,
        "layouts": layouts.reset_index().to_dict("records"),
        "median": auto["median"],
        "met": auto["median"] >= entry["published"],
        "seeds": _seeds(len(auto.accuracies)),
    }


def _digits(entry: dict) -> dict:
    """A digit-folder section: its median test accuracy and, if stored, the earlier code's."""
    earlier = entry.get("earlier")
    if earlier:
        earlier = {**earlier, "median": pd.Series(earlier["accuracies"]).median()}
    accuracy = pd.Series([run["accuracy"] for run in entry["runs"]]).median()
    return {
        "entry": entry,
        "accuracy": accuracy,
        "earlier": earlier,
        "seeds": _seeds(len(entry["runs"])),
    }


def _serving(entry: dict) -> dict:
    """`tfapps serve` under load; each task meets the goal with at the most clients at least
    3× one client's requests/s, a p99 under 50 ms and no errors, one client at p50 under 5 ms,
    p99 under 20 ms."""
    times, p50, p99, busy_p99 = plan.SERVING_GOAL
    rows, met = [], {}
    for task, loads in entry["tasks"].items():
        by_clients = {load["clients"]: load for load in loads}
        lone, busy = by_clients[1], by_clients[max(by_clients)]
        rows += [{**load, "task": task, "lone": lone["requests_per_second"]} for load in loads]
        met[task] = (
            busy["requests_per_second"] >= times * lone["requests_per_second"]
            and busy["p99_ms"] < busy_p99
            and not any(load["errors"] for load in loads)
            and lone["p50_ms"] < p50
            and lone["p99_ms"] < p99
        )
    return {"entry": entry, "rows": rows, "met": met, "clients": max(r["clients"] for r in rows)}


def _scale(entry: dict) -> dict:
    runs = pd.DataFrame(entry["runs"]).sort_values("fraction")
    runs["epoch_seconds"] = runs.train_examples / runs.examples_per_second
    first, last = runs.iloc[0], runs.iloc[-1]
    growth = {
        key: last[key] / first[key] for key in ("train_examples", "epoch_seconds", "peak_rss_mb")
    }
    return {
        "entry": entry,
        "runs": runs.to_dict("records"),
        "first": first,
        "last": last,
        "growth": growth,
    }


def _big_csv(entry: dict) -> dict:
    """The large-CSV reads; the goal is tfapps' whole read under `BIG_CSV_GOAL`'s seconds and
    its process's peak RSS under its MB."""
    runs = {(run["reader"], run["max_examples"]): run for run in entry["runs"]}
    whole = runs.get(("tfapps", None))
    seconds, megabytes = plan.BIG_CSV_GOAL
    met = bool(whole) and whole["read_seconds"] < seconds and whole["peak_rss_mb"] < megabytes
    return {"entry": entry, "runs": entry["runs"], "met": met}


_VIEWS = {
    "photo_memory": _photo_memory,
    "short_texts": _short_texts,
    "mnist": _digits,
    "mnist_folder": _digits,
    "serving": _serving,
    "scale": _scale,
    "startup": lambda entry: {
        "entry": entry,
        "ratio": entry["help_seconds"] / entry["import_tensorflow_seconds"],
    },
    "predict": lambda entry: {"entry": entry},
    "big_csv": _big_csv,
    **model_views.VIEWS,
}


def _gain(gain: dict | None) -> str:
    """The mean paired gain, its 95% interval and the seeds each side won."""
    if gain is None:
        return ""
    interval = "" if gain["low"] is None else f" (95% CI {gain['low']:+.4f} to {gain['high']:+.4f})"
    return (
        f"{gain['mean']:+.4f}{interval}; better on {gain['better']}, worse on "
        f"{gain['worse']} of {gain['seeds']} seed{'s' if gain['seeds'] > 1 else ''}"
    )


def _time(side: dict) -> str:
    """The median time to target and, unless every seed did, how many seeds reached it."""
    runs = len(side["qualities"])
    if not side["reached"]:
        return f"not reached (0/{runs})"
    shown = f"{side['time_to_target']:.1f}"
    return shown + (f" (reached {side['reached']}/{runs})" if side["reached"] < runs else "")


def _ratio(ref: float, ours: float) -> str:
    """How many times less time tfapps took, or empty when either value is missing."""
    return "" if pd.isna(ref) or pd.isna(ours) else f"{ref / ours:.2f}×"


def _stalls(per_seed: list[int]) -> str:
    return _values(per_seed, "d") if any(per_seed) else "none"


def _values(values, spec: str) -> str:
    return ", ".join(format(value, spec) for value in values)


def _seeds(count: int) -> str:
    return "seed 1" if count == 1 else f"seeds 1-{count}"


def provenance(entry: dict, what: str) -> str:
    """The line under a table: date, machine, versions and, where recorded, the code's commit.

    Args:
        entry: the stored entry.
        what: what was measured (such as the seeds), in parentheses after the date.
    """
    m = entry["machine"]
    digits, plus, changes = (entry.get("commit") or "").partition("+")
    code = f"; code at commit {digits[:7]}{plus}{changes}" if digits else ""
    return (
        f"*Measured {entry['date']} ({what}) on {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB, GPU {m['gpu']}; {m['os']}; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, TFDS {m['tfds']}{code}.*"
    )
