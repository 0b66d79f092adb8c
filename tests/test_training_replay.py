"""tfapps' training adds nothing to the arithmetic of plain Keras training.

`tfapps regress` is trained here for a few epochs while every training batch is recorded as
`model.fit` receives it. A plain `keras.Sequential` of the same layers (Normalization and the
Dense stack on the encoded column matrix), starting from the same initial weights and stepped
with `train_on_batch` through the same batches, must reach the same validation loss after
every epoch and the same final weights (to float32 rounding; on this machine they are equal
to the last bit). What separates tfapps from the benchmark's reference recipe is then only
the draw of the initial weights and the batches it trains on (bench/NOTES.md).
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from tfapps import training
from tfapps.api import train
from tfapps.data.load import load_splits
from tfapps.tasks.table_regression import LOSSES as REGRESSION_LOSSES
from tfapps.tasks.table_regression import RegressConfig

pytestmark = pytest.mark.slow  # every test here trains, or uses a trained run

EPOCHS = 6


class RecordBatches:
    """Wraps `training.batched` so that the training batches (those shuffled) are recorded in
    the order the input pipeline hands them to `model.fit`."""

    def __init__(self, batched):
        self.batched, self.batches = batched, []

    def __call__(self, dataset, batch_size, shuffle_seed=None, **options):
        batches = self.batched(dataset, batch_size, shuffle_seed, **options)
        if shuffle_seed is None:
            return batches
        names = sorted(batches.element_spec[0])

        def record(*tensors):
            columns = {
                name: tensor.numpy() for name, tensor in zip(names, tensors[:-1], strict=True)
            }
            self.batches.append((columns, tensors[-1].numpy()))
            return tensors[-1]

        def recorded(features, labels):
            columns = [features[name] for name in names]
            seen = tf.py_function(record, [*columns, labels], labels.dtype)
            return features, tf.ensure_shape(seen, labels.shape)

        return batches.map(recorded)


def as_tensors(columns: dict) -> dict:
    """Column arrays as tensors (the model's string inputs do not take NumPy object arrays)."""
    return {name: tf.constant(values) for name, values in columns.items()}


class FirstAndEveryEpoch(keras.callbacks.Callback):
    """Keeps the initial weights and each epoch's validation loss."""

    def on_train_begin(self, logs=None):
        self.initial = {w.path: w.numpy() for w in self.model.weights}
        self.validation_losses = []

    def on_epoch_end(self, epoch, logs=None):
        self.validation_losses.append(logs["val_loss"])


def test_regress_trains_as_plain_keras_on_the_same_batches(data_dir, tmp_path, monkeypatch):
    recorder = RecordBatches(training.batched)
    monkeypatch.setattr(training, "batched", recorder)
    watch = FirstAndEveryEpoch()
    config = RegressConfig(
        data_dir=data_dir,
        output_dir=str(tmp_path),
        epochs=EPOCHS,
        start_from_epoch=EPOCHS,  # early stopping off: the last epoch's weights stay
        device="cpu",
        precision="float32",
        quiet=True,
        seed=3,
    )
    train(config, callbacks=[watch])

    model = watch.model
    encode = keras.Model(model.inputs, model.get_layer("features").output)
    normalization = model.get_layer("normalization")
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    plain = keras.Sequential(
        [
            keras.layers.Normalization(
                mean=np.ravel(normalization.mean), variance=np.ravel(normalization.variance)
            ),
            *(keras.layers.Dense(layer.units, activation=layer.activation) for layer in dense),
        ]
    )
    plain.build((None, encode.output.shape[-1]))
    plain_dense = [layer for layer in plain.layers if isinstance(layer, keras.layers.Dense)]
    for ours, theirs in zip(plain_dense, dense, strict=True):
        ours.set_weights([watch.initial[w.path] for w in theirs.weights])
    loss = REGRESSION_LOSSES[config.loss]
    plain.compile(optimizer=keras.optimizers.Adam(config.learning_rate), loss=loss)

    splits = load_splits(config)
    labels = np.sort(splits.train.batch(10_000).get_single_element()[1].numpy())
    validation_columns, y_validation = splits.validation.batch(10_000).get_single_element()
    x_validation = encode(validation_columns)
    steps = len(recorder.batches) // EPOCHS
    assert len(recorder.batches) == steps * EPOCHS and steps > 1
    validation_losses = []
    for epoch in range(EPOCHS):
        batches = recorder.batches[epoch * steps : (epoch + 1) * steps]
        assert np.array_equal(np.sort(np.concatenate([y for _, y in batches])), labels)
        for columns, y in batches:
            plain.train_on_batch(encode(as_tensors(columns)), y)
        validation_losses.append(
            plain.evaluate(x_validation, y_validation, batch_size=config.batch_size, verbose=0)
        )

    assert len(watch.validation_losses) == EPOCHS
    np.testing.assert_allclose(validation_losses, watch.validation_losses, rtol=1e-6)
    for ours, theirs in zip(plain_dense, dense, strict=True):
        for a, b in zip(ours.get_weights(), theirs.get_weights(), strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
