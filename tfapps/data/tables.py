"""Tabular regression data: TFDS feature dicts and CSV files, as named columns.

Whatever the source, the table goes through the same steps, recorded in run.json and printed
before training:

1. A CSV is read as written (`csv_files`: its delimiter, every cell a string); its number
   format (decimal mark, thousands separators) is detected (`numbers`) unless `--decimal` or
   `--thousands` say it, and `--na-values` adds missing markers to `numbers.NA_MARKERS`.
2. `--drop` columns are removed; the `--target` column must exist and hold numbers.
3. Rows without a target are dropped (and counted); a constant or empty target is refused.
4. Each feature column is numeric, categorical or ignored, decided on the training split
   (`table_columns`), and cleaned: missing numbers are imputed with the training median;
   any infinity left in a feature is refused.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.config import RegressConfig
from tfapps.data.csv_files import read_csv_file
from tfapps.data.info import DatasetInfo
from tfapps.data.numbers import NA_MARKERS, NumberFormat, detect_number_format
from tfapps.data.splits import SPLIT_NAMES, Splits
from tfapps.data.stratify import carve_local_splits
from tfapps.data.summary import DataSummary, count_phrase
from tfapps.data.table_columns import IGNORED, NUMERIC, Column, clean, decide_columns
from tfapps.data.tfds_source import read_splits
from tfapps.errors import InvalidInput

log = logging.getLogger("tfapps")
SAMPLE_CELLS = 20_000  # cells the number format is detected from


def from_tfds(builder: tfds.core.DatasetBuilder, source: str, config: RegressConfig) -> Splits:
    """Reads a TFDS dataset of feature columns (nested dicts are flattened to their leaves).

    The target is `config.target`, else the builder's `TARGET`, else its supervised label key.

    Args:
        builder: a prepared TFDS builder.
        source: `"embedded"` or `"catalog"`, recorded in the dataset info.
        config: the run's options.
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
    details = {"tfds_name": builder.name, "tfds_version": str(builder.version)}
    read = f"TFDS {builder.name} {builder.version}"
    return _clean_and_encode(frames, target, config, source, details, NumberFormat(), read)


def from_path(path: Path, config: RegressConfig) -> Splits:
    """Reads a CSV file and splits its rows reproducibly by `config.seed`.

    Args:
        path: the CSV file given as `--dataset`.
        config: the run's options (target, categorical, drop, CSV format, seed, validation
            split).
    """
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; regress expects a CSV file and --target COLUMN.")
    csv = read_csv_file(path, config.sep)
    table = csv.frame
    if table.empty:
        raise InvalidInput(f"{path} has a header but no data rows.")
    number_format = table_number_format(table, csv.sep, config)
    rows = carve_local_splits(len(table), config.seed, config.validation_split)
    frames = {name: table.iloc[rows[name]].reset_index(drop=True) for name in SPLIT_NAMES}
    details = {"path": str(path.resolve()), "sep": csv.sep}
    read = f"{path.name} (delimiter {csv.sep_name}, {number_format.describe()})"
    return _clean_and_encode(frames, config.target, config, "local", details, number_format, read)


def table_number_format(table: pd.DataFrame, sep: str, config) -> NumberFormat:
    """The number format `--decimal` and `--thousands` give, detected where they are not."""
    if config.decimal is None:
        cells = table.to_numpy().ravel()[:SAMPLE_CELLS]
        decimal = detect_number_format(cells, sep).decimal
    else:
        decimal = config.decimal
    return NumberFormat(decimal, config.thousands)


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


def _clean_and_encode(
    frames: dict[str, pd.DataFrame],
    target: str | None,
    config: RegressConfig,
    source: str,
    details: dict,
    number_format: NumberFormat,
    read: str,
) -> Splits:
    """Checks, cleans and turns the three split tables into named-column datasets."""
    columns = list(frames["train"].columns)
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
    markers = tuple(dict.fromkeys((*NA_MARKERS, *(m.strip().casefold() for m in config.na_values))))
    rows_read = sum(len(frame) for frame in frames.values())
    frames = {split: frame.drop(columns=list(config.drop)) for split, frame in frames.items()}
    targets, dropped = _clean_target(frames, target, config.dataset, number_format, markers)
    frames = {split: frames[split].loc[targets[split].index] for split in SPLIT_NAMES}
    features = [c for c in frames["train"].columns if c != target]
    decided = decide_columns(frames["train"], features, config.categorical, number_format, markers)
    used = [column for column in decided if column.kind != IGNORED]
    if not used:
        raise InvalidInput(
            f"{config.dataset!r} has no usable feature column besides the target: "
            + "; ".join(column.describe() for column in decided)
            + "."
        )
    values = clean(frames, used, number_format, markers, config.dataset)
    summary = _summary(read, rows_read, target, dropped, decided, config)
    info = DatasetInfo(
        name=config.dataset,
        source=source,
        details={
            **details,
            "target": target,
            "columns": [column.to_dict() for column in used],
            "ignored_columns": [column.to_dict() for column in decided if column.kind == IGNORED],
            "dropped_columns": list(config.drop),
            "rows_dropped_without_target": dropped,
            "number_format": number_format.to_dict(),
            "na_values": list(markers),
            "missing_values": {
                "policy": "impute the training median",
                "imputed": {
                    c.name: {"rows": c.missing, "value": c.imputed}
                    for c in used
                    if c.imputed is not None
                },
            },
            "target_mean_train": float(targets["train"].mean()),
        },
        summary=summary.to_dict(),
    )
    datasets = [_to_dataset(values[split], targets[split], used) for split in SPLIT_NAMES]
    return Splits(*datasets, info)


def _clean_target(frames, target, dataset, number_format: NumberFormat, markers):
    """Reads the target as numbers, drops rows without one, and refuses unusable targets.

    Returns:
        `({split: target values of the kept rows}, rows dropped)`.
    """
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
    return targets, dropped


def _summary(read, rows_read, target, dropped, columns: list[Column], config) -> DataSummary:
    lines = [
        f"{count_phrase(rows_read, 'row')} from {read}",
        f"target {target}: numeric"
        + (f", {count_phrase(dropped, 'row')} without a value dropped" if dropped else ""),
        "columns: " + "; ".join(column.describe() for column in columns),
    ]
    if config.drop:
        lines.append(f"dropped by --drop: {', '.join(config.drop)}")
    warnings = [
        f"column {c.name!r} ignored: {c.reason}" + _use_anyway(c)
        for c in columns
        if c.kind == IGNORED
    ]
    warnings += [
        f"column {c.name!r}: read {', '.join(map(repr, c.markers))} as missing "
        "(the rest of it is numbers); pass --categorical to keep them as categories"
        for c in columns
        if c.markers
    ]
    if dropped:
        warnings.append(f"dropped {count_phrase(dropped, 'row')} without a {target} value")
    return DataSummary(
        lines=lines,
        warnings=warnings,
        facts={
            "rows": rows_read,
            "rows_dropped_without_target": dropped,
            "columns": [column.to_dict() for column in columns],
        },
    )


def _use_anyway(column: Column) -> str:
    if column.reason.startswith("nearly every value"):
        return "; --drop it to silence this, or --categorical to use it anyway"
    return ""


def _to_dataset(values: pd.DataFrame, target: pd.Series, columns: list[Column]):
    features = {
        c.input: values[c.input].to_numpy(np.float32 if c.kind == NUMERIC else str) for c in columns
    }
    return tf.data.Dataset.from_tensor_slices((features, target.to_numpy(np.float32)))
