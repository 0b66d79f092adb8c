"""Embedded `auto_mpg`: the 406-car Auto MPG table shipped by `vega_datasets`, as a TFDS dataset.

`vega_datasets.local_data.cars()` reads the table from the package, so preparing needs no
network. Columns: Miles_per_Gallon (the target; missing for 8 cars), Cylinders, Displacement,
Horsepower (missing for 6 cars), Weight_in_lbs, Acceleration, Year (model year, 1970-1982) and
Origin (USA, Europe or Japan). The car's Name is left out: it identifies a car, it does not
describe it. Missing numbers are kept as NaN; the table reader decides what to do with them.
The rows are split once with a fixed seed into train (80%) and test (20%); validation is
carved from train by `--validation-split`.
"""

import numpy as np
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.data.table_builder import TableBuilder

TARGET = "Miles_per_Gallon"
NUMERIC = [
    "Miles_per_Gallon",
    "Cylinders",
    "Displacement",
    "Horsepower",
    "Weight_in_lbs",
    "Acceleration",
    "Year",
]
CATEGORICAL = ["Origin"]


class AutoMpg(TableBuilder, skip_registration=True):
    """Auto MPG: fuel consumption of 406 cars from the 1970s and early 1980s."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: seeded 80/20 train/test split."}
    HOMEPAGE = "https://archive.ics.uci.edu/dataset/9/auto+mpg"
    DESCRIPTION = __doc__
    TARGET = TARGET
    COLUMNS = {**{c: tf.float32 for c in NUMERIC}, **{c: tf.string for c in CATEGORICAL}}

    def _load_table(self):
        from vega_datasets import local_data

        cars = local_data.cars()
        cars["Year"] = cars["Year"].dt.year.astype(np.float32)
        return cars[list(self.COLUMNS)]
