"""The shape every data source hands to the rest of tfapps: three unbatched splits plus facts.

`DatasetInfo` (the facts) lives in `tfapps.data.info`, which needs no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import tensorflow as tf

from tfapps.data.info import SPLIT_NAMES, DatasetInfo
from tfapps.errors import InvalidInput

LOCAL_TEST_FRACTION = 0.2


@dataclass
class CachePlan:
    """How the input pipeline keeps each split's examples once read.

    Args:
        mode: `"memory"` (tf.data's cache in RAM, the default), `"disk"` (cache files in
            `directory`) or `"none"` (read every epoch: the examples are already decoded in
            memory, or they would fit neither in memory nor on disk).
        directory: where `"disk"` caches go. Defaults to none.
    """

    mode: str = "memory"
    directory: str | None = None

    def target(self, split: str) -> str | None:
        """The `cache` argument of `pipeline.batched` for one split: `""` (in memory), a file
        name (on disk) or `None` (no cache)."""
        if self.mode == "memory":
            return ""
        if self.mode == "disk":
            return str(Path(self.directory) / split)
        return None


@dataclass
class Splits:
    """Unbatched `(input, label)` datasets for train, validation and test, their `info`, and
    how the pipeline caches them (`cache`, in memory by default)."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    info: DatasetInfo
    cache: CachePlan = field(default_factory=CachePlan)

    def items(self) -> list[tuple[str, tf.data.Dataset]]:
        """Returns `(split name, dataset)` pairs in train, validation, test order."""
        return [(name, getattr(self, name)) for name in SPLIT_NAMES]


def carve_local_splits(
    count: int, seed: int, validation_split: float, given_test: int = 0
) -> dict[str, np.ndarray]:
    """Row indices of train, validation and test for a local folder or file, shuffled by `seed`.

    Args:
        count: number of rows.
        seed: the run's `--seed`; the same seed gives the same split.
        validation_split: fraction of the non-test rows held out for validation.
        given_test: the last `given_test` rows form the test split when the data came with one
            (a `test/` folder); otherwise the test split is 20% of the shuffled rows.
            Defaults to 0.

    Every split gets at least one row.
    """
    order = np.random.default_rng(seed).permutation(count - given_test)
    if given_test:
        test = np.arange(count - given_test, count)
    else:
        n_test = max(1, round(len(order) * LOCAL_TEST_FRACTION))
        test, order = order[:n_test], order[n_test:]
    n_val = max(1, round(len(order) * validation_split))
    return {"train": order[n_val:], "validation": order[:n_val], "test": test}


def stratified_rows(
    labels: np.ndarray,
    seed: int,
    validation_split: float,
    given_test: np.ndarray | None = None,
    test_fraction: float = LOCAL_TEST_FRACTION,
) -> tuple[dict[str, np.ndarray], list[int]]:
    """Row indices of train, validation and test, drawn class by class (stratified).

    Each class's rows are shuffled by `seed`; `test_fraction` of them (rounded, at least one
    for a class of 3 or more) go to test, unless the data came with its own test rows; then
    `validation_split` of the rest (at least one for a class of 2 or more) to validation.

    Args:
        labels: integer class of each row, shape `[n]`.
        seed: the run's `--seed`; the same seed gives the same split.
        validation_split: fraction of each class's non-test rows held out for validation.
        given_test: boolean mask of rows that form the test split as given (a `test/`
            folder). Defaults to none: test is carved from the rows.
        test_fraction: fraction of each class carved for test. Defaults to 0.2.

    Returns:
        `({"train", "validation", "test"}: sorted row indices, classes too small to reach
        validation or test)`.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    given = np.zeros(len(labels), bool) if given_test is None else np.asarray(given_test, bool)
    parts: dict[str, list] = {name: [] for name in SPLIT_NAMES}
    parts["test"].append(np.flatnonzero(given))
    too_small = []
    carving_test = test_fraction > 0 and not given.any()
    for label in np.unique(labels[~given]):
        rows = rng.permutation(np.flatnonzero((labels == label) & ~given))
        n_test = _at_least_one(len(rows) * test_fraction, len(rows) >= 3 and not given.any())
        rest = rows[n_test:]
        n_val = _at_least_one(len(rest) * validation_split, len(rest) >= 2)
        parts["test"].append(rows[:n_test])
        parts["validation"].append(rest[:n_val])
        parts["train"].append(rest[n_val:])
        if (n_val == 0 and validation_split > 0) or (n_test == 0 and carving_test):
            too_small.append(int(label))
    rows = {
        name: np.sort(np.concatenate(chunks)).astype(np.int64) for name, chunks in parts.items()
    }
    return rows, too_small


def _at_least_one(share: float, allowed: bool) -> int:
    return max(1, round(share)) if allowed and share > 0 else 0


def count_examples(dataset: tf.data.Dataset) -> int:
    """Returns the number of examples, iterating only when the cardinality is unknown."""
    cardinality = int(dataset.cardinality())
    if cardinality >= 0:
        return cardinality
    return int(dataset.reduce(0, lambda count, _: count + 1))


def cap_and_check_splits(splits: Splits, max_examples: int | None) -> Splits:
    """Applies `--max-examples`, records split sizes, and refuses empty splits.

    Args:
        splits: the splits as the source produced them.
        max_examples: cap on training examples; validation and test shrink in proportion
            (at least one example each). `None` keeps everything.
    """
    sizes = {name: count_examples(dataset) for name, dataset in splits.items()}
    if max_examples is not None and sizes["train"] > max_examples:
        fraction = max_examples / sizes["train"]
        for name, dataset in splits.items():
            keep = max(1, math.ceil(sizes[name] * fraction)) if name != "train" else max_examples
            setattr(splits, name, dataset.take(keep))
            sizes[name] = min(keep, sizes[name])
    for name, size in sizes.items():
        if size == 0:
            raise InvalidInput(
                f"Dataset {splits.info.name!r} has no examples in its {name} split; "
                "it needs at least one example in train, validation and test."
            )
    splits.info.sizes = sizes
    return splits
