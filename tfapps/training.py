"""Input pipelines, callbacks and `model.fit`: from a built model to a trained one."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import keras
import tensorflow as tf

from tfapps.config import RunConfig

SHUFFLE_BUFFER = 10_000
PREPROCESS_BATCH = 1024


def batched(
    dataset: tf.data.Dataset,
    batch_size: int,
    shuffle_seed: int | None = None,
    preprocess: Callable | None = None,
) -> tf.data.Dataset:
    """Preprocesses once, caches, optionally shuffles, batches and prefetches a dataset.

    Args:
        dataset: unbatched `(input, label)` examples.
        batch_size: examples per batch.
        shuffle_seed: reshuffle every epoch with this seed; `None` keeps the order (evaluation).
        preprocess: maps a batch of `(inputs, labels)` to model-ready tensors; run in large
            batches before the cache, so it costs one pass in total. Defaults to none.
    """
    if preprocess is not None:
        examples = dataset.cardinality()
        dataset = (
            dataset.batch(PREPROCESS_BATCH)
            .map(preprocess, num_parallel_calls=tf.data.AUTOTUNE)
            .unbatch()
        )
        if examples >= 0:  # unbatch() forgets the size; Keras wants it to plan epochs
            dataset = dataset.apply(tf.data.experimental.assert_cardinality(examples))
    dataset = dataset.cache()
    if shuffle_seed is not None:
        dataset = dataset.shuffle(SHUFFLE_BUFFER, seed=shuffle_seed, reshuffle_each_iteration=True)
    return dataset.batch(batch_size).prefetch(tf.data.AUTOTUNE)


def progress_verbosity(quiet: bool) -> int:
    """Keras `verbose`: 0 when quiet, a live progress bar on a terminal, else one line an epoch."""
    if quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2


class EpochStats(keras.callbacks.Callback):
    """Adds `learning_rate` and `seconds` (wall time of the epoch) to each epoch's logs.

    Place it before loggers such as `CSVLogger`, which then write both columns.
    """

    def on_epoch_begin(self, epoch, logs=None):
        self._started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )
            logs["seconds"] = round(time.perf_counter() - self._started, 3)


def fit(
    model: keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    config: RunConfig,
    run_dir: Path,
) -> keras.callbacks.History:
    """Trains `model` with early stopping, writing history.csv and TensorBoard logs as it goes.

    Args:
        model: a compiled model.
        train: batched training data.
        validation: batched validation data.
        config: the run's options (`epochs`, `patience`, `quiet`).
        run_dir: the (temporary) run directory receiving history.csv and tensorboard/.
    """
    callbacks = [
        EpochStats(),
        keras.callbacks.CSVLogger(str(run_dir / "history.csv")),
        keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True
        ),
        keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")),
    ]
    return model.fit(
        train,
        validation_data=validation,
        epochs=config.epochs,
        callbacks=callbacks,
        shuffle=False,
        verbose=progress_verbosity(config.quiet),
    )
