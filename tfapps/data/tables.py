"""Table data for the table tasks: TFDS feature dicts and CSV files, as named columns.

Whatever the source, the table goes through the same steps, recorded in run.json (a
`TableSchema`) and printed before training:

1. A CSV is read as written (`csv_files`: its delimiter, every cell a string); its number
   format (decimal mark, thousands separators) is detected (`numbers`) unless `--decimal` or
   `--thousands` say it, and `--na-values` adds missing markers to `numbers.NA_MARKERS`.
2. `--drop` columns are removed; the `--target` column must exist.
3. The task's `TargetRule` (`table_targets`) reads the target (regress: numbers;
   table-classify: classes) and carves the rows into splits; rows without a target are
   dropped and counted. `--max-examples` samples each split's rows (seeded) here, before any
   feature column is parsed.
4. Each feature column is numeric, categorical or ignored, decided on the training split, and
   parsed once (`table_columns.read_features`): numbers (NaN where missing: the model puts
   the training median in their place) or categories as written; any infinity left in a
   feature is refused.

The table is held once, as read (a CSV's cells in pyarrow's compact strings), and each
column is taken out of it split by split as it is read (`split_table.SplitTable`), then
turned into tensors column by column: a million rows of 8 columns cost about 200 MB at the
peak (bench/NOTES.md, "A million-row CSV").

Rows keep their number in the file (the DataFrame index: 0 for the first data row), so a
warning can name them as `tfapps predict` does (`houses.csv:18`).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.config.options import TableOptions
from tfapps.data.csv_files import read_csv_file, release_arrow_memory
from tfapps.data.duplicates import GIVEN, split_row_name
from tfapps.data.info import DatasetInfo
from tfapps.data.numbers import NA_MARKERS, NumberFormat, detect_number_format
from tfapps.data.row_copies import row_duplicates
from tfapps.data.specs import IGNORED, NUMERIC, ColumnSpec, DataOrigin, TableSchema
from tfapps.data.split_table import SplitTable
from tfapps.data.splits import SPLIT_NAMES, Splits
from tfapps.data.stratify import sample_rows
from tfapps.data.table_columns import read_features
from tfapps.data.table_summary import table_summary
from tfapps.data.table_targets import TargetRule
from tfapps.data.tfds_source import read_splits, tfds_origin
from tfapps.errors import InvalidInput

log = logging.getLogger("tfapps")
SAMPLE_CELLS = 20_000  # cells the number format is detected from


def from_tfds(
    builder: tfds.core.DatasetBuilder, source: str, config: TableOptions, rule: TargetRule
) -> Splits:
    """Reads a TFDS dataset of feature columns (nested dicts are flattened to their leaves).

    The target is `config.target`, else the builder's `TARGET`, else its supervised label key.

    Args:
        builder: a prepared TFDS builder.
        source: `"embedded"` or `"catalog"`, recorded in the dataset info.
        config: the run's options.
        rule: how the task reads its target.
    """
    keys = builder.info.supervised_keys
    default_target = getattr(builder, "TARGET", None) or (
        keys[1] if keys and isinstance(keys[1], str) else None
    )
    target = config.target or default_target
    frames = {
        name: _to_frame(dataset, builder.info.features)
        for name, dataset in zip(
            SPLIT_NAMES,
            read_splits(builder, config.validation_split, supervised=False),
            strict=True,
        )
    }
    _check_columns(list(frames["train"].columns), target, config)
    read_sizes = {name: len(frame) for name, frame in frames.items()}
    given = np.concatenate(
        [np.full(size, GIVEN[name], np.int8) for name, size in read_sizes.items()]
    )
    whole = pd.concat(frames.values(), ignore_index=True)
    row_name = split_row_name(read_sizes, "row")
    duplicates = _duplicates(whole, target, config, rule, row_name, given)
    kept = np.split(duplicates.kept, np.cumsum(list(read_sizes.values()))[:-1])
    positions = {name: np.flatnonzero(keep) for name, keep in zip(frames, kept, strict=True)}
    sampled = sample_rows(positions, config.max_examples, config.seed)
    starts = dict(zip(read_sizes, np.cumsum([0, *read_sizes.values()])[:-1], strict=True))
    rows = {name: starts[name] + sampled[name] for name in SPLIT_NAMES}
    del frames
    table = SplitTable(whole, rows, labels=sampled)
    read_from = f"TFDS {builder.name} {builder.version}"
    origin = tfds_origin(builder)
    splits = _clean_and_encode(
        table, read_sizes, target, config, rule, source, origin, NumberFormat(), read_from
    )
    duplicates.summarize(splits.info.summary, "row", row_name)
    return splits


def from_path(path: Path, config: TableOptions, rule: TargetRule) -> Splits:
    """Reads a CSV file and splits its rows reproducibly by `config.seed`.

    Args:
        path: the CSV file given as `--dataset`.
        config: the run's options (target, categorical, drop, CSV format, seed, validation
            split).
        rule: how the task reads its target and carves the rows.
    """
    if path.is_dir():
        raise InvalidInput(
            f"{path} is a folder; {rule.task} expects a CSV file and --target COLUMN."
        )
    csv = read_csv_file(path, config.sep, compact=True)
    table = csv.frame
    if table.empty:
        raise InvalidInput(f"{path} has a header but no data rows.")
    cells = _sample(table)
    number_format = table_number_format(cells, csv.sep, config)
    _check_columns(list(table.columns), config.target, config)
    markers = _markers(config)
    duplicates = _duplicates(table, config.target, config, rule, _row_name)
    release_arrow_memory()
    chosen = table[[config.target]].iloc[duplicates.representatives]
    targets = chosen.reset_index(drop=True).astype(str)
    del chosen
    rows = duplicates.expand(rule.carve(targets, config.target, config, number_format, markers))
    del targets
    read_sizes = {name: len(part) for name, part in rows.items()}
    rows = sample_rows(rows, config.max_examples, config.seed)
    sep, described, encoding = csv.sep, csv.described, csv.encoding.name
    del csv
    origin = DataOrigin(path=str(path.resolve()))
    read_from = f"{path.name} ({described}, {number_format.describe(cells)})"
    args = (config.target, config, rule, "local", origin, number_format, read_from, sep)
    splits = _clean_and_encode(SplitTable(table, rows), read_sizes, *args, path.name)
    splits.info.summary.facts["encoding"] = encoding
    duplicates.summarize(splits.info.summary, "row", _row_name)
    return splits


def _row_name(row: int) -> str:
    """A CSV's data row in messages: `row 1` for the first."""
    return f"row {row + 1}"


