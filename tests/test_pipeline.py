"""The batches tfapps trains, validates and predicts on run without tf.data's autotuning.

With autotuning on, dropping an iterator (Keras does after every epoch, validation and
predict) now and then waited about 10 s for the autotuner's thread (TF 2.21, 2 CPU cores):
2 to 6 epochs in 15 on the flower photos. Timings are not asserted here; the setting is.
"""

import numpy as np
import pytest
import tensorflow as tf

from tfapps import pipeline
from tfapps.token_batches import TokenCut


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"shuffle_seed": 1},
        {"cache": None},
        {"preprocess": lambda x, y: (x * 2, y)},
        {"batcher": TokenCut(20, period=1, margin=0).batch, "shuffle_seed": 1},
    ],
    ids=["evaluation", "training", "uncached", "preprocessed", "length batches"],
)
def test_every_pipeline_runs_without_autotuning_and_yields_every_example(options):
    examples = tf.data.Dataset.from_tensor_slices(
        (np.ones((50, 20), "int64"), np.arange(50, dtype="int64"))
    )
    batches = pipeline.batched(examples, 8, **options)
    for dataset in (batches, batches.map(lambda inputs, _: inputs)):  # as predictions see it
        assert dataset.options().autotune.enabled is False
    labels = np.concatenate([label for _, label in batches.as_numpy_iterator()])
    assert sorted(labels) == list(range(50))


@pytest.mark.slow
def test_every_split_and_what_is_made_from_it_runs_without_autotuning():
    from tfapps.data.load import load_splits
    from tfapps.tasks.image import ImageClassifyConfig

    splits = load_splits(ImageClassifyConfig(dataset="digits", quiet=True))
    for _, data in splits.items():
        for dataset in (data, data.map(lambda image, _: image).batch(64)):  # as adapt and counts
            assert dataset.options().autotune.enabled is False
