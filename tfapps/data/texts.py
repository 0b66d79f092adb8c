"""Text-classification data: TFDS datasets with (text, label) keys, CSV files and text folders.

A CSV needs a text column and a label column (`--text-column`, `--label-column`; labels may be
strings such as pos/neg or numbers); its delimiter is detected (`csv_files`). A folder is laid
out as `root/<label>/...`, one text a file, or in split folders (`root/train/<label>/`,
`root/test/<label>/`, as aclImdb, whose unlabelled `unsup` folder is left out), by the rules
image folders share (`folders`), each file read by `text_folders`. A byte-order mark is never
part of a text. Rows with empty text or no label (a missing marker such as `NA`, or
`--na-values`) are dropped and counted; labels that differ only in case, surrounding spaces, a
final full stop or number spelling are one class (`labels`); splits are stratified, identical
texts (once stripped of surrounding spaces) kept in one split and texts written under two
labels left out (`duplicates`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import tensorflow as tf
import tensorflow_datasets as tfds

from tfapps.data.csv_files import read_csv_file
from tfapps.data.duplicates import GIVEN, POOL, find_duplicates, text_keys
from tfapps.data.info import DatasetInfo
from tfapps.data.labels import canonical_labels, sorted_class_names
from tfapps.data.numbers import NA_MARKERS
from tfapps.data.specs import DataOrigin, TextSpec
from tfapps.data.splits import SPLIT_NAMES, Splits
from tfapps.data.stratify import in_random_order, stratified_groups, uneven_splits
from tfapps.data.summary import (
    DataSummary,
    class_counts,
    class_warnings,
    classes_line,
    merged_labels_warnings,
    tfds_classes_summary,
)
from tfapps.data.text_folders import read_text_folder
from tfapps.data.tfds_source import read_classified_splits, tfds_origin
from tfapps.errors import InvalidInput
from tfapps.raw_inputs import preview

if TYPE_CHECKING:
    from tfapps.tasks.text import SentimentConfig

QUOTED_CHARS = 40  # a text's start, as named in warnings


def from_tfds(builder: tfds.core.DatasetBuilder, source: str, config: SentimentConfig) -> Splits:
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
    carved = read_classified_splits(builder, config.validation_split)
    class_names = list(features[keys[1]].names)
    read = f"TFDS {builder.name} {builder.version}"
    counts = class_counts(class_names, carved.train_labels)
    too_small = [class_names[i] for i in carved.too_small]
    summary = tfds_classes_summary(read, counts, too_small, "text")
    carved.summarize(summary, "text")
    info = DatasetInfo(
        name=config.dataset,
        source=source,
        origin=tfds_origin(builder),
        class_names=class_names,
        train_class_counts=counts,
        spec=TextSpec(unit="example"),
        summary=summary,
    )
    return Splits(*carved.datasets, info)


def from_path(path: Path, config: SentimentConfig) -> Splits:
    """Reads a CSV file or a `root/<label>/*.txt` folder into stratified splits, reproducibly
    by `config.seed`; identical texts are kept in one split (`duplicates`).

    Args:
        path: the file or folder given as `--dataset`.
        config: the run's options (columns, CSV format, seed, validation split).
    """
    lines, warnings, layout = [], [], None
    if path.is_dir():
        folder = read_text_folder(path)
        table, warnings, layout = folder.table, folder.warnings, folder.layout.describe()
        lines = folder.layout.lines
        note = folder.files.encodings_note()
        read, unit = f"{path} ({layout}, one text a file{f', {note}' if note else ''})", "file"
        encoding = {"encodings": folder.files.encodings_read} if note else {}
    else:
        csv = read_csv_file(path, config.sep)
        table = _csv_columns(csv.frame, path, config)
        read, unit = f"{path.name} ({csv.described})", "row"
        encoding = {"encoding": csv.encoding.name}
    markers = {*NA_MARKERS, *(m.strip().casefold() for m in config.na_values)}
    table, dropped = _drop_unusable(table, path, markers)
    table["label"], merged = canonical_labels(table["label"])
    class_names = sorted_class_names(table["label"])
    if len(class_names) < 2:
        raise InvalidInput(
            f"{path} has a single label class ({class_names[0]!r}); sentiment needs "
            "at least 2 classes."
        )
    labels = table["label"].map({name: i for i, name in enumerate(class_names)}).to_numpy()
    texts = table["text"].to_numpy(dtype=object)
    given = np.array([GIVEN.get(split, POOL) for split in table["split"]], np.int8)
    duplicates = find_duplicates(text_keys(table["text"]), labels, given)
    where = table["where"].to_numpy(dtype=object)
    duplicates.refuse_emptied_classes(labels, class_names, "text", where.__getitem__)
    rows, too_small = stratified_groups(labels, duplicates, config.seed, config.validation_split)
    rows = in_random_order(rows, config.seed)
    sizes = {name: len(part) for name, part in rows.items()}
    uneven = None if given.any() else uneven_splits(sizes, config.validation_split, "text")

    def subset(index):
        return tf.data.Dataset.from_tensor_slices(
            (tf.constant(texts[index].tolist(), tf.string), labels[index])
        )

    counts = class_counts(class_names, labels[duplicates.kept])
    train_counts = class_counts(class_names, labels[rows["train"]])
    summary = DataSummary(
        lines=[f"{classes_line(counts, 'text')} from {read}", *lines],
        warnings=[
            *warnings,
            *_dropped_warning(dropped, len(table) + sum(dropped.values()), path),
            *merged_labels_warnings(merged),
            *class_warnings(counts, [class_names[i] for i in too_small], "text", uneven),
        ],
        facts={
            "texts": int(duplicates.kept.sum()),
            "classes": counts,
            "dropped": dropped,
            "merged_labels": merged,
            **encoding,
        },
    )
    duplicates.summarize(
        summary, "text", where.__getitem__, class_names, labels, lambda row: _quoted(texts[row])
    )
    info = DatasetInfo(
        name=config.dataset,
        source="local",
        origin=DataOrigin(path=str(path.resolve())),
        class_names=class_names,
        train_class_counts=train_counts,
        spec=TextSpec(
            unit=unit,
            sep=csv.sep if unit == "row" else None,
            dropped_rows=sum(dropped.values()),
            layout=layout,
        ),
        summary=summary,
    )
    return Splits(*(subset(rows[name]) for name in SPLIT_NAMES), info)


def _quoted(text: str) -> str:
    return repr(preview(text, QUOTED_CHARS))


def _dropped_warning(dropped: dict[str, int], rows: int, path: Path) -> list[str]:
    """`dropped 2 of 302 rows of reviews.csv: 1 with empty text, 1 without a label`."""
    if not any(dropped.values()):
        return []
    reasons = ", ".join(f"{n} {why}" for why, n in dropped.items() if n)
    return [f"dropped {sum(dropped.values())} of {rows} rows of {path}: {reasons}"]


def _csv_columns(table: pd.DataFrame, path: Path, config: SentimentConfig) -> pd.DataFrame:
    missing = [c for c in (config.text_column, config.label_column) if c not in table.columns]
    if missing:
        raise InvalidInput(
            f"{path} has no column {missing[0]!r}; its columns are {list(table.columns)}. "
            "Name the columns with --text-column and --label-column."
        )
    columns = table[[config.text_column, config.label_column]].set_axis(["text", "label"], axis=1)
    return columns.assign(split=None, where=[f"row {row + 1}" for row in range(len(table))])


def _drop_unusable(
    table: pd.DataFrame, path: Path, markers: set[str]
) -> tuple[pd.DataFrame, dict[str, int]]:
    """Drops rows with empty text or no label (missing markers count as none); refuses when
    nothing is left. Returns the kept rows and the rows dropped, by reason."""
    text = table["text"].fillna("").astype(str).str.removeprefix("\ufeff")
    label = table["label"].fillna("").astype(str).str.strip()
    no_text = text.str.strip() == ""
    no_label = label.str.casefold().isin(markers)
    usable = ~no_text & ~no_label
    if not usable.any():
        raise InvalidInput(
            f"{path} has no usable rows: all {len(table)} rows have empty text or no label."
        )
    dropped = {
        "with empty text": int(no_text.sum()),
        "without a label": int((no_label & ~no_text).sum()),
    }
    kept = table[usable].assign(text=text[usable], label=label[usable])
    return kept.reset_index(drop=True), dropped
