"""The tf.data input pipeline: preprocess once, cache, shuffle, batch, prefetch."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

# Turns cached (and shuffled) examples into batches: (dataset, batch_size, shuffle_seed).
Batcher = Callable[[tf.data.Dataset, int, int | None], tf.data.Dataset]

SHUFFLE_BUFFER = 10_000
PREPROCESS_BATCH = 1024
# In-memory sources have no files to split among workers: shard by example.
_SHARD_BY_DATA = tf.data.Options()
_SHARD_BY_DATA.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA


def batched(
    dataset: tf.data.Dataset,
    batch_size: int,
    shuffle_seed: int | None = None,
    preprocess: Callable | None = None,
    batcher: Batcher | None = None,
) -> tf.data.Dataset:
    """Preprocesses once, caches, optionally shuffles, batches and prefetches a dataset.

    Args:
        dataset: unbatched `(input, label)` examples.
        batch_size: examples per batch.
        shuffle_seed: reshuffle every epoch with this seed; `None` keeps the order (evaluation).
        preprocess: maps a batch of `(inputs, labels)` to model-ready tensors; run in large
            batches before the cache, so it costs one pass in total. Defaults to none.
        batcher: turns the cached (and shuffled) examples into batches, called as
            `batcher(dataset, batch_size, shuffle_seed)`, such as `TokenCut.batch`.
            Defaults to plain `dataset.batch(batch_size)`.

    Returns:
        Batched, prefetched `(inputs, labels)`.
    """
    if preprocess is not None:
        dataset = map_in_batches(dataset, preprocess, PREPROCESS_BATCH)
    dataset = dataset.cache().with_options(_SHARD_BY_DATA)
    if shuffle_seed is not None:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=shuffle_seed, reshuffle_each_iteration=True)
    if batcher is None:
        dataset = dataset.batch(batch_size)
    else:
        dataset = batcher(dataset, batch_size, shuffle_seed)
    return dataset.prefetch(tf.data.AUTOTUNE)


def map_in_batches(
    dataset: tf.data.Dataset, function: Callable, batch_size: int
) -> tf.data.Dataset:
    """Applies `function` to batches of examples and returns unbatched examples again,
    keeping the dataset's known size (`unbatch` alone forgets it; Keras wants it to plan
    epochs).

    Args:
        dataset: unbatched examples.
        function: maps a batch of examples to a batch of examples.
        batch_size: examples per call of `function`.
    """
    examples = dataset.cardinality()
    dataset = dataset.batch(batch_size).map(function, num_parallel_calls=tf.data.AUTOTUNE).unbatch()
    if examples >= 0:
        dataset = dataset.apply(tf.data.experimental.assert_cardinality(examples))
    return dataset
