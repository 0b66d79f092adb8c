"""The n-gram text model (`tfapps.tasks.text_ngram`): the auto rule on both sides of its
threshold, its TF-IDF vectors, training on generated texts (two and three classes, under two
replicas) and on IMDB reviews, its SavedModel and model.keras on raw strings, predict."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from tfapps.data.info import DatasetInfo
from tfapps.data.specs import TextSpec
from tfapps.tasks.text import SentimentConfig
from tfapps.tasks.text_ngram import (
    SAMPLES_PER_WORD_LIMIT,
    auto_architecture,
    auto_max_tokens,
    vocabulary_size,
)

WORDS = {
    "pos": ["great", "wonderful", "loved", "brilliant", "moving"],
    "neg": ["awful", "boring", "hated", "dull", "mess"],
    "meh": ["fine", "average", "okay", "passable", "middling"],
}
TEXTS = ["A great film.<br />Loved it!", "not good, not good at all", "the film", ""]


def write_reviews(path, labels=("neg", "pos"), per_label=60, seed=0):
    """A CSV of short generated reviews whose words give their label away."""
    rng = np.random.default_rng(seed)
    rows = []
    for label in labels:
        for _ in range(per_label):
            words = [*rng.choice(WORDS[label], 3), "the", "film", "was"]
            rng.shuffle(words)
            rows.append((" ".join(words) + ".", label))
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("samples", "words", "expected"),
    [
        (SAMPLES_PER_WORD_LIMIT - 1, 1, "ngram"),
        (SAMPLES_PER_WORD_LIMIT, 1, "conv"),
        (20_000, 178, "ngram"),  # IMDB reviews
        (300_000, 20, "conv"),  # many short texts
    ],
)
def test_the_auto_rule_on_both_sides_of_its_threshold(samples, words, expected):
    chosen, reason = auto_architecture(samples, words)
    assert chosen == expected
    ratio = f"{samples / words:,.0f}"
    assert f"{samples:,} training texts / {words:,} median words = {ratio}" in reason
    assert ("<" if expected == "ngram" else ">=") in reason


@pytest.mark.parametrize(
    ("samples", "words", "expected"),
    [
        (19_965, 178, 71_000),  # IMDB reviews: 3.6 million training words
        (6_824, 20, 20_000),  # Rotten Tomatoes sentences: the lower limit
        (1_593, 340, 20_000),  # BBC News articles
        (200_000, 174, 100_000),  # the upper limit
        (1_000, None, 20_000),  # no median known
        (2_000_000, 0.5, 40_000),  # a median under one word counts as one
    ],
)
def test_the_automatic_ngram_vocabulary_grows_with_the_training_words(samples, words, expected):
    assert auto_max_tokens(samples, words) == expected


@pytest.mark.parametrize(
    ("architecture", "max_tokens", "expected"),
    [("ngram", None, 71_000), ("conv", None, 20_000), ("dense", None, 20_000), ("ngram", 7, 7)],
)
def test_max_tokens_left_automatic_or_given(architecture, max_tokens, expected):
    info = DatasetInfo(
        "reviews", "local", sizes={"train": 19_965}, spec=TextSpec(median_tokens=178)
    )
    config = SentimentConfig(max_tokens=max_tokens)
    assert vocabulary_size(config, info, architecture) == expected


def test_sparse_tf_idf_vectors_are_the_vectorizers_own():
    import tensorflow as tf

    from tfapps.keras_internals import idf_weights
    from tfapps.tasks.text_ngram import build_ngram_vectorizer, sparse_tf_idf
    from tfapps.tasks.text_standardization import standardize_text

    vectorizer = build_ngram_vectorizer(max_tokens=12)
    vectorizer.adapt(tf.constant(TEXTS))
    texts = tf.constant([*TEXTS, "words it never saw, and great"])
    vocabulary, weights = vectorizer.get_vocabulary(), idf_weights(vectorizer)
    sparse = sparse_tf_idf(vocabulary, weights, standardize_text)(texts)
    standardized = sparse_tf_idf(vocabulary, weights, None)(standardize_text(texts))
    np.testing.assert_array_equal(tf.sparse.to_dense(standardized), tf.sparse.to_dense(sparse))
    assert isinstance(sparse, tf.SparseTensor) and sparse.dtype == tf.float32
    dense = vectorizer(texts).numpy()
    assert dense.shape == (5, 12) and dense[-1, 0] > 0  # n-grams out of vocabulary count at 0
    np.testing.assert_array_equal(tf.sparse.to_dense(sparse).numpy(), dense)
    assert "not good" in vectorizer.get_vocabulary()  # bigrams are features


@pytest.mark.slow
def test_auto_builds_the_conv_model_above_the_threshold(tmp_path):
    """1,656 distinct one-word training texts: 1,656 / 1 >= 1,500 (built, not trained)."""
    from tfapps.data.load import load_splits
    from tfapps.tasks.text import TASK, SentimentConfig

    words = WORDS["pos"] + WORDS["neg"]
    labels = ["pos" if i % len(words) < len(WORDS["pos"]) else "neg" for i in range(2300)]
    texts = [f"{words[i % len(words)]}{i}" for i in range(2300)]  # no two alike
    pd.DataFrame({"text": texts, "label": labels}).to_csv(tmp_path / "w.csv", index=False)
    config = SentimentConfig(dataset=str(tmp_path / "w.csv"), max_tokens=50, quiet=True)
    splits = load_splits(config)
    assert splits.info.sizes["train"] == 1656
    task_model = TASK.build(config, splits)
    assert task_model.architecture["architecture"] == "conv"
    assert "1,656 training texts / 1 median words" in task_model.architecture["architecture_reason"]
    assert task_model.model.get_layer("embedding") is not None


@pytest.fixture(scope="module")
def binary_run(tmp_path_factory):
    from tfapps.api import train
    from tfapps.tasks.text import SentimentConfig

    root = tmp_path_factory.mktemp("ngram")
    path = write_reviews(root / "reviews.csv")
    return train(SentimentConfig(dataset=str(path), output_dir=str(root / "runs"), quiet=True))


@pytest.mark.slow
def test_auto_trains_the_ngram_model_on_few_texts_and_records_why(binary_run):
    record = json.loads((binary_run.run_dir / "run.json").read_text())
    assert record["config"]["architecture"] == "auto"
    training = record["training"]
    assert training["architecture"] == "ngram"
    train = record["dataset"]["sizes"]["train"]  # copies of a review stay in one split
    reason = f"{train:,} training texts / 6 median words = {train / 6:,.0f} < 1,500"
    assert reason in training["architecture_reason"]
    assert record["headline"]["value"] >= 0.9  # the words give the label away
    vocabulary = (binary_run.run_dir / "vocabulary.txt").read_text().splitlines()
    weights = (binary_run.run_dir / "idf_weights.txt").read_text().splitlines()
    assert vocabulary[0] == "[UNK]" and "the film" in vocabulary
    assert len(weights) == len(vocabulary) == training["features"]
    assert training["max_tokens"] == 20_000  # a small corpus: the automatic lower limit
    summary = pd.read_csv(binary_run.run_dir.parent.parent.parent / "summary.csv")
    assert list(summary["architecture"]) == ["ngram"]  # the choice, not "auto"


@pytest.mark.slow
def test_the_saved_model_and_model_keras_take_raw_strings(binary_run):
    import keras
    import tensorflow as tf

    texts = [*TEXTS, "Ünïcödé is text too — a wonderful film"]
    expected = binary_run.model.predict(tf.constant(texts), verbose=0)
    assert expected.shape == (5, 1) and np.all((expected >= 0) & (expected <= 1))
    signature = tf.saved_model.load(str(binary_run.run_dir / "saved_model")).signatures[
        "serving_default"
    ]
    assert signature.structured_input_signature[1]["texts"].dtype == tf.string
    served = signature(texts=tf.constant(texts))["predictions"].numpy()
    np.testing.assert_allclose(served, expected, rtol=1e-5, atol=1e-6)
    reloaded = keras.models.load_model(binary_run.run_dir / "model.keras", safe_mode=True)
    np.testing.assert_allclose(reloaded.predict(tf.constant(texts), verbose=0), expected, atol=1e-6)


@pytest.mark.slow
def test_predict_matches_the_model(binary_run, run_cli, tmp_path):
    import tensorflow as tf

    texts = ["a wonderful moving film", "boring, a dull mess"]
    expected = binary_run.model.predict(tf.constant(texts), verbose=0)[:, 0]
    result = run_cli("predict", binary_run.run_dir, *texts, "--output", tmp_path / "p.csv")
    assert result.exit_code == 0, result.output
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table["prediction"]) == ["pos" if p >= 0.5 else "neg" for p in expected]
    np.testing.assert_allclose(table["probability"], np.maximum(expected, 1 - expected), rtol=1e-5)


@pytest.mark.slow
def test_three_classes_get_a_softmax(tmp_path):
    from tfapps.api import train
    from tfapps.tasks.text import SentimentConfig

    path = write_reviews(tmp_path / "three.csv", labels=("pos", "neg", "meh"))
    config = SentimentConfig(
        dataset=str(path), architecture="ngram", output_dir=str(tmp_path), quiet=True
    )
    result = train(config)
    assert result.model.output_shape == (None, 3)
    probabilities = result.model.predict(np.array(TEXTS, dtype=object), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, rtol=1e-5)
    metrics = result.metrics.set_index(["split", "metric"])["value"]
    assert "roc_auc" not in set(result.metrics["metric"])
    assert metrics["test", "accuracy"] >= 0.9 and metrics["test", "f1_macro"] >= 0.9


@pytest.mark.slow
def test_ngram_under_two_mirrored_replicas(tmp_path):
    path = write_reviews(tmp_path / "reviews.csv", per_label=150)
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfapps",
            "sentiment",
            "--dataset",
            str(path),
            "--architecture",
            "ngram",
            "--strategy",
            "mirrored",
            "--cpu-replicas",
            "2",
            "--quiet",
            "--output-dir",
            str(tmp_path / "out"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    run_dir = next((tmp_path / "out" / "sentiment" / "reviews.csv").iterdir())
    record = json.loads((run_dir / "run.json").read_text())
    assert record["compute"]["replicas"] == 2 and record["headline"]["value"] >= 0.9


@pytest.mark.slow
def test_imdb_reviews_with_auto(data_dir, tmp_path):
    """2,000 of the embedded IMDB reviews: auto picks the n-gram model, which beats the
    conv model's bar for the same data in test_sentiment.py."""
    from tfapps.api import train
    from tfapps.tasks.text import SentimentConfig

    config = SentimentConfig(
        max_examples=2000, data_dir=data_dir, output_dir=str(tmp_path), quiet=True
    )
    result = train(config)
    training = json.loads((result.run_dir / "run.json").read_text())["training"]
    assert training["architecture"] == "ngram"
    assert result.headline["value"] > 0.80
