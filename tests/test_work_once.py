"""Work done once gives what the work done again gave: the text task's training texts,
standardized once, yield the vocabulary and token ids of the model's own vectorizer."""

from __future__ import annotations

import numpy as np
import pytest
import tensorflow as tf

from tfapps.data.info import DatasetInfo
from tfapps.data.specs import TextSpec
from tfapps.data.splits import Splits
from tfapps.tasks.text import TASK, SentimentConfig
from tfapps.tasks.text_model import build_text_vectorizer

pytestmark = pytest.mark.slow

TEXTS = [
    "A GREAT film!<br />Great, great acting.",
    "awful... simply AWFUL",
    "it's fine; the ending drags",
    "Best. Movie. Ever.",
    "not good, not bad: fine",
]


def test_texts_standardized_once_give_the_vocabulary_and_ids_of_the_model():
    labels = [1, 0, 1, 1, 0] * 4
    texts = TEXTS * 4
    train = tf.data.Dataset.from_tensor_slices((texts, labels))
    sizes = dict.fromkeys(("train", "validation", "test"), len(texts))
    info = DatasetInfo(
        "reviews", "local", class_names=["neg", "pos"], sizes=sizes, spec=TextSpec("row")
    )
    config = SentimentConfig(
        dataset="reviews", architecture="conv", sequence_length=6, max_tokens=12, quiet=True
    )
    splits = Splits(train, train, train, info)
    TASK.inspect(splits)  # as `load_splits` does
    task_model = TASK.build(config, splits)

    reference = build_text_vectorizer(config.max_tokens, config.sequence_length)
    reference.adapt(tf.constant(texts))  # adapted on the raw texts, as the model reads them
    vocabulary = reference.get_vocabulary()
    assert task_model.assets["vocabulary.txt"] == "\n".join(vocabulary) + "\n"
    ids = np.stack([tokens for tokens, _ in task_model.train_examples.as_numpy_iterator()])
    np.testing.assert_array_equal(ids, reference(tf.constant(texts)))
    raw, _ = task_model.preprocess(tf.constant(texts), tf.constant(labels))
    np.testing.assert_array_equal(ids, raw)  # validation and test go through the model's own
    assert splits.info.spec.median_tokens == 5.0  # 6, 3, 6, 3, 5 tokens
