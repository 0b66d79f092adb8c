"""Reads train/validation/test from any TFDS builder: embedded, catalog or mocked."""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import io
import logging
import tempfile
from dataclasses import dataclass
from pathlib import Path

import filelock
import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.data.embedded import EmbeddedDataset
from tfapps.data.specs import DataOrigin
from tfapps.data.stratify import stratified_rows
from tfapps.errors import InvalidInput, RunFailed
from tfapps.pipeline import untuned

log = logging.getLogger("tfapps")

CARVED_TEST_PERCENT = 20.0
CARVE_SEED = 0  # classifier splits carved from train: the same on every machine and --seed


def embedded_builder(dataset: EmbeddedDataset, data_dir: str | None) -> tfds.core.DatasetBuilder:
    """Instantiates the in-package builder of an embedded dataset and prepares it (offline).

    The first use says so in one line; TFDS' own messages, which speak of a download of
    unknown size, and its progress bars, which flash by, are not shown.

    Args:
        dataset: the registry entry.
        data_dir: TFDS data directory; `None` uses TFDS's default.
    """
    module_name, class_name = dataset.builder.split(":")
    builder_class = getattr(importlib.import_module(module_name), class_name)
    kwargs = {"config": dataset.builder_config} if dataset.builder_config else {}
    return _download_and_prepare_locked(
        lambda: builder_class(data_dir=data_dir, **kwargs), dataset.name, data_dir, dataset
    )


def catalog_builder(name: str, data_dir: str | None) -> tfds.core.DatasetBuilder:
    """Returns a prepared TFDS catalog builder, downloading on first use.

    Args:
        name: a TFDS catalog name, optionally with a config and version (`"emnist/letters"`).
        data_dir: TFDS data directory; `None` uses TFDS's default.
    """
    return _download_and_prepare_locked(
        lambda: tfds.builder(name, data_dir=data_dir), name, data_dir
    )


def tfds_origin(builder: tfds.core.DatasetBuilder) -> DataOrigin:
    """Where a TFDS dataset comes from: the builder's name, version and homepage."""
    return DataOrigin(
        tfds_name=builder.name,
        tfds_version=str(builder.version),
        homepage=builder.info.homepage or None,
    )


def is_catalog_name(name: str) -> bool:
    """True when `name` (without config or version) is a dataset of the TFDS catalog."""
    return name.split("/")[0].split(":")[0] in tfds.list_builders()


def _download_and_prepare_locked(
    make_builder, name: str, data_dir: str | None, embedded: EmbeddedDataset | None = None
) -> tfds.core.DatasetBuilder:
    """Creates and prepares a builder while holding a lock per (data dir, dataset), so that
    processes sharing a data dir (several workers on one host) never prepare it twice; an
    `embedded` dataset is prepared quietly (`embedded_builder`)."""
    key = hashlib.sha1(f"{data_dir}|{name}".encode()).hexdigest()[:16]
    try:
        with filelock.FileLock(Path(tempfile.gettempdir()) / f"tfapps-prepare-{key}.lock"):
            builder = make_builder()
            if embedded is None or builder.is_prepared():
                builder.download_and_prepare()
                return builder
            log.info(
                "preparing the embedded dataset %s from %s in %s (first use; nothing is "
                "downloaded)",
                name,
                embedded.origin,
                builder.data_dir,
            )
            with (
                contextlib.redirect_stdout(io.StringIO()),
                contextlib.redirect_stderr(io.StringIO()),
            ):
                builder.download_and_prepare()
            return builder
    except PermissionError as error:
        raise InvalidInput(
            f"Cannot write the TFDS data dir for {name!r}: {error}. Pass a writable --data-dir."
        ) from None
    except Exception as error:  # downloads fail in many library-specific ways
        where = data_dir or str(Path("~/tensorflow_datasets").expanduser())
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise RunFailed(
            f"Could not prepare TFDS dataset {name!r} in {where}: "
            f"{type(error).__name__}: {first_line}. Catalog datasets are downloaded "
            "on first use; without network use an embedded dataset or a local path."
        ) from None


