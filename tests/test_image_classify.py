"""`tfapps image-classify` end to end on real data: the embedded digits, mocked mnist, a folder."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from conftest import train_on_mocked_catalog, write_png_folder

from tfapps.api import train
from tfapps.tasks.image import ImageClassifyConfig

pytestmark = pytest.mark.slow  # every test here trains, or uses a trained run

CONTRACT_FILES = [
    "saved_model/saved_model.pb",
    "model.keras",
    "run.json",
    "history.csv",
    "metrics.csv",
    "confusion_matrix.csv",
    "per_class.csv",
    "predictions.csv",
    "plots/learning_curves.png",
    "plots/confusion_matrix.png",
]


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("runs")


@pytest.fixture(scope="module")
def digits_run(data_dir, runs_dir):
    """One real training run on the embedded digits, shared by the tests of this module."""
    config = ImageClassifyConfig(
        dataset="digits", epochs=10, data_dir=data_dir, output_dir=str(runs_dir), quiet=True
    )
    return train(config)


def test_digits_reaches_90_percent_test_accuracy(digits_run):
    metrics = pd.read_csv(digits_run.run_dir / "metrics.csv")
    test = metrics[metrics["split"] == "test"].set_index("metric")["value"]
    assert test["accuracy"] >= 0.90
    assert test["f1_macro"] >= 0.88
    assert digits_run.headline == {
        "split": "test",
        "metric": "accuracy",
        "value": pytest.approx(test["accuracy"]),
    }


def test_run_directory_holds_the_contract(digits_run):
    run_dir = digits_run.run_dir
    assert [name for name in CONTRACT_FILES if not (run_dir / name).is_file()] == []
    assert any((run_dir / "tensorboard").rglob("events.out.tfevents.*"))
    record = json.loads((run_dir / "run.json").read_text())
    assert record["status"] == "complete"
    assert record["versions"]["tensorflow"] and record["versions"]["keras"].startswith("3.")
    assert record["compute"]["device"] == "CPU"
    sizes = record["dataset"]["sizes"]
    assert sizes == {"train": 1295, "validation": 143, "test": 359}  # validation: 10% a class
    assert record["dataset"]["class_names"] == [str(d) for d in range(10)]

    history = pd.read_csv(run_dir / "history.csv")
    assert list(history["epoch"]) == list(range(record["training"]["epochs_run"]))
    assert {"loss", "accuracy", "val_loss", "val_accuracy", "learning_rate", "seconds"} <= set(
        history.columns
    )
    metrics = pd.read_csv(run_dir / "metrics.csv")
    assert set(zip(metrics["split"], metrics["metric"], strict=True)) == {
        (split, metric)
        for split in ("validation", "test")
        for metric in (
            "loss",
            "accuracy",
            "balanced_accuracy",
            "precision_macro",
            "recall_macro",
            "f1_macro",
            "roc_auc_ovr",  # 10 classes, each in both splits
        )
    }
    confusion = pd.read_csv(run_dir / "confusion_matrix.csv", index_col=0)
    assert confusion.shape == (10, 10) and confusion.to_numpy().sum() == sizes["test"]
    per_class = pd.read_csv(run_dir / "per_class.csv")
    assert list(per_class.columns) == ["class", "precision", "recall", "f1", "support"]
    assert per_class["support"].sum() == sizes["test"]
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert len(predictions) == sizes["test"]
    accuracy = metrics.query("split == 'test' and metric == 'accuracy'")["value"].item()
    assert predictions["correct"].mean() == pytest.approx(accuracy)


def test_saved_model_serves_raw_uint8_like_the_in_memory_model(digits_run):
    import keras
    import tensorflow as tf
    from sklearn.datasets import load_digits

    pixels = np.round(load_digits().images[:64] * 255 / 16).astype(np.uint8)[..., None]
    expected = digits_run.model.predict(pixels, verbose=0)

    serving = tf.saved_model.load(str(digits_run.run_dir / "saved_model"))
    signature = serving.signatures["serving_default"]
    assert signature.structured_input_signature[1]["images"].dtype == tf.uint8
    served = signature(images=tf.constant(pixels))["predictions"].numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)
    assert (served.argmax(1) == expected.argmax(1)).all()

    reloaded = keras.models.load_model(digits_run.run_dir / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(pixels, verbose=0), expected, atol=1e-6)


def test_second_run_gets_its_own_directory_and_summary_row(digits_run, data_dir, runs_dir):
    first = digits_run.run_dir
    fingerprint = hashlib.sha256((first / "run.json").read_bytes()).hexdigest()
    second = train(
        ImageClassifyConfig(
            dataset="digits", epochs=1, data_dir=data_dir, output_dir=str(runs_dir), quiet=True
        )
    ).run_dir
    assert second != first and second.parent == first.parent
    assert hashlib.sha256((first / "run.json").read_bytes()).hexdigest() == fingerprint
    summary = pd.read_csv(runs_dir / "summary.csv")
    assert sorted(summary["run_id"]) == sorted([first.name, second.name])
    assert set(summary["task"]) == {"image-classify"}
    assert not list(first.parent.glob("*.incomplete"))


def test_same_seed_gives_same_metrics(data_dir, tmp_path):
    def metrics(name):
        config = ImageClassifyConfig(
            dataset="digits",
            epochs=2,
            max_examples=300,
            seed=7,
            data_dir=data_dir,
            output_dir=str(tmp_path / name),
            quiet=True,
        )
        return train(config).metrics

    pd.testing.assert_frame_equal(metrics("a"), metrics("b"))


def test_mnist_from_the_tfds_catalog_through_mock_data(run_cli, tmp_path):
    record = train_on_mocked_catalog(run_cli, "image-classify", "mnist", tmp_path)
    assert record["dataset"]["source"] == "catalog"
    assert record["dataset"]["spec"]["input_shape"] == [28, 28, 1]
    assert len(record["dataset"]["class_names"]) == 10


def test_folder_of_pngs_trains_end_to_end(run_cli, output_dir, tmp_path):
    root = write_png_folder(
        tmp_path / "my shapes", {"left": 30, "middle": 30, "right": 30}, rgb_every=5
    )
    result = run_cli(
        "image-classify", "--dataset", root, "--epochs", 15, "--quiet", "--output-dir", output_dir
    )
    assert result.exit_code == 0, result.output
    run_dir = next((output_dir / "image-classify" / "my-shapes").iterdir())
    record = json.loads((run_dir / "run.json").read_text())
    info = record["dataset"]
    assert info["class_names"] == ["left", "middle", "right"]
    assert info["spec"]["input_shape"] == [12, 10, 3]  # RGB images present -> RGB; most common
    assert info["spec"]["resized"] > 0
    assert sum(info["sizes"].values()) == 90
    assert record["headline"]["value"] >= 0.8  # the class bands are easy to see


def test_folder_with_train_and_test_subfolders_keeps_the_given_test_split(
    run_cli, output_dir, tmp_path
):
    write_png_folder(tmp_path / "data" / "train", {"a": 20, "b": 20})
    write_png_folder(tmp_path / "data" / "test", {"a": 5, "b": 4}, seed=1)
    result = run_cli(
        "image-classify",
        "--dataset",
        tmp_path / "data",
        "--epochs",
        1,
        "--quiet",
        "--output-dir",
        output_dir,
        "--image-size",
        "16x16",
    )
    assert result.exit_code == 0, result.output
    run_dir = next((output_dir / "image-classify" / "data").iterdir())
    info = json.loads((run_dir / "run.json").read_text())["dataset"]
    assert info["sizes"]["test"] == 9
    assert info["spec"]["input_shape"] == [16, 16, 1]


def test_predict_on_image_files_matches_the_model(digits_run, run_cli, tmp_path):
    from PIL import Image
    from sklearn.datasets import load_digits

    pixels = np.round(load_digits().images[:6] * 255 / 16).astype(np.uint8)
    folder = tmp_path / "digits"
    folder.mkdir()
    for i, image in enumerate(pixels):
        Image.fromarray(image, mode="L").save(folder / f"{i}.png")
    expected = digits_run.model.predict(pixels[..., None], verbose=0)
    output = tmp_path / "predictions.json"
    result = run_cli(
        "predict",
        digits_run.run_dir / "saved_model",
        folder / "0.png",
        folder,
        "--output",
        output,
        "--batch-size",
        4,
    )
    assert result.exit_code == 0, result.output
    table = pd.read_json(output)
    assert len(table) == 7  # one file, then the folder's six
    names = [str(i) for i in expected.argmax(1)]
    assert list(table["prediction"].astype(str)) == names[:1] + names
    np.testing.assert_allclose(table["probability"][1:], expected.max(1), rtol=1e-5)
    assert "0.png" in result.output


def test_predict_refuses_text_for_an_image_model(digits_run, run_cli):
    result = run_cli("predict", digits_run.run_dir, "a lovely film")
    assert result.exit_code == 2
    assert "'a lovely film' is not an image file or folder" in result.stderr
    assert "Traceback" not in result.output


def test_evaluate_scores_another_split_without_touching_the_run(digits_run, run_cli, data_dir):
    run_dir = digits_run.run_dir
    before = {p: p.stat().st_mtime_ns for p in run_dir.rglob("*") if p.is_file()}
    result = run_cli(
        "evaluate", run_dir, "--dataset", "digits", "--split", "validation", "--data-dir", data_dir
    )
    assert result.exit_code == 0, result.output
    evaluation = next((run_dir / "evaluations" / "digits-validation").iterdir())
    scored = pd.read_csv(evaluation / "metrics.csv").set_index(["split", "metric"])["value"]
    trained = pd.read_csv(run_dir / "metrics.csv").set_index(["split", "metric"])["value"]
    assert scored["validation", "accuracy"] == pytest.approx(trained["validation", "accuracy"])
    assert (evaluation / "confusion_matrix.csv").is_file()
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_evaluate_refuses_data_with_other_classes(digits_run, run_cli, tmp_path):
    root = write_png_folder(tmp_path / "shapes", {"a": 6, "b": 6}, size=(8, 8))
    result = run_cli("evaluate", digits_run.run_dir, "--dataset", root)
    assert result.exit_code == 2
    assert "has classes ['a', 'b']" in result.stderr and "Traceback" not in result.output
