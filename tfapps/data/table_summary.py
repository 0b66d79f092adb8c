"""The printed summary of a table as read (`data.tables`): where its rows came from, its target
and columns, and the warnings, one of them naming extreme target values by row (`houses.csv:18`
for a CSV's 18th data row, as `tfapps predict` names rows; `train example 18` for TFDS)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from tfapps.data.info import SPLIT_NAMES
from tfapps.data.stratify import uneven_splits
from tfapps.data.summary import (
    DataSummary,
    class_warnings,
    count_phrase,
    max_examples_line,
    number_text,
)

if TYPE_CHECKING:
    from tfapps.config.options import TableOptions
    from tfapps.data.table_columns import Features
    from tfapps.data.table_targets import Target

SHOWN_ROWS = 5  # rows a warning names


def table_summary(
    source: str,
    read_sizes: Mapping[str, int],
    sampled: Mapping[str, int],
    target: Target,
    read: Features,
    config: TableOptions,
    file_name: str | None,
) -> DataSummary:
    """The summary of a table as read.

    Args:
        source: where it came from, such as `houses.csv (delimiter comma (,), ...)`.
        read_sizes: each split's rows in the source.
        sampled: each split's rows kept by `--max-examples` (all of them without).
        target: the target as the task's rule read it.
        read: the feature columns as read.
        config: the run's options (`max_examples`, `drop`, `target`).
        file_name: a CSV's name, which names its rows; none for TFDS.
    """
    rows_read = sum(read_sizes.values())
    lines = [
        f"{count_phrase(rows_read, 'row')} from {source}",
        target.line,
        "columns: " + "; ".join(column.describe() for column in read.columns),
    ]
    if sampled != read_sizes:
        lines.insert(1, max_examples_line(config.max_examples, sampled, read_sizes) + " (sampled)")
    if config.drop:
        lines.append(f"dropped by --drop: {', '.join(config.drop)}")
    return DataSummary(
        lines=lines,
        warnings=read.warnings
        + target.warnings
        + _class_warnings(target, read_sizes, config, file_name)
        + _extreme_warning(config.target, target, file_name),
        facts={
            "rows": rows_read,
            "rows_sampled": sum(sampled.values()),
            "rows_dropped_without_target": target.dropped,
            "columns": [column.to_dict() for column in read.columns],
        },
    )


def _class_warnings(
    target: Target, read_sizes: Mapping[str, int], config: TableOptions, file_name: str | None
) -> list[str]:
    """A classifier's warnings about its classes (`summary.class_warnings`), saying how a
    CSV's splits came out when small classes carved them far from the shares asked (TFDS
    splits are the builder's)."""
    if not target.class_names:
        return []
    uneven = uneven_splits(read_sizes, config.validation_split, "row") if file_name else None
    return class_warnings(target.counts, target.too_small, "row", uneven)


def _extreme_warning(name: str | None, target: Target, file_name: str | None) -> list[str]:
    """A warning naming the rows of extreme target values and the values."""
    found = sorted(
        (0 if file_name else SPLIT_NAMES.index(split), row, split, value)
        for split, values in target.extreme.items()
        for row, value in values.items()
    )
    rows = [
        (f"{file_name}:{row + 1}" if file_name else f"{split} example {row + 1}", value)
        for _, row, split, value in found
    ]
    if not rows:
        return []
    shown = ", ".join(f"{row} ({number_text(value)})" for row, value in rows[:SHOWN_ROWS])
    more = f" and {len(rows) - SHOWN_ROWS:,} more" if len(rows) > SHOWN_ROWS else ""
    return [
        f"target {name}: {count_phrase(len(rows), 'value')} far from the rest (the training "
        f"median is {number_text(target.median)}): {shown}{more}; if they are typed wrong, fix or "
        "remove those rows: they weigh on the model and on its metrics"
    ]
