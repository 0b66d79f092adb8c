"""The classic Keras recipe for the digits convnet, written as a user would without tfapps.

NumPy arrays in memory and `model.fit(x, y)` with Keras' defaults (one step per call unless
`--steps-per-execution` says otherwise), with the architecture, batch size, optimizer, epochs,
early stopping and data split of `tfapps image-classify`'s defaults. The examples come from
tfapps' data layer, so both sides train and test on the same images; the rest is plain Keras.

Usage:
    python -m bench.reference.digits --scratch /tmp/digits --result digits.json --seed 1
"""

from __future__ import annotations

import keras
from keras import layers

from bench import measure
from tfapps import models
from tfapps.config import ImageConfig

BATCH_SIZE = 32
EPOCHS = 40
PATIENCE = 8
START_FROM_EPOCH = 0
LEARNING_RATE = 1e-3
FILTERS = (32, 64)
DROPOUT = 0.5


def build_model(input_shape: tuple[int, ...], num_classes: int) -> keras.Model:
    """Rescaling → two Conv2D/MaxPooling2D blocks → Flatten → Dropout → softmax, for 8x8 images."""
    return keras.Sequential(
        [
            keras.Input(shape=input_shape, dtype="uint8"),
            layers.Rescaling(1.0 / 255),
            layers.Conv2D(FILTERS[0], 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(FILTERS[1], 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(DROPOUT),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


def main() -> None:
    options = measure.parse_options(__doc__.splitlines()[0], steps_per_execution=1)
    data, info = measure.load_arrays(measure.config_for(ImageConfig, options))
    shape = info.input_shape
    measure.check_defaults(
        ImageConfig,
        {"epochs": models.auto_epochs(shape), "filters": models.auto_filters(shape)},
        batch_size=BATCH_SIZE,
        epochs=EPOCHS,
        patience=PATIENCE,
        start_from_epoch=START_FROM_EPOCH,
        learning_rate=LEARNING_RATE,
        filters=FILTERS,
        dropout=DROPOUT,
    )
    (x_train, y_train), (x_val, y_val) = data["train"], data["validation"]
    x_test, y_test = data["test"]

    keras.utils.set_random_seed(options.seed)
    model = build_model(x_train.shape[1:], len(info.class_names))
    model.compile(
        optimizer=keras.optimizers.Adam(LEARNING_RATE),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
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
    measure.finish_reference(options, ImageConfig.task, clock, model, x_test, y_test, len(x_train))


if __name__ == "__main__":
    main()
