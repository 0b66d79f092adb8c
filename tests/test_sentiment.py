"""`tfapps sentiment` end to end: real IMDB reviews, raw-string serving, CSV/folder/TFDS sources."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import train_on_mocked_catalog

from tfapps.api import train
from tfapps.tasks.text import SentimentConfig

pytestmark = pytest.mark.slow  # every test here trains, or uses a trained run

SMALL_MODEL = ("--max-tokens", 500, "--sequence-length", 40, "--embedding-dim", 16)
WORDS = {
    "pos": ["great", "wonderful", "loved", "brilliant", "moving"],
    "neg": ["awful", "boring", "hated", "dull", "mess"],
    "meh": ["fine", "average", "okay", "passable", "middling"],
}


def write_review_csv(path, labels=("pos", "neg"), per_label=40, seed=0, **columns):
    """Writes a CSV of short synthetic reviews whose words give away their label."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in labels:
        for _ in range(per_label):
            words = list(rng.choice(WORDS[label], 4)) + ["the", "film", "was"]
            rng.shuffle(words)
            rows.append((" ".join(words) + ".<br />The end!", label))
    table = pd.DataFrame(rows, columns=["text", "label"]).rename(columns=columns)
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def imdb_run(data_dir, tmp_path_factory):
    """Real training of the conv model on 2,000 of the embedded IMDB reviews."""
    config = SentimentConfig(
        architecture="conv",
        max_examples=2000,
        epochs=4,
        data_dir=data_dir,
        output_dir=str(tmp_path_factory.mktemp("runs")),
        quiet=True,
    )
    return train(config)


def test_imdb_subset_beats_70_percent(imdb_run):
    metrics = pd.read_csv(imdb_run.run_dir / "metrics.csv")
    test = metrics[metrics["split"] == "test"].set_index("metric")["value"]
    assert test["accuracy"] > 0.70
    assert {"loss", "precision", "recall", "f1", "roc_auc", "f1_macro"} <= set(test.index)
    assert test["roc_auc"] > 0.75
    record = json.loads((imdb_run.run_dir / "run.json").read_text())
    sizes = record["dataset"]["sizes"]  # validation and test shrink in proportion to train
    assert sizes["train"] == 2000 and 250 <= sizes["validation"] <= sizes["test"] <= 251
    assert record["dataset"]["class_names"] == ["neg", "pos"]


def test_run_directory_has_vocabulary_and_text_predictions(imdb_run):
    run_dir = imdb_run.run_dir
    vocabulary = (run_dir / "vocabulary.txt").read_text(encoding="utf-8").splitlines()
    assert vocabulary[:2] == ["", "[UNK]"] and len(vocabulary) > 1000
    assert "br" not in vocabulary[:50]  # HTML line breaks are stripped, not learned as words
    predictions = pd.read_csv(run_dir / "predictions.csv")
    assert list(predictions.columns) == [
        "index",
        "text",
        "target",
        "prediction",
        "probability",
        "correct",
    ]
    test_size = json.loads((run_dir / "run.json").read_text())["dataset"]["sizes"]["test"]
    assert len(predictions) == test_size and predictions["text"].str.len().max() <= 200
    for name in (
        "confusion_matrix.csv",
        "per_class.csv",
        "plots/learning_curves.png",
        "plots/confusion_matrix.png",
        "saved_model/saved_model.pb",
        "model.keras",
    ):
        assert (run_dir / name).is_file(), name


def test_saved_model_scores_raw_strings_like_the_in_memory_model(imdb_run):
    import keras
    import tensorflow as tf

    texts = [
        "A wonderful, moving film.<br /><br />I loved every minute!",
        "Dull and boring; the worst film I have seen this year.",
        "",
        "Ünïcödé reviews are text too — très bien.",
    ]
    expected = imdb_run.model.predict(tf.constant(texts), verbose=0)
    signature = tf.saved_model.load(str(imdb_run.run_dir / "saved_model")).signatures[
        "serving_default"
    ]
    assert signature.structured_input_signature[1]["texts"].dtype == tf.string
    served = signature(texts=tf.constant(texts))["predictions"].numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)
    assert served.shape == (4, 1) and np.all((served >= 0) & (served <= 1))

    reloaded = keras.models.load_model(imdb_run.run_dir / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(tf.constant(texts), verbose=0), expected, atol=1e-6)


