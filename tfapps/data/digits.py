"""Embedded `digits`: scikit-learn's 1,797 real 8x8 handwritten digits as a TFDS dataset.

The pixels ship inside scikit-learn (`sklearn.datasets.load_digits`), so preparing needs no network.
Each image is 8x8x1 uint8 (the original 0..16 intensities scaled to 0..255); labels "0".."9".
The split into train (80%) and test (20%) is drawn once with a fixed seed and is the same on every
machine; validation is carved from train by the caller through TFDS split slicing.
"""

import numpy as np
import tensorflow_datasets as tfds

from tfapps.data.fixed_splits import fixed_split

TEST_FRACTION = 0.2
SOURCE_MAX_INTENSITY = 16
CLASS_NAMES = [str(digit) for digit in range(10)]


class Digits(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """scikit-learn's handwritten digits (UCI ML optical recognition test set), 8x8 grayscale."""

    VERSION = tfds.core.Version("1.0.0")
    RELEASE_NOTES = {"1.0.0": "First release: 1,438 train and 359 test images."}

    def _info(self) -> tfds.core.DatasetInfo:
        return self.dataset_info_from_configs(
            description=__doc__,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(8, 8, 1)),
                    "label": tfds.features.ClassLabel(names=CLASS_NAMES),
                }
            ),
            supervised_keys=("image", "label"),
            homepage="https://scikit-learn.org/stable/datasets/toy_dataset.html",
        )

    def _split_generators(self, dl_manager):
        from sklearn.datasets import load_digits

        digits = load_digits()
        images = np.round(digits.images * (255 / SOURCE_MAX_INTENSITY)).astype(np.uint8)[..., None]
        splits = fixed_split(len(images), {"train": 1 - TEST_FRACTION, "test": TEST_FRACTION})
        return {
            name: self._generate_examples(images, digits.target, rows)
            for name, rows in splits.items()
        }

    def _generate_examples(self, images, labels, indices):
        for index in indices:
            yield int(index), {"image": images[index], "label": int(labels[index])}
