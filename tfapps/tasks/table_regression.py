"""`tfapps regress`: the Dense regressor for tables, from its options to its served model.

Tables are read by `data.tables` with regress' `NumericTarget`, which names extreme target
values and chooses the target's transform (`regression_targets`); the model is
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
from tfapps.tasks.base import Task
from tfapps.tasks.regression_targets import LOG1P, TRANSFORMS
from tfapps.tasks.tables import TableTask
from tfapps.tasks.task_model import TaskModel, compile_model, predict_split

if TYPE_CHECKING:
    import pandas as pd
    import tensorflow as tf

    from tfapps.data.info import DatasetInfo
    from tfapps.data.numbers import NumberFormat
    from tfapps.data.splits import Splits
    from tfapps.data.table_targets import Target
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
    dropout: float = option(0.0, "dropout rate after each hidden layer.", rate=True)
    batch_norm: bool = option(
        False,
        "batch normalization in each hidden layer: Dense → BatchNormalization → ReLU.",
    )
    loss: str = option(
        "mae",
        "the training loss: mae (mean absolute error), mse (mean squared error) or huber.",
        choices=tuple(LOSSES),
    )
    target_transform: str = option(
        "auto",
        "how the target is fitted: log fits log1p(target) and predicts expm1 of the model's "
        "output, inside the model "
        "(for targets of 0 or more spanning orders of magnitude, such as prices or counts: "
        "errors count in proportion, and no prediction is below 0); none fits the target as "
        "it is; auto takes log for a target of no negative value whose training values "
        "(extreme ones aside) span 3 orders of magnitude or more, and says so.",
        choices=TRANSFORMS,
    )

    def validate(self) -> None:
        """Raises `InvalidInput` naming the first option whose value cannot be used."""
        from tfapps.config import checks

        super().validate()
        self.hidden_units = checks.check_positive_ints(self.hidden_units, "hidden-units", "64,64")


@dataclass(frozen=True)
class NumericTarget:
    """Regress' target rule: numbers in the file's format; a local table's rows carved at
    random (`stratify.carve_local_splits`); extreme values named, and the transform chosen
    (`regression_targets`).

    Args:
        task: the command, named in messages.
        transform: `--target-transform`. Defaults to `"none"`.
        classes: whether the target is a class (rows of the same features with another
            target are contradictions); numbers are not: such rows are noise. Defaults to
            False.
    """

    task: str = "regress"
    transform: str = "none"
    classes: bool = False  # numbers: the same features with another target are noise

    def carve(self, table, target, config, number_format, markers) -> dict[str, np.ndarray]:
        from tfapps.data.stratify import carve_local_splits

        return carve_local_splits(len(table), config.seed, config.validation_split)

    def read(self, frames, target, dataset, number_format: NumberFormat, markers) -> Target:
        """Reads the target as numbers, drops rows without one, refuses unusable targets,
        finds extreme values and chooses the transform; warns when it holds so few distinct
        values (`labels.NUMERIC_CLASSES_AT_MOST`, 20), each in two rows or more on average,
        that they may be classes."""
        from tfapps.data.labels import NUMERIC_CLASSES_AT_MOST
        from tfapps.data.summary import count_phrase
        from tfapps.data.table_targets import Target
        from tfapps.tasks import regression_targets

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
        train = targets["train"].to_numpy(np.float64)
        masks = {
            split: regression_targets.extreme_mask(values.to_numpy(np.float64), train)
            for split, values in targets.items()
        }
        transform = regression_targets.chosen_transform(self.transform, train, masks["train"])
        lowest = min(float(values.min()) for values in targets.values() if len(values))
        if transform == LOG1P and lowest <= -1:
            raise InvalidInput(
                f"--target-transform log fits log1p({target}), which needs values above -1; "
                f"{target!r} of {dataset!r} holds {lowest:g}. Pass --target-transform none."
            )
        rows = count_phrase(dropped, "row")
        warnings = [f"dropped {rows} without a {target} value"] if dropped else []
        every = np.concatenate([values.to_numpy() for values in targets.values()])
        distinct = np.unique(every)
        if len(distinct) <= min(NUMERIC_CLASSES_AT_MOST, len(every) / 2):  # values repeat
            shown = ", ".join(f"{value:g}" for value in distinct[:SHOWN_VALUES])
            more = ", ..." if len(distinct) > SHOWN_VALUES else ""
            warnings.append(
                f"target {target} holds only {len(distinct)} distinct values ({shown}{more}): "
                "if they are classes, `tfapps table-classify` predicts them as classes"
            )
        return Target(
            values=targets,
            dropped=dropped,
            # rows dropped: said once, as a warning
            line=_target_line(target, train, masks["train"], transform, self.transform),
            warnings=warnings,
            mean=float(train.mean()),
            median=float(np.median(train)),
            extreme={split: targets[split][mask] for split, mask in masks.items() if mask.any()},
            transform=transform,
        )


def _target_line(
    target: str, train: np.ndarray, extreme: np.ndarray, transform: str | None, option: str
) -> str:
    """`target price: numeric, 96,100 to 523,000 (median 305,000)`, and the transform."""
    from tfapps.data.summary import number_text
    from tfapps.tasks.regression_targets import orders_of_magnitude

    line = (
        f"target {target}: numeric, {number_text(train.min())} to {number_text(train.max())} "
        f"(median {number_text(np.median(train))})"
    )
    if transform == LOG1P:
        why = (
            f"its values span {orders_of_magnitude(train[~extreme]):.1f} orders of magnitude; "
            "--target-transform none fits it as it is"
            if option == "auto"
            else "--target-transform log"
        )
        line += f"; fitted as log1p({target}), predicted through expm1 inside the model ({why})"
    return line


class RegressTask(TableTask, Task):
    """Regression on a table: named raw columns in, one number out."""

    name = "regress"
    config_class = RegressConfig
    description = """Train a Dense regressor on a table: one named input per column →
    Normalization (numbers) or StringLookup one-hot (categories) → Dense(relu) ×n → Dense(1).

    The exported SavedModel takes a dict of named raw columns (float32 numbers, NaN where
    missing; strings as written for categorical columns) and returns the prediction; a
    target spanning orders of magnitude is fitted as log1p and predicted through expm1, inside.

    \b
    Examples:
      tfapps regress                                   # embedded Auto MPG (406 cars)
      tfapps regress --dataset diabetes                # embedded, 442 patients
      tfapps regress --dataset wine_quality            # TFDS catalog (target: quality)
      tfapps regress --dataset houses.csv --target price --drop id --categorical zipcode
    """
    headline_metric = "mae"
    headline_direction = "min"
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

    def rule_for(self, config: RegressConfig) -> NumericTarget:
        """`NumericTarget` with the run's `--target-transform`."""
        return NumericTarget(transform=config.target_transform)

    def build(self, config: RegressConfig, splits: Splits) -> TaskModel:
        """The regressor; a target fitted as log1p (`TableSchema.target_transform`) trains on
        `log1p(y)` (the pipeline's `preprocess`) and serves through `predicting_expm1`."""
        import keras
        import tensorflow as tf

        from tfapps.data.splits import count_examples
        from tfapps.tasks import table_model

        spec = splits.info.spec
        train = splits.train.batch(count_examples(splits.train))
        features, targets = next(iter(train.as_numpy_iterator()))
        log_target = spec.target_transform == LOG1P
        scale = table_model.target_scaling(np.log1p(targets) if log_target else targets)
        model = table_model.build_regressor(
            features,
            categorical=[c.input for c in spec.columns if c.kind == CATEGORICAL],
            hidden_units=config.hidden_units,
            target_scale=scale,
            medians={c.input: c.median for c in spec.columns if c.kind != CATEGORICAL},
            output_name="log1p_predictions" if log_target else "predictions",
            dropout=config.dropout,
            batch_norm=config.batch_norm,
        )
        rmse = keras.metrics.RootMeanSquaredError(name="rmse")
        compile_model(model, config, LOSSES[config.loss], ["mae", rmse])
        architecture = {
            "target_transform": spec.target_transform,
            "target_scaling": None if scale is None else {"center": scale[0], "scale": scale[1]},
        }
        if not log_target:
            return TaskModel(model, architecture=architecture)
        return TaskModel(
            model,
            serving_model=table_model.predicting_expm1(model),
            preprocess=lambda columns, values: (columns, tf.math.log1p(values)),
            architecture=architecture,
        )

    def evaluate_and_report(
        self,
        task_model: TaskModel,
        batches: dict[str, tf.data.Dataset],
        splits: Splits,
        run_dir: Path,
    ) -> pd.DataFrame:
        """mae, rmse, r2, mape, mdape, and the baselines of the training mean and median;
        predictions.csv and the predicted-vs-true and residual plots
        (`reports.write_regression_report`). The serving model predicts (in the target's
        units, whatever the model was fitted to), scored on the splits' own targets."""
        from tfapps import finite_outputs, reports

        results = {}
        for split, data in batches.items():
            _, outputs = predict_split(task_model.serving_model, data)
            finite_outputs.refuse(split, outputs, getattr(splits, split))
            targets = np.concatenate(
                [values for _, values in getattr(splits, split).batch(4096).as_numpy_iterator()]
            )
            results[split] = targets, outputs[:, 0]
        spec = splits.info.spec
        baselines = {"baseline_mae": spec.target_mean, "median_baseline_mae": spec.target_median}
        return reports.write_regression_report(run_dir, results, baselines)

    def prediction_table(self, names, outputs: np.ndarray, record: RunRecord) -> pd.DataFrame:
        """`input, prediction`."""
        import pandas as pd

        return pd.DataFrame({"input": names, "prediction": outputs[:, 0]})

    def adopt_training_facts(self, info: DatasetInfo, trained: DatasetInfo) -> None:
        """The baselines of another dataset's scores are the training mean and median the
        model had, and its target is what the model was fitted to."""
        info.spec.target_mean = trained.spec.target_mean
        info.spec.target_median = trained.spec.target_median
        info.spec.target_transform = trained.spec.target_transform


TASK = RegressTask()
