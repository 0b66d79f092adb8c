"""A finished run's raw inputs from what a user gives `tfapps predict`: files, folders, texts.

Each task's inputs are read the way its model was trained, from the run's record:

- **image-classify**: image files of any format and size Pillow reads, and the images in
  folders (other files there are skipped with a warning), through the training reader
  (`data.images.read_image`) with the run's input size, channels and resize rule.
- **sentiment**: a folder is read as training reads folders (each `.txt` file under it is one
  text); a `.txt` file is one text for a folder-trained model and one text per line otherwise
  (`text_per` overrides); a `.csv` file gives the rows of the model's text column; anything
  else is a text itself, unless it is one word that looks like a missing file or folder
  (`looks_like_path`), which is refused. A byte-order mark is never part of a text.
- **regress**: CSV files with the model's columns by name, their delimiter detected, their
  numbers read with the run's number format and missing markers, missing numbers imputed
  with the run's training medians.

Each reader returns `(names, features)`: one name per example (its file, its CSV row, or the
start of its text) and the model's inputs by name, as NumPy arrays.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import pandas as pd

from tfapps.errors import InvalidInput
from tfapps.reports import preview
from tfapps.runs import RunRecord

log = logging.getLogger("tfapps")

TEXT_PREVIEW_CHARS = 80
TEXT_UNITS = ("file", "line")


def image_inputs(record: RunRecord, input_name: str, inputs: list[str]):
    """Image files and folders as the model's uint8 input (see the module docstring)."""
    from tfapps.data.image_scan import image_files
    from tfapps.data.images import ImageReadError, read_image

    height, width, channels = record.dataset.input_shape
    resize = record.run_config.resize
    names, arrays, skipped = [], [], []
    for item in inputs:
        path = as_path(item)
        if path is None:
            raise InvalidInput(
                f"{shown(item)!r} is not an image file or folder; this image-classify model "
                f"({record.run_id}) takes images (png, jpg, bmp, gif, webp, tif, ...)."
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
        raise InvalidInput(f"No readable images in {', '.join(map(shown, inputs))}.")
    return names, {input_name: np.stack(arrays)}


def text_inputs(record: RunRecord, input_name: str, inputs: list[str], text_per: str | None):
    """Texts, `.txt` and `.csv` files and folders as the model's string input (see the module
    docstring).

    Args:
        record: the run's record.
        input_name: the SavedModel's input.
        inputs: what the user gave.
        text_per: `"file"` or `"line"`: how a `.txt` file holds texts. Defaults to the way
            the model was trained (`None`).
    """
    trained_on_folder = record.dataset.details.get("text_unit") == "file"
    per_file = text_per == "file" if text_per else trained_on_folder
    names, texts = [], []
    for item in inputs:
        path = as_path(item)
        if path is None and looks_like_path(item):
            raise InvalidInput(
                f"{shown(item)!r} looks like a file or folder but does not exist; this "
                "sentiment model takes texts (with at least one space), .txt and .csv files "
                "and folders of .txt files."
            )
        if path is None:
            names.append(shown(item))
            texts.append(item.removeprefix("\ufeff"))
        elif path.is_dir():
            files = sorted(p for p in path.rglob("*.txt") if not p.name.startswith("."))
            if not files:
                raise InvalidInput(f"No .txt files under {path}; a folder holds one text a file.")
            for file in files:
                names.append(str(file))
                texts.append(read_text(file))
        elif path.suffix.lower() == ".csv":
            column = record.run_config.text_column
            table = _read_table(path)
            if column not in table.columns:
                raise InvalidInput(
                    f"{path} has no column {column!r}, the text column this model was trained "
                    f"on; its columns are {list(table.columns)}."
                )
            names += [shown(text) for text in table[column]]
            texts += list(table[column])
        elif per_file:
            names.append(str(path))
            texts.append(read_text(path))
        else:
            lines = [line for line in read_text(path).splitlines() if line.strip()]
            names += [shown(line) for line in lines]
            texts += lines
    return names, {input_name: np.array(texts, dtype=object)}


def read_text(path: Path) -> str:
    """A UTF-8 text file's text, without a byte-order mark.

    Raises:
        InvalidInput: the file is not UTF-8 text.
    """
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(
            f"{path} is not a UTF-8 text file; this sentiment model takes texts, .txt files "
            "or folders of them."
        ) from None


def table_inputs(record: RunRecord, input_names: list[str], inputs: list[str]):
    """CSV rows as the model's named columns (see the module docstring)."""
    details = record.dataset.details
    columns = details["columns"]
    frames, names = [], []
    for item in inputs:
        path = as_path(item)
        if path is None or not path.is_file():
            problem = "does not exist" if path is None else "is a folder, not a CSV file"
            raise InvalidInput(
                f"{shown(item)!r} {problem}; this regress model takes CSV files "
                f"with the columns {[c['name'] for c in columns]}."
            )
        table = _read_table(path)
        missing = [c["name"] for c in columns if c["name"] not in table.columns]
        if missing:
            raise InvalidInput(
                f"{path} lacks the column(s) {missing} that the model needs; "
                f"it has {list(table.columns)}."
            )
        frames.append(table)
        names += [f"{path.name}:{row + 1}" for row in range(len(table))]
    table = pd.concat(frames, ignore_index=True)
    features = {}
    for column in columns:
        try:
            values = column_values(column, table[column["name"]], details, names)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
        features[column["input"]] = values
    return names, {name: features[name] for name in input_names}


def column_values(
    column: dict, cells: pd.Series, details: dict, row_names: list[str] | None = None
) -> np.ndarray:
    """One column's cells as the model's input, read as training read them: numbers in the
    training file's format with its missing markers, missing ones imputed with the training
    median; category strings for categorical columns (missing ones as "").

    Args:
        column: the column's entry in run.json (`dataset.details.columns`).
        cells: the column's cells (strings, numbers or `None`).
        details: run.json's `dataset.details`.
        row_names: names of the rows for messages. Defaults to `row 1`, `row 2`, ...

    Raises:
        ValueError: a value that is not a finite number, or a missing one in a column without
            a recorded median (runs before tfapps 0.2 that had none missing), named with its
            row.
    """
    from tfapps.data.numbers import NA_MARKERS, NumberFormat
    from tfapps.data.table_columns import CATEGORICAL, category_strings

    name = column["name"]
    number_format = NumberFormat(**details.get("number_format", {"decimal": "."}))
    markers = (
        *(details.get("na_values") or NA_MARKERS),  # runs before 0.2 used the default markers
        *(m.casefold() for m in column.get("markers", [])),
    )
    numbers, missing, bad = number_format.parse(cells, markers)
    if column["kind"] == CATEGORICAL:
        return category_strings(cells.where(~missing)).to_numpy(object)
    bad = bad | np.isinf(numbers)
    rows = row_names or [f"row {i + 1}" for i in range(len(cells))]
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Column {name!r} must hold finite numbers; {rows[row]} holds {cells.iloc[row]!r}."
        )
    if missing.any():
        imputed = column.get("median", _imputed(details).get(name))
        if imputed is None:
            raise ValueError(
                f"Column {name!r} has empty values and the model was trained without any; "
                "fill them in."
            )
        numbers = numbers.fillna(imputed)
    return numbers.to_numpy(np.float32)


