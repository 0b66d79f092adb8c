"""The bench's own figures and report (`bench/figures.py`, `bench/render.py`), and the code
commit every entry records. Marked `bench`: `make test-bench` and `make bench-smoke` run them,
the product's `make test` does not."""

import json
import subprocess

import pytest

from bench import render, runner
from bench.figures import paired_gain, run_summary, stalled_epochs
from bench.plan import COMPARISONS

pytestmark = pytest.mark.bench
DIGITS, AUTO_MPG = COMPARISONS["digits"], COMPARISONS["auto_mpg"]


def _runs(reference: list[float], tfapps: list[float], **figures) -> list[dict]:
    """Stored runs of both sides with these final qualities, seed 1 first; tfapps trains at
    twice the reference's speed."""
    return [
        {
            "side": side,
            "seed": seed,
            "quality": quality,
            "epochs": 2,
            "time_to_target": None,
            "examples_per_second": 100.0 * (1 + (side == "tfapps")),
            "stalled_epochs": 0,
            "steps_per_execution": 1,
            "train_examples": 100,
            "fit_seconds": 1.0,
            "wall_seconds": 2.0,
            "peak_rss_mb": 500.0,
            **figures,
        }
        for side, qualities in (("reference", reference), ("tfapps", tfapps))
        for seed, quality in enumerate(qualities, start=1)
    ]


def _entry(**fields) -> dict:
    machine = dict.fromkeys(("cpu", "cores", "memory_gib", "gpu", "os", "python"), "x")
    machine.update(dict.fromkeys(("tensorflow", "keras", "tfds"), "x"))
    return {"date": "2026-11-27", "machine": machine, **fields}


def _goal_line(text: str) -> str:
    return next(line for line in text.splitlines() if line.startswith("Goal ("))


def test_gain_is_positive_where_tfapps_scores_better_whichever_way_the_metric_points():
    accuracy = paired_gain(_runs([0.90, 0.80], [0.92, 0.81]), DIGITS)
    mae = paired_gain(_runs([2.0, 3.0], [1.9, 2.9]), AUTO_MPG)
    assert accuracy["mean"] == pytest.approx(0.015)
    assert mae["mean"] == pytest.approx(0.1)
    assert (accuracy["better"], accuracy["worse"], mae["better"], mae["worse"]) == (2, 0, 2, 0)


def test_interval_is_the_student_t_interval_of_the_mean_gain():
    gain = paired_gain(_runs([2.0, 2.0, 2.0], [1.9, 2.0, 2.2]), AUTO_MPG)
    # gains +0.1, 0, -0.2: mean -1/30, standard deviation 0.1528, t(0.975, 2) = 4.3027
    half = 4.3027 * 0.15275 / 3**0.5
    assert gain["mean"] == pytest.approx(-1 / 30)
    assert (gain["low"], gain["high"]) == pytest.approx((-1 / 30 - half, -1 / 30 + half), abs=1e-4)
    assert (gain["better"], gain["worse"], gain["seeds"]) == (1, 1, 3)


def test_only_seeds_run_on_both_sides_are_paired_and_ties_count_as_neither():
    gain = paired_gain(_runs([0.5, 0.6], [0.7]), DIGITS)
    assert (gain["seeds"], gain["low"], gain["high"]) == (1, None, None)
    assert gain["mean"] == pytest.approx(0.2)
    assert paired_gain(_runs([0.5], []), DIGITS) is None
    tied = paired_gain(_runs([0.5, 0.6, 0.7], [0.5, 0.6, 0.7]), DIGITS)
    assert (tied["mean"], tied["low"], tied["better"], tied["worse"]) == (0, None, 0, 0)


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


def test_a_run_is_stored_as_its_headline_figures_without_the_epoch_lists():
    raw = {
        "side": "reference",
        "seed": 3,
        "steps_per_execution": 1,
        "train_examples": 1000,
        "epoch_seconds": [3.0, 1.0, 2.0, 1.0],
        "epoch_quality": [0.90, 0.97, 0.98, 0.99],
        "final_quality": 0.99,
        "prepare_seconds": 0.5,
        "fit_seconds": 8.0,
        "wall_seconds": 10.0,
        "peak_rss_mb": 700.0,
    }
    run = run_summary(raw, DIGITS)  # target 0.975: reached in the third epoch
    assert run["time_to_target"] == pytest.approx(0.5 + 3.0 + 1.0 + 2.0)
    assert run["examples_per_second"] == pytest.approx(1000)  # median of the epochs after the first
    assert (run["quality"], run["epochs"], run["seed"], run["stalled_epochs"]) == (0.99, 4, 3, 0)
    assert "epoch_seconds" not in run and "epoch_quality" not in run
    never = run_summary({**raw, "epoch_quality": [0.9] * 4}, DIGITS)
    assert never["time_to_target"] is None


