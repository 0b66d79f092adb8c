"""From a task's compiled model to a trained one: callbacks, `model.fit`, resume, history.

`build_and_train` is the training step of `api.train`: it builds the task's model under the
run's strategy, prepares the batches and fits, or, when the run already finished training
before an interruption, loads the trained weights instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import keras
import tensorflow as tf

from tfapps import callbacks as tfapps_callbacks
from tfapps import runs
from tfapps.config import RunConfig
from tfapps.data.splits import Splits
from tfapps.distributed import adopt_chief_state, fit_distributed
from tfapps.keras_internals import mend_checkpoint
from tfapps.pipeline import batched
from tfapps.runtime import RuntimeSetup
from tfapps.steps_per_execution import steps_per_model
from tfapps.tasks import TaskModel, get_task


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

    A split that is `None` is not prepared: the trials of `tfapps tune` have no test split,
    and the final training of a tuned run no validation split (it then trains `epochs`
    epochs without early stopping).

    Returns:
        The trained model, the evaluation batches of the splits there are and the facts
        training went by.
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

    def prepare(split: str, shuffle_seed: int | None = None, once: bool = False):
        examples, preprocess = getattr(splits, split), task_model.preprocess
        if split == "train" and task_model.train_examples is not None:
            examples, preprocess = task_model.train_examples, None
        cache = splits.cache.target()
        return batched(
            examples,
            evenly_split_batch(batch, splits.info.sizes.get(split, batch), setup.replicas),
            shuffle_seed,
            preprocess=preprocess,
            batcher=task_model.batcher,
            # A single pass (features computed once) fills a disk cache for later epochs but
            # makes no copy in memory beside the one the training batches keep.
            cache=None if once and cache == "" else cache,
        )

    trained = Trained(
        task_model,
        {
            split: prepare(split)
            for split in ("validation", "test")
            if getattr(splits, split) is not None
        },
        epochs=sum(p.epochs for p in task_model.phases) or task_model.epochs or config.epochs,
        global_batch_size=batch,
        class_weight=class_weights(config, splits),
    )

    def automatic_steps(model: keras.Model) -> int | None:
        if config.steps_per_execution is not None or setup.replicas > 1:
            return None
        length = task_model.architecture.get("sequence_length", 1)
        return steps_per_model(model, batch, setup.device != "CPU", length)

    steps = automatic_steps(task_model.model)
    if steps is not None:
        task_model.model.steps_per_execution = steps
    done = trained_weights is not None and trained_weights.is_file()
    if done:
        task_model.model.load_weights(trained_weights)
    if setup.workers > 1:  # every worker takes the chief's path, with the chief's weights
        variables = task_model.model.variables
        done = bool(adopt_chief_state(setup.strategy, setup.is_chief, variables, done))
    if done:
        return trained
    if task_model.phases:
        from tfapps.phases import train_in_phases

        def fit_phase(model, train, validation, phase_config, backup_dir, initial_epoch):
            return fit(
                model,
                train,
                validation,
                phase_config,
                run_dir,
                setup.strategy,
                callbacks,
                trained.class_weight,
                global_batch=batch,
                initial_epoch=initial_epoch,
                backup_dir=backup_dir,
            )

        train_in_phases(
            task_model,
            lambda once: prepare("train", None if once else config.seed, once=once),
            trained.batches.get("validation"),
            config,
            batch,
            splits.info.sizes,
            run_dir,
            setup.strategy,
            fit_phase,
            automatic_steps,
        )
    else:
        fit(
            task_model.model,
            prepare("train", shuffle_seed=config.seed),
            trained.batches.get("validation"),
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


def evenly_split_batch(batch: int, examples: int, replicas: int) -> int:
    """The batch size for a split of `examples` whose first batch splits evenly over the
    replicas: `batch`, unless the split is smaller than one batch and its size does not
    divide by `replicas`; then the largest multiple of `replicas` under the split's size
    (the rest is a second, last batch).

    Keras 3.15 builds a model under a distribution strategy from the first batch averaged
    over the replicas (`_maybe_symbolic_build`: `strategy.reduce("MEAN", ...)`), which fails
    with an InvalidArgumentError from AddN when the replicas' parts differ in shape (a
    validation split of 25 in a batch of 32 over 2 replicas: 13 and 12).

    Args:
        batch: the global batch size.
        examples: the split's examples.
        replicas: the replicas in sync.
    """
    if replicas == 1 or examples >= batch or examples % replicas == 0:
        return batch
    return max(replicas, examples // replicas * replicas)


def class_weights(config: RunConfig, splits: Splits) -> list[float] | None:
    """`--class-weight balanced`: each class's weight in class order, `n / (classes × n_c)` over
    the training split (scikit-learn's "balanced"); `None` otherwise."""
    if getattr(config, "class_weight", "none") != "balanced":
        return None
    counts = splits.info.train_class_counts
    total = sum(counts.values())
    return [total / (len(counts) * max(1, counts[name])) for name in splits.info.class_names]


def align_history(run_dir: Path, backup_dir: Path | None = None, start: int = 0) -> int:
    """Cuts history.csv back to the epochs the checkpoint holds, so a resumed run continues
    its history without a gap or a repeated epoch; mends a checkpoint a kill cut short.

    Args:
        run_dir: the run directory.
        backup_dir: the checkpoint's folder. Defaults to `run_dir/backup`.
        start: the epoch a training phase starts at (the epochs before it are kept).
            Defaults to 0.

    Returns:
        The epochs the checkpoint holds (at least `start`): the epoch training resumes from.
    """
    keep = max(start, mend_checkpoint(backup_dir or run_dir / runs.BACKUP_DIR))
    history = run_dir / runs.HISTORY_CSV
    if history.is_file():
        lines = history.read_text().splitlines(keepends=True)
        rows = [line for line in lines[1:] if line.strip() and int(line.split(",", 1)[0]) < keep]
        history.write_text("".join(lines[:1] + rows) if rows else "")
    return keep


def fit(
    model: keras.Model,
    train: tf.data.Dataset,
    validation: tf.data.Dataset | None,
    config: RunConfig,
    run_dir: Path | None,
    strategy: tf.distribute.Strategy | None = None,
    extra_callbacks: Sequence[keras.callbacks.Callback] = (),
    class_weight: Sequence[float] | None = None,
    epochs: int | None = None,
    global_batch: int | None = None,
    initial_epoch: int = 0,
    backup_dir: Path | None = None,
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
        validation: batched validation data; `None` trains every epoch, without early
            stopping.
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
        initial_epoch: the epoch to start at (a later training phase's first); `epochs`
            is then the epoch to stop before. Defaults to 0.
        backup_dir: the checkpoint's folder. Defaults to `run_dir/backup/`.

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
    resumed_epochs = initial_epoch  # on workers, the chief's number arrives in fit_distributed
    backup_dir = backup_dir or (None if run_dir is None else run_dir / runs.BACKUP_DIR)
    if run_dir is not None:
        resumed_epochs = align_history(run_dir, backup_dir, initial_epoch)
        callbacks.append(keras.callbacks.CSVLogger(str(run_dir / runs.HISTORY_CSV), append=True))
        callbacks.append(
            tfapps_callbacks.PeriodicBackupAndRestore(str(backup_dir), config.checkpoint_seconds)
        )
    if validation is not None:
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
                initial_epoch=initial_epoch,
                callbacks=callbacks,
                shuffle=False,
                verbose=0,  # TrainingProgress shows progress
            )
    stop.raise_if_signalled()  # a signal after the last step still stops the run
    return history
