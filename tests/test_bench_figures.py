"""The paired quality comparison under each task's table in docs/BENCHMARKS.md, the
confirmation on fresh seeds that can stand in for its median rule, and the code's commit that
every entry records."""

import subprocess

import pytest

from bench import render, runner
from bench.figures import non_inferiority, paired_gain, stalled_epochs
from bench.plan import COMPARISONS, NON_INFERIORITY_MARGIN
from bench.studies.confirm import confirm, stored_confirmation


def _runs(reference: list[float], tfapps: list[float]) -> list[dict]:
    return [
        {"side": side, "seed": seed, "final_quality": quality}
        for side, qualities in (("reference", reference), ("tfapps", tfapps))
        for seed, quality in enumerate(qualities, start=1)
    ]


def test_gain_is_positive_where_tfapps_scores_better_whichever_way_the_metric_points():
    accuracy = paired_gain(_runs([0.90, 0.80], [0.92, 0.81]), COMPARISONS["digits"])
    mae = paired_gain(_runs([2.0, 3.0], [1.9, 2.9]), COMPARISONS["auto_mpg"])
    assert accuracy["mean"] == pytest.approx(0.015)
    assert mae["mean"] == pytest.approx(0.1)
    assert (accuracy["better"], accuracy["worse"], mae["better"], mae["worse"]) == (2, 0, 2, 0)


def test_interval_is_the_student_t_interval_of_the_mean_gain():
    gain = paired_gain(_runs([2.0, 2.0, 2.0], [1.9, 2.0, 2.2]), COMPARISONS["auto_mpg"])
    # gains +0.1, 0, -0.2: mean -1/30, standard deviation 0.1528, t(0.975, 2) = 4.3027
    half = 4.3027 * 0.15275 / 3**0.5
    assert gain["mean"] == pytest.approx(-1 / 30)
    assert (gain["low"], gain["high"]) == pytest.approx((-1 / 30 - half, -1 / 30 + half), abs=1e-4)
    assert (gain["better"], gain["worse"], gain["seeds"]) == (1, 1, 3)


@pytest.mark.parametrize(
    ("epochs", "stalls"),
    [
        ([13.6, 10.4, 10.2, 20.0, 10.0, 10.3, 19.9], 2),  # two epochs 10 s over the rest
        ([25.0, 10.0, 10.1, 9.9], 0),  # a slow first epoch (tracing, cache) is not a stall
        ([0.05, 0.04, 0.09, 0.04], 0),  # twice as slow, yet far under 5 s over the median
    ],
)
def test_stalled_epochs_are_those_well_over_the_runs_median(epochs, stalls):
    assert stalled_epochs({"epoch_seconds": epochs}) == stalls


def test_only_seeds_run_on_both_sides_are_paired():
    runs = _runs([0.5, 0.6], [0.7])
    gain = paired_gain(runs, COMPARISONS["digits"])
    assert gain["seeds"] == 1
    assert gain["mean"] == pytest.approx(0.2)
    assert gain["low"] is None and gain["high"] is None
    assert paired_gain(_runs([0.5], []), COMPARISONS["digits"]) is None


def test_gains_without_spread_have_no_interval_and_ties_count_as_neither():
    gain = paired_gain(_runs([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]), COMPARISONS["digits"])
    assert gain["mean"] == 0
    assert gain["low"] is None and gain["high"] is None
    assert (gain["better"], gain["worse"], gain["seeds"]) == (0, 0, 3)


def test_non_inferiority_passes_only_when_the_interval_stays_above_minus_the_margin():
    reference = [2.0, 2.0, 2.0, 2.0]
    close = non_inferiority(
        _runs(reference, [2.01, 2.0, 2.02, 1.99]), COMPARISONS["auto_mpg"], 0.01
    )
    # gains -0.01, 0, -0.02, +0.01: mean -0.005, 95% interval about -0.026 to +0.016
    assert close["allowed"] == pytest.approx(0.02)
    assert close["low"] < -0.02 and not close["passed"]
    wider = non_inferiority(
        _runs(reference, [2.01, 2.0, 2.02, 1.99]), COMPARISONS["auto_mpg"], 0.02
    )
    assert wider["passed"]
    tight = non_inferiority(_runs([0.9] * 3, [0.899, 0.9, 0.898]), COMPARISONS["digits"], 0.01)
    assert tight["allowed"] == pytest.approx(0.009) and tight["passed"]


def test_non_inferiority_needs_spread_to_pass():
    same = non_inferiority(_runs([2.0, 2.1], [2.0, 2.1]), COMPARISONS["auto_mpg"], 0.01)
    assert same["low"] is None and not same["passed"]
    assert non_inferiority(_runs([2.0], []), COMPARISONS["auto_mpg"], 0.01) is None


