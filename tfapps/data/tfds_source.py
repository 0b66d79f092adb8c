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

from tfapps.data.duplicates import (
    GIVEN,
    Duplicates,
    bytes_keys,
    find_duplicates,
    split_row_name,
)
from tfapps.data.embedded import EmbeddedDataset
from tfapps.data.specs import DataOrigin
from tfapps.data.stratify import stratified_groups
from tfapps.data.summary import DataSummary
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
        duplicates: identical examples among the builder's splits read (train, then its
            own validation and test), and those left out.
        sizes: examples of each builder split read, in that order.
        class_names: the label names.
        labels: the label of every example read (train, then the builder's own validation
            and test).
    """

    datasets: tuple[tf.data.Dataset, tf.data.Dataset, tf.data.Dataset]
    train_labels: np.ndarray
    too_small: list[int]
    duplicates: Duplicates
    sizes: dict[str, int]
    class_names: list[str]
    labels: np.ndarray

    def summarize(self, summary: DataSummary, unit: str) -> None:
        """Adds what was found about identical examples to `summary` (`Duplicates`)."""
        name = split_row_name(self.sizes, "example")
        self.duplicates.summarize(summary, unit, name, self.class_names, self.labels)


def read_classified_splits(
    builder: tfds.core.DatasetBuilder, validation_split: float
) -> ClassifiedSplits:
    """Returns a classifier's train, validation and test splits, carved class by class.

    The builder's own validation and test splits are used when it has them; the splits it
    lacks are carved from train by `stratify.stratified_groups` with a fixed seed
    (`CARVE_SEED`), so that every class reaches them in proportion and the carving is the
    same on every machine and for every `--seed`: test takes 20% of each class, validation
    `validation_split` of the rest. Identical examples (the same encoded image or text) are
    kept in one split: a carved split takes all copies of an example or none, copies in
    train of an example of the builder's own validation or test split are left out, and so
    are examples whose copies carry different labels (`duplicates`).

    Args:
        builder: a prepared builder with `(input, label)` supervised keys.
        validation_split: fraction of train held out for validation when there is no such split.
    """
    available = _available(builder)
    read = ["train", *(name for name in ("validation", "test") if name in available)]
    keys, labels = zip(*(_keys_and_labels(builder, name) for name in read), strict=True)
    sizes = {name: len(part) for name, part in zip(read, labels, strict=True)}
    given = np.concatenate([np.full(sizes[name], GIVEN[name], np.int8) for name in read])
    labels = np.concatenate(labels)
    duplicates = find_duplicates(np.concatenate(keys), labels, given)
    rows, too_small = stratified_groups(
        labels,
        duplicates,
        CARVE_SEED,
        validation_split if "validation" not in available else 0.0,
        test_fraction=CARVED_TEST_PERCENT / 100 if "test" not in available else 0.0,
    )
    starts = dict(zip(read, np.cumsum([0, *sizes.values()]), strict=False))
    datasets = []
    for name in ("train", "validation", "test"):
        source = name if name in available else "train"
        chosen = rows[name] - starts[source]
        dataset = builder.as_dataset(split=source, as_supervised=True, shuffle_files=False)
        if len(chosen) < sizes[source] or source != name:
            dataset = _rows_of(dataset, chosen, sizes[source])
        datasets.append(dataset)
    return ClassifiedSplits(
        tuple(datasets),
        labels[rows["train"]],
        too_small,
        duplicates,
        sizes,
        list(builder.info.features[builder.info.supervised_keys[1]].names),
        labels,
    )


def _rows_of(dataset: tf.data.Dataset, rows: np.ndarray, count: int) -> tf.data.Dataset:
    """The examples at `rows` (sorted positions) of a dataset of `count` examples, in order."""
    wanted = np.zeros(count, bool)
    wanted[rows] = True
    keep = tf.constant(wanted)
    chosen = dataset.enumerate().filter(lambda index, example: keep[index])
    return chosen.map(lambda index, example: example).apply(
        tf.data.experimental.assert_cardinality(len(rows))
    )


def _keys_and_labels(
    builder: tfds.core.DatasetBuilder, split: str
) -> tuple[np.ndarray, np.ndarray]:
    """Every example's content key (`duplicates.bytes_keys` over its encoded image, its
    text stripped of surrounding spaces, or its serialized tensor) and label, in order,
    without decoding images."""
    features = builder.info.features
    data_key, label_key = builder.info.supervised_keys
    skip = {data_key: tfds.decode.SkipDecoding()}
    if not isinstance(features[data_key], tfds.features.Image):
        skip = None

    def content(example):
        data = example[data_key]
        if data.dtype != tf.string:
            data = tf.io.serialize_tensor(data)
        elif isinstance(features[data_key], tfds.features.Text):
            data = tf.strings.strip(data)
        return data, example[label_key]

    dataset = builder.as_dataset(split=split, shuffle_files=False, decoders=skip)
    keys, labels = [bytes_keys([])], [np.zeros(0, np.int64)]
    for data, label in untuned(dataset.map(content).batch(4096)).as_numpy_iterator():
        keys.append(bytes_keys(data))
        labels.append(np.asarray(label))
    return np.concatenate(keys), np.concatenate(labels)


def _available(builder: tfds.core.DatasetBuilder) -> set[str]:
    # A builder that reports no split sizes (e.g. under tfds.testing.mock_data) has train/test.
    available = set(builder.info.splits) or {"train", "test"}
    if "train" not in available:
        raise InvalidInput(
            f"TFDS dataset {builder.name!r} has no 'train' split; it has {sorted(available)}."
        )
    return available