def test_the_committed_report_is_what_the_renderer_makes_of_the_committed_results():
    results = json.loads((runner.ROOT / "docs/benchmarks.json").read_text())
    assert render.render(results["entries"]) == (runner.ROOT / "docs/BENCHMARKS.md").read_text()


def test_a_comparison_is_shown_once_both_sides_ran():
    half = {"comparison/digits": _entry(comparison="digits", runs=_runs([0.9], []))}
    assert "### digits" not in render.render(half)
    both = render.render(
        {"comparison/digits": _entry(comparison="digits", runs=_runs([0.9], [0.91]))}
    )
    assert "### digits" in both and "| per seed | 0.9000 | 0.9100 |  |" in both
    assert "**met** (2.00×, median final quality equal or better)" in _goal_line(both)


@pytest.mark.parametrize(
    ("passed", "goal"), [(None, "**not met**"), (False, "**not met**"), (True, "**met**")]
)
def test_goal_falls_back_on_a_confirmation_when_the_median_is_worse(passed, goal):
    entries = {"comparison/auto_mpg": _entry(comparison="auto_mpg", runs=_runs([2.0], [2.1]))}
    if passed is not None:
        gain = {"seeds": 4, "mean": -0.005, "low": -0.01, "high": 0.0, "better": 1, "worse": 2}
        medians = {"reference": 2.0, "tfapps": 2.01}
        entries["confirmation/auto_mpg"] = _entry(
            first_seed=5,
            last_seed=8,
            margin=0.02,
            medians=medians,
            gain=gain,
            allowed=0.04,
            passed=passed,
            commit="a" * 40 + "+changes",
        )
    text = render.render(entries)
    line = _goal_line(text)
    assert goal in line and "2.00×, median final quality worse" in line
    assert ("not worse by more than 2% on fresh seeds" in line) == (passed is not None)
    confirmation = [line for line in text.splitlines() if line.startswith("*Confirmation")]
    assert len(confirmation) == (passed is not None)
    if passed is not None:
        assert (
            "seeds 5-8" in confirmation[0] and "code at commit aaaaaaa+changes" in confirmation[0]
        )


@pytest.mark.parametrize(
    ("accuracies", "goal"), [([0.97, 0.98, 0.99], "**met**"), ([0.97, 0.979, 0.99], "**not met**")]
)
def test_mnist_goal_is_on_the_median_test_accuracy(accuracies, goal):
    runs = [
        {"seed": s, "accuracy": a, "epochs": 20, "wall_seconds": 19.0}
        for s, a in enumerate(accuracies, 1)
    ]
    entry = _entry(folder="mnist-pngs", digits={"train": 60000, "test": 10000}, runs=runs)
    line = _goal_line(render.render({"mnist": entry}))
    assert goal in line and f"({sorted(accuracies)[1]:.4f})" in line


def test_the_mnist_sample_shows_an_earlier_commit_only_where_one_is_stored():
    runs = [{"seed": 1, "accuracy": 0.96, "epochs": 20, "wall_seconds": 19.0}]
    entry = _entry(digits=5000, runs=runs)
    assert "Median test accuracy 0.9600" in render.render({"mnist_folder": entry})
    earlier = {"commit": "1925362", "accuracies": [0.95, 0.97, 0.96], "split": "random"}
    text = render.render({"mnist_folder": {**entry, "earlier": earlier}})
    assert "commit 1925362" in text and "median 0.9600." in text


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


@pytest.mark.parametrize(
    ("seconds", "peak", "goal"),
    [(9.0, 950.0, "**met**"), (16.0, 950.0, "**not met**"), (9.0, 1200.0, "**not met**")],
)
def test_the_big_csv_goal_is_on_tfapps_whole_read(seconds, peak, goal):
    def run(reader, sample, read_seconds, peak_rss_mb):
        return {
            "reader": reader,
            "max_examples": sample,
            "read_seconds": read_seconds,
            "peak_rss_mb": peak_rss_mb,
            "imported_rss_mb": 700.0,
            "wall_seconds": read_seconds + 20,
        }

    runs = [run("pandas", None, 3.5, 350.0), run("tfapps", None, seconds, peak)]
    runs.append(run("tfapps", 10_000, 4.0, 800.0))  # the sample's figures do not decide
    text = render.render({"big_csv": _entry(rows=1_000_000, columns=8, file_mb=40.2, runs=runs)})
    assert goal in _goal_line(text)
    assert "| tfapps --max-examples 10,000 | 4.0 | 800 | 700 |" in text
    assert "1,000,000 rows and 8 columns (40 MB" in text


def test_the_big_csv_is_written_as_described(tmp_path):
    import pandas as pd

    table = pd.read_csv(runner.write_big_csv(tmp_path / "big.csv", 500))
    assert table.shape == (500, 8) and table["city"].nunique() == 5
    assert table.drop(columns="city").dtypes.map(lambda t: t.kind in "if").all()
