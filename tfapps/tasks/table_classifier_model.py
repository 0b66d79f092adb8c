"""The Dense classifier for tables: raw named columns in, class probabilities out.

Two models share their layers (`TableClassifier`):

- `encoded_model`, the one `fit` trains: numeric columns as float32 (NaN where missing),
  categorical columns one-hot (`float32 [batch, categories]`) or, past `embed_above`
  categories, as their vocabulary index (`int64 [batch]`) →
  FillMissing (`<input>_missing`, the training median, as the regressor's
  `table_model.encoded_features`) → Normalization → PeriodicEmbedding (or the normalized
  numbers as they are), with a MissingIndicator (`<input>_indicator`) for each column where
  training had gaps, and Embedding for the many-valued categorical columns → Concatenate →
  [Dense(relu) → Dropout] × n → Dense(sigmoid) for 2 classes, Dense(softmax) for more;
- the served model: one raw input per column (float32 numbers, strings for categories as
  written) → StripSpaces (`<input>_strip`) → StringLookup (`<input>_lookup`) →
  `encoded_model`.

The lookups run once on the training data before it is cached (`TaskModel.preprocess`),
not at every step. ONNX and LiteRT, which have no string ops, hold `encoded_model`
(`encoded_classifier_part`).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import keras
import numpy as np
from keras import layers

from tfapps.data.specs import CATEGORICAL, ColumnSpec
from tfapps.tasks.classifiers import classifier_head
from tfapps.tasks.table_layers import FillMissing, MissingIndicator, PeriodicEmbedding, StripSpaces
from tfapps.tasks.table_model import CATEGORY_LOOKUP, category_lookup, normalization_as_dense

if TYPE_CHECKING:
    from tfapps.export_parts import Part
    from tfapps.runs import RunRecord

# A column gets a missing-indicator when at least this many training rows miss its number:
# an indicator seen on one row learns that row's class (Palmer penguins: the one training
# penguin without measurements, a Gentoo, made the test Adelie without any Gentoo too).
INDICATOR_MIN_ROWS = 10
EMBEDDING_UNITS = 8  # outputs of each categorical column's Embedding


@dataclass
class TableClassifier:
    """The trained and the served model, and the layers that turn raw columns into encoded
    ones (`encode_columns`).

    Args:
        encoded_model: the classifier on encoded columns (what `fit` trains).
        model: the served model on raw columns, `encoded_model` after the lookups.
        lookups: input name to the StripSpaces and StringLookup of each categorical column.
        embedded: inputs of the categorical columns encoded by an Embedding.
        indicated: inputs of the numeric columns with a missing-indicator.
    """

    encoded_model: keras.Model
    model: keras.Model
    lookups: dict[str, tuple[StripSpaces, layers.StringLookup]]
    embedded: list[str]
    indicated: list[str]


def encode_columns(lookups: dict[str, tuple[StripSpaces, layers.StringLookup]], features: dict):
    """Raw columns as the encoded model takes them: categorical ones stripped and looked up
    (`TableClassifier.lookups`)."""
    return {
        name: lookups[name][1](lookups[name][0](values)) if name in lookups else values
        for name, values in features.items()
    }


def build_table_classifier(
    train_features: dict[str, np.ndarray],
    columns: Sequence[ColumnSpec],
    num_classes: int,
    hidden_units: Sequence[int] = (64, 64),
    dropout: float = 0.2,
    embed_above: int = 5,
    numeric_encoding: str = "periodic",
) -> TableClassifier:
    """Builds the classifier for a table's columns (see the module docstring).

    Args:
        train_features: input name to the training split's raw values (float32 numbers
            with NaN where missing, category strings).
        columns: the schema's feature columns, in order (their medians fill missing numbers).
        num_classes: classes to predict, at least 2.
        hidden_units: units of each hidden Dense(relu) layer. Defaults to `(64, 64)`.
        dropout: rate of the Dropout after each hidden layer. Defaults to 0.2.
        embed_above: categorical columns with more training categories than this go through
            an Embedding of `EMBEDDING_UNITS`, the others one-hot. Defaults to 5.
        numeric_encoding: `"periodic"` (`PeriodicEmbedding` of the normalized numbers) or
            `"normalized"` (the normalized numbers as they are). Defaults to `"periodic"`.
    """
    numeric = [c for c in columns if c.kind != CATEGORICAL]
    lookups, embedded, inputs = {}, [], {}
    for column in columns:
        name = column.input
        if column.kind != CATEGORICAL:
            inputs[name] = keras.Input(shape=(), dtype="float32", name=name)
            continue
        many = column.categories > embed_above
        strip = StripSpaces(name=f"{name}_strip")
        categories = strip(keras.ops.convert_to_tensor(train_features[name]))
        lookup = category_lookup(categories, "int" if many else "one_hot", f"{name}_lookup")
        lookups[name] = (strip, lookup)
        if many:
            embedded.append(name)
            inputs[name] = keras.Input(shape=(), dtype="int64", name=name)
        else:
            inputs[name] = keras.Input(shape=(lookup.vocabulary_size(),), name=name)
    parts, indicated = [], []
    if numeric:
        numbers, indicated = _numbers(inputs, train_features, numeric, numeric_encoding)
        parts += numbers
    for column in columns:
        name = column.input
        if name in embedded:
            size = lookups[name][1].vocabulary_size()
            parts.append(
                layers.Embedding(size, EMBEDDING_UNITS, name=f"{name}_embedding")(inputs[name])
            )
        elif name in lookups:
            parts.append(inputs[name])
    x = layers.Concatenate(name="features")(parts) if len(parts) > 1 else parts[0]
    for index, units in enumerate(hidden_units, start=1):
        x = layers.Dense(units, activation="relu", name=f"dense{index}")(x)
        if dropout:
            x = layers.Dropout(dropout, name=f"dropout{index}")(x)
    outputs = classifier_head(x, num_classes, binary_sigmoid=True)
    encoded_model = keras.Model(inputs, outputs, name="encoded_model")
    raw = {
        c.input: keras.Input(
            shape=(), dtype="string" if c.kind == CATEGORICAL else "float32", name=c.input
        )
        for c in columns
    }
    outputs = encoded_model(encode_columns(lookups, raw))
    model = keras.Model(raw, outputs, name="table_classifier")
    return TableClassifier(encoded_model, model, lookups, embedded, indicated)


def _numbers(inputs, train_features, numeric: Sequence[ColumnSpec], encoding: str):
    """The numeric columns' part: `(encoded tensors, inputs with a missing-indicator)`."""
    names = [column.input for column in numeric]
    filled = [
        layers.Reshape((1,), name=f"{c.input}_column")(
            FillMissing(c.median, name=f"{c.input}_missing")(inputs[c.input])
        )
        for c in numeric
    ]
    x = layers.Concatenate(name="numbers")(filled) if len(filled) > 1 else filled[0]
    train = np.stack([train_features[name] for name in names], axis=1).astype(np.float64)
    gaps = np.isnan(train)
    train = np.where(gaps, np.asarray([c.median for c in numeric]), train)
    variance = train.var(axis=0)
    x = layers.Normalization(
        mean=train.mean(axis=0),
        variance=np.where(variance > 0, variance, 1.0),
        name="normalization",
    )(x)
    if encoding == "periodic":
        x = PeriodicEmbedding(name="periodic")(x)
    indicated = [name for j, name in enumerate(names) if gaps[:, j].sum() >= INDICATOR_MIN_ROWS]
    indicators = [MissingIndicator(name=f"{name}_indicator")(inputs[name]) for name in indicated]
    return [x, *indicators], indicated


