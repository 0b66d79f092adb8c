"""Early stopping in `training.fit` looks at the validation loss from `start_from_epoch` on."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfapps import training
from tfapps.config import RegressConfig


@pytest.mark.parametrize(("start_from_epoch", "epochs_run"), [(0, 2), (5, 7)])
def test_early_stopping_ignores_the_first_epochs(start_from_epoch, epochs_run):
    # A learning rate of 0 keeps the validation loss the same every epoch, so only the first
    # epoch that early stopping looks at improves it, and with patience 1 training ends there
    # plus one epoch.
    examples = tf.data.Dataset.from_tensor_slices(
        (np.ones((8, 2), "float32"), np.zeros(8, "float32"))
    ).batch(4)
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(0.0), loss="mae")
    config = RegressConfig(epochs=10, patience=1, start_from_epoch=start_from_epoch, quiet=True)
    history = training.fit(model, examples, examples, config, run_dir=None)
    assert len(history.history["loss"]) == epochs_run
