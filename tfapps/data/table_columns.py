"""What each column of a table is, decided on the training split, and its values made clean.

Kinds, in order:

- **ignored**: no value in the training split, a single value (constant), or strings that are
  nearly all different (free text or an identifier, more than `TEXT_MIN_VALUES` values with
  more than `TEXT_UNIQUE_SHARE` of them distinct): they cannot help, and a warning says so.
- **categorical**: `--categorical` columns, and columns of strings; one-hot in the model.
  Whole numbers lose any ".0" (`5` and `5.0` are one category), missing values become "".
- **numeric**: columns whose values read as numbers (`numbers.NumberFormat`), missing markers
  aside. A mostly numeric column (at most `STRAY_SHARE` of its values, and at most
  `STRAY_VALUES` distinct ones, are not numbers) stays numeric: those values count as missing
  and a warning names them. Missing numbers are imputed with the training split's median
  (or left NaN for a model that imputes them itself, with that median recorded).

Each feature is one named input of the model, its name the column's with every character other
than ASCII letters, digits and "_" replaced by "_" (and "col_" in front when it would not start
with a letter), as TensorFlow signature names require.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from tfapps.data.numbers import NumberFormat
from tfapps.data.specs import CATEGORICAL, IGNORED, NUMERIC, ColumnSpec
from tfapps.errors import InvalidInput

STRAY_SHARE = 0.05
STRAY_VALUES = 3
TEXT_MIN_VALUES = 50
TEXT_UNIQUE_SHARE = 0.5


def decide_columns(
    train: pd.DataFrame,
    features: list[str],
    categorical: tuple[str, ...],
    number_format: NumberFormat,
    markers: tuple[str, ...],
) -> list[ColumnSpec]:
    """Decides each feature column's kind on the training split (see the module docstring).

    Args:
        train: the training rows.
        features: the feature columns, in order.
        categorical: columns forced categorical (`--categorical`).
        number_format: how the file writes numbers.
        markers: the file's missing markers (case-folded).
    """
    inputs = input_names(features)
    columns = []
    for name in features:
        numbers, missing, bad = number_format.parse(train[name], markers)
        present = ~missing
        strays = sorted(set(train[name][bad].astype(str).str.strip()))
        column = ColumnSpec(name, NUMERIC, inputs[name])
        if not present.any():
            column.kind, column.reason = IGNORED, "no value in the training split"
        elif name in categorical or _mostly_not_numbers(bad, present, strays):
            column.kind = CATEGORICAL
        elif strays:
            column.markers = strays
        if column.kind == CATEGORICAL:
            values = category_strings(train[name].where(present))
            distinct = values[present].nunique()
            column.categories = int(distinct)
            if distinct > TEXT_MIN_VALUES and distinct > TEXT_UNIQUE_SHARE * present.sum():
                column.kind, column.reason = IGNORED, "nearly every value differs (text or an ID)"
        elif column.kind == NUMERIC and numbers[present].nunique() < 2:
            column.kind, column.reason = IGNORED, "a single value (constant)"
        if column.kind == IGNORED:
            column.input = ""
        columns.append(column)
    return columns


def _mostly_not_numbers(bad: pd.Series, present: pd.Series, strays: list[str]) -> bool:
    """More than `STRAY_SHARE` of the values, or more than `STRAY_VALUES` distinct ones, are
    not numbers."""
    return bool(bad.any()) and (
        bad.sum() > STRAY_SHARE * present.sum() or len(strays) > STRAY_VALUES
    )


def clean(
    frames: dict[str, pd.DataFrame],
    columns: list[ColumnSpec],
    number_format: NumberFormat,
    markers: tuple[str, ...],
    dataset: str,
    impute: bool = True,
) -> dict[str, pd.DataFrame]:
    """Turns each split's feature columns into model values: numbers (missing ones imputed with
    the training median, or NaN when `impute` is False: the model imputes that median itself)
    or category strings; fills in each column's missing counts and each numeric column's
    training median.

    Raises:
        InvalidInput: a numeric feature holds infinity.
    """
    cleaned = {split: pd.DataFrame(index=frame.index) for split, frame in frames.items()}
    for column in columns:
        if column.kind == IGNORED:
            continue
        parsed = {
            split: number_format.parse(frame[column.name], (*markers, *_folded(column.markers)))
            for split, frame in frames.items()
        }
        column.missing = sum(int(missing.sum()) for _, missing, _ in parsed.values())
        if column.kind == CATEGORICAL:
            for split, frame in frames.items():
                present = ~parsed[split][1]
                cleaned[split][column.input] = category_strings(frame[column.name].where(present))
            continue
        median = float(parsed["train"][0].median())
        infinite = sum(int(np.isinf(numbers).sum()) for numbers, _, _ in parsed.values())
        if infinite:
            raise InvalidInput(
                f"Feature column {column.name!r} of {dataset!r} holds infinity in {infinite} "
                "rows; replace or drop those rows."
            )
        column.median = median
        if column.missing:
            column.imputed = median
        for split in frames:
            numbers = parsed[split][0]
            cleaned[split][column.input] = numbers.fillna(median) if impute else numbers
    return cleaned


def category_strings(values: pd.Series) -> pd.Series:
    """`category_string` of every value of a column."""
    return values.astype(object).map(category_string)


def category_string(value: Any) -> str:
    """The string a categorical value is looked up by, the same in training, `predict` and
    `serve`: surrounding spaces go, whole numbers lose any ".0" (`5`, `5.0` and ` 5 ` are
    `"5"`; a column with gaps reads as floats), missing values (`None`, NaN) are ""."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    text = str(value).strip()
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if math.isfinite(number) and number.is_integer() else text


def input_names(columns: list[str]) -> dict[str, str]:
    """Maps each column to a name TensorFlow accepts in a signature; refuses collisions."""
    names = {}
    for column in columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", column)
        names[column] = name if re.match(r"[A-Za-z]", name) else f"col_{name}"
    if len(set(names.values())) < len(names):
        raise InvalidInput(f"Column names {columns} collide once made safe: {names}.")
    return names


def _folded(values: list[str]) -> list[str]:
    return [value.casefold() for value in values]
