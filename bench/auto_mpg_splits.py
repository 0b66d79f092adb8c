"""How much the Auto MPG test MAE depends on the split: the same tfapps model on several splits.

tfapps' embedded auto_mpg has one fixed 80/20 split (seed 0). This script trains tfapps' regressor
(same architecture, loss, optimizer, batches, early stopping) on that split and on the 80/20 split of the
TensorFlow regression tutorial (`DataFrame.sample(frac=0.8, random_state=0)` after dropping rows
with missing values), and prints the test MAE of each next to linear regression's, so the
benchmark's MAE target can be read against the split it was quoted for.

Usage: python -m bench.auto_mpg_splits
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error
from vega_datasets import local_data

from tfapps.config import RegressConfig
from tfapps.data import auto_mpg
from tfapps.data.fixed_splits import fixed_split

FEATURES = [c for c in auto_mpg.NUMERIC if c != auto_mpg.TARGET]
DEFAULTS = RegressConfig(quiet=True)


def cars() -> pd.DataFrame:
    table = local_data.cars().drop(columns=["Name"])
    table["Year"] = table["Year"].dt.year.astype(float)
    return table


def columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The model's named inputs from a table's rows."""
    return {
        **{c: frame[c].to_numpy("float32") for c in FEATURES},
        "Origin": frame["Origin"].to_numpy(object),
    }


def batches(frame: pd.DataFrame, seed: int | None = None):
    """tfapps' batches of a table's rows, reshuffled every epoch with `seed` (None: in order)."""
    import tensorflow as tf

    from tfapps import training

    examples = tf.data.Dataset.from_tensor_slices(
        (columns(frame), frame[auto_mpg.TARGET].to_numpy("float32"))
    )
    return training.batched(examples, DEFAULTS.batch_size, shuffle_seed=seed)


def fit_regressor(fit: pd.DataFrame, val: pd.DataFrame, seed: int, patience: int, epochs: int):
    """Trains tfapps' regressor as `tfapps regress` does and returns it with the epochs run.

    Same model, loss, optimizer, batches (reshuffled every epoch) and early stopping on `val`
    (best weights restored) as the command, with the given `patience` and `epochs`.
    """
    import keras

    from tfapps.models import build_regressor

    keras.utils.set_random_seed(seed)
    model = build_regressor(
        columns(fit), categorical=["Origin"], hidden_units=DEFAULTS.hidden_units
    )
    model.compile(
        optimizer=keras.optimizers.Adam(DEFAULTS.learning_rate),
        loss="mean_absolute_error",
        steps_per_execution=DEFAULTS.steps_per_execution,
    )
    stop = keras.callbacks.EarlyStopping(patience=patience, restore_best_weights=True)
    history = model.fit(
        batches(fit, seed),
        validation_data=batches(val),
        epochs=epochs,
        callbacks=[stop],
        verbose=0,
    )
    return model, len(history.history["loss"])


def test_mae(model, test: pd.DataFrame) -> float:
    """A trained regressor's mean absolute error on a table's rows."""
    return mean_absolute_error(test[auto_mpg.TARGET], model.predict(batches(test), verbose=0))


def hold_out(train: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffles `train` with `seed` and holds out its last `--validation-split` for validation."""
    train = train.sample(frac=1.0, random_state=seed)
    cut = round(len(train) * (1 - DEFAULTS.validation_split))
    return train.iloc[:cut], train.iloc[cut:]


def tfapps_mae(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> float:
    """Trains tfapps' regressor with its default patience and epochs; returns its test MAE."""
    model, _ = fit_regressor(*hold_out(train, seed), seed, DEFAULTS.patience, DEFAULTS.epochs)
    return test_mae(model, test)


def linear_mae(train: pd.DataFrame, test: pd.DataFrame) -> float:
    def design(frame):
        return pd.get_dummies(frame[FEATURES + ["Origin"]], columns=["Origin"]).astype(float)

    model = LinearRegression().fit(design(train), train[auto_mpg.TARGET])
    return mean_absolute_error(test[auto_mpg.TARGET], model.predict(design(test)))


def embedded_split() -> tuple[pd.DataFrame, pd.DataFrame]:
    """The embedded dataset's train and test rows, as tfapps reads them (targets present,
    missing horsepower imputed with the training median)."""
    table = cars()
    parts = fixed_split(len(table), {"train": 0.8, "test": 0.2})
    train, test = (table.iloc[parts[name]].dropna(subset=[auto_mpg.TARGET]) for name in parts)
    median = train["Horsepower"].median()
    return train.fillna({"Horsepower": median}), test.fillna({"Horsepower": median})


def main() -> None:
    table = cars()
    embedded = embedded_split()
    clean = table.dropna()
    tutorial_train = clean.sample(frac=0.8, random_state=0)
    tutorial = [tutorial_train, clean.drop(tutorial_train.index)]
    for name, (train, test) in {
        "tfapps embedded split": embedded,
        "TF tutorial split": tutorial,
    }.items():
        maes = [tfapps_mae(train, test, seed) for seed in (1, 2, 3)]
        print(
            f"{name}: tfapps regressor test MAE median {np.median(maes):.3f} "
            f"({', '.join(f'{m:.3f}' for m in maes)}); linear regression "
            f"{linear_mae(train, test):.3f}"
        )


if __name__ == "__main__":
    main()
