"""From a task's compiled model to a trained one: callbacks, `model.fit`, resume, history.

`build_and_train` is the training step of `api.train`: it builds the task's model under the
run's strategy, prepares the batches and fits, or, when the run already finished training
before an interruption, loads the trained weights instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfapps import callbacks as tfapps_callbacks
from tfapps import runs
from tfapps.config import RunConfig
from tfapps.data.splits import Splits
from tfapps.distributed import adopt_chief_state, fit_distributed
from tfapps.keras_internals import mend_checkpoint
from tfapps.pipeline import batched
from tfapps.runtime import RuntimeSetup
from tfapps.tasks import TaskModel, get_task

STEP_CALL_SECONDS = 1.0
MAX_STEPS_PER_EXECUTION = 32
MULTIPLY_ADDS_PER_SECOND = 1e11
GPU_SPEED_UP = 100


@dataclass
class Trained:
    """What the training step hands on to evaluation, export and run.json.

    Args:
        task_model: the trained task model.
        batches: the prepared `"validation"` and `"test"` batches, for evaluation.
        epochs: the most epochs training could run: `--epochs`, or the task's choice for this
            data (`TaskModel.epochs`).
        global_batch_size: examples per training step (`global_batch_size`).
        class_weight: each class's weight in the training loss, in class order
            (`class_weights`); `None` weighs every example alike.
    """

    task_model: TaskModel
    batches: dict[str, tf.data.Dataset]
    epochs: int
    global_batch_size: int
    class_weight: list[float] | None


def build_and_train(
    config: RunConfig,
    setup: RuntimeSetup,
    splits: Splits,
    run_dir: Path | None,
    callbacks: Sequence[keras.callbacks.Callback] = (),
    trained_weights: Path | None = None,
) -> Trained:
    """Builds the task's model under the run's strategy, batches the data with the global
    batch size and trains.

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
        The trained model, the evaluation batches and the facts training went by.
    """
    batch = global_batch_size(config, setup.replicas)
    # Seeded again here: preparing a dataset for the first time draws random numbers, and
    # the initial weights must not depend on whether the data was already prepared.
    keras.utils.set_random_seed(config.seed)
    with setup.strategy.scope():
        task_model = get_task(config.task).build(config, splits)
    if setup.workers > 1:
        # Each worker would cut its own batches to other lengths and retrace its step
        # function for each; this is untested, so workers take plain batches.
        task_model.batcher = None

    def prepare(split: str, shuffle_seed: int | None = None) -> tf.data.Dataset:
        examples, preprocess = getattr(splits, split), task_model.preprocess
        if split == "train" and task_model.train_examples is not None:
            examples, preprocess = task_model.train_examples, None
        return batched(
            examples,
            batch,
            shuffle_seed,
            preprocess=preprocess,
            batcher=task_model.batcher,
            cache=splits.cache.target(),
        )

    trained = Trained(
        task_model,
        {"validation": prepare("validation"), "test": prepare("test")},
        epochs=task_model.epochs or config.epochs,
        global_batch_size=batch,
        class_weight=class_weights(config, splits),
    )
    if config.steps_per_execution is None and setup.replicas == 1:
        task_model.model.steps_per_execution = auto_steps_per_execution(
            task_model, batch, gpu=setup.device != "CPU"
        )
    done = trained_weights is not None and trained_weights.is_file()
    if done:
        task_model.model.load_weights(trained_weights)
    if setup.workers > 1:  # every worker takes the chief's path, with the chief's weights
        variables = task_model.model.variables
        done = bool(adopt_chief_state(setup.strategy, setup.is_chief, variables, done))
    if done:
        return trained
    fit(
        task_model.model,
        prepare("train", shuffle_seed=config.seed),
        trained.batches["validation"],
        config,
        run_dir,
        setup.strategy,
        callbacks,
        trained.class_weight,
        epochs=trained.epochs,
        global_batch=batch,
    )
    if trained_weights is not None:
        trained_weights.parent.mkdir(exist_ok=True)
        task_model.model.save_weights(trained_weights)
    return trained


def global_batch_size(config: RunConfig, replicas: int) -> int:
    """Examples per training step: `--batch-size` (per replica) × the replicas in sync."""
    return config.batch_size * replicas


def auto_steps_per_execution(task_model: TaskModel, batch: int, gpu: bool = False) -> int:
    """Training steps per call into TensorFlow such that a call takes about
    `STEP_CALL_SECONDS` (at most `MAX_STEPS_PER_EXECUTION`): more steps cut Python's per-step
    overhead, fewer let progress and Ctrl-C show within about a second.

    The time of a step is estimated, not measured, so the same run always gets the same
    choice: 3 × the model's multiply-adds per example (`model_multiply_adds`, forward and
    backward) × the batch, at `MULTIPLY_ADDS_PER_SECOND` (measured on 2 CPU cores: about
    1e11 for both the photo convnet and the IMDB Conv1D model) or 100 times that on a GPU.

    Args:
        task_model: the built model (`architecture["sequence_length"]` sizes text models).
        batch: the global batch size.
        gpu: whether the run trains on GPUs. Defaults to False.
    """
    length = task_model.architecture.get("sequence_length", 1)
    speed = MULTIPLY_ADDS_PER_SECOND * (GPU_SPEED_UP if gpu else 1)
    return steps_for(3 * model_multiply_adds(task_model.model, length) * batch / speed)


def model_multiply_adds(model: keras.Model, length: int = 1) -> float:
    """Multiply-adds per example of the layers with a kernel (Dense, Conv1D, Conv2D, ...): the
    kernel's size times the positions it is applied at (the output's size without its batch
    and channel axes; an unknown length counts as `length` over the strides so far)."""
    total, stride = 0.0, 1
    for layer in _layers(model):
        kernel = getattr(layer, "kernel", None)
        if kernel is None or not hasattr(layer, "output"):
            continue
        stride *= int(np.prod(getattr(layer, "strides", 1)))  # strided convolutions shorten
        dims = [-(-length // stride) if d is None else d for d in layer.output.shape[1:-1]]
        total += float(np.prod(dims)) * float(np.prod(kernel.shape))
    return total


def _layers(model: keras.Model) -> Iterator[keras.layers.Layer]:
    """The model's layers in order, those of nested models (`Model.layers`) in their place."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from _layers(layer)