def _timed(runs: list[dict], reference_speed: float) -> list[dict]:
    """Gives comparison runs the fields the table needs (tfapps twice the reference's speed)."""
    speed = {"reference": reference_speed, "tfapps": 2 * reference_speed}
    return [
        {
            **run,
            "train_examples": 100,
            "epoch_seconds": [1.0, 100 / speed[run["side"]]],
            "epoch_quality": [3.0, run["final_quality"]],
            "fit_seconds": 1.0,
            "wall_seconds": 2.0,
            "peak_rss_mb": 500.0,
            "steps_per_execution": 1,
        }
        for run in runs
    ]


def _entry(**fields) -> dict:
    machine = dict.fromkeys(("cpu", "cores", "memory_gib", "gpu", "os", "python"), "x")
    machine.update(dict.fromkeys(("tensorflow", "keras", "tfds"), "x"))
    return {"date": "2026-11-27", "machine": machine, **fields}


@pytest.mark.parametrize(
    ("confirmation_tfapps", "last_seed", "goal"),
    [
        (None, 4, "**not met**"),  # the median is worse and nothing else was run
        ([2.01, 2.0, 2.02, 1.99], 4, "**not met**"),  # interval reaches past the 1% margin
        ([2.0, 2.0, 2.01, 1.99], 4, "**met**"),  # interval within the margin
        ([2.0, 2.0, 2.01, 1.99], 5, "**not met**"),  # seed 5 has not run yet
    ],
)
def test_goal_falls_back_on_a_finished_confirmation_when_the_median_is_worse(
    confirmation_tfapps, last_seed, goal
):
    comparison = _entry(comparison="auto_mpg", runs=_timed(_runs([2.0, 2.0], [2.1, 2.1]), 50))
    entries = {"comparison/auto_mpg": comparison}
    if confirmation_tfapps is not None:
        runs = _timed(_runs([2.0] * len(confirmation_tfapps), confirmation_tfapps), 50)
        entries["confirmation/auto_mpg"] = _entry(
            comparison="auto_mpg", first_seed=1, last_seed=last_seed, margin=0.01, runs=runs
        )
    text = render.render(entries)
    line = next(line for line in text.splitlines() if line.startswith("Goal ("))
    assert "2.00×" in line and goal in line
    assert ("Confirmation on fresh seeds" in text) == (confirmation_tfapps is not None)


def _digit_runs(accuracies: list[float]) -> list[dict]:
    return [
        {"seed": seed, "accuracy": accuracy, "epochs": 20, "wall_seconds": 19.0}
        for seed, accuracy in enumerate(accuracies, start=1)
    ]


@pytest.mark.parametrize(
    ("accuracies", "goal"), [([0.97, 0.98, 0.99], "**met**"), ([0.97, 0.979, 0.99], "**not met**")]
)
def test_mnist_goal_is_on_the_median_of_the_whole_of_mnist(accuracies, goal):
    digits = {"train": 60000, "test": 10000}
    entry = _entry(folder="mnist-pngs", digits=digits, runs=_digit_runs(accuracies))
    text = render.render({"mnist": entry})
    line = next(line for line in text.splitlines() if line.startswith("Goal ("))
    assert goal in line and f"({sorted(accuracies)[1]:.4f})" in line
    assert "60,000 digits" in text and "10,000" in text


def test_the_mnist_sample_shows_its_median_beside_an_earlier_commit_without_the_goal():
    earlier = {"commit": "1925362", "accuracies": [0.95, 0.97, 0.96], "split": "random"}
    entry = _entry(digits=5000, runs=_digit_runs([0.96, 0.97, 0.975]), earlier=earlier)
    text = render.render({"mnist_folder": entry})
    assert "Median test accuracy 0.9700" in text and not text.count("Goal (median test accuracy")
    assert "commit 1925362" in text and "median 0.9600" in text


class _StubResults:
    """Stands in for `Results`: keeps the entries and how many runs each save held."""

    def __init__(self, entries: dict):
        self.entries, self.saved = dict(entries), []

    def save(self, key: str, entry: dict) -> None:
        self.entries[key] = entry
        self.saved.append(len(entry["runs"]))


