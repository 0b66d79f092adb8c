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

from tfapps import runs
from tfapps.errors import InvalidInput
from tfapps.reports import preview

log = logging.getLogger("tfapps")

TEXT_PREVIEW_CHARS = 80
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
        return list(self.signature.structured_input_signature[1])


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
        signature = loaded.signatures["serving_default"]
    except Exception as error:  # TensorFlow raises many types for missing or corrupt files
        first = (str(error).strip().splitlines() or [type(error).__name__])[0]
        raise InvalidInput(f"Cannot load the SavedModel in {saved_model}: {first}") from None
    return LoadedRun(record, signature, loaded)


def predict(run: LoadedRun, inputs: list[str], batch_size: int = BATCH_SIZE) -> pd.DataFrame:
    """Predicts on raw inputs, in batches; returns one row per example.

    Args:
        run: a loaded run.
        inputs: image-classify: image files or folders; sentiment: texts, or `.txt` files
            holding one text per line; regress: CSV files with the model's columns.
        batch_size: examples per call of the SavedModel. Defaults to 256.

    Returns:
        Classifiers: `input, prediction, probability`; regress: `input, prediction`.
    """
    if not inputs:
        raise InvalidInput("Nothing to predict: give at least one input.")
    readers = {"image-classify": _image_inputs, "sentiment": _text_inputs, "regress": _table_inputs}
    labels, features = readers[run.task](run, inputs)
    outputs = np.concatenate(
        [run.signature(**batch)["predictions"].numpy() for batch in _batches(features, batch_size)]
    )
    if run.task == "regress":
        return pd.DataFrame({"input": labels, "prediction": outputs[:, 0]})
    from tfapps.reports import class_probabilities

    probabilities = class_probabilities(outputs)
    names = np.asarray(run.record.dataset.class_names, dtype=object)
    best = probabilities.argmax(axis=1)
    return pd.DataFrame(
        {
            "input": labels,
            "prediction": names[best],
            "probability": probabilities[np.arange(len(best)), best],
        }
    )


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


def _image_inputs(run: LoadedRun, inputs: list[str]):
    """Image files (any format and size Pillow reads), and the images inside folders (other
    files there are skipped with a warning), read as in training (`images.read_image` with
    the run's input size, channels and resize rule)."""
    from tfapps.data.image_scan import image_files
    from tfapps.data.images import ImageReadError, read_image

    height, width, channels = run.record.dataset.input_shape
    resize = run.record.run_config.resize
    names, arrays, skipped = [], [], []
    for item in inputs:
        path = _as_path(item)
        if path is None:
            raise InvalidInput(
                f"{_shown(item)!r} is not an image file or folder; this image-classify model "
                f"({run.run_dir.name}) takes images (png, jpg, bmp, gif, webp, tif, ...)."
            )
        for file in image_files(path) if path.is_dir() else [path]:
            try:
                arrays.append(read_image(file, (height, width), channels, resize))
            except ImageReadError as error:
                if not path.is_dir():
                    raise InvalidInput(str(error)) from None
                skipped.append(f"{file} ({error.reason})")
                continue
            names.append(str(file))
    if skipped:
        log.warning("skipped %d files that are not readable images: %s", len(skipped), skipped[0])
    if not arrays:
        raise InvalidInput(f"No readable images in {', '.join(map(_shown, inputs))}.")
    return names, {run.input_names[0]: np.stack(arrays)}


def _text_inputs(run: LoadedRun, inputs: list[str]):
    texts = []
    for item in inputs:
        path = _as_path(item)
        if path is not None and path.is_file():
            try:
                lines = path.read_text(encoding="utf-8").splitlines()
            except UnicodeDecodeError:
                raise InvalidInput(
                    f"{path} is not a UTF-8 text file; this sentiment model takes texts, or "
                    ".txt files with one text per line."
                ) from None
            texts += [line for line in lines if line.strip()]
        else:
            texts.append(item)
    return [preview(t, TEXT_PREVIEW_CHARS) for t in texts], {
        run.input_names[0]: np.array(texts, dtype=object)
    }


def _shown(text: str) -> str:
    return preview(text, TEXT_PREVIEW_CHARS)


def _as_path(item: str) -> Path | None:
    """The input as an existing path, or None when it names nothing on disk (e.g. a text)."""
    try:
        path = Path(item).expanduser()
        return path if path.exists() else None
    except (OSError, ValueError):  # names too long, or holding NUL bytes, are texts
        return None


def _table_inputs(run: LoadedRun, inputs: list[str]):
    from tfapps.data.csv_files import read_csv_file
    from tfapps.data.tables import category_strings

    details = run.record.dataset.details
    columns = details["columns"]
    medians = {name: v["value"] for name, v in details["missing_values"]["imputed"].items()}
    frames, labels = [], []
    for item in inputs:
        path = _as_path(item)
        if path is None or not path.is_file():
            raise InvalidInput(
                f"{_shown(item)!r} is not a CSV file; this regress model takes CSV files "
                f"with the columns {[c['name'] for c in columns]}."
            )
        table = read_csv_file(path)
        missing = [c["name"] for c in columns if c["name"] not in table.columns]
        if missing:
            raise InvalidInput(
                f"{path} lacks the column(s) {missing} that the model needs; "
                f"it has {list(table.columns)}."
            )
        frames.append(table)
        labels += [f"{path.name}:{row + 1}" for row in range(len(table))]
    table = pd.concat(frames, ignore_index=True)
    features = {}
    for column in columns:
        name, values = column["name"], table[column["name"]]
        if column["kind"] == "categorical":
            features[column["input"]] = category_strings(values).to_numpy(dtype=object)
            continue
        numbers = pd.to_numeric(values, errors="coerce")
        bad = values.notna() & (numbers.isna() | np.isinf(numbers))
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InvalidInput(
                f"Column {name!r} must hold finite numbers; {labels[row]} holds "
                f"{values.iloc[row]!r}."
            )
        if numbers.isna().any():
            if name not in medians:
                raise InvalidInput(
                    f"Column {name!r} has empty values and the model was trained "
                    "without any; fill them in."
                )
            numbers = numbers.fillna(medians[name])
        features[column["input"]] = numbers.to_numpy(np.float32)
    return labels, features
