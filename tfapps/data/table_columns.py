"""What each column of a table is, decided on the training split, and the values the model
takes, each column parsed once (`read_features`).

Kinds, in order:

- **ignored**: no value in the training split, a single value (constant), or strings that are
  nearly all different (free text or an identifier, more than `TEXT_MIN_VALUES` values with
  more than `TEXT_UNIQUE_SHARE` of them distinct): they cannot help, and a warning says so.
- **categorical**: `--categorical` columns, and columns of strings; one-hot in the model. A
  category is the cell as written but for the ASCII spaces around it, which the model strips
  itself (`table_model.StripSpaces`), so a TF Serving client sending the file's cells gets
  what tfapps computes: `01234` and `1234`, `0042` and `42`, `1E3` and `1000`, `5` and `5.0`,
  `NA` and an empty cell are different categories. Values that read as one number, one word
  in another case, or two ways of writing "missing", are named in a warning. A number from a
  TFDS source is written as Python writes it (`str`); a missing one (None, NaN) is "".
- **numeric**: columns whose values read as numbers (`numbers.NumberFormat`), missing markers
  aside. A mostly numeric column (at most `STRAY_SHARE` of its values, and at most
  `STRAY_VALUES` distinct ones, are not numbers) stays numeric: those values count as missing
  and a warning names them. A missing number is NaN, which the model replaces by the training
  split's median (`table_model.FillMissing`). A column of numbers written with leading zeros
  (`01234`: zip codes, part numbers) is numeric too, with a warning that `--categorical` keeps
  them as written.

Each feature is one named input of the model, its name the column's with every character other
than ASCII letters, digits and "_" replaced by "_" (and "col_" in front when it would not start
with a letter), as TensorFlow signature names require.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from tfapps.data.numbers import NumberFormat
from tfapps.data.specs import CATEGORICAL, IGNORED, NUMERIC, ColumnSpec
from tfapps.errors import InvalidInput

if TYPE_CHECKING:
    from tfapps.data.split_table import SplitTable

STRAY_SHARE = 0.05
STRAY_VALUES = 3
TEXT_MIN_VALUES = 50
TEXT_UNIQUE_SHARE = 0.5
ASCII_SPACES = " \t\n\r\x0b\x0c"  # what tf.strings.strip removes (and so the model)
SHOWN_EXAMPLES = 3  # spellings or values a warning shows
LEADING_ZERO = r"[+-]?0\d"


@dataclass
class Features:
    """A table's feature columns as read.

    Args:
        columns: every feature column, ignored ones too, in the file's order.
        values: per split, the used columns' model inputs by input name: float32 numbers (NaN
            where missing) or strings as written.
        warnings: what looks wrong about the columns.
    """

    columns: list[ColumnSpec]
    values: dict[str, pd.DataFrame]
    warnings: list[str] = field(default_factory=list)


def read_features(
    table: SplitTable,
    features: list[str],
    categorical: tuple[str, ...],
    number_format: NumberFormat,
    markers: tuple[str, ...],
    dataset: str,
) -> Features:
    """Decides each feature column's kind on the training split and reads every split's
    values, parsing each column once (see the module docstring).

    Args:
        table: the rows of each split (cells as strings, or numbers from TFDS); each
            feature column is taken out of it as it is read, so that a large table is not
            held twice.
        features: the feature columns, in order.
        categorical: columns forced categorical (`--categorical`).
        number_format: how the file writes numbers.
        markers: the file's missing markers (case-folded).
        dataset: the dataset, named in messages.

    Raises:
        InvalidInput: a numeric feature holds infinity.
    """
    inputs = input_names(features)
    read = Features([], {split: pd.DataFrame(index=rows) for split, rows in table.labels.items()})
    for name in features:
        cells = table.take(name)
        parsed = {split: number_format.parse(values, markers) for split, values in cells.items()}
        column = ColumnSpec(name, NUMERIC, inputs[name])
        _decide(column, cells["train"], parsed["train"], name in categorical)
        read.columns.append(column)
        if column.kind == CATEGORICAL:
            for split, values in cells.items():
                read.values[split][column.input] = category_text(values)
            column.missing = sum(int(missing.sum()) for _, missing, _ in parsed.values())
            read.warnings += _spellings(column, cells["train"], parsed["train"])
        elif column.kind == NUMERIC:
            _read_numbers(column, parsed, read, dataset)
            read.warnings += _leading_zeros(column, cells["train"], parsed["train"][1])
        else:
            column.input = ""
            read.warnings.append(f"column {name!r} ignored: {column.reason}" + _use_anyway(column))
        del cells, parsed
    return read


def _decide(column: ColumnSpec, cells: pd.Series, parsed: tuple, forced: bool) -> None:
    """Sets the column's kind (and its reason, strays or categories) from the training
    split's cells and their parse (`NumberFormat.parse`); `forced`: `--categorical`."""
    numbers, missing, bad = parsed
    present = ~missing
    bad_count = int(bad.sum())
    mostly_numbers = bad_count <= STRAY_SHARE * present.sum()
    strays = sorted(set(cells[bad].astype(str).str.strip())) if mostly_numbers else []
    if not present.any():
        column.kind, column.reason = IGNORED, "no value in the training split"
    elif forced or not mostly_numbers or len(strays) > STRAY_VALUES:
        column.kind = CATEGORICAL
        distinct = int(category_text(cells[present]).str.strip(ASCII_SPACES).nunique())
        column.categories = distinct
        if distinct > TEXT_MIN_VALUES and distinct > TEXT_UNIQUE_SHARE * present.sum():
            column.kind, column.reason = IGNORED, "nearly every value differs (text or an ID)"
    elif numbers[present].nunique() < 2:
        column.kind, column.reason = IGNORED, "a single value (constant)"
    elif bad_count:
        column.markers = strays


