"""How much the Auto MPG test MAE depends on the split: the same tfapps model on several splits.

tfapps' embedded auto_mpg has one fixed 80/20 split (seed 0). This script trains tfapps' regressor
(same architecture, loss, optimizer, early stopping) on that split and on the 80/20 split of the
TensorFlow regression tutorial (`DataFrame.sample(frac=0.8, random_state=0)` after dropping rows
with missing values), and prints the test MAE of each next to linear regression's, so the
benchmark's MAE target can be read against the split it was quoted for.

Usage: python bench/auto_mpg_splits.py
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error
from vega_datasets import local_data

from tfapps.data import auto_mpg
from tfapps.data.fixed_splits import fixed_split

FEATURES = [c for c in auto_mpg.NUMERIC if c != auto_mpg.TARGET]


def cars() -> pd.DataFrame:
    table = local_data.cars().drop(columns=["Name"])
    table["Year"] = table["Year"].dt.year.astype(float)
    return table


def tfapps_mae(train: pd.DataFrame, test: pd.DataFrame, seed: int) -> float:
    """Trains tfapps' regressor exactly as `tfapps regress` does and returns its test MAE."""
    import keras

    from tfapps.models import build_regressor

    keras.utils.set_random_seed(seed)
    train = train.sample(frac=1.0, random_state=seed)
    cut = int(len(train) * 0.9)
    fit, val = train.iloc[:cut], train.iloc[cut:]

    def columns(frame):
        return {
            **{c: frame[c].to_numpy("float32") for c in FEATURES},
            "Origin": frame["Origin"].to_numpy(object),
        }

    model = build_regressor(columns(fit), categorical=["Origin"])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mean_absolute_error")
    stop = keras.callbacks.EarlyStopping(patience=25, restore_best_weights=True)
    model.fit(
        columns(fit),
        fit[auto_mpg.TARGET].to_numpy("float32"),
        epochs=300,
        batch_size=32,
        validation_data=(columns(val), val[auto_mpg.TARGET]),
        callbacks=[stop],
        verbose=0,
    )
    return mean_absolute_error(test[auto_mpg.TARGET], model.predict(columns(test), verbose=0))


def linear_mae(train: pd.DataFrame, test: pd.DataFrame) -> float:
    def design(frame):
        return pd.get_dummies(frame[FEATURES + ["Origin"]], columns=["Origin"]).astype(float)

    model = LinearRegression().fit(design(train), train[auto_mpg.TARGET])
    return mean_absolute_error(test[auto_mpg.TARGET], model.predict(design(test)))


def main() -> None:
    table = cars()
    parts = fixed_split(len(table), {"train": 0.8, "test": 0.2})
    embedded = [table.iloc[parts[name]].dropna(subset=[auto_mpg.TARGET]) for name in parts]
    median = embedded[0]["Horsepower"].median()
    embedded = [frame.fillna({"Horsepower": median}) for frame in embedded]
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
