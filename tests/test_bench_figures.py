"""The paired quality comparison that docs/BENCHMARKS.md shows under each task's table."""

import pytest

from bench.figures import paired_gain
from bench.plan import COMPARISONS


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
