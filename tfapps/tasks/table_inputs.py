"""A finished table run's inputs: CSV rows for `tfapps predict`, columns of a served request.

Both are read as training read the table (the run's `TableSchema`): columns by name, numbers
in the training file's number format with its missing markers (NaN where missing, which the
model replaces by the training median), categories as written (the model strips the spaces
around them). What is done to a value beyond reading the file happens inside the model, so a
`serving_default` caller gets the same predictions from the same cells.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tfapps.data.specs import CATEGORICAL, ColumnSpec, TableSchema
from tfapps.errors import InvalidInput
from tfapps.raw_inputs import as_path, read_table, shown
from tfapps.runs import RunRecord


def table_inputs(record: RunRecord, input_names: list[str], inputs: list[str]):
    """CSV files' rows as the model's named columns.

    Args:
        record: the run's record.
        input_names: the SavedModel's input names.
        inputs: CSV files with the model's columns by name (their delimiter detected).

    Returns:
        `(one name a row, such as "cars.csv:3", {input name: values})`.

    Raises:
        InvalidInput: a missing file, a folder, a missing column, or a bad value (named with
            its row).
    """
    schema: TableSchema = record.dataset.spec
    wanted = [column.name for column in schema.columns]
    frames, names = [], []
    for item in inputs:
        path = as_path(item)
        if path is None or not path.is_file():
            problem = "does not exist" if path is None else "is a folder, not a CSV file"
            raise InvalidInput(
                f"{shown(item)!r} {problem}; this {record.task} model takes CSV files "
                f"with the columns {wanted}."
            )
        table = read_table(path)
        missing = [name for name in wanted if name not in table.columns]
        if missing:
            raise InvalidInput(
                f"{path} lacks the column(s) {missing} that the model needs; "
                f"it has {list(table.columns)}."
            )
        frames.append(table)
        names += [f"{path.name}:{row + 1}" for row in range(len(table))]
    table = pd.concat(frames, ignore_index=True)
    features = {}
    for column in schema.columns:
        try:
            features[column.input] = column_values(column, table[column.name], schema, names)
        except ValueError as error:
            raise InvalidInput(str(error)) from None
    return names, {name: features[name] for name in input_names}


def column_values(
    column: ColumnSpec,
    cells: pd.Series,
    schema: TableSchema,
    row_names: list[str] | None = None,
) -> np.ndarray:
    """One column's cells as the model's input, read as training read them: numbers in the
    training file's format with its missing markers (NaN where missing); categories as
    written (`table_columns.category_text`).

    Args:
        column: the column as the run recorded it.
        cells: the column's cells (strings, numbers or `None`).
        schema: the run's table schema (number format, missing markers).
        row_names: names of the rows for messages. Defaults to `row 1`, `row 2`, ...

    Returns:
        float32 numbers `[rows]`, or an object array of strings.

    Raises:
        ValueError: a value that is not a finite number, named with its row.
    """
    from tfapps.data.table_columns import category_text

    if column.kind == CATEGORICAL:
        return category_text(cells).to_numpy(object)
    markers = (*schema.na_values, *(m.casefold() for m in column.markers))
    numbers, _, bad = schema.number_format.parse(cells, markers)
    bad = bad | np.isinf(numbers)
    rows = row_names or [f"row {i + 1}" for i in range(len(cells))]
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"Column {column.name!r} must hold finite numbers; {rows[row]} holds "
            f"{cells.iloc[row]!r}."
        )
    return numbers.to_numpy(np.float32)


def served_column(values: list, name: str, schema: TableSchema) -> np.ndarray:
    """A served request's column, read as `tfapps predict` reads a CSV's: numbers in the
    training file's format, null and missing markers NaN; categories as sent (a number as
    Python writes it, null as "").

    Raises:
        BadRequest: a value that is not a number or a string, or not a finite float32.
    """
    from tfapps.serving_bodies import BadRequest
    from tfapps.serving_requests import as_float, in_float32_range, shown

    if any(isinstance(v, (list, dict, bool)) for v in values):
        raise BadRequest(
            f"Input {name!r} takes a number or a string a row. Received: {shown(values, 100)}"
        )
    column = schema.by_input()[name]
    if column.kind == CATEGORICAL:
        return np.array(["" if v is None else str(v) for v in values], dtype=object)
    with np.errstate(over="ignore"):  # a number past float32's range is refused below
        if all(_is_number(v) or v is None for v in values):
            numbers = [np.nan if v is None else as_float(v) for v in values]
            return in_float32_range(np.array(numbers, np.float32), values, name)
        cells = pd.Series([None if v is None else str(v) for v in values], dtype=object)
        try:
            return in_float32_range(column_values(column, cells, schema), values, name)
        except ValueError as error:
            raise BadRequest(str(error)) from None


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