def _read_numbers(column: ColumnSpec, parsed: dict, read: Features, dataset: str) -> None:
    """A numeric column's values (strays count as missing), its median and missing count.

    Raises:
        InvalidInput: the column holds infinity.
    """
    infinite = sum(int(np.isinf(numbers).sum()) for numbers, _, _ in parsed.values())
    if infinite:
        raise InvalidInput(
            f"Feature column {column.name!r} of {dataset!r} holds infinity in {infinite} "
            "rows; replace or drop those rows."
        )
    column.missing = sum(int((missing | bad).sum()) for _, missing, bad in parsed.values())
    column.median = float(parsed["train"][0].median())
    if column.missing:
        column.imputed = column.median
    for split, (numbers, _, _) in parsed.items():
        read.values[split][column.input] = numbers.astype(np.float32)
    if column.markers:
        read.warnings.append(
            f"column {column.name!r}: read {', '.join(map(repr, column.markers))} as missing "
            "(the rest of it is numbers); pass --categorical to keep them as categories"
        )


def _spellings(column: ColumnSpec, cells: pd.Series, parsed: tuple) -> list[str]:
    """A warning naming training values of a categorical column that may mean the same but
    are different categories: one number written two ways (`0042`, `42`), one word in two
    cases (`Paris`, `paris`), two ways of writing "missing" (`NA`, an empty cell)."""
    numbers, missing, _ = parsed
    codes, distinct = pd.factorize(category_text(cells).str.strip(ASCII_SPACES))
    first = np.unique(codes, return_index=True)[1]  # a row of each distinct value
    written = pd.Series(np.asarray(distinct, dtype=object), dtype=object)
    number = numbers.to_numpy()[first]
    keys = np.where(
        missing.to_numpy()[first],
        "missing",
        np.where(np.isnan(number), "word " + written.str.casefold(), number.astype(str)),
    )
    groups = written.groupby(keys, sort=True).agg(sorted)
    groups = groups[groups.map(len) > 1]
    if groups.empty:
        return []
    shown = [
        " and ".join(map(repr, spellings)) + f" ({_meaning(key)})"
        for key, spellings in groups.head(SHOWN_EXAMPLES).items()
    ]
    more = f"; and {len(groups) - SHOWN_EXAMPLES} more" if len(groups) > SHOWN_EXAMPLES else ""
    return [
        f"column {column.name!r} keeps its values as written, so these are different "
        f"categories: {'; '.join(shown)}{more}; write each value one way if they mean the same"
    ]


def _meaning(key: str) -> str:
    if key == "missing":
        return "missing"
    if key.startswith("word "):
        return "one word in other cases"
    return f"the number {float(key):g}"


def _leading_zeros(column: ColumnSpec, cells: pd.Series, missing: pd.Series) -> list[str]:
    """A warning when a numeric column's training values are written with leading zeros, as
    codes are (zip codes, part numbers): as numbers, `01234` is 1234. The values are counted
    and named without the spaces around them, each once (` 007` and `007 ` are `007`)."""
    written = pd.Series(pd.Series(cells[~missing].unique()).astype(str).str.strip().unique())
    zeros = sorted(written[written.str.match(LEADING_ZERO)])
    if not zeros:
        return []
    shown = ", ".join(map(repr, zeros[:SHOWN_EXAMPLES]))
    begin = "begins" if len(zeros) == 1 else "begin"
    return [
        f"column {column.name!r} is read as numbers, but {len(zeros):,} of its values {begin} "
        f"with a 0 ({shown}), as codes do: --categorical {column.name} keeps them as written"
    ]


def _use_anyway(column: ColumnSpec) -> str:
    if column.reason.startswith("nearly every value"):
        return "; --drop it to silence this, or --categorical to use it anyway"
    return ""


def category_text(values: pd.Series) -> pd.Series:
    """A categorical column's cells as the model takes them: strings as written, numbers as
    Python writes them (`str`), missing cells (None, NaN) as ""."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.fillna("")
    return values.astype(object).where(values.notna(), "").astype(str)


def input_names(columns: list[str]) -> dict[str, str]:
    """Maps each column to a name TensorFlow accepts in a signature; refuses collisions."""
    names = {}
    for column in columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", column)
        names[column] = name if re.match(r"[A-Za-z]", name) else f"col_{name}"
    if len(set(names.values())) < len(names):
        raise InvalidInput(f"Column names {columns} collide once made safe: {names}.")
    return names
