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
    python -m bench.reference.auto_mpg --comparison auto_mpg --scratch /tmp/a --result a.json
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers

from bench import measure, tfapps_internals

RECIPE = {
    "batch_size": 32,
    "epochs": 1000,
    "patience": 100,
    "start_from_epoch": 100,
    "learning_rate": 1e-3,
    "hidden_units": (64, 64),
    "loss": "mae",
}


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
            *(layers.Dense(units, activation="relu") for units in RECIPE["hidden_units"]),
            layers.Dense(1),
        ]
    )


def main() -> None:
    options = measure.parse_options(__doc__.splitlines()[0], steps_per_execution=1)
    data = tfapps_internals.load_arrays(measure.config_for(options))
    measure.check_defaults(options, data, **RECIPE)
    train_features = data.splits["train"][0]
    categories = {name: np.unique(train_features[name]) for name in data.categorical}
    splits = [
        (to_matrix(x, data.numeric, categories), y)
        for x, y in (data.splits[name] for name in tfapps_internals.SPLITS)
    ]
    keras.utils.set_random_seed(options.seed)
    model = build_model(splits[0][0])
    measure.fit_arrays(options, model, "mean_absolute_error", splits, RECIPE)


if __name__ == "__main__":
    main()
