"""What a task reads, as types: where the data came from, an image spec, a text spec, a table
schema with each column's kind, imputation, categories and number format.

Every reader fills one of these; run.json stores it under `dataset.spec` (tagged by `kind`)
and `spec_from_dict` loads it back, so predict, evaluate, serve and export read the same
typed values the model was trained with. Nothing here imports TensorFlow or pandas.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

from tfapps.data.numbers import NumberFormat

NUMERIC, CATEGORICAL, IGNORED = "numeric", "categorical", "ignored"
RESIZE_RULES = ("stretch", "crop", "pad")  # `data.images.fit_to_size`


def _record(instance) -> dict[str, Any]:
    """A dataclass as run.json stores it: its fields, without empty optional values."""
    values = dataclasses.asdict(instance)
    return {k: v for k, v in values.items() if v not in (None, [], {}, "")}


def _rebuilt(cls, values: dict[str, Any]):
    """`cls` from a dict that `_record` wrote; unknown keys are ignored."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})


@dataclass
class DataOrigin:
    """Where a dataset's bytes came from.

    Args:
        path: a local file or folder, resolved. Defaults to none.
        tfds_name: the TFDS builder's name (embedded and catalog datasets). Defaults to none.
        tfds_version: the TFDS builder's version. Defaults to none.
        homepage: the TFDS builder's homepage. Defaults to none.
        package: the installed package that ships an embedded dataset. Defaults to none.
    """

    path: str | None = None
    tfds_name: str | None = None
    tfds_version: str | None = None
    homepage: str | None = None
    package: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return _record(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> DataOrigin:
        return _rebuilt(cls, values)


@dataclass
class ImageSpec:
    """What an image classifier reads.

    Args:
        input_shape: `[height, width, channels]` of the uint8 images the model takes.
        resize: how images of another size are fitted, one of `RESIZE_RULES`.
        source_size: a folder's most common `[height, width]`, if read from a folder.
        resized: images whose size differs from the input size.
        cache: how a folder's decoded images are kept: `"memory"`, `"disk"` or `"none"`.
        cache_bytes: the decoded images' size in bytes.
        backbone: the model's pretrained backbone (`tfapps.backbones.BACKBONES`), or
            `"none"`, as chosen for these images (`--backbone`, automatic for photos); `None`
            in runs older than backbones (none).
        layout: a folder's layout as read, such as `"train/ test/ folders given"`
            (`folders.FolderLayout.describe`).
    """

    kind: ClassVar[str] = "image"

    input_shape: list[int]
    resize: str = "stretch"
    source_size: list[int] | None = None
    resized: int = 0
    cache: str | None = None
    cache_bytes: int | None = None
    backbone: str | None = None
    layout: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **_record(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ImageSpec:
        return _rebuilt(cls, values)


@dataclass
class TextSpec:
    """What a text classifier reads.

    Args:
        unit: what one text is: `"file"` (a `.txt` file of a folder), `"row"` (a CSV row)
            or `"example"` (a TFDS example).
        sep: a CSV's delimiter. Defaults to none.
        dropped_rows: rows left out (empty text or no label). Defaults to 0.
        standardize: the registered name of the standardizer that made the tokens.
        tokens: the training texts' tokens in all.
        median_tokens: the training texts' median length in tokens.
        long_tokens: the 0.99 quantile of their lengths in tokens (`--sequence-length`).
        unspaced_share: the share of tokens that are characters of scripts written
            without spaces (Chinese, Japanese, Thai, ...).
        symbol_share: the share of tokens that are emoji or other symbols.
        layout: a folder's layout as read, such as `"train/ test/ folders given"`
            (`folders.FolderLayout.describe`).
    """

    kind: ClassVar[str] = "text"

    unit: str = "example"
    sep: str | None = None
    dropped_rows: int = 0
    standardize: str | None = None
    tokens: int = 0
    median_tokens: float | None = None
    long_tokens: float | None = None
    unspaced_share: float | None = None
    symbol_share: float | None = None
    layout: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, **_record(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TextSpec:
        return _rebuilt(cls, values)


@dataclass
class ColumnSpec:
    """One feature column of a table, as decided on the training split.

    Args:
        name: the column's name in the file.
        kind: `NUMERIC`, `CATEGORICAL` or `IGNORED`.
        input: the model's input name (empty for ignored columns).
        missing: missing values over all splits.
        imputed: the value missing numbers got (the training median), if any were missing.
        median: a numeric column's training median, which missing values get when the model
            predicts (`tfapps predict`, `tfapps serve`) even if training had none.
        markers: values of this column that count as missing besides the file's markers.
        reason: why an ignored column is ignored.
        categories: distinct values of a categorical column in the training split.
    """

    name: str
    kind: str
    input: str = ""
    missing: int = 0
    imputed: float | None = None
    median: float | None = None
    markers: list[str] = field(default_factory=list)
    reason: str = ""
    categories: int = 0

    def to_dict(self) -> dict[str, Any]:
        """run.json's entry for the column (only the fields that apply)."""
        return {"name": self.name, "kind": self.kind, "input": self.input, **_record(self)}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ColumnSpec:
        return _rebuilt(cls, values)

    def describe(self) -> str:
        """`Horsepower numeric (6 missing, imputed 93.5)` for the printed summary."""
        notes = []
        if self.kind == CATEGORICAL:
            notes.append(f"{self.categories} values")
        if self.missing:
            notes.append(f"{self.missing} missing")
        if self.imputed is not None:
            notes.append(f"imputed {self.imputed:g}")
        if self.reason:
            notes.append(self.reason)
        return f"{self.name} {self.kind}" + (f" ({', '.join(notes)})" if notes else "")


@dataclass
class TableSchema:
    """What a table model reads: its target and feature columns, and how the file wrote values.

    Args:
        target: the column the model predicts.
        columns: the feature columns the model takes, in the order it encodes them.
        ignored: feature columns left out, with the reason.
        dropped: columns removed by `--drop`.
        rows_without_target: rows dropped because their target was missing.
        number_format: the file's decimal mark and thousands separators.
        na_values: cells (case-folded) that mean "missing".
        sep: a CSV's delimiter. Defaults to none.
        target_mean: the training split's mean target (regression: metrics.csv's
            `baseline_mae` predicts it). Defaults to none.
        target_median: the training split's median target (regression: metrics.csv's
            `median_baseline_mae` predicts it). Defaults to none.
        target_transform: what the target is fitted as (regression: `"log1p"`, the model
            predicting through expm1); none for the target as it is.
    """

    kind: ClassVar[str] = "table"

    target: str
    columns: list[ColumnSpec]
    ignored: list[ColumnSpec] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    rows_without_target: int = 0
    number_format: NumberFormat = field(default_factory=NumberFormat)
    na_values: list[str] = field(default_factory=list)
    sep: str | None = None
    target_mean: float | None = None
    target_median: float | None = None
    target_transform: str | None = None

    def by_input(self) -> dict[str, ColumnSpec]:
        """The feature columns by model input name."""
        return {column.input: column for column in self.columns}

    def to_dict(self) -> dict[str, Any]:
        values = _record(self)
        values["columns"] = [column.to_dict() for column in self.columns]
        values["ignored"] = [column.to_dict() for column in self.ignored]
        values["number_format"] = self.number_format.to_dict()
        return {"kind": self.kind, **values}

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TableSchema:
        schema = _rebuilt(cls, values)
        schema.columns = [ColumnSpec.from_dict(c) for c in values.get("columns", [])]
        schema.ignored = [ColumnSpec.from_dict(c) for c in values.get("ignored", [])]
        schema.number_format = NumberFormat.from_dict(values.get("number_format", {}))
        return schema


DataSpec = ImageSpec | TextSpec | TableSchema
SPEC_KINDS: dict[str, type] = {spec.kind: spec for spec in (ImageSpec, TextSpec, TableSchema)}


def spec_from_dict(values: dict[str, Any] | None) -> DataSpec | None:
    """Loads the spec that a spec's `to_dict` wrote (its `kind` names the type)."""
    if not values:
        return None
    return SPEC_KINDS[values["kind"]].from_dict(values)
