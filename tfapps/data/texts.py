"""Text-classification data: TFDS datasets with (text, label) keys, CSV files and text folders.

A CSV needs a text column and a label column (`--text-column`, `--label-column`; labels may be
strings such as pos/neg or integers). A folder is laid out as `root/<label>/*.txt`, with
`root/train/<label>/` and `root/test/<label>/` honoured when present (the aclImdb layout; its
unlabelled `unsup` folder is skipped). Rows with empty text or no label are dropped and counted.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.config import TextConfig
from tfapps.data.csv_files import read_csv_file
from tfapps.data.info import DatasetInfo
from tfapps.data.splits import SPLIT_NAMES, Splits, carve_local_splits
from tfapps.data.tfds_source import read_splits
from tfapps.errors import InvalidInput

log = logging.getLogger("tfapps")

UNLABELLED_FOLDERS = ("unsup",)


def from_tfds(builder: tfds.core.DatasetBuilder, source: str, config: TextConfig) -> Splits:
    """Reads a TFDS dataset whose supervised keys are a Text feature and a ClassLabel.

    Args:
        builder: a prepared TFDS builder.
        source: `"embedded"` or `"catalog"`, recorded in the dataset info.
        config: the run's options (dataset name, validation split).
    """
    keys = builder.info.supervised_keys
    features = builder.info.features
    if (
        not keys
        or len(keys) != 2
        or not (
            isinstance(features[keys[0]], tfds.features.Text)
            and isinstance(features[keys[1]], tfds.features.ClassLabel)
        )
    ):
        raise InvalidInput(
            f"TFDS dataset {config.dataset!r} has no (text, label) supervised keys "
            f"(it has {keys}); sentiment needs a text classification dataset."
        )
    train, validation, test = read_splits(builder, config.validation_split)
    info = DatasetInfo(
        name=config.dataset,
        source=source,
        class_names=list(features[keys[1]].names),
        details={"tfds_name": builder.name, "tfds_version": str(builder.version)},
    )
    return Splits(train, validation, test, info)


def from_path(path: Path, config: TextConfig) -> Splits:
    """Reads a CSV file or a `root/<label>/*.txt` folder and splits it by `config.seed`.

    Args:
        path: the file or folder given as `--dataset`.
        config: the run's options (columns, seed, validation split).
    """
    if path.is_dir():
        if (path / "train").is_dir():
            train = _read_folder(path / "train")
            test = (
                _read_folder(path / "test", given_test=True) if (path / "test").is_dir() else None
            )
        else:
            train, test = _read_folder(path), None
    else:
        train, test = _read_csv(path, config.text_column, config.label_column), None
    table = pd.concat([train, test]) if test is not None else train
    table, dropped = _drop_unusable(table, path)
    class_names = sorted(table["label"].unique(), key=_natural_key)
    if len(class_names) < 2:
        raise InvalidInput(
            f"{path} has a single label class ({class_names[0]!r}); sentiment needs "
            "at least 2 classes."
        )
    labels = table["label"].map({name: i for i, name in enumerate(class_names)}).to_numpy()
    texts = table["text"].to_numpy(dtype=object)
    rows = carve_local_splits(
        len(table), config.seed, config.validation_split, given_test=int(table["given_test"].sum())
    )

    def subset(index):
        return tf.data.Dataset.from_tensor_slices(
            (tf.constant(texts[index].tolist(), tf.string), labels[index])
        )

    info = DatasetInfo(
        name=config.dataset,
        source="local",
        class_names=[str(name) for name in class_names],
        details={"path": str(path.resolve()), "dropped_rows": dropped},
    )
    return Splits(*(subset(rows[name]) for name in SPLIT_NAMES), info)


def _read_csv(path: Path, text_column: str, label_column: str) -> pd.DataFrame:
    table = read_csv_file(path, dtype=str, keep_default_na=False)
    missing = [c for c in (text_column, label_column) if c not in table.columns]
    if missing:
        raise InvalidInput(
            f"{path} has no column {missing[0]!r}; its columns are {list(table.columns)}. "
            "Name the columns with --text-column and --label-column."
        )
    return table[[text_column, label_column]].set_axis(["text", "label"], axis=1)


def _read_folder(root: Path, given_test: bool = False) -> pd.DataFrame:
    rows = []
    labels = [d for d in sorted(root.iterdir()) if d.is_dir() and d.name not in UNLABELLED_FOLDERS]
    for label_dir in labels:
        for file in sorted(label_dir.glob("*.txt")):
            try:
                rows.append((file.read_text(encoding="utf-8"), label_dir.name))
            except UnicodeDecodeError as error:
                raise InvalidInput(
                    f"{file} is not UTF-8 text (byte {error.start}: {error.reason})."
                ) from None
    if not rows:
        raise InvalidInput(
            f"No .txt files found under {root}/<label>/; expected a folder with one "
            "sub-folder of .txt files per label."
        )
    table = pd.DataFrame(rows, columns=["text", "label"])
    table["given_test"] = given_test
    return table


def _drop_unusable(table: pd.DataFrame, path: Path) -> tuple[pd.DataFrame, int]:
    """Drops rows with empty text or no label; refuses when nothing is left."""
    text = table["text"].fillna("").astype(str)
    label = table["label"].fillna("").astype(str).str.strip()
    usable = (text.str.strip() != "") & (label != "")
    dropped = int((~usable).sum())
    if not usable.any():
        raise InvalidInput(
            f"{path} has no usable rows: all {len(table)} rows have empty text or no label."
        )
    if dropped:
        log.warning(
            "dropped %d of %d rows of %s with empty text or no label", dropped, len(table), path
        )
    kept = table[usable].assign(text=text[usable], label=label[usable])
    if "given_test" not in kept.columns:
        kept["given_test"] = False
    return kept.reset_index(drop=True), dropped


def _natural_key(label: str):
    """Sorts integer labels numerically ("2" < "10") and other labels alphabetically."""
    return (0, int(label), "") if label.lstrip("-").isdigit() else (1, 0, label)