def test_csv_with_string_labels_and_renamed_columns(run_cli, output_dir, tmp_path):
    path = write_review_csv(tmp_path / "reviews.csv", per_label=150, text="review", label="stars")
    with path.open("a") as handle:
        handle.write('"",pos\n"a text without label",\n')
    result = run_cli(
        "sentiment",
        "--dataset",
        path,
        "--text-column",
        "review",
        "--label-column",
        "stars",
        "--epochs",
        5,
        "--batch-size",
        16,
        "--learning-rate",
        0.005,
        "--dropout",
        0.2,
        "--quiet",
        "--output-dir",
        output_dir,
        *SMALL_MODEL,
    )
    assert result.exit_code == 0, result.output
    assert "dropped 2 of 302 rows" in result.stderr
    run_dir = next((output_dir / "sentiment" / "reviews.csv").iterdir())
    record = json.loads((run_dir / "run.json").read_text())
    assert record["dataset"]["class_names"] == ["neg", "pos"]
    assert record["dataset"]["spec"]["dropped_rows"] == 2
    assert record["headline"]["value"] >= 0.9  # the words give the label away


def test_multiclass_csv_uses_a_softmax_head(tmp_path):
    path = write_review_csv(tmp_path / "three.csv", labels=("pos", "neg", "meh"))
    config = SentimentConfig(
        dataset=str(path),
        epochs=2,
        max_tokens=500,
        sequence_length=40,
        embedding_dim=16,
        output_dir=str(tmp_path / "out"),
        quiet=True,
    )
    result = train(config)
    assert result.model.output_shape == (None, 3)
    metrics = set(result.metrics["metric"])
    assert "roc_auc" not in metrics and "f1_macro" in metrics
    per_class = pd.read_csv(result.run_dir / "per_class.csv")
    assert list(per_class["class"]) == ["meh", "neg", "pos"]


def test_text_folder_in_the_aclimdb_layout(run_cli, output_dir, tmp_path):
    root = tmp_path / "aclImdb"
    rng = np.random.default_rng(0)
    for split, count in (("train", 20), ("test", 6)):
        for label in ("neg", "pos", "unsup"):
            folder = root / split / label
            folder.mkdir(parents=True)
            for i in range(count):
                words = " ".join(rng.choice(WORDS.get(label, ["whatever"]), 5))
                (folder / f"{i}_7.txt").write_text(words, encoding="utf-8")
    result = run_cli(
        "sentiment",
        "--dataset",
        root,
        "--epochs",
        1,
        "--quiet",
        "--output-dir",
        output_dir,
        *SMALL_MODEL,
    )
    assert result.exit_code == 0, result.output
    run_dir = next((output_dir / "sentiment" / "aclImdb").iterdir())
    info = json.loads((run_dir / "run.json").read_text())["dataset"]
    assert info["class_names"] == ["neg", "pos"]  # unsup is skipped
    assert info["sizes"]["test"] == 12


def test_imdb_reviews_from_the_tfds_catalog_through_mock_data(run_cli, tmp_path):
    record = train_on_mocked_catalog(
        run_cli, "sentiment", "imdb_reviews", tmp_path, *SMALL_MODEL, num_examples=32
    )
    assert record["dataset"]["source"] == "catalog"
    assert record["dataset"]["class_names"] == ["neg", "pos"]


def test_predict_on_strings_and_a_text_file_matches_the_model(imdb_run, run_cli, tmp_path):
    import tensorflow as tf

    texts = ["An absolute masterpiece, I loved it.", "Terrible. A waste of two hours."]
    lines = tmp_path / "reviews.txt"
    lines.write_text("Boring and far too long.\n\nFunny, warm and clever.\n", encoding="utf-8")
    all_texts = texts + ["Boring and far too long.", "Funny, warm and clever."]
    expected = imdb_run.model.predict(tf.constant(all_texts), verbose=0)[:, 0]
    output = tmp_path / "out.csv"
    result = run_cli("predict", imdb_run.run_dir, *texts, lines, "--output", output)
    assert result.exit_code == 0, result.output
    table = pd.read_csv(output)
    assert list(table["input"]) == all_texts
    assert list(table["prediction"]) == ["pos" if p >= 0.5 else "neg" for p in expected]
    np.testing.assert_allclose(table["probability"], np.maximum(expected, 1 - expected), rtol=1e-5)


def test_same_seed_same_metrics_whether_or_not_the_data_was_prepared_before(tmp_path):
    """Preparing a TFDS dataset draws random numbers; the model's initial weights must not
    depend on it (a fresh data directory once gave another test accuracy than a prepared
    one)."""

    def metrics(data_dir):
        config = SentimentConfig(
            dataset="rotten_tomatoes",
            epochs=1,
            max_examples=500,
            max_tokens=500,
            embedding_dim=8,
            seed=3,
            data_dir=str(data_dir),
            output_dir=str(tmp_path / "runs"),
            quiet=True,
        )
        return train(config).metrics

    fresh = metrics(tmp_path / "tfds")  # prepares the dataset
    pd.testing.assert_frame_equal(fresh, metrics(tmp_path / "tfds"))  # already prepared
