"""Resolves a `--dataset` value to its source and returns the finished splits."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import tensorflow_datasets as tfds

from tfapps.config import RunConfig
from tfapps.data import tfds_source
from tfapps.data.splits import Splits, cap_and_check_splits
from tfapps.errors import InvalidInput
from tfapps.pipeline import untuned

log = logging.getLogger("tfapps")


def load_splits(config: RunConfig) -> Splits:
    """Returns train/validation/test for `config.dataset`, capped by `config.max_examples`.

    The value is, in this order: one of the task's embedded dataset names, an existing local
    path, or a TFDS catalog name (optionally `name/config`); the task's readers read it
    (`Task.read_tfds`, `Task.read_path`). Anything else raises `InvalidInput` listing what is
    accepted. Every split, and every dataset made from it, runs without tf.data's
    autotuning (`pipeline.untuned`).

    Args:
        config: the run's options.
    """
    from tfapps.tasks import get_task

    if config.quiet:
        tfds.disable_progress_bar()
    task = get_task(config.task)
    name = config.dataset
    embedded = {dataset.name: dataset for dataset in task.embedded}
    path = Path(name).expanduser()
    if name in embedded:
        builder = tfds_source.embedded_builder(embedded[name], config.data_dir)
        splits = task.read_tfds(builder, "embedded", config)
        splits.info.origin.package = embedded[name].origin
    elif path.exists():
        splits = task.read_path(path, config)
    elif tfds_source.is_catalog_name(name):
        builder = tfds_source.catalog_builder(name, config.data_dir)
        splits = task.read_tfds(builder, "catalog", config)
    elif _looks_like_path(name):
        raise InvalidInput(f"Dataset path does not exist: {name}. Expected {task.local_formats}.")
    else:
        raise InvalidInput(
            f"Unknown dataset {name!r} for {task.name}. Accepted: {task.accepted()}."
        )
    splits = cap_and_check_splits(splits, config.max_examples)
    splits = dataclasses.replace(splits, **{name: untuned(data) for name, data in splits.items()})
    task.inspect(splits)
    for line in splits.info.summary.lines:
        log.info(line)
    for warning in splits.info.summary.warnings:
        log.warning(warning)
    return splits


def _looks_like_path(name: str) -> bool:
    return os.sep in name or name.startswith((".", "~")) or Path(name).suffix != ""
