"""The shape every data source hands to the rest of tfapps: three unbatched splits plus facts.

`DatasetInfo` (the facts) lives in `tfapps.data.info`, which needs no TensorFlow.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from tfapps.data.info import SPLIT_NAMES, DatasetInfo
from tfapps.errors import InvalidInput

LOCAL_TEST_FRACTION = 0.2


@dataclass
class Splits:
    """Unbatched `(input, label)` datasets for train, validation and test, and their `info`."""

    train: tf.data.Dataset
    validation: tf.data.Dataset
    test: tf.data.Dataset
    info: DatasetInfo

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
