"""The classic Keras recipe for Auto MPG regression, written as a user would without tfapps.

The recipe of TensorFlow's "basic regression" tutorial: one-hot encode the categorical column
in NumPy, adapt a Normalization layer on the training matrix, then `model.fit(x, y)` on the
arrays with Keras' defaults (one step per call unless `--steps-per-execution` says otherwise).
Hidden layers, loss, batch size, optimizer, epochs, early stopping (patience and the epochs it
ignores at the start) and data split are those of `tfapps regress`'s defaults, and the rows
come from tfapps' data layer (targets present, missing numbers already imputed), so both sides
see the same cars. Like the tutorial, tfapps normalizes the one-hot columns too; its input
layer has one more one-hot column (for a category not seen in training), constant in
training, which its Normalization only centres.

Usage:
    python -m bench.reference.auto_mpg --scratch /tmp/auto_mpg --result auto_mpg.json --seed 1
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from bench import measure
from tfapps.config import RegressConfig

BATCH_SIZE = 32
EPOCHS = 1000
PATIENCE = 100
START_FROM_EPOCH = 100
LEARNING_RATE = 1e-3
HIDDEN_UNITS = (64, 64)


def to_matrix(
    features: dict[str, np.ndarray], numeric: list[str], categories: dict[str, np.ndarray]
) -> np.ndarray:
    """Stacks the numeric columns and a one-hot block per categorical column, as float32."""
    blocks = [np.stack([features[name] for name in numeric], axis=1)]
    for name, values in categories.items():
        blocks.append(features[name][:, None] == values[None, :])
    return np.concatenate(blocks, axis=1).astype("float32")


def build_model(x_train: np.ndarray) -> keras.Model:
    """Normalization (adapted on `x_train`) → Dense(64, relu) ×2 → Dense(1)."""
    normalizer = layers.Normalization()
    normalizer.adapt(x_train)
    return keras.Sequential(
        [
            keras.Input(shape=x_train.shape[1:]),
            normalizer,
            *(layers.Dense(units, activation="relu") for units in HIDDEN_UNITS),
            layers.Dense(1),
        ]
    )


def main() -> None:
    options = measure.parse_options(__doc__.splitlines()[0], steps_per_execution=1)
    measure.check_defaults(
        RegressConfig,
        batch_size=BATCH_SIZE,
        epochs=EPOCHS,
        patience=PATIENCE,
        start_from_epoch=START_FROM_EPOCH,
        learning_rate=LEARNING_RATE,
        hidden_units=HIDDEN_UNITS,
        loss="mae",
    )
    data, info = measure.load_arrays(measure.config_for(RegressConfig, options))
    columns = info.details["columns"]
    numeric = [c["input"] for c in columns if c["kind"] == "numeric"]
    train_features, y_train = data["train"]
    categories = {
        c["input"]: np.unique(train_features[c["input"]])
        for c in columns
        if c["kind"] == "categorical"
    }
    x_train, x_val, x_test = (
        to_matrix(data[split][0], numeric, categories) for split in ("train", "validation", "test")
    )
    (_, y_val), (_, y_test) = data["validation"], data["test"]

    keras.utils.set_random_seed(options.seed)
    model = build_model(x_train)
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="mean_absolute_error",
        steps_per_execution=options.steps_per_execution,
    )
    early_stopping = keras.callbacks.EarlyStopping(
        monitor="val_loss",
        patience=PATIENCE,
        start_from_epoch=START_FROM_EPOCH,
        restore_best_weights=True,
    )
    clock = measure.epoch_clock(options)
    model.fit(
        x_train,
        y_train,
        batch_size=BATCH_SIZE,
        epochs=options.epochs or EPOCHS,
        validation_data=(x_val, y_val),
        callbacks=[early_stopping, clock],
        verbose=0,
    )
    measure.finish_reference(
        options, RegressConfig.task, clock, model, x_test, y_test, len(x_train)
    )


if __name__ == "__main__":
    main()