def read_splits(
    builder: tfds.core.DatasetBuilder, validation_split: float, supervised: bool = True
) -> tuple[tf.data.Dataset, tf.data.Dataset, tf.data.Dataset]:
    """Returns `(train, validation, test)` datasets of a prepared builder, for tables.

    The builder's own validation and test splits are used when it has them. Otherwise test is
    the last 20% of train, and validation the last `validation_split` of what remains, carved
    through TFDS split slicing so that the carving is identical on every machine.
    Classifiers use `read_classified_splits`, which carves class by class.

    Args:
        builder: a prepared builder.
        validation_split: fraction of train held out for validation when there is no such split.
        supervised: `(input, label)` pairs by the builder's supervised keys when True, else the
            full feature dicts. Defaults to True.
    """
    available = _available(builder)
    read = tfds.core.ReadInstruction
    if "test" in available:
        train_end, test = 100.0, read("test")
    else:
        train_end = 100.0 - CARVED_TEST_PERCENT
        test = read("train", from_=train_end, unit="%")
    if "validation" in available:
        validation, train = read("validation"), read("train", to=train_end, unit="%")
    else:
        cut = train_end * (1 - validation_split)
        validation = read("train", from_=cut, to=train_end, unit="%")
        train = read("train", to=cut, unit="%")
    return tuple(
        builder.as_dataset(split=split, as_supervised=supervised, shuffle_files=False)
        for split in (train, validation, test)
    )


@dataclass
class ClassifiedSplits:
    """A classifier's splits of a TFDS dataset.

    Args:
        datasets: `(train, validation, test)` of `(input, label)` pairs.
        train_labels: the label of every training example, in order.
        too_small: labels whose examples were too few to reach a carved split.
    """

    datasets: tuple[tf.data.Dataset, tf.data.Dataset, tf.data.Dataset]
    train_labels: np.ndarray
    too_small: list[int]


def read_classified_splits(
    builder: tfds.core.DatasetBuilder, validation_split: float
) -> ClassifiedSplits:
    """Returns a classifier's train, validation and test splits, carved class by class.

    The builder's own validation and test splits are used when it has them; the splits it
    lacks are carved from train by `stratify.stratified_rows` with a fixed seed (`CARVE_SEED`),
    so that every class reaches them in proportion and the carving is the same on every
    machine and for every `--seed`: test takes 20% of each class, validation
    `validation_split` of the rest.

    Args:
        builder: a prepared builder with `(input, label)` supervised keys.
        validation_split: fraction of train held out for validation when there is no such split.
    """
    available = _available(builder)
    labels = _labels(builder, "train")
    whole = builder.as_dataset(split="train", as_supervised=True, shuffle_files=False)
    own = {
        name: builder.as_dataset(split=name, as_supervised=True, shuffle_files=False)
        for name in ("validation", "test")
        if name in available
    }
    if len(own) == 2:
        return ClassifiedSplits((whole, own["validation"], own["test"]), labels, [])
    rows, too_small = stratified_rows(
        labels,
        CARVE_SEED,
        validation_split if "validation" not in own else 0.0,
        test_fraction=CARVED_TEST_PERCENT / 100 if "test" not in own else 0.0,
    )
    carved = {name: _rows_of(whole, rows[name], len(labels)) for name in rows}
    datasets = tuple(own.get(name, carved[name]) for name in ("train", "validation", "test"))
    return ClassifiedSplits(datasets, labels[rows["train"]], too_small)


def _rows_of(dataset: tf.data.Dataset, rows: np.ndarray, count: int) -> tf.data.Dataset:
    """The examples at `rows` (sorted positions) of a dataset of `count` examples, in order."""
    wanted = np.zeros(count, bool)
    wanted[rows] = True
    keep = tf.constant(wanted)
    chosen = dataset.enumerate().filter(lambda index, example: keep[index])
    return chosen.map(lambda index, example: example).apply(
        tf.data.experimental.assert_cardinality(len(rows))
    )


def _labels(builder: tfds.core.DatasetBuilder, split: str) -> np.ndarray:
    """Every label of a split, in order, without decoding images."""
    features = builder.info.features
    data_key, label_key = builder.info.supervised_keys
    skip = {data_key: tfds.decode.SkipDecoding()}
    if not isinstance(features[data_key], tfds.features.Image):
        skip = None
    dataset = builder.as_dataset(split=split, shuffle_files=False, decoders=skip)
    labels = untuned(dataset.map(lambda example: example[label_key]).batch(4096))
    return np.concatenate([np.asarray(batch) for batch in labels.as_numpy_iterator()] or [[]])


def _available(builder: tfds.core.DatasetBuilder) -> set[str]:
    # A builder that reports no split sizes (e.g. under tfds.testing.mock_data) has train/test.
    available = set(builder.info.splits) or {"train", "test"}
    if "train" not in available:
        raise InvalidInput(
            f"TFDS dataset {builder.name!r} has no 'train' split; it has {sorted(available)}."
        )
    return available