def steps_for(step_seconds: float) -> int:
    """Steps per call such that a call takes about `STEP_CALL_SECONDS`, from 1 to
    `MAX_STEPS_PER_EXECUTION`, for steps of `step_seconds` each."""
    return max(1, min(MAX_STEPS_PER_EXECUTION, int(STEP_CALL_SECONDS / max(step_seconds, 1e-9))))


def class_weights(config: RunConfig, splits: Splits) -> list[float] | None:
    """`--class-weight balanced`: each class's weight in class order, `n / (classes × n_c)` over
    the training split (scikit-learn's "balanced"); `None` otherwise."""
    if getattr(config, "class_weight", "none") != "balanced":
        return None
    counts = splits.info.train_class_counts
    total = sum(counts.values())
    return [total / (len(counts) * max(1, counts[name])) for name in splits.info.class_names]


def align_history(run_dir: Path) -> int:
    """Cuts history.csv back to the epochs the checkpoint holds, so a resumed run continues
    its history without a gap or a repeated epoch; mends a checkpoint a kill cut short.

    Returns:
        The epochs the checkpoint holds: the epoch training resumes from.
    """
    keep = mend_checkpoint(run_dir / runs.BACKUP_DIR)
    history = run_dir / runs.HISTORY_CSV
    if history.is_file():
        lines = history.read_text().splitlines(keepends=True)
        rows = [line for line in lines[1:] if line.strip() and int(line.split(",", 1)[0]) < keep]
        history.write_text("".join(lines[:1] + rows) if rows else "")
    return keep


def fit(
    model: keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset,
    config: RunConfig,
    run_dir: Path | None,
    strategy: tf.distribute.Strategy | None = None,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
    class_weight: Sequence[float] | None = None,
    epochs: int | None = None,
    global_batch: int | None = None,
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
        config: the run's options (`patience`, `start_from_epoch`, `checkpoint_seconds`,
            `quiet`, and `epochs` and `batch_size` unless given below).
        run_dir: the (temporary) run directory receiving history.csv and tensorboard/;
            `None` on a worker that writes nothing (not the chief).
        strategy: the strategy the model was built under. Defaults to the current one.
        extra_callbacks: the caller's callbacks, run after tfapps' own. Defaults to none.
        class_weight: each class's weight in the training loss, in class order; `None`
            weighs every example alike. Defaults to `None`.
        epochs: the most epochs to run. Defaults to `config.epochs`.
        global_batch: examples per step of `train`, for the progress display's rate.
            Defaults to `global_batch_size` for `config` and `strategy`.

    Returns:
        Keras' `History`.
    """
    strategy = strategy or tf.distribute.get_strategy()
    epochs = epochs or config.epochs
    multi_worker = isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
    if class_weight is not None:  # as sample weights, which both training loops take
        weights = tf.constant(class_weight, tf.float32)
        train = train.map(lambda x, y: (x, y, tf.gather(weights, tf.cast(y, tf.int32))))
    stop = tfapps_callbacks.StopAtStepEnd()
    callbacks = [stop, tfapps_callbacks.EpochStats()]
    progress = contextlib.nullcontext()
    if not config.quiet:
        examples_per_step = global_batch or global_batch_size(config, strategy.num_replicas_in_sync)
        progress = tfapps_callbacks.TrainingProgress(examples_per_step)
        callbacks.append(progress)
    resumed_epochs = 0  # on workers, the chief's number arrives in fit_distributed
    if run_dir is not None:
        resumed_epochs = align_history(run_dir)
        callbacks.append(keras.callbacks.CSVLogger(str(run_dir / runs.HISTORY_CSV), append=True))
        callbacks.append(
            tfapps_callbacks.PeriodicBackupAndRestore(
                str(run_dir / runs.BACKUP_DIR), config.checkpoint_seconds
            )
        )
    callbacks.append(tfapps_callbacks.early_stopping(config, epochs))
    if run_dir is not None:
        callbacks.append(keras.callbacks.TensorBoard(log_dir=str(run_dir / runs.TENSORBOARD_DIR)))
    callbacks.extend(extra_callbacks)
    with stop.deferring_signals(), progress:
        if multi_worker:
            chief = run_dir is not None
            history = fit_distributed(
                model, train, validation, epochs, callbacks, strategy, chief, resumed_epochs
            )
        else:
            history = model.fit(
                train,
                validation_data=validation,
                epochs=epochs,
                callbacks=callbacks,
                shuffle=False,
                verbose=0,  # TrainingProgress shows progress
            )
    stop.raise_if_signalled()  # a signal after the last step still stops the run
    return history
