"""Input pipelines, callbacks and `model.fit`: from a built model to a trained one."""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import keras
import tensorflow as tf

from tfapps import runs
from tfapps.config import RunConfig
from tfapps.errors import TerminationRequest

log = logging.getLogger("tfapps")

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


def progress_verbosity(quiet: bool) -> int:
    """Keras `verbose`: 0 when quiet, a live progress bar on a terminal, else one line an epoch."""
    if quiet:
        return 0
    return 1 if sys.stdout.isatty() else 2


class StopAtStepEnd(keras.callbacks.Callback):
    """Defers SIGINT and SIGTERM to the end of the current training or validation step.

    Inside `deferring_signals()`, a signal only records itself; the next step end raises
    `KeyboardInterrupt` (SIGINT) or `TerminationRequest` (SIGTERM), so a checkpoint being
    written when the signal arrives is always written whole.
    """

    SIGNALS = (signal.SIGINT, signal.SIGTERM)

    def __init__(self):
        super().__init__()
        self.received: int | None = None

    @contextlib.contextmanager
    def deferring_signals(self) -> Iterator[None]:
        """Installs the recording handlers for the block (main thread only)."""

        def record(signum, frame):
            self.received = signum

        try:
            previous = {s: signal.signal(s, record) for s in self.SIGNALS}
        except ValueError:  # not the main thread: signals stay as they are
            yield
            return
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)

    def raise_if_signalled(self, batch=None, logs=None) -> None:
        """Raises the interruption a recorded signal asks for; does nothing otherwise."""
        if self.received == signal.SIGTERM:
            raise TerminationRequest()
        if self.received is not None:
            raise KeyboardInterrupt()

    on_train_batch_end = on_test_batch_end = raise_if_signalled


class PeriodicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras's `BackupAndRestore` (double checkpoint, kept after training) that saves at an
    epoch end only once `interval` seconds have passed since training began or it last saved.

    Saving a model's weights and optimizer state takes tens of milliseconds, longer than a
    whole epoch of a small table; epochs longer than `interval` are all saved.

    Args:
        backup_dir: the checkpoint directory.
        interval: seconds between saves; 0 saves every epoch.
    """

    def __init__(self, backup_dir: str, interval: float):
        super().__init__(backup_dir, double_checkpoint=True, delete_checkpoint=False)
        self.interval = interval

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self._saved_at = time.monotonic()

    def on_epoch_end(self, epoch, logs=None):
        if time.monotonic() - self._saved_at >= self.interval:
            super().on_epoch_end(epoch, logs)
            self._saved_at = time.monotonic()


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


def align_history(run_dir: Path) -> None:
    """Cuts history.csv back to the epochs the checkpoint holds, so a resumed run continues
    its history without a gap or a repeated epoch."""
    keep = runs.finished_epochs(run_dir)
    metadata = run_dir / runs.BACKUP_DIR / runs.CHECKPOINT_METADATA
    if keep and metadata.is_file():  # repair a file cut short by a kill; Keras reads it next
        metadata.write_text(json.dumps({"epoch": keep, "batch": 0}))
    history = run_dir / runs.HISTORY_CSV
    if not history.is_file():
        return
    lines = history.read_text().splitlines(keepends=True)
    rows = [line for line in lines[1:] if line.strip() and int(line.split(",", 1)[0]) < keep]
    history.write_text("".join(lines[:1] + rows) if rows else "")


def fit(
    model: keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    config: RunConfig,
    run_dir: Path | None,
    strategy: tf.distribute.Strategy | None = None,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
) -> keras.callbacks.History:
    """Trains `model` with early stopping, writing history.csv and TensorBoard logs as it goes.

    Finished epochs are checkpointed (Keras BackupAndRestore, in `run_dir/backup/`, at most
    every `config.checkpoint_seconds`), so a run started again in the same directory
    continues from its last checkpointed epoch (the caller deletes the checkpoint when the
    run is complete). Early stopping starts afresh on resume.
    Ctrl-C and SIGTERM take effect at the end of the current step, never while a checkpoint
    is being written, and then raise `KeyboardInterrupt` (`TerminationRequest` for SIGTERM).

    Under `MultiWorkerMirroredStrategy` the epochs run in `fit_distributed` instead of
    `model.fit`; only the chief keeps the checkpoint, and the other workers take its state
    when the run resumes.

    Args:
        model: a compiled model.
        train: batched training data (global batch size).
        validation: batched validation data.
        config: the run's options (`epochs`, `patience`, `start_from_epoch`,
            `checkpoint_seconds`, `quiet`).
        run_dir: the (temporary) run directory receiving history.csv and tensorboard/;
            `None` on a worker that writes nothing (not the chief).
        strategy: the strategy the model was built under. Defaults to the current one.
        extra_callbacks: the caller's callbacks, run after tfapps' own. Defaults to none.
    """
    strategy = strategy or tf.distribute.get_strategy()
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    stop = StopAtStepEnd()
    callbacks = [stop, EpochStats()]
    if run_dir is not None:
        align_history(run_dir)
        callbacks.append(keras.callbacks.CSVLogger(str(run_dir / runs.HISTORY_CSV), append=True))
        callbacks.append(
            PeriodicBackupAndRestore(str(run_dir / runs.BACKUP_DIR), config.checkpoint_seconds)
        )
    callbacks.append(early_stopping(config))
    if run_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / "tensorboard")))
    callbacks.extend(extra_callbacks)
    with stop.deferring_signals():
        if multi_worker:
            history = fit_distributed(
                model, train, validation, config, callbacks, strategy, chief=run_dir is not None
            )
        else:
            history = model.fit(
                train,
                validation_data=validation,
                epochs=config.epochs,
                callbacks=callbacks,
                shuffle=False,
                verbose=progress_verbosity(config.quiet),
            )
    stop.raise_if_signalled()  # a signal after the last step still stops the run
    return history


def early_stopping(config: RunConfig) -> keras.callbacks.EarlyStopping:
    """Early stopping on the validation loss, restoring the best epoch's weights.

    Warns when `config.start_from_epoch` covers every epoch, which turns it off.

    Args:
        config: the run's options (`epochs`, `patience`, `start_from_epoch`).
    """
    if config.start_from_epoch >= config.epochs:
        log.warning(
            "early stopping is off: --start-from-epoch %d ignores all %d epochs (--epochs), "
            "so every epoch runs and the last one's weights are kept",
            config.start_from_epoch,
            config.epochs,
        )
    return keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=config.patience,
        start_from_epoch=config.start_from_epoch,
        restore_best_weights=True,
    )


def fit_distributed(
    model: keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    config: RunConfig,
    callbacks: list[keras.callbacks.Callback],
    strategy: tf.distribute.Strategy,
    chief: bool = True,
) -> keras.callbacks.History:
    """Runs the epochs with `strategy.run` over the model's own `train_step` and `test_step`.

    Keras 3's `model.fit` fails under `MultiWorkerMirroredStrategy` (keras-team/keras#20585:
    its symbolic build receives per-replica values). This loop keeps everything else Keras's:
    the same compiled loss, optimizer and metrics, cross-replica metric results, and the same
    callbacks, driven through `keras.callbacks.CallbackList`.

    On a resume, the chief's `BackupAndRestore` restores its weights, optimizer state and
    epoch; every worker then adopts them from the chief (`adopt_chief_state`), so the other
    workers need no checkpoint of their own and no file shared with the chief.

    Args:
        model: a compiled model built under `strategy`'s scope.
        train: batched training data (global batch size; auto-sharded by data across workers).
        validation: batched validation data.
        config: the run's options (`epochs`, `quiet`).
        callbacks: the callbacks `fit` would get.
        strategy: the distribution strategy.
        chief: whether this process is the chief, whose checkpoint the workers resume from.
            Defaults to `True`.
    """
    build_for_distribution(model, train, strategy)
    train_step = tf.function(lambda batch: strategy.run(model.train_step, args=(batch,)))
    test_step = tf.function(lambda batch: strategy.run(model.test_step, args=(batch,)))
    distributed = {
        name: strategy.experimental_distribute_dataset(data)
        for name, data in (("train", train), ("validation", validation))
    }
    hooks = keras.callbacks.CallbackList(
        callbacks,
        add_history=True,
        add_progbar=not config.quiet,
        model=model,
        verbose=2,
        epochs=config.epochs,
        steps=None,
    )
    model.stop_training = False
    hooks.on_train_begin()  # the chief's BackupAndRestore restores a checkpoint here
    start = adopt_chief_state(
        strategy,
        chief,
        [*model.variables, *model.optimizer.variables],
        getattr(model, "_initial_epoch", None) or 0,  # set by BackupAndRestore, as fit reads it
    )
    for epoch in range(int(start), config.epochs):
        hooks.on_epoch_begin(epoch)
        logs = _run_epoch(model, train_step, distributed["train"], hooks.on_train_batch_end)
        validation_logs = _run_epoch(
            model, test_step, distributed["validation"], hooks.on_test_batch_end
        )
        logs.update({f"val_{name}": value for name, value in validation_logs.items()})
        hooks.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    hooks.on_train_end()
    return model.history


def adopt_chief_state(strategy, chief: bool, variables: Sequence, number: float = 0) -> float:
    """Gives every worker the chief's values of `variables` and returns the chief's `number`.

    The values travel in one cross-worker all-reduce (a sum in which only the chief
    contributes non-zeros), TensorFlow's own collective, so the workers need not share files.
    Every worker must call it at the same point, with variables of the same shapes.

    Args:
        strategy: the `MultiWorkerMirroredStrategy` in use.
        chief: whether this process is the chief.
        variables: Keras or TensorFlow variables of any numeric dtype; assigned in place.
        number: a scalar known to the chief, such as the epoch to start from. Defaults to 0.
    """
    values = [tf.convert_to_tensor(v) for v in variables] + [tf.constant(number, tf.float64)]

    def contribute():
        local = [tf.cast(v, tf.float64) if chief else tf.zeros(v.shape, tf.float64) for v in values]
        context = tf.distribute.get_replica_context()
        return context.all_reduce(tf.distribute.ReduceOp.SUM, local)

    summed = tf.function(lambda: strategy.run(contribute))()
    chiefs = [strategy.experimental_local_results(value)[0] for value in summed]
    for variable, value in zip(variables, chiefs[:-1], strict=True):
        variable.assign(tf.cast(value, variable.dtype))
    return float(chiefs[-1])


def build_for_distribution(model: keras.Model, data: tf.data.Dataset, strategy) -> None:
    """Creates the compiled loss's, metrics' and optimizer's variables under `strategy`'s scope
    from one local batch, as `model.fit` would, then clears the metrics."""
    inputs, labels = next(iter(data))
    with strategy.scope():
        predictions = model(inputs, training=False)
        model.compute_loss(inputs, labels, predictions)
        model.compute_metrics(inputs, labels, predictions, sample_weight=None)
        model.optimizer.build(model.trainable_variables)
    model.reset_metrics()


def _run_epoch(model: keras.Model, step, batches, on_batch_end) -> dict[str, float]:
    model.reset_metrics()
    for index, batch in enumerate(batches):
        step(batch)
        on_batch_end(index)
    return {name: float(value) for name, value in model.get_metrics_result().items()}
