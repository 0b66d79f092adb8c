"""Embedded `penguins`: the 344 Palmer Archipelago penguins shipped by `palmerpenguins`, as a
TFDS dataset.

The package's `data/penguins.csv` is read through `importlib.resources` (never
`palmerpenguins._base`, which downloads at import), so preparing needs no network. Columns:
species (the target: Adelie 152, Gentoo 124, Chinstrap 68), island (Biscoe, Dream,
Torgersen), bill_length_mm, bill_depth_mm, flipper_length_mm and body_mass_g (each missing for
2 penguins) and sex (missing for 11). The study year is left out: it describes the survey,
not the bird. Missing numbers are kept as NaN and missing sexes as ""; the table reader
decides what to do with them. The rows are split once with a fixed seed into train (80%) and
test (20%); validation is carved from train by `--validation-split`. Data: Gorman, Williams
and Fraser (2014), Palmer Station LTER, CC0.
"""

import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.data.table_builder import TableBuilder

TARGET = "species"
NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "body_mass_g"]
CATEGORICAL = ["species", "island", "sex"]


class Penguins(TableBuilder, skip_registration=True):
    """Palmer penguins: the species of 344 penguins from their island, sex and measurements."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: seeded 80/20 train/test split."}
    HOMEPAGE = "https://allisonhorst.github.io/palmerpenguins/"
    DESCRIPTION = __doc__
    TARGET = TARGET
    COLUMNS = {**{c: tf.string for c in CATEGORICAL}, **{c: tf.float32 for c in NUMERIC}}

    def _load_table(self):
        import importlib.resources

        import pandas as pd

        path = importlib.resources.files("palmerpenguins") / "data" / "penguins.csv"
        with path.open("rb") as file:
            return pd.read_csv(file)[list(self.COLUMNS)]
