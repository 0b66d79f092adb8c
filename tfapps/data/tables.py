"""Tabular regression data: TFDS feature dicts and CSV files, as named columns.

Whatever the source, the table goes through the same steps, recorded in run.json:

1. `--drop` columns are removed; the `--target` column must exist and hold numbers.
2. Rows without a target are dropped (and counted); a constant or empty target is refused.
3. Columns of strings, and the `--categorical` ones, are categorical (one-hot inside the model);
   the rest are numeric. A column with no value at all is refused.
4. Missing numbers are imputed with the training split's median (counted per column); any
   infinity left in a feature is refused.

Each feature becomes one named input of the model. Its input name is the column name with
every character other than ASCII letters, digits and "_" replaced by "_" (and "col_" put in
front when it would not start with a letter), as TensorFlow signature names require.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.config import RegressConfig
from tfapps.data.csv_files import read_csv_file
from tfapps.data.info import DatasetInfo
from tfapps.data.splits import SPLIT_NAMES, Splits, carve_local_splits
from tfapps.data.tfds_source import read_splits
from tfapps.errors import InvalidInput

log = logging.getLogger("tfapps")

NUMERIC = "numeric"
CATEGORICAL = "categorical"


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
    return _clean_and_encode(frames, target, config, source, details)


def from_path(path: Path, config: RegressConfig) -> Splits:
    """Reads a CSV file and splits its rows reproducibly by `config.seed`.

    Args:
        path: the CSV file given as `--dataset`.
        config: the run's options (target, categorical, drop, seed, validation split).
    """
    if path.is_dir():
        raise InvalidInput(f"{path} is a folder; regress expects a CSV file and --target COLUMN.")
    table = read_csv_file(path)
    if table.empty:
        raise InvalidInput(f"{path} has a header but no data rows.")
    rows = carve_local_splits(len(table), config.seed, config.validation_split)
    frames = {name: table.iloc[rows[name]].reset_index(drop=True) for name in SPLIT_NAMES}
    return _clean_and_encode(frames, config.target, config, "local", {"path": str(path.resolve())})


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
    frames = {split: frame.drop(columns=list(config.drop)) for split, frame in frames.items()}
    frames, dropped = _clean_target(frames, target, config.dataset)
    features = [c for c in frames["train"].columns if c != target]
    if not features:
        raise InvalidInput(f"{config.dataset!r} has no feature column besides the target.")
    kinds = {}
    for column in features:  # kinds come from the training split alone
        values = frames["train"][column]
        if values.isna().all() or (values.astype(str).str.strip() == "").all():
            raise InvalidInput(
                f"Feature column {column!r} of {config.dataset!r} has no value in the "
                "training split: it is empty."
            )
        numeric = pd.to_numeric(values, errors="coerce")
        is_number = numeric.notna() | values.isna()
        kinds[column] = (
            NUMERIC if is_number.all() and column not in config.categorical else (CATEGORICAL)
        )
    imputed = _impute_and_check(frames, kinds, config.dataset)
    inputs = _input_names(features)
    info = DatasetInfo(
        name=config.dataset,
        source=source,
        details={
            **details,
            "target": target,
            "columns": [{"name": c, "input": inputs[c], "kind": kinds[c]} for c in features],
            "rows_dropped_without_target": dropped,
            "missing_values": {"policy": "impute the training median", "imputed": imputed},
            "target_mean_train": float(frames["train"][target].mean()),
        },
    )
    datasets = [_to_dataset(frames[split], target, kinds, inputs) for split in SPLIT_NAMES]
    return Splits(*datasets, info)


def _clean_target(frames, target, dataset):
    """Makes the target numeric, drops rows without one, and refuses unusable targets."""
    cleaned, dropped = {}, 0
    for split, frame in frames.items():
        raw = frame[target]
        values = pd.to_numeric(raw, errors="coerce")
        bad = values.isna() & raw.notna() & (raw.astype(str).str.strip() != "")
        if bad.any():
            raise InvalidInput(
                f"Target column {target!r} of {dataset!r} is not numeric: it holds "
                f"{raw[bad].iloc[0]!r}. regress predicts numbers."
            )
        if np.isinf(values).any():
            raise InvalidInput(f"Target column {target!r} of {dataset!r} holds infinity.")
        keep = values.notna()
        dropped += int((~keep).sum())
        cleaned[split] = frame[keep].assign(**{target: values[keep]}).reset_index(drop=True)
    if len(cleaned["train"]) == 0:
        raise InvalidInput(f"Target column {target!r} of {dataset!r} has no values.")
    if cleaned["train"][target].nunique() < 2:
        raise InvalidInput(
            f"Target column {target!r} of {dataset!r} is constant "
            f"({cleaned['train'][target].iloc[0]}); there is nothing to learn."
        )
    if dropped:
        log.warning("dropped %d rows of %s without a %s value", dropped, dataset, target)
    return cleaned, dropped


def _impute_and_check(frames, kinds, dataset) -> dict[str, dict]:
    """Fills missing numbers with the training median; refuses infinities."""
    imputed = {}
    for column, kind in kinds.items():
        if kind == CATEGORICAL:
            for frame in frames.values():
                frame[column] = category_strings(frame[column])
            continue
        for frame in frames.values():
            frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
        median = float(frames["train"][column].median())
        missing = sum(int(frame[column].isna().sum()) for frame in frames.values())
        if missing:
            if np.isnan(median):
                raise InvalidInput(
                    f"Feature column {column!r} of {dataset!r} has no value in the training "
                    "split to impute from."
                )
            for frame in frames.values():
                frame[column] = frame[column].fillna(median)
            imputed[column] = {"rows": missing, "value": median}
        infinite = sum(int(np.isinf(frame[column]).sum()) for frame in frames.values())
        if infinite:
            raise InvalidInput(
                f"Feature column {column!r} of {dataset!r} holds infinity in {infinite} rows; "
                "replace or drop those rows."
            )
    return imputed


def category_strings(values: pd.Series) -> pd.Series:
    """The strings a categorical column is looked up by, the same at training and serving:
    whole numbers lose any ".0" (a column with gaps reads as floats), missing values are ""."""
    numbers = pd.to_numeric(values, errors="coerce")
    whole = numbers.notna() & np.isfinite(numbers) & (numbers == np.round(numbers))
    text = values.astype(object).where(values.notna(), "").astype(str)
    return text.where(~whole, numbers.where(whole, 0).astype(np.int64).astype(str))


def _input_names(columns: list[str]) -> dict[str, str]:
    """Maps each column to a name TensorFlow accepts in a signature; refuses collisions."""
    names = {}
    for column in columns:
        name = re.sub(r"[^A-Za-z0-9_]", "_", column)
        names[column] = name if re.match(r"[A-Za-z]", name) else f"col_{name}"
    if len(set(names.values())) < len(names):
        raise InvalidInput(f"Column names {columns} collide once made safe: {names}.")
    return names


def _to_dataset(frame, target, kinds, inputs) -> tf.data.Dataset:
    features = {
        inputs[column]: frame[column].to_numpy(np.float32 if kind == NUMERIC else str)
        for column, kind in kinds.items()
    }
    return tf.data.Dataset.from_tensor_slices((features, frame[target].to_numpy(np.float32)))
