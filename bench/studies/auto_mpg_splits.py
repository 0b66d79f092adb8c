"""How much the Auto MPG test MAE depends on the split: the same tfapps model on several splits.

tfapps' embedded auto_mpg has one fixed 80/20 split (seed 0). This script trains tfapps'
regressor (same architecture, loss, optimizer, batches, early stopping) on that split and on the
80/20 split of the TensorFlow regression tutorial (`DataFrame.sample(frac=0.8,
random_state=0)` after dropping rows with missing values), and prints the test MAE of each next
to linear regression's, so the benchmark's MAE target can be read against the split it was
quoted for.

Usage: python -m bench.studies.auto_mpg_splits
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression
from sklearn.metrics import mean_absolute_error
from vega_datasets import local_data

from tfapps.config import RegressConfig
from tfapps.data import auto_mpg
from tfapps.data.fixed_splits import fixed_split

if TYPE_CHECKING:
    import tensorflow as tf

FEATURES = [c for c in auto_mpg.NUMERIC if c != auto_mpg.TARGET]
DEFAULTS = RegressConfig()


def cars() -> pd.DataFrame:
    """The Auto MPG table of `vega_datasets`, with the model year as a number."""
    table = local_data.cars().drop(columns=["Name"])
    table["Year"] = table["Year"].dt.year.astype(float)
    return table


def embedded_split(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """tfapps' embedded train and test rows (fixed seed 0, 80/20), those with a target."""
    parts = fixed_split(len(table), {"train": 0.8, "test": 0.2})
    train, test = (table.iloc[parts[name]] for name in ("train", "test"))
    return train.dropna(subset=[auto_mpg.TARGET]), test.dropna(subset=[auto_mpg.TARGET])


def tutorial_split(table: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The TensorFlow regression tutorial's split: complete rows, 80% sampled with seed 0."""
    clean = table.dropna()
    train = clean.sample(frac=0.8, random_state=0)
    return train, clean.drop(train.index)


def hold_out(train: pd.DataFrame, seed: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Shuffles `train` with `seed` and holds out its last `--validation-split` for validation."""
    train = train.sample(frac=1.0, random_state=seed)
    cut = round(len(train) * (1 - DEFAULTS.validation_split))
    return train.iloc[:cut], train.iloc[cut:]


def imputed(frames: tuple[pd.DataFrame, ...], source: pd.DataFrame) -> list[pd.DataFrame]:
    """`frames` with missing horsepower set to the median of `source`, as tfapps imputes from
    the rows it trains on."""
    median = source["Horsepower"].median()
    return [frame.fillna({"Horsepower": median}) for frame in frames]


def columns(frame: pd.DataFrame) -> dict[str, np.ndarray]:
    """The model's named inputs from a table's rows."""
    return {
        **{c: frame[c].to_numpy("float32") for c in FEATURES},
        "Origin": frame["Origin"].to_numpy(object),
    }


def batches(frame: pd.DataFrame, seed: int | None = None) -> tf.data.Dataset:
    """tfapps' batches of a table's rows, reshuffled every epoch with `seed` (None: in order)."""
    import tensorflow as tf

    from tfapps import pipeline

    examples = tf.data.Dataset.from_tensor_slices(
        (columns(frame), frame[auto_mpg.TARGET].to_numpy("float32"))
    )
    return pipeline.batched(examples, DEFAULTS.batch_size, shuffle_seed=seed)


def trained_mae(
    fit: pd.DataFrame,
    val: pd.DataFrame,
    test: pd.DataFrame,
    seed: int,
    patience: int = DEFAULTS.patience,
    epochs: int = DEFAULTS.epochs,
    start_from_epoch: int = DEFAULTS.start_from_epoch,
) -> tuple[float, int]:
    """Trains tfapps' regressor on `fit` as `tfapps regress` does; returns its MAE on `test`
    and the epochs run.

    Same model, loss, optimizer, batches (reshuffled every epoch) and imputation (from `fit`)
    as the command, and its own training loop (`training.fit`: early stopping on `val`, best
    weights restored), without a run directory.

    Args:
        fit, val, test: the rows to train on, to stop on and to score.
        seed: the random seed of the run.
        patience: epochs without a better validation loss before stopping. Defaults to
            regress' default.
        epochs: the most epochs to train. Defaults to regress' default.
        start_from_epoch: epochs at the start that early stopping ignores. Defaults to
            regress' default.
    """
    import keras

    from tfapps import training
    from tfapps.models import build_regressor
    from tfapps.tasks import REGRESSION_LOSSES

    fit, val, test = imputed((fit, val, test), fit)
    keras.utils.set_random_seed(seed)
    model = build_regressor(
        columns(fit), categorical=["Origin"], hidden_units=DEFAULTS.hidden_units
    )
    model.compile(
        optimizer=keras.optimizers.Adam(DEFAULTS.learning_rate),
        loss=REGRESSION_LOSSES[DEFAULTS.loss],
        steps_per_execution=DEFAULTS.steps_per_execution,
    )
    stopping = dataclasses.replace(
        DEFAULTS, epochs=epochs, patience=patience, start_from_epoch=start_from_epoch, quiet=True
    )
    history = training.fit(model, batches(fit, seed), batches(val), stopping, run_dir=None)
    predictions = model.predict(batches(test), verbose=0)
    return mean_absolute_error(test[auto_mpg.TARGET], predictions), len(history.history["loss"])


def linear_mae(train: pd.DataFrame, test: pd.DataFrame) -> float:
    """Test MAE of linear regression on the same columns (Origin one-hot encoded)."""
    train, test = imputed((train, test), train)

    def design(frame):
        return pd.get_dummies(frame[FEATURES + ["Origin"]], columns=["Origin"]).astype(float)

    model = LinearRegression().fit(design(train), train[auto_mpg.TARGET])
    return mean_absolute_error(test[auto_mpg.TARGET], model.predict(design(test)))


def main() -> None:
    table = cars()
    for name, (train, test) in {
        "tfapps embedded split": embedded_split(table),
        "TF tutorial split": tutorial_split(table),
    }.items():
        maes = [trained_mae(*hold_out(train, seed), test, seed)[0] for seed in (1, 2, 3)]
        print(
            f"{name}: tfapps regressor test MAE median {np.median(maes):.3f} "
            f"({', '.join(f'{m:.3f}' for m in maes)}); linear regression "
            f"{linear_mae(train, test):.3f}"
        )


if __name__ == "__main__":
    main()
