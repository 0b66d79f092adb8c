"""Early stopping in `training.fit` looks at the validation loss from `start_from_epoch` on."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfapps import training
from tfapps.tasks.table_regression import RegressConfig

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("start_from_epoch", "epochs_run", "kept_weight"), [(0, 3, 0.1), (3, 6, 0.4), (8, 8, 0.8)]
)
def test_early_stopping_ignores_the_first_epochs(start_from_epoch, epochs_run, kept_weight, caplog):
    # One weight, from 0, rises by 0.1 an epoch (one SGD step towards 1 on an MAE loss), and the
    # validation loss is the weight itself, so every epoch is worse than the one before: the
    # first epoch early stopping looks at is the best, and patience 2 stops two epochs later.
    # Ignoring all 8 epochs turns early stopping off, with a warning: the last weights are kept.
    def one_example(target: float) -> tf.data.Dataset:
        return tf.data.Dataset.from_tensors((np.ones((1, 1), "float32"), np.full(1, target)))

    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")]
    )
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mae")
    config = RegressConfig(epochs=8, patience=2, start_from_epoch=start_from_epoch, quiet=True)
    history = training.fit(model, one_example(1.0), one_example(0.0), config, run_dir=None)
    assert len(history.history["loss"]) == epochs_run
    np.testing.assert_allclose(model.get_weights()[0], [[kept_weight]], atol=1e-6)
    assert ("early stopping is off" in caplog.text) == (start_from_epoch >= config.epochs)
