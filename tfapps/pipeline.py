"""The tf.data input pipeline: preprocess once, cache, shuffle, batch, prefetch."""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

# Turns cached (and shuffled) examples into batches: (dataset, batch_size, shuffle_seed).
Batcher = Callable[[tf.data.Dataset, int, int | None], tf.data.Dataset]

SHUFFLE_BUFFER = 10_000  # examples, at most...
SHUFFLE_BUFFER_BYTES = 64 * 2**20  # ...and at most this much memory (photos: about 690)
PREPROCESS_BATCH = 1024
PREFETCH_BATCHES = 2  # batches made ready while the model trains on the current one
# In-memory sources have no files to split among workers: shard by example.
_SHARD_BY_DATA = tf.data.Options()
_SHARD_BY_DATA.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
# tf.data's autotuning is off. With it on (TF 2.21, 2 CPU cores), dropping an iterator, which
# Keras does after every epoch, validation and predict, now and then waited about 10 s for
# the autotuner's thread: 2 to 6 epochs in 15 on the flower photos, and half of all 1-epoch
# runs at their end. Cached batches gain nothing from it; parallel maps keep TensorFlow's
# default parallelism (the number of cores). bench/NOTES.md, "Stalled epochs".
_UNTUNED = tf.data.Options()
_UNTUNED.autotune.enabled = False


def untuned(dataset: tf.data.Dataset) -> tf.data.Dataset:
    """Returns `dataset` with tf.data's autotuning off (see `_UNTUNED`); datasets made from it
    (`map`, `batch`, ...) inherit the setting."""
    return dataset.with_options(_UNTUNED)


def batched(
    dataset: tf.data.Dataset,
    batch_size: int,
    shuffle_seed: int | None = None,
    preprocess: Callable | None = None,
    batcher: Batcher | None = None,
    cache: str | None = "",
) -> tf.data.Dataset:
    """Preprocesses once, caches, optionally shuffles, batches and prefetches a dataset.

    Args:
        dataset: unbatched `(input, label)` examples.
        batch_size: examples per batch.
        shuffle_seed: reshuffle every epoch with this seed, through a buffer of
            `shuffle_buffer` examples; `None` keeps the order (evaluation).
        preprocess: maps a batch of `(inputs, labels)` to model-ready tensors; run in large
            batches before the cache, so it costs one pass in total. Defaults to none.
        batcher: turns the cached (and shuffled) examples into batches, called as
            `batcher(dataset, batch_size, shuffle_seed)`, such as `TokenCut.batch`.
            Defaults to plain `dataset.batch(batch_size)`.
        cache: `""` caches the preprocessed examples in memory, a file name caches them on
            disk (`tf.data.Dataset.cache`), `None` does not cache (`CachePlan.target`).
            Defaults to `""`.

    Returns:
        Batched, prefetched `(inputs, labels)`, dense (`densified`), with tf.data's autotuning
        off (`untuned`).
    """
    if preprocess is not None:
        dataset = map_in_batches(dataset, preprocess, PREPROCESS_BATCH)
    if cache is not None:
        dataset = dataset.cache(cache)
    dataset = dataset.with_options(_SHARD_BY_DATA)
    if shuffle_seed is not None:
        buffer = shuffle_buffer(dataset.element_spec)
        dataset = dataset.shuffle(buffer, seed=shuffle_seed, reshuffle_each_iteration=True)
    if batcher is None:
        dataset = dataset.batch(batch_size)
    else:
        dataset = batcher(dataset, batch_size, shuffle_seed)
    return untuned(densified(dataset).prefetch(PREFETCH_BATCHES))


def densified(batches: tf.data.Dataset) -> tf.data.Dataset:
    """Batches whose sparse parts (such as TF-IDF vectors, cached sparse at a small fraction
    of their dense size) are made dense, batch by batch: Keras' distributed `fit` cannot
    split sparse batches among replicas (Keras 3.15 under MirroredStrategy: "'SparseTensor'
    object has no attribute 'device'"), and dense batches all have one shape. Batches
    without sparse parts are returned as they are."""
    specs = tf.nest.flatten(batches.element_spec)
    if not any(isinstance(spec, tf.SparseTensorSpec) for spec in specs):
        return batches

    def dense(*parts):
        parts = tf.nest.map_structure(
            lambda part: tf.sparse.to_dense(part) if isinstance(part, tf.SparseTensor) else part,
            parts,
        )
        return parts if len(parts) > 1 else parts[0]

    return batches.map(dense, num_parallel_calls=tf.data.AUTOTUNE)


def shuffle_buffer(element_spec) -> int:
    """Examples in the shuffle buffer: `SHUFFLE_BUFFER`, or fewer when that many examples of
    this fixed size would take more than `SHUFFLE_BUFFER_BYTES` (examples of unknown size,
    such as strings and sparse vectors, count as small)."""
    size = 0
    for spec in tf.nest.flatten(element_spec):
        dense = isinstance(spec, tf.TensorSpec)  # a SparseTensorSpec's shape is not its size
        if dense and spec.shape.is_fully_defined() and spec.dtype != tf.string:
            size += spec.shape.num_elements() * spec.dtype.size
    return max(1, min(SHUFFLE_BUFFER, SHUFFLE_BUFFER_BYTES // max(1, size)))


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
