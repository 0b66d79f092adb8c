"""`tfapps regress`: the Dense regressor for tables, from its options to its served model.

Tables are read by `data.tables` with regress' `NumericTarget`; the model is
`table_model.build_regressor`; the table half (predict, serve, export, checks) is
`tables.TableTask`'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from tfapps.config import RunConfig
from tfapps.config.fields import documented, option, redefault
from tfapps.config.options import TableOptions
from tfapps.data.embedded import EmbeddedDataset
from tfapps.data.specs import CATEGORICAL
from tfapps.errors import InvalidInput
from tfapps.tasks.base import Task, TaskModel, compile_model, predict_split
from tfapps.tasks.tables import TableTask

if TYPE_CHECKING:
    import pandas as pd
    import tensorflow as tf

    from tfapps.data.info import DatasetInfo
    from tfapps.data.numbers import NumberFormat
    from tfapps.data.splits import Splits
    from tfapps.data.tables import Target
    from tfapps.runs import RunRecord

SHOWN_VALUES = 3  # distinct target values the few-values warning quotes
LOSSES = {"mae": "mean_absolute_error", "mse": "mean_squared_error", "huber": "huber"}


@documented
@dataclass
class RegressConfig(TableOptions, RunConfig):
    """Options of `tfapps regress`, on top of `RunConfig`.

    Tables are small (an epoch of Auto MPG is 9 steps) and their validation split noisy, so
    regress waits longer before stopping: `epochs` defaults to 1000 and `patience` to 100
    (patience 25 stopped early and scored worse in cross-validation, bench/NOTES.md), and
    `start_from_epoch` to 100, so that a lucky validation loss while the model is still far
    from converged cannot end training and become the kept weights.
    """

    task: ClassVar[str] = "regress"

    dataset: str = redefault(RunConfig, "dataset", "auto_mpg")
    epochs: int = redefault(RunConfig, "epochs", 1000)
    patience: int = redefault(RunConfig, "patience", 100)
    start_from_epoch: int = redefault(RunConfig, "start_from_epoch", 100)
    target: str | None = redefault(
        TableOptions,
        "target",
        None,
        automatic="the dataset's own target (auto_mpg: Miles_per_Gallon, diabetes: progression)",
    )
    hidden_units: tuple[int, ...] = option(
        (64, 64), "units of each hidden Dense(relu) layer (`--hidden-units 64,64`)."
    )
    loss: str = option(
        "mae",
        "the training loss: mae (mean absolute error), mse (mean squared error) or huber.",
        choices=tuple(LOSSES),
    )

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        from tfapps.config import checks

        super().validate()
        self.hidden_units = checks.check_positive_ints(self.hidden_units, "hidden-units", "64,64")


@dataclass(frozen=True)
class NumericTarget:
    """Regress' target rule: numbers in the file's format; a local table's rows carved at
    random (`stratify.carve_local_splits`)."""

    task: str = "regress"

    def carve(self, table, target, config, number_format, markers) -> dict[str, np.ndarray]:
        from tfapps.data.stratify import carve_local_splits

        return carve_local_splits(len(table), config.seed, config.validation_split)

    def read(self, frames, target, dataset, number_format: NumberFormat, markers) -> Target:
        """Reads the target as numbers, drops rows without one, and refuses unusable targets;
        warns when it holds so few distinct values (`labels.NUMERIC_CLASSES_AT_MOST`, 20)
        that they may be classes."""
        from tfapps.data.labels import NUMERIC_CLASSES_AT_MOST
        from tfapps.data.summary import count_phrase
        from tfapps.data.tables import Target

        targets, dropped = {}, 0
        for split, frame in frames.items():
            values, missing, bad = number_format.parse(frame[target], markers)
            if bad.any():
                raise InvalidInput(
                    f"Target column {target!r} of {dataset!r} is not numeric: it holds "
                    f"{frame[target][bad].iloc[0]!r}. regress predicts numbers."
                )
            if np.isinf(values).any():
                raise InvalidInput(f"Target column {target!r} of {dataset!r} holds infinity.")
            dropped += int(missing.sum())
            targets[split] = values[~missing]
        if len(targets["train"]) == 0:
            raise InvalidInput(f"Target column {target!r} of {dataset!r} has no values.")
        if targets["train"].nunique() < 2:
            raise InvalidInput(
                f"Target column {target!r} of {dataset!r} is constant "
                f"({targets['train'].iloc[0]:g}); there is nothing to learn."
            )
        rows = count_phrase(dropped, "row")
        warnings = [f"dropped {rows} without a {target} value"] if dropped else []
        distinct = np.unique(np.concatenate([values.to_numpy() for values in targets.values()]))
        if len(distinct) <= NUMERIC_CLASSES_AT_MOST:
            shown = ", ".join(f"{value:g}" for value in distinct[:SHOWN_VALUES])
            more = ", ..." if len(distinct) > SHOWN_VALUES else ""
            warnings.append(
                f"target {target} holds only {len(distinct)} distinct values ({shown}{more}): "
                "if they are classes, `tfapps table-classify` predicts them as classes"
            )
        return Target(
            values=targets,
            dropped=dropped,
            line=f"target {target}: numeric",  # rows dropped: said once, as a warning
            warnings=warnings,
            mean=float(targets["train"].mean()),
        )


class RegressTask(TableTask, Task):
    """Regression on a table: named raw columns in, one number out."""

    name = "regress"
    config_class = RegressConfig
    description = """Train a Dense regressor on a table: one named input per column →
    Normalization (numbers) or StringLookup one-hot (categories) → Dense(relu) ×n → Dense(1).

    The exported SavedModel takes a dict of named raw columns (float32 numbers, strings for
    categorical columns) and returns the prediction.

    \b
    Examples:
      tfapps regress                                   # embedded Auto MPG (406 cars)
      tfapps regress --dataset diabetes                # embedded, 442 patients
      tfapps regress --dataset wine_quality            # TFDS catalog (target: quality)
      tfapps regress --dataset houses.csv --target price --drop id --categorical zipcode
    """
    headline_metric = "mae"
    classifier = False
    embedded = (
        EmbeddedDataset(
            name="auto_mpg",
            examples=406,
            origin="vega_datasets (local_data.cars)",
            description="Auto MPG: predict Miles_per_Gallon from 7 car features "
            "(Origin categorical)",
            builder="tfapps.data.auto_mpg:AutoMpg",
        ),
        EmbeddedDataset(
            name="diabetes",
            examples=442,
            origin="scikit-learn (sklearn.datasets.load_diabetes)",
            description="predict disease progression from 10 baseline measurements",
            builder="tfapps.data.diabetes:Diabetes",
        ),
    )
    catalog = ("wine_quality", "diamonds")
    # --quick: regress' patience and warm-up scaled down with its epochs, not tuned.
    quick = {"epochs": 100, "patience": 25, "start_from_epoch": 25}
    target_rule = NumericTarget()

    def build(self, config: RegressConfig, splits: Splits) -> TaskModel:
        import keras

        from tfapps.data.splits import count_examples
        from tfapps.tasks import table_model

        columns = splits.info.spec.columns
        train = splits.train.batch(count_examples(splits.train))
        features, targets = next(iter(train.as_numpy_iterator()))
        scale = table_model.target_scaling(targets)
        model = table_model.build_regressor(
            features,
            categorical=[c.input for c in columns if c.kind == CATEGORICAL],
            hidden_units=config.hidden_units,
            target_scale=scale,
        )
        rmse = keras.metrics.RootMeanSquaredError(name="rmse")
        compile_model(model, config, LOSSES[config.loss], ["mae", rmse])
        standardized = None if scale is None else {"mean": scale[0], "std": scale[1]}
        return TaskModel(model, architecture={"target_standardized": standardized})

    def evaluate_and_report(
        self,
        task_model: TaskModel,
        batches: dict[str, tf.data.Dataset],
        splits: Splits,
        run_dir: Path,
    ) -> pd.DataFrame:
        """mae, rmse, r2, mape and the training mean's baseline_mae; predictions.csv and the
        predicted-vs-true and residual plots (`reports.write_regression_report`)."""
        from tfapps import reports

        results = {}
        for split, data in batches.items():
            targets, outputs = predict_split(task_model.model, data)
            results[split] = targets, outputs[:, 0]
        return reports.write_regression_report(run_dir, results, splits.info.spec.target_mean)

    def prediction_table(self, names, outputs: np.ndarray, record: RunRecord) -> pd.DataFrame:
        """`input, prediction`."""
        import pandas as pd

        return pd.DataFrame({"input": names, "prediction": outputs[:, 0]})

    def adopt_training_facts(self, info: DatasetInfo, trained: DatasetInfo) -> None:
        """The baseline of another dataset's scores is the training mean the model had."""
        info.spec.target_mean = trained.spec.target_mean


TASK = RegressTask()
