"""Embedded `diabetes`: scikit-learn's 442-patient diabetes table as a TFDS dataset.

`sklearn.datasets.load_diabetes(scaled=False)` reads the table from the package, so preparing
needs no network. Ten baseline measurements (age, sex, bmi, bp and six blood serum values s1-s6,
unscaled) and the target `progression`, a measure of disease progression one year later.
The rows are split once with a fixed seed into train (80%) and test (20%); validation is
carved from train by `--validation-split`.
"""

import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.data.table_builder import TableBuilder

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]


class Diabetes(TableBuilder, skip_registration=True):
    """Diabetes progression of 442 patients (Efron et al., 2004)."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: seeded 80/20 train/test split."}
    HOMEPAGE = "https://scikit-learn.org/stable/datasets/toy_dataset.html"
    DESCRIPTION = __doc__
    TARGET = "progression"
    COLUMNS = {column: tf.float32 for column in [*FEATURES, "progression"]}

    def _load_table(self):
        from sklearn.datasets import load_diabetes

        table = load_diabetes(as_frame=True, scaled=False).frame
        return table.rename(columns={"target": "progression"})[list(self.COLUMNS)]
