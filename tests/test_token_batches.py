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

from tfapps import pipeline, run_dirs
from tfapps.tasks import text_model
from tfapps.tasks.text import SentimentConfig
from tfapps.tasks.text_model import text_batcher
from tfapps.token_batches import TokenCut

FULL_LENGTH = 200


@pytest.fixture(scope="module")
def classifier():
    """The default conv text classifier with random weights, biases and padding embedding."""
    keras.utils.set_random_seed(3)
    model = text_model.build_text_classifier(50, FULL_LENGTH, 2, embedding_dim=8)
    rng = np.random.default_rng(3)
    for variable in model.weights:
        variable.assign(rng.normal(scale=0.3, size=variable.shape).astype("float32"))
    return model


def padded_texts(lengths, full_length=FULL_LENGTH, seed=0) -> np.ndarray:
    """One row of random token ids (1..49) per length, padded with zeros to `full_length`."""
    rng = np.random.default_rng(seed)
    tokens = np.zeros((len(lengths), full_length), np.int64)
    for row, length in enumerate(lengths):
        tokens[row, :length] = rng.integers(1, 50, length)
    return tokens


SAMPLED_LENGTHS = 40


def sampled_lengths(full_length: int, seed: int = 0) -> list[int]:
    """The empty text, one token, the full length, and 40 lengths drawn at random between."""
    drawn = np.random.default_rng(seed).choice(full_length + 1, SAMPLED_LENGTHS, replace=False)
    return sorted({0, 1, full_length, *map(int, drawn)})


def cut_mismatches(classifier, cut: TokenCut) -> list[int]:
    """Longest-text lengths of a batch whose pooled features on the cut batch differ from
    those at full length (a batch holds a text of that length, half of it, and an empty one),
    over `sampled_lengths`.

    The pooled features are compared because the layers after the pooling see no positions,
    and a saturated sigmoid could hide a difference.
    """
    pooled = keras.Model(classifier.input, classifier.get_layer("global_max_pool").output)
    mismatched = []
    for length in sampled_lengths(cut.full_length):
        tokens = padded_texts([length, length // 2, 0], cut.full_length, seed=length)
        cut_tokens, _ = cut.cut(tf.constant(tokens), tf.zeros(3))
        full = pooled(tokens, training=False).numpy()
        if not np.allclose(pooled(cut_tokens, training=False).numpy(), full, atol=1e-5):
            mismatched.append(length)
    return mismatched


@pytest.mark.slow
@pytest.mark.parametrize("full_length", [FULL_LENGTH, FULL_LENGTH + 2])
def test_cut_batches_give_the_full_length_outputs_for_every_text_length(classifier, full_length):
    cut = TokenCut.for_model(classifier, full_length)
    assert (cut.period, cut.margin) == (9, 33)  # strides 3 × 3; receptive field 25, plus 8
    assert cut_mismatches(classifier, cut) == []
    # Both parts of the rule are needed: windows aligned differently from the full length,
    # or too little padding after the text, change the outputs.
    assert cut_mismatches(classifier, dataclasses.replace(cut, period=1)) != []
    assert cut_mismatches(classifier, dataclasses.replace(cut, margin=cut.period)) != []


def test_a_batch_is_cut_to_what_its_longest_text_needs():
    cut = TokenCut(FULL_LENGTH, period=9, margin=33)
    for longest, expected in ((0, 38), (5, 38), (100, 137), (167, 200), (FULL_LENGTH, 200)):
        tokens, _ = cut.cut(tf.constant(padded_texts([3, longest])), tf.zeros(2))
        assert tokens.shape == (2, expected), longest
        assert (FULL_LENGTH - expected) % cut.period == 0
        assert expected >= min(FULL_LENGTH, longest + cut.margin)


def length_batches(seed: int | None):
    """1,000 texts of random lengths through `pipeline.batched` with length batches; returns
    the dataset, the full-length tokens and the batches (each label is its example's id)."""
    lengths = np.random.default_rng(1).integers(0, FULL_LENGTH + 1, 1000)
    tokens = padded_texts(lengths)
    examples = tf.data.Dataset.from_tensor_slices((tokens, np.arange(len(lengths))))
    cut = TokenCut(FULL_LENGTH, period=9, margin=33)
    dataset = pipeline.batched(examples, 32, shuffle_seed=seed, batcher=cut.batch)
    return dataset, tokens, list(dataset.as_numpy_iterator())


def test_training_batches_group_similar_lengths_and_keep_count_size_and_examples():
    dataset, tokens, batches = length_batches(seed=0)
    assert dataset.cardinality() == 32  # known, as Keras wants it: 31 of 32 and one of 8
    assert sorted(len(ids) for _, ids in batches) == [8] + [32] * 31
    seen = np.concatenate([ids for _, ids in batches])
    assert sorted(seen) == list(range(1000)) and list(seen) != list(range(1000))  # shuffled
    for batch_tokens, ids in batches:
        np.testing.assert_array_equal(batch_tokens, tokens[ids, : batch_tokens.shape[1]])
        assert not tokens[ids, batch_tokens.shape[1] :].any()  # only padding was cut
    assert np.mean([t.shape[1] for t, _ in batches]) < 0.9 * FULL_LENGTH

    _, _, again = length_batches(seed=0)  # the same seed gives the same batches
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(batches, again, strict=True))
    _, _, in_order = length_batches(seed=None)  # evaluation keeps the order
    np.testing.assert_array_equal(np.concatenate([ids for _, ids in in_order]), range(1000))


@pytest.mark.parametrize(
    "options, architecture, layout, grouped",
    [
        ({}, "conv", "stacked", True),
        ({}, "dense", "stacked", False),
        ({"length_batches": False}, "conv", "stacked", False),
        ({}, "conv", "parallel", False),  # short texts: little padding to cut
    ],
)
def test_only_the_stacked_conv_model_trains_on_length_batches(
    classifier, options, architecture, layout, grouped
):
    config = SentimentConfig(**options)
    batcher = text_batcher(config, architecture, classifier, FULL_LENGTH, layout)
    assert (batcher is not None) == grouped


@pytest.mark.slow
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
            "--architecture",
            "conv",
            "--sequence-length",
            "100",
            "--conv-layout",
            "stacked",  # these short texts would get the parallel layout, without length batches
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
    record = json.loads((run_dirs.finished_runs(output_dir)[0] / "run.json").read_text())
    assert record["compute"]["replicas"] == 2 and record["training"]["length_batches"] is True
    assert record["headline"]["value"] > 0.9
