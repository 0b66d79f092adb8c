"""From a task's compiled model to a trained one: callbacks, `model.fit`, resume, history.

`build_and_train` is the training step of `api.train`: it builds the task's model under the
run's strategy, prepares the batches and fits, or, when the run already finished training
before an interruption, loads the trained weights instead.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Sequence
from pathlib import Path

import keras
import tensorflow as tf

from tfapps import callbacks as tfapps_callbacks
from tfapps import runs
from tfapps.config import RunConfig
from tfapps.data.splits import Splits
from tfapps.distributed import adopt_chief_state, fit_distributed
from tfapps.pipeline import batched
from tfapps.runtime import RuntimeSetup
from tfapps.tasks import TASKS, TaskModel

STEP_CALL_SECONDS = 1.0
MAX_STEPS_PER_EXECUTION = 32


def build_and_train(
    config: RunConfig,
    setup: RuntimeSetup,
    splits: Splits,
    run_dir: Path | None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    trained_weights: Path | None = None,
) -> tuple[TaskModel, dict[str, tf.data.Dataset]]:
    """Builds the task's model under the run's strategy, batches the data with the global
    batch size (per-replica batch × replicas) and trains.

    Args:
        config: the run's options.
        setup: the run's device, strategy and replicas.
        splits: the data.
        run_dir: the (temporary) run directory; `None` on a worker that writes nothing.
        callbacks: the caller's extra callbacks. Defaults to none.
        trained_weights: where the final weights are kept until the run is complete. When the
            file exists, training finished before an interruption (during evaluation or
            export): the weights are loaded instead of trained. Defaults to none.

    Returns:
        `(task model, {"validation": batches, "test": batches})`.
    """
    global_batch = config.batch_size * setup.replicas
    with setup.strategy.scope():
        task_model = TASKS[config.task].build(config, splits)
    if setup.workers > 1:
        # Each worker would cut its own batches to other lengths and retrace its step
        # function for each; this is untested, so workers take plain batches.
        task_model.batcher = None

    def prepare(split: str, shuffle_seed: int | None = None) -> tf.data.Dataset:
        return batched(
            getattr(splits, split),
            global_batch,
            shuffle_seed,
            preprocess=task_model.preprocess,
            batcher=task_model.batcher,
            cache=splits.cache.target(split),
        )

    eval_batches = {"validation": prepare("validation"), "test": prepare("test")}
    if config.steps_per_execution is None and setup.replicas == 1:
        task_model.model.steps_per_execution = auto_steps_per_execution(
            task_model, splits.train, global_batch
        )
    trained = trained_weights is not None and trained_weights.is_file()
    if trained:
        task_model.model.load_weights(trained_weights)
    if setup.workers > 1:  # every worker takes the chief's path, with the chief's weights
        variables = task_model.model.variables
        trained = bool(adopt_chief_state(setup.strategy, setup.is_chief, variables, trained))
    if trained:
        return task_model, eval_batches
    fit(
        task_model.model,
        prepare("train", shuffle_seed=config.seed),
        eval_batches["validation"],
        dataclasses.replace(config, epochs=task_model.epochs or config.epochs),
        run_dir,
        setup.strategy,
        callbacks,
        class_weights(config, splits),
    )
    if trained_weights is not None:
        trained_weights.parent.mkdir(exist_ok=True)
        task_model.model.save_weights(trained_weights)
    return task_model, eval_batches


def auto_steps_per_execution(task_model: TaskModel, train: tf.data.Dataset, batch: int) -> int:
    """Training steps per call into TensorFlow such that a call takes about
    `STEP_CALL_SECONDS` (at most `MAX_STEPS_PER_EXECUTION`): more steps cut Python's per-step
    overhead, fewer let progress and Ctrl-C show within about a second.

    A training step is taken to cost 3 forward passes, timed on one batch of the training
    split (the second of two calls; the first traces the function).

    Args:
        task_model: the built model and its preprocessing.
        train: the unbatched training split.
        batch: the global batch size.
    """
    sample = train.take(batch).batch(batch)
    if task_model.preprocess is not None:
        sample = sample.map(task_model.preprocess)
    inputs, _ = next(iter(sample))
    forward = tf.function(lambda batch: task_model.model(batch, training=False))
    forward(inputs)
    started = time.perf_counter()
    forward(inputs)
    return steps_for(3 * (time.perf_counter() - started))


def steps_for(step_seconds: float) -> int:
    """Steps per call such that a call takes about `STEP_CALL_SECONDS`, from 1 to
    `MAX_STEPS_PER_EXECUTION`, for steps of `step_seconds` each."""
    return max(1, min(MAX_STEPS_PER_EXECUTION, int(STEP_CALL_SECONDS / max(step_seconds, 1e-9))))


def class_weights(config: RunConfig, splits: Splits) -> list[float] | None:
    """`--class-weight balanced`: each class's weight in class order, `n / (classes × n_c)` over
    the training split (scikit-learn's "balanced"); `None` otherwise."""
    if getattr(config, "class_weight", "none") != "balanced":
        return None
    counts = splits.info.summary["train_classes"]
    total = sum(counts.values())
    return [total / (len(counts) * max(1, counts[name])) for name in splits.info.class_names]


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
    class_weight: Sequence[float] | None = None,
) -> keras.callbacks.History:
    """Trains `model` with early stopping, writing history.csv and TensorBoard logs as it goes.

    Finished epochs are checkpointed (Keras BackupAndRestore, in `run_dir/backup/`, at most
    every `config.checkpoint_seconds`), so a run started again in the same directory
    continues from its last checkpointed epoch (the caller deletes the checkpoint when the
    run is complete). Early stopping starts afresh on resume.
    Ctrl-C and SIGTERM take effect at the end of the current step, never while a checkpoint
    is being written, and then raise `KeyboardInterrupt` (`TerminationRequest` for SIGTERM).

    Under `MultiWorkerMirroredStrategy` the epochs run in `distributed.fit_distributed`
    instead of `model.fit`; only the chief keeps the checkpoint, and the other workers take
    its state when the run resumes.

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
        class_weight: each class's weight in the training loss, in class order; `None`
            weighs every example alike. Defaults to `None`.

    Returns:
        Keras' `History`.
    """
    strategy = strategy or tf.distribute.get_strategy()
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if class_weight is not None:  # as sample weights, which both training loops take
        weights = tf.constant(class_weight, tf.float32)
        train = train.map(lambda x, y: (x, y, tf.gather(weights, tf.cast(y, tf.int32))))
    stop = tfapps_callbacks.StopAtStepEnd()
    callbacks = [stop, tfapps_callbacks.EpochStats()]
    if not config.quiet:
        global_batch = config.batch_size * strategy.num_replicas_in_sync
        callbacks.append(tfapps_callbacks.TrainingProgress(global_batch))
    if run_dir is not None:
        align_history(run_dir)
        callbacks.append(keras.callbacks.CSVLogger(str(run_dir / runs.HISTORY_CSV), append=True))
        callbacks.append(
            tfapps_callbacks.PeriodicBackupAndRestore(
                str(run_dir / runs.BACKUP_DIR), config.checkpoint_seconds
            )
        )
    callbacks.append(tfapps_callbacks.early_stopping(config))
    if run_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / runs.TENSORBOARD_DIR)))
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
                verbose=0,  # TrainingProgress shows progress
            )
    stop.raise_if_signalled()  # a signal after the last step still stops the run
    return history