def encoded_classifier_part(model: keras.Model, record: RunRecord) -> Part:
    """The classifier for ONNX and LiteRT, which hold no string ops (StripSpaces,
    StringLookup): its `encoded_model`, with the Normalization as the Dense layer that
    computes it (`table_model.normalization_as_dense`); `categories.json` and
    `preprocessing.txt` say how to encode a row.

    Args:
        model: the run's served model (`build_table_classifier`'s `model`).
        record: the run's record (its `TableSchema` and class names).
    """
    import tensorflow as tf

    from tfapps.export_parts import Part

    encoded = model.get_layer("encoded_model")
    part = keras.models.clone_model(encoded, clone_function=_exportable)
    for layer in encoded.layers:
        if layer.weights and not isinstance(layer, layers.Normalization):
            part.get_layer(layer.name).set_weights(layer.get_weights())
    schema = record.dataset.spec
    categorical = [c.input for c in schema.columns if c.kind == CATEGORICAL]
    lookups = {name: model.get_layer(f"{name}_lookup") for name in categorical}
    strips = {name: model.get_layer(f"{name}_strip") for name in categorical}
    signature = [
        {
            tensor.name: tf.TensorSpec((None, *tensor.shape[1:]), tensor.dtype, name=tensor.name)
            for tensor in encoded.inputs
        }
    ]
    embedded = [name for name, lookup in lookups.items() if lookup.output_mode == "int"]

    def encode(columns: dict) -> dict[str, np.ndarray]:
        encoded_columns = {}
        for name, values in columns.items():
            if name not in lookups:
                encoded_columns[name] = np.asarray(values, np.float32)
                continue
            codes = lookups[name](strips[name](tf.constant(values))).numpy()
            encoded_columns[name] = codes.astype(np.int64 if name in embedded else np.float32)
        return encoded_columns

    categories = {name: lookup.get_vocabulary() for name, lookup in lookups.items()}
    return Part(
        model=part,
        signature=signature,
        stem="encoded_model",
        takes="numeric columns (NaN where missing), categorical ones one-hot or as category "
        "indices (see preprocessing.txt)",
        encode=encode,
        classifier=True,
        notes={
            "categories.json": json.dumps(categories, indent=2, ensure_ascii=False) + "\n",
            "preprocessing.txt": _preprocessing_note(record, embedded),
        },
    )