def _duplicates(table: pd.DataFrame, target: str, config: TableOptions, rule, name, given=None):
    """Identical rows (`row_copies.row_duplicates`) over the columns the model may read,
    rows named by `name` in a refusal."""
    features = [c for c in table.columns if c != target and c not in config.drop]
    return row_duplicates(table, target, features, rule.classes, _markers(config), name, given)


def table_number_format(cells, sep: str, config: TableOptions) -> NumberFormat:
    """The number format `--decimal` and `--thousands` give, detected from a sample of the
    file's `cells` where they are not."""
    decimal = config.decimal or detect_number_format(cells, sep).decimal
    return NumberFormat(decimal, config.thousands)


def _sample(table: pd.DataFrame):
    """The first `SAMPLE_CELLS` cells, row by row."""
    rows = -(-SAMPLE_CELLS // max(1, len(table.columns)))
    return table.head(rows).to_numpy().ravel()[:SAMPLE_CELLS]


def _to_frame(dataset: tf.data.Dataset, features: tfds.features.FeaturesDict) -> pd.DataFrame:
    """Flattens a TFDS split of (nested) feature dicts into columns; ClassLabels become names."""
    labels = _class_labels(features)
    columns: dict[str, list] = {}
    for example in tfds.as_numpy(dataset):
        for name, value in _leaves(example):
            if name in labels:
                value = labels[name].int2str(int(value))
            elif isinstance(value, bytes):
                value = value.decode("utf-8", "replace")
            columns.setdefault(name, []).append(value)
    return pd.DataFrame(columns)


def _leaves(example: dict):
    """Yields `(name, value)` for every non-dict value of a nested feature dict."""
    for key, value in example.items():
        if isinstance(value, dict):
            yield from _leaves(value)
        else:
            yield key, value


def _class_labels(features) -> dict:
    found = {}
    for key, feature in features.items():
        if isinstance(feature, tfds.features.FeaturesDict):
            found.update(_class_labels(feature))
        elif isinstance(feature, tfds.features.ClassLabel):
            found[key] = feature
    return found


def _markers(config: TableOptions) -> tuple[str, ...]:
    """The missing markers: `NA_MARKERS` and `--na-values`, case-folded."""
    return tuple(dict.fromkeys((*NA_MARKERS, *(m.strip().casefold() for m in config.na_values))))


def _check_columns(columns: list[str], target: str | None, config: TableOptions) -> None:
    """Refuses a missing `--target` and option columns the table does not have."""
    if not target:
        raise InvalidInput(
            f"--target is required for {config.dataset!r}; name one of its columns: {columns}."
        )
    for name in (target, *config.drop, *config.categorical):
        if name not in columns:
            raise InvalidInput(
                f"Column {name!r} is not in {config.dataset!r}; its columns are {columns}."
            )
    if target in config.drop:
        raise InvalidInput(f"--drop {target} removes the --target column; drop other columns.")


def _clean_and_encode(
    table: SplitTable,
    read_sizes: dict[str, int],
    target: str | None,
    config: TableOptions,
    rule: TargetRule,
    source: str,
    origin: DataOrigin,
    number_format: NumberFormat,
    read_from: str,
    sep: str | None = None,
    file_name: str | None = None,
) -> Splits:
    """Checks, cleans and turns the three split tables into named-column datasets.

    Args:
        table: the rows read and each split's rows (sampled by `--max-examples`), labelled
            by row number (in the file, or in the TFDS split); its columns are taken out
            as they are read.
        read_sizes: each split's rows before `--max-examples`.
        file_name: a CSV's name, which names its rows (`houses.csv:18`); TFDS rows are
            named by split (`train example 18`). Defaults to none.
    """
    markers = _markers(config)
    sampled = table.sizes
    frames = {split: cells.to_frame() for split, cells in table.take(target).items()}
    read_target = rule.read(frames, target, config.dataset, number_format, markers)
    del frames
    for split, kept in read_target.values.items():
        if len(kept) < sampled[split]:
            table.keep_rows(split, kept.index)
    features = [c for c in table.columns if c not in config.drop]
    table.keep_columns(features)
    read = read_features(
        table, features, config.categorical, number_format, markers, config.dataset
    )
    used = [column for column in read.columns if column.kind != IGNORED]
    if not used:
        raise InvalidInput(
            f"{config.dataset!r} has no usable feature column besides the target: "
            + "; ".join(column.describe() for column in read.columns)
            + "."
        )
    schema = TableSchema(
        target=target,
        columns=used,
        ignored=[column for column in read.columns if column.kind == IGNORED],
        dropped=list(config.drop),
        rows_without_target=read_target.dropped,
        number_format=number_format,
        na_values=list(markers),
        sep=sep,
        target_mean=read_target.mean,
        target_median=read_target.median,
        target_transform=read_target.transform,
    )
    info = DatasetInfo(
        name=config.dataset,
        source=source,
        origin=origin,
        class_names=read_target.class_names,
        train_class_counts=read_target.train_counts,
        spec=schema,
        summary=table_summary(read_from, read_sizes, sampled, read_target, read, config, file_name),
    )
    datasets = [
        _to_dataset(read.values.pop(split), read_target.values.pop(split), used)
        for split in SPLIT_NAMES
    ]
    return Splits(*datasets, info)


def _to_dataset(
    values: pd.DataFrame, target: pd.Series, columns: list[ColumnSpec]
) -> tf.data.Dataset:
    """A split's model inputs and target as a dataset of tensors (on the CPU, as tf.data
    keeps them), each column of `values` let go once it is a tensor, so that a split is
    not held twice: float32 numbers, and categories as strings, each distinct one
    converted once."""
    features = {}
    with tf.device("/cpu:0"):
        for column in columns:
            cells = values.pop(column.input)
            if column.kind == NUMERIC:
                features[column.input] = tf.constant(cells.to_numpy(np.float32))
            else:
                codes, distinct = pd.factorize(cells)
                distinct = tf.constant(np.asarray(distinct, dtype=object), dtype=tf.string)
                features[column.input] = tf.gather(distinct, codes)
            del cells
        labels = target.to_numpy(np.float32 if target.dtype.kind == "f" else np.int64)
        return tf.data.Dataset.from_tensor_slices((features, labels))
