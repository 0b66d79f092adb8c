"""Length batches: cutting padding leaves the conv text classifier's outputs unchanged."""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from tfapps import models, runs, tasks
from tfapps.config import TextConfig
from tfapps.token_batches import TokenCut

FULL_LENGTH = 200


@pytest.fixture(scope="module")
def classifier():
    """The default conv text classifier with random weights, biases and padding embedding,
    up to its pooled features (the layers after the pooling see no positions; comparing
    before them keeps a saturated sigmoid from hiding differences)."""
    keras.utils.set_random_seed(3)
    model = models.build_text_classifier(50, FULL_LENGTH, 2, embedding_dim=8)
    rng = np.random.default_rng(3)
    for variable in model.weights:
        variable.assign(rng.normal(scale=0.3, size=variable.shape).astype("float32"))
    return keras.Model(model.input, model.get_layer("global_max_pool").output)


def padded_texts(lengths, seed=0) -> np.ndarray:
    """One row of random token ids (1..49) per length, padded with zeros to FULL_LENGTH."""
    rng = np.random.default_rng(seed)
    tokens = np.zeros((len(lengths), FULL_LENGTH), np.int64)
    for row, length in enumerate(lengths):
        tokens[row, :length] = rng.integers(1, 50, length)
    return tokens


def cut_mismatches(classifier, cut: TokenCut) -> list[int]:
    """Text lengths whose output on the cut tokens differs from the full-length output."""
    mismatched = []
    for length in range(FULL_LENGTH + 1):
        tokens = padded_texts([length], seed=length)
        cut_tokens, _ = cut.cut(tf.constant(tokens), tf.zeros(1))
        full = classifier(tokens, training=False).numpy()
        if not np.allclose(classifier(cut_tokens, training=False).numpy(), full, atol=1e-5):
            mismatched.append(length)
    return mismatched


def test_cut_tokens_give_the_full_length_outputs_for_every_text_length(classifier):
    cut = models.text_token_cut(FULL_LENGTH)
    assert (cut.period, cut.margin) == (9, 33)
    assert cut_mismatches(classifier, cut) == []
    # Both parts of the rule are needed: windows aligned differently from the full length,
    # or too little padding after the text, change the outputs.
    assert cut_mismatches(classifier, dataclasses.replace(cut, period=1)) != []
    assert cut_mismatches(classifier, dataclasses.replace(cut, margin=cut.period)) != []


def test_a_batch_is_cut_to_what_its_longest_text_needs():
    cut = models.text_token_cut(FULL_LENGTH)
    for longest, expected in ((0, 38), (5, 38), (100, 137), (167, 200), (FULL_LENGTH, 200)):
        tokens, _ = cut.cut(tf.constant(padded_texts([3, longest])), tf.zeros(2))
        assert tokens.shape == (2, expected), longest
        assert (FULL_LENGTH - expected) % cut.period == 0
        assert expected >= min(FULL_LENGTH, longest + cut.margin)


def test_training_batches_group_similar_lengths_and_keep_count_size_and_examples():
    cut = models.text_token_cut(FULL_LENGTH)
    lengths = np.random.default_rng(1).integers(0, FULL_LENGTH + 1, 1000)
    tokens = padded_texts(lengths)
    ids = np.arange(len(lengths))  # the label carries each example's id
    dataset = tf.data.Dataset.from_tensor_slices((tokens, ids))

    batches = list(cut.batch(dataset, 32, shuffle_seed=0).as_numpy_iterator())
    plain = list(dataset.batch(32).as_numpy_iterator())
    assert sorted(len(b[1]) for b in batches) == sorted(len(b[1]) for b in plain)
    seen = np.concatenate([b[1] for b in batches])
    assert sorted(seen) == list(ids) and list(seen) != list(ids)  # all once, shuffled
    for batch_tokens, batch_ids in batches:
        np.testing.assert_array_equal(batch_tokens, tokens[batch_ids, : batch_tokens.shape[1]])
        assert not tokens[batch_ids, batch_tokens.shape[1] :].any()  # only padding was cut
    assert np.mean([b[0].shape[1] for b in batches]) < 0.9 * FULL_LENGTH

    in_order = list(cut.batch(dataset, 32, shuffle_seed=None).as_numpy_iterator())
    np.testing.assert_array_equal(np.concatenate([b[1] for b in in_order]), ids)


@pytest.mark.parametrize(
    "options, grouped",
    [({}, True), ({"architecture": "dense"}, False), ({"length_batches": False}, False)],
)
def test_only_the_conv_model_trains_on_length_batches(options, grouped):
    assert (tasks.text_batcher(TextConfig(**options)) is not None) == grouped


def test_length_batches_under_mirrored_replicas(tmp_path):
    """Batches of varying length are split across two logical CPU replicas."""
    rows = [
        (f"{word} " * (1 + i % 30) + "film", label)
        for i in range(200)
        for word, label in (("great", "pos"), ("awful", "neg"))
    ]
    pd.DataFrame(rows, columns=["text", "label"]).to_csv(tmp_path / "reviews.csv", index=False)
    output_dir = tmp_path / "out"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "tfapps",
            "sentiment",
            "--dataset",
            str(tmp_path / "reviews.csv"),
            "--strategy",
            "mirrored",
            "--cpu-replicas",
            "2",
            "--sequence-length",
            "100",
            "--max-tokens",
            "50",
            "--embedding-dim",
            "8",
            "--epochs",
            "3",
            "--quiet",
            "--output-dir",
            str(output_dir),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    run_dir = runs.finished_runs(output_dir)[0]
    record = json.loads((run_dir / "run.json").read_text())
    assert record["compute"]["replicas"] == 2 and record["config"]["length_batches"] is True
    assert record["headline"]["value"] > 0.9
