"""Training in phases: each `Phase` of a task's model is a `fit` of its own, resumable on its own.

The recipe of TensorFlow's transfer-learning tutorial (`site/en/tutorials/images/
transfer_learning.ipynb`) trains a new head on a frozen pretrained backbone, then fine-tunes the
backbone's top layers at a lower learning rate; a task describes such stages as `Phase`s
(`tasks.task_model.Phase`) and this module runs them in order:

- the epochs run on across phases (the second phase's first epoch follows the first phase's
  last one), so history.csv is one table and the learning curves one plot;
- a phase whose `features` are given trains on them: the frozen part of the model is run
  once, in inference mode, over the training and validation batches, and the phase's model
  (the head) trains on its outputs;
- each phase has its own checkpoint (Keras `BackupAndRestore` in `backup/<phase>/`); a
  finished phase leaves its weights (`backup/<phase>.weights.h5`) and its record
  (`backup/phases.json`), so a run killed in any phase resumes in that phase at its last
  checkpointed epoch, the phases before it skipped;
- each phase ends with its best epoch's weights (early stopping), and the run keeps the
  phase whose weights had the lowest validation loss, as early stopping would across the
  whole run (fine-tuning that only makes the model worse is undone).
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from tfapps import runs
from tfapps.config import RunConfig
from tfapps.keras_internals import checkpoint_epochs
from tfapps.pipeline import batched
from tfapps.progress import Progress
from tfapps.runs import PhaseRecord
from tfapps.tasks.task_model import Phase, TaskModel

log = logging.getLogger("tfapps")


# fit(model, train, validation, config, backup_dir, initial_epoch) -> keras History
Fit = Callable[..., keras.callbacks.History]


def train_in_phases(
    task_model: TaskModel,
    raw_train: Callable[[bool], tf.data.Dataset],
    validation: tf.data.Dataset | None,
    config: RunConfig,
    global_batch: int,
    sizes: dict[str, int],
    run_dir: Path | None,
    strategy: tf.distribute.Strategy,
    fit: Fit,
    steps_per_execution: Callable[[keras.Model], int | None],
) -> None:
    """Runs the task model's phases in order (see the module docstring), skipping those a
    resumed run finished, and records them in `task_model.trained_phases`.

    Args:
        task_model: the built model, with `phases`.
        raw_train: `raw_train(once)` returns the batched training split, shuffled every
            epoch unless `once` (a single pass in order, to compute features).
        validation: the batched validation split, or `None` (a final training on train +
            validation: the last phase is kept).
        config: the run's options (`seed`, `quiet`).
        global_batch: examples per step over all replicas, for batches of features.
        sizes: the examples of each split (`DatasetInfo.sizes`), for progress.
        run_dir: the (temporary) run directory holding `backup/`; `None` keeps nothing (and
            the last phase's weights are kept whatever their validation loss).
        strategy: the strategy the model was built under (phases compile under it).
        fit: trains one phase: `fit(model, train, validation, config, backup_dir,
            initial_epoch)` with `config.epochs` the epoch to stop before.
        steps_per_execution: the automatic steps per call for a phase's model, or `None`
            to keep the compiled value.
    """
    backup = None if run_dir is None else run_dir / runs.BACKUP_DIR
    done = {} if backup is None else {r.name: r for r in runs.read_phases(backup)}
    records, epoch = [], 0
    for phase in task_model.phases:
        if phase.name in done:
            records.append(done[phase.name])
            epoch = done[phase.name].first_epoch + done[phase.name].epochs_run
            continue
        if records and records[-1].name in done:  # the first phase to run after finished ones
            task_model.model.load_weights(_weights(backup, records[-1].name))
        with strategy.scope():
            model = phase.enter()
        steps = steps_per_execution(model)
        if steps is not None:
            model.steps_per_execution = steps
        log.info(
            "phase %s: %s, up to %d epochs",
            phase.name,
            ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in phase.facts.items()),
            phase.epochs,
        )
        if phase.features is None:
            train, phase_validation = raw_train(False), validation
        else:
            train, phase_validation = _feature_batches(
                phase.features, raw_train, validation, config, global_batch, sizes
            )
        history = fit(
            model,
            train,
            phase_validation,
            dataclasses.replace(config, epochs=epoch + phase.epochs),
            None if backup is None else backup / phase.name,
            epoch,
        )
        end = history.epoch[-1] + 1 if history.epoch else _resumed_end(backup, phase, epoch)
        record = PhaseRecord(
            phase.name,
            epoch,
            end - epoch,
            phase.epochs,
            phase.features is not None,
            _validation_loss(model, history, phase_validation),
            facts=dict(phase.facts),
        )
        records.append(record)
        epoch = end
        if backup is not None:
            _finish(backup, task_model.model, records)
    _keep_best(task_model.model, records, backup)
    task_model.trained_phases = [record.to_dict() for record in records]


def _validation_loss(
    model: keras.Model, history: keras.callbacks.History, validation: tf.data.Dataset | None
) -> float | None:
    """The lowest validation loss of a phase (of its weights, for a phase resumed after its
    last epoch); `None` without a validation split."""
    if validation is None:
        return None
    losses = history.history.get("val_loss") or [
        model.evaluate(validation, verbose=0, return_dict=True)["loss"]
    ]
    return float(np.nanmin(losses))


def _feature_batches(
    extractor: keras.Model,
    raw_train: Callable[[bool], tf.data.Dataset],
    validation: tf.data.Dataset | None,
    config: RunConfig,
    global_batch: int,
    sizes: dict[str, int],
) -> tuple[tf.data.Dataset, tf.data.Dataset]:
    """The training and validation batches as the frozen `extractor`'s outputs, computed
    once; the training ones reshuffled every epoch. No validation split (`None`) gives
    none."""
    images = sizes["train"] + (0 if validation is None else sizes["validation"])
    with Progress(
        "computing the frozen backbone's features", images, "images", config.quiet
    ) as progress:
        splits = [raw_train(True)] + ([] if validation is None else [validation])
        features = [frozen_features(extractor, split, progress) for split in splits]
        progress.finish()
    train, *valid = (tf.data.Dataset.from_tensor_slices(pair) for pair in features)
    return (
        batched(train, global_batch, shuffle_seed=config.seed, cache=None),
        batched(valid[0], global_batch, cache=None) if valid else None,
    )


def frozen_features(
    extractor: keras.Model, batches: tf.data.Dataset, progress: Progress | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Runs a frozen model over `(input, label)` batches once, in inference mode.

    Args:
        extractor: the frozen part of a model.
        batches: batched `(input, label)` examples.
        progress: advanced by each batch's examples. Defaults to none.

    Returns:
        `(outputs as float32, labels)`, in the batches' order.
    """
    step = tf.function(lambda inputs: tf.cast(extractor(inputs, training=False), tf.float32))
    outputs, labels = [], []
    for inputs, batch_labels in batches:
        outputs.append(step(inputs).numpy())
        labels.append(batch_labels.numpy())
        if progress is not None:
            progress.advance(len(labels[-1]))
    return np.concatenate(outputs), np.concatenate(labels)


def _weights(backup: Path, name: str) -> Path:
    return backup / f"{name}.weights.h5"


def _finish(backup: Path, model: keras.Model, records: Sequence[PhaseRecord]) -> None:
    """Keeps a finished phase: its weights, then its record (each written whole, then
    renamed), then drops its checkpoint."""
    name = records[-1].name
    backup.mkdir(parents=True, exist_ok=True)  # a phase shorter than a checkpoint wrote none
    partial = backup / f".{name}-partial.weights.h5"
    model.save_weights(partial)
    os.replace(partial, _weights(backup, name))
    text = json.dumps([record.to_dict() for record in records], indent=2)
    temp = backup / f".{runs.PHASES_JSON}.tmp"
    temp.write_text(text)
    os.replace(temp, backup / runs.PHASES_JSON)
    shutil.rmtree(backup / name, ignore_errors=True)


def _resumed_end(backup: Path | None, phase: Phase, epoch: int) -> int:
    """The end epoch of a phase resumed from a checkpoint that already held all its epochs."""
    if backup is None:
        return epoch
    return max(epoch, checkpoint_epochs(backup / phase.name))


def _keep_best(model: keras.Model, records: list[PhaseRecord], backup: Path | None) -> None:
    """Loads the weights of the phase with the lowest validation loss, if not the last;
    without validation losses (no validation split), the last phase's are kept."""
    losses = [np.inf if r.val_loss is None else r.val_loss for r in records]
    best = int(np.argmin(losses)) if np.isfinite(losses).any() else len(records) - 1
    records[best].kept = True
    if best != len(records) - 1 and backup is not None:
        log.info(
            "keeping the weights of phase %s (validation loss %.4g; %s ended at %.4g)",
            records[best].name,
            losses[best],
            records[-1].name,
            losses[-1],
        )
        model.load_weights(_weights(backup, records[best].name))


__all__ = ["Phase", "PhaseRecord", "frozen_features", "train_in_phases"]
