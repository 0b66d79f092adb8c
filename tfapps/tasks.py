"""What differs between tasks: how to build and compile the model, and how to report on it.

Everything else (data resolution, runtime, fit, export, run directory) is shared in `api.train`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from tfapps import models, reports
from tfapps.config import ImageConfig, RunConfig
from tfapps.data.splits import Splits


@dataclass(frozen=True)
class Task:
    """The task-specific steps of a run.

    Args:
        build: returns the compiled model for the config and the splits' info.
        report: evaluates the trained model on validation and test batches and writes the
            report tables and plots into the run directory; returns the metrics table.
        headline_metric: the test metric that summary.csv shows.
    """

    build: Callable[[RunConfig, Splits], keras.Model]
    report: Callable[[keras.Model, dict[str, tf.data.Dataset], Splits, Path], pd.DataFrame]
    headline_metric: str


def _build_image_classifier(config: ImageConfig, splits: Splits) -> keras.Model:
    model = models.build_image_classifier(
        splits.info.input_shape,
        len(splits.info.class_names),
        filters=config.filters,
        dropout=config.dropout,
    )
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model


def predict_split(model: keras.Model, batches: tf.data.Dataset) -> tuple[np.ndarray, np.ndarray]:
    """Returns `(labels, model outputs)` for batched `(input, label)` data, in order."""
    outputs = model.predict(batches.map(lambda inputs, _: inputs), verbose=0)
    labels = np.concatenate(list(batches.map(lambda _, label: label).as_numpy_iterator()))
    return labels, outputs


def _report_classifier(
    model: keras.Model, batches: dict[str, tf.data.Dataset], splits: Splits, run_dir: Path
) -> pd.DataFrame:
    results = {split: predict_split(model, data) for split, data in batches.items()}
    return reports.write_classification_report(run_dir, results, splits.info.class_names)


TASKS: dict[str, Task] = {
    ImageConfig.task: Task(
        build=_build_image_classifier, report=_report_classifier, headline_metric="accuracy"
    ),
}
