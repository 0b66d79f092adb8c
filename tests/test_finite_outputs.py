"""Predictions that are not finite numbers (an input far outside the training data): `tfapps
predict` writes them and warns in one line naming the inputs, `tfapps evaluate` refuses the
split in one line naming its examples and values, and leaves nothing behind."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tfapps import finite_outputs
from tfapps.errors import InvalidInput


def test_the_warning_names_how_many_and_the_first_inputs():
    outputs = np.array([[1.0], [np.inf], [2.0], [np.nan]] + [[np.inf]] * 6, np.float32)
    names = [f"rows.csv:{i + 1}" for i in range(len(outputs))]
    line = finite_outputs.warning(names, outputs)
    assert line.startswith("The model's predictions for 8 of 10 inputs are not finite numbers")
    assert "rows.csv:2 (inf), rows.csv:4 (nan), rows.csv:5 (inf)" in line
    assert "rows.csv:7 (inf) and 3 more" in line and "rows.csv:8" not in line
    one = finite_outputs.warning(names[:2], outputs[:2])
    assert one.startswith("The model's prediction for 1 of 2 inputs is not a finite number")
    assert finite_outputs.warning(names[:1], outputs[:1]) is None
    assert finite_outputs.non_finite_rows(np.array([[1, 2]])).size == 0  # integers are finite


def test_scoring_refuses_naming_the_examples_and_their_values():
    import tensorflow as tf

    examples = tf.data.Dataset.from_tensor_slices(
        ({"x": np.array([1.0, 1e38, 2.0], np.float32), "kind": ["a", "b", "c"]}, [0.0, 1.0, 2.0])
    )
    finite_outputs.refuse("test", np.array([[1.0], [2.0], [3.0]], np.float32), examples)
    probabilities = np.array([[0.5, 0.5], [np.nan, np.nan], [1.0, 0.0]], np.float32)
    with pytest.raises(InvalidInput) as refused:
        finite_outputs.refuse("test", probabilities, examples)
    message = str(refused.value)
    assert message.startswith("Cannot score the test split: the model's prediction for 1 of 3")
    assert "test example 2 ([nan, nan] from x=1e+38, kind='b')" in message


@pytest.mark.slow
def test_predict_writes_and_warns_of_predictions_that_are_not_finite(wide_run, run_cli, tmp_path):
    (tmp_path / "rows.csv").write_text("x\n5\n1e38\n7\n")
    result = run_cli("predict", wide_run, tmp_path / "rows.csv", "--output", tmp_path / "p.json")
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("Warning: ")]
    assert len(warnings) == 1, result.stderr
    assert "prediction for 1 of 3 inputs is not a finite number" in warnings[0]
    assert "rows.csv:2 (" in warnings[0] and "rows.csv:1" not in warnings[0]
    written = json.loads((tmp_path / "p.json").read_text())
    assert [row["prediction"] is None for row in written] == [False, True, False]


@pytest.mark.slow
def test_evaluate_refuses_predictions_that_are_not_finite_and_writes_nothing(
    wide_run, run_cli, tmp_path
):
    rows = np.arange(30)
    x = np.where(rows % 3 == 0, 1e38 + rows * 1e36, rows / 3)  # no two rows alike
    pd.DataFrame({"x": x, "y": 1e15 * (rows + 1)}).to_csv(tmp_path / "far.csv", index=False)
    result = run_cli("evaluate", wide_run, "--dataset", tmp_path / "far.csv", "--split", "test")
    assert result.exit_code == 2, result.output
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(errors) == 1 and errors[0].startswith("Error: Cannot score the test split")
    assert "not a finite number" in errors[0] or "not finite numbers" in errors[0]
    assert "test example " in errors[0] and "inf from x=1." in errors[0], errors[0]
    assert "Traceback" not in result.output
    assert not (wide_run / "evaluations").exists()
    good = pd.DataFrame({"x": np.arange(30) / 3, "y": 1e15 * np.arange(30) / 3})
    good.to_csv(tmp_path / "near.csv", index=False)
    result = run_cli("evaluate", wide_run, "--dataset", tmp_path / "near.csv")
    assert result.exit_code == 0, result.output
    assert not list((wide_run / "evaluations").rglob("*.incomplete"))
    assert len(list((wide_run / "evaluations").glob("near.csv-test/*/metrics.csv"))) == 1
