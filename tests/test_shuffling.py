"""Training batches come in a new order every epoch, also when a global seed is set.

Keras 3.15's `model.fit` on NumPy arrays does not do this once `keras.utils.set_random_seed`
has run: every epoch repeats the first epoch's order (bench/NOTES.md). tfapps always seeds, so
this checks what `model.fit` sees from `pipeline.batched`.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfapps import pipeline
from tfapps.token_batches import TokenCut

pytestmark = pytest.mark.slow

EXAMPLES = 100


def epoch_orders(dataset: tf.data.Dataset, epochs: int) -> list[np.ndarray]:
    """The example ids (the labels) in the order `model.fit` trained on them, per epoch."""
    seen = []

    def record(ids):
        seen.append(ids.numpy())
        return ids

    class RecordingLoss(keras.losses.Loss):
        def call(self, y_true, y_pred):
            ids = tf.py_function(record, [y_true], y_true.dtype)
            return tf.reduce_mean(y_pred) * 0.0 + tf.reduce_mean(ids) * 0.0

    model = keras.Sequential(
        [
            keras.Input((None,), dtype="int64"),
            keras.layers.Embedding(2, 1),
            keras.layers.GlobalAveragePooling1D(),
        ]
    )
    model.compile(optimizer="sgd", loss=RecordingLoss(), jit_compile=False)  # py_function
    model.fit(dataset, epochs=epochs, verbose=0)
    batches = np.concatenate(seen).astype(int)
    return np.split(batches, epochs)


@pytest.mark.parametrize("length_batches", [False, True])
def test_each_epoch_is_a_new_order_and_the_seed_repeats_them(length_batches):
    keras.utils.set_random_seed(1)
    features = np.ones((EXAMPLES, 20), "int64")
    examples = tf.data.Dataset.from_tensor_slices((features, np.arange(EXAMPLES, dtype="float32")))
    batcher = TokenCut(20, period=1, margin=0).batch if length_batches else None

    def orders():
        return epoch_orders(pipeline.batched(examples, 8, shuffle_seed=1, batcher=batcher), 3)

    first = orders()
    assert all(sorted(order) == list(range(EXAMPLES)) for order in first)
    assert len({tuple(order) for order in first}) == 3
    assert all(np.array_equal(a, b) for a, b in zip(first, orders(), strict=True))
