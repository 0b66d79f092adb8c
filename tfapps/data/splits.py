"""The shape every data source hands to the rest of tfapps: three unbatched splits plus facts.

`DatasetInfo` (the facts) and `CachePlan` live in `tfapps.data.info`, and the row carving in
`tfapps.data.stratify`; neither needs TensorFlow.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tensorflow as tf

from tfapps.data.info import SPLIT_NAMES, CachePlan, DatasetInfo
from tfapps.data.stratify import capped_sizes
from tfapps.data.summary import max_examples_line
from tfapps.errors import InvalidInput


@dataclass
class Splits:
    """Unbatched `(input, label)` datasets for train, validation and test, their `info`, and
    how the pipeline caches them (`cache`, in memory by default).

    `prepared_train` is the training split as the task's `inspect` prepared it on the way for
    its `build` (the text task: texts standardized once, cached), or `None`.

    A `tfapps tune` trial has no test split, and the final training of a tuned run no
    validation split (`None`); every split a data source reads is there.
    """

    train: tf.data.Dataset
    validation: tf.data.Dataset | None
    test: tf.data.Dataset | None
    info: DatasetInfo
    cache: CachePlan = field(default_factory=CachePlan)
    prepared_train: tf.data.Dataset | None = None

    def items(self) -> list[tuple[str, tf.data.Dataset]]:
        """Returns `(split name, dataset)` pairs in train, validation, test order."""
        return [(name, getattr(self, name)) for name in SPLIT_NAMES]


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
            (at least one example each, `stratify.capped_sizes`). `None` keeps everything.
    """
    sizes = {name: count_examples(dataset) for name, dataset in splits.items()}
    capped = capped_sizes(sizes, max_examples)
    if capped != sizes:
        for name, dataset in splits.items():
            setattr(splits, name, dataset.take(capped[name]))
        splits.info.summary.lines.append(max_examples_line(max_examples, capped, sizes))
    sizes = capped
    for name, size in sizes.items():
        if size == 0:
            copies = splits.info.summary.facts.get("duplicates", {}).get("copies", 0)
            raise InvalidInput(
                f"Dataset {splits.info.name!r} has no examples in its {name} split; "
                "it needs at least one example in train, validation and test"
                + (
                    f" ({copies:,} of its examples are copies of others, and an example "
                    "and its copies go to one split)."
                    if copies
                    else "."
                )
            )
    splits.info.sizes = sizes
    return splits
