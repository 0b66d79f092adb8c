"""Targets that mislead a regressor: prices typed with extra zeros are named by row and leave
the model and the median baseline alone; a target spanning orders of magnitude is fitted as
log1p (predicted through expm1 inside the model), chosen automatically and recorded; metrics
have a relative error (mdape) beside r2."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest

from tfapps.errors import InvalidInput
from tfapps.tasks import regression_targets
from tfapps.tasks.table_regression import RegressConfig

TYPED = [17, 123]  # rows (0 = the first data row) whose price got three extra zeros


def write_prices(path, typed=(), rows: int = 200, seed: int = 1):
    rng = np.random.default_rng(seed)
    area = rng.uniform(40, 200, rows)
    rooms = rng.integers(1, 6, rows)
    district = rng.choice(["north", "south", "east"], rows)
    price = area * 2000 + rooms * 15000 + rng.normal(0, 8000, rows)
    price += np.select([district == "north", district == "south"], [80000, 20000], 50000)
    price[list(typed)] *= 1000
    table = pd.DataFrame({"area": area.round(1), "rooms": rooms, "district": district})
    table.assign(price=price.round(0)).to_csv(path, index=False)
    return path


def write_spread(path, rows: int = 200, seed: int = 1):
    """A positive target spanning six orders of magnitude, log-linear in x."""
    rng = np.random.default_rng(seed)
    x, z = rng.uniform(0, 1, rows), rng.uniform(0, 1, rows)
    y = 10 ** (6 * x + rng.normal(0, 0.05, rows)) * (1 + z)
    pd.DataFrame({"x": x.round(4), "z": z.round(4), "y": y}).to_csv(path, index=False)
    return path


def _load(config):
    from tfapps.data.load import load_splits

    return load_splits(config)


@pytest.mark.parametrize(
    ("values", "extreme"),
    [
        (np.r_[np.random.default_rng(0).normal(3e5, 8e4, 198), 3e8, 2.9e8], [198, 199]),
        (np.r_[np.random.default_rng(0).normal(3e5, 8e4, 199), 12.0], [199]),  # a lost 0s
        (10 ** np.random.default_rng(0).uniform(0, 6, 200), []),  # log-spread: no outlier
        (np.r_[np.random.default_rng(0).normal(0, 1, 199), 40.0], [199]),  # negatives too
        (np.r_[np.zeros(150), np.arange(1, 51.0)], []),  # mostly 0: no spread to judge by
    ],
)
def test_extreme_values_are_those_far_from_the_median(values, extreme):
    assert list(np.flatnonzero(regression_targets.extreme_mask(values, values))) == extreme


def test_a_log_target_is_chosen_for_a_spread_of_three_orders_of_magnitude():
    spread = 10 ** np.random.default_rng(0).uniform(0, 3.2, 300)
    narrow = np.random.default_rng(0).uniform(9, 47, 300)  # Auto MPG's range
    none = np.zeros(300, bool)
    assert regression_targets.chosen_transform("auto", spread, none) == "log1p"
    assert regression_targets.chosen_transform("auto", narrow, none) is None
    assert regression_targets.chosen_transform("none", spread, none) is None
    assert regression_targets.chosen_transform("log", narrow, none) == "log1p"
    assert regression_targets.chosen_transform("auto", spread - 5, none) is None  # negatives
    typed = np.r_[narrow, 40_000.0]  # one typo is not a spread
    mask = regression_targets.extreme_mask(typed, typed)
    assert regression_targets.chosen_transform("auto", typed, mask) is None


def test_extreme_rows_are_named_with_their_values(tmp_path, caplog):
    path = write_prices(tmp_path / "typo.csv", TYPED)
    with caplog.at_level(logging.WARNING, logger="tfapps"):
        splits = _load(RegressConfig(dataset=str(path), target="price", quiet=True))
    line = next(r.getMessage() for r in caplog.records if "far from the rest" in r.getMessage())
    table = pd.read_csv(path)
    for row in TYPED:
        assert f"typo.csv:{row + 1} ({table['price'][row]:,.0f})" in line
    assert line.startswith("target price: 2 values far from the rest (the training median is")
    assert splits.info.spec.target_transform is None  # two typos are not a spread
    assert splits.info.spec.target_median == pytest.approx(np.median(splits_targets(splits)))


def splits_targets(splits) -> np.ndarray:
    return np.concatenate([y for _, y in splits.train.batch(1000).as_numpy_iterator()])


def test_a_spread_target_is_fitted_as_log1p_and_the_summary_says_so(tmp_path):
    path = write_spread(tmp_path / "spread.csv")
    splits = _load(RegressConfig(dataset=str(path), target="y", quiet=True))
    assert splits.info.spec.target_transform == "log1p"
    line = splits.info.summary.lines[1]
    assert "fitted as log1p(y), predicted through expm1 inside the model" in line
    assert "orders of magnitude; --target-transform none fits it as it is" in line
    kept = _load(RegressConfig(dataset=str(path), target="y", quiet=True, target_transform="none"))
    assert kept.info.spec.target_transform is None


def test_a_log_target_below_minus_one_is_refused(tmp_path):
    path = write_spread(tmp_path / "spread.csv")
    table = pd.read_csv(path)
    table.loc[5, "y"] = -3
    table.to_csv(path, index=False)
    config = RegressConfig(dataset=str(path), target="y", quiet=True, target_transform="log")
    with pytest.raises(InvalidInput, match=r"needs values above -1; 'y' .* holds -3"):
        _load(config)


def test_metrics_have_a_relative_error_and_both_baselines():
    from tfapps.reports import regression_metrics

    targets = np.array([1.0, 10.0, 100.0, 1000.0, 0.0])
    predictions = np.array([1.5, 9.0, 150.0, 900.0, 2.0])
    rows = regression_metrics("test", targets, predictions, {"baseline_mae": 222.2, "x_mae": 10})
    values = {row["metric"]: row["value"] for row in rows}
    assert values["mdape"] == pytest.approx(30.0)  # of 50%, 10%, 50%, 10%; the 0 left out
    assert values["baseline_mae"] == pytest.approx(np.mean(np.abs(targets - 222.2)))
    assert values["x_mae"] == pytest.approx(np.mean(np.abs(targets - 10)))


def _train(run_cli, path, target, output, *extra):
    args = ["--epochs", 200, "--start-from-epoch", 50, "--patience", 50, "--quiet"]
    result = run_cli(
        "regress", "--dataset", path, "--target", target, *args, "--output-dir", output, *extra
    )
    assert result.exit_code == 0, result.output
    run_dir = next((output / "regress" / path.name).iterdir())
    metrics = pd.read_csv(run_dir / "metrics.csv")
    test = metrics[metrics["split"] == "test"].set_index("metric")["value"]
    return run_dir, test


@pytest.mark.slow
def test_typed_prices_leave_the_model_and_the_median_baseline_alone(tmp_path, run_cli):
    clean = write_prices(tmp_path / "clean.csv")
    typo = write_prices(tmp_path / "typo.csv", TYPED)
    _, clean_test = _train(run_cli, clean, "price", tmp_path / "a")
    run_dir, typo_test = _train(run_cli, typo, "price", tmp_path / "b")
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert predictions["target"].max() < 1e7  # the typed rows fell in training
    assert typo_test["mae"] < 1.5 * clean_test["mae"]  # it was 28 times worse
    assert typo_test["median_baseline_mae"] < 1.1 * clean_test["median_baseline_mae"]
    assert typo_test["baseline_mae"] > 10 * typo_test["median_baseline_mae"]  # the mean's


@pytest.mark.slow
def test_a_spread_target_predicts_in_proportion_and_never_below_zero(tmp_path, run_cli):
    import tensorflow as tf

    path = write_spread(tmp_path / "spread.csv")
    run_dir, log_test = _train(run_cli, path, "y", tmp_path / "log")
    _, plain_test = _train(run_cli, path, "y", tmp_path / "plain", "--target-transform", "none")
    record = json.loads((run_dir / "run.json").read_text())
    assert record["training"]["target_transform"] == "log1p"
    assert record["dataset"]["spec"]["target_transform"] == "log1p"
    assert log_test["mdape"] < 0.5 * plain_test["mdape"]
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert (predictions["prediction"] > 0).all()
    # The SavedModel predicts y itself: expm1 is inside it.
    table = pd.read_csv(path)
    signature = tf.saved_model.load(str(run_dir / "saved_model")).signatures["serving_default"]
    served = signature(
        x=tf.constant(table["x"].to_numpy(np.float32)),
        z=tf.constant(table["z"].to_numpy(np.float32)),
    )["predictions"].numpy()[:, 0]
    mdape = np.median(np.abs(served - table["y"]) / table["y"])
    assert mdape < 0.3 and served.min() > 0
