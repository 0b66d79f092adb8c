"""What a table task contributes to reading a table: its `TargetRule`, and the `Target` it reads.

`tfapps.data.tables` reads the table and its feature columns the same way for every table
task; the task's rule carves the rows into splits and reads the target column (regress:
numbers; table-classify: classes), and its `Target` is what the summary and the schema record.
Nothing here imports TensorFlow or pandas.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

    from tfapps.config.options import TableOptions
    from tfapps.data.numbers import NumberFormat


@dataclass
class Target:
    """A table's target as a `TargetRule` read it.

    Args:
        values: per split, the target of each kept row (indexed like the split's rows):
            float numbers (regression) or class indices (classification).
        dropped: rows dropped because their target was missing.
        line: the summary line about the target, such as `target mpg: numeric`.
        warnings: what looks wrong about it.
        class_names: class names in label order (classification), else empty.
        train_counts: training rows per class name (classification), else empty.
        counts: rows per class name in every split (classification), else empty.
        too_small: the classes too small to reach every split (classification); the
            summary warns of them (`summary.class_warnings`).
        mean: the training split's mean target (regression), else `None`.
        median: the training split's median target (regression), else `None`.
        extreme: per split, target values far from the rest (regression: typed with extra
            zeros?), indexed by row; the splits without any are left out. The summary names
            their rows.
        transform: what the target is fitted as (regression: `"log1p"`), else `None`.
    """

    values: dict[str, pd.Series]
    dropped: int
    line: str
    warnings: list[str] = field(default_factory=list)
    class_names: list[str] = field(default_factory=list)
    train_counts: dict[str, int] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    too_small: list[str] = field(default_factory=list)
    mean: float | None = None
    median: float | None = None
    extreme: dict[str, pd.Series] = field(default_factory=dict)
    transform: str | None = None


class TargetRule(Protocol):
    """How a table task reads its target column and splits the rows (the task's part of
    reading a table)."""

    task: str  # the command, named in messages
    classes: bool  # the target holds classes: the same features under two are left out

    def carve(
        self,
        table: pd.DataFrame,
        target: str,
        config: TableOptions,
        number_format: NumberFormat,
        markers: tuple[str, ...],
    ) -> dict[str, np.ndarray]:
        """Row indices of train, validation and test of a local table, by `config.seed`;
        `table` holds its `target` column (a row of each group of identical rows)."""

    def read(
        self,
        frames: dict[str, pd.DataFrame],
        target: str,
        dataset: str,
        number_format: NumberFormat,
        markers: tuple[str, ...],
    ) -> Target:
        """Reads the target column of each split; refuses a target the task cannot learn.

        Raises:
            InvalidInput: naming the column and what it holds.
        """
