"""Resolves a `--dataset` value to its source and returns the finished splits."""

from __future__ import annotations

import dataclasses
import logging
import os
from pathlib import Path

import tensorflow_datasets as tfds

from tfapps.config import RunConfig
from tfapps.data import image_data, registry, tables, texts, tfds_source
from tfapps.data.splits import Splits, cap_and_check_splits
from tfapps.errors import InvalidInput
from tfapps.pipeline import untuned

log = logging.getLogger("tfapps")

# Per task: how to read a prepared TFDS builder, and how to read a local path.
READERS = {
    "image-classify": (image_data.from_tfds, image_data.from_folder),
    "sentiment": (texts.from_tfds, texts.from_path),
    "regress": (tables.from_tfds, tables.from_path),
}


def load_splits(config: RunConfig) -> Splits:
    """Returns train/validation/test for `config.dataset`, capped by `config.max_examples`.

    The value is, in this order: an embedded dataset name, an existing local path, or a TFDS
    catalog name (optionally `name/config`). Anything else raises `InvalidInput` listing what
    is accepted. Every split, and every dataset made from it, runs without tf.data's
    autotuning (`pipeline.untuned`).

    Args:
        config: the run's options.
    """
    if config.quiet:
        tfds.disable_progress_bar()
    from_tfds, from_path = READERS[config.task]
    name = config.dataset
    embedded = registry.embedded_for(config.task)
    path = Path(name).expanduser()
    if name in embedded:
        builder = tfds_source.embedded_builder(embedded[name], config.data_dir)
        splits = from_tfds(builder, "embedded", config)
        splits.info.details["origin"] = embedded[name].origin
    elif path.exists():
        splits = from_path(path, config)
    elif tfds_source.is_catalog_name(name):
        splits = from_tfds(tfds_source.catalog_builder(name, config.data_dir), "catalog", config)
    elif _looks_like_path(name):
        raise InvalidInput(
            f"Dataset path does not exist: {name}. Expected {registry.LOCAL_FORMATS[config.task]}."
        )
    else:
        raise InvalidInput(
            f"Unknown dataset {name!r} for {config.task}. "
            f"Accepted: {registry.accepted_summary(config.task)}."
        )
    splits = cap_and_check_splits(splits, config.max_examples)
    splits = dataclasses.replace(splits, **{name: untuned(data) for name, data in splits.items()})
    summary = splits.info.summary
    for line in summary.get("lines", []):
        log.info(line)
    for warning in summary.get("warnings", []):
        log.warning(warning)
    return splits


def _looks_like_path(name: str) -> bool:
    return os.sep in name or name.startswith((".", "~")) or Path(name).suffix != ""