def _imputed(details: dict) -> dict[str, float]:
    imputed = details.get("missing_values", {}).get("imputed", {})
    return {name: entry["value"] for name, entry in imputed.items()}


def _read_table(path: Path) -> pd.DataFrame:
    """A CSV's cells as strings, its delimiter detected."""
    from tfapps.data.csv_files import read_csv_file

    return read_csv_file(path).frame


def shown(text: str) -> str:
    """A text on one line, cut to `TEXT_PREVIEW_CHARS`."""
    return preview(text, TEXT_PREVIEW_CHARS)


TEXT_FILE_SUFFIXES = (".txt", ".csv", ".tsv")


def looks_like_path(item: str) -> bool:
    """Whether an input that names nothing on disk was meant as a path: one word that ends in
    a path separator or a text file's suffix (`TEXT_FILE_SUFFIXES`), such as a mistyped
    `reviews.txt` or `new_texts/`, rather than a text to classify."""
    word = item.strip()
    if not word or any(character.isspace() for character in word):
        return False
    return word.endswith(("/", os.sep)) or word.lower().endswith(TEXT_FILE_SUFFIXES)


def as_path(item: str) -> Path | None:
    """The input as an existing path, or None when it names nothing on disk (e.g. a text)."""
    try:
        path = Path(item).expanduser()
        return path if path.exists() else None
    except (OSError, ValueError):  # names too long, or holding NUL bytes, are texts
        return None
