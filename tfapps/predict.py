"""Predictions from a finished run's SavedModel on raw inputs: image files, texts, CSV rows.

Only the run directory is needed: run.json says which task the model solves and names its
classes or columns, and `saved_model/` does the rest (its preprocessing is inside).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from tfapps import finite_outputs, runs
from tfapps.errors import InvalidInput

log = logging.getLogger("tfapps")
BATCH_SIZE = 256  # examples per call of the SavedModel


@dataclass
class LoadedRun:
    """A finished run ready to predict.

    Args:
        record: its run.json (`record.directory` is the run directory).
        signature: the SavedModel's `serving_default` concrete function.
        saved_model: the loaded SavedModel object, which the signature needs alive.
    """

    record: runs.RunRecord
    signature: Any
    saved_model: Any = field(repr=False, default=None)

    @property
    def run_dir(self) -> Path:
        return self.record.directory

    @property
    def task(self) -> str:
        return self.record.task

    @property
    def input_names(self) -> list[str]:
        """The serving signature's input names, sorted (a loaded signature's order varies)."""
        return sorted(self.signature.structured_input_signature[1])


def load_run(path: str | Path) -> LoadedRun:
    """Loads a run directory (or its `saved_model/` folder) for prediction.

    Raises:
        InvalidInput: naming the path when it is not a finished tfapps run, or when its
            run.json or SavedModel cannot be read.
    """
    record = runs.load_finished(path)
    import tensorflow as tf

    saved_model = record.directory / runs.SAVED_MODEL_DIR
    try:
        loaded = tf.saved_model.load(str(saved_model))
        signature = loaded.signatures[runs.SERVING_ENDPOINT]
    except Exception as error:  # TensorFlow raises many types for missing or corrupt files
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InvalidInput(f"Cannot load the SavedModel in {saved_model}: {first}") from None
    return LoadedRun(record, signature, loaded)


def predict(
    run: LoadedRun, inputs: list[str], batch_size: int = BATCH_SIZE, text_per: str | None = None
) -> pd.DataFrame:
    """Predicts on raw inputs, in batches; returns one row per example.

    Args:
        run: a loaded run.
        inputs: what the run's task reads (`Task.read_inputs`): image files or folders,
            texts or text files, CSV files with the model's columns, ...
        batch_size: examples per call of the SavedModel. Defaults to 256.
        text_per: text models: `"file"` or `"line"`, how a `.txt` file holds texts.
            Defaults to the way the model was trained.

    Returns:
        The task's prediction table (`Task.prediction_table`): classifiers `input,
        prediction, probability`; regress `input, prediction`. Predictions that are not
        finite numbers are kept, and one warning names their inputs (`finite_outputs`).
    """
    if not inputs:
        raise InvalidInput("Nothing to predict: give at least one input.")
    from tfapps.tasks import get_task

    task = get_task(run.task)
    names, features = task.read_inputs(run.record, run.input_names, inputs, text_per)
    outputs = np.concatenate(
        [
            run.signature(**batch)[runs.OUTPUT_NAME].numpy()
            for batch in _batches(features, batch_size)
        ]
    )
    warning = finite_outputs.warning(names, outputs)
    if warning:
        log.warning(warning)
    return task.prediction_table(names, outputs, run.record)


OUTPUT_SUFFIXES = (".csv", ".json")


def check_output_path(output: Path) -> None:
    """Refuses an `--output` file whose suffix is neither .csv nor .json."""
    if output.suffix.lower() not in OUTPUT_SUFFIXES:
        raise InvalidInput(
            f"Invalid value for --output: expected a .csv or .json file. Received: {str(output)!r}"
        )


def write_predictions(table: pd.DataFrame, output: Path) -> None:
    """Writes the predictions as CSV or JSON (a list of records), chosen by the file's suffix."""
    check_output_path(output)
    if output.suffix.lower() == ".csv":
        table.to_csv(output, index=False)
    else:
        table.to_json(output, orient="records", indent=2)


def _batches(features: dict[str, np.ndarray], size: int) -> Iterator[dict]:
    import tensorflow as tf

    count = len(next(iter(features.values())))
    for start in range(0, count, size):
        yield {name: tf.constant(values[start : start + size]) for name, values in features.items()}