class _StubBench:
    """Stands in for `Bench` in `confirm`: records what it trains, fails where told."""

    commit = "c" * 40

    def __init__(self, stored: dict, failing: tuple = ()):
        self.results = _StubResults(stored)
        self.trained, self.failing = [], failing

    def train(self, side: str, name: str, seed: int) -> dict:
        self.trained.append((side, seed))
        if (side, seed) in self.failing:
            raise RuntimeError("the run failed")
        return {"side": side, "seed": seed, "final_quality": 2.0, "epoch_seconds": [1.0, 1.0]}

    def entry(self, **fields) -> dict:
        return dict(fields)


def _stored(first: int, last: int, runs: list[dict]) -> dict:
    fields = {"first_seed": first, "last_seed": last, "margin": NON_INFERIORITY_MARGIN}
    return {"confirmation/auto_mpg": {"comparison": "auto_mpg", **fields, "runs": runs}}


def test_confirm_trains_only_the_runs_not_stored_and_keeps_going_past_a_failure(capsys):
    stored_run = {"side": "reference", "seed": 10, "final_quality": 2.0, "epochs": 2}
    bench = _StubBench(_stored(10, 11, [stored_run]), failing=(("tfapps", 11),))
    stored = stored_confirmation(bench.results, "auto_mpg", range(10, 12), restart=False)
    assert confirm(bench, "auto_mpg", range(10, 12), jobs=1, stored=stored) == 1
    assert sorted(bench.trained) == [("reference", 11), ("tfapps", 10), ("tfapps", 11)]
    runs = bench.results.entries["confirmation/auto_mpg"]["runs"]
    assert sorted((r["side"], r["seed"]) for r in runs) == [
        ("reference", 10),
        ("reference", 11),
        ("tfapps", 10),
    ]
    assert bench.results.saved == [2, 3]
    assert [run.get("commit") for run in runs] == [None, bench.commit, bench.commit]
    assert "stored runs used other code (not recorded)" in capsys.readouterr().out


def test_a_confirmation_of_other_seeds_is_replaced_only_on_restart():
    results = _StubResults(_stored(10, 11, [{"side": "reference", "seed": 10}]))
    with pytest.raises(ValueError, match="seeds 10-11"):
        stored_confirmation(results, "auto_mpg", range(10, 13), restart=False)
    assert stored_confirmation(results, "auto_mpg", range(10, 13), restart=True) is None
    assert stored_confirmation(results, "auto_mpg", range(10, 12), restart=True) is not None
    assert stored_confirmation(results, "digits", range(10, 12), restart=False) is None


def test_a_confirmation_says_which_code_and_margin_its_runs_used():
    runs = _timed(_runs([2.0] * 4, [2.0, 2.0, 2.01, 1.99]), 50)
    for run, commit in zip(runs, ["a" * 40] * 6 + [None, "b" * 40 + "+changes"], strict=True):
        run["commit"] = commit
    entries = {
        "comparison/auto_mpg": _entry(comparison="auto_mpg", runs=_timed(_runs([2.0], [2.1]), 50)),
        "confirmation/auto_mpg": _entry(
            comparison="auto_mpg", first_seed=1, last_seed=4, margin=0.02, runs=runs
        ),
    }
    text = render.render(entries)
    paragraph = next(line for line in text.splitlines() if line.startswith("*Confirmation"))
    expected = "code at commits aaaaaaa (6 runs), not recorded (1 run), bbbbbbb+changes (1 run)"
    assert expected in paragraph
    goal = next(line for line in text.splitlines() if line.startswith("Goal ("))
    assert "code at" not in goal  # the comparison entry recorded no commit
    assert "not worse by more than 2% on fresh seeds): **met**" in goal  # the stored margin


def test_code_commit_is_the_head_commit_marked_when_code_differs_from_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    monkeypatch.setattr(runner, "ROOT", tmp_path)
    assert runner.code_commit() is None  # not a git checkout
    files = {"tfapps/a.py": "x = 1\n", "bench/NOTES.md": "notes\n", "docs/results.json": "{}\n"}
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)

    def git(*args: str) -> str:
        identity = ("-c", "user.name=t", "-c", "user.email=t@example.com")
        done = subprocess.run(["git", *identity, *args], cwd=tmp_path, capture_output=True)
        return done.stdout.decode().strip()

    git("init", "-q")
    git("add", ".")
    git("commit", "-qm", "code")
    head = git("rev-parse", "HEAD")
    assert len(head) >= 40 and runner.code_commit() == head
    (tmp_path / "docs/results.json").write_text('{"results": 1}\n')  # what benchmarks write
    (tmp_path / "bench/NOTES.md").write_text("more notes\n")
    assert runner.code_commit() == head
    (tmp_path / "tfapps/a.py").write_text("x = 2\n")
    assert runner.code_commit() == head + "+changes"
