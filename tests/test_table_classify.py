"""`tfapps table-classify`: the class target, the model's layers, and runs end to end on
generated tables (binary and multi-class, string and 0/1 targets, missing cells, imbalance,
a column of many categories), with predict, export, evaluate and resume (serve:
test_serve.py; every format: test_export.py; bad input: test_bad_input.py)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest
from conftest import tiny_classes, train_on_mocked_catalog

from tfapps.data.numbers import NA_MARKERS, NumberFormat
from tfapps.errors import InvalidInput
from tfapps.tasks.table_classes import ClassTarget


def _read_target(values, number_format: NumberFormat | None = None):
    cells = pd.Series(values, dtype=object)
    thirds = np.array_split(np.arange(len(cells)), 3)
    frames = {
        split: pd.DataFrame({"y": cells.iloc[rows].reset_index(drop=True)})
        for split, rows in zip(("train", "validation", "test"), thirds, strict=True)
    }
    return ClassTarget().read(frames, "y", "t.csv", number_format or NumberFormat(), NA_MARKERS)


def test_labels_are_read_as_sentiment_reads_them_and_merges_are_named():
    target = _read_target(["Yes", " yes", "no", "No", "?", "yes", "no", "no", "yes"] * 3)
    assert target.class_names == ["no", "yes"] and target.dropped == 3
    assert "positive class 'yes'" in target.line
    assert any("['Yes', 'yes'] are one class, 'yes'" in w for w in target.warnings)
    numbers = _read_target(["5", "5.0", "3", " 3 ", "5", "3"] * 3)
    assert numbers.class_names == ["3", "5"] and "numbers read as classes" in numbers.line
    assert any("['5', '5.0'] are one class, '5'" in w for w in numbers.warnings)
    adult = _read_target([" <=50K", " >50K", " <=50K.", " >50K.", " <=50K", " <=50K."] * 3)
    assert adult.class_names == ["<=50K", ">50K"]
    comma = _read_target(["2,5", "2.5", "1", "1", "2,5", "1"] * 3, NumberFormat(","))
    assert comma.class_names == ["1", "2.5"]


@pytest.mark.parametrize(
    ("values", "fragments"),
    [
        ([str(i * 1.37) for i in range(60)], ("60 distinct numbers", "`tfapps regress`")),
        (["a"] * 30, ("single class ('a')", "at least 2 classes")),
        (["?"] * 30, ("has no values",)),
        ([f"id{i}" for i in range(90)], ("90 distinct values in 90 rows", "ID")),
    ],
)
def test_targets_that_are_not_classes_are_refused(values, fragments):
    with pytest.raises(InvalidInput) as refused:
        _read_target(values)
    for fragment in fragments:
        assert fragment in str(refused.value)


def test_up_to_twenty_numbers_are_classes_and_regress_warns_on_them():
    from tfapps.tasks.table_regression import NumericTarget

    values = [str(i % 20) for i in range(60)]
    assert len(_read_target(values).class_names) == 20
    cells = pd.Series([str(i % 2) for i in range(30)])
    frames = {split: pd.DataFrame({"y": cells}) for split in ("train", "validation", "test")}
    target = NumericTarget().read(frames, "y", "t.csv", NumberFormat(), NA_MARKERS)
    assert any(
        "only 2 distinct values (0, 1)" in w and "table-classify" in w for w in target.warnings
    )
    few = {  # 6 values, none repeated: a small table, not classes
        split: pd.DataFrame({"y": [str(2 * i), str(2 * i + 1)]}) for i, split in enumerate(frames)
    }
    assert not NumericTarget().read(few, "y", "t.csv", NumberFormat(), NA_MARKERS).warnings


def test_local_rows_are_carved_class_by_class():
    table = pd.DataFrame({"y": ["rare"] * 20 + ["common"] * 180})
    config = type("Options", (), {"seed": 3, "validation_split": 0.1})()
    rows = ClassTarget().carve(table, "y", config, NumberFormat(), NA_MARKERS)
    assert sorted(np.concatenate(list(rows.values()))) == list(range(200))
    rare = {split: int((table["y"].iloc[index] == "rare").sum()) for split, index in rows.items()}
    assert rare == {"train": 14, "validation": 2, "test": 4}


def test_layers_fill_indicate_and_embed_numbers():
    from tfapps.tasks.table_layers import FillMissing, MissingIndicator, PeriodicEmbedding

    column = np.array([1.0, np.nan, 4.0], np.float32)
    np.testing.assert_array_equal(FillMissing(7.0)(column), [1, 7, 4])
    np.testing.assert_array_equal(MissingIndicator()(column), [[0], [1], [0]])
    embedded = PeriodicEmbedding(frequencies=3, units=4)(np.zeros((5, 2), np.float32))
    assert embedded.shape == (5, 8) and np.isfinite(np.asarray(embedded)).all()


# --- trained runs ---------------------------------------------------------------------------


def write_churn(path, rows: int = 240, seed: int = 0):
    """Churn (`Yes` / ` yes` / `no`, about 30% yes) from tenure and plan, with 30 tenures
    missing, a 25-city column and an id."""
    rng = np.random.default_rng(seed)
    tenure = rng.uniform(0, 60, rows)
    plan = rng.choice(["basic", "plus", "pro"], rows)
    churn = (tenure < 18) | ((plan == "basic") & (tenure < 30))
    table = pd.DataFrame(
        {
            "id": np.arange(rows),
            "tenure": np.where(np.arange(rows) % 8 == 0, np.nan, tenure).round(1),
            "plan": plan,
            "city": rng.choice([f"town{i}" for i in range(25)], rows),
            "churn": np.where(churn, rng.choice(["Yes", " yes"], rows), "no"),
        }
    )
    table.to_csv(path, index=False)
    return table


@pytest.fixture(scope="module")
def churn_run(tmp_path_factory):
    from tfapps.api import train
    from tfapps.tasks.table_classification import TableClassifyConfig

    root = tmp_path_factory.mktemp("churn")
    table = write_churn(root / "churn.csv")
    config = TableClassifyConfig(
        dataset=str(root / "churn.csv"),
        target="churn",
        drop=("id",),
        numeric_encoding="periodic",  # auto would choose normalized for 240 rows
        epochs=60,
        learning_rate=3e-3,
        output_dir=str(root / "runs"),
        quiet=True,
    )
    return train(config), table, root


def _test_metrics(run_dir):
    metrics = pd.read_csv(run_dir / "metrics.csv")
    return metrics[metrics["split"] == "test"].set_index("metric")["value"]


@pytest.mark.slow
def test_a_binary_csv_with_gaps_and_many_cities_learns_and_reports(churn_run):
    result, _, _ = churn_run
    run_dir = result.run_dir
    test = _test_metrics(run_dir)
    assert test["accuracy"] > 0.85 and test["roc_auc"] > 0.9
    assert {"balanced_accuracy", "f1_macro", "precision", "recall"} <= set(test.index)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["dataset"]["class_names"] == ["no", "yes"]
    tenure = next(c for c in record["dataset"]["spec"]["columns"] if c["name"] == "tenure")
    # 30 tenures missing, fewer once copies of a row are one (`duplicates`)
    assert 20 <= tenure["missing"] <= 30 and tenure["imputed"] == tenure["median"]
    summary = record["dataset"]["summary"]
    assert any("are one class, 'yes'" in w for w in summary["warnings"])
    assert "positive class 'yes'" in summary["lines"][1]
    training = record["training"]
    assert training["embedded_columns"] == ["city"] and training["missing_indicators"] == ["tenure"]
    assert training["positive_class"] == "yes"
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert list(predictions.columns)[-2:] == ["probability_no", "probability_yes"]
    np.testing.assert_allclose(
        predictions[["probability_no", "probability_yes"]].sum(axis=1), 1, atol=1e-5
    )
    confusion = pd.read_csv(run_dir / "confusion_matrix.csv", index_col=0)
    assert confusion.to_numpy().sum() == len(predictions) == record["dataset"]["sizes"]["test"]
    assert (run_dir / "per_class.csv").is_file()
    for plot in ("learning_curves", "confusion_matrix"):
        assert (run_dir / "plots" / f"{plot}.png").is_file()


@pytest.mark.slow
def test_saved_model_takes_raw_columns_with_nan_and_unseen_categories(churn_run):
    import tensorflow as tf

    result, _, _ = churn_run
    feed = {
        "tenure": tf.constant([2.0, 55.0, np.nan], tf.float32),
        "plan": tf.constant(["basic", "pro", "a plan never seen"]),
        "city": tf.constant(["town3", "town4", "Atlantis"]),
    }
    signature = tf.saved_model.load(str(result.run_dir / "saved_model")).signatures[
        "serving_default"
    ]
    outputs = signature(**feed)
    served = outputs["predictions"].numpy()
    np.testing.assert_allclose(served, result.model.predict(feed, verbose=0), atol=1e-6)
    assert np.isfinite(served).all() and served[0, 0] > 0.5 > served[1, 0]
    assert [c.decode() for c in outputs["classes"].numpy()[:2]] == ["yes", "no"]


@pytest.mark.slow
def test_predict_reads_a_csv_by_column_names_as_training_read_it(churn_run, run_cli):
    import tensorflow as tf

    result, table, root = churn_run
    rows = table.head(16).drop(columns=["churn"])[["city", "id", "plan", "tenure"]]
    rows.to_csv(root / "new.csv", index=False)  # other order, an extra column, gaps kept
    feed = {
        "tenure": tf.constant(rows["tenure"].to_numpy(np.float32)),
        "plan": tf.constant(rows["plan"].to_numpy(object)),
        "city": tf.constant(rows["city"].to_numpy(object)),
    }
    expected = result.model.predict(feed, verbose=0)[:, 0]
    output = root / "predicted.csv"
    done = run_cli("predict", result.run_dir, root / "new.csv", "--output", output)
    assert done.exit_code == 0, done.output
    predicted = pd.read_csv(output)
    probability_yes = np.where(predicted["prediction"] == "yes", 1, 0) * predicted["probability"]
    probability_yes += np.where(predicted["prediction"] == "no", 1 - predicted["probability"], 0)
    np.testing.assert_allclose(probability_yes, expected, atol=1e-5)
    absent = root / "absent.csv"
    rows.drop(columns=["plan"]).to_csv(absent, index=False)
    refused = run_cli("predict", result.run_dir, absent)
    assert refused.exit_code == 2 and "lacks the column(s) ['plan']" in refused.stderr


@pytest.mark.slow
def test_onnx_note_says_exactly_how_to_encode_a_row(churn_run, tmp_path):
    import onnxruntime
    import tensorflow as tf

    from tfapps.export_formats import export

    result, table, _ = churn_run
    exported = export(result.run_dir, "onnx", tmp_path)
    assert exported.same_classes == 1.0
    note = (tmp_path / "preprocessing.txt").read_text()
    assert "NaN" in note and "- city: the category's position" in note and "- plan: one-hot" in note
    categories = json.loads((tmp_path / "categories.json").read_text())
    rows = table.head(20)
    feeds = {  # what the note says, done by hand
        "tenure": rows["tenure"].to_numpy(np.float32),
        "plan": np.eye(len(categories["plan"]), dtype=np.float32)[
            [categories["plan"].index(v) if v in categories["plan"] else 0 for v in rows["plan"]]
        ],
        "city": np.array(
            [categories["city"].index(v) if v in categories["city"] else 0 for v in rows["city"]],
            np.int64,
        ),
    }
    session = onnxruntime.InferenceSession(
        str(tmp_path / "encoded_model.onnx"), providers=["CPUExecutionProvider"]
    )
    got = session.run(None, feeds)[0]
    raw = {
        "tenure": tf.constant(feeds["tenure"]),
        "plan": tf.constant(rows["plan"].to_numpy(object)),
        "city": tf.constant(rows["city"].to_numpy(object)),
    }
    np.testing.assert_allclose(got, result.model.predict(raw, verbose=0), atol=1e-5)


@pytest.mark.slow
def test_evaluate_scores_another_csv_of_the_same_columns(churn_run, run_cli):
    result, _, root = churn_run
    write_churn(root / "later.csv", rows=120, seed=5)
    done = run_cli("evaluate", result.run_dir, "--dataset", root / "later.csv")
    assert done.exit_code == 0, done.output
    folder = next((result.run_dir / "evaluations").iterdir())
    scores = pd.read_csv(next(folder.iterdir()) / "metrics.csv").set_index("metric")["value"]
    assert scores["accuracy"] > 0.8


@pytest.mark.slow
def test_a_numeric_multiclass_target_with_imbalance_and_balanced_weights(tmp_path):
    from tfapps.api import train
    from tfapps.tasks.table_classification import TableClassifyConfig

    rng = np.random.default_rng(1)
    x = rng.uniform(0, 3, 300)
    grade = np.digitize(x, [2.2, 2.7])  # 0: about 73%, 1: 17%, 2: 10%
    pd.DataFrame({"x": x, "noise": rng.normal(size=300), "grade": grade}).to_csv(
        tmp_path / "grades.csv", index=False
    )
    config = TableClassifyConfig(
        dataset=str(tmp_path / "grades.csv"),
        target="grade",
        class_weight="balanced",
        numeric_encoding="normalized",
        epochs=80,
        learning_rate=1e-2,
        output_dir=str(tmp_path / "runs"),
        quiet=True,
    )
    result = train(config)
    assert result.model.output_shape == (None, 3)
    record = json.loads((result.run_dir / "run.json").read_text())
    assert record["dataset"]["class_names"] == ["0", "1", "2"]
    weights = record["training"]["class_weight"]
    assert weights["2"] > weights["1"] > weights["0"]
    assert any("imbalanced" in w for w in record["dataset"]["summary"]["warnings"])
    test = _test_metrics(result.run_dir)
    assert test["balanced_accuracy"] > 0.7 and test["roc_auc_ovr"] > 0.85
    assert "roc_auc" not in test.index


@pytest.mark.slow
def test_penguins_and_titanic_through_tfds(data_dir, tmp_path, run_cli):
    from tfapps.api import train
    from tfapps.tasks.table_classification import TableClassifyConfig

    result = train(
        TableClassifyConfig(epochs=2, data_dir=data_dir, output_dir=str(tmp_path), quiet=True)
    )
    record = json.loads((result.run_dir / "run.json").read_text())
    dataset = record["dataset"]
    assert dataset["class_names"] == ["Adelie", "Chinstrap", "Gentoo"]
    assert sum(dataset["sizes"].values()) == 344
    columns = {c["name"]: c for c in dataset["spec"]["columns"]}
    assert columns["sex"]["kind"] == "categorical" and columns["body_mass_g"]["missing"] == 2
    titanic = train_on_mocked_catalog(
        run_cli, "table-classify", "titanic", tmp_path, num_examples=60
    )
    assert titanic["dataset"]["spec"]["target"] == "survived"
    assert len(titanic["dataset"]["class_names"]) == 2


@pytest.mark.slow
def test_a_killed_run_resumes_without_gap_or_repeat(tmp_path):
    tiny_classes(rows=400).to_csv(tmp_path / "t.csv", index=False)
    args = [sys.executable, "-m", "tfapps", "table-classify", "--dataset", tmp_path / "t.csv"]
    args += ["--target", "label", "--epochs", "12", "--patience", "50", "--batch-size", "8"]
    args += ["--checkpoint-seconds", "0", "--quiet", "--output-dir", tmp_path / "out"]
    args = [str(a) for a in args]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    history = None
    while time.monotonic() < deadline and process.poll() is None:
        found = list((tmp_path / "out").glob("table-classify/t.csv/*.incomplete/history.csv"))
        if found and len(found[0].read_text().splitlines()) > 2:
            history = found[0]
            break
        time.sleep(0.02)
    assert history is not None, process.communicate()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=60)
    resumed = subprocess.run(
        args + ["--resume", "latest"], capture_output=True, text=True, timeout=180
    )
    assert resumed.returncode == 0, resumed.stderr
    final = history.parent.with_name(history.parent.name.removesuffix(".incomplete"))
    assert list(pd.read_csv(final / "history.csv")["epoch"]) == list(range(12))
