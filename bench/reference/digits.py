"""The classic Keras recipe for the digits convnet, written as a user would without tfapps.

NumPy arrays in memory and `model.fit(x, y)` with Keras' defaults (one step per call unless
`--steps-per-execution` says otherwise), with the architecture, batch size, optimizer, epochs,
early stopping and data split of `tfapps image-classify`'s defaults. The examples come from
tfapps' data layer, so both sides train and test on the same images; the rest is plain Keras.

Usage:
    python -m bench.reference.digits --comparison digits --scratch /tmp/d --result d.json
"""

from __future__ import annotations

import keras
from keras import layers

from bench import measure, tfapps_internals

RECIPE = {
    "batch_size": 32,
    "epochs": 40,
    "patience": 8,
    "start_from_epoch": 0,
    "learning_rate": 1e-3,
    "filters": (32, 64),
    "dropout": 0.5,
}


def build_model(input_shape: tuple[int, ...], num_classes: int) -> keras.Model:
    """Rescaling → two Conv2D/MaxPooling2D blocks → Flatten → Dropout → softmax, for 8x8 images."""
    first, second = RECIPE["filters"]
    return keras.Sequential(
        [
            keras.Input(shape=input_shape, dtype="uint8"),
            layers.Rescaling(1.0 / 255),
            layers.Conv2D(first, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Conv2D(second, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(2),
            layers.Flatten(),
            layers.Dropout(RECIPE["dropout"]),
            layers.Dense(num_classes, activation="softmax"),
        ]
    )


def main() -> None:
    options = measure.parse_options(__doc__.splitlines()[0], steps_per_execution=1)
    data = tfapps_internals.load_arrays(measure.config_for(options))
    measure.check_defaults(options, data, **RECIPE)
    keras.utils.set_random_seed(options.seed)
    model = build_model(data.input_shape, len(data.class_names))
    splits = [data.splits[name] for name in tfapps_internals.SPLITS]
    measure.fit_arrays(options, model, "sparse_categorical_crossentropy", splits, RECIPE)


if __name__ == "__main__":
    main()
