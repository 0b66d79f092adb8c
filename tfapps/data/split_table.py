"""A table's rows by split, its columns taken out one at a time (`SplitTable`).

The table is held once, as read, with each split's rows as positions in it. A column is taken
out when it is read, split by split, and the table lets go of it, so that reading a large
table never holds it twice (as a copy of every column split by split would), and the table
shrinks as its columns become model inputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tfapps.data.csv_files import release_arrow_memory


@dataclass
class SplitTable:
    """A table and the rows of each split.

    Args:
        table: every row read (a CSV's cells as strings, or TFDS values); a column leaves it
            when taken.
        rows: each split's rows, as positions in `table`, in order.
        labels: each split's row labels, by which warnings name rows (a CSV's row numbers,
            a TFDS split's example numbers); one per row of `rows`. Defaults to `rows`.
    """

    table: pd.DataFrame
    rows: dict[str, np.ndarray]
    labels: dict[str, pd.Index] | None = None

    def __post_init__(self) -> None:
        labels = self.labels or self.rows
        self.labels = {split: pd.Index(labels[split], copy=False) for split in self.rows}

    @property
    def columns(self) -> list[str]:
        """The columns not taken yet."""
        return list(self.table.columns)

    @property
    def sizes(self) -> dict[str, int]:
        """The rows of each split."""
        return {split: len(rows) for split, rows in self.rows.items()}

    def take(self, column: str) -> dict[str, pd.Series]:
        """Each split's cells of `column`, indexed by row label; the table lets go of it.
        Strings held as pyarrow's (`csv_files.read_csv_file(compact=True)`) come out as
        pandas' strings, as every reader of cells takes them."""
        cells = self.table.pop(column).array
        compact = isinstance(cells.dtype, pd.ArrowDtype)
        taken = {}
        for split, rows in self.rows.items():
            values = pd.Series(cells.take(rows), index=self.labels[split], name=column)
            taken[split] = values.astype(str) if compact else values
        del cells
        release_arrow_memory()
        return taken

    def keep_rows(self, split: str, labels: pd.Index) -> None:
        """Keeps the rows of `split` whose label is among `labels`."""
        kept = self.labels[split].isin(labels)
        self.rows[split], self.labels[split] = self.rows[split][kept], self.labels[split][kept]

    def keep_columns(self, columns: list[str]) -> None:
        """Lets go of every column but `columns`."""
        self.table.drop(columns=[c for c in self.table.columns if c not in columns], inplace=True)