def _exportable(layer: keras.layers.Layer) -> keras.layers.Layer:
    """A fresh copy of `layer` for the exported part; a Normalization becomes the Dense
    layer that computes it (`table_model.normalization_as_dense`)."""
    if isinstance(layer, layers.Normalization):
        return normalization_as_dense(layer)
    return layer.__class__.from_config(layer.get_config())


def _preprocessing_note(record: RunRecord, embedded: list[str]) -> str:
    """preprocessing.txt: how a row becomes encoded_model's inputs, and what it returns."""
    names = record.dataset.class_names
    returns = f"P({names[1]}), one column" if len(names) == 2 else "one probability a class"
    one_hot = [
        c.input
        for c in record.dataset.spec.columns
        if c.kind == CATEGORICAL and c.input not in embedded
    ]
    lines = [
        f"encoded_model returns what the run's model returns ({returns}; classes in order: "
        f"{', '.join(names)}). It takes one input a column, named as in run.json "
        "(dataset.spec.columns[].input):",
        "- each numeric column as float32 [batch], the number as the file writes it (in the "
        "number format of run.json's dataset.spec.number_format), a missing number as NaN: "
        "the model fills in the column's training median itself "
        "(dataset.spec.columns[].median);",
    ]
    if one_hot:
        lines.append(
            f"- {', '.join(one_hot)}: one-hot encoded, float32 [batch, categories]: 1 at the "
            "category's position in the column's list in categories.json (counting from 0), 0 "
            "everywhere else;"
        )
    if embedded:
        lines.append(
            f"- {', '.join(embedded)}: the category's position in the column's list in "
            "categories.json (counting from 0), int64 [batch];"
        )
    lines.append(f"A category's position: {CATEGORY_LOOKUP}")
    return "\n".join(lines) + "\n"
