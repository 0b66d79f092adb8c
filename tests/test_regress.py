"""`tfapps regress` end to end: Auto MPG, diabetes, a user CSV, and wine_quality from TFDS."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from conftest import train_on_mocked_catalog

from tfapps.api import train
from tfapps.tasks.table_regression import RegressConfig

pytestmark = pytest.mark.slow  # every test here trains, or uses a trained run


@pytest.fixture(scope="module")
def auto_mpg_run(data_dir, tmp_path_factory):
    """Real training on the embedded Auto MPG table with the default recipe."""
    config = RegressConfig(
        data_dir=data_dir, output_dir=str(tmp_path_factory.mktemp("runs")), quiet=True
    )
    return train(config)


def _test_metrics(run_dir):
    metrics = pd.read_csv(run_dir / "metrics.csv")
    return metrics[metrics["split"] == "test"].set_index("metric")["value"]


def test_auto_mpg_beats_the_mean_baseline_by_far(auto_mpg_run):
    test = _test_metrics(auto_mpg_run.run_dir)
    assert test["mae"] < 2.6
    assert test["mae"] < 0.5 * test["baseline_mae"]
    assert test["r2"] > 0.75
    assert {"rmse", "mape", "mdape", "median_baseline_mae"} <= set(test.index)
    assert auto_mpg_run.headline["metric"] == "mae"


def test_auto_mpg_run_records_its_data_handling(auto_mpg_run):
    run_dir = auto_mpg_run.run_dir
    details = json.loads((run_dir / "run.json").read_text())["dataset"]["spec"]
    assert details["target"] == "Miles_per_Gallon"
    assert details["rows_without_target"] == 8
    horsepower = {c["name"]: c for c in details["columns"]}["Horsepower"]
    assert horsepower["missing"] == 6 and horsepower["imputed"] == horsepower["median"]
    kinds = {c["name"]: c["kind"] for c in details["columns"]}
    assert kinds["Origin"] == "categorical" and kinds["Horsepower"] == "numeric"
    assert len(kinds) == 7
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert list(predictions.columns) == ["index", "target", "prediction", "error"]
    np.testing.assert_allclose(
        predictions["error"], predictions["prediction"] - predictions["target"], atol=1e-4
    )
    for name in ("learning_curves", "predicted_vs_true", "residuals"):
        assert (run_dir / "plots" / f"{name}.png").is_file()


def test_saved_model_takes_named_raw_columns(auto_mpg_run):
    import keras
    import tensorflow as tf

    columns = {
        "Cylinders": [8.0, 4.0, 4.0],
        "Displacement": [307.0, 97.0, 121.0],
        "Horsepower": [130.0, 88.0, 110.0],
        "Weight_in_lbs": [3504.0, 2130.0, 2600.0],
        "Acceleration": [12.0, 14.5, 12.8],
        "Year": [1970.0, 1971.0, 1977.0],
        "Origin": ["USA", "Japan", "Europe"],
    }
    feed = {name: tf.constant(values) for name, values in columns.items()}
    expected = auto_mpg_run.model.predict(feed, verbose=0)
    signature = tf.saved_model.load(str(auto_mpg_run.run_dir / "saved_model")).signatures[
        "serving_default"
    ]
    specs = signature.structured_input_signature[1]
    assert specs["Origin"].dtype == tf.string and specs["Horsepower"].dtype == tf.float32
    served = signature(**feed)["predictions"].numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-5)
    assert served[0, 0] < served[1, 0]  # a 1970 V8 uses more fuel than a 1971 four-cylinder
    reloaded = keras.models.load_model(auto_mpg_run.run_dir / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(feed, verbose=0), expected, atol=1e-5)


def write_house_csv(path, rows=160, seed=0):
    """A CSV whose price depends on area, a categorical district and an integer-coded grade."""
    rng = np.random.default_rng(seed)
    district = rng.choice(["north", "south", "east"], rows)
    grade = rng.integers(1, 4, rows)
    area = rng.uniform(40, 200, rows)
    price = area * 3 + np.select([district == "north", district == "south"], [100, 20], 50)
    price += grade * 40 + rng.normal(0, 5, rows)
    table = pd.DataFrame(
        {
            "id": np.arange(rows),
            "area m²": area,
            "district": district,
            "grade": grade,
            "price": price,
        }
    )
    table.to_csv(path, index=False)
    return path


def test_user_csv_with_categorical_drop_and_target(run_cli, output_dir, tmp_path):
    path = write_house_csv(tmp_path / "houses.csv")
    result = run_cli(
        "regress",
        "--dataset",
        path,
        "--target",
        "price",
        "--drop",
        "id",
        "--categorical",
        "grade",
        "--epochs",
        150,
        "--learning-rate",
        0.01,
        "--quiet",
        "--output-dir",
        output_dir,
    )
    assert result.exit_code == 0, result.output
    run_dir = next((output_dir / "regress" / "houses.csv").iterdir())
    details = json.loads((run_dir / "run.json").read_text())["dataset"]["spec"]
    assert {c["name"]: (c["input"], c["kind"]) for c in details["columns"]} == {
        "area m²": ("area_m_", "numeric"),
        "district": ("district", "categorical"),
        "grade": ("grade", "categorical"),
    }
    test = _test_metrics(run_dir)
    assert test["mae"] < 0.4 * test["baseline_mae"]


@pytest.mark.parametrize(
    ("targets", "standardized"),
    [
        (np.random.default_rng(0).normal(23.5, 7.8, 300), False),  # Auto MPG's scale
        (np.random.default_rng(0).normal(152, 77, 300), False),  # diabetes'
        (np.random.default_rng(0).normal(1.6e6, 8e5, 300), True),  # prices
        (np.random.default_rng(0).normal(2000, 5, 300), True),  # years: a large mean
        (np.full(300, 5e4), True),  # constant: std taken as 1
    ],
)
def test_only_large_targets_are_standardized(targets, standardized):
    from tfapps.tasks.table_model import target_scaling

    scale = target_scaling(targets)
    assert (scale is not None) == standardized
    if scale:
        assert scale[0] == pytest.approx(np.median(targets)) and scale[1] > 0


def test_target_scaling_is_not_squeezed_by_two_typed_prices():
    from tfapps.tasks.table_model import target_scaling

    prices = np.random.default_rng(0).normal(3e5, 8e4, 200)
    typed = prices.copy()
    typed[[17, 123]] *= 1000
    (center, scale), (typed_center, typed_scale) = target_scaling(prices), target_scaling(typed)
    assert typed_center == pytest.approx(center, rel=0.02)
    assert typed_scale == pytest.approx(scale, rel=0.05)  # the standard deviation grew 300 times


@pytest.mark.slow
def test_prices_in_the_millions_train_as_well_as_small_targets(run_cli, output_dir, tmp_path):
    path = tmp_path / "prices.csv"
    table = pd.read_csv(write_house_csv(tmp_path / "houses.csv"))
    table.assign(price=table["price"] * 5000).to_csv(path, index=False)  # about 0.6-6 million
    args = ["--target", "price", "--drop", "id", "--epochs", 150]
    result = run_cli("regress", "--dataset", path, *args, "--quiet", "--output-dir", output_dir)
    assert result.exit_code == 0, result.output
    run_dir = next((output_dir / "regress" / "prices.csv").iterdir())
    test = _test_metrics(run_dir)
    assert test["mae"] < 0.4 * test["baseline_mae"]  # unscaled, it stayed near the baseline
    training = json.loads((run_dir / "run.json").read_text())["training"]
    assert training["target_scaling"]["center"] == pytest.approx(
        table["price"].median() * 5000, rel=0.2
    )
    assert training["target_transform"] is None  # 0.6 to 6 million: one order of magnitude


def test_diabetes(data_dir, tmp_path):
    config = RegressConfig(
        dataset="diabetes",
        epochs=100,
        learning_rate=0.01,
        data_dir=data_dir,
        output_dir=str(tmp_path),
        quiet=True,
    )
    result = train(config)
    test = result.metrics.query("split == 'test'").set_index("metric")["value"]
    assert test["mae"] < test["baseline_mae"]
    details = json.loads((result.run_dir / "run.json").read_text())["dataset"]["spec"]
    assert details["target"] == "progression" and len(details["columns"]) == 10


def test_wine_quality_from_the_tfds_catalog_through_mock_data(run_cli, tmp_path):
    record = train_on_mocked_catalog(run_cli, "regress", "wine_quality", tmp_path)
    details = record["dataset"]["spec"]
    assert details["target"] == "quality"
    inputs = {c["name"]: c["input"] for c in details["columns"]}
    assert inputs["citric acid"] == "citric_acid" and len(inputs) == 11


def test_predict_on_csv_rows_matches_the_model(auto_mpg_run, run_cli, tmp_path):
    import tensorflow as tf
    from vega_datasets import local_data

    from tfapps.data import auto_mpg

    cars = local_data.cars().head(12).drop(columns=[auto_mpg.TARGET])
    cars["Year"] = cars["Year"].dt.year
    path = tmp_path / "cars.csv"
    cars.to_csv(path, index=False)  # extra columns (Name) are ignored
    cars["Horsepower"] = cars["Horsepower"].fillna(
        {
            c["name"]: c
            for c in json.loads((auto_mpg_run.run_dir / "run.json").read_text())["dataset"]["spec"][
                "columns"
            ]
        }["Horsepower"]["imputed"]
    )
    numeric = [c for c in auto_mpg.NUMERIC if c != auto_mpg.TARGET]
    feed = {c: tf.constant(cars[c].to_numpy("float32")) for c in numeric}
    feed["Origin"] = tf.constant(cars["Origin"].astype(str).to_numpy(object))
    expected = auto_mpg_run.model.predict(feed, verbose=0)[:, 0]
    output = tmp_path / "out.csv"
    result = run_cli("predict", auto_mpg_run.run_dir, path, "--output", output)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output)
    assert list(table["input"]) == [f"cars.csv:{i}" for i in range(1, 13)]
    np.testing.assert_allclose(table["prediction"], expected, rtol=1e-5, atol=1e-4)


def test_predict_refuses_a_csv_missing_a_column(auto_mpg_run, run_cli, tmp_path):
    path = tmp_path / "cars.csv"
    path.write_text("Cylinders,Displacement\n4,97\n")
    result = run_cli("predict", auto_mpg_run.run_dir, path)
    assert result.exit_code == 2
    assert "lacks the column(s)" in result.stderr and "'Horsepower'" in result.stderr
    assert "Traceback" not in result.output


def test_a_warning_prints_once_from_the_command_line(data_dir, tmp_path):
    # Once TensorFlow has logged through absl, the root logger has a handler of its own, so a
    # warning that also reached it would print twice (pytest's capture hides that in-process).
    done = subprocess.run(
        [sys.executable, "-m", "tfapps", "regress", "--epochs", "1", "--quiet"]
        + ["--data-dir", str(data_dir), "--output-dir", str(tmp_path)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("without a Miles_per_Gallon value") == 1, done.stderr
