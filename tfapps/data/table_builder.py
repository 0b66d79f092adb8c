"""A TFDS builder base for small tables that an installed package ships."""

from __future__ import annotations

import numpy as np
import pandas as pd
import tensorflow_datasets as tfds

from tfapps.data.fixed_splits import fixed_split

TRAIN_TEST = {"train": 0.8, "test": 0.2}


class TableBuilder(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Turns the DataFrame of `_load_table` into a TFDS dataset, split 80/20 with a fixed seed.

    Subclasses set `COLUMNS` (column name to `tf.float32` or `tf.string`), `TARGET`,
    `DESCRIPTION`, `HOMEPAGE`, `VERSION`, and implement `_load_table`. Missing numbers are
    stored as NaN, missing strings as "".
    """

    COLUMNS: dict = {}
    TARGET = ""
    DESCRIPTION = ""
    HOMEPAGE = ""

    def _load_table(self) -> pd.DataFrame:
        raise NotImplementedError

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description=self.DESCRIPTION,
            features=tfds.features.FeaturesDict(dict(self.COLUMNS)),
            homepage=self.HOMEPAGE,
        )

    def _split_generators(self, dl_manager):
        table = self._load_table()
        return {
            name: self._generate_examples(table, rows)
            for name, rows in fixed_split(len(table), TRAIN_TEST).items()
        }

    def _generate_examples(self, table: pd.DataFrame, indices):
        for index in indices:
            row = table.iloc[index]
            yield (
                int(index),
                {
                    column: ("" if pd.isna(row[column]) else str(row[column]))
                    if dtype.name == "string"
                    else np.float32(row[column])
                    for column, dtype in self.COLUMNS.items()
                },
            )
