"""What every classifier task shares: the output layer, the loss, scoring, prediction tables
and the class check.

`ClassifierTask` is the base of the tasks whose model outputs class probabilities (a single
sigmoid unit for two classes where the model uses one, else a softmax).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from tfapps.errors import InvalidInput
from tfapps.tasks.base import Task
from tfapps.tasks.task_model import TaskModel, predict_split

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import tensorflow as tf

    from tfapps.data.info import DatasetInfo
    from tfapps.data.splits import Splits
    from tfapps.runs import RunRecord


def classifier_loss(num_classes: int, binary_sigmoid: bool = True) -> str:
    """The loss of a classifier head: binary cross-entropy for a single sigmoid unit (two
    classes, `binary_sigmoid`), else sparse categorical cross-entropy."""
    binary = binary_sigmoid and num_classes == 2
    return "binary_crossentropy" if binary else "sparse_categorical_crossentropy"


class ClassifierTask(Task):
    """A task whose model outputs class probabilities, scored with accuracy, balanced
    accuracy, f1_macro and (two classes) ROC AUC; its report has a confusion matrix and a
    per-class table.

    Attributes:
        probability_columns: predictions.csv also holds every class's probability, one
            column a class (`probability_<class>`), not only the predicted class's.
    """

    headline_metric: ClassVar[str] = "accuracy"
    headline_direction: ClassVar[str] = "max"
    classifier: ClassVar[bool] = True
    probability_columns: ClassVar[bool] = False

    def evaluate_and_report(
        self,
        task_model: TaskModel,
        batches: dict[str, tf.data.Dataset],
        splits: Splits,
        run_dir: Path,
    ) -> pd.DataFrame:
        """Scores each split and writes the classification report (`reports`), with the
        columns of `report_inputs` describing each reported example."""
        from tfapps import finite_outputs, reports

        results = {}
        for split, data in batches.items():
            labels, outputs = predict_split(task_model.model, data)
            finite_outputs.refuse(split, outputs, getattr(splits, split))
            results[split] = labels, reports.class_probabilities(outputs)
        reported = getattr(splits, list(batches)[-1])  # the split predictions.csv shows
        return reports.write_classification_report(
            run_dir,
            results,
            splits.info.class_names,
            self.report_inputs(reported),
            self.probability_columns,
        )

    def report_inputs(self, examples: tf.data.Dataset) -> dict[str, list] | None:
        """Columns that describe each reported example in predictions.csv, after its index
        (such as a text's start). Defaults to none."""
        return None

    def prediction_table(
        self, names: list[str], outputs: np.ndarray, record: RunRecord
    ) -> pd.DataFrame:
        """`input, prediction, probability`: each example's most probable class."""
        import numpy as np
        import pandas as pd

        from tfapps.reports import class_probabilities

        probabilities = class_probabilities(outputs)
        classes = np.asarray(record.dataset.class_names, dtype=object)
        best = probabilities.argmax(axis=1)
        return pd.DataFrame(
            {
                "input": names,
                "prediction": classes[best],
                "probability": probabilities[np.arange(len(best)), best],
            }
        )

    def check_fits(self, info: DatasetInfo, trained: DatasetInfo, dataset: str) -> None:
        """Refuses data with other classes than the model's."""
        if info.class_names != trained.class_names:
            raise InvalidInput(
                f"{dataset!r} has classes {info.class_names}; the model was trained "
                f"on {trained.class_names}."
            )


def classifier_head(x, num_classes: int, binary_sigmoid: bool):
    """The float32 output layer named "predictions": one sigmoid unit for two classes when
    `binary_sigmoid`, else a softmax over the classes (float32 keeps mixed precision safe)."""
    from keras import layers

    binary = binary_sigmoid and num_classes == 2
    return layers.Dense(
        1 if binary else num_classes,
        activation="sigmoid" if binary else "softmax",
        dtype="float32",
        name="predictions",
    )(x)
